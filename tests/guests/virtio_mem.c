/*
 * virtio_mem: a minimal virtio-mem driver proving that unplugged memory is out
 * of the guest's reach (tests/virtio_mem.sh drives it through the API). The
 * device is the only virtio device; its region (above 4 GiB) is mapped at
 * linear 1 GiB (compatibility mode paging). Polling only; the host's requested size is the
 * test's signal to go on:
 *
 *  1. prints READY; waits for requested 2 MiB;
 *  2. writes a word to every page of the region's second slot and of block 1
 *     (all unplugged): each must read back as all-ones (an unbacked address);
 *     plugs block 0 (slot 0), which reads zeros and keeps what is written to
 *     it, while slot 1 still reads all-ones; prints PLUGGED0;
 *  3. waits for requested 0: unplugs block 0, which reads all-ones again
 *     (slot 0 left KVM); prints UNPLUGGED0;
 *  4. waits for requested 2 MiB: plugs the first block of slot 1, which reads
 *     zeros (the writes of step 2 never reached memory) and keeps a pattern,
 *     slot 0 all-ones; prints PLUGGED1 (the test snapshots and restores here);
 *  5. waits for requested 0: the pattern is intact, slot 0 still all-ones;
 *     unplugs the block, which reads all-ones; prints SUCCESS and resets.
 */
#include "virtio.h"

#define MIB	      (1024u * 1024u)
#define WIN	      0x40000000u /* linear address of the region */
#define SLOT	      (128u * MIB)
#define BLOCK	      (2u * MIB)
#define PAGE	      4096u
#define WAIT_CYCLES   300000000000ULL /* the test's next step, a snapshot included: generous */
#define POLL_CYCLES   3000000ULL      /* about a millisecond between polls */
#define ALL_ONES      0xFFFFFFFFu
#define UNPLUGGED_PAT 0xBAD0BAD0u

#define REQ_PLUG   0
#define REQ_UNPLUG 1
#define RESP_ACK   0

/*
 * IA-32e paging in compatibility mode (this 32-bit code as it is: kvm_pvm runs
 * no 32-bit paging), 2 MiB pages: linear 0-1 GiB and 3-4 GiB identity (RAM;
 * MMIO, LAPIC, IOAPIC), 1-2 GiB the region.
 */
static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pds[3][512] __attribute__((aligned(4096)));
static struct virtq vq;
static uint8_t req[24] __attribute__((aligned(8)));
static uint8_t resp[10] __attribute__((aligned(8)));

static uint64_t cfg64(uint32_t off)
{
	return virtio_rd(VIRTIO_REG_CONFIG + off) | (uint64_t)virtio_rd(VIRTIO_REG_CONFIG + off + 4)
							<< 32;
}

static void paging_on(uint64_t region)
{
	uint32_t cr, lo, hi;

	for (uint32_t i = 0; i < 512; i++) {
		pds[0][i] = (uint64_t)i * BLOCK | 0x83;		   /* present, writable, 2 MiB */
		pds[1][i] = (region + (uint64_t)i * BLOCK) | 0x83; /* the region */
		pds[2][i] = (0xC0000000ull + (uint64_t)i * BLOCK) | 0x9b; /* uncached: MMIO */
	}
	pml4[0] = (uint32_t)pdpt | 3;
	pdpt[0] = (uint32_t)pds[0] | 3;
	pdpt[1] = (uint32_t)pds[1] | 3;
	pdpt[3] = (uint32_t)pds[2] | 3;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr));
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr | 0x20) : "memory"); /* PAE */
	__asm__ volatile("mov %0, %%cr3" : : "r"(pml4) : "memory");
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xC0000080u));	  /* EFER */
	__asm__ volatile("wrmsr" : : "a"(lo | 0x100), "d"(hi), "c"(0xC0000080u)); /* LME */
	__asm__ volatile("mov %%cr0, %0" : "=r"(cr));
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr | 0x80000000u) : "memory"); /* PG */
}

static volatile uint32_t *at(uint32_t off)
{
	return (volatile uint32_t *)(WIN + off);
}

/* Waits until the host asks for @bytes. */
static void wait_requested(uint32_t bytes, const char *what)
{
	uint64_t start = rdtsc();

	while (cfg64(48) != bytes) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail(what);
		delay_cycles(POLL_CYCLES);
	}
}

