#!/usr/bin/env bash
# The main job: boot a microVM on the embedded default guest and show what it
# printed, how long it took and how it ended. (The default guest is the hello
# payload until the Linux guest lands.)
set -euo pipefail
cd "$(dirname "$0")/.."
GUEST=${GUEST:-build/guests/hello.elf}
VCPUS=${VCPUS:-2}
cfg=$(mktemp /tmp/ember-demo.XXXXXX.json)
trap 'rm -f "$cfg"' EXIT
cat >"$cfg" <<JSON
{
  "boot-source": { "kernel_image_path": "$PWD/$GUEST", "boot_args": "console=ttyS0 demo=1" },
  "machine-config": { "vcpu_count": $VCPUS, "mem_size_mib": 128 }
}
JSON
echo "== ember: booting $GUEST with $VCPUS vCPUs, 128 MiB (config $cfg)"
start=$(date +%s%N)
set +e
build/ember --no-api --config-file "$cfg" --boot-timer </dev/null
rc=$?
set -e
end=$(date +%s%N)
echo "== ember exited with status $rc after $(( (end - start) / 1000000 )) ms (process start to exit)"
exit $rc
