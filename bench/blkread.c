/*
 * blkread.c - the block-throughput benchmark's payload (bench/devices.sh): a minimal
 * virtio-mmio (version 2) virtio-blk driver, adapted from tests/guests/virtio_block.c,
 * that reads the whole drive in CHUNK-byte requests (header, one CHUNK-byte data
 * descriptor, status), one request in flight, into one buffer at BUF (paging is off:
 * guest-physical == linear, so one descriptor covers the whole chunk). Finds the device in
 * ember's windows (0xC0001000 + 0x1000 * i) or QEMU microvm's (0xFEB00000 + 0x200 * i).
 * With "noread" on the command line it brings the device up and reads nothing: the
 * empty-boot baseline. Polls the used ring (no interrupts); prints the result and resets.
 */
#include "lib.h"

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

#define T_IN	     0
#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define QSIZE	     8
#define CHUNK	     (1u << 20)	    /* bytes per request */
#define BUF	     0x01000000u    /* 16 MiB: the data buffer, CHUNK bytes */
#define WAIT_CYCLES  10000000000ULL /* a few seconds of TSC */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct desc desc[QSIZE] __attribute__((aligned(16)));
static volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2)));
static volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
static struct req_header hdr;
static volatile uint8_t status;
static uint32_t base;
static uint16_t avail_idx;

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
	__asm__ volatile("" ::: "memory");
}

static bool is_blk(uint32_t w)
{
	return mmio_read32(w + REG_MAGIC) == 0x74726976u && mmio_read32(w + REG_DEVICE_ID) == 2;
}

/* Reads @len bytes from @sector into BUF; returns the used length (len + 1 on success). */
static uint32_t read_chunk(uint32_t sector, uint32_t len)
{
	uint64_t start;

	hdr.type = T_IN;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	desc[0] = (struct desc){(uint32_t)&hdr, sizeof(hdr), DESC_F_NEXT, 1};
	desc[1] = (struct desc){BUF, len, DESC_F_NEXT | DESC_F_WRITE, 2};
	desc[2] = (struct desc){(uint32_t)&status, 1, DESC_F_WRITE, 0};
	avail[2 + avail_idx % QSIZE] = 0;
	barrier();
	avail_idx++;
	avail[1] = avail_idx;
	barrier();
	wr(REG_QUEUE_NOTIFY, 0);

	start = rdtsc();
	while ((uint16_t)(used[0] >> 16) != avail_idx) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail("no used buffer from the device");
		cpu_relax();
	}
	barrier();
	if (status != 0)
		fail("read request failed");
	return used[2 + 2 * ((avail_idx - 1) % QSIZE)];
}

int main(void);
int main(void)
{
	uint32_t cap, left, sector = 0, reqs = 0;

	for (unsigned int i = 0; i < 8 && !base; i++)
		if (is_blk(0xC0001000u + 0x1000u * i))
			base = 0xC0001000u + 0x1000u * i;
	for (unsigned int i = 0; i < 24 && !base; i++)
		if (is_blk(0xFEB00000u + 0x200u * i))
			base = 0xFEB00000u + 0x200u * i;
	if (!base)
		fail("no virtio-mmio block device");
	if (rd(REG_VERSION) != 2)
		fail("not virtio-mmio version 2");

	wr(REG_STATUS, 0);
	wr(REG_STATUS, S_ACK);
	wr(REG_STATUS, S_ACK | S_DRIVER);
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 (bit 32) */
	wr(REG_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(rd(REG_STATUS) & S_FEATURES_OK))
		fail("features refused");
	if (rd(REG_CONFIG + 4))
		fail("the drive is too large (>= 2 TiB)");
	cap = rd(REG_CONFIG);

	wr(REG_QUEUE_SEL, 0);
	if (rd(REG_QUEUE_NUM_MAX) < QSIZE)
		fail("queue 0 too small");
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
	wr(REG_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

	left = cmdline_has("noread") ? 0 : cap;
	while (left) {
		uint32_t n = left < CHUNK / 512 ? left : CHUNK / 512;

		if (read_chunk(sector, n * 512) != n * 512 + 1)
			fail("short read");
		sector += n;
		left -= n;
		reqs++;
	}
	print("blkread: %u sectors read in %u requests\n", sector, reqs);
	wr(REG_STATUS, 0);
	reset();
}
