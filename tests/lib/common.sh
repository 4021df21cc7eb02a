# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# tests/lib/common.sh: what every suite script needs, sourced first (tests/run.sh
# describes the layout). Sets set -u and the working directory (the repository's
# root); defines ROOT, EMBER, FILTER (the first argument of the script that was
# run), SWAGGER and SWAGGER_VERSION (Firecracker's API description and its
# version), the counters with pass/fail/skip/want, the summary line and suite_end,
# $TMP (removed at exit, after the exit hooks) and KVM_OK/KVM_WHY. Sourced again (by each
# suite script after tests/run.sh) it does nothing: the counters go on. The other
# files in tests/lib/ only define helpers and constants; each suite script sources
# the ones it uses (again is harmless).

[ -z "${EMBER_TEST_COMMON:-}" ] || return 0
EMBER_TEST_COMMON=1

set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
ROOT=$PWD
EMBER=$ROOT/build/ember
FILTER=${1:-}
# Firecracker's API description (swagger 2.0) and its version: the contract ember serves.
SWAGGER=$ROOT/tests/reference/firecracker-api.yaml
SWAGGER_VERSION=$(sed -n 's/^  version: *//p' "$SWAGGER" | head -n 1)
PASSED=0 FAILED=0 SKIPPED=0
FAILED_NAMES=()

want() { [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]]; }
# want_group PREFIX: whether any test named PREFIX... can be wanted by FILTER.
want_group() { [ -z "$FILTER" ] || [[ "$1" == *"$FILTER"* ]] || [[ "$FILTER" == "$1"* ]]; }
pass() { PASSED=$((PASSED + 1)); echo "PASS: $1"; }
fail() { FAILED=$((FAILED + 1)); FAILED_NAMES+=("$1"); echo "FAIL: $1${2:+: $2}"; }
skip() { SKIPPED=$((SKIPPED + 1)); echo "SKIP: $1: $2"; }

# summary: the failed tests' names, then "N passed, N failed, N skipped" as the last
# line (make test and CI read it); false if anything failed.
summary() {
	echo
	if [ $FAILED -ne 0 ]; then
		echo "failed tests:"
		printf '  %s\n' "${FAILED_NAMES[@]}"
	fi
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	[ $FAILED -eq 0 ]
}

# suite_end: a suite script's last line. Run on its own (bash tests/api.sh), the
# script ends here with the summary and its status; sourced by tests/run.sh, nothing.
suite_end() {
	[ "${BASH_SOURCE[1]}" = "$0" ] || return 0
	summary
	exit
}

# Scratch files. Exit hooks undo what a test sets up outside $TMP (a network
# namespace, helper processes) on every path: exit_hook_push CMD before, then CMD
# and exit_hook_pop after; at exit the hooks still pushed run, newest first.
TMP=$(mktemp -d /tmp/ember-test.XXXXXX)
EXIT_HOOKS=()
exit_hooks_run() {
	local i
	for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${EXIT_HOOKS[i]}"
	done
	rm -rf "$TMP"
}
exit_hook_push() { EXIT_HOOKS+=("$1"); }
exit_hook_pop() { unset 'EXIT_HOOKS[-1]'; }
trap exit_hooks_run EXIT

# SIGTERM ends ember as it ends Firecracker, which does not catch it: killed by the
# signal once ember has cleaned up. This is the status bash's wait gives for that.
KILLED_BY_TERM=143

# Payload guests, Linux guests and most CLI and API checks need /dev/kvm.
KVM_OK=1 KVM_WHY=
if [ ! -e /dev/kvm ]; then
	KVM_OK=0 KVM_WHY="/dev/kvm does not exist on this host"
elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	KVM_OK=0 KVM_WHY="/dev/kvm is not readable and writable by $(id -un)"
fi
