#!/usr/bin/env bash
# bench/scale.sh - a VM's whole life against the floor, creation rate, density; ember next
# to QEMU microvm. Run by bench/run.sh (which passes BENCH_OUT, where every measurement's
# "metric min median max" file goes for bench/results.json), or alone after `make bench`.
#
#   RUNS=N            whole-life runs per VMM (default 20, + 1 warm-up)
#   RATE_JOBS="..."   creation rate: VMs in flight (default "1 2 4 8 16 32")
#   RATE_REPEATS=N    creation rate: repeats per point (default 3); each repeat runs
#                     max(20, 4 x jobs) VMs for ember, max(8, 2 x jobs) for QEMU
#   DENSITY=N         idle ember VMs at once (default 100; 0 skips); QEMU_DENSITY (default 10)
#   QEMU=P            the QEMU binary (default: qemu-system-x86_64 from PATH); QEMU= skips it
#
# 1. Whole life: build/guests/hello.elf from spawn to reap (firstbyte), ember against
#    build/bench/minvmm (bench/minvmm.c: KVM set-up, PVH entry, COM1, i8042; no IRQ chip),
#    given ember's own kernel command line so the guest prints the same bytes; minvmm -i adds
#    the in-kernel IRQ chip and PIT, whose teardown is what a VM fd's last close waits for.
#    build/musl/ember (`make musl`) is measured too when it exists.
# 2. Creation rate: build/bench/rate, whole runs of hello.elf per second, N in flight.
# 3. Density: build/bench/density, DENSITY idle VMs (build/bench/idle.elf, 1 vCPU, 128 MiB).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${RUNS:-20}
RATE_JOBS=${RATE_JOBS:-1 2 4 8 16 32}
RATE_REPEATS=${RATE_REPEATS:-3}
DENSITY=${DENSITY:-100}
QEMU_DENSITY=${QEMU_DENSITY:-10}
MEM_MIB=128
LIFE_TARGET=1.2
EMBER=$ROOT/build/ember
MUSL=$ROOT/build/musl/ember
B=$ROOT/build/bench
HELLO=$ROOT/build/guests/hello.elf
IDLE=$B/idle.elf

for v in RUNS RATE_REPEATS DENSITY QEMU_DENSITY; do
	if ! [[ ${!v} =~ ^[0-9]+$ ]] || ((${!v} > 100000)); then
		echo "bench/scale: $v=${!v}: expected a number" >&2
		exit 2
	fi
done
if ! [[ $RATE_JOBS =~ ^[0-9\ ]*$ ]]; then
	echo "bench/scale: RATE_JOBS=$RATE_JOBS: expected numbers separated by spaces" >&2
	exit 2
fi
for f in "$EMBER" "$B/firstbyte" "$B/minvmm" "$B/rate" "$B/density" "$HELLO" "$IDLE"; do
	if [ ! -f "$f" ]; then
		echo "bench/scale: $f is missing: run 'make bench'" >&2
		exit 2
	fi
done
if [ ! -e /dev/kvm ]; then
	echo "bench/scale: /dev/kvm is missing: nothing to measure (skipped)"
	exit 0
