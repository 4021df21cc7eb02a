#!/usr/bin/env bash
# make sandbox-template: builds the sandbox's guest and snapshots it once its agent is
# ready (linux-guest/sandbox/README.md).
#   build/sandbox/ember-agent        the guest agent (agent.c, static)
#   build/sandbox/initramfs.cpio     build/guest/initramfs.cpio + /sandbox-init, the
#                                    agent and $SANDBOX_EXTRA (a directory tree)
#   build/sandbox/template/          state, memory, manifest.json
# One Linux boot under build/ember (a minute or two on kvm_pvm), skipped when the
# manifest's inputs_sha256 matches: kernel, initramfs, boot arguments, machine size and
# ember's version. SANDBOX_REBUILD=1 boots again all the same.
# Settings: SANDBOX_MEM_MIB (128), SANDBOX_VCPUS (1), SANDBOX_EXTRA (none),
# SANDBOX_BOOT_TIMEOUT seconds (900).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/sandbox
tmpl=$out/template
ember=$root/build/ember
sandbox=$root/build/ember-sandbox
vmlinux=$root/build/guest/vmlinux
base=$root/build/guest/initramfs.cpio
mem=${SANDBOX_MEM_MIB:-128}
vcpus=${SANDBOX_VCPUS:-1}
extra=${SANDBOX_EXTRA:-}
limit=${SANDBOX_BOOT_TIMEOUT:-900}
port=5252 # SB_AGENT_PORT (src/sandbox/proto.h)
# quiet: the interpreted 8250 driver makes every console line cost; RCU stall warnings
# would fire after every restore (the guest's TSC jumps by the time since the snapshot).
boot_args="console=ttyS0 reboot=k panic=-1 pci=off quiet rdinit=/sandbox-init rcupdate.rcu_cpu_stall_suppress=1"

say() { printf 'sandbox-template: %s\n' "$*"; }
die() {
	printf 'sandbox-template: error: %s\n' "$*" >&2
	exit 1
}

for f in "$ember" "$sandbox" "$vmlinux" "$base"; do
	[ -e "$f" ] || die "$f is missing (make build/ember build/ember-sandbox guest)"
done
[ -z "$extra" ] || [ -d "$extra" ] || die "SANDBOX_EXTRA=$extra is not a directory"
[ "$mem" -ge 32 ] 2>/dev/null || die "SANDBOX_MEM_MIB=$mem: at least 32"
mkdir -p "$out"

# --- the agent and the initramfs ---------------------------------------------------
gcc -static -Os -s -D_GNU_SOURCE -std=c17 -Wall -Wextra -Werror -I"$root/src/sandbox" \
	-o "$out/ember-agent.tmp" "$here/agent.c" || die "cannot build the agent"
mv -f "$out/ember-agent.tmp" "$out/ember-agent"
tree=$(mktemp -d "$out/tree.XXXXXX")
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree"/{bin,sbin,usr/bin,usr/sbin}
# The project's initramfs has no applet links (its shell runs applets by name), but the
# agent execs commands through PATH (posix_spawnp): one link per applet, to the archive's
# own busybox.
bbdir=$(mktemp -d "$out/bb.XXXXXX") # named busybox: it answers to its own name
cpio -i --quiet --to-stdout "*bin/busybox" <"$base" >"$bbdir/busybox" &&
	chmod 0755 "$bbdir/busybox" || die "$base has no bin/busybox"
while IFS= read -r applet; do
	[ -n "$applet" ] && [ ! -e "$tree/$applet" ] && [ ! -L "$tree/$applet" ] || continue
	ln -s /bin/busybox "$tree/$applet"
done < <("$bbdir/busybox" --list-full)
rm -rf "$bbdir" "$tree/bin/sh" "$tree/bin/busybox"
[ -L "$tree/bin/echo" ] || die "no applet links from $base's busybox"
install -m 0755 "$here/init" "$tree/sandbox-init"
install -m 0755 "$out/ember-agent" "$tree/sbin/ember-agent"
[ -z "$extra" ] || cp -a "$extra/." "$tree/"
find "$tree" -exec touch -h -d @0 {} +
# Appended to the base archive: the kernel unpacks concatenated archives in order.
{
	cat "$base"
	(cd "$tree" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --owner=0:0 --reproducible --quiet)
} >"$out/initramfs.cpio.tmp"
mv -f "$out/initramfs.cpio.tmp" "$out/initramfs.cpio"

