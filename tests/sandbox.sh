#!/usr/bin/env bash
# ember-sandbox (src/sandbox/, README "The sandbox"): a fresh microVM per request,
# restored from the template `make sandbox-template` snapshots (one Linux boot, cached
# while its inputs are unchanged; skipped without build/guest/).
#   run: output and exit codes, signals, stdin, env, cwd, a timeout (124), megabytes of
#        output, nothing persisting between requests, two clones' random numbers
#        differing, the clock set, templates refused (corrupted state, another ember,
#        a truncated memory file), a dying agent
#   fuzz: libFuzzer over the agent frames' reader and POST /v1/run's body parser
#   serve: concurrent requests each in its own VM, 400s, a full queue's 503, stats,
#        a client disconnecting mid-request, a dying agent, SIGTERM draining
# and after each: no VM process left (every clone's directory is under $TMP/sb).
# Run by tests/run.sh, or on its own: bash tests/sandbox.sh [FILTER]
# shellcheck disable=SC2016 # the $ in the guest's commands are the guest shell's

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

SANDBOX=$ROOT/build/ember-sandbox
SB_TEMPLATE=$ROOT/build/sandbox/template
export TMPDIR_SB=$TMP/sb

sb_ready() {
	if [ $KVM_OK = 0 ]; then
		skip sandbox "$KVM_WHY"
		return 1
	fi
	if [ ! -f "$ROOT/build/guest/vmlinux" ] || [ ! -f "$ROOT/build/guest/initramfs.cpio" ]; then
		skip sandbox "no Linux guest in build/guest/ (make guest builds it)"
		return 1
	fi
	if [ ! -x "$SANDBOX" ]; then
		skip sandbox "no $SANDBOX (make)"
		return 1
	fi
	return 0
}

# sb_run ARGS...: ember-sandbox run with the template; stdout, stderr in $TMP/sb.out,
# $TMP/sb.err, status in RC. Clones live under $TMP/sb.
sb_run() {
	mkdir -p "$TMPDIR_SB"
	TMPDIR=$TMPDIR_SB timeout 300 "$SANDBOX" run --template "$SB_TEMPLATE" "$@" \
		>"$TMP/sb.out" 2>"$TMP/sb.err"
	RC=$?
}

# sb_leftovers: the ember processes of this suite's clones still running (none wanted).
sb_leftovers() { pgrep -f -- "--api-sock $TMPDIR_SB/" || true; }

sb_check_clean() { # NAME
	local left
	sleep 0.2
	left=$(sb_leftovers)
	if [ -z "$left" ] && [ -z "$(ls -A "$TMPDIR_SB" 2>/dev/null)" ]; then
		pass "sandbox:$1:no-vm-left"
	else
		fail "sandbox:$1:no-vm-left" "ember pids '$left', clone dirs: $(find "$TMPDIR_SB" -mindepth 1 -maxdepth 1 2>/dev/null | tr '\n' ' ')"
	fi
}

sb_expect() { # NAME WANT_RC WANT_STDOUT [STDERR_REGEX]
	local got
	got=$(cat "$TMP/sb.out")
	if [ "$RC" = "$2" ] && [ "$got" = "$3" ] && { [ -z "${4:-}" ] || grep -Eq -- "$4" "$TMP/sb.err"; }; then
		pass "sandbox:$1"
	else
		fail "sandbox:$1" "status $RC (want $2), stdout '$(head -c 200 "$TMP/sb.out")' (want '$3'), stderr '$(head -c 300 "$TMP/sb.err")'"
	fi
}

