// Retains JS objects in a Map up to a fixed count: an unbounded per-tenant
// report cache, the V8-heap leak of issue 3, at a fixed size so every run does
// the same work. Ends with one line of "key value" pairs for bench/run.
//
// usage: node retain.js [OBJECTS]
'use strict';

const v8 = require('v8');

const count = Number(process.argv[2] || 1000000);
const cache = new Map();
const start = process.hrtime.bigint();

for (let i = 0; i < count; i++) {
	const tenant = i % 97;
	cache.set(`tenant-${tenant}/report-${i}`, {
		id: i,
		tenant,
		title: `report ${i} for tenant ${tenant}`,
		rows: [i, i * 2, i * 3],
	});
}

const seconds = Number(process.hrtime.bigint() - start) / 1e9;
const heap = v8.getHeapStatistics();
const mib = (b) => (b / 1048576).toFixed(1);
console.log(`objects ${cache.size} seconds ${seconds.toFixed(3)} ` +
	`heap_used_mib ${mib(heap.used_heap_size)} ` +
	`heap_physical_mib ${mib(heap.total_physical_size)} ` +
	`rss_mib ${mib(process.memoryUsage().rss)}`);
