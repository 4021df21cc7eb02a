/*
 * virtio_rng: a minimal virtio-mmio (version 2) driver for the entropy device
 * ember puts at 0xC0001000 when the configuration has "entropy": {}. Brings it
 * up by the book (virtio 1.x 3.1.1), posts one 64-byte device-writable buffer on
 * a queue of 8, notifies, polls the used ring (no interrupts needed), checks the
 * bytes, and resets the device. Small on purpose: CPL0 code is interpreted on
 * kvm_pvm hosts.
 */
#include "lib.h"

#define VIRTIO_BASE 0xC0001000u

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
#define REG_INTERRUPT_STATUS  0x060
#define REG_INTERRUPT_ACK     0x064
#define REG_STATUS	      0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define DESC_F_WRITE 2
#define QSIZE	     8
#define REQ_LEN	     64
#define WAIT_CYCLES  10000000000ULL /* a few seconds of TSC, however slow the CPU runs */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* The three ring areas (paging is off: these addresses are guest-physical). */
static struct desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2))); /* flags idx ring ev */
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4))); /* flags|idx, ring */
static uint8_t buf[REQ_LEN];

static uint32_t rd(uint32_t off)
{
	return mmio_read32(VIRTIO_BASE + off);
}

static void wr(uint32_t off, uint32_t v)
{
	mmio_write32(VIRTIO_BASE + off, v);
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

int main(void);
int main(void)
{
	uint32_t v, id, len, nonzero = 0;
	uint64_t start;

	if (rd(REG_MAGIC) != 0x74726976u || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 4) {
		print("at %x: magic %x version %u device %u\n", VIRTIO_BASE, rd(REG_MAGIC),
		      rd(REG_VERSION), rd(REG_DEVICE_ID));
		fail("no virtio-mmio v2 entropy device");
	}

	set_status(0);
	set_status(S_ACK);
	set_status(S_ACK | S_DRIVER);
	wr(REG_DEVICE_FEAT_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		fail("VIRTIO_F_VERSION_1 not offered");
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 (bit 32) only */
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK);

	wr(REG_QUEUE_SEL, 0);
	if (rd(REG_QUEUE_READY) != 0)
		fail("queue 0 ready before set-up");
	v = rd(REG_QUEUE_NUM_MAX);
	if (v < QSIZE) {
		print("QueueNumMax %u\n", v);
		fail("queue 0 too small");
	}
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

	/* One request: a single device-writable buffer. */
	desc[0].addr = (uint32_t)buf;
	desc[0].len = REQ_LEN;
	desc[0].flags = DESC_F_WRITE;
	desc[0].next = 0;
	avail[2] = 0; /* ring[0] = head 0 */
	barrier();    /* the descriptor and ring entry before idx */
	avail[1] = 1; /* idx */
	barrier();
	wr(REG_QUEUE_NOTIFY, 0);

	start = rdtsc();
	while ((used[0] >> 16) == 0) { /* used->idx */
		if (rdtsc() - start > WAIT_CYCLES)
			fail("no used buffer from the device");
		cpu_relax();
	}
	barrier(); /* x86 keeps loads in order: the element after idx */
	id = used[1];
	len = used[2];
	if (id != 0 || len != REQ_LEN) {
		print("used element: id %u len %u\n", id, len);
		fail("unexpected used element");
	}
	for (int i = 0; i < REQ_LEN; i++)
		nonzero += buf[i] != 0;
	if (!nonzero)
		fail("64 zero bytes");

	/* The interrupt status follows the used ring (edge interrupt, not enabled here). */
	start = rdtsc();
	while (!(rd(REG_INTERRUPT_STATUS) & 1)) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail("InterruptStatus never showed the used ring");
		cpu_relax();
	}
	wr(REG_INTERRUPT_ACK, 1);
	if (rd(REG_STATUS) & S_NEEDS_RESET)
		fail("device needs a reset");

	print("virtio-rng: %u random bytes, %u non-zero\n", len, nonzero);
	set_status(0);
	putln("SUCCESS");
	reset();
}
