// The load of issue 16's incident: autocannon against api.js with a fixed
// number of connections for a fixed time, every request to a URL of its own
// (a product id and a unique query string), so an unbounded cache keyed by
// the URL never hits.
//
//	node load.js --port P [--connections 8] [--seconds 10] [--products 500]
//		     [--rate REQ_PER_S]
//
// --rate caps the requests a second (0: as fast as the API answers).
//
// Prints one JSON line when done: requests sent, 2xx answers, errors, and
// the API's own memory figures (/debug/memory) before and after the load.
'use strict';

const autocannon = require('autocannon');

const o = { port: 0, connections: 8, seconds: 10, products: 500, rate: 0 };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '');

	if (!(k in o))
		throw new Error(`unknown option --${k}`);
	o[k] = Number(process.argv[i + 1]);
}
if (!o.port)
	throw new Error('--port P is required');

let n = 0;

function memory() {
	return fetch(`http://127.0.0.1:${o.port}/debug/memory`).then((r) => r.json());
}

memory().then((before) => autocannon({
	url: `http://127.0.0.1:${o.port}`,
	connections: o.connections,
	duration: o.seconds,
	...(o.rate > 0 ? { overallRate: o.rate } : {}),
	requests: [{
		setupRequest: (req) => {
			n++;
			return { ...req, path: `/api/products/${n % o.products}?session=${process.pid}-${n}` };
		},
	}],
}, (err, r) => {
	if (err)
		throw err;
	// An API the OOM killer took has no figures after.
	memory().catch(() => null).then((after) => {
		console.log(JSON.stringify({ requests: r.requests.total, ok: r['2xx'],
					     errors: r.errors, non2xx: r.non2xx,
					     timeouts: r.timeouts, before, after }));
	});
}));
