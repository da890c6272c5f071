#!/bin/sh
# Runs one libFuzzer harness for a fixed time and sums it up in one line; on a
# crash, prints the end of its log and where the input that crashed it is.
#
#   run.sh short SECONDS build/fuzz/NAME	on a throwaway copy of the seeds
#   run.sh long SECONDS build/fuzz/NAME	on build/fuzz/corpus/NAME, which keeps
#					growing from one run to the next
#
# Seeds: tests/fuzz/corpus/NAME/ and what the Makefile generates in
# build/fuzz/seeds/NAME/; dictionary: tests/fuzz/NAME.dict when present.
# Run from the top of the tree.
set -u

mode=$1 secs=$2 bin=$3
name=$(basename "$bin")
out=build/fuzz
log=$out/logs/$name.log
seeds=
for d in tests/fuzz/corpus/$name $out/seeds/$name; do
	[ -d "$d" ] && seeds="$seeds $d"
done
dict=
[ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
mkdir -p "$out/logs" "$out/crashes" || exit 1

case $mode in
short)
	# A private directory (mktemp), so nothing else can plant inputs in it.
	corpus=$(mktemp -d "${TMPDIR:-/tmp}/memscope-fuzz-$name.XXXXXX") || exit 1
	trap 'rm -rf "$corpus"' EXIT
	for d in $seeds; do
		cp -R "$d/." "$corpus/" || exit 1
	done
	extra=
	;;
long)
	corpus=$out/corpus/$name
	mkdir -p "$corpus" || exit 1
	extra=$seeds
	;;
*)
	echo "usage: $0 short|long SECONDS FUZZER" >&2
	exit 2
	;;
esac

# Only libelf's own leaks on corrupt files are suppressed (see the file).
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# -timeout: an input taking seconds is a hang; -rss_limit_mb: and a blow-up.
# $extra are read-only seed directories (long mode); $dict may be empty.
touch "$out/logs/$name.start"
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$out/crashes/$name-" $dict "$corpus" $extra >"$log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
units=$(find "$corpus" -type f | wc -l)
if [ "$rc" -ne 0 ]; then
	tail -n 60 "$log"
	echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; log: $log"
	find "$out/crashes" -name "$name-*" -newer "$out/logs/$name.start" |
		sed "s|^|    reproduce: $bin |"
	exit 1
fi
echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, corpus of $units inputs"
