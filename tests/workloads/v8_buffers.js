// A per-tenant upload cache that keeps every payload as a Buffer: about
// --mib MiB of ArrayBuffer memory, allocated by node's allocator outside the
// V8 heap, over --seconds. The leak heap snapshots barely show.
'use strict';

const { MIB, options, run } = require('./v8_common');

const o = options();
const PAYLOAD = 64 * 1024;
const uploads = new Map();
let bytes = 0, next = 0;

function keepUpload(tenant) {
	// Written in full: untouched memory would not be resident.
	const buf = Buffer.allocUnsafe(PAYLOAD).fill(next & 0xff);
	const list = uploads.get(tenant) || [];

	list.push(buf);
	uploads.set(tenant, list);
	bytes += PAYLOAD;
	next++;
}

run(o, (f) => {
	const target = f * o.mib * MIB;

	for (let k = 0; k < 64 && bytes < target; k++)
		keepUpload(`tenant-${next % 50}`);
});
