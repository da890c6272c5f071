// The service yardstick of `make bench`: the Express API of the incident test
// (build/express/api.js, LRU-bounded cache, so its memory holds steady and
// only the tracer differs between runs) under autocannon with a fixed number
// of connections for a fixed time. What a user of the traced service feels:
// requests per second and latency, printed as the bench's metric line.
//
//	node bench/node/service.js [--seconds 8] [--connections 8]
'use strict';
const { spawn } = require('child_process');
const path = require('path');

const app = path.resolve('build/express');
const autocannon = require(path.join(app, 'node_modules', 'autocannon'));
const o = { seconds: 8, connections: 8 };
for (let i = 2; i + 1 < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, '');
  if (!(k in o))
    throw new Error(`unknown option --${k}`);
  o[k] = Number(process.argv[i + 1]);
}

const api = spawn(process.execPath, [path.join(app, 'api.js'), '--cache', 'lru',
  '--max-entries', '2000'], { stdio: ['ignore', 'pipe', 'inherit'] });
const stop = () => api.kill('SIGKILL');
process.on('exit', stop);
setTimeout(() => { console.error('service: the API did not start in 30 s'); process.exit(1); },
  30000).unref();

let out = '';
api.stdout.on('data', (d) => {
  out += d;
  const m = /listening on (\d+)/.exec(out);
  if (!m || out === null)
    return;
  out = null;
  let n = 0;
  // autocannon's own percentiles are whole milliseconds; a 2% question
  // needs the float time of each answer, which its response event gives.
  const times = [];
  const inst = autocannon({
    url: `http://127.0.0.1:${m[1]}`,
    connections: o.connections,
    duration: o.seconds,
    requests: [{
      // 2000 products, each URL unique: the LRU cache stays full and churns.
      setupRequest: (req) => ({ ...req, path: `/api/products/${n++ % 2000}?q=${n}` }),
    }],
  }, (err, r) => {
    if (err)
      throw err;
    if (r.errors || r.non2xx)
      console.error(`service: ${r.errors} errors, ${r.non2xx} non-2xx answers`);
    times.sort((a, b) => a - b);
    const pct = (p) => (times.length ? times[Math.min(times.length - 1,
      Math.floor(p / 100 * times.length))] : NaN).toFixed(3);
    console.log(`requests_per_sec ${(r.requests.total / o.seconds).toFixed(1)} ` +
      `latency_p50_ms ${pct(50)} latency_p99_ms ${pct(99)} errors ${r.errors + r.non2xx}`);
    stop();
    process.exit(r.errors || r.non2xx ? 1 : 0);
  });
  inst.on('response', (client, status, bytes, ms) => times.push(ms));
});
api.on('exit', (code) => {
  if (out !== null) {
    console.error(`service: the API exited (${code}) before listening`);
    process.exit(1);
  }
});
