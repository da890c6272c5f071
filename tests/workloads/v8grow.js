// A node process whose V8 heap grows until a memory limit gets it OOM-killed,
// for memscope's OOM tests. It moves itself into the memory cgroup first
// (what node allocated to start up stays charged where it was), waits for
// START_FILE, then keeps MIB more of small objects, every TICK_MS.
//
// usage: node --max-old-space-size=4096 v8grow.js CGROUP_PROCS START_FILE [MIB] [TICK_MS]
// (a large old space, so that the cgroup limit, not V8's own, ends it)
'use strict';

const fs = require('fs');

const [procs, start, mibArg, tickArg] = process.argv.slice(2);
const mib = Number(mibArg || 2);
const tickMs = Number(tickArg || 50);
// A small object with a double and a string: ~64 bytes of heap each.
const perMib = (1024 * 1024) / 64;
const kept = [];

if (procs)
  fs.writeFileSync(procs, `${process.pid}\n`);

// Chunks of objects, not one huge array: growing the heap, not one backing store.
function grow() {
  for (let m = 0; m < mib; m++) {
    const chunk = new Array(perMib);
    for (let i = 0; i < perMib; i++)
      chunk[i] = { n: i + 0.5, s: 'v8grow-' + i };
    kept.push(chunk);
  }
  setTimeout(grow, tickMs);
}

function waitForStart() {
  if (start && !fs.existsSync(start)) {
    setTimeout(waitForStart, 10);
    return;
  }
  grow();
}

waitForStart();
