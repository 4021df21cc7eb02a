#!/usr/bin/env bash
# The virtio devices under libFuzzer for a bounded time (make fuzz runs longer): the
# guest's side (registers, rings, descriptors, buffers) is the input; seeds from
# tests/fuzz/virtio_seeds.py. The devices end to end are the payload guests
# (tests/guests.sh) and tests/balloon.sh, vsock.sh, net.sh.
# Run by tests/run.sh, or on its own: bash tests/devices.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

if want devices:fuzz-virtio; then
	if python3 tests/fuzz/virtio_seeds.py "$TMP/virtio-seeds" 2>"$TMP/virtio-seeds.err"; then
		run_fuzzer devices:fuzz-virtio fuzz_virtio 30 "$TMP/virtio-seeds"
	else
		fail devices:fuzz-virtio "tests/fuzz/virtio_seeds.py: $(head -c 200 "$TMP/virtio-seeds.err")"
	fi
fi
# MMDS's network endpoint from a guest's frames (tests/fuzz/fuzz_mmds.c).
if want devices:fuzz-mmds; then
	run_fuzzer devices:fuzz-mmds fuzz_mmds 20 tests/fuzz/corpus_mmds
fi

suite_end