sb_run_checks() {
	sb_run -- echo hi
	sb_expect run-echo 0 hi
	sb_run -- sh -c 'echo out; echo err >&2; exit 7'
	sb_expect run-exit-code 7 out '^err$'
	sb_run -- sh -c 'kill -9 $$'
	sb_expect run-signal 137 ''
	sb_run -- /no/such/program
	sb_expect run-not-found 127 '' 'cannot run /no/such/program: No such file'
	head -c 400000 /dev/urandom >"$TMP/sb.stdin"
	sb_run --stdin-file "$TMP/sb.stdin" -- md5sum
	sb_expect run-stdin 0 "$(md5sum <"$TMP/sb.stdin" | cut -d' ' -f1)  -"
	sb_run --env GREETING=hello --env OTHER='a b' -- sh -c 'echo "$GREETING/$OTHER"'
	sb_expect run-env 0 'hello/a b'
	sb_run --cwd /tmp -- pwd
	sb_expect run-cwd 0 /tmp
	SECONDS=0
	sb_run --timeout-ms 3000 -- sleep 60
	if [ $SECONDS -le 30 ]; then
		sb_expect run-timeout 124 '' 'timed out after 3000 ms'
	else
		fail sandbox:run-timeout "took $SECONDS s"
	fi
	# 2 MiB through a pipe in the guest (~10 s on kvm_pvm: the guest kernel is interpreted)
	sb_run --timeout-ms 200000 -- sh -c 'head -c 2097152 /dev/zero | tr "\0" x'
	local n
	n=$(tr -d x <"$TMP/sb.out" | wc -c)
	if [ "$RC" = 0 ] && [ "$(wc -c <"$TMP/sb.out")" = 2097152 ] && [ "$n" = 0 ]; then
		pass sandbox:run-megabytes
	else
		fail sandbox:run-megabytes "status $RC, $(wc -c <"$TMP/sb.out") bytes, $n not x, $(head -c 200 "$TMP/sb.err")"
	fi
	# Nothing persists: the first clone writes to /tmp and the root, the next looks.
	sb_run -- sh -c 'echo left >/tmp/left && echo left >/left && cat /tmp/left /left'
	sb_expect run-write 0 "$(printf 'left\nleft')"
	sb_run -- sh -c 'ls /tmp/left /left 2>&1; echo done'
	if [ "$RC" = 0 ] && grep -q '^done$' "$TMP/sb.out" && ! grep -q '^/tmp/left$\|^/left$' "$TMP/sb.out"; then
		pass sandbox:run-nothing-persists
	else
		fail sandbox:run-nothing-persists "status $RC, $(head -c 300 "$TMP/sb.out")"
	fi
	# Two clones of one snapshot: their CRNGs were reseeded with fresh host entropy.
	local r1 r2
	sb_run -- sh -c 'head -c 16 /dev/urandom | md5sum'
	r1=$(cat "$TMP/sb.out")
	sb_run -- sh -c 'head -c 16 /dev/urandom | md5sum'
	r2=$(cat "$TMP/sb.out")
	if [ -n "$r1" ] && [ "$r1" != "$r2" ]; then
		pass sandbox:run-random-differs
	else
		fail sandbox:run-random-differs "'$r1' and '$r2'"
	fi
	# The clock: set from the host's at the request, not the template's.
	sb_run -- date +%s
	local now
	now=$(date +%s)
	if [ "$RC" = 0 ] && [ $((now - $(cat "$TMP/sb.out"))) -le 30 ] && [ $((now - $(cat "$TMP/sb.out"))) -ge -5 ]; then
		pass sandbox:run-clock
	else
		fail sandbox:run-clock "guest '$(cat "$TMP/sb.out")', host $now"
	fi
	# The agent's connection handler killed under the command: no status ever comes.
	sb_run -- sh -c 'kill -9 $PPID; sleep 5'
	sb_expect run-agent-dies 125 '' 'closed the connection before'
	sb_check_clean run
}

