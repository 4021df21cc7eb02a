#!/usr/bin/env bash
# Linux guests (make guest: build/guest/) under ember.
# A boot takes one to three minutes on a kvm_pvm host (the guest kernel is
# interpreted), so there are three boots, each with several checks:
#   A  initramfs, 2 vCPUs, virtio-rng: uname, both CPUs run user processes,
#      entropy before init, the boot timer, reboot -f ends ember with status 0.
#   B  ext4 root on a virtio-blk drive, read-write, cache_type Writeback: the guest
#      reads the drive's serial (GET_ID), writes a file and syncs (FLUSH, counted in
#      ember's metrics), then init dies: the kernel panics (panic=-1 reboot=k),
#      resets through the i8042 and ember exits 0; the file is on the host's image
#      afterwards.
#   C  virtio-net, virtio-vsock, virtio-balloon and a drive swapped under the running
#      guest, through the guest's own drivers (below).
# Run by tests/run.sh, or on its own: bash tests/linux.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

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

# linux_check NAME REGEX WHAT: one check on a boot's output.
linux_check() {
	if grep -Eq -- "$2" "$TMP/$1.out"; then
		pass "linux:$1:$3"
	else
		fail "linux:$1:$3" "no line matching /$2/; last lines: $(tail -n 4 "$TMP/$1.out" | tr '\n' '|')"
	fi
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
	cmd='uname -a; echo "ember-cpus: $(nproc)"; for c in 0 1; do taskset -c $c cut -d" " -f39 /proc/self/stat | sed "s/^/ember-ran-on-cpu: /"; done'
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
#   drive    a 1 MiB scratch drive (vda) gets a new 2 MiB backing file through
#            PATCH /drives/scratch while the guest runs; afterwards the guest sees
#            the new size (the config-change interrupt) and the new file's bytes.
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
	rm -f "$TMP/ldev-vsock.sock" "$TMP/ldev-vsock.sock_5001" "$TMP/ldev-api.sock" \
		"$TMP/ldev-drive1.img" "$TMP/ldev-drive2.img"
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
	for _ in $(seq 100); do
		[ -S "${uds}_5001" ] && break
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
memfill FILL_MIB
vsock-echo listen 5000
mmds GET /latest/meta-data/id "$t"
echo "ember-mmds-patched: $bd"
echo "ember-mmds-patched-status: $st"
echo "ember-drive: $(cat /sys/block/vda/size) $(head -c 16 /dev/vda)"
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
    \"is_root_device\": false, \"is_read_only\": true } ],
  \"balloon\": { \"amount_mib\": 0, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 1 },
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
		code=$(ldev_api PATCH /mmds '{"latest": {"meta-data": {"id": "i-patched"}}}')
		[ "$code" = 204 ] || fail linux:devices:mmds-patch "PATCH /mmds: HTTP $code $(cat "$TMP/ldev-api.body")"
		code=$(ldev_api PATCH /drives/scratch "{\"drive_id\": \"scratch\", \"path_on_host\": \"$TMP/ldev-drive2.img\"}")
		[ "$code" = 204 ] || fail linux:devices:drive-swap-patch "PATCH /drives/scratch: HTTP $code $(cat "$TMP/ldev-api.body")"
		client=$(timeout 40 python3 -c "$LINUX_VSOCK_CLIENT" "$uds" 2>&1)
	else
		client="the guest never listened on port 5000"
		fail linux:devices:balloon "not run: the guest never got past memfill to listening on port 5000"
	fi
	# The guest resets after its last line: ember exits by itself.
	n=600
	while kill -0 $pid 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	if kill -0 $pid 2>/dev/null; then
		kill -KILL $pid 2>/dev/null
		wait $pid 2>/dev/null
		RC=124
	else
		wait $pid
		RC=$?
	fi
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

suite_end
