#!/usr/bin/env bash
# bench/devices.sh - device benchmarks, ember next to QEMU microvm on the same payloads:
#   1. VM exits handled per second: build/bench/exits.elf (50000 `outb` to port 0x80);
#   2. virtio-blk read throughput with 1 MiB requests: build/bench/blkread.elf reads a
#      64 MiB drive image whole, next to `dd` reading the same file on the host.
# Run by bench/run.sh at its end, or alone (after `make bench`). See bench/README.md.
#
#   DEV_RUNS=N  measured runs per VMM and payload (default 3 for exits, 3x that for block)
#   QEMU=P      the QEMU binary (default: qemu-system-x86_64 from PATH); QEMU= skips QEMU
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RUNS=${DEV_RUNS:-3}
MEM_MIB=128
EXITS=50000    # bench/exits.c's EXITS
DRIVE_MIB=64

EMBER=$ROOT/build/ember
FIRSTBYTE=$ROOT/build/bench/firstbyte
EXITS_ELF=$ROOT/build/bench/exits.elf
BLK_ELF=$ROOT/build/bench/blkread.elf

if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 1000)); then
	echo "bench/devices: DEV_RUNS=$RUNS: expected a number of runs from 1 to 1000" >&2
	exit 2
fi
for f in "$EMBER" "$FIRSTBYTE" "$EXITS_ELF" "$BLK_ELF"; do
	if [ ! -f "$f" ]; then
		echo "bench/devices: $f is missing: run 'make bench'" >&2
		exit 2
	fi
done
if [ ! -e /dev/kvm ]; then
	echo "bench/devices: /dev/kvm is missing: nothing to measure (skipped)"
	exit 0
fi
QEMU=${QEMU-$(command -v qemu-system-x86_64 || true)}
if [ -n "$QEMU" ] && ! command -v "$QEMU" >/dev/null; then
	echo "bench/devices: QEMU=$QEMU: no such program" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/ember-devbench.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
IMG=$TMP/drive.img
head -c $((DRIVE_MIB << 20)) /dev/urandom >"$IMG"

# ember_cfg NAME KERNEL ARGS [DRIVES-JSON]: writes $TMP/NAME.json
ember_cfg() {
	cat >"$TMP/$1.json" <<JSON
{
  "boot-source": { "kernel_image_path": "$2", "boot_args": "$3" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": $MEM_MIB }${4:+,
  $4}
}
JSON
}
drive() { # ENGINE: the "drives" member, read-only
	printf '"drives": [{"drive_id": "bench", "path_on_host": "%s", "is_root_device": false, "is_read_only": true, "cache_type": "Unsafe", "io_engine": "%s"}]' \
		"$IMG" "$1"
}
# qemu_cmd KERNEL ARGS [EXTRA...]: the command's words, one a line (as bench/run.sh's)
qemu_cmd() {
	local k=$1 a=$2
	shift 2
	printf '%s\n' "$QEMU" -M microvm -enable-kvm -cpu qemu64 -m "$MEM_MIB" -nodefaults \
		-no-user-config -nographic -serial stdio -kernel "$k" -append "$a" -no-reboot \
		-device isa-debug-exit,iobase=0x64,iosize=1 "$@"
}

# run NAME RUNS STATUS CMD...: median run-to-exit time (ms) on stdout; failure: says why
run() {
	local name=$1 n=$2 x=$3
	shift 3
	if ! "$FIRSTBYTE" -n "$n" -x "$x" -l "$name" -2 "$TMP/$name.stderr" -- "$@" \
		>"$TMP/$name.out" 2>"$TMP/$name.err"; then
		echo "bench/devices: the $name run failed:" >&2
		sed 's/^/  /' "$TMP/$name.err" >&2
		tail -n 5 "$TMP/$name.stderr" 2>/dev/null | sed 's/^/  | /' >&2
		return 1
	fi
	awk '$1 == "total-ms" { print $3 }' "$TMP/$name.out"
}

start_ns=$(date +%s%N)
echo
echo "ember device bench: median of $RUNS runs (exits) / $((3 * RUNS)) runs (block), +1 warm-up"
echo

# --- 1. exits per second ---
ember_cfg exits "$EXITS_ELF" "console=ttyS0"
ember_cfg exits0 "$EXITS_ELF" "console=ttyS0 n0"
e_full=$(run ember-exits "$RUNS" 0 "$EMBER" --no-api --config-file "$TMP/exits.json")
e_base=$(run ember-exits0 "$RUNS" 0 "$EMBER" --no-api --config-file "$TMP/exits0.json")
q_full='' q_base=''
if [ -n "$QEMU" ]; then
	mapfile -t c < <(qemu_cmd "$EXITS_ELF" "console=ttyS0")
	q_full=$(run qemu-exits "$RUNS" 253 "${c[@]}") || q_full=
	mapfile -t c < <(qemu_cmd "$EXITS_ELF" "console=ttyS0 n0")
	q_base=$(run qemu-exits0 "$RUNS" 253 "${c[@]}") || q_base=
