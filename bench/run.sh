#!/usr/bin/env bash
# bench/run.sh - ember's startup time and memory overhead, side by side with QEMU microvm
# running the same payloads. `make bench` builds everything and runs this.
#
#   RUNS=N   measured runs per VMM and measurement (default 20; plus one warm-up run each)
#   QEMU=P   the QEMU binary (default: qemu-system-x86_64 from PATH); QEMU= skips QEMU
#   CHECK=1  exit 2 when ember misses a target (default: report only, exit 0)
#   JSON=P   where every figure goes as JSON (default bench/results.json)
#   bench/scale.sh's RATE_JOBS, RATE_REPEATS, DENSITY, QEMU_DENSITY: whole life against
#   bench/minvmm.c, creation rate and density (see that script)
#   SNAP_RUNS=N  bench/snapshot.py's restores per variant (default RUNS, at most 10); its
#   SIZES and CLONES too
# It ends with one table of the headline figures, ember beside QEMU (bench/summary.py).
#
# Startup: build/guests/hello.elf (prints a few lines, then resets the VM), timed from the
# spawn of the VMM to the first byte on its stdout (the guest's UART), and to its exit.
# Memory: build/bench/idle.elf (prints READY, then halts for good), measured from
# /proc/PID/smaps once READY is out, then the VMM gets SIGTERM.
# Jail (root only): the startup run through build/ember-jailer (a fresh copy of ember, a
# mount namespace, pivot_root, device nodes, uid 65534 with no capabilities) next to ember alone.
# API (ember only): build/bench/apibench spawns ember with --api-sock and polls connect()
# to time process start to the socket accepting; then GET / and PUT /machine-config
# latency on one keep-alive connection (API_REQS each, default 2000). See bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${RUNS:-20}
CHECK=${CHECK:-0}
JSON=${JSON:-$ROOT/bench/results.json}
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
MEM_MIB=128
FIRST_BYTE_TARGET_MS=3
OVERHEAD_TARGET_KIB=1024
API_TARGET_MS=1
API_REQS=${API_REQS:-2000}
SNAP_RUNS=${SNAP_RUNS:-$((RUNS < 10 ? RUNS : 10))}

EMBER=$ROOT/build/ember
FIRSTBYTE=$ROOT/build/bench/firstbyte
APIBENCH=$ROOT/build/bench/apibench
HELLO=$ROOT/build/guests/hello.elf
IDLE=$ROOT/build/bench/idle.elf

if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 10000)); then
	echo "bench: RUNS=$RUNS: expected a number of runs from 1 to 10000" >&2
	exit 2
fi
if ! [[ $API_REQS =~ ^[0-9]+$ ]] || ((API_REQS > 1000000)); then
	echo "bench: API_REQS=$API_REQS: expected a number of requests from 0 to 1000000" >&2
	exit 2
fi
for f in "$EMBER" "$FIRSTBYTE" "$APIBENCH" "$HELLO" "$IDLE"; do
	if [ ! -f "$f" ]; then
		echo "bench: $f is missing: run 'make bench' (it builds ember, the guests and the" \
			"bench tools)" >&2
		exit 2
	fi
done
if [ ! -e /dev/kvm ]; then
	echo "bench: /dev/kvm is missing: no KVM on this host, nothing to measure (skipped)"
	exit 0
fi
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "bench: /dev/kvm is not readable and writable by $(id -un): cannot run VMs" >&2
	exit 2
fi
QEMU=${QEMU-$(command -v qemu-system-x86_64 || true)}
if [ -n "$QEMU" ] && ! command -v "$QEMU" >/dev/null; then
	echo "bench: QEMU=$QEMU: no such program" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/ember-bench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

vm_config() { # KERNEL -> prints the path of an ember config that boots it
	local cfg
	cfg=$TMP/$(basename "$1" .elf).json
	cat >"$cfg" <<JSON
{
  "boot-source": { "kernel_image_path": "$1", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM_MIB }
}
JSON
	echo "$cfg"
}
HELLO_CFG=$(vm_config "$HELLO")
IDLE_CFG=$(vm_config "$IDLE")

