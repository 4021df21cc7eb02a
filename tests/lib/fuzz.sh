# shellcheck shell=bash
# tests/lib/fuzz.sh: a libFuzzer target for a bounded time (after tests/lib/common.sh).
# The suites run one each: devices:fuzz-virtio (tests/devices.sh), cli:fuzz-loader
# (tests/cli.sh), api:fuzz (tests/api.sh); `bash tests/run.sh fuzz` runs the three.

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
