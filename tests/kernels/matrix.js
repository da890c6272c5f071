// The kernel matrix's report: reads what tests/kernels/matrix.sh left in
// DIR/logs (each guest's "MATRIX ..." serial lines and the host's .meta
// facts), writes DIR/matrix.json, prints the table, and exits 1 if any test
// on any kernel failed or never reported (a guest that hung, panicked or
// could not boot fails every test it did not reach).
//
// usage: node matrix.js DIR                  run report
//        node matrix.js --markdown JSON      README's "Tested kernels" table
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

// In the order the table shows them; the names guest_tests.sh reports.
const TESTS = ['record', 'oom', 'top', 'check', 'v8', 'features', 'degrade',
  'thp_collapse', 'thp_compact', 'thp_migrate', 'thp_split'];
const TEST_TITLES = {
  record: 'record: C leak in leak_fn ±10%',
  oom: 'oom: victim and limit as the kernel logs',
  top: 'top --once --json lists the leaking cgroup',
  check: 'check: exit 1 growing, 0 plateau',
  v8: 'record: V8 heap growth verdict',
  features: 'features off = notices on stderr',
  degrade: 'optional parts refused: still records, one notice each',
  thp_collapse: 'khugepaged collapses a leak: owner kept (leak_fn ±10%)',
  thp_compact: 'compaction migrates a leak: owner kept',
  thp_migrate: 'move_pages to the other NUMA node: owner kept',
  thp_split: 'huge pages split by munmap: owner kept',
};

function readMeta(file) {
  const meta = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const sp = line.indexOf(' ');
    if (sp > 0)
      meta[line.slice(0, sp)] = line.slice(sp + 1);
  }
  return meta;
}

// The guest's lines; the kernel may print into the middle of one, so each
// "MATRIX " is taken from wherever it starts.
function guestLines(file) {
  let text = '';
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return [];
  }
  const lines = [];
  for (const raw of text.split(/\r?\n/)) {
    const at = raw.indexOf('MATRIX ');
    if (at >= 0)
      lines.push(raw.slice(at + 7).replace(/\r/g, ''));
  }
  return lines;
}

function words(line, n) {
  const parts = line.split(' ');
  return parts.slice(0, n).concat(parts.slice(n).join(' '));
}

function kernelRow(dir, meta) {
  const row = {
    id: meta.id,
    package: meta.package,
    version: meta.version,
    distribution: meta.distro,
    accel: meta.accel,
    uname: null,
    cgroup: null,
    booted_s: null,
    wall_s: Number(meta.wall_s),
    completed: false,
    last_started: null,
    tests: {},
    features: null,
    logs: [],
  };
  for (const line of guestLines(path.join(dir, 'logs', `${meta.id}.log`))) {
    const [kind] = line.split(' ', 1);
    if (kind === 'boot') {
      row.booted_s = Number(line.split(' ')[1]);
    } else if (kind === 'info') {
      const [, key, value] = words(line, 2);
      if (key === 'kernel')
        row.uname = value;
      else if (key === 'cgroup')
        row.cgroup = value.startsWith('cgroup2') ? `v2 (${value.replace(/^cgroup2 /, '')})` : value;
    } else if (kind === 'result') {
      const [, name, result, detail] = words(line, 3);
      const before = row.tests[name] || {};
      // A second result: guest_tests.sh ran the test again after a failure.
      if (before.result === 'fail' && before.first_failure === undefined)
        before.first_failure = before.detail;
      row.tests[name] = Object.assign(before, { result, detail });
    } else if (kind === 'time') {
      const [, name, secs] = line.split(' ');
      row.tests[name] = Object.assign(row.tests[name] || {}, { seconds: Number(secs) });
    } else if (kind === 'feature') {
      const [, name, state, why] = words(line, 3);
      row.features = row.features || {};
      row.features[name] = { on: state === 'on', why };
    } else if (kind === 'start') {
      row.last_started = line.split(' ')[1];
    } else if (kind === 'log') {
      row.logs.push(line.slice(4));
    } else if (kind === 'done') {
      row.completed = true;
    }
  }
  let missing;
  if (meta.qemu_exit === '124')
    missing = `no result: the guest was killed after ${meta.timeout_s} s` +
      (row.last_started ? ` (during ${row.last_started})` : '');
  else if (row.booted_s === null)
    missing = `no result: the guest never reached /init (qemu exit ${meta.qemu_exit})`;
  else
    missing = `no result: the guest stopped early (qemu exit ${meta.qemu_exit})`;
  for (const t of TESTS)
    if (!row.tests[t] || !row.tests[t].result)
      row.tests[t] = Object.assign(row.tests[t] || {}, { result: 'fail', detail: missing });
  row.pass = TESTS.every((t) => row.tests[t].result === 'pass');
  return row;
}

