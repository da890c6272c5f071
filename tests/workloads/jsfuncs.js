// A JS workload for memscope's JIT frame tests: one uniquely named function,
// hot enough to be optimized, keeps allocating and retains what it allocates
// in a Map, so the pages it first touches are faulted under its JIT code.
//
//	node --perf-basic-prof tests/workloads/jsfuncs.js [SECONDS]
//
// Runs for SECONDS (default 20). Prints "ready" once the function has run hot
// for a while (so the perf map names its optimized code), and the number of
// calls at the end. Holds at most CAP_BYTES: the cache is dropped when full.
'use strict';

const seconds = Number(process.argv[2] || 20);
const retained = new Map();
const CAP_BYTES = 512 * 1024 * 1024;

// Typed arrays this big are above glibc's mmap threshold: fresh pages, first
// touched while this function runs.
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
		retained.clear();
		bytes = 0;
	}
	if (!ready && calls >= 2000) {
		console.log('ready');
		ready = true;
	}
	if (Date.now() - start < seconds * 1000)
		setTimeout(tick, 5);
	else
		console.log(`calls=${calls}`);
}

tick();
