/*
 * netbench.c - the net-throughput benchmark's payload (bench/devices.sh): a polling virtio-net
 * driver on the shared guest-side library (tests/guests/lib/virtio.h) that runs under ember and
 * QEMU microvm alike (virtio_find_any). Both queues have QSIZE entries, the guest asks for no
 * interrupts, and buffers go out in batches (virtq_publish: one index store and at most one
 * notification per batch), so the guest does almost no work per frame: guest kernel-mode code
 * is interpreted on kvm_pvm hosts, and per-frame guest work would be what we measure.
 *
 * Command-line words choose what it does once the device is up:
 *   (none)  transmit TX_FRAMES MTU frames (bench/netframe.h: 1514 bytes, no offloads);
 *   gso     negotiate CSUM + HOST_TSO4 and transmit GSO_FRAMES 64 KiB TCP/IPv4 GSO frames;
 *   rx      receive RX_FRAMES frames (the host pushes MTU frames into the TAP) and count them;
 *   nosend  nothing: the empty-boot baseline (the same bring-up and ring set-up).
 * Transmit: every descriptor points at the one frame at TX_BUF (the device reads it each
 * time), the ring is kept at least half full (refilled to QSIZE in flight whenever half of it
 * came back). Receive: QSIZE buffers of RX_BUF_LEN bytes at RX_BUF, each handed back as soon
 * as a quarter of the ring was used; the last frame of each batch is checked (length,
 * ethertype). Prints "netbench: tx N frames of L bytes" (or rx, or "device up"), resets.
 */
#include "virtio.h"

#include "netframe.h"

#define F_CSUM	    (1u << 0) /* feature word 0 */
#define F_MAC	    (1u << 5)
#define F_HOST_TSO4 (1u << 11)
#define QSIZE	    256
#define TX_FRAMES   177320u	/* 256 MiB (268.5 MB) of MTU frames */
#define GSO_FRAMES  65536u	/* 4 GiB of GSO frames */
#define RX_FRAMES   88660u	/* 128 MiB of MTU frames */
#define TX_BUF	    0x01000000u /* 16 MiB: the transmitted frame (header + up to 64 KiB) */
#define RX_BUF	    0x01100000u /* 17 MiB: QSIZE receive buffers */
#define RX_BUF_LEN  1536	/* >= header + 1514 */

static uint8_t ring_mem[2][VIRTQ_RING_BYTES(QSIZE)] __attribute__((aligned(16)));
static struct virtq rxq, txq;

/* Waits (bounded) for used elements on @vq; returns how many came back. */
static uint16_t wait_used(struct virtq *vq, const char *what)
{
	uint64_t t0 = rdtsc();
	uint32_t spins = 0;
	uint16_t k;

	while (!(k = virtq_take_used(vq))) {
		if (!(++spins & 1023) && rdtsc() - t0 > VIRTIO_WAIT_CYCLES)
			fail(what);
		cpu_relax();
	}
	virtq_check_in_order(vq);
	return k;
}

/* Sends @frames frames: QSIZE in flight, topped up whenever at most half are. */
static void tx(uint32_t frames)
{
	uint32_t sent = frames < QSIZE ? frames : QSIZE, done = 0;

	virtq_publish(&txq, (uint16_t)sent);
	virtq_kick(&txq);
	while (done < frames) {
		done += wait_used(&txq, "the device stopped taking frames");
		if (sent < frames && sent - done <= QSIZE / 2) {
			uint32_t n = QSIZE - (sent - done);

			if (n > frames - sent)
				n = frames - sent;
			virtq_publish(&txq, (uint16_t)n);
			sent += n;
			virtq_kick(&txq);
		}
	}
}

/* Receives @frames frames, checking the last of each batch. */
static void rx(uint32_t frames)
{
	uint32_t posted = QSIZE, got = 0;

	virtq_publish(&rxq, QSIZE);
	virtq_kick(&rxq);
	while (got < frames) {
		uint32_t last, len;
		const uint8_t *f;

		got += wait_used(&rxq, "no frames from the host");
		last = (uint16_t)(rxq.used_seen - 1) & (QSIZE - 1);
		len = rxq.used[2 + 2 * last];
		f = (const uint8_t *)(RX_BUF + last * RX_BUF_LEN) + NETFRAME_HDR;
		if (len != NETFRAME_HDR + NETFRAME_MTU_LEN || f[12] != NETFRAME_ETHERTYPE >> 8 ||
		    f[13] != (NETFRAME_ETHERTYPE & 0xff)) {
			print("rx frame %u: %u bytes, ethertype %x\n", got, len,
			      (uint32_t)f[12] << 8 | f[13]);
			fail("a frame that is not the host's");
		}
		if (posted - got <= QSIZE * 3 / 4) {
			uint32_t n = QSIZE - (posted - got);

			virtq_publish(&rxq, (uint16_t)n);
			posted += n;
			virtq_kick(&rxq);
		}
	}
}

int main(void);
int main(void)
{
	bool gso = cmdline_has("gso"), idle = cmdline_has("nosend");
	uint8_t mac[6] = NETFRAME_GUEST_MAC;
	uint32_t want = F_MAC | (gso ? F_CSUM | F_HOST_TSO4 : 0), feat, len = netframe_len(gso);

	virtio_find_any(1, "no virtio-net device");
	virtio_begin();
	feat = virtio_device_features(0) & want;
	if (gso && (feat & (F_CSUM | F_HOST_TSO4)) != (F_CSUM | F_HOST_TSO4))
		fail("the device does not offer CSUM and HOST_TSO4");
	virtio_features_ok(feat);
	if (feat & F_MAC)
		for (uint32_t i = 0; i < 6; i++)
			mac[i] = mmio_read8(virtio_base + VIRTIO_REG_CONFIG + i);

	virtq_setup_ring(&rxq, 0, QSIZE, ring_mem[0]);
	virtq_setup_ring(&txq, 1, QSIZE, ring_mem[1]);
	virtq_no_interrupts(&rxq);
	virtq_no_interrupts(&txq);
	virtq_ring_identity(&rxq);
	virtq_ring_identity(&txq);
	for (uint32_t i = 0; i < QSIZE; i++) {
		txq.desc[i] = (struct virtq_desc){TX_BUF, NETFRAME_HDR + len, 0, 0};
		rxq.desc[i] =
		    (struct virtq_desc){RX_BUF + i * RX_BUF_LEN, RX_BUF_LEN, VIRTQ_DESC_F_WRITE, 0};
	}
	netframe_build((uint8_t *)TX_BUF, gso, mac);
	virtio_driver_ok();

	if (idle) {
		putln("netbench: device up, nothing sent");
	} else if (cmdline_has("rx")) {
		rx(RX_FRAMES);
		print("netbench: rx %u frames of %u bytes\n", RX_FRAMES, NETFRAME_MTU_LEN);
	} else {
		tx(gso ? GSO_FRAMES : TX_FRAMES);
		print("netbench: tx %u frames of %u bytes\n", gso ? GSO_FRAMES : TX_FRAMES, len);
	}
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	virtio_set_status(0);
	reset();
}