/* One PLUG or UNPLUG of one block at region offset @off; fails unless acknowledged. */
static void request(uint16_t type, uint64_t addr, const char *what)
{
	uint16_t one = 1;
	uint32_t len;

	for (unsigned int i = 0; i < sizeof(req); i++)
		req[i] = 0;
	req[0] = (uint8_t)type;
	for (unsigned int i = 0; i < 8; i++)
		req[8 + i] = (uint8_t)(addr >> (8 * i));
	req[16] = (uint8_t)one;
	resp[0] = resp[1] = 0xff;
	vq.desc[0] = (struct virtq_desc){(uint32_t)req, sizeof(req), VIRTQ_DESC_F_NEXT, 1};
	vq.desc[1] = (struct virtq_desc){(uint32_t)resp, sizeof(resp), VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&vq, 0);
	virtq_notify(&vq);
	virtq_wait_used(&vq, VIRTIO_WAIT_CYCLES, "the device did not answer", &len);
	if (resp[0] != RESP_ACK || resp[1] != 0) {
		print("response %u\n", resp[0]);
		fail(what);
	}
}

/* Every page of [off, off + len) reads @v (one word each). */
static void expect(uint32_t off, uint32_t len, uint32_t v, const char *what)
{
	for (uint32_t p = off; p < off + len; p += PAGE) {
		if (*at(p) != v) {
			print("region +%x reads %x, expected %x\n", p, *at(p), v);
			fail(what);
		}
	}
}

static void fill(uint32_t off, uint32_t len, uint32_t v)
{
	for (uint32_t p = off; p < off + len; p += PAGE)
		*at(p) = v ^ p;
}

static void expect_pattern(uint32_t off, uint32_t len, uint32_t v, const char *what)
{
	for (uint32_t p = off; p < off + len; p += PAGE) {
		if (*at(p) != (v ^ p)) {
			print("region +%x reads %x\n", p, *at(p));
			fail(what);
		}
	}
}

int main(void);
int main(void)
{
	uint64_t region, size;

	virtio_find(24, 1, "no virtio-mmio v2 virtio-mem device");
	virtio_begin();
	if (!(virtio_device_features(0) & 2))
		fail("VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE not offered");
	virtio_features_ok(2);
	virtq_setup(&vq, 0);
	virtq_no_interrupts(&vq);
	virtio_driver_ok();
	region = cfg64(16);
	size = cfg64(24);
	if (cfg64(0) != BLOCK || size < 2 * SLOT || size > 1024 * MIB)
		fail("expected 2 MiB blocks and a region of 256 MiB to 1 GiB");
	paging_on(region);
	print("virtio-mem: region %x MiB at %x MiB\n", (uint32_t)(size / MIB),
	      (uint32_t)(region / MIB));
	expect(0, BLOCK, ALL_ONES, "unplugged memory is backed at boot");
	putln("READY");

	wait_requested(BLOCK, "no request for 2 MiB");
	fill(SLOT, SLOT, UNPLUGGED_PAT); /* every page of slot 1: nothing behind them */
	fill(BLOCK, BLOCK, UNPLUGGED_PAT);
	expect(SLOT, SLOT, ALL_ONES, "a write to an unplugged slot was kept");
	expect(0, 2 * BLOCK, ALL_ONES, "a write to an unplugged slot was kept");
	request(REQ_PLUG, region, "PLUG of block 0 refused");
	expect(0, BLOCK, 0, "a freshly plugged block is not zero");
	fill(0, BLOCK, 0x11110000u);
	expect_pattern(0, BLOCK, 0x11110000u, "a plugged block lost a write");
	expect(SLOT, BLOCK, ALL_ONES, "slot 1 became reachable with slot 0");
	putln("PLUGGED0");

	wait_requested(0, "no request for 0");
	request(REQ_UNPLUG, region, "UNPLUG of block 0 refused");
	expect(0, BLOCK, ALL_ONES, "an unplugged slot is still reachable");
	putln("UNPLUGGED0");

	wait_requested(BLOCK, "no second request for 2 MiB");
	request(REQ_PLUG, region + SLOT, "PLUG of slot 1's first block refused");
	expect(SLOT, BLOCK, 0, "writes to an unplugged slot reached its memory");
	fill(SLOT, BLOCK, 0x22220000u);
	expect(0, BLOCK, ALL_ONES, "slot 0 became reachable with slot 1");
	putln("PLUGGED1");

	wait_requested(0, "no second request for 0");
	expect_pattern(SLOT, BLOCK, 0x22220000u, "slot 1's block lost its contents");
	expect(0, BLOCK, ALL_ONES, "slot 0 is reachable after the snapshot");
	request(REQ_UNPLUG, region + SLOT, "UNPLUG of slot 1's block refused");
	expect(SLOT, BLOCK, ALL_ONES, "an unplugged slot is still reachable");
	putln("SUCCESS");
	reset();
}
