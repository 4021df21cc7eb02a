# shellcheck shell=bash
# Helpers for payload guests whose devices need real host files, sourced by
# tests/run.sh (which defines pass, fail and $TMP). One pseudo-flag so far, in the
# last column of tests/guests/cases.tsv:
#
#   @drive[=Sync|Async]  a 64 KiB drive image made by drive_image_create, attached
#                        as "drives": [...] (drive_config_json), and checked after the
#                        run by drive_image_check: sector 3 must hold what the
#                        virtio_block guest wrote, sectors 0 and 7 their marker.

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

# --- the virtio devices under libFuzzer for a bounded time (make fuzz runs longer): the
# guest's side (registers, rings, descriptors, buffers) is the input; seeds from
# tests/fuzz/virtio_seeds.py ---
if want devices:fuzz-virtio; then
	if python3 tests/fuzz/virtio_seeds.py "$TMP/virtio-seeds" 2>"$TMP/virtio-seeds.err"; then
		run_fuzzer devices:fuzz-virtio fuzz_virtio 30 "$TMP/virtio-seeds"
	else
		fail devices:fuzz-virtio "tests/fuzz/virtio_seeds.py: $(head -c 200 "$TMP/virtio-seeds.err")"
	fi
fi
