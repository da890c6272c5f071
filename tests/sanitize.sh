#!/bin/sh
# Runs a test command built with ASan+UBSan and fails when any process it
# started left a sanitizer report, including ones the command itself cannot
# see: Criterion counts a test as passed before LeakSanitizer runs at its
# worker's exit. Reports go to files in REPORT_DIR and are printed here.
#
#   sanitize.sh REPORT_DIR [VAR=value...] COMMAND [ARGS...]
#
# Leaks are suppressed only as tests/lsan.supp says. Run from the top of the tree.
set -u

dir=$1
shift
rm -rf "$dir" && mkdir -p "$dir" || exit 1
dir=$(cd "$dir" && pwd)

# fast_unwind_on_malloc=0: libelf and libdw have no frame pointers, and the
# suppressions name frames inside them.
export ASAN_OPTIONS="log_path=$dir/asan:fast_unwind_on_malloc=0"
export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$dir/ubsan:print_stacktrace=1:halt_on_error=1"

env "$@"
rc=$?
found=$(find "$dir" -type f | sort)
for f in $found; do
	echo "==== $f"
	cat "$f"
done
if [ -n "$found" ]; then
	echo "sanitizer reports: $(echo "$found" | wc -l) (above, and in $dir)"
	exit 1
fi
exit "$rc"
