#!/bin/sh
# Boots one kernel with the matrix initramfs under qemu, the serial console
# to LOG, and kills the guest after TIMEOUT seconds: a guest that hangs (in
# early boot, as a nested KVM guest does on some hosts, or in a test) is a
# failure the caller sees, never a hung `make test`.
#
# usage: boot.sh VMLINUZ INITRD LOG kvm|tcg TIMEOUT_S [KERNEL_ARGS]
# Exit status: qemu's, or 124 when the timeout killed it.
set -eu

vmlinuz=$1 initrd=$2 log=$3 accel=$4 limit=$5 extra=${6:-}

case $accel in
kvm) accel_args="-accel kvm -cpu host,-arch-capabilities" ;;
# thread=single: one host thread runs both vCPUs in turn. With thread=multi
# a 6.12 guest oopsed ("Oops: int3" in __alloc_pages, then panic) when
# memscope attached to the page allocator's tracepoint: the kernel patches
# that jump label with a temporary int3 and relies on the CPUs' instruction
# caches being synchronised, which multi-threaded TCG does not guarantee for
# code another vCPU thread already translated. -cpu max gives the guest the
# instructions node and glibc's string functions look for.
tcg) accel_args="-accel tcg,thread=single -cpu max" ;;
*) echo "boot.sh: accel is kvm or tcg" >&2; exit 2 ;;
esac

# loglevel=3: the OOM killer's report stays in dmesg (the test reads it
# there) instead of interleaving with the MATRIX lines on the console.
# panic=-1 and -no-reboot: a guest that panics ends at once.
# shellcheck disable=SC2086
# Two NUMA nodes of 1 GiB, one CPU each: guest_thp.sh's thp_migrate moves a
# leak to the other node with move_pages(2).
exec timeout -k 5 "$limit" qemu-system-x86_64 $accel_args -smp 2 -m 2048 \
	-object memory-backend-ram,id=mem0,size=1G -object memory-backend-ram,id=mem1,size=1G \
	-numa node,nodeid=0,cpus=0,memdev=mem0 -numa node,nodeid=1,cpus=1,memdev=mem1 \
	-nodefaults -display none -no-reboot -serial "file:$log" \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-append "console=ttyS0 loglevel=3 panic=-1 rdinit=/init $extra"
