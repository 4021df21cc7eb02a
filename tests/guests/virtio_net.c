/*
 * virtio_net: a minimal virtio-mmio (version 2) driver for the network device
 * ember places for a "network-interfaces" entry (tests/net.sh runs it with a
 * TAP in a network namespace). Finds the device (id 1) among the virtio-mmio
 * windows from 0xC0001000, accepts VERSION_1 and MAC only (no offloads, no
 * MRG_RXBUF: every receive buffer holds a whole frame), posts receive buffers,
 * sends one Ethernet frame (ethertype 0x88B5, "ember virtio-net guest->host"),
 * and waits for the host's answer ("ember virtio-net host->guest"), skipping
 * and re-posting anything else the host sends meanwhile. Polls the used rings
 * (no interrupts). Small on purpose: CPL0 code is interpreted on kvm_pvm hosts.
 */
#include "net.h"

static struct net_guest net;

static void put_mac(const uint8_t *mac)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < 6; i++) {
		uart_putc(digits[mac[i] >> 4]);
		uart_putc(digits[mac[i] & 0xf]);
		if (i < 5)
			uart_putc(':');
	}
}

int main(void);
int main(void)
{
	uint32_t id, len, skipped;

	net_up(&net, VIRTIO_MMIO_SLOTS);
	net_send(&net, "ember virtio-net guest->host", VIRTIO_WAIT_CYCLES);
	/* Frames until the host's answer; anything else goes back to the device. */
	id = net_receive(&net, "ember virtio-net host->guest", false, 4 * VIRTIO_WAIT_CYCLES,
			 "no answer from the host", &len, &skipped);
	if (net.rx_buf[id][10] != 1 || net.rx_buf[id][11] != 0)
		fail("num_buffers is not 1");
	if (memcmp(net.rx_buf[id] + NET_HDR, net.mac, 6))
		fail("the answer is not addressed to our MAC");
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");

	puts("virtio-net: mac ");
	put_mac(net.mac);
	print(", sent %u bytes, got %u bytes (%u other frames skipped)\n", NET_FRAME_LEN,
	      len - NET_HDR, skipped);
	virtio_set_status(0);
	putln("SUCCESS");
	reset();
}
