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
#include "lib.h"

#define MMIO_FIRST  0xC0001000u
#define MMIO_WINDOW 0x1000u
#define MMIO_SLOTS  16

#define REG_MAGIC	      0x000
#define REG_VERSION	      0x004
#define REG_DEVICE_ID	      0x008
#define REG_DEVICE_FEATURES   0x010
#define REG_DEVICE_FEAT_SEL   0x014
#define REG_DRIVER_FEATURES   0x020
#define REG_DRIVER_FEAT_SEL   0x024
#define REG_QUEUE_SEL	      0x030
#define REG_QUEUE_NUM_MAX     0x034
#define REG_QUEUE_NUM	      0x038
#define REG_QUEUE_READY	      0x044
#define REG_QUEUE_NOTIFY      0x050
#define REG_STATUS	      0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG	      0x100

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define F_MAC	     (1u << 5) /* feature word 0 */
#define DESC_F_WRITE 2
#define QSIZE	     8
#define NR_RX	     4
#define HDR	     12	  /* struct virtio_net_hdr_v1 */
#define RX_BUF	     1536 /* >= 1526: header + a 1514-byte frame */
#define ETHERTYPE_HI 0x88
#define ETHERTYPE_LO 0xb5
#define FRAME_LEN    60		    /* the Ethernet minimum without FCS */
#define WAIT_CYCLES  10000000000ULL /* a few seconds of TSC, however slow the CPU runs */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct queue {
	struct desc desc[QSIZE] __attribute__((aligned(16)));
	volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2))); /* flags idx ring ev */
	volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4))); /* flags|idx, ring */
	uint16_t avail_idx, used_seen;
};

static struct queue rxq, txq;
static uint8_t rx_buf[NR_RX][RX_BUF];
static uint8_t tx_buf[HDR + FRAME_LEN];
static uint32_t base;

static const char to_host[] = "ember virtio-net guest->host";
static const char to_guest[] = "ember virtio-net host->guest";

static uint32_t rd(uint32_t off)
{
	return mmio_read32(base + off);
}

static void wr(uint32_t off, uint32_t v)
{
	mmio_write32(base + off, v);
}

static void barrier(void)
{
	__asm__ volatile("" ::: "memory"); /* x86 keeps stores in order; the compiler must too */
}

static void set_status(uint32_t s)
{
	wr(REG_STATUS, s);
	if (rd(REG_STATUS) != s) {
		print("status %x reads back %x\n", s, rd(REG_STATUS));
		fail("device status refused");
	}
}

static void setup_queue(uint32_t q, struct queue *vq)
{
	wr(REG_QUEUE_SEL, q);
	if (rd(REG_QUEUE_READY) != 0)
		fail("queue ready before set-up");
	if (rd(REG_QUEUE_NUM_MAX) < QSIZE)
		fail("queue too small");
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
}

/* Makes descriptor @head available (the notification is the caller's). */
static void post(struct queue *vq, uint16_t head)
{
	vq->avail[2 + vq->avail_idx % QSIZE] = head;
	barrier(); /* the descriptor and ring entry before idx */
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	barrier();
}

/* Waits for the next used element of @vq; returns its id, its length in *len. */
static uint32_t wait_used(struct queue *vq, uint64_t cycles, const char *what, uint32_t *len)
{
	uint64_t start = rdtsc();
	uint32_t e;

	while ((uint16_t)(vq->used[0] >> 16) == vq->used_seen) { /* used->idx */
		if (rdtsc() - start > cycles)
			fail(what);
		cpu_relax();
	}
	barrier(); /* x86 keeps loads in order: the element after idx */
	e = 1 + 2 * (vq->used_seen % QSIZE);
	vq->used_seen++;
	*len = vq->used[e + 1];
	return vq->used[e];
}

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

static void find_device(void)
{
	for (uint32_t i = 0; i < MMIO_SLOTS; i++) {
		base = MMIO_FIRST + i * MMIO_WINDOW;
		if (rd(REG_MAGIC) == 0x74726976u && rd(REG_DEVICE_ID) == 1) {
			if (rd(REG_VERSION) != 2)
				fail("virtio-mmio version is not 2");
			return;
		}
	}
	fail("no virtio-net device in the virtio-mmio windows");
}

int main(void);
int main(void)
{
	uint8_t mac[6] = {0x06, 0, 0, 0, 0, 0x01}; /* if the device has no MAC */
	uint32_t feat, id, len, skipped = 0;
	uint8_t *f;

	find_device();
	set_status(0);
	set_status(S_ACK);
	set_status(S_ACK | S_DRIVER);
	wr(REG_DEVICE_FEAT_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		fail("VIRTIO_F_VERSION_1 not offered");
	wr(REG_DEVICE_FEAT_SEL, 0);
	feat = rd(REG_DEVICE_FEATURES) & F_MAC;
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, feat);
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 (bit 32) */
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK);
	if (feat & F_MAC)
		for (int i = 0; i < 6; i++)
			mac[i] = mmio_read8(base + REG_CONFIG + (uint32_t)i);

	setup_queue(0, &rxq);
	setup_queue(1, &txq);
	/* Receive buffers first: the host answers as soon as it sees our frame. */
	for (uint16_t i = 0; i < NR_RX; i++) {
		rxq.desc[i] = (struct desc){(uint32_t)rx_buf[i], RX_BUF, DESC_F_WRITE, 0};
		post(&rxq, i);
	}
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	wr(REG_QUEUE_NOTIFY, 0);

	/* One frame: header (no offloads: zeros), broadcast, our MAC, 0x88B5, the text. */
	f = tx_buf + HDR;
	memset(f, 0xff, 6);
	memcpy(f + 6, mac, 6);
	f[12] = ETHERTYPE_HI;
	f[13] = ETHERTYPE_LO;
	memcpy(f + 14, to_host, sizeof(to_host));
	txq.desc[0] = (struct desc){(uint32_t)tx_buf, sizeof(tx_buf), 0, 0};
	post(&txq, 0);
	wr(REG_QUEUE_NOTIFY, 1);
	id = wait_used(&txq, WAIT_CYCLES, "the device never returned the transmit buffer", &len);
	if (id != 0) {
		print("tx used element: id %u len %u\n", id, len);
		fail("unexpected tx used element");
	}

	/* Frames until the host's answer; anything else goes back to the device. */
	for (;;) {
		id = wait_used(&rxq, 4 * WAIT_CYCLES, "no answer from the host", &len);
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
		post(&rxq, (uint16_t)id);
		wr(REG_QUEUE_NOTIFY, 0);
	}
	if (rx_buf[id][10] != 1 || rx_buf[id][11] != 0)
		fail("num_buffers is not 1");
	if (memcmp(f, mac, 6))
		fail("the answer is not addressed to our MAC");
	if (rd(REG_STATUS) & S_NEEDS_RESET)
		fail("device needs a reset");

	puts("virtio-net: mac ");
	put_mac(mac);
	print(", sent %u bytes, got %u bytes (%u other frames skipped)\n", FRAME_LEN, len - HDR,
	      skipped);
	set_status(0);
	putln("SUCCESS");
	reset();
}