fi
QEMU=${QEMU-$(command -v qemu-system-x86_64 || true)}
TMP=$(mktemp -d /tmp/ember-scalebench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
OUT=${BENCH_OUT:-$TMP}
status=0

cfg() { # NAME KERNEL: an ember config file for KERNEL
	cat >"$TMP/$1.json" <<JSON
{ "boot-source": { "kernel_image_path": "$2", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM_MIB } }
JSON
}
cfg hello "$HELLO"
cfg idle "$IDLE"
qemu_cmd() { # KERNEL -> QEMU's words, one a line (as bench/run.sh)
	printf '%s\n' "$QEMU" -M microvm -enable-kvm -cpu qemu64 -m "$MEM_MIB" -nodefaults \
		-no-user-config -nographic -serial stdio -kernel "$1" -append console=ttyS0 \
		-no-reboot -device isa-debug-exit,iobase=0x64,iosize=1
}
# tool NAME PROGRAM ARGS...: runs a bench tool into $OUT/NAME.out; on failure says why.
tool() {
	local name=$1 prog=$2
	shift 2
	if "$prog" -2 "$TMP/$name.stderr" "$@" >"$OUT/$name.out" 2>"$TMP/$name.err"; then
		return 0
	fi
	echo "bench/scale: the $name measurement failed:" >&2
	grep -v '^density: [0-9]' "$TMP/$name.err" | sed 's/^/  /' >&2 || true
	tail -n 5 "$TMP/$name.stderr" 2>/dev/null | sed 's/^/  | /' >&2 || true
	status=1
	return 1
}
stat() { # NAME METRIC FIELD (2 min, 3 median, 4 max)
	[ -f "$OUT/$1.out" ] || return 0
	awk -v m="$2" -v f="$3" '$1 == m { print $f }' "$OUT/$1.out"
}
trio() { # NAME METRIC DECIMALS: "min median max" or dashes
	local a b c
	a=$(stat "$1" "$2" 2) b=$(stat "$1" "$2" 3) c=$(stat "$1" "$2" 4)
	if [ -z "$b" ]; then
		printf '%8s %8s %8s' - - -
	else
		printf "%8.${3}f %8.${3}f %8.${3}f" "$a" "$b" "$c"
	fi
}
ratio() { # A B: A / B, or -
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b + 0 <= 0) print "-"; else printf "%.2fx", a / b }'
}

# --- 1. whole life: ember against the floor ---
# Round after round, one run of each VMM (after one warm-up run each): the host's drift
# (other work, frequency, the kernel's deferred work) falls on all of them alike, which
# blocks of runs one VMM after another do not give. firstbyte -o keeps each run's figures.
life_run() { # NAME WARMUP LABEL COMMAND...: one run into $TMP/NAME.raw
	local name=$1 warm=$2 label=$3
	shift 3
	[ -f "$TMP/$name.failed" ] && return 0
	if ! "$B/firstbyte" -2 "$TMP/$name.stderr" -w "$warm" -n 1 -l "$label" -x 0 \
		-o "$TMP/$name.raw" -- "$@" >/dev/null 2>"$TMP/$name.err"; then
		echo "bench/scale: the $name measurement failed:" >&2
		sed 's/^/  /' "$TMP/$name.err" >&2
		tail -n 5 "$TMP/$name.stderr" 2>/dev/null | sed 's/^/  | /' >&2 || true
		touch "$TMP/$name.failed"
		status=1
	fi
}
life_stats() { # NAME LABEL: $TMP/NAME.raw as firstbyte prints its figures, into $OUT/NAME.out
	local col=1 m
	[ -s "$TMP/$1.raw" ] && [ ! -f "$TMP/$1.failed" ] || return 0
	{
		echo "# $2: $(wc -l <"$TMP/$1.raw") runs, interleaved with the other VMMs' (ms; KiB)"
		printf '%-20s %12s %12s %12s\n' "# metric" min median max
		for m in first-byte-ms total-ms cpu-ms peak-rss-kib; do
			cut -d' ' -f$col "$TMP/$1.raw" | sort -g | awk -v m=$m '{ v[NR] = $1 } END {
				med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
				printf "%-20s %12.2f %12.2f %12.2f\n", m, v[1], med, v[NR] }'
			col=$((col + 1))
		done
	} >"$OUT/$1.out"
}
cmdline=$("$EMBER" --no-api --config-file "$TMP/hello.json" 2>/dev/null | sed -n 's/^cmdline: //p')
echo "whole life: ${HELLO#"$ROOT"/}, spawn to reap, $RUNS runs (+1 warm-up) each, interleaved"
for ((i = 0; i < RUNS; i++)); do
	w=$((i == 0 ? 1 : 0))
	life_run ember-life $w ember "$EMBER" --no-api --config-file "$TMP/hello.json"
	life_run minvmm-start $w minvmm "$B/minvmm" -c "$cmdline" "$HELLO"
	life_run minvmmi-start $w minvmm-i "$B/minvmm" -i -c "$cmdline" "$HELLO"
	if [ -x "$MUSL" ]; then
		life_run musl-start $w ember-musl "$MUSL" --no-api --config-file "$TMP/hello.json"
	fi
