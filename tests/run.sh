#!/usr/bin/env bash
# ember's test suite: unit tests (plain and ASan+UBSan), payload guests, CLI and
# malformed-input checks. Prints one line per test and, last, "N passed, N failed,
# N skipped". Exits non-zero if anything failed.
#   tests/run.sh [FILTER]    run only tests whose name contains FILTER
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
EMBER=$ROOT/build/ember
FILTER=${1:-}
PASSED=0 FAILED=0 SKIPPED=0
FAILED_NAMES=()
TMP=$(mktemp -d /tmp/ember-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

want() { [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; }
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL: $1${2:+: $2}"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "SKIP: $1: $2"; }

# --- unit tests: each binary prints PASS:/FAIL: per case ---
run_unit_dir() { # dir label
	local bin out rc
	for bin in "$1"/test_*; do
		[ -x "$bin" ] || continue
		want "$2$(basename "$bin")" || continue
		out=$(timeout 120 "$bin" 2>&1)
		rc=$?
		while IFS= read -r line; do
			case "$line" in
			PASS:*) pass "$2${line#PASS: }" ;;
			FAIL:*) line=${line#FAIL: }; fail "$2${line%%: *}" "${line#*: }" ;;
			esac
		done <<<"$out"
		# A crash or sanitizer report shows as a non-zero exit with no FAIL line.
		if [ $rc -ne 0 ] && ! grep -q '^FAIL:' <<<"$out"; then
			fail "$2$(basename "$bin")" "exit $rc: $(tail -n 5 <<<"$out" | tr '\n' ' ')"
		fi
	done
}
run_unit_dir build/tests ""
run_unit_dir build/asan/tests "asan:"

# --- the layer check (make check-layers): every #include points down, and the check works ---
# shellcheck source=tests/layers.sh
source tests/layers.sh

# --- payload guests and CLI checks need /dev/kvm ---
KVM_OK=1
if [ ! -e /dev/kvm ]; then
	KVM_OK=0 KVM_WHY="/dev/kvm does not exist on this host"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	KVM_OK=0 KVM_WHY="/dev/kvm is not readable and writable by $(id -un)"
fi

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

# run_fuzzer NAME TARGET SECONDS SEED_DIR...: builds build/fuzz/TARGET (make) and runs it
# for SECONDS (FUZZ_TEST_TIME overrides) from the seeds, new inputs in a scratch corpus;
# pass when libFuzzer ends without a finding. Skips without clang or its fuzzer runtime.
run_fuzzer() {
	local name=$1 target=$2 secs=${FUZZ_TEST_TIME:-$3} out=$TMP/$2.out rc runs
	shift 3
	if ! command -v clang >/dev/null; then
		skip "$name" "clang is not installed (scripts/install-deps.sh)"
		return
	fi
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
		clang -fsanitize=fuzzer -x c - -o "$TMP/fuzzcheck" 2>/dev/null; then
		skip "$name" "clang's libFuzzer runtime is missing (libclang-rt-14-dev)"
		return
	fi
	if ! make -s "build/fuzz/$target" >"$out" 2>&1; then
		fail "$name" "build: $(tail -n 5 "$out" | tr '\n' ' ')"
		return
	fi
	mkdir -p "$TMP/$target-corpus"
	timeout $((secs + 90)) "build/fuzz/$target" -max_total_time="$secs" \
		-artifact_prefix="$TMP/" "$TMP/$target-corpus" "$@" >"$out" 2>&1
	rc=$?
	runs=$(grep -o 'Done [0-9]* runs' "$out")
	if [ $rc -ne 0 ]; then
		fail "$name" "exit $rc: $(grep -m1 -A3 'ERROR\|runtime error\|deadly' "$out" | tr '\n' ' ')"
	else
		pass "$name ($runs)"
	fi
}

# --- payload guests: tests/guests/cases.tsv ---
# shellcheck source=tests/devices.sh
source tests/devices.sh
if [ -f tests/guests/cases.tsv ]; then
	while IFS=$'\t' read -r name vcpus stdin want_rc regex extra; do
		[ -z "$name" ] || [[ "$name" == \#* ]] && continue
		tname="guest:$name:${vcpus}cpu"
		for word in $extra; do # a drive's engine names the row: ...:sync, ...:async
			case "$word" in
			@drive) tname="$tname:sync" ;;
			@drive=*) word=${word#@drive=} && tname="$tname:${word,,}" ;;
			esac
		done
		want "$tname" || continue
		if [ $KVM_OK = 0 ]; then
			skip "$tname" "$KVM_WHY"
			continue
		fi
		cfg=$TMP/$name-$vcpus.json out=$TMP/$name-$vcpus.out
		# Pseudo-flags in the extra column add devices to the config: @drive[=ENGINE] a
		# drive image (tests/devices.sh) checked after the run; any other @key adds
		# "key": {} ("@entropy": "entropy": {}).
		devices= img=
		for word in $extra; do
			case "$word" in
			@drive | @drive=*)
				img=$TMP/$name-$vcpus-${word#@drive=}.img engine=Sync
				[ "$word" = @drive ] || engine=${word#@drive=}
				drive_image_create "$img"
				devices="${devices:+$devices, }$(drive_config_json "$img" "$engine")"
				;;
			@*) devices="${devices:+$devices, }\"${word#@}\": {}" ;;
			esac
		done
		extra=$(printf '%s\n' $extra | grep -v -e '^@' -e '^-$' | tr '\n' ' ')
		write_config "$cfg" "$ROOT/build/guests/$name.elf" "$vcpus" "" "" "$devices"
		if [ "$stdin" = - ]; then
			# shellcheck disable=SC2086
			timeout 60 "$EMBER" --no-api --config-file "$cfg" $extra </dev/null >"$out" 2>&1
		else
			# shellcheck disable=SC2086,SC2059
			printf "$stdin" | timeout 60 "$EMBER" --no-api --config-file "$cfg" $extra >"$out" 2>&1
		fi
		check_result "$tname" "$want_rc" "$regex" $? "$out"
		[ -z "$img" ] || drive_image_check "$tname:host-file" "$img"
	done <tests/guests/cases.tsv
fi

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

echo
if [ $FAILED -ne 0 ]; then
	echo "failed tests:"
	printf '  %s\n' "${FAILED_NAMES[@]}"
fi
echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
[ $FAILED -eq 0 ]
