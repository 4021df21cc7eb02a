/*
 * net_wait: for tests/snapshot.sh, a virtio-net guest snapshotted while it
 * waits. Brings up the network device (VERSION_1 and MAC only), posts receive
 * buffers, prints "net: waiting", then polls its receive ring for the host's
 * frame (ethertype 0x88B5, "ember virtio-net host->guest"), skipping and
 * re-posting anything else; then sends one frame ("ember virtio-net
 * guest->host"), waits for the transmit buffer back and prints SUCCESS. The
 * test snapshots it while it waits, in a VM with nobody at the TAP, and
 * restores it where a helper sends the host's frame: only a restored device
 * with its TAP reopened delivers it. Polling only; a wait of about a minute of
 * TSC (it spans the snapshot). Small on purpose: CPL0 code is interpreted on
 * kvm_pvm hosts.
 */
#include "net.h"

#define WAIT_CYCLES 200000000000ULL

static struct net_guest net;

int main(void);
int main(void)
{
	uint32_t len, skipped;

	net_up(&net, VIRTIO_MMIO_SLOTS);
	putln("net: waiting");
	net_receive(&net, "ember virtio-net host->guest", true, WAIT_CYCLES,
		    "no frame from the host", &len, &skipped);
	print("net: got the host's frame, %u bytes\n", len - NET_HDR);
	net_send(&net, "ember virtio-net guest->host", WAIT_CYCLES);
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	putln("SUCCESS");
	reset();
}
