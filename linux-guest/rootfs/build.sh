#!/usr/bin/env bash
# Builds ember's guest user space from Debian's busybox-static, without root:
#   build/guest/rootfs.ext4      ext4 image (mkfs.ext4 -d), /sbin/init = linux-guest/rootfs/init
#   build/guest/initramfs.cpio   the same tree but the applet links as an uncompressed newc cpio, /init, with
#                                a /dev/console node (the kernel opens it before init)
# Both hold /bin/vsock-echo and /bin/memfill (linux-guest/rootfs/*.c, built here with gcc, no libc).
# The busybox binary comes from the installed busybox-static package, or else from its
# .deb (apt-get download + dpkg-deb -x, cached under ${EMBER_CACHE:-$HOME/.cache/ember}),
# so that a machine with the conflicting 'busybox' package needs no change.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/guest
cache=${EMBER_CACHE:-$HOME/.cache/ember}/rootfs
ext4_size=${EMBER_ROOTFS_SIZE:-32M}
epoch=${SOURCE_DATE_EPOCH:-0} # fixed timestamps: the same inputs give the same cpio

say() { printf 'rootfs: %s\n' "$*"; }
die() { printf 'rootfs: error: %s\n' "$*" >&2; exit 1; }

need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	say "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
need_pkgs e2fsprogs cpio gcc

