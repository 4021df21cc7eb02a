#!/usr/bin/env bash
# virtio-mem end to end: unplugged memory is out of the guest's reach. The payload
# (tests/guests/virtio_mem.c) checks from inside that every unplugged page reads as
# all-ones and drops writes, that a plugged block works, and that an unplugged slot is
# unreachable again; this script moves it on step by step with PATCH /hotplug/memory
# and checks ember's side:
#   rss-plug     the guest wrote every page of an unplugged 128 MiB slot, then plugged
#                and wrote one 2 MiB block: ember's resident set grew by the block only
#   rss-unplug   after the unplug it shrank by the block again
#   diff-restore a Full snapshot with block 0 plugged, then (block 0 unplugged, a block
#                of slot 1 plugged and written) a Diff onto a copy of it; a new process
#                loads the Diff: the guest finds its block's contents (KVM's dirty log of
#                the slot) and slot 0 still unreachable, unplugs, says SUCCESS, exits 0
# Run by tests/run.sh, or on its own: bash tests/virtio_mem.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh

# vmem_wait FILE REGEX: 0 once FILE matches REGEX (60 s at most, while $API_PID lives).
vmem_wait() {
	local n=600
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		kill -0 "$API_PID" 2>/dev/null || break
		sleep 0.1
		n=$((n - 1))
	done
	grep -Eq -- "$2" "$1" 2>/dev/null
}

vmem_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$API_PID/status" 2>/dev/null
}

# vmem_step NAME MIB LINE: PATCH requested_size_mib MIB, then the payload prints LINE.
vmem_step() {
	api_req PATCH /hotplug/memory "{\"requested_size_mib\": $2}"
	if [ "$CODE" != 204 ]; then
		fail "$1" "PATCH /hotplug/memory $2: status $CODE: $RESP"
		return 1
	fi
	vmem_wait "$API_OUT" "^$3" && return 0
	fail "$1" "no $3 after requesting $2 MiB: $(grep -v 'unbacked MMIO' "$API_OUT" | tail -n 3 | tr '\n' ' ')"
	return 1
}

# vmem_ok METHOD PATH BODY: a request that must answer 204 (else VMEM_WHY says why).
vmem_ok() {
	VMEM_WHY=
	api_req "$1" "$2" "$3"
	[ "$CODE" = 204 ] && return 0
	VMEM_WHY="$1 $2: status $CODE: $RESP"
	return 1
}

# vmem_snapshot NAME TYPE FILE: pauses, snapshots into $TMP/vmem-FILE.{state,mem}.
vmem_snapshot() {
	vmem_ok PATCH /vm '{"state": "Paused"}' &&
		vmem_ok PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vmem-$3.state\", \"mem_file_path\": \"$TMP/vmem-$3.mem\", \"snapshot_type\": \"$2\"}" &&
		return 0
	fail "$1" "$VMEM_WHY"
	return 1
}

# vmem_boot NAME: the payload up to its Diff snapshot (the ember process stays up);
# stops at the first failure, which names itself.
vmem_boot() {
	local name=$1 r0 r1 r2
	if ! vmem_wait "$API_OUT" '^READY'; then
		fail "$name:rss-plug" "no READY: $(grep -v 'unbacked MMIO' "$API_OUT" | tail -n 3 | tr '\n' ' ')"
		return 1
	fi
	r0=$(vmem_rss_kb)
	vmem_step "$name:rss-plug" 2 PLUGGED0 || return 1
	r1=$(vmem_rss_kb)
	# 2 MiB plugged and written; the 128 MiB written while unplugged must not show.
	if [ $((r1 - r0)) -ge 1536 ] && [ $((r1 - r0)) -lt 8192 ]; then
		pass "$name:rss-plug"
	else
		fail "$name:rss-plug" "VmRSS $r0 kB -> $r1 kB: expected about +2048 kB"
	fi
	vmem_snapshot "$name:diff-restore" Full full || return 1
	if ! vmem_ok PATCH /vm '{"state": "Resumed"}'; then
		fail "$name:diff-restore" "$VMEM_WHY"
		return 1
	fi
	vmem_step "$name:rss-unplug" 0 UNPLUGGED0 || return 1
	r2=$(vmem_rss_kb)
	if [ $((r1 - r2)) -ge 1536 ]; then
		pass "$name:rss-unplug"
	else
		fail "$name:rss-unplug" "VmRSS $r1 kB -> $r2 kB: expected about -2048 kB"
	fi
	# The Diff goes onto a copy of the Full, as Firecracker allows.
	cp "$TMP/vmem-full.mem" "$TMP/vmem-diff.mem" &&
		vmem_step "$name:diff-restore" 2 PLUGGED1 &&
		vmem_snapshot "$name:diff-restore" Diff diff
}

# vmem_restore NAME: a new process loads the Diff and runs the payload to its end.
vmem_restore() {
	api_start vmem-restored || {
		fail "$1" "ember did not start"
		return
	}
	if ! vmem_ok PUT /snapshot/load "{\"snapshot_path\": \"$TMP/vmem-diff.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vmem-diff.mem\"}, \"resume_vm\": true}"; then
		fail "$1" "$VMEM_WHY"
		api_stop
		return
	fi
	if ! expect_api "$1" GET /hotplug/memory - 200 '"plugged_size_mib":2,' ||
		! vmem_step "$1" 0 SUCCESS; then
		api_stop
		return
	fi
	wait_exit "$API_PID" 30
	exec {API_IN}>&-
	if [ "$RC" -ne 0 ]; then
		fail "$1" "the restored ember exited $RC after SUCCESS, expected 0"
	else
		pass "$1"
	fi
}

vmem_e2e() {
	local name=guest:virtio_mem cfg=$TMP/vmem.json ok
	want "$name" || return 0
	if [ "$KVM_OK" = 0 ]; then
		skip "$name" "$KVM_WHY"
		return 0
	fi
	cat >"$cfg" <<EOF
{
  "boot-source": { "kernel_image_path": "$ROOT/build/guests/virtio_mem.elf", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128, "track_dirty_pages": true },
  "memory-hotplug": { "total_size_mib": 256, "block_size_mib": 2, "slot_size_mib": 128 }
}
EOF
	api_start vmem --config-file "$cfg" || {
		fail "$name:rss-plug" "ember did not start: $(tail -n 3 "$TMP/vmem.err" | tr '\n' ' ')"
		return 0
	}
	vmem_boot "$name"
	ok=$?
	api_stop
	[ $ok = 0 ] && vmem_restore "$name:diff-restore"
}

vmem_e2e

suite_end
