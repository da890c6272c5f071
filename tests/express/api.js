// The Express API of issue 16's incident: a product page endpoint that
// caches every response it builds in a Map keyed by the request's URL. With
// unique query strings (what autocannon sends here, and what real clients
// send with tracking parameters) the cache never hits and never shrinks: the
// V8 heap grows until the memory limit kills the process. `--cache lru`
// is the fix: the same cache bounded to --max-entries, oldest entry out.
// `--store buffer` keeps each response serialized in a Buffer instead: the
// same leak in native memory (the tests' control that a V8 verdict can fail).
//
//	node api.js [--cache unbounded|lru] [--max-entries N] [--store objects|buffer]
//
// Listens on 127.0.0.1 on a port the kernel picks and prints
// "listening on PORT" once it accepts connections.
'use strict';

const express = require('express');
const v8 = require('v8');

const o = { cache: 'unbounded', 'max-entries': 2000, store: 'objects' };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');

	if (!(k in o))
		throw new Error(`unknown option --${k}`);
	o[k] = typeof o[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (o.cache !== 'unbounded' && o.cache !== 'lru')
	throw new Error('--cache is unbounded or lru');
if (o.store !== 'objects' && o.store !== 'buffer')
	throw new Error('--store is objects or buffer');

const cache = new Map();

// About 6 KiB of JS objects and strings per page.
function buildProductPage(id, url) {
	const related = [];

	for (let i = 0; i < 24; i++)
		related.push({ sku: `sku-${id}-${i}`, title: `Related product ${i} of ${id}`,
			       price: (i * 3.75 + id % 100).toFixed(2), stock: i * 7 % 13 });
	return { id, url, name: `Product ${id}`, renderedAt: Date.now(), related,
		 description: `Product ${id}: `.padEnd(512, 'lorem ipsum ') };
}

function cacheResponse(key, build) {
	let page = cache.get(key);

	if (page) {
		if (o.cache === 'lru') {	// most recently used goes last
			cache.delete(key);
			cache.set(key, page);
		}
		return page;
	}
	page = o.store === 'buffer' ? Buffer.from(JSON.stringify(build())) : build();
	cache.set(key, page);
	if (o.cache === 'lru' && cache.size > o['max-entries'])
		cache.delete(cache.keys().next().value);	// the least recently used
	return page;
}

const app = express();

app.get('/api/products/:id', (req, res) => {
	const id = Number(req.params.id) || 0;

	const page = cacheResponse(req.originalUrl, () => buildProductPage(id, req.originalUrl));

	if (Buffer.isBuffer(page))
		res.type('json').send(page);
	else
		res.json(page);
});

// What node says about its own memory: the test's truth to compare with.
app.get('/debug/memory', (req, res) => {
	res.json({ heap: v8.getHeapStatistics(), memory: process.memoryUsage(), entries: cache.size });
});

const server = app.listen(0, '127.0.0.1', () => {
	console.log(`listening on ${server.address().port}`);
});