# QEMU microvm on the same payload (PVH entry; its 8250 is COM1). microvm has no i8042:
# isa-debug-exit on port 0x64 turns the payload's reset write (0xfe) into exit status
# (0xfe << 1) | 1 = 253.
qemu_cmd() { # KERNEL -> the command's words, one a line
	printf '%s\n' "$QEMU" -M microvm -enable-kvm -cpu qemu64 -m "$MEM_MIB" -nodefaults \
		-no-user-config -nographic -serial stdio -kernel "$1" -append console=ttyS0 \
		-no-reboot -device isa-debug-exit,iobase=0x64,iosize=1
}

# measure NAME FIRSTBYTE-ARGS... : results in $TMP/NAME.out; on failure, says why.
measure() {
	local name=$1
	shift
	if "$FIRSTBYTE" -2 "$TMP/$name.stderr" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
		return 0
	fi
	echo "bench: the $name measurement failed:" >&2
	sed 's/^/  /' "$TMP/$name.err" >&2
	if [ -s "$TMP/$name.stderr" ]; then
		echo "  the VMM's stderr (that run):" >&2
		tail -n 15 "$TMP/$name.stderr" | sed 's/^/  | /' >&2
	fi
	rm -f "$TMP/$name.out"
	echo >&2
	return 1
}

# stat NAME METRIC FIELD: FIELD 2 = min, 3 = median, 4 = max; empty when not measured.
stat() {
	[ -f "$TMP/$1.out" ] || return 0
	awk -v m="$2" -v f="$3" '$1 == m { print $f }' "$TMP/$1.out"
}

start_ns=$(date +%s%N)
qemu_version=
if [ -n "$QEMU" ]; then
	qemu_version=$("$QEMU" --version 2>/dev/null | head -n 1 || true)
fi
pvm=
if [ -d /sys/module/kvm_pvm ]; then
	pvm=", kvm_pvm (nested)"
fi
echo "ember bench: $RUNS runs per measurement (+1 warm-up), 1 vCPU, $MEM_MIB MiB guest RAM"
echo "  startup payload: ${HELLO#"$ROOT"/} (prints, then resets: ember exits 0, QEMU 253)"
echo "  memory payload:  ${IDLE#"$ROOT"/} (prints READY, then cli; hlt until SIGTERM)"
echo "  ember: ${EMBER#"$ROOT"/}"
echo "  QEMU:  ${QEMU:-not found}${qemu_version:+ ($qemu_version)}"
echo "  host:  Linux $(uname -r), $(nproc) CPUs$pvm"
echo

status=0
measure ember-start -n "$RUNS" -l ember -x 0 -- "$EMBER" --no-api --config-file "$HELLO_CFG" ||
	exit 1
measure ember-mem -n "$RUNS" -l ember -x -15 -m READY -r "$MEM_MIB" -b 10 -- \
	"$EMBER" --no-api --config-file "$IDLE_CFG" || exit 1
measure floor -n "$RUNS" -l /bin/echo -x 0 -- /bin/echo x || true
# The jail's cost: the same payload through ember-jailer. Its root holds the payload and
# its configuration (paths inside the jail); -p removes what the previous run's jailer put
# there (the copy of ember, the pid file, /dev, /run), untimed.
JAILER=$ROOT/build/ember-jailer
JAIL_ROOT=$TMP/jails/ember/bench/root
if [ "$(id -u)" != 0 ]; then
	jail_state="skipped: ember-jailer needs root"
elif [ ! -x "$JAILER" ]; then
	jail_state="skipped: ${JAILER#"$ROOT"/} is missing (make bench builds it)"
else
	mkdir -p "$JAIL_ROOT"
	cp "$HELLO" "$JAIL_ROOT/hello.elf"
	sed "s|$HELLO|/hello.elf|" "$HELLO_CFG" >"$JAIL_ROOT/hello.json"
	chmod 644 "$JAIL_ROOT/hello.elf" "$JAIL_ROOT/hello.json"
	jail_state="ember-jailer --uid 65534 --gid 65534, no cgroups, then the same ember"
	if ! measure ember-jail -n "$RUNS" -l ember-jailer -x 0 \
		-p "rm -rf '$JAIL_ROOT/ember' '$JAIL_ROOT/ember.pid' '$JAIL_ROOT/dev' '$JAIL_ROOT/run'" \
		-- "$JAILER" --id bench --exec-file "$EMBER" --uid 65534 --gid 65534 \
		--chroot-base-dir "$TMP/jails" -- --no-api --config-file /hello.json; then
		jail_state="failed (see above)"
		status=1
	fi
