#!/bin/sh
# Builds the guest's root filesystem as an uncompressed cpio (the kernel
# unpacks it faster under TCG than it inflates a gzip; README.md in this
# directory has the measurement): busybox, memscope and the test workloads,
# node for the V8 case, each binary with the libraries ldd lists, and
# tests/kernels/init as /init.
#
# usage: initramfs.sh OUT.cpio   (run from the repository root)
set -eu

out=$1
root=$out.d
rm -rf "$root"
mkdir -p "$root/bin" "$root/mx/build/workloads" "$root/mx/tests/workloads" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/etc" "$root/usr/bin" "$root/root"

# Copies the host's detached debug file of ELF file $1 (by build id), so the
# guest names a stripped library's internal functions (libc's _int_malloc,
# from libc6-dbg, which the Makefile installs) as the host does.
add_debug() {
	bid=$(readelf -n "$1" 2>/dev/null | awk '/Build ID/ { print $3; exit }')
	[ -n "$bid" ] || return 0
	dbg=/usr/lib/debug/.build-id/$(echo "$bid" | cut -c1-2)/$(echo "$bid" | cut -c3-).debug
	[ -f "$dbg" ] && [ ! -e "$root$dbg" ] && install -D -m 0644 "$(readlink -f "$dbg")" "$root$dbg"
	return 0
}

# Copies an ELF binary to DEST (a path in the guest) with its libraries.
add_binary() {
	install -D -m 0755 "$1" "$root$2"
	ldd "$1" | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/.*ld-linux/ {print $1}' |
	while read -r lib; do
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
		add_debug "$lib"
	done
}

install -m 0755 /bin/busybox "$root/bin/busybox"
add_binary ./memscope /mx/memscope
for w in build/workloads/*; do
	add_binary "$w" "/mx/$w"
done
cp tests/workloads/*.js "$root/mx/tests/workloads/"
add_binary "$(readlink -f /usr/bin/node)" /usr/bin/node
install -m 0755 tests/kernels/init "$root/init"
install -m 0755 tests/kernels/guest_tests.sh "$root/mx/guest_tests.sh"
cp tests/kernels/guest_json.js tests/kernels/guest_thp.sh "$root/mx/"
# getpwuid and friends, for tools that name the user.
echo 'root:x:0:0:root:/root:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"

(cd "$root" && find . | sort | cpio -o -H newc --quiet) > "$out.new"
mv "$out.new" "$out"
rm -rf "$root"
