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
#include "virtio.h"

#define F_MAC	    (1u << 5) /* feature word 0 */
#define NR_RX	    4
#define HDR	    12	 /* struct virtio_net_hdr_v1 */
#define RX_BUF	    1536 /* >= 1526: header + a 1514-byte frame */
#define FRAME_LEN   60
#define WAIT_CYCLES 200000000000ULL

static struct virtq rxq, txq;
static uint8_t rx_buf[NR_RX][RX_BUF];
static uint8_t tx_buf[HDR + FRAME_LEN];

static const char to_host[] = "ember virtio-net guest->host";
static const char to_guest[] = "ember virtio-net host->guest";

int main(void);
int main(void)
{
	uint8_t mac[6] = {0x06, 0, 0, 0, 0, 0x01}, *f;
	uint32_t feat, id, len, skipped = 0;

	virtio_find(1, 16, "no virtio-net device in the virtio-mmio windows");
	virtio_begin();
	feat = virtio_device_features(0) & F_MAC;
	virtio_features_ok(feat);
	if (feat & F_MAC)
		for (int i = 0; i < 6; i++)
			mac[i] = mmio_read8(virtio_base + VIRTIO_REG_CONFIG + (uint32_t)i);
	virtq_setup(&rxq, 0);
	virtq_setup(&txq, 1);
	for (uint16_t i = 0; i < NR_RX; i++) {
		rxq.desc[i] =
		    (struct virtq_desc){(uint32_t)rx_buf[i], RX_BUF, VIRTQ_DESC_F_WRITE, 0};
		virtq_post(&rxq, i);
	}
	virtio_driver_ok();
	virtq_notify(&rxq);
	putln("net: waiting");

	for (;;) {
		id = virtq_wait_used(&rxq, WAIT_CYCLES, "no frame from the host", &len);
		if (id >= NR_RX || len > RX_BUF) {
			print("rx used element: id %u len %u\n", id, len);
			fail("bad rx used element");
		}
		f = rx_buf[id] + HDR;
		if (len >= HDR + 14 + sizeof(to_guest) && f[12] == 0x88 && f[13] == 0xb5 &&
		    !memcmp(f + 14, to_guest, sizeof(to_guest) - 1) && !memcmp(f, mac, 6))
			break;
		if (++skipped > 64)
			fail("64 frames from the host, none the expected one");
		virtq_post(&rxq, (uint16_t)id);
		virtq_notify(&rxq);
	}
	print("net: got the host's frame, %u bytes\n", len - HDR);

	f = tx_buf + HDR;
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x88;
	f[13] = 0xb5;
	memcpy(f + 14, to_host, sizeof(to_host));
	txq.desc[0] = (struct virtq_desc){(uint32_t)tx_buf, sizeof(tx_buf), 0, 0};
	virtq_post(&txq, 0);
	virtq_notify(&txq);
	id = virtq_wait_used(&txq, WAIT_CYCLES, "the device never returned the transmit buffer",
			     &len);
	if (id != 0)
		fail("unexpected tx used element");
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	putln("SUCCESS");
	reset();
}