# --- busybox -----------------------------------------------------------------------
find_busybox() {
	if dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed"; then
		dpkg-query -L busybox-static | grep -m1 -E '/bin/busybox$'
		return
	fi
	local version dir
	version=$(apt-cache policy busybox-static | awk '/Candidate:/ { print $2 }')
	[ -n "$version" ] && [ "$version" != "(none)" ] || die "no busybox-static package (apt-get update?)"
	dir=$cache/busybox-static-${version//:/_}
	if [ ! -x "$dir/bin/busybox" ]; then
		say "fetching busybox-static $version"
		rm -rf "$dir.tmp"
		mkdir -p "$dir.tmp"
		(cd "$dir.tmp" && apt-get download -qq "busybox-static=$version" >/dev/null) ||
			die "apt-get download busybox-static failed"
		dpkg-deb -x "$dir.tmp"/busybox-static_*.deb "$dir.tmp/x"
		rm -rf "$dir"
		mv "$dir.tmp/x" "$dir"
		rm -rf "$dir.tmp"
	fi
	echo "$dir/bin/busybox"
}
busybox=$(find_busybox)
[ -x "$busybox" ] || die "no busybox binary at $busybox"
file -b "$busybox" 2>/dev/null | grep -q 'statically linked' || ! command -v file >/dev/null ||
	die "$busybox is not statically linked"
"$busybox" devmem >/dev/null 2>&1 || [ $? -ne 127 ] || die "busybox has no devmem applet (boot timer)"
# The initramfs has no applet links (below): its shell must run applets by name.
env -i PATH=/nonexistent "$busybox" sh -c 'true | cat' >/dev/null 2>&1 ||
	die "busybox's shell cannot run applets without links (FEATURE_SH_STANDALONE)"

# --- the tree ----------------------------------------------------------------------
mkdir -p "$out"
tree=$(mktemp -d "$out/rootfs-tree.XXXXXX")
trap 'rm -rf "$tree" "$out/rootfs.ext4.tmp" "$out/initramfs.cpio.tmp"' EXIT

mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,mnt,root,run,var}
chmod 1777 "$tree/tmp"
chmod 0700 "$tree/root"
install -m 0755 "$busybox" "$tree/bin/busybox"
# One symlink per applet, where busybox would install it (bin/ls, sbin/reboot, ...).
while IFS= read -r applet; do
	[ -n "$applet" ] && [ ! -e "$tree/$applet" ] || continue
	case $applet in
	bin/*) ln -s busybox "$tree/$applet" ;;
	sbin/*) ln -s ../bin/busybox "$tree/$applet" ;;
	usr/bin/* | usr/sbin/*) ln -s ../../bin/busybox "$tree/$applet" ;;
	esac
done < <("$busybox" --list-full)
[ -L "$tree/bin/sh" ] || die "busybox --list-full gave no bin/sh"

install -m 0755 "$here/init" "$tree/init"
# tests/linux.sh's helpers (busybox has neither): AF_VSOCK (vsock-echo.c) and touching
# memory from user mode (memfill.c). No libc (nolibc.h), a few KiB each.
for helper in vsock-echo memfill; do
	gcc -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie -Os -s \
		-Wall -Wextra -Werror -Wl,--build-id=none -o "$tree/bin/$helper" "$here/$helper.c" ||
		die "cannot build $helper"
done
rm -f "$tree/sbin/init"
ln -s ../init "$tree/sbin/init"

cat >"$tree/etc/passwd" <<'EOF'
root::0:0:root:/root:/bin/sh
EOF
cat >"$tree/etc/group" <<'EOF'
root:x:0:
EOF
echo ember >"$tree/etc/hostname"
cat >"$tree/etc/profile" <<'EOF'
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
PS1='ember# '
EOF
: >"$tree/etc/fstab"
find "$tree" -exec touch -h -d "@$epoch" {} +

# --- initramfs.cpio: uncompressed newc, every file owned by root -------------------
# A newc entry by hand, for what cpio cannot copy from an unprivileged tree: a device node.
newc_entry() { # name mode(octal) rdevmajor rdevminor
	local name=$1 namesize=$((${#1} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
		0x4000 $((8#$2)) 0 0 1 "$epoch" 0 0 0 "$3" "$4" "$namesize" 0
	printf '%s\0' "$name"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	[ $pad -eq 0 ] || head -c "$pad" /dev/zero
}
# Without the applet links but /bin/sh: the kernel unpacks each entry interpreted on kvm_pvm
# (a path walk for each of create, chown and utime), ~270 links cost seconds of boot, and
# busybox needs none: its shell and exec run applets by name (standalone shell, applets
# preferred). rootfs.ext4 keeps every link: a disk root costs nothing per file at boot.
{
	(cd "$tree" && find . -mindepth 1 \( ! -lname '*busybox' -o -path ./bin/sh \) |
		LC_ALL=C sort | cpio -o -H newc --owner=0:0 --reproducible --quiet)
	# a second archive, appended (the kernel reads concatenated archives)
	newc_entry dev/console 020600 5 1
	newc_entry TRAILER!!! 0 0 0
} >"$out/initramfs.cpio.tmp"
mv -f "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"
say "$out/initramfs.cpio ($(du -k "$out/initramfs.cpio" | cut -f1) KiB)"

# --- rootfs.ext4 -------------------------------------------------------------------
rm -f "$out/rootfs.ext4.tmp"
# (not byte-reproducible: mkfs.ext4 picks a random UUID and stamps the creation time)
mkfs.ext4 -q -F -L ember-root -E root_owner=0:0 -d "$tree" "$out/rootfs.ext4.tmp" "$ext4_size" >/dev/null
if [ "$(id -u)" -ne 0 ]; then
	# mkfs.ext4 -d copies the owner of each file: give everything to root.
	(cd "$tree" && find . -mindepth 1) | sed 's|^\.||' |
		awk '{ printf "sif \"%s\" uid 0\nsif \"%s\" gid 0\n", $0, $0 }' >"$tree.debugfs"
	debugfs -w -f "$tree.debugfs" "$out/rootfs.ext4.tmp" >/dev/null 2>&1 ||
		die "debugfs could not set the owners in rootfs.ext4"
	rm -f "$tree.debugfs"
fi
e2fsck -fn "$out/rootfs.ext4.tmp" >/dev/null 2>&1 || die "e2fsck finds errors in rootfs.ext4"
mv -f "$out/rootfs.ext4.tmp" "$out/rootfs.ext4"
say "$out/rootfs.ext4 ($ext4_size)"
