#!/bin/sh
# The kernel matrix: boots every kernel of DIR/list (tests/kernels/fetch.sh)
# with DIR/initramfs.cpio, one after the other, and hands the serial logs to
# matrix.js for the table and DIR/matrix.json. KVM when a guest boots under
# it (probed once, with a short timeout: a nested guest may hang), TCG
# otherwise.
#
# usage: matrix.sh DIR
# Environment: MATRIX_TIMEOUT (seconds per kernel, default 420),
#              MATRIX_ACCEL (kvm or tcg: skip the probe),
#              MATRIX_ONLY (one kernel id of DIR/list, to debug one kernel).
set -eu

dir=$1
here=$(dirname "$0")
timeout=${MATRIX_TIMEOUT:-420}
logs=$dir/logs
rm -rf "$logs"
mkdir -p "$logs"

now() { cut -d' ' -f1 /proc/uptime; }

first=$(awk 'NR == 1 { print $1 }' "$dir/list")
accel=${MATRIX_ACCEL:-}
if [ -z "$accel" ]; then
	accel=tcg
	probe="no /dev/kvm"
	if [ -w /dev/kvm ]; then
		# Reaching /init is enough: a guest that hangs or dies in early
		# boot never prints "MATRIX boot".
		"$here/boot.sh" "$dir/$first/vmlinuz" "$dir/initramfs.cpio" "$logs/probe-kvm.log" \
			kvm 20 matrix.probe </dev/null >/dev/null 2>"$logs/probe-kvm.err" || true
		if grep -aq 'MATRIX boot' "$logs/probe-kvm.log" 2>/dev/null; then
			accel=kvm
			probe="a KVM guest reached userspace"
		elif grep -aq 'KVM internal error' "$logs/probe-kvm.log" "$logs/probe-kvm.err"; then
			probe="KVM guest stopped in early boot (KVM internal error, emulation failure)"
		else
			probe="KVM guest did not reach userspace in 20 s"
		fi
	fi
	echo "matrix: accel $accel ($probe)"
	echo "$probe" > "$logs/accel-probe"
fi

while read -r id pkg version distro; do
	[ -z "${MATRIX_ONLY:-}" ] || [ "$MATRIX_ONLY" = "$id" ] || continue
	echo "matrix: booting $id ($pkg $version) under $accel"
	t0=$(now)
	rc=0
	"$here/boot.sh" "$dir/$id/vmlinuz" "$dir/initramfs.cpio" "$logs/$id.log" "$accel" \
		"$timeout" </dev/null >/dev/null 2>"$logs/$id.qemu.err" || rc=$?
	t1=$(now)
	# The facts matrix.js needs besides the guest's own lines.
	{
		echo "id $id"
		echo "package $pkg"
		echo "version $version"
		echo "distro $distro"
		echo "accel $accel"
		echo "qemu_exit $rc"
		echo "timeout_s $timeout"
		echo "wall_s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	} > "$logs/$id.meta"
	echo "matrix: $id done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }') s (qemu exit $rc)"
done < "$dir/list"

# The host's row: its kernel is tested by the rest of `make test`; what its
# memscope turns on and off comes from one short recording here.
./memscope record -d 1 -o /dev/null --report "$logs/host-report.json" \
	>/dev/null 2>"$logs/host-report.err" || echo "matrix: memscope record on the host failed" \
	"(see $logs/host-report.err)"

exec node "$here/matrix.js" "$dir"