fi
if [ -z "$QEMU" ]; then
	qemu_state="skipped (no qemu-system-x86_64, or QEMU= given): ember's figures only"
else
	mapfile -t qemu_hello < <(qemu_cmd "$HELLO")
	mapfile -t qemu_idle < <(qemu_cmd "$IDLE")
	qemu_state="same payloads, same runs; QEMU exits 253 on the reset, 0 on SIGTERM"
	if ! measure qemu-start -n "$RUNS" -l qemu -x 253 -- "${qemu_hello[@]}" ||
		! measure qemu-mem -n "$RUNS" -l qemu -x 0 -m READY -r "$MEM_MIB" -- "${qemu_idle[@]}"; then
		qemu_state="failed (see above): ember's figures only"
		rm -f "$TMP/qemu-start.out" "$TMP/qemu-mem.out"
		status=1
	fi
fi

# row LABEL NAME METRIC DECIMALS [TARGET UNIT]: one table line; ember's median gets PASS or
# MISS against TARGET.
row() {
	local label=$1 name=$2 metric=$3 dec=$4 target=${5:-} unit=${6:-}
	awk -v label="$label" -v dec="$dec" -v target="$target" -v unit="$unit" \
		-v e1="$(stat "ember-$name" "$metric" 2)" -v e2="$(stat "ember-$name" "$metric" 3)" \
		-v e3="$(stat "ember-$name" "$metric" 4)" -v q1="$(stat "qemu-$name" "$metric" 2)" \
		-v q2="$(stat "qemu-$name" "$metric" 3)" -v q3="$(stat "qemu-$name" "$metric" 4)" '
	function trio(a, b, c) {
		if (a == "")
			return sprintf("%26s", "-")
		return sprintf("%8." dec "f %8." dec "f %8." dec "f", a, b, c)
	}
	BEGIN {
		ratio = (q2 != "" && e2 + 0 > 0) ? sprintf("%7.1fx", q2 / e2) : sprintf("%8s", "-")
		verdict = ""
		if (target != "")
			verdict = sprintf("<= %s %s: %s", target, unit, (e2 + 0 <= target + 0) ? "PASS" : "MISS")
		line = sprintf("%-27s %s | %s | %s  %s", label, trio(e1, e2, e3), trio(q1, q2, q3), ratio, verdict)
		sub(/ +$/, "", line)
		print line
	}'
}
rule() {
	printf '%.0s-' {1..118}
	echo
}

printf "%-27s %-26s | %-26s | %8s  %s\n" "" "   ember" "   QEMU microvm" "ratio" "target"
printf "%-27s %8s %8s %8s | %8s %8s %8s | %8s  %s\n" "metric" min median max min median max \
	"QEMU/emb" "(ember median)"
rule
row "first UART byte (ms)" start first-byte-ms 2 "$FIRST_BYTE_TARGET_MS" ms
row "run to exit, hello (ms)" start total-ms 2
row "CPU time per run (ms)" start cpu-ms 2
row "overhead RSS (KiB)" mem overhead-rss-kib 0 "$OVERHEAD_TARGET_KIB" KiB
row "  anonymous (KiB)" mem overhead-anon-kib 0
row "  file-backed (KiB)" mem overhead-file-kib 0
row "overhead PSS (KiB)" mem overhead-pss-kib 0
row "guest-touched RSS (KiB)" mem guest-rss-kib 0
row "first byte, idle.elf (ms)" mem first-byte-ms 2
rule
echo "first byte: from spawning the VMM to its first stdout byte. overhead: total Rss"
echo "(smaps_rollup) minus the Rss of the ${MEM_MIB} MiB anonymous guest RAM mapping, once the"
echo "guest idles. ratio: QEMU median / ember median. PASS/MISS: ember's median vs the target."
echo "QEMU: $qemu_state."
floor=$(stat floor first-byte-ms 3)
if [ -n "$floor" ]; then
	echo "spawn + exec floor: /bin/echo's first byte comes after $floor ms (median)."
fi

