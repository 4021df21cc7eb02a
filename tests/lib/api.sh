# shellcheck shell=bash
# tests/lib/api.sh: ember serving its API on a Unix socket, and requests to it with
# curl and socat (after tests/lib/common.sh; sources tests/lib/vm.sh for wait_exit).
# For tests/api.sh and tests/metrics.sh.

# shellcheck source=tests/lib/vm.sh
source "$ROOT/tests/lib/vm.sh"

# api_start NAME [EMBER ARGS...]: ember serving $TMP/NAME.sock in the background,
# its console input a FIFO held open (silent until written to: >&$API_IN).
# Sets API_SOCK, API_PID, API_IN, API_OUT (stdout) and API_ERR (stderr).
api_start() {
	local name=$1
	shift
	API_SOCK=$TMP/$name.sock API_OUT=$TMP/$name.out API_ERR=$TMP/$name.err
	rm -f "$TMP/$name.in"
	mkfifo "$TMP/$name.in"
	exec {API_IN}<>"$TMP/$name.in"
	"$EMBER" --api-sock "$API_SOCK" "$@" <"$TMP/$name.in" >"$API_OUT" 2>"$API_ERR" &
	API_PID=$!
	for _ in $(seq 200); do
		[ -S "$API_SOCK" ] && return 0
		kill -0 $API_PID 2>/dev/null || break
		sleep 0.01
	done
	return 1
}

# api_stop: SIGTERM, then the status in RC ($KILLED_BY_TERM: killed by it, as Firecracker
# is); closes the console FIFO.
api_stop() {
	kill -TERM "$API_PID" 2>/dev/null
	wait_exit "$API_PID" 10
	exec {API_IN}>&-
}

# api_req METHOD PATH [BODY]: one request on $API_SOCK; sets CODE and RESP.
api_req() {
	local args=(-s --max-time 10 -o "$TMP/api.resp" -w '%{http_code}' --unix-socket "$API_SOCK"
		-X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	rm -f "$TMP/api.resp"
	CODE=$(curl "${args[@]}" "http://localhost$2")
	RESP=$(cat "$TMP/api.resp" 2>/dev/null)
}

# expect_api NAME METHOD PATH BODY|- STATUS REGEX: one request, its status and body checked.
expect_api() {
	local name=$1 method=$2 path=$3 body=$4 status=$5 regex=$6
	if [ "$body" = - ]; then api_req "$method" "$path"; else api_req "$method" "$path" "$body"; fi
	if [ "$CODE" != "$status" ]; then
		fail "$name" "$method $path: status $CODE, expected $status: $RESP"
		return 1
	elif ! grep -Eq -- "$regex" <<<"$RESP"; then
		fail "$name" "$method $path: body does not match /$regex/: $RESP"
		return 1
	fi
	return 0
}

# fifo_drain FIFO: what is in the named pipe now, read without waiting for more
# (a reader that comes late, as firecracker-go-sdk's).
fifo_drain() {
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
while True:
    try:
        b = os.read(fd, 65536)
    except BlockingIOError:
        break
    if not b:
        break
    sys.stdout.buffer.write(b)' "$1"
}

# raw_http: stdin's bytes on one connection to $API_SOCK; prints what comes back.
raw_http() {
	timeout 10 socat -t 2 - "UNIX-CONNECT:$API_SOCK" 2>/dev/null
}
