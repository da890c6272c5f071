// What the V8 workloads of tests/integration/test_v8.c share: options, the
// optional prefill (a heap that exists before memscope attaches), the go
// file that starts the measured phase, and the heap statistics node reports
// about itself at the start and at the end of that phase.
//
//	node WORKLOAD.js --mib N --seconds S --out FILE [--prefill MIB] [--go FILE]
//
// FILE gets one JSON line per phase ("ready", "start", "end") with
// v8.getHeapStatistics() and process.memoryUsage(); after "end" the process
// idles until it is killed, so its memory can still be read.
'use strict';

const fs = require('fs');
const v8 = require('v8');

const MIB = 1024 * 1024;

function options() {
	const o = { mib: 64, seconds: 5, out: null, prefill: 0, go: null };

	for (let i = 2; i + 1 < process.argv.length; i += 2) {
		const k = process.argv[i].replace(/^--/, ''), v = process.argv[i + 1];

		if (!(k in o))
			throw new Error(`unknown option --${k}`);
		o[k] = typeof o[k] === 'number' || o[k] === 0 ? Number(v) : v;
	}
	if (!o.out)
		throw new Error('--out FILE is required');
	return o;
}

function report(o, phase, extra) {
	const line = { phase, heap: v8.getHeapStatistics(), memory: process.memoryUsage(),
		       ...extra };

	fs.appendFileSync(o.out, JSON.stringify(line) + '\n');
}

// Plain JS objects, kept apart from what the workload measures.
const prefilled = [];

function prefill(mib) {
	const target = v8.getHeapStatistics().used_heap_size + mib * MIB;

	while (v8.getHeapStatistics().used_heap_size < target) {
		const block = [];

		for (let i = 0; i < 10000; i++)
			block.push({ id: i, name: `prefill-${prefilled.length}-${i}`, seen: [i, i * 2] });
		prefilled.push(block);
	}
}

function waitFor(file, then) {
	if (!file || fs.existsSync(file))
		return then();
	setTimeout(() => waitFor(file, then), 20);
}

// Runs step(fraction of the phase elapsed) on the event loop until the phase
// is over, then reports the end and idles.
function run(o, step) {
	if (o.prefill > 0)
		prefill(o.prefill);
	report(o, 'ready');
	waitFor(o.go, () => {
		const start = Date.now();

		report(o, 'start');
		const tick = () => {
			const f = Math.min(1, (Date.now() - start) / (o.seconds * 1000));

			step(f);
			if (f < 1)
				return setImmediate(tick);
			report(o, 'end');
			setInterval(() => {}, 1 << 30);
		};
		tick();
	});
}

module.exports = { MIB, options, run, report };