# --- the jail's cost: ember-jailer + ember vs ember alone, same payload ---
echo
echo "jail: ${HELLO#"$ROOT"/} through ${JAILER#"$ROOT"/} vs ember alone ($jail_state)"
if [ -f "$TMP/ember-jail.out" ]; then
	printf "%-27s %8s | %8s %8s %8s | %8s\n" "metric (ms)" "ember" "jailed" "" "" "jail's"
	printf "%-27s %8s | %8s %8s %8s | %8s\n" "" median min median max "cost"
	printf '%.0s-' {1..78}
	echo
	for m in first-byte-ms:"first UART byte" total-ms:"run to exit, hello" cpu-ms:"CPU time per run"; do
		awk -v label="${m#*:}" -v e="$(stat ember-start "${m%%:*}" 3)" \
			-v a="$(stat ember-jail "${m%%:*}" 2)" -v b="$(stat ember-jail "${m%%:*}" 3)" \
			-v c="$(stat ember-jail "${m%%:*}" 4)" \
			'BEGIN { printf "%-27s %8.2f | %8.2f %8.2f %8.2f | %+8.2f\n", label, e, a, b, c, b - e }'
	done
	echo "cost: jailed median minus ember's. CPU time is the jailer's and ember's together (the"
	echo "jailer execs ember in its own process)."
fi

if grep -q '^#  ' "$TMP/ember-mem.out"; then
	echo
	echo "ember's resident memory by mapping (last memory run, KiB, guest RAM excluded):"
	grep '^#  ' "$TMP/ember-mem.out" | sed 's/^#//'
fi

# --- API: process start to the socket accepting, and request latency (ember only) ---
# apistat METRIC FIELD: from apibench's output (2 = min, 3 = median or p50, 4 = max or p99).
apistat() {
	[ -f "$TMP/api.out" ] || return 0
	awk -v m="$1" -v f="$2" '$1 == m { print $f }' "$TMP/api.out"
}
echo
echo "API: ${APIBENCH#"$ROOT"/} spawns ember --api-sock and polls connect() on the path in a"
echo "tight loop ($RUNS runs, +1 warm-up; apibench on one CPU, ember on another); the floors are"
echo "the same spawns timed to the program's first stdout byte."
api_ok=0
if "$APIBENCH" -n "$RUNS" -r "$API_REQS" -s "$TMP/api.sock" -2 "$TMP/api.stderr" \
	-F "$EMBER --version" -F "/bin/echo x" -- "$EMBER" --api-sock "$TMP/api.sock" \
	>"$TMP/api.out" 2>"$TMP/api.err"; then
	api_ok=1
else
	echo "bench: the API measurement failed:" >&2
	sed 's/^/  /' "$TMP/api.err" >&2
	if [ -s "$TMP/api.stderr" ]; then
		echo "  ember's stderr (that run):" >&2
		tail -n 15 "$TMP/api.stderr" | sed 's/^/  | /' >&2
	fi
	rm -f "$TMP/api.out"
	status=1
fi
if [ "$api_ok" = 1 ]; then
	# api_row LABEL METRIC [TARGET]: min median max in ms; PASS/MISS on the median.
	api_row() {
		awk -v label="$1" -v target="${3:-}" -v a="$(apistat "$2" 2)" -v b="$(apistat "$2" 3)" \
			-v c="$(apistat "$2" 4)" 'BEGIN {
			v = target == "" ? "" : sprintf("<= %s ms: %s", target, (b + 0 <= target + 0) ? "PASS" : "MISS")
			line = sprintf("%-36s %8.3f %8.3f %8.3f  %s", label, a, b, c, v)
			sub(/ +$/, "", line)
			print line
		}'
	}
	printf "%-36s %8s %8s %8s  %s
