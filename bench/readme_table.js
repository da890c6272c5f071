#!/usr/bin/env node
// Prints README's performance table from an overhead run's JSON
// (bench/latest/overhead.json unless given): one row per workload, the
// traced/untraced ratio of each tracer with its 95% interval, and memscope's
// points above the floor where the run measured one. `make bench-table`.
'use strict';
const fs = require('fs');

const file = process.argv[2] || 'bench/latest/overhead.json';
let run;
try {
  run = JSON.parse(fs.readFileSync(file, 'utf8'));
} catch (e) {
  console.error(`bench-table: cannot read ${file}: ${e.message}`);
  process.exit(2);
}

const columns = [
  ['floor-raw_tp', 'floor (counting `raw_tp`)'],
  ['memscope', 'memscope default'],
  ['memscope-s1', 'memscope `--sample 1`'],
  ['bt-stacks', 'bpftrace stacks'],
  ['bt-pfn', 'bpftrace pfn'],
];
// What each workload says of its own speed, untraced.
const rates = [
  ['pages_per_sec', (v) => `${Math.round(v / 1000)}k pages/s`],
  ['ops_per_sec', (v) => `${Math.round(v / 1000)}k ops/s`],
  ['mib_per_sec', (v) => `${Math.round(v)} MiB/s`],
];

function rate(says) {
  for (const [k, fmt] of rates)
    if (says && typeof says[k] === 'number')
      return ` (${fmt(says[k])})`;
  return '';
}

// "1.11x ±0.8" (wall), with "+3.1 pts" above the floor for memscope.
function cell(cfg, bold) {
  if (!cfg || !cfg.usable || !cfg.runs || typeof cfg.ratio_wall !== 'number')
    return '-';
  let s = `${cfg.ratio_wall.toFixed(2)}x`;
  if (bold)
    s = `**${s}**`;
  if (typeof cfg.ratio_wall_ci95 === 'number')
    s += ` ±${(cfg.ratio_wall_ci95 * 100).toFixed(1)}`;
  if (typeof cfg.points_above_floor_wall === 'number')
    s += ` (+${cfg.points_above_floor_wall.toFixed(1)} over floor)`;
  return s;
}

const shown = columns.filter(([name]) =>
  run.workloads.some((w) => (w.configs || []).some((c) => c.config === name && c.runs)));
const rows = [
  `| workload (untraced rate) | ${shown.map(([, title]) => title).join(' | ')} |`,
  `|---|${shown.map(() => '---|').join('')}`,
];
for (const w of run.workloads) {
  if (w.skipped)
    continue;
  const by = Object.fromEntries((w.configs || []).map((c) => [c.config, c]));
  rows.push(`| ${w.name}${rate(w.workload_says)} | ` +
    shown.map(([name]) => cell(by[name], name === 'memscope')).join(' | ') + ' |');
}
console.log(rows.join('\n'));
const m = run.machine || {};
console.log(`\nWall-time ratio, traced over untraced` +
  (run.ci_target_points ? `, ± the 95% interval in points (target ±${run.ci_target_points})` : '') +
  `. ${run.date}, ${m.cpus} CPUs ${m.cpu}, Linux ${m.kernel}, memscope ${m.memscope_rev}; ` +
  `load ${Number(run.load_before).toFixed(1)}-${Number(run.load_after).toFixed(1)}. Source: \`${file}\`.`);

// The service yardstick: what a user of the traced API feels, per tracer.
const ratio = (r) => (r && typeof r.ratio === 'number'
  ? `${r.ratio.toFixed(3)}x` + (typeof r.ratio_ci95 === 'number' ? ` ±${(r.ratio_ci95 * 100).toFixed(1)}` : '')
  : '-');
for (const w of run.workloads) {
  const traced = (w.configs || []).filter((c) => c.compared && c.runs);
  if (w.skipped || !traced.length)
    continue;
  const keys = Object.keys(traced[0].compared);
  console.log(`\n| ${w.name}: traced / untraced | ${keys.join(' | ')} |`);
  console.log(`|---|${keys.map(() => '---|').join('')}`);
  for (const c of traced)
    console.log(`| ${c.config} | ${keys.map((k) => ratio(c.compared[k])).join(' | ')} |`);
}

// memscope's own cost while each workload ran.
const own = [];
for (const w of run.workloads) {
  for (const c of w.configs || []) {
    const t = c.tracer;
    if (w.skipped || !t || !c.runs || !/^memscope/.test(c.config))
      continue;
    own.push(`| ${w.name} | ${c.config} | ${Number(t.cpu_pct_during_workload).toFixed(1)}% | ` +
      `${(t.peak_rss_kib / 1024).toFixed(1)} MiB |`);
  }
}
if (own.length) {
  console.log('\n| workload | tracer | its CPU while the workload ran (% of a core) | its peak RSS |');
  console.log('|---|---|---|---|');
  console.log(own.join('\n'));
}
