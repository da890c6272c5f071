// A JS workload for memscope's JIT frame test: one uniquely named function,
// hot enough to be optimized, keeps allocating and retains what it allocates
// in a Map, so the pages it first touches are faulted from its JIT code.
//
//	node --perf-basic-prof tests/workloads/jsfuncs.js [SECONDS] [READY_FILE]
//
// Runs for SECONDS (default 20), writing READY_FILE once the function has run
// hot for a while (so its perf map entry exists), and prints the count of
// retained reports at the end.
'use strict';

const fs = require('fs');

const seconds = Number(process.argv[2] || 20);
const readyFile = process.argv[3];
const retained = new Map();
const CAP_BYTES = 512 * 1024 * 1024;

// Typed arrays above glibc's mmap threshold come back as untouched zero
// pages: the first write to each page faults inside this function's code.
function memscopeJitProbeRetain(tenant, n) {
	const rows = new Float64Array(n);
	for (let i = 0; i < n; i++)
		rows[i] = tenant * 0.5 + i;
	const list = retained.get(tenant) || [];
	list.push(rows, new Array(64).fill(tenant));
	retained.set(tenant, list);
	return rows.byteLength;
}

let bytes = 0, calls = 0, ready = false;
const start = Date.now();

function tick() {
	for (let k = 0; k < 32; k++) {
		bytes += memscopeJitProbeRetain(calls % 97, 32768);
		calls++;
	}
	if (bytes > CAP_BYTES) {
		// Bounded: drop everything and start over so the test never
		// holds more than CAP_BYTES.
		retained.clear();
		bytes = 0;
	}
	if (!ready && calls >= 2000 && readyFile) {
		fs.writeFileSync(readyFile, 'ready\n');
		ready = true;
	}
	if (Date.now() - start < seconds * 1000)
		setTimeout(tick, 5);
	else
		console.log(`calls=${calls} tenants=${retained.size}`);
}

tick();
