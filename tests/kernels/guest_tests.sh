#!/bin/sh
# memscope's tests inside one matrix kernel (busybox sh, run by /init from
# /mx). Sizes are scaled down for TCG; the tolerances are the host suite's.
# Prints, for tests/kernels/matrix.js on the host:
#   MATRIX info KEY VALUE...
#   MATRIX result TEST pass|fail DETAIL...
#   MATRIX feature NAME on|off WHY...
#   MATRIX start TEST / MATRIX time TEST SECONDS
#   MATRIX log TEST LINE...          (memscope's stderr when a test fails)
# No test waits without a bound: every wait below gives up and fails.
set -u

MS=/mx/memscope
W=/mx/build/workloads
CG=/sys/fs/cgroup
T=/tmp/mx
MIB=1048576
mkdir -p $T

say() { echo "MATRIX $*"; }
# Each result is also kept in $T/result.TEST, for timed's retry.
pass() { say "result $1 pass $2"; echo pass > $T/result."$1"; }
fail() { say "result $1 fail $2"; echo fail > $T/result."$1"; }
# The last lines of a file, for the host's log of a failed test.
log_tail() { tail -n "${3:-15}" "$2" 2>/dev/null | while IFS= read -r l; do say "log $1 $l"; done; }

# wait_text FILE TEXT SECS [PID]: TEXT appeared in FILE in time (and before
# PID, the process writing it, exited: a memscope that failed says so at once).
wait_text() {
	n=0
	while [ $n -lt $(($3 * 10)) ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		[ -z "${4:-}" ] || kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

wait_file() {
	n=0
	while [ $n -lt $(($2 * 10)) ]; do
		[ -e "$1" ] && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# reap PID SECS: the exit status of child PID (128+signal if killed); a child
# still running after SECS is killed and reported as 255.
reap() {
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt $(($2 * 10)) ]; do
		# A zombie answers kill -0 too: its state in /proc says it ended.
		[ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" = Z ] && break
		sleep 0.1
		n=$((n + 1))
	done
	if [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != Z ] && kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 255
	fi
	wait "$1"
}

stop() { kill -9 "$@" 2>/dev/null; for p in "$@"; do wait "$p" 2>/dev/null; done; return 0; }

# mkcg NAME [LIMIT_BYTES]: a child cgroup /mx-NAME with the memory controller.
mkcg() {
	mkdir -p $CG/mx-$1
	[ -z "${2:-}" ] || echo "$2" > $CG/mx-$1/memory.max
}

# folded_sum FILE NEEDLE: bytes of the folded lines containing NEEDLE.
folded_sum() { awk -v n="$2" 'index($0, n) { s += $NF } END { printf "%d\n", s }' "$1"; }

# within GOT WANT PERCENT
within() { awk -v g="$1" -v w="$2" -v p="$3" 'BEGIN { exit !(g >= w * (1 - p / 100) && g <= w * (1 + p / 100)) }'; }

# The test's cgroups, emptied by its own cleanup, go before a second run, so
# that it starts as the first did (a limit the first run set is gone).
drop_cgroups() { for d in $CG/mx-*/; do rmdir "$d" 2>/dev/null; done; return 0; }

# A test that fails runs once more: under TCG a guest second can last ten,
# and one slow moment should not hide the other kernels' results. The host
# still sees the first failure (its result line and log come first) and
# matrix.js lists every retried test under the table, so a failure that
# comes back now and then is seen, and one that comes back fails.
timed() {
	# Where a guest that hangs stopped, for the host's log.
	say "start ${1#t_}"
	t0=$(cut -d' ' -f1 /proc/uptime)
	rm -f $T/result."${1#t_}"
	"$@"
	if [ "$(cat $T/result."${1#t_}" 2>/dev/null)" = fail ]; then
		say "retry ${1#t_}"
		drop_cgroups
		"$@"
	fi
	say "time ${1#t_} $(awk -v a="$t0" '{ printf "%.1f", $1 - a }' /proc/uptime)"
}

# ---- 1. record: a C leak attributed to leak_fn under its cgroup -------------
LEAK_MIB=64
t_record() {
	mkcg rec
	$MS record -c /mx-rec -d 300 -s 16 -o $T/rec.folded --report $T/rec.json 2>$T/rec.err &
	rec=$!
	if ! wait_text $T/rec.err recording 120 $rec; then
		stop $rec
		fail record "memscope record did not start: $(grep -m1 error $T/rec.err)"
		log_tail record $T/rec.err 20
		# The verifier's last words, for whoever fixes the BPF side.
		timeout 120 $MS record -v -d 1 -o /dev/null 2>$T/rec.v.err
		log_tail record-verbose $T/rec.v.err 40
		return
	fi
	$W/leaker -g $CG/mx-rec/cgroup.procs -l $LEAK_MIB -c 64 -h 600 -r $T/rec.ready &
	leaker=$!
	wait_file $T/rec.ready 180
	kill -INT $rec
	reap $rec 120
	status=$?
	stop $leaker
	if [ $status -ne 0 ]; then
		fail record "memscope record exited $status"
		log_tail record $T/rec.err
		return
	fi
	leak=$(folded_sum $T/rec.folded ';leak_fn;')
	unlabelled=$(awk '{ split($1, f, ";"); if (f[1] != "/mx-rec") n++ } END { print n + 0 }' $T/rec.folded)
	detail="leak_fn $(awk -v b="$leak" 'BEGIN { printf "%.1f", b / 1048576 }') MiB of $LEAK_MIB (±10%), $unlabelled lines not under /mx-rec"
	if [ "$unlabelled" -eq 0 ] && within "$leak" $((LEAK_MIB * MIB)) 10; then
		pass record "$detail"
	else
		fail record "$detail"
		log_tail record $T/rec.err
	fi
}

# ---- 6. the features memscope turned off, as --report and stderr say -------
# A feature turned off gets one stderr line "memscope: NAME off: WHY" (the
# loader's log_notice; "memscope: notice: NAME off:" accepted as well).
NOTICE='^memscope: \(notice: \)\{0,1\}'
# features_agree JSON ERR: each feature off in record's --report JSON has its
# notice line in ERR, each notice its feature off, and the core is on. Prints
# the features to $T/features; the disagreements, if any, on stdout.
features_agree() {
	if ! /usr/bin/node guest_json.js features "$1" > $T/features 2>$T/features.err; then
		echo " $(cat $T/features.err)"
		return
	fi
	for name in $(awk '$2 == "off" { print $1 }' $T/features); do
		grep -q "${NOTICE}$name off: " "$2" || printf ' no-notice:%s' "$name"
	done
	for name in $(sed -n "s/${NOTICE}\\([a-z0-9_]*\\) off: .*/\\2/p" "$2"); do
		grep -q "^$name off" $T/features || printf ' notice-but-on:%s' "$name"
	done
	grep -q '^page_accounting on' $T/features || printf ' core-off'
}

# Runs after record and oom: record reports its features in --report; the
# memcg tracepoints only oom uses, so theirs come from oom's notice and report.
t_features() {
	if [ ! -s $T/rec.json ]; then
		fail features "no --report from record"
		return
	fi
	bad=$(features_agree $T/rec.json $T/rec.err)
	if grep -q '"source":"memcg tracepoints"' $T/oom.json 2>/dev/null; then
		echo "memcg_events on oom" >> $T/features
	elif grep -q "${NOTICE}memcg_events off: " $T/oom.err 2>/dev/null; then
		echo "memcg_events off $(sed -n "s/${NOTICE}memcg_events off: //p" $T/oom.err | head -n 1)" >> $T/features
	else
		bad="$bad memcg_events-unreported"
		log_tail features $T/oom.err
	fi
	while read -r name state why; do
		say "feature $name $state $why"
	done < $T/features
	off=$(awk '$2 == "off" { printf "%s%s", s, $1; s = "," }' $T/features)
	if [ -z "$bad" ]; then
		pass features "off: ${off:-none}"
	else
		fail features "off: ${off:-none};$bad"
	fi
}

# ---- 7. optional parts refused: record still runs, one notice each ---------
# MEMSCOPE_REFUSE plants a real verifier rejection in the parts it names
# (user/kernel/kfeatures.c), so this kernel's verifier and the loader's fallback
# are what is tested.
REFUSE=kstack_cache,oom_snapshot
t_degrade() {
	MEMSCOPE_REFUSE=$REFUSE timeout 120 $MS record -c /mx-rec -d 3 -o $T/deg.folded \
		--report $T/deg.json 2>$T/deg.err
	status=$?
	if [ $status -ne 0 ]; then
		fail degrade "record with $REFUSE refused exited $status"
		log_tail degrade $T/deg.err
		return
	fi
	bad=$(features_agree $T/deg.json $T/deg.err)
	for name in $(echo $REFUSE | tr , ' '); do
		grep -q "^$name off" $T/features || bad="$bad $name-not-off"
	done
	if [ -z "$bad" ]; then
		pass degrade "refused $REFUSE: recorded, $(grep -c "${NOTICE}[a-z0-9_]* off: " $T/deg.err) notice lines"
	else
		fail degrade "refused $REFUSE:$bad"
		log_tail degrade $T/deg.err
	fi
}

# ---- 3. top --once --json lists the leaking cgroup --------------------------
t_top() {
	mkcg top 536870912
	$W/leaker -g $CG/mx-top/cgroup.procs -l 1 -c 0 -f -i 100 &
	leaker=$!
	sleep 1
	timeout 120 $MS top --once --json --window 4 -c /mx-top > $T/top.json 2>$T/top.err
	status=$?
	stop $leaker
	row=$(/usr/bin/node guest_json.js top $T/top.json /mx-top 2>&1)
	set -- $row
	if [ $status -eq 0 ] && [ "$1" != none ] && [ $# -eq 3 ] &&
	   awk -v g="$3" 'BEGIN { exit !(g > 0) }'; then
		pass top "/mx-top: procs $1, usage $(($2 / MIB)) MiB, growth $3 MiB/min"
	else
		fail top "exit $status, row for /mx-top: $row"
		log_tail top $T/top.err
	fi
}

# ---- 2. oom: the victim the kernel names, with its limit --------------------
OOM_LIMIT=67108864
t_oom() {
	mkcg oom $OOM_LIMIT
	$W/leaker -g $CG/mx-oom/cgroup.procs -w $T/oom.start -c 0 -l 1 -f -i 20 &
	leaker=$!
	$MS oom --json -o $T/oom.json -c /mx-oom 2>$T/oom.err &
	ms=$!
	if ! wait_text $T/oom.err "watching for OOM kills" 120 $ms; then
		stop $leaker $ms
		fail oom "memscope oom did not start: $(grep -m1 error $T/oom.err)"
		log_tail oom $T/oom.err
		return
	fi
	sleep 2
	touch $T/oom.start
	reap $leaker 180
	status=$?
	wait_text $T/oom.json "\"pid\":$leaker," 30
	kill -INT $ms
	reap $ms 60
	killed=$(dmesg | sed -n 's/.*Killed process \([0-9]*\) (leaker).*/\1/p' | tail -n 1)
	report=$(/usr/bin/node guest_json.js oom $T/oom.json 2>&1)
	detail="leaker $leaker exit $status, kernel killed ${killed:-none}, report: $report"
	if [ $status -eq 137 ] && [ "$killed" = "$leaker" ] &&
	   [ "$report" = "$leaker memcg $OOM_LIMIT leaker /mx-oom" ]; then
		pass oom "$detail"
	else
		fail oom "$detail"
		log_tail oom $T/oom.err
	fi
}

# ---- 4. check: exit 1 on a grower, 0 on a plateau ---------------------------
check_once() {
	rm -f $T/grower.ready
	$W/grower -g $CG/mx-chk/cgroup.procs -i "$1" -r "$2" -d 60 -h 120 -R $T/grower.ready &
	grower=$!
	wait_file $T/grower.ready 60
	timeout 150 $MS check -c /mx-chk -d 8 --max-growth "$3" > $T/check.out 2>$T/check.err
	code=$?
	stop $grower
	return $code
}

t_check() {
	mkcg chk
	check_once 16 4 24MiB/min
	grow=$?
	grow_line=$(grep -m1 -o -E '(FAIL|PASS): /mx-chk [a-z:]+ [0-9.]+ MiB/min' $T/check.out)
	[ $grow -eq 1 ] || log_tail check $T/check.err
	check_once 32 0 5MiB/min
	flat=$?
	flat_line=$(grep -m1 -o -E '(FAIL|PASS): /mx-chk [a-z:]+ [0-9.]+ MiB/min' $T/check.out)
	[ $flat -eq 0 ] || log_tail check $T/check.err
	detail="grower exit $grow ($grow_line), plateau exit $flat ($flat_line)"
	# The exit codes, and the verdict naming the cgroup the same way.
	if [ $grow -eq 1 ] && [ $flat -eq 0 ] && [ "${grow_line#FAIL: /mx-chk }" != "$grow_line" ] &&
	   [ "${flat_line#PASS: /mx-chk }" != "$flat_line" ]; then
		pass check "$detail"
	else
		fail check "$detail"
	fi
}

# ---- 5. node's V8 heap leak gets the V8 heap growth verdict -----------------
t_v8() {
	mkcg v8
	/usr/bin/node --max-old-space-size=4096 tests/workloads/v8grow.js \
		$CG/mx-v8/cgroup.procs $T/v8.start 1 50 &
	node=$!
	$MS record -c /mx-v8 -d 300 -o $T/v8.folded --report $T/v8.json 2>$T/v8.err &
	rec=$!
	if ! wait_text $T/v8.err recording 120 $rec; then
		stop $node $rec
		fail v8 "memscope record did not start: $(grep -m1 error $T/v8.err)"
		log_tail v8 $T/v8.err
		return
	fi
	touch $T/v8.start
	sleep 10
	kill -INT $rec
	reap $rec 120
	status=$?
	stop $node
	verdict=$(/usr/bin/node guest_json.js verdict $T/v8.json $node 2>&1)
	if [ $status -eq 0 ] && [ "$verdict" = V8_heap_growth ]; then
		pass v8 "node $node: V8 heap growth"
	else
		fail v8 "record exit $status, node $node verdict: $verdict"
		log_tail v8 $T/v8.err
	fi
}

say "info kernel $(uname -r)"
say "info cgroup $(awk '$2 == "/sys/fs/cgroup" { print $3 }' /proc/mounts) controllers: $(cat $CG/cgroup.subtree_control)"
say "info cpu $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
timed t_record
timed t_top
timed t_oom
timed t_features
timed t_degrade
timed t_check
timed t_v8
# Last: they switch THP to "always" and tune khugepaged for the whole guest.
. ./guest_thp.sh
timed t_thp_collapse
timed t_thp_compact
timed t_thp_migrate
timed t_thp_split
! grep -q matrix.hold= /proc/cmdline || timed t_thp_hold