done
life_stats ember-life ember
life_stats minvmm-start minvmm
life_stats minvmmi-start minvmm-i
life_stats musl-start ember-musl
if [ -x "$MUSL" ]; then
	tool musl-mem "$B/firstbyte" -n "$RUNS" -l ember-musl -x -15 -m READY -r "$MEM_MIB" -- \
		"$MUSL" --no-api --config-file "$TMP/idle.json" || true
fi
printf "%-24s %-26s | %-26s | %-26s | %-26s | %s\n" "" "   ember" "   minvmm (floor)" \
	"   minvmm -i (+IRQ chip, PIT)" "   ember, musl (make musl)" "ember/floor"
printf "%-24s %s | %s | %s | %s | %s\n" "metric" "     min   median      max" \
	"     min   median      max" "     min   median      max" "     min   median      max" \
	"(target <= ${LIFE_TARGET}x)"
printf '%.0s-' {1..150}
echo
for m in first-byte-ms:"first UART byte (ms)" total-ms:"spawn to reap (ms)" cpu-ms:"CPU time (ms)"; do
	r=$(ratio "$(stat ember-life "${m%%:*}" 3)" "$(stat minvmm-start "${m%%:*}" 3)")
	verdict=
	if [ "${m%%:*}" != first-byte-ms ] && [ "$r" != - ]; then
		verdict=$(awk -v r="${r%x}" -v t="$LIFE_TARGET" 'BEGIN { print (r <= t) ? "PASS" : "MISS" }')
	fi
	printf "%-24s %s | %s | %s | %s | %8s %s\n" "${m#*:}" "$(trio ember-life "${m%%:*}" 2)" \
		"$(trio minvmm-start "${m%%:*}" 2)" "$(trio minvmmi-start "${m%%:*}" 2)" \
		"$(trio musl-start "${m%%:*}" 2)" "$r" "$verdict"
done
if [ -f "$OUT/musl-mem.out" ]; then
	echo "ember (musl) overhead RSS while idle: $(trio musl-mem overhead-rss-kib 0) KiB" \
		"(min median max; glibc's is in the first table)"
fi
echo "floor: the same guest and command line under bench/minvmm.c (KVM set-up, PVH entry, COM1,"
echo "i8042 reset, no IRQ chip). minvmm -i has ember's IRQ chip and PIT, whose teardown waits"
echo "for SRCU grace periods when the VM fd closes (bench/README.md: what ember does about it)."

# --- 2. creation rate ---
echo
echo "creation rate: whole runs of ${HELLO#"$ROOT"/} per second, N in flight, $RATE_REPEATS repeats"
printf "%-10s %-26s %8s | %-26s %8s | %-26s %8s | %s\n" "" "   ember (runs/s)" "CPU ms" \
	"   QEMU microvm (runs/s)" "CPU ms" "   floor: minvmm (runs/s)" "CPU ms" "ember/QEMU"
printf "%-10s %s %8s | %s %8s | %s %8s |\n" "in flight" "     min   median      max" "median" \
	"     min   median      max" "median" "     min   median      max" "median"
printf '%.0s-' {1..140}
echo
if [ -n "$QEMU" ]; then
	mapfile -t qemu_hello < <(qemu_cmd "$HELLO")
