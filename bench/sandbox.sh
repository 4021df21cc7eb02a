#!/usr/bin/env bash
# bench/sandbox.sh: what one ember-sandbox request costs, side by side in one run
# (README "The sandbox"). Needs the template (make sandbox-template).
#   1. `true` through `ember-sandbox run --verbose`, REPEAT times: restore (ember's start
#      and the snapshot load), agent round trip (vsock connect to the command's start),
#      exec (start to exit status), total (the whole command, process to process)
#   2. the service: REQUESTS requests of `true` from CLIENTS concurrent clients
#      (--max-concurrent CLIENTS, and again with --pool CLIENTS): requests per second
#      and the latency percentiles of GET /v1/stats
#   3. the baselines: booting a fresh VM per request (the template's own boot to the
#      agent's ready, from its manifest; BOOT=1 boots once more to measure it now), a
#      plain fork+exec of /bin/true on the host, and `docker run --rm` when docker runs
# Usage: bash bench/sandbox.sh [REPEAT (20)] [CLIENTS (2)] [REQUESTS (20)]
# Figures on kvm_pvm are dominated by the interpreted guest kernel (README, "The
# development host"): compare them with each other, not with hardware KVM.
set -euo pipefail
cd "$(dirname "$0")/.."
repeat=${1:-20}
clients=${2:-2}
requests=${3:-20}
sandbox=build/ember-sandbox
tmpl=build/sandbox/template
if [ ! -x "$sandbox" ] || [ ! -f "$tmpl/manifest.json" ]; then
	echo "bench/sandbox.sh: no template: make sandbox-template" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/ember-sbbench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$tmp"' EXIT
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) printf "%.2f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; else printf "-" }'; }

echo "ember-sandbox: $repeat requests of 'true' (run --verbose), medians in ms"
for _ in $(seq "$repeat"); do
	TMPDIR=$tmp "$sandbox" run --verbose --template "$tmpl" -- true 2>&1 >/dev/null |
		sed -n 's/^ember-sandbox: restore \([0-9.]*\) ms, agent \([0-9.]*\) ms, exec \([0-9.]*\) ms, total \([0-9.]*\) ms$/\1 \2 \3 \4/p'
done >"$tmp/run.txt"
[ -s "$tmp/run.txt" ] || {
	echo "bench/sandbox.sh: no timings from ember-sandbox run" >&2
	exit 1
}
printf '  %-28s %10s\n' "restore" "$(cut -d' ' -f1 "$tmp/run.txt" | median)" \
	"agent round trip" "$(cut -d' ' -f2 "$tmp/run.txt" | median)" \
	"exec (in the guest)" "$(cut -d' ' -f3 "$tmp/run.txt" | median)" \
	"total (run)" "$(cut -d' ' -f4 "$tmp/run.txt" | median)"
start=$(date +%s%N)
for _ in $(seq "$repeat"); do TMPDIR=$tmp "$sandbox" run --template "$tmpl" -- true; done
printf '  %-28s %10.2f\n' "wall per run (process)" "$(((($(date +%s%N) - start) / repeat) / 1000))e-3"

serve() { # LABEL ARGS...
	local label=$1 pid
	shift
	rm -f "$tmp/s.sock"
	TMPDIR=$tmp "$sandbox" serve --template "$tmpl" --socket "$tmp/s.sock" --queue 1024 "$@" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do [ -S "$tmp/s.sock" ] && break; sleep 0.05; done
	sleep 1 # a pool fills
	python3 - "$tmp/s.sock" "$clients" "$requests" "$label" <<'PY'
import json, socket, sys, threading, time
path, clients, total, label = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
def req(method, url, body=b""):
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall(b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (method, url, len(body)) + body)
    data = b""
    while True:
        b = s.recv(65536)
        if not b: break
        data += b
    s.close()
    return data.split(b"\r\n\r\n", 1)[1]
left = [total]; lock = threading.Lock(); bad = [0]
def worker():
    while True:
        with lock:
            if left[0] == 0: return
            left[0] -= 1
        d = json.loads(req(b"POST", b"/v1/run", b'{"cmd": ["true"]}'))
        if d.get("exit_code") != 0: bad[0] += 1
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(clients)]
[t.start() for t in ts]; [t.join() for t in ts]
dt = time.time() - t0
st = json.loads(req(b"GET", b"/v1/stats"))
p = st["total_ms"]; r = st["restore_ms"]
print("  %-28s %10.2f req/s  (total p50 %.1f p90 %.1f p99 %.1f ms; restore p50 %.1f ms; %d failed)"
      % (label, total / dt, p["p50"], p["p90"], p["p99"], r["p50"], bad[0]))
PY
	kill -TERM $pid
	wait $pid || true
}
echo "ember-sandbox serve: $requests requests of 'true' from $clients clients"
serve "restore per request" --max-concurrent "$clients"
serve "with --pool $clients" --max-concurrent "$clients" --pool "$clients"

echo "baselines"
boot=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["boot_seconds"])' "$tmpl/manifest.json")
printf '  %-28s %10s s  (the template build'"'"'s boot to agent ready)\n' "fresh boot per request" "$boot"
if [ -n "${BOOT:-}" ]; then
	start=$(date +%s)
	SANDBOX_REBUILD=1 bash linux-guest/sandbox/template.sh >/dev/null
	printf '  %-28s %10s s  (booted now)\n' "fresh boot per request" "$(($(date +%s) - start))"
fi
start=$(date +%s%N)
for _ in $(seq 200); do /bin/true; done
printf '  %-28s %10.3f ms\n' "fork+exec /bin/true (host)" "$(((($(date +%s%N) - start) / 200) / 1000))e-3"
if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
	start=$(date +%s%N)
	for _ in 1 2 3; do docker run --rm busybox true >/dev/null 2>&1; done
	printf '  %-28s %10.1f ms\n' "docker run --rm busybox true" "$(((($(date +%s%N) - start) / 3) / 1000))e-3"
else
	printf "  %-28s %10s\n" "docker run --rm" "(no docker daemon here)"
fi
