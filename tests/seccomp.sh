#!/usr/bin/env bash
# Seccomp: every thread of a running VM filtered (none with --no-seccomp); a
# --seccomp-filter file that forbids what ember does kills it (status 148) and the log
# names the thread and the syscall; malformed files and flags refused; the filter file's
# parser under libFuzzer for a bounded time (make fuzz runs longer). Every other suite
# runs with the built-in filters on: they are ember's default.
# Run by tests/run.sh, or on its own: bash tests/seccomp.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

# seccomp_threads PID: "name=mode" for each of PID's threads, one per line (a thread
# that ended while the list was read is left out: it has neither).
seccomp_threads() {
	local t comm mode
	for t in /proc/"$1"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) && mode=$(awk '$1 == "Seccomp:" { print $2 }' "$t/status" 2>/dev/null) &&
			[ -n "$mode" ] && printf '%s=%s\n' "$comm" "$mode"
	done
}

# threads_check NAME MODE [EMBER ARGS...]: a 2-vCPU guest waiting for console input, with
# the API: every thread (main, fc_api, fc_vcpu 0 and 1, any the kernel adds) in seccomp
# mode MODE (2: a filter, 0: none); SIGTERM then ends it, killed by it as Firecracker is
# (the main thread's last steps run under its filter).
threads_check() {
	local name=$1 mode=$2 list bad
	shift 2
	write_config "$TMP/$name.json" build/guests/uart_rx.elf 2 console=ttyS0 64
	if ! api_start "$name" --config-file "$TMP/$name.json" "$@"; then
		fail "seccomp:$name" "no API socket: $(head -c 300 "$API_ERR")"
		api_stop
		return
	fi
	for _ in $(seq 100); do
		grep -q 'waiting for a line' "$API_OUT" && break
		sleep 0.05
	done
	list=$(seccomp_threads "$API_PID")
	api_stop
	bad=$(grep -v "=$mode\$" <<<"$list" | tr '\n' ' ')
	if [ -n "$bad" ]; then
		fail "seccomp:$name" "threads not in seccomp mode $mode: $bad"
	elif ! grep -q '^fc_api=' <<<"$list" || ! grep -q '^fc_vcpu 0=' <<<"$list" ||
		! grep -q '^fc_vcpu 1=' <<<"$list" || ! grep -q '^ember=' <<<"$list"; then
		fail "seccomp:$name" "expected ember, fc_api, fc_vcpu 0 and 1: $(tr '\n' ' ' <<<"$list")"
	elif [ "$RC" != "$KILLED_BY_TERM" ]; then
		fail "seccomp:$name" "SIGTERM: status $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		pass "seccomp:$name ($(tr '\n' ' ' <<<"$list"))"
	fi
}

if [ "$KVM_OK" = 1 ]; then
	want seccomp:threads-filtered && threads_check threads-filtered 2
	want seccomp:threads-no-seccomp && threads_check threads-no-seccomp 0 --no-seccomp
else
	want seccomp:threads-filtered && skip seccomp:threads-filtered "$KVM_WHY"
	want seccomp:threads-no-seccomp && skip seccomp:threads-no-seccomp "$KVM_WHY"
fi

# The API thread's first answer a fault it writes itself (a malformed request): the JSON
# library's first object, which must not need a file (load.c). ember goes on serving.
if want seccomp:api-first-request-malformed; then
	if api_start malformed-first; then
		got=$(printf 'BLAH / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 socat - UNIX-CONNECT:"$API_SOCK")
		api_req GET /
		api_stop
		if [[ "$got" == "HTTP/1.1 400"* ]] && [ "$CODE" = 200 ] && [ "$RC" = "$KILLED_BY_TERM" ]; then
			pass seccomp:api-first-request-malformed
		else
			fail seccomp:api-first-request-malformed "answer '${got%%$'\r'*}', then GET / $CODE, status $RC: $(tail -n 2 "$API_ERR" | tr '\n' ' ')"
		fi
	else
		fail seccomp:api-first-request-malformed "no API socket: $(head -c 300 "$API_ERR")"
		api_stop
	fi
fi

# filter_file FILE VMM API VCPU: a filter file of three filters, each a JSON object.
filter_file() {
	printf '{"vmm": %s,\n "api": %s,\n "vcpu": %s}\n' "$2" "$3" "$4" >"$1"
}
ALLOW_ALL='{"default_action": "allow", "filter_action": "trap", "filter": []}'
# Everything but KVM_RUN (_IO(0xAE, 0x80)): a denylist, the other way round.
NO_KVM_RUN='{"default_action": "allow", "filter_action": "trap", "filter": [
  {"syscall": "ioctl", "args": [{"index": 1, "type": "dword", "op": "eq", "val": 44672,
   "comment": "KVM_RUN"}], "comment": "the guest may not run"}]}'
