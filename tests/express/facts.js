// Reads what memscope and the load wrote for tests/integration/test_express.c
// (with JSON.parse, not string matching) and prints the facts it asserts on,
// space-separated on one line; exits 1 when they are missing.
//
//	node facts.js top FILE LABEL      verdict v8_mib_per_min anon_mib_per_min name
//	node facts.js record FILE PID     container_verdict | process_verdict | v8 native
//	node facts.js oom FILE PID        container_name largest_class v8 native file shmem
//	node facts.js load FILE           requests ok node_physical_growth node_rss_growth
'use strict';

const fs = require('fs');

const [mode, file, key] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');
const lines = text.split('\n').filter((l) => l.trim());
const out = (...f) => console.log(f.join(' '));

function fail(why) {
	console.error(why);
	process.exit(1);
}

if (mode === 'top') {
	// The last refresh: --once writes one.
	const doc = JSON.parse(lines[lines.length - 1]);
	const row = doc.cgroups.find((c) => c.label === key || c.name === key);

	if (!row)
		fail(`no row labelled ${key}`);
	out(row.verdict.replace(/ /g, '_'), row.class_growth_mib_per_min.v8_heap || 0,
	    row.class_growth_mib_per_min.anon, row.name || '-');
} else if (mode === 'record') {
	const g = JSON.parse(text).growth;
	const p = g.processes.find((r) => r.pid === Number(key));
	const c = p && g.containers.find((r) => r.label === p.container);

	if (!p || !c)
		fail(`no growth rows for pid ${key}`);
	out(c.verdict, '|', p.verdict, '|', p.growth_bytes.v8_heap, p.growth_bytes.native);
} else if (mode === 'oom') {
	const r = lines.map((l) => JSON.parse(l)).find((o) => o.victim.pid === Number(key));

	if (!r)
		fail(`no report about pid ${key}`);
	const cl = r.classes;
	const largest = Object.keys(cl).reduce((a, b) => (cl[b] > cl[a] ? b : a));
	out(r.victim.container_name || '-', largest, cl.v8_heap_bytes || 0, cl.native_bytes,
	    cl.file_bytes, cl.shmem_bytes);
} else if (mode === 'load') {
	const r = JSON.parse(lines[lines.length - 1]);

	out(r.requests, r.ok, r.after.heap.total_physical_size - r.before.heap.total_physical_size,
	    r.after.memory.rss - r.before.memory.rss);
} else {
	fail(`unknown mode ${mode}`);
}
