/*
 * virtio_block: a minimal virtio-mmio (version 2) driver for a virtio-blk
 * drive (tests/lib/vm.sh makes its file: "EMBER-BLOCK-TEST" at byte 0 and in
 * sector 7, cache_type "Writeback"). Finds the block device among the virtio
 * windows from 0xC0001000, brings it up by the book, then: reads sectors 0 and
 * 7 and checks the marker, writes a known sector 3 (the test checks the host
 * file afterwards), flushes, reads sector 3 back, asks for the device id.
 * Polls the used ring (no interrupts). Small on purpose: CPL0 code is
 * interpreted on kvm_pvm hosts.
 */
#include "virtio.h"

#define WINDOWS 8

#define BLK_F_RO    5
#define BLK_F_FLUSH 9
#define T_IN	    0
#define T_OUT	    1
#define T_FLUSH	    4
#define T_GET_ID    8

struct req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq vq;
static struct req_header hdr;
static volatile uint8_t status;
static uint8_t sector_buf[512];
static uint8_t wbuf[512];

static const char marker[] = "EMBER-BLOCK-TEST";  /* 16 bytes, put there by the test */
static const char written[] = "EMBER-SECTOR3-OK"; /* 16 bytes, 32 times in sector 3 */

/*
 * One request: header, optional data (@to_guest: device-writable), status.
 * Waits for the used element; returns the status byte, *used_len its length.
 */
static uint8_t request(uint32_t type, uint32_t sector, void *data, uint32_t len, bool to_guest,
		       uint32_t *used_len)
{
	unsigned int n = 0;
	uint32_t head;

	hdr.type = type;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	vq.desc[n] =
	    (struct virtq_desc){(uint32_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, (uint16_t)(n + 1)};
	n++;
	if (len) {
		vq.desc[n] = (struct virtq_desc){
		    (uint32_t)data, len,
		    (uint16_t)(VIRTQ_DESC_F_NEXT | (to_guest ? VIRTQ_DESC_F_WRITE : 0)),
		    (uint16_t)(n + 1)};
		n++;
	}
	vq.desc[n] = (struct virtq_desc){(uint32_t)&status, 1, VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&vq, 0); /* head: descriptor 0 */
	virtq_notify(&vq);
	head = virtq_wait_used(&vq, VIRTIO_WAIT_CYCLES, "no used buffer from the device", used_len);
	if (head != 0)
		fail("used element for an unknown head");
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
	uint32_t len, features, cap_lo, cap_hi;
	uint8_t st;

	virtio_find(2, WINDOWS, "no virtio-mmio block device in the first 8 windows");
	virtio_begin();
	features = virtio_device_features(0);
	if (features & (1u << BLK_F_RO))
		fail("the drive is read-only");
	if (!(features & (1u << BLK_F_FLUSH)))
		fail("VIRTIO_BLK_F_FLUSH not offered (cache_type Writeback)");
	virtio_features_ok(1u << BLK_F_FLUSH);

	cap_lo = virtio_rd(VIRTIO_REG_CONFIG);
	cap_hi = virtio_rd(VIRTIO_REG_CONFIG + 4);
	if (cap_hi || cap_lo < 8) {
		print("capacity %x:%x sectors\n", cap_hi, cap_lo);
		fail("the drive is too small");
	}

	virtq_setup(&vq, 0);
	virtio_driver_ok();

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

	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	print("virtio-blk: %u sectors, read, wrote, flushed, read back\n", cap_lo);
	virtio_set_status(0);
	putln("SUCCESS");
	reset();
}
