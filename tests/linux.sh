#!/usr/bin/env bash
# Linux guests (make guest: build/guest/) under ember.
# A boot takes one to three minutes on a kvm_pvm host (the guest kernel is
# interpreted), so there are three boots, each with several checks:
#   A  initramfs, 2 vCPUs, virtio-rng: uname, both CPUs run user processes,
#      entropy before init, the boot timer, the date from ember's CMOS RTC,
#      reboot -f ends ember with status 0.
# In every boot each virtio-mmio device is probed once (no "failed with error -16");
# A and B print init's guest time and the boot timer on stderr.
#   B  ext4 root on a virtio-blk drive, read-write, cache_type Writeback: the guest
#      reads the drive's serial (GET_ID), writes a file and syncs (FLUSH, counted in
#      ember's metrics), then init dies: the kernel panics (panic=-1 reboot=k),
#      resets through the i8042 and ember exits 0; the file is on the host's image
#      afterwards.
#   C  virtio-net, virtio-vsock, virtio-balloon and a drive swapped under the running
#      guest, through the guest's own drivers (below).
#   D  virtio-pmem and virtio-mem together (below).
# Run by tests/run.sh, or on its own: bash tests/linux.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source "$ROOT/tests/lib/vm.sh" # wait_exit: a boot's ember ends by itself (the guest resets)

LINUX_TIMEOUT=${LINUX_TIMEOUT:-900}
VMLINUX=$ROOT/build/guest/vmlinux
INITRAMFS=$ROOT/build/guest/initramfs.cpio
ROOTFS=$ROOT/build/guest/rootfs.ext4

# linux_boot NAME CONFIG_JSON: boots with --boot-timer; output in $TMP/NAME.out, status in RC.
linux_boot() {
	printf '%s\n' "$2" >"$TMP/$1.json"
	timeout "$LINUX_TIMEOUT" "$EMBER" --no-api --boot-timer --config-file "$TMP/$1.json" \
		</dev/null >"$TMP/$1.raw" 2>&1
	RC=$?
	# The guest's tty writes CRLF (ONLCR): compare lines without the CR.
	tr -d '\r' <"$TMP/$1.raw" >"$TMP/$1.out"
}

# linux_times NAME: the guest time of init's start (printk) and the boot timer, on stderr.
linux_times() {
	local init timer
	init=$(sed -n 's/^\[ *\([0-9.]*\)\] Run .* as init process.*/\1/p' "$TMP/$1.out" | head -1)
	timer=$(sed -n 's/.*Guest-boot-time = *\([0-9]*\) us.*/\1/p' "$TMP/$1.out" | head -1)
	echo "linux:$1: init at ${init:-?} s guest time, boot timer ${timer:+$((timer / 1000)) ms}" >&2
}


# linux_check NAME REGEX WHAT: one check on a boot's output.
linux_check() {
	if grep -Eq -- "$2" "$TMP/$1.out"; then
		pass "linux:$1:$3"
	else
		fail "linux:$1:$3" "no line matching /$2/; last lines: $(tail -n 4 "$TMP/$1.out" | tr '\n' '|')"
	fi
}

# linux_check_absent NAME REGEX WHAT: passes when no line of a boot's output matches.
linux_check_absent() {
	local hit
	hit=$(grep -Em1 -- "$2" "$TMP/$1.out")
	if [ -z "$hit" ]; then
		pass "linux:$1:$3"
	else
		fail "linux:$1:$3" "unexpected line: $hit"
	fi
}

# Each virtio-mmio device is probed once: ember declares it in the DSDT and on the
# command line, and the guest kernel takes the DSDT's only (a second probe failed on
# the window the first had claimed).
linux_check_mmio_once() {
	linux_check_absent "$1" "can't request region|probe of .* failed with error" virtio-probed-once
}

linux_ready() {
	if [ $KVM_OK = 0 ]; then
		skip "linux:$1" "$KVM_WHY"
		return 1
	fi
	if [ ! -f "$VMLINUX" ] || [ ! -f "$INITRAMFS" ] || [ ! -f "$ROOTFS" ]; then
		skip "linux:$1" "no Linux guest in build/guest/ (make guest builds it)"
		return 1
	fi
	return 0
}

if want linux:initramfs && linux_ready initramfs; then
	cmd='uname -a; date -u +"ember-date: %Y"; echo "ember-cpus: $(nproc)"; for c in 0 1; do taskset -c $c cut -d" " -f39 /proc/self/stat | sed "s/^/ember-ran-on-cpu: /"; done'
	linux_boot initramfs "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$INITRAMFS\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off -- ${cmd//\"/\\\"}\" },
  \"machine-config\": { \"vcpu_count\": 2, \"mem_size_mib\": 256 },
  \"entropy\": {}
}"
	if [ "$RC" -ne 0 ]; then
		fail linux:initramfs:exit "ember exited $RC, expected 0 (reboot -f): $(tail -n 4 "$TMP/initramfs.out" | tr '\n' '|')"
	else
		pass linux:initramfs:reboot-exit-0
	fi
	linux_check initramfs '^Linux ember 6\.1\.[0-9]+' uname
	linux_check initramfs '^ember-cpus: 2$' two-cpus
	linux_check initramfs '^ember-ran-on-cpu: 0$' user-process-on-cpu0
	linux_check initramfs '^ember-ran-on-cpu: 1$' user-process-on-cpu1
	linux_check initramfs 'Guest-boot-time = ' boot-timer
	linux_check initramfs '^ember-init: command exited with status 0$' init-command
	linux_times initramfs
	linux_check_mmio_once initramfs
	# The wall clock from ember's CMOS RTC, not a second of polling an absent one and 1970.
	linux_check_absent initramfs 'Unable to read current time from RTC' rtc-read
	linux_check initramfs "^ember-date: $(date -u +%Y)\$" rtc-date
	# virtio-rng seeds the pool before user space starts.
	crng=$(grep -n 'random: crng init done' "$TMP/initramfs.out" | head -1 | cut -d: -f1)
	init=$(grep -n 'Run /init as init process' "$TMP/initramfs.out" | head -1 | cut -d: -f1)
	if [ -n "$crng" ] && [ -n "$init" ] && [ "$crng" -lt "$init" ]; then
		pass linux:initramfs:entropy-before-init
	else
		fail linux:initramfs:entropy-before-init "crng init done at line '${crng:-none}', init at line '${init:-none}'"
	fi
