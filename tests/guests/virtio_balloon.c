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
#include "virtio.h"

#define NR_REQS	      4
#define PFNS_PER_REQ  256
#define TOUCH_BASE    0x1000000u /* 16 MiB: nothing of ours lives there */
#define TOUCH_PAGES   (NR_REQS * PFNS_PER_REQ)
#define BYTE_CYCLES   100000000000ULL /* the test's byte: generous */
#define POLL_INTERVAL 3000000ULL      /* about a millisecond between UART polls */

static struct virtq vqs[2]; /* inflate, deflate */
static uint32_t pfns[NR_REQS][PFNS_PER_REQ];

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

	virtio_find(5, 1, "no virtio-mmio v2 balloon device");
	virtio_begin();
	virtio_features_ok(0); /* VERSION_1 only */
	virtq_setup(&vqs[0], 0);
	virtq_setup(&vqs[1], 1);
	virtio_driver_ok();

	target = virtio_rd(VIRTIO_REG_CONFIG);
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

		/* One device-readable buffer of PFNs per request. */
		vqs[0].desc[reqs] = (struct virtq_desc){(uint32_t)pfns[reqs], 4 * n, 0, 0};
		virtq_post(&vqs[0], (uint16_t)reqs);
	}
	virtq_notify(&vqs[0]);
	virtq_wait(&vqs[0], (uint16_t)reqs, VIRTIO_WAIT_CYCLES,
		   "the device did not acknowledge the inflate requests");
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	/* The host dropped the pages: the last one reads as zeros now. */
	if (touch[(pages - 1) * 1024] != 0) {
		print("page %u still holds %x\n", pages - 1, touch[(pages - 1) * 1024]);
		fail("an inflated page kept its contents");
	}
	virtio_wr(VIRTIO_REG_CONFIG + 4, pages); /* actual */
	if (virtio_rd(VIRTIO_REG_CONFIG + 4) != pages)
		fail("actual did not stick");
	print("INFLATED %u pages\n", pages);
	halt_forever();
}
