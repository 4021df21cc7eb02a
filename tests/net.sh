#!/usr/bin/env bash
# virtio-net end to end, with a real TAP. A network namespace of its own holds the
# TAP (10.0.2.1/30 on the host side); ember runs inside it (ip netns exec) with
# build/guests/virtio_net.elf, and a Python helper on a raw AF_PACKET socket bound
# to the TAP plays the host (both in tests/lib/net.sh): the guest sends a broadcast
# frame (ethertype 0x88B5, "ember virtio-net guest->host") from its configured MAC,
# the helper checks it and answers to that MAC, the guest checks the answer and
# prints SUCCESS. Also: a missing TAP is refused (exit 152) with its name in the
# message. Needs root (ip netns, TAPs) and python3, and skips with the reason
# without them. The namespace, and the TAP in it, is removed on every path (an exit
# hook while the tests run).
# Run by tests/run.sh, or on its own: bash tests/net.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh
# shellcheck source=tests/lib/net.sh
source tests/lib/net.sh

NET_TESTS=(net:roundtrip net:missing_tap)

# ember before the lead wired network-interfaces: say so instead of a bare failure.
net_not_wired() { # OUTPUT_FILE
	grep -q 'network-interfaces.*not supported' "$1"
}

net_roundtrip() {
	local name=net:roundtrip cfg=$TMP/net.json out=$TMP/net.out hout=$TMP/net-helper.out
	local py=$TMP/net_helper.py rc hrc
	net_write_helper "$py"
	write_config "$cfg" "$ROOT/build/guests/virtio_net.elf" 1 "" "" \
		"\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"$NET_TAP\", \"guest_mac\": \"$NET_MAC\"}]"
	ip netns exec "$NET_NS" "$(command -v python3)" "$py" "$NET_TAP" "$NET_MAC" 40 >"$hout" 2>&1 &
	NET_HELPER_PID=$!
	for _ in $(seq 100); do
		grep -q READY "$hout" 2>/dev/null && break
		kill -0 $NET_HELPER_PID 2>/dev/null || break
		sleep 0.05
	done
	if ! grep -q READY "$hout"; then
		fail "$name" "the host-side helper did not start: $(tail -n 3 "$hout" | tr '\n' ' ')"
		return
	fi
	ip netns exec "$NET_NS" timeout 60 "$EMBER" --no-api --config-file "$cfg" </dev/null \
		>"$out" 2>&1
	rc=$?
	# The helper answered before the guest could end well: a moment, then it goes.
	for _ in $(seq 40); do
		kill -0 $NET_HELPER_PID 2>/dev/null || break
		sleep 0.05
	done
	kill $NET_HELPER_PID 2>/dev/null
	wait $NET_HELPER_PID
	hrc=$?
	NET_HELPER_PID=
	if net_not_wired "$out"; then
		fail "$name" "ember refuses network-interfaces (not wired yet: config parsing and vm_add_net): $(tail -n 1 "$out")"
	elif [ $rc -eq 124 ]; then
		fail "$name" "timed out; guest: $(tail -n 2 "$out" | tr '\n' ' ') helper: $(tail -n 2 "$hout" | tr '\n' ' ')"
	elif [ $rc -ne 0 ] || ! grep -q '^SUCCESS$' "$out"; then
		fail "$name" "exit $rc; guest: $(tail -n 3 "$out" | tr '\n' ' ') helper: $(tail -n 2 "$hout" | tr '\n' ' ')"
	elif [ $hrc -ne 0 ]; then
		fail "$name" "host side: $(tail -n 2 "$hout" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

net_missing_tap() {
	local name=net:missing_tap cfg=$TMP/net-missing.json out=$TMP/net-missing.out rc
	write_config "$cfg" "$ROOT/build/guests/virtio_net.elf" 1 "" "" \
		'"network-interfaces": [{"iface_id": "eth0", "host_dev_name": "embnotap0"}]'
	ip netns exec "$NET_NS" timeout 30 "$EMBER" --no-api --config-file "$cfg" </dev/null \
		>"$out" 2>&1
	rc=$?
	if net_not_wired "$out"; then
		fail "$name" "ember refuses network-interfaces (not wired yet: config parsing and vm_add_net): $(tail -n 1 "$out")"
	elif [ $rc -ne 152 ]; then
		fail "$name" "exit $rc, expected 152; output: $(tail -n 3 "$out" | tr '\n' ' ')"
	elif ! grep -q 'embnotap0.*does not exist' "$out"; then
		fail "$name" "the error does not name the missing TAP: $(tail -n 2 "$out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

net_main() {
	local t why wanted=()
	for t in "${NET_TESTS[@]}"; do
		want "$t" && wanted+=("$t")
	done
	[ ${#wanted[@]} -gt 0 ] || return 0
	why=$(net_unavailable)
	if [ -n "$why" ]; then
		for t in "${wanted[@]}"; do skip "$t" "$why"; done
		return 0
	fi
	exit_hook_push net_cleanup
	if ! why=$(net_setup); then
		for t in "${wanted[@]}"; do skip "$t" "$why"; done
	else
		want net:roundtrip && net_roundtrip
		want net:missing_tap && net_missing_tap
	fi
	net_cleanup
	exit_hook_pop
}

net_main

suite_end
