# Pages the kernel moves, on a kernel with transparent huge pages "always"
# (Debian's and RHEL's default): khugepaged's collapses, compaction, and
# huge pages split by a partial munmap must keep their owner. Sourced by
# guest_tests.sh (busybox sh), which provides say/pass/fail, the waits and
# $MS, $W, $CG, $T, MIB.
# Tolerances: leak_fn within ±10% of what the workload keeps; the cgroup's
# resident total within 5% (+1 MiB) of its memory.current.

THP=/sys/kernel/mm/transparent_hugepage
THP_MIB=40

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }

# report_num JSON LABEL KEY: the first "KEY": N after the container LABEL's
# line in a --report file (pretty-printed, one key a line).
report_num() {
	awk -v l="\"label\": \"$2\"" -v k="\"$3\": " '
		index($0, l) { found = 1 }
		found && index($0, k) { sub(/.*": /, ""); sub(/,$/, ""); print; exit }' "$1"
}

# moved_num JSON KEY: a counter of the report's "moved_pages" object.
moved_num() {
	awk -v k="\"$2\": " '
		index($0, "\"moved_pages\": {") { found = 1 }
		found && index($0, k) { sub(/.*": /, ""); sub(/,$/, ""); print; exit }' "$1"
}

# thp_run NAME MODE: starts memscope record on the whole guest and thpleak
# MODE in cgroup /mx-NAME; sets $rec, $work. Returns 1 if record did not start.
thp_run() {
	mkcg "$1"
	rm -f $T/"$1".ready
	$MS record -d 600 -o $T/"$1".folded --report $T/"$1".json 2>$T/"$1".err &
	rec=$!
	if ! wait_text $T/"$1".err recording 120 $rec; then
		stop $rec
		fail "$1" "memscope record did not start: $(grep -m1 error $T/"$1".err)"
		log_tail "$1" $T/"$1".err
		return 1
	fi
	$W/thpleak -m "$2" -g $CG/mx-"$1"/cgroup.procs -l $THP_MIB -r $T/"$1".ready -h 600 &
	work=$!
	return 0
}

# thp_check NAME EXPECT_MIB EXTRA: ends the recording, compares the owner's
# bytes with the workload's and the cgroup's; EXTRA is a further condition
# (a shell test string) that must hold.
thp_check() {
	kill -INT $rec
	reap $rec 180
	status=$?
	usage=$(cat $CG/mx-"$1"/memory.current)
	stop $work
	resident=$(report_num $T/"$1".json /mx-"$1" resident_bytes)
	# The leak's pages are the ones leak_fn touched, and, for malloc's
	# blocks, the ones malloc itself first touched on its behalf (a chunk
	# header, one page in 17): unwound through libc's CFI, both have
	# leak_fn under them.
	leak=$(awk -v c="/mx-$1;thpleak;" 'index($0, c) == 1 && index($0, ";leak_fn;") {
		s += $NF } END { printf "%d\n", s }' $T/"$1".folded)
	khuge=$(awk '/"comm": "khugepaged"/ { f = 1 } f && /"resident_bytes"/ { sub(/.*": /, ""); sub(/,$/, ""); print; exit }' $T/"$1".json)
	detail="resident $((${resident:-0} / MIB)) MiB, leak_fn $((leak / MIB)) MiB, cgroup $((usage / MIB)) MiB, expected $2 MiB, khugepaged holds $((${khuge:-0} / MIB)) MiB, moved: collapsed $(moved_num $T/"$1".json collapsed) migrated $(moved_num $T/"$1".json migrated) split $(moved_num $T/"$1".json split) unattributed $(moved_num $T/"$1".json unattributed); $4"
	if [ $status -eq 0 ] && [ -n "$resident" ] && within "$leak" $(($2 * MIB)) 10 &&
	   within "$resident" "$usage" 5 && [ "${khuge:-0}" -lt $MIB ] && eval "$3"; then
		pass "$1" "$detail"
	else
		fail "$1" "exit $status, $detail"
		log_tail "$1" $T/"$1".err
		# Where the container's stacked bytes went, heaviest first.
		awk -v c="/mx-$1;" 'index($0, c) == 1 { printf "%.1f MiB %s\n", $NF / 1048576,
			substr($1, 1, 230) }' $T/"$1".folded | sort -rn > $T/"$1".stacks
		log_tail "$1" $T/"$1".stacks 12
	fi
}

# ---- khugepaged collapses a leak of 64 KiB malloc blocks ---------------------
t_thp_collapse() {
	echo always > $THP/enabled
	echo 100 > $THP/khugepaged/scan_sleep_millisecs
	echo 32768 > $THP/khugepaged/pages_to_scan
	before=$(vmstat thp_collapse_alloc)
	thp_run thp_collapse blocks || return
	wait_file $T/thp_collapse.ready 120
	# Until khugepaged has collapsed most of the leak (or 90 s went by).
	n=0
	while [ $n -lt 900 ] && [ $(( $(vmstat thp_collapse_alloc) - before )) -lt $((THP_MIB / 2 * 3 / 4)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	sleep 2
	collapses=$(( $(vmstat thp_collapse_alloc) - before ))
	thp_check thp_collapse $THP_MIB "[ $collapses -gt 0 ]" "thp_collapse_alloc +$collapses"
}

# ---- compaction moves the leak's small pages ---------------------------------
# Compaction moves what its scanners meet: whether it meets the leak is luck,
# so this checks that the owner survives whatever compaction did (asking a
# few times until the kernel migrated something), and thp_migrate below
# moves the whole leak on purpose.
t_thp_compact() {
	thp_run thp_compact small || return
	wait_file $T/thp_compact.ready 120
	before=$(vmstat pgmigrate_success)
	for i in 1 2 3 4 5; do
		echo 1 > /proc/sys/vm/compact_memory
		sleep 0.3
		[ $(( $(vmstat pgmigrate_success) - before )) -lt 2000 ] || break
	done
	sleep 1
	migrated_vm=$(( $(vmstat pgmigrate_success) - before ))
	thp_check thp_compact $THP_MIB "[ $migrated_vm -gt 0 ]" "pgmigrate_success +$migrated_vm"
}

# ---- page migration moves the whole leak to the other NUMA node --------------
# Deterministic, unlike compaction (which moves what its scanners meet): the
# guest has two nodes (boot.sh), and move_pages(2) migrates every page as
# NUMA balancing or memory offlining would.
t_thp_migrate() {
	thp_run thp_migrate migrate || return
	if ! wait_file $T/thp_migrate.ready 120; then
		stop $rec $work
		fail thp_migrate "thpleak could not migrate its pages (one NUMA node?)"
		return
	fi
	moved=$(cat $T/thp_migrate.ready)
	thp_check thp_migrate $THP_MIB \
		'[ "$(moved_num $T/thp_migrate.json migrated)" -ge $((moved * 9 / 10)) ]' \
		"move_pages moved $moved pages"
}

# ---- a partial munmap splits the huge pages ----------------------------------
t_thp_split() {
	thp_run thp_split split || return
	wait_file $T/thp_split.ready 120
	# The unmapped halves wait on the deferred split queue; a limit below
	# the leak makes the kernel split and free them now.
	echo $((THP_MIB * MIB * 3 / 4)) > $CG/mx-thp_split/memory.max
	n=0
	while [ $n -lt 100 ] && [ "$(cat $CG/mx-thp_split/memory.current)" -gt $((THP_MIB * MIB * 3 / 4)) ]; do
		sleep 0.1
		n=$((n + 1))
	done
	sleep 1
	thp_check thp_split $((THP_MIB / 2)) \
		"[ $(cat $CG/mx-thp_split/memory.current) -lt $((THP_MIB * MIB * 3 / 4)) ]" "split by the limit"
}

# ---- a held leak through minutes of khugepaged (on demand) -------------------
# Not part of the matrix run (it takes minutes): booted with matrix.hold=SECS
# on the kernel command line (tests/kernels/boot.sh's KERNEL_ARGS), two
# recordings start together over one held leak of malloc blocks, one ending
# after 60 s, one after SECS; both must report the same resident bytes.
t_thp_hold() {
	secs=$(sed -n 's/.*matrix\.hold=\([0-9]*\).*/\1/p' /proc/cmdline)
	[ -n "$secs" ] || return 0
	echo always > $THP/enabled
	echo 1000 > $THP/khugepaged/scan_sleep_millisecs
	mkcg thp_hold
	$MS record -c /mx-thp_hold -d 60 -o $T/hold1.folded --report $T/hold1.json 2>$T/hold1.err &
	r1=$!
	$MS record -c /mx-thp_hold -d "$secs" -o $T/hold5.folded --report $T/hold5.json 2>$T/hold5.err &
	r5=$!
	wait_text $T/hold1.err recording 120 $r1 && wait_text $T/hold5.err recording 120 $r5
	before=$(vmstat thp_collapse_alloc)
	$W/thpleak -m blocks -g $CG/mx-thp_hold/cgroup.procs -l $THP_MIB -h $((secs + 60)) &
	work=$!
	reap $r1 $((secs + 120))
	reap $r5 $((secs + 120))
	usage=$(cat $CG/mx-thp_hold/memory.current)
	stop $work
	a=$(report_num $T/hold1.json /mx-thp_hold resident_bytes)
	b=$(report_num $T/hold5.json /mx-thp_hold resident_bytes)
	detail="resident after 60 s $((${a:-0} / MIB)) MiB (${a:-none} B), after $secs s $((${b:-0} / MIB)) MiB (${b:-none} B), cgroup $((usage / MIB)) MiB, thp_collapse_alloc +$(( $(vmstat thp_collapse_alloc) - before ))"
	if [ -n "$a" ] && [ -n "$b" ] && within "$b" "$a" 1 && within "$b" "$usage" 5; then
		pass thp_hold "$detail"
	else
		fail thp_hold "$detail"
	fi
}