fi

if want linux:rootfs && linux_ready rootfs; then
	img=$TMP/rootfs.ext4
	cp "$ROOTFS" "$img"
	cmd='echo "ember-serial: $(cat /sys/block/vda/serial)"; echo ember-wrote-this >/hello.txt; sync; echo ember-rootfs-written; exec /bin/false'
	rm -f "$TMP/rootfs-metrics.json"
	linux_boot rootfs "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off -- ${cmd//\"/\\\"}\" },
  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 256 },
  \"drives\": [ { \"drive_id\": \"rootfs\", \"path_on_host\": \"$img\", \"is_root_device\": true,
                \"is_read_only\": false, \"cache_type\": \"Writeback\" } ],
  \"metrics\": { \"metrics_path\": \"$TMP/rootfs-metrics.json\" }
}"
	if [ "$RC" -ne 0 ]; then
		fail linux:rootfs:panic-exit-0 "ember exited $RC, expected 0 (panic=-1 reboot=k): $(tail -n 4 "$TMP/rootfs.out" | tr '\n' '|')"
	else
		pass linux:rootfs:panic-exit-0
	fi
	linux_check rootfs 'EXT4-fs \(vda\): mounted filesystem' ext4-root-mounted
	# GET_ID as Firecracker: the image's st_dev, st_rdev and st_ino in decimal, cut to 20.
	linux_check rootfs "^ember-serial: $(stat -c '%d%r%i' "$img" | cut -c1-20)\$" drive-id
	linux_check rootfs '^ember-rootfs-written$' guest-wrote
	# Metrics lines hold deltas: the flushes over the run are their sum. Writeback
	# offers VIRTIO_BLK_F_FLUSH, so the guest's sync (and ext4's journal) sends some.
	flushes=$(python3 -c 'import json, sys
print(sum(json.loads(l).get("block", {}).get("flush_count", 0) for l in open(sys.argv[1]) if l.strip()))' \
		"$TMP/rootfs-metrics.json" 2>&1)
	if [[ "$flushes" =~ ^[0-9]+$ ]] && [ "$flushes" -gt 0 ]; then
		pass linux:rootfs:flush
	else
		fail linux:rootfs:flush "block.flush_count over the run: '$flushes' (expected > 0)"
	fi
	linux_check rootfs 'Kernel panic - not syncing: Attempted to kill init' panic
	linux_check_mmio_once rootfs
	linux_times rootfs
	got=$(debugfs -R 'cat /hello.txt' "$img" 2>/dev/null)
	if [ "$got" = ember-wrote-this ]; then
		pass linux:rootfs:file-on-host
	else
		fail linux:rootfs:file-on-host "debugfs cat /hello.txt: '$got'"
	fi
fi

# --- C: the guest's own drivers for virtio-net, virtio-vsock and virtio-balloon ---
# One boot (initramfs, 1 vCPU, 64 MiB, the API on a socket) inside a network namespace
# with a TAP (10.0.2.1/30 on the host side):
#   net      the guest sets up eth0 (10.0.2.2/30), pings the host and fetches a
#            file from a python3 HTTP server in the namespace (md5 and size checked)
#   mmds     MMDS V2 on eth0 (mmds-config, the store from --metadata): the guest's own
#            stack gets a token (PUT /latest/api/token over nc), reads nested metadata
#            as text, as a listing and as JSON, is refused (401) without a token and
#            with a bad one, all before the ping and download above; after the host's
#            PATCH /mmds (while the guest waits in vsock-echo) it reads the new value
#   vsock    guest -> host: /bin/vsock-echo connects to CID 2 port 5001, a listener
#            on <uds_path>_5001 answers; host -> guest: vsock-echo listens on 5000,
#            the test sends "CONNECT 5000" to uds_path and gets its line echoed
#   balloon  before it listens, the guest touches LDEV_FILL_MIB MiB from user space
#            and frees it (memfill): free guest memory, resident in ember. The test
#            reads the guest's free memory from GET /balloon/statistics (the driver's
#            statistics queue), inflates the balloon to all of it but LDEV_SPARE_MIB
#            (PATCH /balloon), waits for actual_mib to reach the target and checks
#            that ember's resident set dropped: whichever free pages the driver
#            picks, about FILL - SPARE MiB of them are touched ones, which ember
#            gives back with MADV_DONTNEED (the drop must be at least half of that:
#            the guest's own allocations meanwhile blur it by about a MiB here; with
#            no madvise there is no drop at all). Then it deflates to 0 and waits for
#            actual_mib 0. (64 MiB keeps the inflation short: the guest's kernel
#            allocates each ballooned page interpreted, ~0.2 s per MiB here.)
#   hinting  free_page_hinting: PATCH /balloon/hinting/start; the guest's driver runs
#            it (its STOP acknowledged with DONE: status host_cmd 1, guest_cmd 0) and
#            the hinted bytes show in the balloon metrics (free_page_hint_freed)
#   drive    a 1 MiB scratch drive (vda) gets a new 2 MiB backing file through
#            PATCH /drives/scratch while the guest runs; afterwards the guest sees
#            the new size (the config-change interrupt) and the new file's bytes.
#   snapshot then, the guest waiting in user space (listening on vsock port 5000, and
#            holding a vsock connection to the host's port 5002 open): paused, a Full
#            snapshot, ember killed (SIGKILL), a new ember in the namespace loads it
#            (File backend) and resumes. Checked after the restore: the held connection
#            was reset (the transport reset event), a new vsock connection works (the
#            host -> guest echo above runs on the restored VM), the network (ping the
#            host), the drive (the guest writes a marker, fsyncs, drops its caches and
#            reads it back; the host finds it in the file), and VMGenID: the guest's
#            driver is bound at boot and its RNG reseeds on the new generation id
#            ("crng reseeded due to virtual machine fork").
#   then the guest's script ends, init resets the VM and ember exits 0.
# The namespace, the helpers and the sockets go on every path (an exit hook).
LDEV_NS=ember-linux-$$
LDEV_TAP=embtap1
LDEV_PIDS=()
LDEV_FILL_MIB=24
LDEV_SPARE_MIB=8

linux_dev_cleanup() {
	local p n
	# TERM first: the helpers run under timeout(1), which passes TERM on to its child
	# (a KILL would leave the python3 server running); KILL what outlives 2 s.
	for p in "${LDEV_PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${LDEV_PIDS[@]}"; do
		n=20
		while kill -0 "$p" 2>/dev/null && [ $n -gt 0 ]; do
			sleep 0.1
			n=$((n - 1))
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LDEV_PIDS=()
	ip netns del "$LDEV_NS" 2>/dev/null
	rm -f "$TMP/ldev-vsock.sock" "$TMP/ldev-vsock.sock_5001" "$TMP/ldev-vsock.sock_5002" \
		"$TMP/ldev-api.sock" "$TMP/ldev-api2.sock" "$TMP/ldev-drive1.img" "$TMP/ldev-drive2.img" \
		"$TMP/ldev.state" "$TMP/ldev.mem"
}

# shellcheck source=scripts/lib/netns.sh
source "$ROOT/scripts/lib/netns.sh"
# shellcheck source=tests/lib/vsock.sh
source "$ROOT/tests/lib/vsock.sh"

# Why boot C cannot run here (empty: it can).
linux_dev_unavailable() {
	local t
	for t in python3 curl; do
		command -v $t >/dev/null || { echo "$t is not installed"; return; }
	done
	netns_unavailable
}

# The namespace and its TAP; prints why not on failure.
linux_dev_setup() {
	netns_tap_add "$LDEV_NS" "$LDEV_TAP" 10.0.2.1/30
}

# linux_dev_wait PID REGEX SECONDS: 0 once the boot's output matches; 1 if ember ends
# first or the time runs out.
linux_dev_wait() {
	local n=$(($3 * 10))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$TMP/devices.raw" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
		n=$((n - 1))
	done
	grep -Eq -- "$2" "$TMP/devices.raw" 2>/dev/null
}

# ldev_api METHOD PATH [BODY]: one request on boot C's API socket; the status code on
# stdout, the body in $TMP/ldev-api.body.
ldev_api() {
	local args=(-s -m 10 -o "$TMP/ldev-api.body" -w '%{http_code}' --unix-socket "$TMP/ldev-api.sock"
		-X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	curl "${args[@]}" "http://localhost$2"
}

# ldev_mmds_refill: PUT the boot's MMDS store on the restored process's socket (the
# original one when no restore happened), then PATCH its id; both must answer 204.
ldev_mmds_refill() {
	local sock="$TMP/ldev-api.sock" code
	[ -n "$LDEV_RESTORED" ] && sock="$TMP/ldev-api2.sock"
	code=$(curl -s -m 10 -o "$TMP/ldev-api.body" -w '%{http_code}' --unix-socket "$sock" -X PUT \
		-H 'Content-Type: application/json' --data-binary @"$TMP/ldev-mmds.json" http://localhost/mmds)
	[ "$code" = 204 ] || fail linux:devices:mmds-patch "PUT /mmds after the restore: HTTP $code $(cat "$TMP/ldev-api.body")"
	code=$(curl -s -m 10 -o "$TMP/ldev-api.body" -w '%{http_code}' --unix-socket "$sock" -X PATCH \
		-H 'Content-Type: application/json' -d '{"latest": {"meta-data": {"id": "i-patched"}}}' \
		http://localhost/mmds)
	[ "$code" = 204 ] || fail linux:devices:mmds-patch "PATCH /mmds: HTTP $code $(cat "$TMP/ldev-api.body")"
}

# ldev_stat FIELD: a member of GET /balloon/statistics (empty if absent or on error).
ldev_stat() {
	[ "$(ldev_api GET /balloon/statistics)" = 200 ] || return 0
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$TMP/ldev-api.body" "$1" 2>/dev/null
}

# ldev_wait_stat PID FIELD VALUE SECONDS: 0 once FIELD is VALUE; 1 if ember ends first or
# the time runs out.
ldev_wait_stat() {
	local n=$(($4 * 2))
	while [ $n -gt 0 ]; do
		[ "$(ldev_stat "$2")" = "$3" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

ldev_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# The balloon checks on a running boot C (PID is ember), the guest idle after memfill.
ldev_balloon() {
	local pid=$1 free='' target code rss0 rss1 drop want_kb n=60 t0=$SECONDS
	# The driver reports every stats_polling_interval_s (1 s): wait for its first report.
	while [ $n -gt 0 ] && [ -z "$free" ]; do
		free=$(ldev_stat free_memory)
		[ -n "$free" ] || sleep 0.5
		n=$((n - 1))
	done
	if [ -z "$free" ]; then
		fail linux:devices:balloon-statistics "no free_memory in GET /balloon/statistics: $(cat "$TMP/ldev-api.body" 2>/dev/null)"
		return
	fi
	pass linux:devices:balloon-statistics
	target=$((free / 1048576 - LDEV_SPARE_MIB))
	rss0=$(ldev_rss_kb "$pid")
	code=$(ldev_api PATCH /balloon "{\"amount_mib\": $target}")
	if [ "$code" != 204 ]; then
		fail linux:devices:balloon-inflate "PATCH /balloon amount_mib $target: HTTP $code $(cat "$TMP/ldev-api.body")"
		return
	fi
	if ! ldev_wait_stat "$pid" actual_mib "$target" 300; then
		fail linux:devices:balloon-inflate "actual_mib $(ldev_stat actual_mib), target $target (guest free was $free bytes)"
		return
	fi
	pass linux:devices:balloon-inflate
	rss1=$(ldev_rss_kb "$pid")
	drop=$((rss0 - rss1))
	want_kb=$(((LDEV_FILL_MIB - LDEV_SPARE_MIB) * 1024 / 2))
	echo "linux:devices: balloon of $target MiB in $((SECONDS - t0)) s: ember's RSS $rss0 kB -> $rss1 kB" >&2
	if [ "$drop" -ge "$want_kb" ]; then
		pass linux:devices:balloon-rss-dropped
	else
		fail linux:devices:balloon-rss-dropped "RSS $rss0 kB -> $rss1 kB after inflating $target MiB: dropped $drop kB, expected at least $want_kb kB"
	fi
	code=$(ldev_api PATCH /balloon '{"amount_mib": 0}')
	if [ "$code" = 204 ] && ldev_wait_stat "$pid" actual_mib 0 300; then
		pass linux:devices:balloon-deflate
	else
		fail linux:devices:balloon-deflate "PATCH /balloon amount_mib 0: HTTP $code, actual_mib $(ldev_stat actual_mib)"
	fi
}

# ldev_hinting_status FIELD: a member of GET /balloon/hinting/status (empty if absent).
ldev_hinting_status() {
	[ "$(ldev_api GET /balloon/hinting/status)" = 200 ] || return 0
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' \
		"$TMP/ldev-api.body" "$1" 2>/dev/null
}

# Free page hinting (the balloon has free_page_hinting) on a running boot C, after the
# balloon's checks: a run the guest's own driver takes part in. It echoes the run's id,
# hints its free pages (ember drops them), then sends STOP, which ember acknowledges with
# DONE (acknowledge_on_stop, the default): host_cmd 1, guest_cmd 0. The hinted bytes are
# in Firecracker's balloon metrics (free_page_hint_freed, summed over the flushes).
ldev_hinting() {
	local pid=$1 code n=240 freed
	code=$(ldev_api PATCH /balloon/hinting/start '{}')
	if [ "$code" != 204 ]; then
		fail linux:devices:hinting-run "PATCH /balloon/hinting/start: HTTP $code $(cat "$TMP/ldev-api.body")"
		return
	fi
	while [ $n -gt 0 ] && kill -0 "$pid" 2>/dev/null; do
		[ "$(ldev_hinting_status host_cmd),$(ldev_hinting_status guest_cmd)" = 1,0 ] && break
		sleep 0.5
		n=$((n - 1))
	done
	if [ $n -gt 0 ]; then
		pass linux:devices:hinting-run
	else
		fail linux:devices:hinting-run "GET /balloon/hinting/status after 120 s: $(cat "$TMP/ldev-api.body"), expected host_cmd 1 (DONE) and guest_cmd 0 (the driver's STOP)"
	fi
	code=$(ldev_api PUT /actions '{"action_type": "FlushMetrics"}')
	freed=$(python3 -c 'import json, sys
t = 0
for line in open(sys.argv[1]):
    try:
        t += json.loads(line).get("balloon", {}).get("free_page_hint_freed", 0)
    except ValueError:
        pass
print(t)' "$TMP/ldev-metrics.json" 2>/dev/null)
	if [ "$code" = 204 ] && [ "${freed:-0}" -gt 0 ]; then
		pass linux:devices:hinting-freed
		echo "linux:devices: free page hinting dropped $freed bytes" >&2
	else
		fail linux:devices:hinting-freed "FlushMetrics HTTP $code; balloon.free_page_hint_freed summed over $TMP/ldev-metrics.json: ${freed:-none}"
	fi
}

# ldev_snapshot PID: boot C, the guest waiting (port 5000 listening, port 5002 held):
# pause, Full snapshot, kill -9, restore in a new ember (File backend, resumed). Sets
# LDEV_RESTORED to the new ember's pid; false (and failed) if a step failed.
LDEV_RESTORED=
ldev_snapshot() {
	local pid=$1 code n=100 t0
	while [ ! -s "$TMP/ldev-held.txt" ] && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	[ -s "$TMP/ldev-held.txt" ] || fail linux:devices:snapshot-held "the guest never connected to port 5002"
	code=$(ldev_api PATCH /vm '{"state": "Paused"}')
	[ "$code" = 204 ] && code=$(ldev_api PUT /snapshot/create \
		"{\"snapshot_path\": \"$TMP/ldev.state\", \"mem_file_path\": \"$TMP/ldev.mem\"}")
	if [ "$code" != 204 ]; then
		fail linux:devices:snapshot-create "HTTP $code $(cat "$TMP/ldev-api.body")"
		return 1
	fi
	pass linux:devices:snapshot-create
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$TMP/ldev-vsock.sock"
	ip netns exec "$LDEV_NS" "$EMBER" --api-sock "$TMP/ldev-api2.sock" --boot-timer \
		</dev/null >>"$TMP/devices.raw" 2>&1 &
	LDEV_RESTORED=$!
	LDEV_PIDS+=("$LDEV_RESTORED")
	for _ in $(seq 100); do
		[ -S "$TMP/ldev-api2.sock" ] && break
		sleep 0.05
	done
	t0=$(date +%s%N)
	code=$(curl -s -m 30 -o "$TMP/ldev-api.body" -w '%{http_code}' --unix-socket "$TMP/ldev-api2.sock" \
		-X PUT -d "{\"snapshot_path\": \"$TMP/ldev.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/ldev.mem\"}, \"resume_vm\": true}" \
		http://localhost/snapshot/load)
	if [ "$code" != 204 ]; then
		fail linux:devices:snapshot-load "HTTP $code $(cat "$TMP/ldev-api.body")"
		LDEV_RESTORED=
		return 1
	fi
	echo "linux:devices: snapshot restored in $((($(date +%s%N) - t0) / 1000000)) ms (load request)" >&2
	pass linux:devices:snapshot-load
}

linux_devices() {
	local uds=$TMP/ldev-vsock.sock www=$TMP/ldev-www pid n sum size got cmd
	local client=''
	mkdir -p "$www"
	head -c 262144 /dev/urandom >"$www/blob"
	sum=$(md5sum <"$www/blob" | cut -c1-32)
	size=$(stat -c %s "$www/blob")
	ip netns exec "$LDEV_NS" timeout 600 python3 -m http.server --bind 10.0.2.1 \
		--directory "$www" 8000 >"$TMP/ldev-http.log" 2>&1 &
	LDEV_PIDS+=($!)
	timeout 600 python3 -c "$LINUX_VSOCK_LISTENER" "${uds}_5001" "$TMP/ldev-listener.txt" 300 \
		2>"$TMP/ldev-listener.err" &
	LDEV_PIDS+=($!)
	# Port 5002: accepts the guest's connection and holds it, answering nothing.
	timeout 900 python3 -c '
import socket, sys, time
l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
l.bind(sys.argv[1])
l.listen(1)
c, _ = l.accept()
open(sys.argv[2], "w").write("held\n")
time.sleep(900)
' "${uds}_5002" "$TMP/ldev-held.txt" 2>"$TMP/ldev-held.err" &
	LDEV_PIDS+=($!)
	for _ in $(seq 100); do
		[ -S "${uds}_5001" ] && [ -S "${uds}_5002" ] && break
		sleep 0.05
	done

	# The guest's script: an extra archive appended to a copy of the initramfs (the kernel
	# unpacks concatenated archives), since the kernel hands init at most 32 words.
	mkdir -p "$TMP/ldev-cpio"
	cat >"$TMP/ldev-cpio/ldev.sh" <<'SH'
ip link set eth0 up
ip addr add 10.0.2.2/30 dev eth0
ip route add 169.254.169.254/32 dev eth0
# mmds METHOD PATH HEADERS: one HTTP/1.0 request to MMDS (HEADERS with \r\n escapes); the
# status line in $st, the body's lines joined by ',' in $bd. Parsed with shell builtins and
# tried again (3 times, said on the console) when nc printed nothing: under kvm_pvm, busybox
# processes here die now and then with a segfault reading TLS (see the kernel's lines), and
# every process forked is a chance of it.
cr=$(printf '\r')
mmds() {
	st= bd=
	for _ in 1 2 3; do
		printf '%s %s HTTP/1.0\r\n%b\r\n' "$1" "$2" "$3" | nc 169.254.169.254 80 >/tmp/r
		[ -s /tmp/r ] && break
		echo "ember-mmds-retry: $1 $2"
	done
	h=1
	while IFS= read -r l || [ -n "$l" ]; do
		l=${l%"$cr"}
		if [ -z "$st" ]; then st=$l
		elif [ $h = 1 ]; then [ -z "$l" ] && h=0
		else bd=$bd${bd:+,}$l
		fi
	done </tmp/r
}
read -r up _ </proc/uptime
echo "ember-mmds-start: $up"
mmds PUT /latest/api/token 'X-metadata-token-ttl-seconds: 21600\r\n'
tok=$bd
echo "ember-mmds-token: ${#tok}"
t="X-metadata-token: $tok\r\n"
mmds GET /latest/meta-data/net/macs/06:00:0a:00:02:02/host "$t"
echo "ember-mmds-text: $bd"
mmds GET /latest/meta-data/ "$t"
echo "ember-mmds-list: $bd"
mmds GET /latest/meta-data/net "${t}Accept: application/json\r\n"
echo "ember-mmds-json: $bd"
echo "ember-mmds-json-status: $st"
mmds GET /latest/meta-data/id ''
echo "ember-mmds-no-token: $st"
mmds GET /latest/meta-data/id 'X-metadata-token: AAAA\r\n'
echo "ember-mmds-bad-token: $st"
read -r up _ </proc/uptime
echo "ember-mmds-end: $up"
ping -c 2 -W 5 10.0.2.1 && echo ember-ping-ok
wget -q -O /tmp/blob http://10.0.2.1:8000/blob &&
	echo "ember-wget: $(md5sum </tmp/blob | cut -c1-32) $(wc -c </tmp/blob)"
rm -f /tmp/blob
vsock-echo connect 2 5001 hello-from-guest
echo "ember-vmgenid-bound: $(ls /sys/bus/acpi/drivers/vmgenid 2>/dev/null | grep -c VMGENCTR)"
memfill FILL_MIB
vsock-echo connect 2 5002 held-across-the-snapshot >/tmp/held.txt 2>&1 &
vsock-echo listen 5000
# Restored in a new process by now: a token of the old one is not valid (its key was
# that process's), so a new one; the store was put again and patched by the host.
mmds PUT /latest/api/token 'X-metadata-token-ttl-seconds: 21600\r\n'
t="X-metadata-token: $bd\r\n"
mmds GET /latest/meta-data/id "$t"
echo "ember-mmds-patched: $bd"
echo "ember-mmds-patched-status: $st"
echo "ember-drive: $(cat /sys/block/vda/size) $(head -c 16 /dev/vda)"
wait
echo "ember-held: $(cat /tmp/held.txt)"
ping -c 2 -W 5 10.0.2.1 && echo ember-ping-after-restore
printf ember-restored-write | dd of=/dev/vda bs=512 seek=8 2>/dev/null && sync
echo 3 >/proc/sys/vm/drop_caches
echo "ember-drive-after-restore: $(dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 20)"
SH
	sed -i "s/FILL_MIB/$LDEV_FILL_MIB/" "$TMP/ldev-cpio/ldev.sh"
	# The scratch drive and the file it is swapped to (markers at byte 0).
	{ printf ember-original!!; head -c $((1048576 - 16)) /dev/zero; } >"$TMP/ldev-drive1.img"
	{ printf ember-swapped-in; head -c $((2097152 - 16)) /dev/zero; } >"$TMP/ldev-drive2.img"
	cp "$INITRAMFS" "$TMP/ldev-initramfs.cpio"
	(cd "$TMP/ldev-cpio" && echo ldev.sh | cpio -o -H newc --owner=0:0 --quiet) >>"$TMP/ldev-initramfs.cpio"
	cmd='sh /ldev.sh'
	printf '%s\n' "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$TMP/ldev-initramfs.cpio\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off -- $cmd\" },
  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64 },
  \"network-interfaces\": [ { \"iface_id\": \"eth0\", \"host_dev_name\": \"$LDEV_TAP\",
    \"guest_mac\": \"06:00:0a:00:02:02\" } ],
  \"vsock\": { \"guest_cid\": 3, \"uds_path\": \"$uds\" },
  \"drives\": [ { \"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/ldev-drive1.img\",
    \"is_root_device\": false, \"is_read_only\": false } ],
  \"balloon\": { \"amount_mib\": 0, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 1,
    \"free_page_hinting\": true },
  \"entropy\": {},
  \"metrics\": { \"metrics_path\": \"$TMP/ldev-metrics.json\" },
  \"mmds-config\": { \"version\": \"V2\", \"network_interfaces\": [\"eth0\"] }
}" >"$TMP/devices.json"
	printf '%s\n' '{"latest": {"meta-data": {"id": "i-0123", "zone": "z1",
	  "net": {"macs": {"06:00:0a:00:02:02": {"host": "guest-0", "n": "1"}}}}}}' >"$TMP/ldev-mmds.json"
	# ip netns exec execs ember: $! is ember's pid.
	ip netns exec "$LDEV_NS" "$EMBER" --api-sock "$TMP/ldev-api.sock" --boot-timer \
		--config-file "$TMP/devices.json" --metadata "$TMP/ldev-mmds.json" \
		</dev/null >"$TMP/devices.raw" 2>&1 &
	pid=$!
	LDEV_PIDS+=("$pid")
	SECONDS=0

	if linux_dev_wait $pid 'vsock-echo: listening on port 5000' "$LINUX_TIMEOUT"; then
		ldev_balloon $pid
		ldev_hinting $pid
		code=$(ldev_api PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/ldev-drive2.img\"}")
		[ "$code" = 204 ] || fail linux:devices:drive-swap-patch "PATCH /drives/scratch: HTTP $code $(cat "$TMP/ldev-api.body")"
		ldev_snapshot $pid && pid=$LDEV_RESTORED
		# A snapshot keeps MMDS's configuration, not its store (as Firecracker's): the
		# restored process gets the store again, then a PATCH the guest must see.
		ldev_mmds_refill
		client=$(timeout 40 python3 -c "$LINUX_VSOCK_CLIENT" "$uds" 2>&1)
	else
		client="the guest never listened on port 5000"
		fail linux:devices:balloon "not run: the guest never got past memfill to listening on port 5000"
	fi
	# The guest resets after its last line: ember exits by itself.
	wait_exit "$pid" 60
	echo "linux:devices: boot C took $SECONDS s" >"$TMP/ldev-time.txt"
	tr -d '\r' <"$TMP/devices.raw" >"$TMP/devices.out"

	if [ "$RC" -ne 0 ]; then
		fail linux:devices:exit-0 "ember exited $RC, expected 0: $(tail -n 4 "$TMP/devices.out" | tr '\n' '|')"
	else
		pass linux:devices:exit-0
	fi
	if [[ "$client" =~ ^OK\ [0-9]+\ echo\ b\'ping-from-host\\n\'$ ]]; then
		pass linux:devices:vsock-host-to-guest
	else
		fail linux:devices:vsock-host-to-guest "host side: $client"
	fi
	linux_check devices '^ember-mmds-token: 44$' mmds-token
	linux_check devices '^ember-mmds-text: guest-0$' mmds-text
	linux_check devices '^ember-mmds-list: id,net/,zone,?$' mmds-listing
	linux_check devices '^ember-mmds-json: \{"macs": \{"06:00:0a:00:02:02": \{"host": "guest-0", "n": "1"\}\}\}$' mmds-json
	linux_check devices '^ember-mmds-no-token: HTTP/1.1 401 Unauthorized$' mmds-no-token-refused
	linux_check devices '^ember-mmds-bad-token: HTTP/1.1 401 Unauthorized$' mmds-bad-token-refused
	linux_check devices '^ember-mmds-patched: i-patched$' mmds-sees-patch
	grep '^ember-mmds' "$TMP/devices.out" | sed 's/^/linux:devices: /' >&2
	grep -o '"mmds":{[^}]*}' "$TMP/ldev-metrics.json" | tail -n 1 >&2
	grep -o '"net":{[^}]*}' "$TMP/ldev-metrics.json" | tail -n 1 >&2
	echo "linux:devices: guest processes that crashed: $(grep -cE '(segfault at|general protection fault) .* in busybox' "$TMP/devices.out")" >&2
	linux_check devices '^ember-ping-ok$' net-ping
	linux_check_mmio_once devices
	linux_check devices "^ember-wget: $sum $size\$" net-tcp-download
	linux_check devices '^vsock-echo: reply: host-got-hello-from-guest$' vsock-guest-to-host-reply
	got=$(cat "$TMP/ldev-listener.txt" 2>/dev/null)
	if [ "$got" = "got b'hello-from-guest\\n'" ]; then
		pass linux:devices:vsock-guest-to-host
	else
		fail linux:devices:vsock-guest-to-host "listener: '$got' $(head -c 200 "$TMP/ldev-listener.err" 2>/dev/null)"
	fi
	linux_check devices '^vsock-echo: echoed 15 bytes$' vsock-host-to-guest-echoed
	linux_check devices "^memfill: touched $LDEV_FILL_MIB MiB\$" balloon-guest-filled
	linux_check devices '^ember-drive: 4096 ember-swapped-in$' drive-swapped
	linux_check devices '^ember-vmgenid-bound: 1$' vmgenid-driver-bound
	if [ -n "$LDEV_RESTORED" ]; then
		# The held connection's end, printed in one line (the kernel's own lines about
		# the restore come at the same moment and could split its pieces).
		if grep -q '^ember-held: vsock-echo: read failed: errno 104$' "$TMP/devices.out"; then
			pass linux:devices:snapshot-vsock-reset
		else
			fail linux:devices:snapshot-vsock-reset "the held connection: $(grep '^ember-held' "$TMP/devices.out")"
		fi
		linux_check devices '^ember-ping-after-restore$' snapshot-net-ping
		linux_check devices '^ember-drive-after-restore: ember-restored-write$' snapshot-drive-read
		if [ "$(dd if="$TMP/ldev-drive2.img" bs=512 skip=8 count=1 2>/dev/null | head -c 20)" = ember-restored-write ]; then
			pass linux:devices:snapshot-drive-write
		else
			fail linux:devices:snapshot-drive-write "the guest's write after the restore is not in the drive's file"
		fi
		linux_check devices 'crng reseeded due to virtual machine fork' snapshot-vmgenid-reseed
	fi
	cat "$TMP/ldev-time.txt" >&2
}

if want linux:devices && linux_ready devices; then
	why=$(linux_dev_unavailable)
	if [ -n "$why" ]; then
		skip linux:devices "$why"
	else
		exit_hook_push linux_dev_cleanup
		if ! why=$(linux_dev_setup); then
			skip linux:devices "$why"
		else
			linux_devices
		fi
		linux_dev_cleanup
		exit_hook_pop
	fi
fi

# --- D: virtio-pmem and virtio-mem through the guest's own drivers ---
# One boot (initramfs, 1 vCPU, 64 MiB, the API on a socket):
#   pmem     an 8 MiB ext4 image made on the host (with /hello.txt): the guest's
#            libnvdimm must see its region (namespace0.0, 8 MiB, from the config
#            space); then, as /dev/pmem0, the guest mounts it with -o dax (plain if the
#            kernel refuses DAX: said so), reads the host's file, writes one of its own
#            and syncs (a flush request); afterwards the file is in the image.
#   mem      256 MiB of hotpluggable memory (block 2 MiB): the guest prints MemTotal,
#            the test PATCHes requested_size_mib 128 and waits for GET to report 128
#            plugged; the guest sees MemTotal grow by it; then PATCH 0, GET reports 0
#            plugged and the guest sees MemTotal back where it was.
LPM_PIDS=()
lpm_api() {
	local args=(-s -m 10 -o "$TMP/lpm-api.body" -w '%{http_code}' --unix-socket "$TMP/lpm-api.sock"
		-X "$1")
	[ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' -d "$3")
	curl "${args[@]}" "http://localhost$2"
}

# lpm_plugged: plugged_size_mib of GET /hotplug/memory (empty on error).
lpm_plugged() {
	[ "$(lpm_api GET /hotplug/memory)" = 200 ] || return 0
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["plugged_size_mib"])' \
		"$TMP/lpm-api.body" 2>/dev/null
}

# lpm_wait_out PID REGEX SECONDS; lpm_wait_plugged PID MIB SECONDS.
lpm_wait_out() {
	local n=$(($3 * 10))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$TMP/pmem.raw" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
		n=$((n - 1))
	done
	grep -Eq -- "$2" "$TMP/pmem.raw" 2>/dev/null
}
lpm_wait_plugged() {
	local n=$(($3 * 2))
	while [ $n -gt 0 ]; do
		[ "$(lpm_plugged)" = "$2" ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.5
		n=$((n - 1))
	done
	return 1
}

# lpm_patch NAME MIB: PATCH /hotplug/memory, then GET must report MIB plugged.
lpm_patch() {
	local code
	code=$(lpm_api PATCH /hotplug/memory "{\"requested_size_mib\": $3}")
	if [ "$code" != 204 ]; then
		fail "linux:pmem:$2" "PATCH /hotplug/memory $3: HTTP $code $(cat "$TMP/lpm-api.body")"
	elif lpm_wait_plugged "$1" "$3" 300; then
		pass "linux:pmem:$2"
	else
		fail "linux:pmem:$2" "GET /hotplug/memory: $(cat "$TMP/lpm-api.body")"
	fi
}

linux_pmem_mem() {
	local pid n code got m0 m1 m2 cmd='sh /lpm.sh'
	if ! command -v mkfs.ext4 >/dev/null || ! command -v debugfs >/dev/null ||
		! command -v curl >/dev/null; then
		skip linux:pmem "mkfs.ext4, debugfs or curl is not installed"
		return
	fi
	mkdir -p "$TMP/lpm-img" "$TMP/lpm-cpio"
	echo ember-host-wrote-this >"$TMP/lpm-img/hello.txt"
	rm -f "$TMP/lpm.ext4"
	mkfs.ext4 -q -b 4096 -d "$TMP/lpm-img" "$TMP/lpm.ext4" 8M || {
		fail linux:pmem:image "mkfs.ext4 failed"
		return
	}
	cat >"$TMP/lpm-cpio/lpm.sh" <<'SH'
mkdir -p /mnt
echo "ember-pmem-ns: $(cat /sys/bus/nd/devices/namespace0.0/size)"
n=0; while [ ! -b /dev/pmem0 ] && [ $n -lt 20 ]; do sleep 1; n=$((n + 1)); done
if [ ! -b /dev/pmem0 ]; then
	echo ember-pmem-nodev
elif mount -o dax /dev/pmem0 /mnt || { mount /dev/pmem0 /mnt && echo ember-pmem-nodax; }; then
	grep -q ' /mnt .*dax' /proc/mounts && echo ember-pmem-dax
	echo "ember-pmem-read: $(cat /mnt/hello.txt)"
	echo ember-guest-wrote-this >/mnt/guest.txt && sync && echo ember-pmem-synced
	umount /mnt
fi
m() { awk '/^MemTotal:/ { print $2 }' /proc/meminfo; }
m0=$(m)
echo "ember-mem0: $m0"
# settle: MemTotal unchanged over 3 s (the driver plugs block by block)
settle() { a=$(m); b=0; while [ "$a" != "$b" ]; do b=$a; sleep 3; a=$(m); done; echo "$a"; }
n=0
while [ "$(m)" -le "$m0" ] && [ $n -lt 600 ]; do sleep 1; n=$((n + 1)); done
m1=$(settle)
echo "ember-mem1: $m1"
n=0
while [ "$(m)" -ge "$m1" ] && [ $n -lt 600 ]; do sleep 1; n=$((n + 1)); done
echo "ember-mem2: $(settle)"
SH
	cp "$INITRAMFS" "$TMP/lpm-initramfs.cpio"
	(cd "$TMP/lpm-cpio" && echo lpm.sh | cpio -o -H newc --owner=0:0 --quiet) >>"$TMP/lpm-initramfs.cpio"
	printf '%s\n' "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$TMP/lpm-initramfs.cpio\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off memhp_default_state=online_movable -- $cmd\" },
  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64 },
  \"pmem\": [ { \"id\": \"pm0\", \"path_on_host\": \"$TMP/lpm.ext4\" } ],
  \"memory-hotplug\": { \"total_size_mib\": 256, \"block_size_mib\": 2, \"slot_size_mib\": 128 }
}" >"$TMP/pmem.json"
	"$EMBER" --api-sock "$TMP/lpm-api.sock" --boot-timer --config-file "$TMP/pmem.json" \
		</dev/null >"$TMP/pmem.raw" 2>&1 &
	pid=$!
	LPM_PIDS+=("$pid")
	SECONDS=0
	if lpm_wait_out $pid '^ember-mem0: [0-9]+' "$LINUX_TIMEOUT"; then
		code=$(lpm_api PUT /actions '{"action_type": "FlushMetrics"}')
		lpm_patch $pid plug 128
		lpm_wait_out $pid '^ember-mem1: [0-9]+' 300
		lpm_patch $pid unplug 0
	else
		fail linux:pmem:plug "not run: the guest never printed its MemTotal"
	fi
	wait_exit "$pid" 60
	LPM_PIDS=()
	rm -f "$TMP/lpm-api.sock"
	echo "linux:pmem: boot D took $SECONDS s" >&2
	tr -d '\r' <"$TMP/pmem.raw" >"$TMP/pmem.out"
	if [ "$RC" -ne 0 ]; then
		fail linux:pmem:exit-0 "ember exited $RC, expected 0: $(tail -n 4 "$TMP/pmem.out" | tr '\n' '|')"
	else
		pass linux:pmem:exit-0
	fi
	# The guest's libnvdimm sees the device's region (config space: start, size).
	linux_check pmem '^ember-pmem-ns: 8388608$' namespace
	if grep -q '^ember-pmem-nodev$' "$TMP/pmem.out"; then
		# nd_pmem binds namespace0.0 only with CONFIG_ND_CLAIM (linux-guest config).
		fail linux:pmem:mounted "no /dev/pmem0: the guest's nd_pmem did not bind namespace0.0"
	else
		linux_check pmem '^ember-pmem-(dax|nodax)$' mounted
		if grep -q '^ember-pmem-dax$' "$TMP/pmem.out"; then
			pass linux:pmem:dax
		else
			skip linux:pmem:dax "the guest kernel refused -o dax on /dev/pmem0"
		fi
		linux_check pmem '^ember-pmem-read: ember-host-wrote-this$' host-file-read
		linux_check pmem '^ember-pmem-synced$' synced
		got=$(debugfs -R 'cat /guest.txt' "$TMP/lpm.ext4" 2>/dev/null)
		if [ "$got" = ember-guest-wrote-this ]; then
			pass linux:pmem:file-on-host
		else
			fail linux:pmem:file-on-host "debugfs cat /guest.txt: '$got'"
		fi
	fi
	m0=$(sed -n 's/^ember-mem0: \([0-9]*\)$/\1/p' "$TMP/pmem.out")
	m1=$(sed -n 's/^ember-mem1: \([0-9]*\)$/\1/p' "$TMP/pmem.out")
	m2=$(sed -n 's/^ember-mem2: \([0-9]*\)$/\1/p' "$TMP/pmem.out")
	echo "linux:pmem: MemTotal $m0 kB -> $m1 kB (plugged 128 MiB) -> $m2 kB (unplugged)" >&2
	if [ -n "$m0" ] && [ -n "$m1" ] && [ $((m1 - m0)) -ge 131072 ]; then
		pass linux:pmem:memtotal-grew
	else
		fail linux:pmem:memtotal-grew "MemTotal '$m0' -> '$m1' kB, expected +131072"
	fi
	if [ -n "$m1" ] && [ -n "$m2" ] && [ "$m2" -le $((m0 + 1024)) ]; then
		pass linux:pmem:memtotal-shrank
	else
		fail linux:pmem:memtotal-shrank "MemTotal '$m1' -> '$m2' kB, expected back to '$m0'"
	fi
}

lpm_cleanup() {
	local p
	for p in "${LPM_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LPM_PIDS=()
}

if want linux:pmem && linux_ready pmem; then
	exit_hook_push lpm_cleanup
	linux_pmem_mem
	lpm_cleanup
	exit_hook_pop
fi

suite_end
