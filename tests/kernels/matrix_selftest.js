// matrix.js on canned guest logs, before any kernel boots: a guest that
// passes everything passes; one failed test, a guest killed by the timeout
// and a guest that never reached /init each fail the matrix and say why.
// Tests that cannot fail are defects: this one checks the failing side too.
//
// usage: node matrix_selftest.js   (exit 0 when every case behaves)
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const TESTS = ['record', 'oom', 'top', 'check', 'v8', 'features', 'degrade',
  'thp_collapse', 'thp_compact', 'thp_migrate', 'thp_split'];
let failures = 0;

function expect(ok, what) {
  if (!ok) {
    console.error(`matrix selftest: FAIL: ${what}`);
    failures++;
  }
}

// One kernel's serial log: kernel noise around the lines, CRLF endings.
function guestLog(results, done) {
  const lines = ['[    0.000000] Linux version 6.12.0 (noise)', 'MATRIX boot 3.1',
                 'MATRIX info kernel 6.12.0-test', 'MATRIX info cgroup cgroup2 controllers: memory'];
  for (const [t, r] of Object.entries(results)) {
    lines.push(`MATRIX start ${t}`);
    lines.push(`[    9.9] some kernel line MATRIX result ${t} ${r} detail of ${t}`);
    lines.push(`MATRIX time ${t} 1.5`);
  }
  lines.push('MATRIX feature page_accounting on raw_tp');
  lines.push('MATRIX feature memcg_events off the kernel has no memcg:mod_memcg_state tracepoint');
  if (done)
    lines.push('MATRIX done');
  return lines.join('\r\n') + '\r\n';
}

function allPass() {
  return Object.fromEntries(TESTS.map((t) => [t, 'pass']));
}

// kernels: [{id, log, qemuExit}]; returns matrix.js's exit status and JSON.
function run(kernels) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'matrix-selftest-'));
  fs.mkdirSync(path.join(dir, 'logs'));
  fs.writeFileSync(path.join(dir, 'list'),
                   kernels.map((k) => `${k.id} linux-image-${k.id} 1.0 Test distro`).join('\n') + '\n');
  for (const k of kernels) {
    if (k.log !== null)
      fs.writeFileSync(path.join(dir, 'logs', `${k.id}.log`), k.log);
    fs.writeFileSync(path.join(dir, 'logs', `${k.id}.meta`),
                     [`id ${k.id}`, `package linux-image-${k.id}`, 'version 1.0', 'distro Test distro',
                      'accel tcg', `qemu_exit ${k.qemuExit}`, 'timeout_s 420', 'wall_s 60.0'].join('\n'));
  }
  const r = spawnSync(process.execPath, [path.join(__dirname, 'matrix.js'), dir], { encoding: 'utf8' });
  let json = null;
  try {
    json = JSON.parse(fs.readFileSync(path.join(dir, 'matrix.json'), 'utf8'));
  } catch (e) { /* checked by the caller */ }
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: r.status, json, stdout: r.stdout };
}

const good = run([{ id: 'a', log: guestLog(allPass(), true), qemuExit: 0 }]);
expect(good.status === 0, `all pass: exit ${good.status}, want 0`);
expect(good.json && good.json.pass === true, 'all pass: matrix.json pass is not true');
expect(good.json && good.json.kernels[0].features.memcg_events.on === false,
       'all pass: memcg_events not recorded as off');
expect(good.json && good.json.kernels[0].tests.record.detail === 'detail of record',
       'all pass: a result inside a kernel line was not parsed');

const oneFail = run([
  { id: 'a', log: guestLog(allPass(), true), qemuExit: 0 },
  { id: 'b', log: guestLog(Object.assign(allPass(), { oom: 'fail' }), true), qemuExit: 0 },
]);
expect(oneFail.status === 1, `one failed test: exit ${oneFail.status}, want 1`);
expect(oneFail.json && oneFail.json.kernels[1].tests.oom.result === 'fail' &&
       oneFail.json.kernels[0].pass === true, 'one failed test: not pinned to kernel b, oom');
const tail = oneFail.stdout.trim().split('\n').slice(-3).join('\n');
expect(/b oom: detail of oom/.test(tail), `one failed test: not named in the last lines:\n${tail}`);
expect(!/failed \(/.test(good.stdout), 'all pass: a failures list was printed');

// oom fails, runs again and passes: the matrix passes and names it last.
const again = guestLog(allPass(), true).replace('MATRIX time oom',
  'MATRIX retry oom\r\nMATRIX result oom pass detail of the second run\r\nMATRIX time oom');
const retried = run([{ id: 'r', log: again.replace('result oom pass detail of oom', 'result oom fail slow guest'),
                       qemuExit: 0 }]);
expect(retried.status === 0, `passed when run again: exit ${retried.status}, want 0`);
expect(retried.json && retried.json.kernels[0].tests.oom.first_failure === 'slow guest',
       'passed when run again: the first failure is not kept');
expect(/r oom: first run: slow guest/.test(retried.stdout.trim().split('\n').slice(-3).join('\n')),
       `passed when run again: not named in the last lines:\n${retried.stdout}`);
const twice = run([{ id: 't', log: again.replace('result oom pass detail of oom', 'result oom fail slow guest')
                       .replace('result oom pass detail of the second run', 'result oom fail again'),
                     qemuExit: 0 }]);
expect(twice.status === 1, `failed twice: exit ${twice.status}, want 1`);

const hung = run([{ id: 'h', log: guestLog({ record: 'pass' }, false), qemuExit: 124 }]);
expect(hung.status === 1, `hung guest: exit ${hung.status}, want 1`);
expect(hung.json && /killed after 420 s \(during record\)/.test(hung.json.kernels[0].tests.oom.detail),
       `hung guest: oom's detail does not say it was killed: ${hung.json && hung.json.kernels[0].tests.oom.detail}`);

const noBoot = run([{ id: 'n', log: null, qemuExit: 1 }]);
expect(noBoot.status === 1, `no boot: exit ${noBoot.status}, want 1`);
expect(noBoot.json && /never reached \/init/.test(noBoot.json.kernels[0].tests.record.detail),
       'no boot: record does not say the guest never reached /init');

const missing = run([{ id: 'm', log: guestLog({ record: 'pass', oom: 'pass' }, true), qemuExit: 0 }]);
expect(missing.status === 1, `a test that never reported: exit ${missing.status}, want 1`);

if (failures)
  process.exit(1);
console.log('matrix selftest: 7 cases behave (pass, one failure, passed when run again, failed twice, hung, no boot, missing result)');