fi
for j in $RATE_JOBS; do
	echo "bench/scale: creation rate, $j in flight ..." >&2
	n=$((4 * j > 20 ? 4 * j : 20))
	tool "rate-ember-j$j" "$B/rate" -j "$j" -n "$n" -r "$RATE_REPEATS" -- "$EMBER" --no-api \
		--config-file "$TMP/hello.json" || true
	# The floor: what this host gives a VMM that does nothing but run the guest.
	tool "rate-minvmm-j$j" "$B/rate" -j "$j" -n "$n" -r "$RATE_REPEATS" -- "$B/minvmm" \
		-c "$cmdline" "$HELLO" || true
	if [ -n "$QEMU" ]; then
		n=$((2 * j > 8 ? 2 * j : 8))
		tool "rate-qemu-j$j" "$B/rate" -j "$j" -n "$n" -r "$RATE_REPEATS" -x 253 -- \
			"${qemu_hello[@]}" || true
	fi
	printf "%-10s %s %8s | %s %8s | %s %8s | %s\n" "$j" "$(trio "rate-ember-j$j" rate-per-s 1)" \
		"$(stat "rate-ember-j$j" cpu-ms 3)" "$(trio "rate-qemu-j$j" rate-per-s 1)" \
		"$(stat "rate-qemu-j$j" cpu-ms 3)" "$(trio "rate-minvmm-j$j" rate-per-s 1)" \
		"$(stat "rate-minvmm-j$j" cpu-ms 3)" \
		"$(ratio "$(stat "rate-ember-j$j" rate-per-s 3)" "$(stat "rate-qemu-j$j" rate-per-s 3)")"
done

# --- 3. density ---
echo
if [ "$DENSITY" = 0 ]; then
	echo "density: skipped (DENSITY=0)"
else
	echo "density: idle VMs at once (${IDLE#"$ROOT"/}, 1 vCPU, $MEM_MIB MiB): ember $DENSITY," \
		"QEMU $([ -n "$QEMU" ] && echo "$QEMU_DENSITY" || echo skipped)"
	sleep 1 # the host settles after the rate runs
	echo "bench/scale: density, $DENSITY ember VMs ..." >&2
	tool density-ember "$B/density" -c "$DENSITY" -- "$EMBER" --no-api \
		--config-file "$TMP/idle.json" || true
	if [ -n "$QEMU" ] && [ "$QEMU_DENSITY" != 0 ]; then
		echo "bench/scale: density, $QEMU_DENSITY QEMU VMs ..." >&2
		mapfile -t qemu_idle < <(qemu_cmd "$IDLE")
		sleep 1
		tool density-qemu "$B/density" -c "$QEMU_DENSITY" -x 0 -- "${qemu_idle[@]}" || true
	fi
	printf "%-34s %12s %12s %10s\n" "metric (median over the VMs)" ember "QEMU" "QEMU/ember"
	printf '%.0s-' {1..72}
	echo
	for m in ready-count:"VMs READY" all-ready-ms:"spawn of the first to all READY (ms)" \
		pss-kib:"PSS per VM (KiB, whole process)" rss-kib:"RSS per VM (KiB)" \
		host-Slab-kib-per-vm:"host slab per VM (KiB)" \
		host-PageTables-kib-per-vm:"host page tables per VM (KiB)" \
		host-SecPageTables-kib-per-vm:"KVM sec. page tables/VM (KiB)" \
		host-KernelStack-kib-per-vm:"host kernel stacks per VM (KiB)" \
		host-MemAvailable-kib-per-vm:"MemAvailable drop per VM (KiB)"; do
		e=$(stat density-ember "${m%%:*}" 3) q=$(stat density-qemu "${m%%:*}" 3)
		r=$(ratio "$q" "$e")
		[ "${m%%:*}" = ready-count ] && r=
		printf "%-34s %12s %12s %10s\n" "${m#*:}" "${e:--}" "${q:--}" "$r"
	done
	echo "host figures: /proc/meminfo's change while the VMs idle, over the VMs READY (other"
	echo "processes on the host move them too: a loaded host makes them rough)."
	# Many VMs' teardown goes on in the host kernel after they are reaped (kernel workers:
	# seconds for 2,000 here); the device figures that follow would carry it.
	((DENSITY <= 200)) || sleep 5
fi
exit "$status"
