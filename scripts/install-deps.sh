#!/usr/bin/env bash
# Installs every Debian 12 package ember needs to build, test and benchmark.
# Run as root (or through sudo). Safe to run again.
set -euo pipefail
PACKAGES=(
	build-essential  # gcc, make, binutils (ld, objcopy for the payload guests)
	pkg-config
	libjansson-dev   # JSON: the configuration file and the API's bodies
	libhttp-parser-dev # the API's HTTP/1.1 parser (static libhttp_parser.a; MHD's needs gnutls)
	liburing-dev     # virtio-block: io_uring engine (static liburing.a in the ember link)
	libseccomp-dev   # seccomp filters: libseccomp (static libseccomp.a in the ember link)
	nettle-dev       # MMDS: its session tokens' HMAC-SHA256 and base64 (static libnettle.a)
	curl             # tests/api.sh: requests on the API socket (--unix-socket)
	socat            # tests/api.sh: raw and malformed HTTP on the API socket
	clang            # make fuzz, tests/api.sh: the API's libFuzzer target
	libclang-rt-14-dev # make fuzz: clang's libFuzzer and sanitizer runtimes
	clang-format     # make format-check
	qemu-system-x86  # bench/: the same payload under QEMU microvm, side by side
	musl-tools       # make musl (opt-in): build/musl/ember, measured by make bench when built
	procps           # bench/: ps for resident memory
	valgrind         # scripts/hot-order.py: what a VM's life touches, for ember's link order
	python3          # bench/: statistics; tests/net.sh: the host side (AF_PACKET)
	python3-yaml     # tests/api.sh: the GETs checked against the swagger file
	python3-jsonschema # tests/api_contract.sh, swagger_check.py: answers validated against the swagger
	iproute2         # tests/net.sh: ip netns, ip tuntap (virtio-net end to end)
	linux-source-6.1 # make guest: the guest kernel's source (linux-guest/kernel/build.sh)
	bc               # make guest: kernel build
	flex             # make guest: kernel build (kconfig)
	bison            # make guest: kernel build (kconfig)
	libelf-dev       # make guest: kernel build (objtool)
	libssl-dev       # make guest: kernel build (scripts/)
	liblzma-dev      # snapshots: the state file's CRC-64 (lzma_crc64)
	xz-utils         # make guest: unpacks linux-source-6.1.tar.xz
	cpio             # make guest: initramfs.cpio
	e2fsprogs        # make guest: rootfs.ext4 (mkfs.ext4 -d, debugfs)
	busybox-static   # make guest: the guest's user space (linux-guest/rootfs/build.sh)
)
missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: every package is installed"
	exit 0
fi
SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
