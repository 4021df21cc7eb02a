/*
 * virtio_block: a minimal virtio-mmio (version 2) driver for a virtio-blk
 * drive (tests/devices.sh makes its file: "EMBER-BLOCK-TEST" at byte 0 and in
 * sector 7, cache_type "Writeback"). Finds the block device among the virtio
 * windows from 0xC0001000, brings it up by the book, then: reads sectors 0 and
 * 7 and checks the marker, writes a known sector 3 (the test checks the host
 * file afterwards), flushes, reads sector 3 back, asks for the device id.
 * Polls the used ring (no interrupts). Small on purpose: CPL0 code is
 * interpreted on kvm_pvm hosts.
 */
#include "lib.h"

#define WINDOWS_BASE 0xC0001000u
#define WINDOWS	     8

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

#define BLK_F_RO    5
#define BLK_F_FLUSH 9
#define T_IN	    0
#define T_OUT	    1
#define T_FLUSH	    4
#define T_GET_ID    8

#define DESC_F_NEXT  1
#define DESC_F_WRITE 2
#define QSIZE	     8
#define WAIT_CYCLES  10000000000ULL /* a few seconds of TSC, however slow the CPU runs */

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
static uint8_t sector_buf[512];
static uint8_t wbuf[512];
static uint32_t base;
static uint16_t avail_idx;

static const char marker[] = "EMBER-BLOCK-TEST";  /* 16 bytes, put there by the test */
static const char written[] = "EMBER-SECTOR3-OK"; /* 16 bytes, 32 times in sector 3 */

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

/*
 * One request: header, optional data (@to_guest: device-writable), status.
 * Waits for the used element; returns the status byte, *used_len its length.
 */
static uint8_t request(uint32_t type, uint32_t sector, void *data, uint32_t len, bool to_guest,
		       uint32_t *used_len)
{
	unsigned int n = 0;
	uint64_t start;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	desc[n] = (struct desc){(uint32_t)&hdr, sizeof(hdr), DESC_F_NEXT, (uint16_t)(n + 1)};
	n++;
	if (len) {
		desc[n] = (struct desc){(uint32_t)data, len,
					(uint16_t)(DESC_F_NEXT | (to_guest ? DESC_F_WRITE : 0)),
					(uint16_t)(n + 1)};
		n++;
	}
	desc[n] = (struct desc){(uint32_t)&status, 1, DESC_F_WRITE, 0};
	avail[2 + avail_idx % QSIZE] = 0; /* head: descriptor 0 */
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
	if (used[1 + 2 * ((avail_idx - 1) % QSIZE)] != 0)
		fail("used element for an unknown head");
	*used_len = used[2 + 2 * ((avail_idx - 1) % QSIZE)];
	return status;
}

static void expect(const char *what, uint8_t st, uint32_t len, uint32_t want_len)
{
	if (st != 0 || len != want_len) {
		print("%s: status %u, used length %u (expected 0, %u)\n", what, st, len, want_len);
		fail(what);
	}
}

int main(void);
int main(void)
{
	uint32_t v, len, features, cap_lo, cap_hi;
	uint8_t st;

	for (unsigned int i = 0; i < WINDOWS && !base; i++) {
		uint32_t w = WINDOWS_BASE + 0x1000u * i;

		if (mmio_read32(w + REG_MAGIC) == 0x74726976u &&
		    mmio_read32(w + REG_DEVICE_ID) == 2)
			base = w;
	}
	if (!base)
		fail("no virtio-mmio block device in the first 8 windows");
	if (rd(REG_VERSION) != 2)
		fail("not virtio-mmio version 2");

	set_status(0);
	set_status(S_ACK);
	set_status(S_ACK | S_DRIVER);
	wr(REG_DEVICE_FEAT_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		fail("VIRTIO_F_VERSION_1 not offered");
	wr(REG_DEVICE_FEAT_SEL, 0);
	features = rd(REG_DEVICE_FEATURES);
	if (features & (1u << BLK_F_RO))
		fail("the drive is read-only");
	if (!(features & (1u << BLK_F_FLUSH)))
		fail("VIRTIO_BLK_F_FLUSH not offered (cache_type Writeback)");
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, 1u << BLK_F_FLUSH);
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 (bit 32) */
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK);

	cap_lo = rd(REG_CONFIG);
	cap_hi = rd(REG_CONFIG + 4);
	if (cap_hi || cap_lo < 8) {
		print("capacity %x:%x sectors\n", cap_hi, cap_lo);
		fail("the drive is too small");
	}

	wr(REG_QUEUE_SEL, 0);
	v = rd(REG_QUEUE_NUM_MAX);
	if (v < QSIZE)
		fail("queue 0 too small");
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);

	/* Sectors 0 and 7 start with the marker. */
	st = request(T_IN, 0, sector_buf, 512, true, &len);
	expect("read sector 0", st, len, 513);
	if (memcmp(sector_buf, marker, 16))
		fail("sector 0 does not start with EMBER-BLOCK-TEST");
	st = request(T_IN, 7, sector_buf, 512, true, &len);
	expect("read sector 7", st, len, 513);
	if (memcmp(sector_buf, marker, 16))
		fail("sector 7 does not start with EMBER-BLOCK-TEST");

	/* Write sector 3, flush, read it back. */
	for (unsigned int i = 0; i < 512; i += 16)
		memcpy(wbuf + i, written, 16);
	st = request(T_OUT, 3, wbuf, 512, false, &len);
	expect("write sector 3", st, len, 1);
	st = request(T_FLUSH, 0, 0, 0, false, &len);
	expect("flush", st, len, 1);
	memset(sector_buf, 0, 512);
	st = request(T_IN, 3, sector_buf, 512, true, &len);
	expect("read sector 3", st, len, 513);
	if (memcmp(sector_buf, wbuf, 512))
		fail("sector 3 reads back different bytes");

	/* The device id: 20 bytes. */
	memset(sector_buf, 0, 32);
	st = request(T_GET_ID, 0, sector_buf, 20, true, &len);
	expect("get id", st, len, 21);
	if (!sector_buf[0])
		fail("empty device id");

	if (rd(REG_STATUS) & S_NEEDS_RESET)
		fail("device needs a reset");
	print("virtio-blk: %u sectors, read, wrote, flushed, read back\n", cap_lo);
	set_status(0);
	putln("SUCCESS");
	reset();
}
