// An unbounded per-tenant report cache: every generated report stays in a
// Map forever, so the V8 heap grows by about --mib MiB of JS objects over
// --seconds. The leak a heap snapshot finds. See v8_common.js for options.
'use strict';

const v8 = require('v8');
const { MIB, options, run } = require('./v8_common');

const o = options();
const cache = new Map();
let next = 0;

function buildReport(tenant, id) {
	const rows = [];

	for (let i = 0; i < 40; i++)
		rows.push({ sku: `sku-${tenant}-${i}`, qty: i, price: i * 1.25, tags: [tenant, i] });
	return { tenant, id, generatedAt: Date.now(), rows, title: `report ${id} for ${tenant}` };
}

function cacheReport(tenant) {
	const id = next++;

	cache.set(`${tenant}:${id}`, buildReport(tenant, id));
}

const base = v8.getHeapStatistics().used_heap_size;

run(o, (f) => {
	const target = base + f * o.mib * MIB;

	for (let k = 0; k < 200 && v8.getHeapStatistics().used_heap_size < target; k++)
		cacheReport(`tenant-${next % 50}`);
});