sb_bad_templates() {
	local t=$TMP/sb-tmpl
	rm -rf "$t" && mkdir -p "$t"
	cp "$SB_TEMPLATE/manifest.json" "$SB_TEMPLATE/state" "$t/"
	ln -s "$SB_TEMPLATE/memory" "$t/memory"
	# A flipped byte in the middle of the state file: ember's checksum refuses it.
	printf '\xff\xfe' | dd of="$t/state" bs=1 seek=$(($(stat -c %s "$t/state") / 2)) conv=notrunc status=none
	TMPDIR=$TMPDIR_SB timeout 60 "$SANDBOX" run --template "$t" -- true >/dev/null 2>"$TMP/sb.err"
	RC=$?
	if [ $RC = 125 ] && grep -q "template $t: ember refused it (HTTP 400): .*\(checksum\|CRC\|crc\)" "$TMP/sb.err"; then
		pass sandbox:template-corrupt-refused
	else
		fail sandbox:template-corrupt-refused "status $RC: $(cat "$TMP/sb.err")"
	fi
	cp "$SB_TEMPLATE/state" "$t/state"
	sed -i 's/"ember_version": "[^"]*"/"ember_version": "ember v0.0.0-other"/' "$t/manifest.json"
	TMPDIR=$TMPDIR_SB timeout 60 "$SANDBOX" run --template "$t" -- true >/dev/null 2>"$TMP/sb.err"
	RC=$?
	if [ $RC = 125 ] && grep -q "manifest.json: made by ember v0.0.0-other, but .* is ember v" "$TMP/sb.err"; then
		pass sandbox:template-other-ember-refused
	else
		fail sandbox:template-other-ember-refused "status $RC: $(cat "$TMP/sb.err")"
	fi
	cp "$SB_TEMPLATE/manifest.json" "$t/manifest.json"
	rm "$t/memory"
	head -c 4096 /dev/zero >"$t/memory"
	TMPDIR=$TMPDIR_SB timeout 60 "$SANDBOX" run --template "$t" -- true >/dev/null 2>"$TMP/sb.err"
	RC=$?
	if [ $RC = 125 ] && grep -q "$t/memory: 4096 bytes, but the template's VM has" "$TMP/sb.err"; then
		pass sandbox:template-truncated-memory-refused
	else
		fail sandbox:template-truncated-memory-refused "status $RC: $(cat "$TMP/sb.err")"
	fi
	sb_check_clean template
}

# --- serve ---------------------------------------------------------------------------
SB_SOCK=$TMP/sb-serve.sock
sb_post() { # OUT BODY [CURL ARGS...]: the HTTP status on stdout, the body in OUT
	local out=$1 body=$2
	shift 2
	curl -s -o "$out" -w '%{http_code}' --unix-socket "$SB_SOCK" -X POST \
		-H 'Content-Type: application/json' -d "$body" "$@" http://localhost/v1/run
}
sb_json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }

sb_serve_start() { # ARGS...
	mkdir -p "$TMPDIR_SB"
	rm -f "$SB_SOCK"
	TMPDIR=$TMPDIR_SB "$SANDBOX" serve --template "$SB_TEMPLATE" --socket "$SB_SOCK" "$@" \
		2>"$TMP/sb-serve.err" &
	SB_PID=$!
	exit_hook_push "kill -KILL $SB_PID 2>/dev/null"
	for _ in $(seq 200); do
		[ -S "$SB_SOCK" ] && return 0
		sleep 0.05
	done
	return 1
}

sb_serve_stop() { # NAME: SIGTERM, wait, expect status 0
	kill -TERM "$SB_PID"
	local n=600
	while kill -0 "$SB_PID" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	wait "$SB_PID"
	local rc=$?
	exit_hook_pop
	if [ $rc = 0 ]; then
		pass "sandbox:$1:sigterm-exits-0"
	else
		fail "sandbox:$1:sigterm-exits-0" "status $rc: $(tail -n 3 "$TMP/sb-serve.err")"
	fi
	sb_check_clean "$1"
}

