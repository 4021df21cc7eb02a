/* net.c - the net payloads' shared virtio-net exchange. See net.h. */
#include "net.h"

#define ETHERTYPE_HI 0x88
#define ETHERTYPE_LO 0xb5

void net_up(struct net_guest *n, uint32_t slots)
{
	static const uint8_t fallback[6] = {0x06, 0, 0, 0, 0, 0x01};
	uint32_t feat;

	memcpy(n->mac, fallback, 6);
	virtio_find(1, slots, "no virtio-net device in the virtio-mmio windows");
	virtio_begin();
	feat = virtio_device_features(0) & NET_F_MAC;
	virtio_features_ok(feat);
	if (feat & NET_F_MAC)
		for (int i = 0; i < 6; i++)
			n->mac[i] = mmio_read8(virtio_base + VIRTIO_REG_CONFIG + (uint32_t)i);
	virtq_setup(&n->rxq, 0);
	virtq_setup(&n->txq, 1);
	/* Receive buffers first: the host may answer as soon as it sees our frame. */
	for (uint16_t i = 0; i < NET_RX; i++) {
		n->rxq.desc[i] =
		    (struct virtq_desc){(uint32_t)n->rx_buf[i], NET_RX_BUF, VIRTQ_DESC_F_WRITE, 0};
		virtq_post(&n->rxq, i);
	}
	virtio_driver_ok();
	virtq_notify(&n->rxq);
}

void net_send(struct net_guest *n, const char *text, uint64_t cycles)
{
	/* Header (no offloads: zeros), broadcast, our MAC, the ethertype, the text. */
	uint8_t *f = n->tx_buf + NET_HDR;
	uint32_t id, len;

	memset(f, 0xff, 6);
	memcpy(f + 6, n->mac, 6);
	f[12] = ETHERTYPE_HI;
	f[13] = ETHERTYPE_LO;
	memcpy(f + 14, text, strlen(text) + 1);
	n->txq.desc[0] = (struct virtq_desc){(uint32_t)n->tx_buf, sizeof(n->tx_buf), 0, 0};
	virtq_post(&n->txq, 0);
	virtq_notify(&n->txq);
	id =
	    virtq_wait_used(&n->txq, cycles, "the device never returned the transmit buffer", &len);
	if (id != 0) {
		print("tx used element: id %u len %u\n", id, len);
		fail("unexpected tx used element");
	}
}

uint32_t net_receive(struct net_guest *n, const char *text, bool to_us, uint64_t cycles,
		     const char *what, uint32_t *len, uint32_t *skipped)
{
	uint32_t id, tlen = strlen(text);
	const uint8_t *f;

	*skipped = 0;
	for (;;) {
		id = virtq_wait_used(&n->rxq, cycles, what, len);
		if (id >= NET_RX || *len > NET_RX_BUF) {
			print("rx used element: id %u len %u\n", id, *len);
			fail("bad rx used element");
		}
		f = n->rx_buf[id] + NET_HDR;
		if (*len >= NET_HDR + 14 + tlen + 1 && f[12] == ETHERTYPE_HI &&
		    f[13] == ETHERTYPE_LO && !memcmp(f + 14, text, tlen) &&
		    (!to_us || !memcmp(f, n->mac, 6)))
			return id;
		if (++*skipped > 64)
			fail("64 frames from the host, none the expected one");
		virtq_post(&n->rxq, (uint16_t)id);
		virtq_notify(&n->rxq);
	}
}