fi
awk -v ef="$e_full" -v eb="$e_base" -v qf="$q_full" -v qb="$q_base" -v n="$EXITS" 'BEGIN {
	e = n / ((ef - eb) / 1000)
	printf "%-34s %12s %12s %10s\n", "", "ember", "QEMU", "ember/QEMU"
	printf "%-34s %12.1f %12s\n", "boot to reset, 50000 exits (ms)", ef, qf == "" ? "-" : sprintf("%.1f", qf)
	printf "%-34s %12.1f %12s\n", "boot to reset, no exits (ms)", eb, qb == "" ? "-" : sprintf("%.1f", qb)
	if (qf != "") {
		q = n / ((qf - qb) / 1000)
		printf "%-34s %12.0f %12.0f %9.2fx\n", "port-I/O exits per second", e, q, e / q
		printf "%-34s %12.1f %12.1f\n", "  us per exit", 1e6 / e, 1e6 / q
	} else {
		printf "%-34s %12.0f %12s\n", "port-I/O exits per second", e, "-"
		printf "%-34s %12.1f\n", "  us per exit", 1e6 / e
	}
}'
echo "outb to port 0x80 (ignored by both), in a 3-instruction guest loop: each exit is a round"
echo "trip guest -> KVM -> VMM (user space) -> guest, plus the interpreted loop on kvm_pvm."
echo

# --- 2. block throughput ---
BRUNS=$((3 * RUNS))
cat "$IMG" >/dev/null # warm the page cache: every reader below reads from it
ember_cfg blk "$BLK_ELF" "console=ttyS0" "$(drive Sync)"
ember_cfg blk0 "$BLK_ELF" "console=ttyS0 noread" "$(drive Sync)"
ember_cfg blka "$BLK_ELF" "console=ttyS0" "$(drive Async)"
eb_base=$(run ember-blk0 "$BRUNS" 0 "$EMBER" --no-api --config-file "$TMP/blk0.json")
eb_sync=$(run ember-blk "$BRUNS" 0 "$EMBER" --no-api --config-file "$TMP/blk.json")
eb_async=$(run ember-blka "$BRUNS" 0 "$EMBER" --no-api --config-file "$TMP/blka.json")
qb_full='' qb_base=''
if [ -n "$QEMU" ]; then
	qdrive=(-global virtio-mmio.force-legacy=false
		-drive "file=$IMG,if=none,id=d0,format=raw,readonly=on" -device "virtio-blk-device,drive=d0")
	mapfile -t c < <(qemu_cmd "$BLK_ELF" "console=ttyS0" "${qdrive[@]}")
	qb_full=$(run qemu-blk "$BRUNS" 253 "${c[@]}") || qb_full=
	mapfile -t c < <(qemu_cmd "$BLK_ELF" "console=ttyS0 noread" "${qdrive[@]}")
	qb_base=$(run qemu-blk0 "$BRUNS" 253 "${c[@]}") || qb_base=
fi
host=()
for ((i = 0; i < BRUNS; i++)); do
	t0=$(date +%s%N)
	dd if="$IMG" of=/dev/null bs=1M status=none
	host+=($((($(date +%s%N) - t0) / 1000)))
done
host_us=$(printf '%s\n' "${host[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
awk -v b="$eb_base" -v s="$eb_sync" -v a="$eb_async" -v qf="$qb_full" -v qb="$qb_base" \
	-v h="$host_us" -v mib="$DRIVE_MIB" 'BEGIN {
	bytes = mib * 1048576
	hm = bytes / (h / 1e6) / 1e6
	printf "%-34s %10s %10s %10s\n", "", "read (ms)", "MB/s", "vs host dd"
	printf "%-34s %10.2f %10.0f %9.2fx\n", "host: dd bs=1M (page cache)", h / 1000, hm, 1
	printf "%-34s %10.2f %10.0f %9.2fx\n", "ember, io_engine Sync", s - b, bytes / ((s - b) / 1000) / 1e6, (bytes / ((s - b) / 1000) / 1e6) / hm
	printf "%-34s %10.2f %10.0f %9.2fx\n", "ember, io_engine Async", a - b, bytes / ((a - b) / 1000) / 1e6, (bytes / ((a - b) / 1000) / 1e6) / hm
	if (qf != "") {
		q = bytes / ((qf - qb) / 1000) / 1e6
		printf "%-34s %10.2f %10.0f %9.2fx\n", "QEMU virtio-blk-device", qf - qb, q, q / hm
		printf "ember Sync / QEMU: %.2fx.", (bytes / ((s - b) / 1000) / 1e6) / q
	} else {
		printf "QEMU: skipped."
	}
	printf " Empty-boot baselines (device up, nothing read): ember %.2f ms, QEMU %s ms.\n", b, qb == "" ? "-" : qb
}'
echo "The guest reads the whole $DRIVE_MIB MiB drive in 1 MiB requests (one data descriptor each,"
echo "one request in flight); read time = median boot-to-reset minus the empty-boot median."
echo "Page cache warm in every case (the file is read once before, plus one warm-up run each)."
echo
echo "net throughput (TAP): not measured yet."
echo "device bench done in $((($(date +%s%N) - start_ns) / 1000000)) ms"
