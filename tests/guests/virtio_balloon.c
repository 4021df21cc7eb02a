/*
 * virtio_balloon: a minimal balloon driver for the device ember puts at
 * 0xC0001000 when the configuration has "balloon": {"amount_mib": 4, ...}
 * (the only virtio device). Polling, no interrupts; small on purpose: CPL0
 * code is interpreted on kvm_pvm hosts.
 *
 *  1. brings the device up (inflate and deflate queues, VERSION_1 only) and
 *     reads the target, num_pages;
 *  2. writes every page of 4 MiB at 16 MiB (ember's resident set grows) and
 *     prints "TOUCHED";
 *  3. waits for a byte on the UART: tests/balloon.sh reads ember's RSS, then
 *     writes one;
 *  4. inflates the first num_pages of those pages (at most all 1024), four
 *     requests of up to 256 PFNs, checks that an inflated page now reads as
 *     zeros (the host dropped it), writes `actual`, prints "INFLATED <n> pages"
 *     and halts until the test kills ember.
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
#define REG_STATUS	      0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG	      0x100 /* num_pages; actual at +4 */

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define QSIZE	      8
#define NR_REQS	      4
#define PFNS_PER_REQ  256
#define TOUCH_BASE    0x1000000u /* 16 MiB: nothing of ours lives there */
#define TOUCH_PAGES   (NR_REQS * PFNS_PER_REQ)
#define WAIT_CYCLES   10000000000ULL  /* a few seconds of TSC */
#define BYTE_CYCLES   100000000000ULL /* the test's byte: generous */
#define POLL_INTERVAL 3000000ULL      /* about a millisecond between UART polls */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One ring per queue (paging is off: these addresses are guest-physical). */
struct ring {
	struct desc desc[QSIZE] __attribute__((aligned(16)));
	volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
	volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
};

static struct ring rings[2]; /* inflate, deflate */
static uint32_t pfns[NR_REQS][PFNS_PER_REQ];

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

static void setup_queue(uint32_t q)
{
	struct ring *r = &rings[q];

	wr(REG_QUEUE_SEL, q);
	if (rd(REG_QUEUE_READY) != 0 || rd(REG_QUEUE_NUM_MAX) < QSIZE)
		fail("balloon queue not available");
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)r->desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)r->avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)r->used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
}

/* Waits for one byte of console input (polling LSR, about once a millisecond). */
static void wait_for_byte(void)
{
	uint64_t start = rdtsc();

	while (!(inb(UART_BASE + UART_LSR) & UART_LSR_DR)) {
		if (rdtsc() - start > BYTE_CYCLES)
			fail("no byte on the UART");
		delay_cycles(POLL_INTERVAL);
	}
	(void)inb(UART_BASE + UART_RBR);
}

int main(void);
int main(void)
{
	volatile uint32_t *touch = (volatile uint32_t *)TOUCH_BASE;
	uint32_t target, pages, reqs = 0;
	uint64_t start;

	if (rd(REG_MAGIC) != 0x74726976u || rd(REG_VERSION) != 2 || rd(REG_DEVICE_ID) != 5) {
		print("at %x: magic %x version %u device %u\n", VIRTIO_BASE, rd(REG_MAGIC),
		      rd(REG_VERSION), rd(REG_DEVICE_ID));
		fail("no virtio-mmio v2 balloon device");
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
	setup_queue(0);
	setup_queue(1);
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

	target = rd(REG_CONFIG);
	pages = target < TOUCH_PAGES ? target : TOUCH_PAGES;
	print("balloon: target %u pages\n", target);
	if (!pages)
		fail("the balloon's target is 0 pages");

	/* Every page of the region: the host backs each with memory. */
	for (uint32_t p = 0; p < TOUCH_PAGES; p++)
		touch[p * 1024] = 0x5a000000u | p;
	putln("TOUCHED");
	wait_for_byte();

	/* Inflate: the PFNs of the first @pages touched pages, up to 256 per request. */
	for (uint32_t i = 0; i < pages; i++)
		pfns[i / PFNS_PER_REQ][i % PFNS_PER_REQ] = (TOUCH_BASE >> 12) + i;
	for (uint32_t done = 0; done < pages; done += PFNS_PER_REQ, reqs++) {
		uint32_t n = pages - done < PFNS_PER_REQ ? pages - done : PFNS_PER_REQ;

		rings[0].desc[reqs].addr = (uint32_t)pfns[reqs];
		rings[0].desc[reqs].len = 4 * n;
		rings[0].desc[reqs].flags = 0; /* device-readable */
		rings[0].desc[reqs].next = 0;
		rings[0].avail[2 + reqs] = (uint16_t)reqs;
	}
	barrier(); /* the descriptors and ring entries before idx */
	rings[0].avail[1] = (uint16_t)reqs;
	barrier();
	wr(REG_QUEUE_NOTIFY, 0);
	start = rdtsc();
	while ((rings[0].used[0] >> 16) != reqs) { /* used->idx */
		if (rdtsc() - start > WAIT_CYCLES)
			fail("the device did not acknowledge the inflate requests");
		cpu_relax();
	}
	if (rd(REG_STATUS) & S_NEEDS_RESET)
		fail("device needs a reset");
	/* The host dropped the pages: the last one reads as zeros now. */
	if (touch[(pages - 1) * 1024] != 0) {
		print("page %u still holds %x\n", pages - 1, touch[(pages - 1) * 1024]);
		fail("an inflated page kept its contents");
	}
	wr(REG_CONFIG + 4, pages); /* actual */
	if (rd(REG_CONFIG + 4) != pages)
		fail("actual did not stick");
	print("INFLATED %u pages\n", pages);
	halt_forever();
}