version=$("$ember" --version | grep -m1 '^ember v') || die "$ember --version: no 'ember v' line"
inputs=$({
	sha256sum "$vmlinux" "$out/initramfs.cpio" | cut -d' ' -f1
	printf '%s\n' "$boot_args" "$mem" "$vcpus" "$version" "$port"
} | sha256sum | cut -d' ' -f1)
if [ -z "${SANDBOX_REBUILD:-}" ] && [ -f "$tmpl/manifest.json" ] &&
	grep -q "\"inputs_sha256\": \"$inputs\"" "$tmpl/manifest.json" &&
	[ -f "$tmpl/state" ] && [ -f "$tmpl/memory" ]; then
	say "$tmpl is up to date (inputs $inputs)"
	exit 0
fi

# --- one boot, snapshotted once the agent answers -----------------------------------
boot=$out/boot
rm -rf "$boot" "$tmpl.tmp"
mkdir -p "$boot" "$tmpl.tmp"
cat >"$boot/config.json" <<JSON
{ "boot-source": { "kernel_image_path": "$vmlinux", "initrd_path": "$out/initramfs.cpio",
                   "boot_args": "$boot_args" },
  "machine-config": { "vcpu_count": $vcpus, "mem_size_mib": $mem },
  "vsock": { "guest_cid": 3, "uds_path": "$boot/v.sock" },
  "entropy": {} }
JSON
say "booting $vmlinux ($vcpus vCPU, $mem MiB) under $ember; the console goes to $boot/console.log"
"$ember" --api-sock "$boot/api.sock" --boot-timer --config-file "$boot/config.json" \
	</dev/null >"$boot/console.log" 2>&1 &
pid=$!
# (errexit applies inside the trap too: every step may fail)
trap 'kill -KILL $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$tree" "$tmpl.tmp"' EXIT
SECONDS=0
last=-1
until "$sandbox" ping --vsock "$boot/v.sock" --timeout-ms 500 2>/dev/null; do
	kill -0 $pid 2>/dev/null || {
		tail -n 20 "$boot/console.log" >&2
		die "ember exited during the boot (console above)"
	}
	[ $SECONDS -lt "$limit" ] || die "the agent did not answer within $limit s ($boot/console.log)"
	if [ $((SECONDS / 10)) -ne $last ]; then
		last=$((SECONDS / 10))
		line=$(tr -d '\r' <"$boot/console.log" | grep -v '^\s*$' | tail -n 1 | cut -c1-90)
		say "$(printf '%3d s' $SECONDS): ${line:-(no console output yet)}"
	fi
	sleep 1
done
say "the agent answered after $SECONDS s; pausing and snapshotting"
api() { # METHOD PATH BODY
	local code
	code=$(curl -s -o "$boot/api.out" -w '%{http_code}' --unix-socket "$boot/api.sock" \
		-X "$1" "http://localhost$2" -H 'Content-Type: application/json' -d "$3") || true
	[ "$code" = 204 ] || die "$1 $2: HTTP $code $(cat "$boot/api.out" 2>/dev/null)"
}
sleep 1 # the agent back in poll(), the probe's connection closed
api PATCH /vm '{"state": "Paused"}'
api PUT /snapshot/create "{\"snapshot_path\": \"$tmpl.tmp/state\", \"mem_file_path\": \"$tmpl.tmp/memory\"}"
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null || true
# ember-sandbox --jail hard-links these into each jail, for another uid to read.
chmod 0644 "$tmpl.tmp/state" "$tmpl.tmp/memory"

kernel_sha=$(sha256sum "$vmlinux" | cut -d' ' -f1)
initrd_sha=$(sha256sum "$out/initramfs.cpio" | cut -d' ' -f1)
cat >"$tmpl.tmp/manifest.json" <<JSON
{
  "format": "ember-sandbox-template/1",
  "ember_version": "$version",
  "kernel": "$vmlinux",
  "kernel_sha256": "$kernel_sha",
  "initrd": "$out/initramfs.cpio",
  "initrd_sha256": "$initrd_sha",
  "rootfs": "the initramfs, in guest memory: each clone's writes stay in its copy-on-write memory",
  "boot_args": "$boot_args",
  "vcpus": $vcpus,
  "mem_size_mib": $mem,
  "vsock_port": $port,
  "state_file": "state",
  "memory_file": "memory",
  "state_bytes": $(stat -c %s "$tmpl.tmp/state"),
  "boot_seconds": $SECONDS,
  "inputs_sha256": "$inputs"
}
JSON
rm -rf "$tmpl"
mv "$tmpl.tmp" "$tmpl"
say "$tmpl: state $(du -h "$tmpl/state" | cut -f1), memory $(du -h "$tmpl/memory" | cut -f1) on disk (of $mem MiB)"
