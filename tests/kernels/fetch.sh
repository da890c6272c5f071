#!/bin/sh
# Resolves the kernels of the matrix from apt at run time (a pinned version
# disappears from the mirror within weeks), downloads their images into a
# cache and unpacks only /boot: vmlinuz and config. Nothing is installed.
#
# usage: fetch.sh DIR
# Writes DIR/list, one kernel a line: "ID PACKAGE VERSION DISTRO", and
# DIR/ID/vmlinuz, DIR/ID/config. The .debs stay in DIR/debs (a cache).
set -eu

dir=$1
mkdir -p "$dir/debs"

# The newest package whose name matches the extended regex $1.
newest() {
	apt-cache search --names-only "$1" | awk '{print $1}' | sort -V | tail -n 1
}

# A fresh machine may never have read the security suite, where the newest
# kernels are: one apt-get update when a name does not resolve.
# Sets pkg (no command substitution: updated must outlive the call).
updated=""
resolve() {
	pkg=$(newest "$1")
	if [ -z "$pkg" ] && [ -z "$updated" ]; then
		apt-get update -qq >&2
		updated=yes
		pkg=$(newest "$1")
	fi
}

# BTF for CO-RE, the memory controller, BPF on tracepoints and uprobes,
# tracefs/debugfs, THP (the workloads' madvise), the initramfs, the serial
# console, devtmpfs.
needed='CONFIG_DEBUG_INFO_BTF CONFIG_MEMCG CONFIG_BPF_SYSCALL CONFIG_BPF_EVENTS
	CONFIG_UPROBE_EVENTS CONFIG_TRACING CONFIG_DEBUG_FS CONFIG_TRANSPARENT_HUGEPAGE
	CONFIG_BLK_DEV_INITRD CONFIG_SERIAL_8250_CONSOLE CONFIG_DEVTMPFS CONFIG_TMPFS'

# id, regex, distribution description (what README's table says).
kernels='
deb12-6.1|^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$|Debian 12 stock
deb12-6.12|^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$|Debian 12 (linux-6.12, the series of Debian 13)
deb12-6.12-cloud|^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64-unsigned$|Debian 12 cloud images
'

: > "$dir/list.new"
echo "$kernels" | while IFS='|' read -r id regex distro; do
	[ -n "$id" ] || continue
	resolve "$regex"
	if [ -z "$pkg" ]; then
		echo "fetch.sh: no package matches $regex (apt-get update?)" >&2
		exit 1
	fi
	version=$(apt-cache show "$pkg" | awk '/^Version:/{print $2; exit}')
	deb=$(ls "$dir/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
	if [ -z "$deb" ]; then
		# apt-get download writes into the current directory only.
		(cd "$dir/debs" && apt-get download -q "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
		deb=$(ls "$dir/debs/${pkg}_"*.deb 2>/dev/null | head -n 1 || true)
		[ -n "$deb" ] || { echo "fetch.sh: apt-get download $pkg failed" >&2; exit 1; }
	fi
	if [ ! -s "$dir/$id/vmlinuz" ] || [ "$(cat "$dir/$id/package" 2>/dev/null)" != "$pkg" ]; then
		rm -rf "$dir/$id" "$dir/$id.x"
		mkdir -p "$dir/$id.x"
		# Only /boot: the modules are not needed (everything memscope and
		# the guest use is built in; see tests/kernels/README.md).
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir/$id.x" ./boot
		mkdir -p "$dir/$id"
		mv "$dir/$id.x"/boot/vmlinuz-* "$dir/$id/vmlinuz"
		mv "$dir/$id.x"/boot/config-* "$dir/$id/config"
		rm -rf "$dir/$id.x"
		echo "$pkg" > "$dir/$id/package"
	fi
	# The guest loads no modules: what it needs must be built in.
	for opt in $needed; do
		grep -q "^$opt=y" "$dir/$id/config" ||
			{ echo "fetch.sh: $pkg: $opt is not built in (=y)" >&2; exit 1; }
	done
	echo "$id $pkg $version $distro" >> "$dir/list.new"
done
mv "$dir/list.new" "$dir/list"
cat "$dir/list"