sb_serve_checks() {
	if ! sb_serve_start --max-concurrent 2 --queue 8; then
		fail sandbox:serve "no socket: $(cat "$TMP/sb-serve.err")"
		return
	fi
	local i code ok=0 uuids=()
	# Concurrent requests: each its own VM (its own random uuid, its own /tmp).
	for i in 1 2 3 4; do
		sb_post "$TMP/sb-c$i.json" "{\"cmd\": [\"sh\", \"-c\", \"test ! -e /tmp/mark && echo $i >/tmp/mark && cat /tmp/mark /proc/sys/kernel/random/uuid\"]}" \
			>"$TMP/sb-c$i.code" &
	done
	local p
	for p in $(jobs -p); do
		[ "$p" = "$SB_PID" ] || wait "$p"
	done
	for i in 1 2 3 4; do
		code=$(cat "$TMP/sb-c$i.code")
		if [ "$code" = 200 ] && [ "$(sb_json "$TMP/sb-c$i.json" 'd["exit_code"]')" = 0 ] &&
			[ "$(sb_json "$TMP/sb-c$i.json" 'd["stdout"].split()[0]')" = "$i" ]; then
			ok=$((ok + 1))
			uuids+=("$(sb_json "$TMP/sb-c$i.json" 'd["stdout"].split()[1]')")
		fi
	done
	if [ $ok = 4 ] && [ "$(printf '%s\n' "${uuids[@]}" | sort -u | wc -l)" = 4 ]; then
		pass sandbox:serve-concurrent
	else
		fail sandbox:serve-concurrent "$ok of 4 right; $(cat "$TMP"/sb-c1.code "$TMP"/sb-c1.json | head -c 300)"
	fi
	code=$(sb_post "$TMP/sb-s.json" '{"cmd": ["sh", "-c", "read x; echo \"$x:$V\"; printf \"\\377\" >&2"], "stdin": "in\n", "env": {"V": "v"}, "timeout_ms": 60000}')
	if [ "$code" = 200 ] && [ "$(sb_json "$TMP/sb-s.json" 'd["stdout"]')" = "in:v" ] &&
		[ "$(sb_json "$TMP/sb-s.json" 'd["stderr_encoding"] + " " + d["stderr"]')" = "base64 /w==" ] &&
		[ "$(sb_json "$TMP/sb-s.json" 'sorted(d["timings_ms"])')" = "['agent', 'exec', 'pooled', 'queue', 'restore', 'total']" ]; then
		pass sandbox:serve-stdin-env-base64
	else
		fail sandbox:serve-stdin-env-base64 "HTTP $code $(head -c 400 "$TMP/sb-s.json")"
	fi
	code=$(sb_post "$TMP/sb-t.json" '{"cmd": ["sleep", "60"], "timeout_ms": 2000}')
	if [ "$code" = 200 ] && [ "$(sb_json "$TMP/sb-t.json" 'd["timed_out"], d["exit_code"]')" = "(True, None)" ]; then
		pass sandbox:serve-timeout
	else
		fail sandbox:serve-timeout "HTTP $code $(head -c 300 "$TMP/sb-t.json")"
	fi
	local bad body want
	for bad in 'not json|the body is not JSON' '{}|cmd: a non-empty array' \
		'{"cmd": []}|cmd: a non-empty array' '{"cmd": ["x"], "env": {"A": 1}}|env.A: a string value' \
		'{"cmd": ["x"], "timeout_ms": 0}|timeout_ms: an integer' '{"cmd": ["x"], "bogus": 1}|unknown field \"bogus\"'; do
		body=${bad%|*} want=${bad#*|}
		code=$(sb_post "$TMP/sb-b.json" "$body")
		if [ "$code" != 400 ] || ! grep -qF "$want" "$TMP/sb-b.json"; then
			fail sandbox:serve-bad-requests "'$body': HTTP $code $(cat "$TMP/sb-b.json")"
			bad=
			break
		fi
	done
	[ -z "$bad" ] || pass sandbox:serve-bad-requests
	# A client that goes away mid-request: its VM is destroyed, the service goes on.
	curl -s -m 2 --unix-socket "$SB_SOCK" -X POST -d '{"cmd": ["sleep", "60"]}' http://localhost/v1/run >/dev/null 2>&1
	sleep 1
	code=$(sb_post "$TMP/sb-d.json" '{"cmd": ["echo", "after"]}')
	if [ "$code" = 200 ] && [ "$(sb_json "$TMP/sb-d.json" 'd["stdout"]')" = after ] &&
		[ -z "$(sb_leftovers)" ]; then
		pass sandbox:serve-client-disconnects
	else
		fail sandbox:serve-client-disconnects "HTTP $code $(head -c 300 "$TMP/sb-d.json"); left: $(sb_leftovers)"
	fi
	code=$(sb_post "$TMP/sb-a.json" '{"cmd": ["sh", "-c", "kill -9 $PPID; sleep 5"]}')
	if [ "$code" = 502 ] && grep -q 'closed the connection before' "$TMP/sb-a.json"; then
		pass sandbox:serve-agent-dies
	else
		fail sandbox:serve-agent-dies "HTTP $code $(head -c 300 "$TMP/sb-a.json")"
	fi
	curl -s --unix-socket "$SB_SOCK" http://localhost/v1/stats >"$TMP/sb-stats.json"
	if [ "$(sb_json "$TMP/sb-stats.json" 'd["completed"] >= 6 and d["bad_requests"] == 6 and d["cancelled"] == 1 and d["total_ms"]["p50"] > 0')" = True ]; then
		pass sandbox:serve-stats
	else
		fail sandbox:serve-stats "$(cat "$TMP/sb-stats.json")"
	fi
	# SIGTERM with a request running: it finishes and is answered, then the service exits.
	sb_post "$TMP/sb-g.json" '{"cmd": ["sh", "-c", "sleep 2; echo drained"]}' >"$TMP/sb-g.code" &
	local client=$!
	sleep 1
	sb_serve_stop serve
	wait $client
	if [ "$(cat "$TMP/sb-g.code")" = 200 ] && [ "$(sb_json "$TMP/sb-g.json" 'd["stdout"]')" = drained ]; then
		pass sandbox:serve-sigterm-drains
	else
		fail sandbox:serve-sigterm-drains "HTTP $(cat "$TMP/sb-g.code") $(head -c 300 "$TMP/sb-g.json")"
	fi
}

sb_queue_checks() {
	if ! sb_serve_start --max-concurrent 1 --queue 0 --pool 1; then
		fail sandbox:queue "no socket: $(cat "$TMP/sb-serve.err")"
		return
	fi
	sb_post "$TMP/sb-q1.json" '{"cmd": ["sleep", "3"]}' >"$TMP/sb-q1.code" &
	local first=$!
	sleep 1
	local code
	code=$(sb_post "$TMP/sb-q2.json" '{"cmd": ["true"]}')
	wait $first
	if [ "$code" = 503 ] && grep -q 'queue is full' "$TMP/sb-q2.json" && [ "$(cat "$TMP/sb-q1.code")" = 200 ]; then
		pass sandbox:queue-full-503
	else
		fail sandbox:queue-full-503 "second HTTP $code $(cat "$TMP/sb-q2.json"), first HTTP $(cat "$TMP/sb-q1.code")"
	fi
	sleep 1 # the pool restores its next clone
	code=$(sb_post "$TMP/sb-q3.json" '{"cmd": ["echo", "pooled"]}')
	if [ "$code" = 200 ] && [ "$(sb_json "$TMP/sb-q3.json" 'd["stdout"], d["timings_ms"]["pooled"]')" = "('pooled\n', True)" ]; then
		pass sandbox:pool
	else
		fail sandbox:pool "HTTP $code $(head -c 300 "$TMP/sb-q3.json")"
	fi
	sb_serve_stop queue
}

# --jail: a clone under ember-jailer, as uid 100000 and up, in a chroot beside the template.
sb_jail_checks() {
	if [ "$(id -u)" != 0 ]; then
		skip sandbox:jail "ember-jailer needs root"
		return
	fi
	mkdir -p "$TMPDIR_SB"
	TMPDIR=$TMPDIR_SB timeout 120 "$SANDBOX" run --jail --template "$SB_TEMPLATE" -- \
		sh -c 'sleep 1; echo jailed' >"$TMP/sb.out" 2>"$TMP/sb.err" &
	local pid=$! uid
	sleep 0.5
	uid=$(ps -o uid= -C ember -o cmd= 2>/dev/null | awk '/--api-sock \/run\/api.sock/ && $1 >= 100000 { print $1; exit }')
	wait $pid
	RC=$?
	if [ $RC = 0 ] && [ "$(cat "$TMP/sb.out")" = jailed ] && [ -n "$uid" ] &&
		[ -z "$(ls -A "$SB_TEMPLATE.jail/ember" 2>/dev/null)" ]; then
		pass sandbox:jail
	else
		fail sandbox:jail "status $RC, '$(cat "$TMP/sb.out")', ember uid '$uid', $(head -c 300 "$TMP/sb.err"), left: $(ls "$SB_TEMPLATE.jail/ember" 2>/dev/null)"
	fi
	sb_check_clean jail
}

if want sandbox:fuzz; then
	run_fuzzer sandbox:fuzz fuzz_sandbox 15
fi

if want_group sandbox && sb_ready; then
	if (cd "$ROOT" && make -s sandbox-template) >"$TMP/sb-template.log" 2>&1 &&
		[ -f "$SB_TEMPLATE/manifest.json" ]; then
		pass sandbox:template
		want sandbox:run && sb_run_checks
		want sandbox:template && sb_bad_templates
		want sandbox:serve && sb_serve_checks
		want sandbox:queue && sb_queue_checks
		want sandbox:jail && sb_jail_checks
	else
		fail sandbox:template "make sandbox-template: $(tail -n 5 "$TMP/sb-template.log")"
	fi
fi

suite_end