" "start-up (ms)" min median max "target (median)"
	printf '%.0s-' {1..84}
	echo
	api_row "spawn to API socket accepting" connect-ms "$API_TARGET_MS"
	api_row "spawn to first GET / answered" first-response-ms
	api_row "floor: ember --version (static)" floor1-ms
	api_row "floor: /bin/echo x (dynamic)" floor2-ms
	awk -v c="$(apistat connect-ms 3)" -v f="$(apistat floor1-ms 3)" 'BEGIN {
		if (c + 0 <= 0)
			exit
		own = c - f
		if (own < 0)
			own = 0
		printf "spawn + exec floor: the same static binary reaches its first output (--version) after\n"
		printf "%.3f ms (median), %.0f%% of the %.3f ms to accepting; the work ember does before accepting\n", f, 100 * f / c, c
		printf "is at most the difference, %.3f ms (ember logs its own figure: \"accepting N us after start\").\n", own
	}'
	if [ "$API_REQS" -gt 0 ]; then
		echo
		printf "%-36s %8s %8s %8s %8s\n" "latency, one keep-alive conn. (us)" min p50 p99 max
		printf '%.0s-' {1..84}
		echo
		for m in get-root-us:"GET / (200)" put-machine-config-us:"PUT /machine-config (204)"; do
			awk -v label="${m#*:}" -v a="$(apistat "${m%%:*}" 2)" -v b="$(apistat "${m%%:*}" 3)" \
				-v c="$(apistat "${m%%:*}" 4)" -v d="$(apistat "${m%%:*}" 5)" \
				'BEGIN { printf "%-36s %8.1f %8.1f %8.1f %8.1f\n", label, a, b, c, d }'
		done
		echo "$API_REQS requests each after $((API_REQS / 10 > 0 ? API_REQS / 10 : 1)) warm-up ones," \
			"each response read whole before the next request (build/bench/apibench)."
	fi
fi

# whole life against bench/minvmm.c, creation rate, density (bench/scale.sh)
echo
BENCH_OUT=$TMP QEMU=$QEMU RUNS=$RUNS bash "$ROOT/bench/scale.sh" || status=1
echo
BENCH_OUT=$TMP QEMU=$QEMU bash "$ROOT/bench/devices.sh" || status=1 # exits/s, block MB/s (bench/README.md)
echo
# snapshots: create, restore, clones, beside QEMU's migration to a file (bench/snapshot.py)
echo "snapshots: bench/snapshot.py (build/bench/ticker.elf), $SNAP_RUNS runs each"
BENCH_OUT=$TMP QEMU=$QEMU RUNS=$SNAP_RUNS EMBER=$EMBER python3 "$ROOT/bench/snapshot.py" || status=1

# Every measurement's "metric min median max" lines, as JSON (bench/README.md).
python3 - "$TMP" "$JSON" "$RUNS" "$LOAD_START" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY' || status=1
import glob, json, os, platform, sys, time
tmp, path, runs, load0, load1 = sys.argv[1:]
res = {}
for f in sorted(glob.glob(os.path.join(tmp, "*.out"))):
    m = {}
    for line in open(f):
        w = line.split()
        if len(w) >= 4 and not w[0].startswith("#"):
            try:
                if len(w) >= 5:  # apibench's latency: min p50 p99 max
                    m[w[0]] = {"min": float(w[1]), "median": float(w[2]), "p99": float(w[3]),
                               "max": float(w[4])}
                else:
                    m[w[0]] = {"min": float(w[1]), "median": float(w[2]), "max": float(w[3])}
            except ValueError:
                pass
    if m:
        res[os.path.basename(f)[:-4]] = m
doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "host": platform.node(),
       "kernel": platform.release(), "cpus": os.cpu_count(), "runs": int(runs),
       "loadavg_start": load0, "loadavg_end": load1,
       "kvm_pvm": os.path.isdir("/sys/module/kvm_pvm"), "measurements": res}
with open(path, "w") as out:
    json.dump(doc, out, indent=1, sort_keys=True)
    out.write("\n")
print("bench: every figure above, as JSON: %s (load average %s at the start, %s at the end)"
      % (path, load0, load1))
PY

# The one table: every section's headline figures, ember beside QEMU (bench/summary.py).
echo
python3 "$ROOT/bench/summary.py" "$JSON" || status=1

missed=$(awk -v f="$(stat ember-start first-byte-ms 3)" -v o="$(stat ember-mem overhead-rss-kib 3)" \
	-v a="$(apistat connect-ms 3)" -v tf="$FIRST_BYTE_TARGET_MS" -v to="$OVERHEAD_TARGET_KIB" \
	-v ta="$API_TARGET_MS" 'BEGIN { print (f > tf) + (o > to) + (a == "" || a > ta) }')
echo
echo "bench done in $((($(date +%s%N) - start_ns) / 1000000)) ms; ember missed $missed of 3 targets."
if [ "$CHECK" = 1 ] && [ "$missed" != 0 ] && [ "$status" = 0 ]; then
	status=2
fi
exit "$status"