NO_ACCEPT='{"default_action": "allow", "filter_action": "trap", "filter": [
  {"syscall": "accept4", "comment": "no client may connect"}]}'
NO_EPOLL_WAIT='{"default_action": "allow", "filter_action": "trap", "filter": [
  {"syscall": "epoll_wait", "comment": "the event loop may not wait"}]}'

# A file's filters replace the built-in ones: allow everything, and the guest runs.
if want seccomp:file-allows && [ "$KVM_OK" = 1 ]; then
	filter_file "$TMP/allow.json" "$ALLOW_ALL" "$ALLOW_ALL" "$ALLOW_ALL"
	write_config "$TMP/hello.json" build/guests/hello.elf 1
	timeout 30 "$EMBER" --no-api --config-file "$TMP/hello.json" \
		--seccomp-filter "$TMP/allow.json" </dev/null >"$TMP/allow.out" 2>&1
	RC=$?
	if [ $RC -eq 0 ] && grep -q SUCCESS "$TMP/allow.out"; then
		pass seccomp:file-allows
	else
		fail seccomp:file-allows "status $RC: $(tail -n 3 "$TMP/allow.out" | tr '\n' ' ')"
	fi
fi

# The console on a terminal: its settings go back at exit, under the vmm filter.
if want seccomp:tty-console && [ "$KVM_OK" = 1 ]; then
	if ! command -v script >/dev/null; then
		skip seccomp:tty-console "script (util-linux) is not installed"
	else
		write_config "$TMP/hello.json" build/guests/hello.elf 1
		timeout 30 script -qec "$EMBER --no-api --config-file $TMP/hello.json" /dev/null \
			</dev/null >"$TMP/tty.out" 2>&1
		RC=$?
		if [ $RC -eq 0 ] && grep -q SUCCESS "$TMP/tty.out"; then
			pass seccomp:tty-console
		else
			fail seccomp:tty-console "status $RC: $(tail -n 3 "$TMP/tty.out" | tr '\n' ' ')"
		fi
	fi
fi

# A vcpu filter without KVM_RUN: the vCPU thread's first KVM_RUN kills the process.
if want seccomp:file-kills-vcpu && [ "$KVM_OK" = 1 ]; then
	filter_file "$TMP/nokvmrun.json" "$ALLOW_ALL" "$ALLOW_ALL" "$NO_KVM_RUN"
	write_config "$TMP/hello.json" build/guests/hello.elf 1
	timeout 30 "$EMBER" --no-api --config-file "$TMP/hello.json" \
		--seccomp-filter "$TMP/nokvmrun.json" </dev/null >"$TMP/nokvmrun.out" 2>&1
	RC=$?
	want_line='fc_vcpu 0\] Shutting down VM after intercepting a bad syscall: ioctl \(16\)'
	if [ $RC -eq 148 ] && grep -Eq "$want_line" "$TMP/nokvmrun.out" &&
		! grep -q SUCCESS "$TMP/nokvmrun.out"; then
		pass seccomp:file-kills-vcpu
	else
		fail seccomp:file-kills-vcpu "status $RC (expected 148): $(tail -n 3 "$TMP/nokvmrun.out" | tr '\n' ' ')"
	fi
fi

# A vmm filter without epoll_wait: the main thread installs it once the guest runs, and its
# event loop's next wait kills the process, the line naming the main thread.
if want seccomp:file-kills-vmm && [ "$KVM_OK" = 1 ]; then
	filter_file "$TMP/noepoll.json" "$NO_EPOLL_WAIT" "$ALLOW_ALL" "$ALLOW_ALL"
	write_config "$TMP/rx.json" build/guests/uart_rx.elf 1
	timeout 30 "$EMBER" --no-api --config-file "$TMP/rx.json" \
		--seccomp-filter "$TMP/noepoll.json" </dev/null >"$TMP/noepoll.out" 2>&1
	RC=$?
	if [ $RC -eq 148 ] && grep -q 'main\] Shutting down VM after intercepting a bad syscall: epoll_wait (232)' "$TMP/noepoll.out"; then
		pass seccomp:file-kills-vmm
	else
		fail seccomp:file-kills-vmm "status $RC (expected 148): $(tail -n 3 "$TMP/noepoll.out" | tr '\n' ' ')"
	fi
