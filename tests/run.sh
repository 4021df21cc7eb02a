#!/usr/bin/env bash
# ember's test suite. Prints one line per test (PASS:, FAIL: or SKIP: and its name)
# and, last, "N passed, N failed, N skipped"; exits non-zero if anything failed.
#   tests/run.sh [FILTER]       every suite; only tests whose name contains FILTER
#   tests/SUITE.sh [FILTER]     one suite on its own: the same lines, its own summary
# The suites, in the order run.sh sources them (each adds to the same counters):
# unit.sh (test_*, asan:test_*), layers.sh (the include layers), devices.sh (devices:fuzz-virtio), guests.sh (the
# payload guests of tests/guests/cases.tsv), snapshot.sh (snapshots), balloon.sh, virtio_mem.sh, vsock.sh, net.sh (devices
# end to end), cli.sh, memory.sh (resident memory outside guest RAM), jailer.sh (ember-jailer), api.sh, metrics.sh, api_cpu_serial.sh (CPU templates, serial,
# logger module, huge pages), api_contract.sh (every swagger operation),
# seccomp.sh (the filters), mmds.sh, linux.sh (Linux boots; they skip without
# build/guest/), sandbox.sh (ember-sandbox: a template boot, then clones). Their shared helpers are in tests/lib/: common.sh (paths, filter,
# counters, summary, $TMP, exit hooks, KVM), vm.sh (a VM's configuration, judging a
# run, the drive image), api.sh, net.sh and vsock.sh (ember's API socket, the host
# sides of virtio-net and vsock), fuzz.sh (run_fuzzer), swagger_check.py (a JSON
# document against a definition of the swagger file, tests/reference/, by jsonschema),
# swagger_contract.py (every operation's answers against the swagger: api_contract.sh).

# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/lib/common.sh"

# --- unit tests: each binary prints PASS:/FAIL: per case ---
# shellcheck source=tests/unit.sh
source tests/unit.sh

# --- the layer check (make check-layers): every #include points down, and the check works ---
# shellcheck source=tests/layers.sh
source tests/layers.sh

# --- the virtio devices under libFuzzer; payload guests: tests/guests/cases.tsv ---
# shellcheck source=tests/devices.sh
source tests/devices.sh
# shellcheck source=tests/guests.sh
source tests/guests.sh
# shellcheck source=tests/snapshot.sh
source tests/snapshot.sh

# --- devices end to end: each device engineer's script ---
# shellcheck source=tests/balloon.sh
source tests/balloon.sh
# shellcheck source=tests/virtio_mem.sh
source tests/virtio_mem.sh
# shellcheck source=tests/vsock.sh
source tests/vsock.sh
# shellcheck source=tests/net.sh
source tests/net.sh

# --- command line, configuration and malformed inputs ---
# shellcheck source=tests/cli.sh
source tests/cli.sh
# --- resident memory outside guest RAM: the 1 MiB target (bench's method) ---
# shellcheck source=tests/memory.sh
source tests/memory.sh
# shellcheck source=tests/jailer.sh
source tests/jailer.sh

# --- the REST API on its Unix socket, end to end; the API fuzzer for a bounded time ---
# shellcheck source=tests/api.sh
source tests/api.sh
# shellcheck source=tests/metrics.sh
source tests/metrics.sh
# shellcheck source=tests/api_cpu_serial.sh
source tests/api_cpu_serial.sh
# shellcheck source=tests/api_contract.sh
source tests/api_contract.sh
# shellcheck source=tests/seccomp.sh
source tests/seccomp.sh
# shellcheck source=tests/mmds.sh
source tests/mmds.sh

# --- Linux guests (build/guest/): few slow boots, several checks each ---
# shellcheck source=tests/linux.sh
source tests/linux.sh
# --- ember-sandbox: one Linux boot for its template (cached), then clones of it ---
# shellcheck source=tests/sandbox.sh
source tests/sandbox.sh

summary
