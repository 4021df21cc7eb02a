#!/usr/bin/env bash
# Snapshots: the state file parser under libFuzzer for a bounded time (make fuzz runs
# longer); seeds in tests/fuzz/corpus_state.
# Run by tests/run.sh, or on its own: bash tests/snapshot.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

if want snapshot:fuzz-state; then
	run_fuzzer snapshot:fuzz-state fuzz_state 20 tests/fuzz/corpus_state
fi

suite_end
