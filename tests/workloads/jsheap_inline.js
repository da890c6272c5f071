// record --js-heap against inlining: handleRequest() is hot and calls
// storeReport(), a small function that allocates what a bounded cache keeps.
// TurboFan inlines storeReport into handleRequest (and that into the loop),
// and V8's sampling heap profiler names machine frames only: unless memscope
// turns inlining off and drops the optimized code, the kept bytes show under
// a caller. Warms up (optimizing) for 3 s before it prints "ready"; runs
// until killed. Argument: MiB kept per second (default 8). The cache keeps
// the last 64 MiB, so memory stays bounded whatever the window.
'use strict';
const SLOT = 256;			/* about the bytes of one report */
const perTick = Number(process.argv[2] || 8) * 1024 * 1024 / 100;
const cache = new Array((64 << 20) / SLOT);
let n = 0;

function storeReport(key, len) {
	const r = { key: key, len: len, at: n, tags: [n, len, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10] };
	cache[n++ % cache.length] = r;
	return r;
}

function handleRequest(i) {
	return storeReport(i & 0xffff, i & 63).len;
}

function tick() {
	let sum = 0;
	for (let b = 0; b < perTick; b += SLOT)
		sum += handleRequest(b);
	return sum;
}

const started = Date.now();
let said = false;
setInterval(() => {
	tick();
	if (!said && Date.now() - started > 3000) {
		said = true;
		console.log('ready');
	}
}, 10);
