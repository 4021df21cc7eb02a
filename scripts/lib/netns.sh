#!/usr/bin/env bash
# Sourced by tests/lib/net.sh, tests/linux.sh and bench/devices.sh: a network
# namespace of the caller's own with a TAP in it, for ember's virtio-net (and QEMU's)
# to use. Safe under set -euo pipefail.

# netns_unavailable: why a namespace with a TAP cannot be made here (empty: it can).
netns_unavailable() {
	if [ "$(id -u)" != 0 ]; then
		echo "needs root (a network namespace and a TAP device)"
	elif ! command -v ip >/dev/null; then
		echo "ip (iproute2) is not installed"
	elif [ ! -c /dev/net/tun ]; then
		echo "/dev/net/tun does not exist (no tun driver)"
	fi
}

# netns_tap_add NS TAP [ADDR/PREFIX [OWNER]]: the namespace NS with lo up and the TAP in
# it, up (with ADDR on it when given, owned by the uid OWNER when given: OWNER attaches it
# with no capability). On failure prints why in one line and returns 1; the caller removes
# NS (ip netns del) either way.
netns_tap_add() {
	local ns=$1 tap=$2 addr=${3:-} owner=${4:-} err
	if ! err=$(ip netns add "$ns" 2>&1); then
		echo "ip netns add $ns failed: ${err%%$'\n'*}"
		return 1
	fi
	# No IPv6: fewer unrelated frames (router solicitations, MLD) on the TAP.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv6.conf.all.disable_ipv6=1 >/dev/null 2>&1 || true
	# lo must be up: in a fresh namespace with lo down the TAP's frames were dropped.
	if ! err=$({ ip -n "$ns" tuntap add dev "$tap" mode tap ${owner:+user "$owner"} &&
		ip -n "$ns" link set lo up &&
		{ [ -z "$addr" ] || ip -n "$ns" addr add "$addr" dev "$tap"; } &&
		ip -n "$ns" link set "$tap" up; } 2>&1); then
		echo "cannot create the TAP $tap in namespace $ns: ${err%%$'\n'*}"
		return 1
	fi
}
