#!/usr/bin/env bash
# The main job (make demo): boot a Linux microVM on ember's embedded default guest
# (build/guest/: Linux 6.1 + busybox), run `uname -a` and a smoke command inside,
# show the guest's output, the boot time from the boot timer, and end the VM
# cleanly (the guest's `reboot -f` through the i8042: ember exits 0).
#
# On this project's development host (kvm_pvm) the guest kernel is interpreted:
# the boot takes a minute or two, so every console line is shown with the time
# since start. On hardware KVM the same boot takes well under a second.
#   VCPUS=2 scripts/demo.sh       more vCPUs
#   DEMO_CMD='...' scripts/demo.sh another command for init to run
set -euo pipefail
cd "$(dirname "$0")/.."

VCPUS=${VCPUS:-1}
MEM=${MEM:-256}
DEMO_CMD=${DEMO_CMD:-'uname -a; echo "cpus: $(nproc), memory: $(free -m | sed -n 2p | tr -s " " | cut -d" " -f2) MiB"; ls /; cat /proc/cmdline'}
work=$(mktemp -d /tmp/ember-demo.XXXXXX)
trap 'rm -rf "$work"' EXIT

for f in build/ember build/guest/vmlinux build/guest/initramfs.cpio; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is missing: run 'make demo' (it builds ember and the guest)" >&2
		exit 1
	fi
done

# JSON string escaping for the command (quotes, backslashes).
json_escape() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\"/\\\"}"
}
args=$(json_escape "console=ttyS0 reboot=k panic=-1 pci=off -- $DEMO_CMD")

cat >"$work/vm.json" <<JSON
{
  "boot-source": {
    "kernel_image_path": "$PWD/build/guest/vmlinux",
    "initrd_path": "$PWD/build/guest/initramfs.cpio",
    "boot_args": "$args"
  },
  "machine-config": { "vcpu_count": $VCPUS, "mem_size_mib": $MEM },
  "entropy": {}
}
JSON

echo "== ember: booting Linux ($(basename "$(readlink -f build/guest/vmlinux)"), $VCPUS vCPU, $MEM MiB) from $work/vm.json"
if [ -e /sys/module/kvm_pvm ]; then
	echo "== this host's KVM is kvm_pvm: the guest kernel is interpreted, expect 1-3 minutes"
fi
start=$(date +%s%N)
set +e
build/ember --no-api --config-file "$work/vm.json" --boot-timer </dev/null 2>&1 |
	while IFS= read -r line; do
		now=$(date +%s%N)
		printf '[%7.1fs] %s\n' "$(( (now - start) / 1000000 ))e-3" "$line"
	done
rc=${PIPESTATUS[0]}
set -e
end=$(date +%s%N)
echo "== ember exited with status $rc after $(( (end - start) / 1000000 )) ms"
exit "$rc"
