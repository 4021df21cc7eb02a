#!/usr/bin/env bash
# ember's test suite: unit tests (plain and ASan+UBSan), payload guests, CLI and
# malformed-input checks. Prints one line per test and, last, "N passed, N failed,
# N skipped". Exits non-zero if anything failed.
#   tests/run.sh [FILTER]    run only tests whose name contains FILTER
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh
# shellcheck source=tests/lib/net.sh
source tests/lib/net.sh
# shellcheck source=tests/lib/vsock.sh
source tests/lib/vsock.sh

# --- unit tests: each binary prints PASS:/FAIL: per case ---
# shellcheck source=tests/unit.sh
source tests/unit.sh

# --- the virtio devices under libFuzzer; payload guests: tests/guests/cases.tsv ---
# shellcheck source=tests/devices.sh
source tests/devices.sh
# shellcheck source=tests/guests.sh
source tests/guests.sh

# --- devices end to end: each device engineer's script ---
# shellcheck source=tests/balloon.sh
source tests/balloon.sh
# shellcheck source=tests/vsock.sh
source tests/vsock.sh
# shellcheck source=tests/net.sh
source tests/net.sh

# --- command line, configuration and malformed inputs ---
# shellcheck source=tests/cli.sh
source tests/cli.sh

# --- the REST API on its Unix socket, end to end; the API fuzzer for a bounded time ---
# shellcheck source=tests/api.sh
source tests/api.sh
# shellcheck source=tests/metrics.sh
source tests/metrics.sh

# --- Linux guests (build/guest/): few slow boots, several checks each ---
# shellcheck source=tests/linux.sh
source tests/linux.sh

summary
