# shellcheck shell=bash disable=SC2034 # its variables are for the scripts that source it
# tests/lib/net.sh: virtio-net's host side for the payload guest
# build/guests/virtio_net.elf (after tests/lib/common.sh): a network namespace of
# this run's own holding the TAP (scripts/lib/netns.sh, shared with the bench), and
# the python3 helper that checks the guest's frame and answers it. For tests/net.sh
# and tests/api.sh (api:guest-net*); net_cleanup removes the namespace.

NET_NS=ember-net-$$
NET_TAP=embtap0
NET_MAC=06:00:0a:00:02:02
NET_HELPER_PID=

net_cleanup() {
	if [ -n "$NET_HELPER_PID" ]; then
		kill "$NET_HELPER_PID" 2>/dev/null
		wait "$NET_HELPER_PID" 2>/dev/null
		NET_HELPER_PID=
	fi
	ip netns del "$NET_NS" 2>/dev/null
}

# shellcheck source=scripts/lib/netns.sh
source "$ROOT/scripts/lib/netns.sh"

# Why these tests cannot run on this host (empty: they can).
net_unavailable() {
	if [ "$KVM_OK" != 1 ]; then
		echo "$KVM_WHY"
	elif ! command -v python3 >/dev/null; then
		echo "python3 is not installed"
	else
		netns_unavailable
	fi
}

# The namespace and its TAP; prints why not on failure.
net_setup() {
	netns_tap_add "$NET_NS" "$NET_TAP" 10.0.2.1/30
}

# The host side: waits for the guest's frame on the TAP, checks it, answers.
net_write_helper() {
	cat >"$1" <<'PY'
import socket, sys

tap, mac_s, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
mac = bytes.fromhex(mac_s.replace(":", ""))
ETHERTYPE = 0x88B5
PACKET_OUTGOING = 4
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE))
s.bind((tap, ETHERTYPE))
s.settimeout(timeout)
print("READY", flush=True)
while True:
    try:
        frame, addr = s.recvfrom(65536)
    except socket.timeout:
        print("no frame from the guest in %g s" % timeout)
        sys.exit(1)
    if addr[2] == PACKET_OUTGOING or frame[12:14] != b"\x88\xb5":
        continue
    break
if frame[14:42] != b"ember virtio-net guest->host":
    print("unexpected payload:", frame[14:60])
    sys.exit(1)
if frame[6:12] != mac:
    print("source MAC %s, expected %s" % (frame[6:12].hex(":"), mac_s))
    sys.exit(1)
if frame[0:6] != b"\xff" * 6:
    print("destination %s, expected broadcast" % frame[0:6].hex(":"))
    sys.exit(1)
print("guest frame: %d bytes from %s" % (len(frame), mac_s), flush=True)
with open("/sys/class/net/%s/address" % tap) as f:
    host_mac = bytes.fromhex(f.read().strip().replace(":", ""))
reply = mac + host_mac + b"\x88\xb5" + b"ember virtio-net host->guest"
s.send(reply + bytes(60 - len(reply)))
print("answer sent", flush=True)
PY
}