function hostCgroupMode() {
  const has = (p) => fs.existsSync(p);
  if (has('/sys/fs/cgroup/cgroup.controllers'))
    return 'v2';
  if (has('/sys/fs/cgroup/unified/cgroup.controllers'))
    return 'v1/v2 hybrid (memory on v1)';
  return 'v1';
}

// The host's distribution, as os-release names it.
function hostDistribution() {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    return m ? m[1] : 'unknown';
  } catch (e) {
    return 'unknown';
  }
}

// What the host's own memscope turned on and off (matrix.sh's short record).
function hostFeatures(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'logs', 'host-report.json'), 'utf8')).features || null;
  } catch (e) {
    return null;
  }
}

function offList(row) {
  if (!row.features)
    return 'not reported';
  const off = Object.entries(row.features).filter(([, f]) => !f.on).map(([n]) => n);
  return off.length ? off.join(', ') : 'none';
}

function printTable(m) {
  const header = ['kernel', ...TESTS, 'features off', 'boot+tests'];
  const rows = m.kernels.map((k) => [
    `${k.uname || k.package}`,
    ...TESTS.map((t) => k.tests[t].result + (k.tests[t].first_failure !== undefined ? '*' : '')),
    offList(k), `${Math.round(k.wall_s)} s`,
  ]);
  rows.push([`${m.host.kernel} (host)`, ...TESTS.map(() => 'host suite'), offList(m.host), '-']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(`\nkernel matrix (${m.accel}; ${m.accel_probe}), cgroup v2 in every guest`);
  console.log(fmt(header));
  for (const r of rows)
    console.log(fmt(r));
  for (const k of m.kernels) {
    console.log(`\n${k.id}: ${k.package} ${k.version}, ${k.cgroup || 'cgroup ?'}, ` +
                `userspace at ${k.booted_s} s, all done in ${k.wall_s} s`);
    for (const t of TESTS) {
      const r = k.tests[t];
      const secs = r.seconds !== undefined ? ` [${r.seconds} s]` : '';
      console.log(`  ${r.result.padEnd(4)} ${t.padEnd(8)} ${r.detail}${secs}`);
    }
    for (const [name, f] of Object.entries(k.features || {}))
      if (!f.on)
        console.log(`  off  ${name}: ${f.why}`);
    for (const l of k.logs)	/* only failed runs leave log lines */
      console.log(`  | ${l}`);
  }
}

// The failures once more, last: a CI log is often read from its tail only,
// and the table above runs to some sixty lines.
// Tests that passed only when run again come first: a pass, but one to watch.
function printFailures(m) {
  const failed = [];
  const retried = [];
  for (const k of m.kernels)
    for (const t of TESTS)
      if (k.tests[t].result !== 'pass')
        failed.push({ k, t });
      else if (k.tests[t].first_failure !== undefined)
        retried.push({ k, t });
  if (retried.length)
    console.log(`\npass* = passed when run again (${retried.length}):`);
  for (const { k, t } of retried)
    console.log(`  ${k.id} ${t}: first run: ${k.tests[t].first_failure}`);
  if (failed.length)
    console.log(`\nfailed (${failed.length}):`);
  for (const { k, t } of failed)
    console.log(`  ${k.id} ${t}: ${k.tests[t].detail}`);
  for (const k of m.kernels.filter((x) => !x.pass))
    for (const l of k.logs.slice(-8))
      console.log(`  ${k.id} | ${l}`);
}

function report(dir) {
  const logs = path.join(dir, 'logs');
  const metas = fs.readdirSync(logs).filter((f) => f.endsWith('.meta')).sort()
    .map((f) => readMeta(path.join(logs, f)));
  const order = fs.readFileSync(path.join(dir, 'list'), 'utf8').split('\n')
    .map((l) => l.split(' ')[0]).filter(Boolean);
  metas.sort((a, b) => order.indexOf(a.id) - order.indexOf(b.id));
  let probe = 'given by MATRIX_ACCEL';
  try {
    probe = fs.readFileSync(path.join(logs, 'accel-probe'), 'utf8').trim();
  } catch (e) { /* MATRIX_ACCEL set: no probe ran */ }
  const m = {
    generated: new Date().toISOString(),
    accel: metas.length ? metas[0].accel : null,
    accel_probe: probe,
    tests: TEST_TITLES,
    host: {
      kernel: os.release(),
      distribution: hostDistribution(),
      cgroup: hostCgroupMode(),
      features: hostFeatures(dir),
      tests: 'covered by the host suite (make test-integration)',
    },
    kernels: metas.map((meta) => kernelRow(dir, meta)),
  };
  m.pass = m.kernels.length > 0 && m.kernels.every((k) => k.pass);
  fs.writeFileSync(path.join(dir, 'matrix.json.new'), JSON.stringify(m, null, 2) + '\n');
  fs.renameSync(path.join(dir, 'matrix.json.new'), path.join(dir, 'matrix.json'));
  printTable(m);
  printFailures(m);
  console.log(`\nmatrix: ${m.pass ? 'PASS' : 'FAIL'}; written to ${path.join(dir, 'matrix.json')}`);
  return m.pass ? 0 : 1;
}

// README's table: what works, per kernel, in words an SRE reads.
function markdown(file) {
  const m = JSON.parse(fs.readFileSync(file, 'utf8'));
  const words = {
    record: 'record', oom: 'oom', top: 'top', check: 'check', v8: 'V8 verdict',
    features: 'features reported', degrade: 'degrades per feature',
    thp_collapse: 'THP collapse', thp_compact: 'compaction', thp_migrate: 'NUMA migration',
    thp_split: 'THP split',
  };
  const works = (k) => {
    const ok = TESTS.filter((t) => k.tests[t].result === 'pass').map((t) => words[t]);
    const bad = TESTS.filter((t) => k.tests[t].result !== 'pass').map((t) => words[t]);
    let s = ok.length ? ok.join(', ') : 'nothing';
    if (bad.length)
      s += `; **fails: ${bad.join(', ')}**`;
    return s;
  };
  const features = (k) => {
    if (!k.features)
      return 'not reported';
    const off = Object.entries(k.features).filter(([, f]) => !f.on);
    return off.length ? off.map(([n, f]) => `${n} off (${f.why})`).join('; ') : 'all on';
  };
  const lines = [
    '| kernel | distribution | cgroup | what works | features |',
    '|---|---|---|---|---|',
  ];
  for (const k of m.kernels)
    lines.push(`| ${k.uname || k.package} (\`${k.package}\` ${k.version}) | ${k.distribution} | ` +
               `v2 | ${works(k)} | ${features(k)} |`);
  lines.push(`| ${m.host.kernel} (this project's build host) | ${m.host.distribution} | ` +
             `${m.host.cgroup} | the whole \`make test\` suite | ${features(m.host)} |`);
  console.log(lines.join('\n'));
  console.log(`\nGenerated by \`make kernels-table\` from the matrix run of ` +
              `${m.generated.slice(0, 10)} (qemu, ${m.accel.toUpperCase()}).`);
  return 0;
}

const args = process.argv.slice(2);
process.exitCode = args[0] === '--markdown' ? markdown(args[1]) : report(args[0]);
