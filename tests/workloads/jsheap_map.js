// record --js-heap's workload: keepReports() allocates the objects a Map
// keeps (the retained memory the profile must name); churn() allocates as
// much that dies at once. Each holds its own loop, called 10 times a second,
// so neither is inlined into the timer callback. Prints "ready" once its
// loop runs; runs until killed. Argument: MiB kept per second (default 8).
// Under --expose-gc it also prints "heap MS BYTES" every 250 ms: the time
// (Date.now()) and V8's heapUsed right after a full GC, i.e. what is live.
'use strict';
const kept = new Map();
const perTick = Number(process.argv[2] || 8) * 1024 * 1024 / 10;
let n = 0;

function keepReports() {
	for (let b = 0; b < perTick; b += 1024) {
		const i = n++;
		kept.set(i, { id: i, body: 'x'.repeat(900) + i, tags: [i, i + 1, i + 2] });
	}
}

function churn() {
	let len = 0;
	for (let b = 0; b < perTick; b += 1024)
		len += ({ id: b, body: 'y'.repeat(900) + b }).body.length;
	return len;
}

function tick() {
	keepReports();
	churn();
	setTimeout(tick, 100);
}
if (typeof gc === 'function')
	setInterval(() => {
		gc();
		console.log('heap', Date.now(), process.memoryUsage().heapUsed);
	}, 250);
console.log('ready');
tick();
