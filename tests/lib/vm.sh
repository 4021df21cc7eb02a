# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# tests/lib/vm.sh: a VM for ember to run and the judging of its run (after
# tests/lib/common.sh): write_config and check_result (the payload guests of
# tests/guests.sh, other suites' own VMs), wait_exit; the drive image the
# virtio_block payload reads and writes (tests/guests.sh's @drive, tests/api.sh).

# write_config FILE KERNEL VCPUS [BOOT_ARGS] [MEM_MIB] [EXTRA_JSON]
write_config() {
	cat >"$1" <<EOF
{
  "boot-source": { "kernel_image_path": "$2", "boot_args": "${4:-console=ttyS0}" },
  "machine-config": { "vcpu_count": $3, "mem_size_mib": ${5:-128} }${6:+,
  $6}
}
EOF
}

# check NAME EXPECTED_EXIT REGEX RC OUTPUT_FILE
check_result() {
	local name=$1 want_rc=$2 regex=$3 rc=$4 out=$5
	if [ "$rc" -eq 124 ]; then
		fail "$name" "timed out; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
	elif [ "$want_rc" = '!0' ] && [ "$rc" -eq 0 ]; then
		fail "$name" "exit 0, expected non-zero; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
	elif [ "$want_rc" != '!0' ] && [ "$rc" -ne "$want_rc" ]; then
		fail "$name" "exit $rc, expected $want_rc; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
	elif ! grep -Eq -- "$regex" "$out"; then
		fail "$name" "output does not match /$regex/; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

# wait_exit PID SECONDS: waits for PID; RC is its status (124 and killed on time-out).
wait_exit() {
	local pid=$1 n=$(($2 * 20))
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.05
		n=$((n - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		RC=124
		return
	fi
	wait "$pid"
	RC=$?
}

# --- the drive image: a 64 KiB file made by drive_image_create, attached as "drives":
# [...] (drive_config_json), and checked after the run by drive_image_check: sector 3
# must hold what the virtio_block guest wrote, sectors 0 and 7 their marker ---
DRIVE_MARKER=EMBER-BLOCK-TEST  # at byte 0 and at sector 7 (the guest reads them)
DRIVE_WRITTEN=EMBER-SECTOR3-OK # the guest writes it 32 times over sector 3

# drive_image_create FILE: 128 zero sectors with DRIVE_MARKER at byte 0 and at sector 7.
drive_image_create() {
	head -c 65536 /dev/zero >"$1" &&
		printf %s "$DRIVE_MARKER" | dd of="$1" conv=notrunc status=none &&
		printf %s "$DRIVE_MARKER" | dd of="$1" bs=512 seek=7 conv=notrunc status=none
}

# drive_config_json FILE [ENGINE]: the configuration's "drives" member for FILE.
drive_config_json() {
	printf '"drives": [{"drive_id": "testdrive", "path_on_host": "%s", "is_root_device": false, "is_read_only": false, "cache_type": "Writeback", "io_engine": "%s"}]' \
		"$1" "${2:-Sync}"
}

# drive_image_check NAME FILE: pass/fail NAME on what the guest left in FILE.
drive_image_check() {
	local name=$1 img=$2 want got i
	want=$(for ((i = 0; i < 32; i++)); do printf %s "$DRIVE_WRITTEN"; done)
	got=$(dd if="$img" bs=512 skip=3 count=1 status=none | tr -d '\0')
	if [ "$got" != "$want" ]; then
		fail "$name" "sector 3 of $img does not hold what the guest wrote: $(head -c 40 <<<"$got")"
	elif [ "$(head -c 16 "$img")" != "$DRIVE_MARKER" ] ||
		[ "$(dd if="$img" bs=512 skip=7 count=1 status=none | head -c 16)" != "$DRIVE_MARKER" ]; then
		fail "$name" "the markers in sectors 0 and 7 of $img changed"
	elif [ "$(stat -c %s "$img")" != 65536 ]; then
		fail "$name" "$img changed size: $(stat -c %s "$img") bytes"
	else
		pass "$name"
	fi
}
