#!/bin/sh
# tests/layers.sh on canned trees first: a check that cannot fail is no test.
# A clean tree passes; a model file including an output header, a file
# outside every layer, a skeleton opened by an output and an output that
# includes the session or the tracer each fail it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
t=$(mktemp -d)
trap 'rm -rf "$t"' EXIT

tree() {
	rm -rf "$t/user"
	mkdir -p "$t/user/lib" "$t/user/kernel" "$t/user/model" "$t/user/output"
	echo '#include "log.h"' > "$t/user/kernel/tracer.c"
	: > "$t/user/lib/log.h"
	: > "$t/user/kernel/pfn.h"
	printf '#include "pfn.h"\n#include "log.h"\n' > "$t/user/model/recorder.c"
	: > "$t/user/model/recorder.h"
	echo '#include "recorder.h"' > "$t/user/output/folded.c"
}

# expect STATUS WHAT: runs layers.sh on $t/user, from $t (it looks for bpf/ there).
expect() {
	rc=0
	(cd "$t" && sh "$here/layers.sh" user) > "$t/out" 2>&1 || rc=$?
	if [ "$rc" -ne "$1" ]; then
		echo "layers selftest: FAIL: $2: exit $rc, want $1"
		cat "$t/out"
		exit 1
	fi
}

tree
expect 0 "a clean tree"
echo '#include "folded.h"' >> "$t/user/model/recorder.c"
: > "$t/user/output/folded.h"
expect 1 "model includes an output"
grep -q 'model/recorder.c (model) includes output/folded.h' "$t/out" ||
	{ echo "layers selftest: FAIL: the fault does not name the files"; cat "$t/out"; exit 1; }
tree
: > "$t/user/stray.c"
expect 1 "a file in no layer"
tree
echo '#include "memscope.skel.h"' >> "$t/user/output/folded.c"
expect 1 "an output opens a skeleton"
tree
mkdir -p "$t/user/session"
: > "$t/user/session/session.h"
echo '#include "session.h"' >> "$t/user/output/folded.c"
expect 1 "an output includes the session"
grep -q 'includes session/session.h: outputs read the model' "$t/out" ||
	{ echo "layers selftest: FAIL: the session fault is not named"; cat "$t/out"; exit 1; }
tree
: > "$t/user/kernel/tracer.h"
echo '#include "tracer.h"' >> "$t/user/output/folded.c"
expect 1 "an output includes the tracer"
grep -q 'output/folded.c (output) includes tracer.h' "$t/out" ||
	{ echo "layers selftest: FAIL: the tracer fault is not named"; cat "$t/out"; exit 1; }
echo "layers selftest: 6 cases behave (clean, model includes output, file in no layer, skeleton in an output, output includes the session, output includes the tracer)"
