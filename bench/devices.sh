#!/usr/bin/env bash
# bench/devices.sh - device benchmarks, ember next to QEMU microvm on the same payloads:
#   1. VM exits handled per second: build/bench/exits.elf (50000 `outb` to port 0x80);
#   2. virtio-blk read throughput with 1 MiB requests: build/bench/blkread.elf reads a
#      64 MiB drive image whole, next to `dd` reading the same file on the host;
#   3. virtio-net throughput through a TAP: build/bench/netbench.elf sends MTU frames and
#      64 KiB GSO frames, and receives MTU frames, in a network namespace of the bench's own,
#      next to a host process writing (reading) the same frames to (from) the same TAP
#      (build/bench/nethost); needs root and /dev/net/tun, else that part says why it skipped.
# Run by bench/run.sh at its end, or alone (after `make bench`). See bench/README.md.
#
#   DEV_RUNS=N  measured runs per VMM and payload (default 3 for exits, 3x that for block, net)
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
NET_ELF=$ROOT/build/bench/netbench.elf
NETHOST=$ROOT/build/bench/nethost

if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 1 || RUNS > 1000)); then
	echo "bench/devices: DEV_RUNS=$RUNS: expected a number of runs from 1 to 1000" >&2
	exit 2
fi
for f in "$EMBER" "$FIRSTBYTE" "$EXITS_ELF" "$BLK_ELF" "$NET_ELF" "$NETHOST"; do
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
NET_NS=ember-devbench-$$ # the net part's namespace (and its TAP), removed on every exit
NET_NS_MADE=0
SENDER_PID=
cleanup() {
	if [ -n "${BENCH_OUT:-}" ]; then # bench/run.sh's JSON: the runs' figures, named dev-*
		for f in "$TMP"/*.out; do
			[ -f "$f" ] && cp "$f" "$BENCH_OUT/dev-$(basename "$f")"
		done
	fi
	if [ -n "$SENDER_PID" ]; then
		kill "$SENDER_PID" 2>/dev/null || true
		wait "$SENDER_PID" 2>/dev/null || true
	fi
	if [ "$NET_NS_MADE" = 1 ]; then
		ip netns del "$NET_NS" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT # through the EXIT trap
trap 'exit 143' TERM
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

# run NAME RUNS STATUS CMD...: median run-to-exit time (ms) on stdout; failure: says why.
# With RUN_NS set, firstbyte runs in that network namespace; with RUN_EXPECT, every run's
# output must contain it (firstbyte -e).
run() {
	local name=$1 n=$2 x=$3 pre=() opt=()
	shift 3
	if [ -n "${RUN_NS:-}" ]; then pre=(ip netns exec "$RUN_NS"); fi
	if [ -n "${RUN_EXPECT:-}" ]; then opt=(-e "$RUN_EXPECT"); fi
	if ! "${pre[@]}" "$FIRSTBYTE" "${opt[@]}" -n "$n" -x "$x" -l "$name" -2 "$TMP/$name.stderr" \
		-- "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; then
		echo "bench/devices: the $name run failed:" >&2
		sed 's/^/  /' "$TMP/$name.err" >&2
		tail -n 5 "$TMP/$name.stderr" 2>/dev/null | sed 's/^/  | /' >&2
		return 1
	fi
	awk '$1 == "total-ms" { print $3 }' "$TMP/$name.out"
}

start_ns=$(date +%s%N)
echo
echo "ember device bench: median of $RUNS runs (exits) / $((3 * RUNS)) runs (block, net), +1 warm-up"
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

# --- 3. net throughput through a TAP ---
NET_TAP=embbench0
NET_MAC=06:00:0a:00:02:02 # bench/netframe.h's NETFRAME_GUEST_MAC
MTU_LEN=1514              # bench/netframe.h's NETFRAME_MTU_LEN
GSO_LEN=65524             # NETFRAME_GSO_LEN: header + frame = 64 KiB
TX_FRAMES=177320          # bench/netbench.c's TX_FRAMES, GSO_FRAMES, RX_FRAMES
GSO_FRAMES=65536
RX_FRAMES=88660
NRUNS=$((3 * RUNS))

# shellcheck source=scripts/lib/netns.sh
source "$ROOT/scripts/lib/netns.sh"

# The namespace and its TAP (up, no address); prints why not on failure.
net_setup() {
	local why
	why=$(netns_unavailable)
	if [ -n "$why" ]; then
		echo "$why"
		return 1
	fi
	NET_NS_MADE=1
	netns_tap_add "$NET_NS" "$NET_TAP"
}
tap_stat() { # NAME: the TAP's counter (statistics/NAME), read inside the namespace
	ip netns exec "$NET_NS" cat "/sys/class/net/$NET_TAP/statistics/$1"
}
# tx_run NAME FRAMES LEN STATUS CMD...: run (in the namespace), then check that the TAP got
# exactly (NRUNS + 1) x FRAMES frames of LEN bytes (rx on the TAP: what the VMM wrote to it).
# Status 1: a run failed (said why); 2: the frames did not arrive (said so).
tx_run() {
	local name=$1 frames=$2 len=$3 x=$4 b0 p0 b p t want
	shift 4
	b0=$(tap_stat rx_bytes)
	p0=$(tap_stat rx_packets)
	t=$(RUN_NS=$NET_NS RUN_EXPECT="netbench: tx $frames frames of $len bytes" \
		run "$name" "$NRUNS" "$x" "$@") || return 1
	b=$(($(tap_stat rx_bytes) - b0))
	p=$(($(tap_stat rx_packets) - p0))
	want=$(((NRUNS + 1) * frames))
	if [ "$p" != "$want" ] || [ "$b" != $((want * len)) ]; then
		echo "bench/devices: $name: the TAP counted $p frames, $b bytes; expected $want" \
			"frames, $((want * len)) bytes ($((NRUNS + 1)) runs of $frames x $len)" >&2
		return 2
	fi
	echo "$t"
}
# rx_run NAME STATUS CMD...: run (in the namespace, the sender running), then check that the
# TAP handed its reader at least (NRUNS + 1) x RX_FRAMES frames (tx on the TAP). Status as
# tx_run's.
rx_run() {
	local name=$1 x=$2 p0 p t want
	shift 2
	p0=$(tap_stat tx_packets)
	t=$(RUN_NS=$NET_NS RUN_EXPECT="netbench: rx $RX_FRAMES frames of $MTU_LEN bytes" \
		run "$name" "$NRUNS" "$x" "$@") || return 1
	p=$(($(tap_stat tx_packets) - p0))
	want=$(((NRUNS + 1) * RX_FRAMES))
	if [ "$p" -lt "$want" ]; then
		echo "bench/devices: $name: the TAP passed its reader $p frames; expected at least" \
			"$want ($((NRUNS + 1)) runs of $RX_FRAMES)" >&2
		return 2
	fi
	echo "$t"
}
nethost() { # ARGS...: build/bench/nethost in the namespace, its median time (ms)
	local out=$TMP/nethost-$1.out
	if ! ip netns exec "$NET_NS" "$NETHOST" "$@" >"$out" 2>"$out.err"; then
		echo "bench/devices: nethost $*: $(tail -n 2 "$out.err")" >&2
		return 1
	fi
	awk '$1 == "total-ms" { print $3 }' "$out"
}
nic() { # the "network-interfaces" member
	printf '"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "%s", "guest_mac": "%s"}]' \
		"$NET_TAP" "$NET_MAC"
}
# row LABEL MS BYTES FRAMES HOST-MS: one line of the table (MS empty: not measured)
row() {
	awk -v l="$1" -v t="$2" -v b="$3" -v f="$4" -v h="$5" 'BEGIN {
		if (t == "") { printf "  %-32s %10s\n", l, "-"; exit }
		if (t <= 0) { printf "  %-32s %10.1f (below the baselines noise)\n", l, t; exit }
		printf "  %-32s %10.1f %10.0f %10.0f %9.2fx\n", l, t, b / (t / 1000) / 1e6, f / (t / 1000), h / t
	}'
}
diff_ms() { # FULL BASE: FULL - BASE, or empty if either is
	if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { print a - b }'; fi
}

if ! net_setup >"$TMP/net.why"; then
	echo "net throughput (TAP): skipped: $(cat "$TMP/net.why")"
else
	qnet=(-global virtio-mmio.force-legacy=false
		-netdev "tap,id=n0,ifname=$NET_TAP,script=no,downscript=no"
		-device "virtio-net-device,netdev=n0,mac=$NET_MAC")
	ember_cfg net-nosend "$NET_ELF" "console=ttyS0 nosend" "$(nic)"
	ember_cfg net-tx "$NET_ELF" "console=ttyS0" "$(nic)"
	ember_cfg net-gso "$NET_ELF" "console=ttyS0 gso" "$(nic)"
	ember_cfg net-rx "$NET_ELF" "console=ttyS0 rx" "$(nic)"
	en_base=$(RUN_NS=$NET_NS run ember-net0 "$NRUNS" 0 "$EMBER" --no-api --config-file "$TMP/net-nosend.json")
	en_tx=$(tx_run ember-net-tx "$TX_FRAMES" "$MTU_LEN" 0 "$EMBER" --no-api --config-file "$TMP/net-tx.json")
	en_gso=$(tx_run ember-net-gso "$GSO_FRAMES" "$GSO_LEN" 0 "$EMBER" --no-api --config-file "$TMP/net-gso.json")
	qn_base='' qn_tx='' qn_gso='' qn_rbase='' qn_rx=''
	if [ -n "$QEMU" ]; then
		mapfile -t c < <(qemu_cmd "$NET_ELF" "console=ttyS0 nosend" "${qnet[@]}")
		qn_base=$(RUN_NS=$NET_NS run qemu-net0 "$NRUNS" 253 "${c[@]}") || qn_base=
		mapfile -t c < <(qemu_cmd "$NET_ELF" "console=ttyS0" "${qnet[@]}")
		# A failed QEMU run leaves its figure out, as above; frames that did not arrive
		# (status 2) stop the bench, as for ember.
		qn_tx=$(tx_run qemu-net-tx "$TX_FRAMES" "$MTU_LEN" 253 "${c[@]}") || [ $? = 1 ] || exit 1
		mapfile -t c < <(qemu_cmd "$NET_ELF" "console=ttyS0 gso" "${qnet[@]}")
		qn_gso=$(tx_run qemu-net-gso "$GSO_FRAMES" "$GSO_LEN" 253 "${c[@]}") || [ $? = 1 ] || exit 1
	fi
	h_tx=$(nethost write -n "$NRUNS" "$NET_TAP" "$TX_FRAMES")
	h_gso=$(nethost write -g -n "$NRUNS" "$NET_TAP" "$GSO_FRAMES")

	# Receive: the sender pushes frames into the TAP for the whole part, baselines included
	# (it takes CPU time from the VMMs either way).
	ip netns exec "$NET_NS" "$NETHOST" send "$NET_TAP" >"$TMP/sender.out" 2>&1 &
	SENDER_PID=$!
	for _ in $(seq 100); do
		grep -q ready "$TMP/sender.out" && break
		kill -0 "$SENDER_PID" 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q ready "$TMP/sender.out"; then
		echo "bench/devices: the frame sender did not start: $(tail -n 2 "$TMP/sender.out")" >&2
		exit 1
	fi
	en_rbase=$(RUN_NS=$NET_NS run ember-net0-rx "$NRUNS" 0 "$EMBER" --no-api --config-file "$TMP/net-nosend.json")
	en_rx=$(rx_run ember-net-rx 0 "$EMBER" --no-api --config-file "$TMP/net-rx.json")
	if [ -n "$QEMU" ]; then
		mapfile -t c < <(qemu_cmd "$NET_ELF" "console=ttyS0 nosend" "${qnet[@]}")
		qn_rbase=$(RUN_NS=$NET_NS run qemu-net0-rx "$NRUNS" 253 "${c[@]}") || qn_rbase=
		mapfile -t c < <(qemu_cmd "$NET_ELF" "console=ttyS0 rx" "${qnet[@]}")
		qn_rx=$(rx_run qemu-net-rx 253 "${c[@]}") || [ $? = 1 ] || exit 1
	fi
	h_rx=$(nethost read -n "$NRUNS" "$NET_TAP" "$RX_FRAMES")
	kill "$SENDER_PID" 2>/dev/null || true
	wait "$SENDER_PID" 2>/dev/null || true
	SENDER_PID=

	tx_b=$((TX_FRAMES * MTU_LEN)) gso_b=$((GSO_FRAMES * GSO_LEN)) rx_b=$((RX_FRAMES * MTU_LEN))
	printf "%-34s %10s %10s %10s %10s\n" "net through a TAP" "time (ms)" "MB/s" "frames/s" "vs host"
	echo "transmit, $TX_FRAMES x $MTU_LEN-byte frames ($tx_b bytes):"
	row "host: write(2) to the TAP" "$h_tx" "$tx_b" "$TX_FRAMES" "$h_tx"
	row "ember" "$(diff_ms "$en_tx" "$en_base")" "$tx_b" "$TX_FRAMES" "$h_tx"
	row "QEMU virtio-net-device" "$(diff_ms "$qn_tx" "$qn_base")" "$tx_b" "$TX_FRAMES" "$h_tx"
	echo "transmit, $GSO_FRAMES x 64 KiB TCP/IPv4 GSO frames ($gso_b bytes):"
	row "host: write(2) to the TAP" "$h_gso" "$gso_b" "$GSO_FRAMES" "$h_gso"
	row "ember" "$(diff_ms "$en_gso" "$en_base")" "$gso_b" "$GSO_FRAMES" "$h_gso"
	row "QEMU virtio-net-device" "$(diff_ms "$qn_gso" "$qn_base")" "$gso_b" "$GSO_FRAMES" "$h_gso"
	echo "receive, $RX_FRAMES x $MTU_LEN-byte frames ($rx_b bytes), from nethost send:"
	row "host: read(2) from the TAP" "$h_rx" "$rx_b" "$RX_FRAMES" "$h_rx"
	row "ember" "$(diff_ms "$en_rx" "$en_rbase")" "$rx_b" "$RX_FRAMES" "$h_rx"
	row "QEMU virtio-net-device" "$(diff_ms "$qn_rx" "$qn_rbase")" "$rx_b" "$RX_FRAMES" "$h_rx"
	awk -v et="$(diff_ms "$en_tx" "$en_base")" -v qt="$(diff_ms "$qn_tx" "$qn_base")" \
		-v eg="$(diff_ms "$en_gso" "$en_base")" -v qg="$(diff_ms "$qn_gso" "$qn_base")" \
		-v er="$(diff_ms "$en_rx" "$en_rbase")" -v qr="$(diff_ms "$qn_rx" "$qn_rbase")" \
		-v eb="$en_base" -v ebr="$en_rbase" -v qb="$qn_base" -v qbr="$qn_rbase" '
	function ratio(name, e, q) {
		return name " " (q == "" || e <= 0 || q <= 0 ? "-" : sprintf("%.2fx", q / e))
	}
	BEGIN {
		if (qb == "" && qbr == "")
			print "QEMU: skipped."
		else
			printf "ember / QEMU throughput: %s, %s, %s.\n", ratio("transmit", et, qt),
				ratio("GSO", eg, qg), ratio("receive", er, qr)
		printf "Empty-boot baselines (device up, nothing sent): ember %.1f ms (%.1f with the sender\n", eb, ebr
		printf "running), QEMU %s ms. Time = median boot-to-reset minus that median.\n",
			qb == "" ? "-" : sprintf("%.1f (%.1f)", qb, qbr)
	}'
	echo "The guest keeps up to 256 frames in flight and polls. Checked with the TAP's counters"
	echo "(in the bench's namespace): every frame and byte of every transmit run arrived (rx_packets,"
	echo "rx_bytes); each receiving VMM was handed its frames (tx_packets); the guest checks its count."
fi
# What bench/summary.py needs to turn the runs' times into rates (bench/run.sh's JSON).
if [ -n "${BENCH_OUT:-}" ]; then
	for p in "exits $EXITS" "blk-bytes $((DRIVE_MIB * 1048576))" "net-tx-bytes $((TX_FRAMES * MTU_LEN))" \
		"net-gso-bytes $((GSO_FRAMES * GSO_LEN))" "net-rx-bytes $((RX_FRAMES * MTU_LEN))"; do
		echo "${p% *} ${p#* } ${p#* } ${p#* }"
	done >"$BENCH_OUT/dev-params.out"
fi

echo "device bench done in $((($(date +%s%N) - start_ns) / 1000000)) ms"
