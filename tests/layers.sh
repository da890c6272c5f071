#!/bin/sh
# The layers of user/, checked: every #include "x.h" of a file under
# user/LAYER/ must name a header of its own layer or of one below it
# (docs/architecture.md draws them). Data flows up this list, from the
# kernel side to the outputs; an include that points up the list is an
# output or a command reached from below, which is what the layers forbid.
# Also: every source file of user/ sits in one of the layers, the BPF
# skeletons are opened by the kernel side and the runtimes' probes only, the
# tracer is held by the kernel side, the session and the commands only, and
# no output includes the session (outputs read the settled recording).
#
# usage: tests/layers.sh [USER_DIR]     (exit 1 and one line per fault)
set -eu

top=${1:-user}
# Lowest first; layers on one line may include each other.
layers='lib
host symbols
kernel
runtime
model
session
output
cmd'

rank_of() {
	echo "$layers" | awk -v l="$1" '{ for (i = 1; i <= NF; i++) if ($i == l) { print NR; exit } }'
}

faults=0
fault() {
	echo "layers: $*"
	faults=$((faults + 1))
}

# Files that sit in no layer.
for f in "$top"/*; do
	[ -d "$f" ] && continue
	fault "$f is in no layer: move it into one of $(echo $layers)"
done

for dir in "$top"/*/; do
	layer=$(basename "$dir")
	rank=$(rank_of "$layer")
	if [ -z "$rank" ]; then
		fault "$dir is not a layer (add it to tests/layers.sh and docs/architecture.md)"
		continue
	fi
	for f in "$dir"*.c "$dir"*.h; do
		[ -e "$f" ] || continue
		for h in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f"); do
			case $h in
			*.skel.h)
				[ "$layer" = kernel ] || [ "$layer" = runtime ] ||
					fault "$f includes $h: only the kernel side and the runtimes' probes load BPF"
				continue ;;
			esac
			# Headers of bpf/ (shared with the BPF programs) and generated
			# ones sit under every layer.
			[ -e "bpf/$h" ] && continue
			case $h in proto/*) continue ;; esac
			found=$(ls "$top"/*/"$h" 2>/dev/null | head -n 1)
			if [ -z "$found" ]; then
				fault "$f includes \"$h\", found in no layer"
				continue
			fi
			dep=$(basename "$(dirname "$found")")
			drank=$(rank_of "$dep")
			[ "$drank" -le "$rank" ] ||
				fault "$f ($layer) includes $dep/$h: $dep is above $layer"
			# The outputs read the settled recording, never the live
			# session or the tracer (only the session and the commands
			# that start it hold one).
			[ "$layer" = output ] && [ "$dep" = session ] &&
				fault "$f (output) includes session/$h: outputs read the model"
			[ "$h" = tracer.h ] && [ "$layer" != kernel ] && [ "$layer" != session ] &&
				[ "$layer" != cmd ] && fault "$f ($layer) includes tracer.h"
		done
	done
done

if [ $faults -gt 0 ]; then
	echo "layers: $faults faults"
	exit 1
fi
echo "layers: every include of $top/ points down or across ($(echo $layers))"