fi

# An api filter without accept4: the first client kills the process.
if want seccomp:file-kills-api; then
	filter_file "$TMP/noaccept.json" "$ALLOW_ALL" "$NO_ACCEPT" "$ALLOW_ALL"
	if api_start noaccept --seccomp-filter "$TMP/noaccept.json"; then
		curl -s --max-time 5 --unix-socket "$API_SOCK" http://localhost/ >/dev/null 2>&1
		wait_exit "$API_PID" 10
		exec {API_IN}>&-
		if [ "$RC" -eq 148 ] &&
			grep -q 'fc_api\] Shutting down VM after intercepting a bad syscall: accept4 (288)' "$API_ERR"; then
			pass seccomp:file-kills-api
		else
			fail seccomp:file-kills-api "status $RC (expected 148): $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		fi
	else
		fail seccomp:file-kills-api "no API socket: $(head -c 300 "$API_ERR")"
		api_stop
	fi
fi

# expect_refused NAME STATUS REGEX EMBER_ARGS...: ember exits STATUS at once, saying REGEX.
expect_refused() {
	local name=$1 status=$2 regex=$3
	shift 3
	want "seccomp:$name" || return 0
	timeout 20 "$EMBER" "$@" </dev/null >"$TMP/$name.out" 2>&1
	RC=$?
	if [ $RC -ne "$status" ]; then
		fail "seccomp:$name" "status $RC, expected $status: $(head -c 300 "$TMP/$name.out")"
	elif ! grep -Eq -- "$regex" "$TMP/$name.out"; then
		fail "seccomp:$name" "output does not match /$regex/: $(head -c 300 "$TMP/$name.out")"
	else
		pass "seccomp:$name"
	fi
}

filter_file "$TMP/bad-action.json" "$ALLOW_ALL" "$ALLOW_ALL" \
	'{"default_action": "deny", "filter_action": "allow", "filter": []}'
expect_refused bad-file-action 1 \
	"--seccomp-filter $TMP/bad-action.json: vcpu.default_action: \"deny\" is not an action" \
	--api-sock "$TMP/bad1.sock" --seccomp-filter "$TMP/bad-action.json"
filter_file "$TMP/bad-syscall.json" "$ALLOW_ALL" \
	'{"default_action": "trap", "filter_action": "allow", "filter": [{"syscall": "read"},
	  {"syscall": "frobnicate"}]}' "$ALLOW_ALL"
expect_refused bad-file-syscall 1 \
	'api.filter\[1\].syscall: "frobnicate" is not a system call on x86_64' \
	--api-sock "$TMP/bad2.sock" --seccomp-filter "$TMP/bad-syscall.json"
printf '{"vmm": %s, "api": %s}' "$ALLOW_ALL" "$ALLOW_ALL" >"$TMP/no-vcpu.json"
expect_refused bad-file-missing-key 1 'vcpu: missing' \
	--api-sock "$TMP/bad3.sock" --seccomp-filter "$TMP/no-vcpu.json"
expect_refused bad-file-absent 1 "$TMP/absent.json: No such file or directory" \
	--api-sock "$TMP/bad4.sock" --seccomp-filter "$TMP/absent.json"
expect_refused both-flags 153 '--seccomp-filter .* and --no-seccomp: give one or the other' \
	--api-sock "$TMP/bad5.sock" --seccomp-filter "$TMP/allow.json" --no-seccomp
if want seccomp:bad-file-leaves-no-socket; then
	if [ -e "$TMP/bad1.sock" ] || [ -e "$TMP/bad2.sock" ]; then
		fail seccomp:bad-file-leaves-no-socket "an API socket file is left behind"
	else
		pass seccomp:bad-file-leaves-no-socket
	fi
fi

if want seccomp:fuzz-seccomp; then
	run_fuzzer seccomp:fuzz-seccomp fuzz_seccomp 20 tests/fuzz/corpus_seccomp
fi

suite_end
