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
#include "virtio.h"

#define MMIO_SLOTS 16

#define F_MAC	     (1u << 5) /* feature word 0 */
#define NR_RX	     4
#define HDR	     12	  /* struct virtio_net_hdr_v1 */
#define RX_BUF	     1536 /* >= 1526: header + a 1514-byte frame */
#define ETHERTYPE_HI 0x88
#define ETHERTYPE_LO 0xb5
#define FRAME_LEN    60 /* the Ethernet minimum without FCS */

static struct virtq rxq, txq;
static uint8_t rx_buf[NR_RX][RX_BUF];
static uint8_t tx_buf[HDR + FRAME_LEN];

static const char to_host[] = "ember virtio-net guest->host";
static const char to_guest[] = "ember virtio-net host->guest";

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
	uint8_t mac[6] = {0x06, 0, 0, 0, 0, 0x01}; /* if the device has no MAC */
	uint32_t feat, id, len, skipped = 0;
	uint8_t *f;

	virtio_find(1, MMIO_SLOTS, "no virtio-net device in the virtio-mmio windows");
	virtio_begin();
	feat = virtio_device_features(0) & F_MAC;
	virtio_features_ok(feat);
	if (feat & F_MAC)
		for (int i = 0; i < 6; i++)
			mac[i] = mmio_read8(virtio_base + VIRTIO_REG_CONFIG + (uint32_t)i);

	virtq_setup(&rxq, 0);
	virtq_setup(&txq, 1);
	/* Receive buffers first: the host answers as soon as it sees our frame. */
	for (uint16_t i = 0; i < NR_RX; i++) {
		rxq.desc[i] =
		    (struct virtq_desc){(uint32_t)rx_buf[i], RX_BUF, VIRTQ_DESC_F_WRITE, 0};
		virtq_post(&rxq, i);
	}
	virtio_driver_ok();
	virtq_notify(&rxq);

	/* One frame: header (no offloads: zeros), broadcast, our MAC, 0x88B5, the text. */
	f = tx_buf + HDR;
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE_HI;
	f[13] = ETHERTYPE_LO;
	memcpy(f + 14, to_host, sizeof(to_host));
	txq.desc[0] = (struct virtq_desc){(uint32_t)tx_buf, sizeof(tx_buf), 0, 0};
	virtq_post(&txq, 0);
	virtq_notify(&txq);
	id = virtq_wait_used(&txq, VIRTIO_WAIT_CYCLES,
			     "the device never returned the transmit buffer", &len);
	if (id != 0) {
		print("tx used element: id %u len %u\n", id, len);
		fail("unexpected tx used element");
	}

	/* Frames until the host's answer; anything else goes back to the device. */
	for (;;) {
		id = virtq_wait_used(&rxq, 4 * VIRTIO_WAIT_CYCLES, "no answer from the host", &len);
		if (id >= NR_RX || len > RX_BUF) {
			print("rx used element: id %u len %u\n", id, len);
			fail("bad rx used element");
		}
		f = rx_buf[id] + HDR;
		if (len >= HDR + 14 + sizeof(to_guest) && f[12] == ETHERTYPE_HI &&
		    f[13] == ETHERTYPE_LO && !memcmp(f + 14, to_guest, sizeof(to_guest) - 1))
			break;
		if (++skipped > 64)
			fail("64 frames from the host, none the answer");
		virtq_post(&rxq, (uint16_t)id);
		virtq_notify(&rxq);
	}
	if (rx_buf[id][10] != 1 || rx_buf[id][11] != 0)
		fail("num_buffers is not 1");
	if (memcmp(f, mac, 6))
		fail("the answer is not addressed to our MAC");
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");

	puts("virtio-net: mac ");
	put_mac(mac);
	print(", sent %u bytes, got %u bytes (%u other frames skipped)\n", FRAME_LEN, len - HDR,
	      skipped);
	virtio_set_status(0);
	putln("SUCCESS");
	reset();
}
