// The same report load as v8_map_cache.js behind a bounded LRU cache: the
// heap fills to the bound and stays there. What a healthy service looks like.
// --mib is the load (MiB of reports generated), not what is kept.
'use strict';

const { MIB, options, run } = require('./v8_common');

const o = options();
const MAX_ENTRIES = 2000;
const cache = new Map();	// insertion order is recency order
let next = 0, generated = 0;

function buildReport(tenant, id) {
	const rows = [];

	for (let i = 0; i < 40; i++)
		rows.push({ sku: `sku-${tenant}-${i}`, qty: i, price: i * 1.25, tags: [tenant, i] });
	return { tenant, id, generatedAt: Date.now(), rows, title: `report ${id} for ${tenant}` };
}

function get(key, tenant, id) {
	let r = cache.get(key);

	if (r) {
		cache.delete(key);
	} else {
		r = buildReport(tenant, id);
		generated += 4096;	// about what one report takes
	}
	cache.set(key, r);
	if (cache.size > MAX_ENTRIES)
		cache.delete(cache.keys().next().value);
	return r;
}

run(o, (f) => {
	const target = f * o.mib * MIB;

	for (let k = 0; k < 200 && generated < target; k++) {
		const id = next++;

		get(`tenant-${id % 50}:${id}`, `tenant-${id % 50}`, id);
	}
});
