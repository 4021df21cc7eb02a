#!/usr/bin/env bash
# virtio-vsock end to end, with Firecracker's hybrid Unix sockets, driving the
# payload guest build/guests/virtio_vsock.elf (its kernel command line picks the
# direction); python3 plays the host side (tests/lib/vsock.sh).
#   vsock:host-to-guest    host connects to uds_path, "CONNECT 52", "OK <port>",
#                          "ping" -> "pong", closes; the guest prints SUCCESS
#   vsock:guest-to-host    a listener on <uds_path>_53 gets "hello", answers
#                          "world"; the guest prints it and SUCCESS
#   vsock:guest-refused    nobody on <uds_path>_54: the guest gets RST
#   vsock:config-bad-cid   guest_cid 2 is refused (exit 152), no KVM needed
# Run by tests/run.sh, or on its own: bash tests/vsock.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh
# shellcheck source=tests/lib/vsock.sh
source tests/lib/vsock.sh

VSOCK_ELF=$ROOT/build/guests/virtio_vsock.elf

# vsock_config FILE MODE UDS [CID]: the VM for the payload guest, with a vsock device.
vsock_config() {
	cat >"$1" <<EOF
{
  "boot-source": { "kernel_image_path": "$VSOCK_ELF", "boot_args": "console=ttyS0 vsock=$2" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "vsock": { "guest_cid": ${4:-3}, "uds_path": "$3" }
}
EOF
}

# vsock_why OUT: the reason to print for a failed run (ember's own words if it refused).
vsock_why() {
	if grep -Eq 'vsock.*(not supported|not wired)' "$1"; then
		echo "ember refuses the \"vsock\" key (vm_add_vsock is not wired in yet): $(grep -m1 'vsock' "$1")"
	else
		tail -n 4 "$1" | tr '\n' ' '
	fi
}

if want vsock:config-bad-cid; then
	cfg=$TMP/vsock-badcid.json out=$TMP/vsock-badcid.out
	vsock_config "$cfg" refused "$TMP/vb.sock" 2
	timeout 20 "$EMBER" --no-api --config-file "$cfg" </dev/null >"$out" 2>&1
	rc=$?
	if [ $rc -ne 152 ] || ! grep -q 'vsock.guest_cid' "$out"; then
		fail vsock:config-bad-cid "exit $rc, expected 152 naming vsock.guest_cid: $(vsock_why "$out")"
	else
		pass vsock:config-bad-cid
	fi
fi

VSOCK_OK=1
if [ "$KVM_OK" = 0 ]; then
	VSOCK_OK=0 VSOCK_SKIP=$KVM_WHY
elif ! command -v python3 >/dev/null; then
	VSOCK_OK=0 VSOCK_SKIP="python3 is not installed (scripts/install-deps.sh)"
elif [ ! -f "$VSOCK_ELF" ]; then
	VSOCK_OK=0 VSOCK_SKIP="$VSOCK_ELF is not built (make guests)"
fi

# (a) host -> guest: ember in the background, the client once the guest listens.
if want vsock:host-to-guest; then
	if [ $VSOCK_OK = 0 ]; then
		skip vsock:host-to-guest "$VSOCK_SKIP"
	else
		cfg=$TMP/vsock-listen.json out=$TMP/vsock-listen.out uds=$TMP/vl.sock
		vsock_config "$cfg" listen "$uds"
		"$EMBER" --no-api --config-file "$cfg" </dev/null >"$out" 2>&1 &
		pid=$!
		for _ in $(seq 600); do
			grep -q 'vsock: listening on port 52' "$out" && break
			kill -0 $pid 2>/dev/null || break
			sleep 0.05
		done
		if ! grep -q 'vsock: listening on port 52' "$out"; then
			kill -KILL $pid 2>/dev/null
			wait $pid 2>/dev/null
			fail vsock:host-to-guest "the guest never listened: $(vsock_why "$out")"
		else
			client=$(timeout 30 python3 -c "$VSOCK_CLIENT" "$uds" 2>&1)
			crc=$?
			wait_exit $pid 30
			if [ $crc -ne 0 ]; then
				fail vsock:host-to-guest "host side: $client; guest: $(vsock_why "$out")"
			elif [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$out"; then
				fail vsock:host-to-guest "exit $RC: $(vsock_why "$out")"
			elif ! grep -q '^vsock: got ping$' "$out"; then
				fail vsock:host-to-guest "the guest did not get ping: $(vsock_why "$out")"
			elif [ -e "$uds" ]; then
				fail vsock:host-to-guest "$uds was not removed at exit"
			else
				pass vsock:host-to-guest
			fi
		fi
	fi
fi

# (b) guest -> host: a listener on <uds>_53 first, then the VM.
if want vsock:guest-to-host; then
	if [ $VSOCK_OK = 0 ]; then
		skip vsock:guest-to-host "$VSOCK_SKIP"
	else
		cfg=$TMP/vsock-connect.json out=$TMP/vsock-connect.out uds=$TMP/vc.sock
		result=$TMP/vsock-listener.txt
		rm -f "$result" "${uds}_53"
		vsock_config "$cfg" connect "$uds"
		timeout 90 python3 -c "$VSOCK_LISTENER" "${uds}_53" "$result" 2>"$TMP/vsock-listener.err" &
		lpid=$!
		for _ in $(seq 200); do
			[ -S "${uds}_53" ] && break
			sleep 0.02
		done
		timeout 60 "$EMBER" --no-api --config-file "$cfg" </dev/null >"$out" 2>&1
		rc=$?
		[ $rc -eq 0 ] || kill "$lpid" 2>/dev/null
		wait_exit $lpid 10
		if [ $rc -ne 0 ] || ! grep -q '^SUCCESS$' "$out"; then
			fail vsock:guest-to-host "exit $rc: $(vsock_why "$out")"
		elif ! grep -q '^vsock: got world$' "$out"; then
			fail vsock:guest-to-host "the guest did not get the answer: $(vsock_why "$out")"
		elif ! grep -q "^got b'hello', then b''$" "$result" 2>/dev/null; then
			fail vsock:guest-to-host "host side: $(cat "$result" "$TMP/vsock-listener.err" 2>/dev/null | tr '\n' ' ')"
		else
			pass vsock:guest-to-host
		fi
		rm -f "${uds}_53"
	fi
fi

# (c) guest -> host port without a listener: RST.
if want vsock:guest-refused; then
	if [ $VSOCK_OK = 0 ]; then
		skip vsock:guest-refused "$VSOCK_SKIP"
	else
		cfg=$TMP/vsock-refused.json out=$TMP/vsock-refused.out
		vsock_config "$cfg" refused "$TMP/vr.sock"
		timeout 60 "$EMBER" --no-api --config-file "$cfg" </dev/null >"$out" 2>&1
		rc=$?
		if [ $rc -ne 0 ] || ! grep -q '^SUCCESS$' "$out" || ! grep -q '^vsock: port 54 refused$' "$out"; then
			fail vsock:guest-refused "exit $rc: $(vsock_why "$out")"
		else
			pass vsock:guest-refused
		fi
	fi
fi

suite_end
