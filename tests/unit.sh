#!/usr/bin/env bash
# The unit tests: each binary in build/tests/ and build/asan/tests/ (ASan+UBSan,
# names prefixed "asan:") prints PASS:/FAIL: per case; a crash or sanitizer report
# fails the binary.
# Run by tests/run.sh, or on its own: bash tests/unit.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# run_unit_dir DIR LABEL
run_unit_dir() {
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

suite_end
