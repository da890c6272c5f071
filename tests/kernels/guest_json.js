// Reads memscope's JSON outputs inside the matrix guest (busybox has no JSON
// parser) and prints the few fields tests/kernels/guest_tests.sh asserts on,
// one "key value" line each, so the shell compares plain words.
//
// usage: node guest_json.js features REPORT      name on|off why...
//        node guest_json.js verdict REPORT PID   the growth verdict of PID
//        node guest_json.js oom JSONL            pid constraint limit comm cgroup
//        node guest_json.js top JSON LABEL       the row's procs and growth
'use strict';

const fs = require('fs');
const [what, file, arg] = process.argv.slice(2);
const text = fs.readFileSync(file, 'utf8');

function out(...words) {
  console.log(words.map((w) => String(w).replace(/\s+/g, '_')).join(' '));
}

switch (what) {
case 'features': {
  const features = JSON.parse(text).features;
  if (!features || typeof features !== 'object') {
    console.error('no "features" object in the report');
    process.exit(1);
  }
  for (const [name, f] of Object.entries(features))
    console.log(`${name} ${f.on ? 'on' : 'off'} ${(f.why || (f.on ? '' : '?')).replace(/\n/g, ' ')}`);
  break;
}
case 'verdict': {
  const procs = ((JSON.parse(text).growth || {}).processes) || [];
  const row = procs.find((p) => p.pid === Number(arg));
  out(row ? row.verdict : 'none');
  break;
}
case 'oom': {
  const lines = text.split('\n').filter((l) => l);
  if (lines.length !== 1) {
    console.error(`${lines.length} reports, want 1`);
    process.exit(1);
  }
  const r = JSON.parse(lines[0]);
  out(r.victim.pid, r.constraint, r.cgroup.limit_bytes, r.victim.comm, r.cgroup.path);
  break;
}
case 'top': {
  const doc = JSON.parse(text.trim().split('\n').pop());
  const row = doc.cgroups.find((c) => c.label === arg);
  if (row)
    out(row.procs, row.usage, row.growth_mib_per_min);
  else
    out('none');
  break;
}
default:
  console.error(`unknown: ${what}`);
  process.exit(2);
}
