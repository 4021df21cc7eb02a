/*
 * blkread.c - the block-throughput benchmark's payload (bench/devices.sh): reads the whole
 * virtio-blk drive in CHUNK-byte requests (header, one CHUNK-byte data descriptor,
 * status), one request in flight, into one buffer at BUF (paging is off: guest-physical ==
 * linear, so one descriptor covers the whole chunk). The driver is the payload guests'
 * library (tests/guests/lib/virtio.c), which finds the device in ember's windows or QEMU
 * microvm's. With "noread" on the command line it brings the device up and reads nothing:
 * the empty-boot baseline. Polls the used ring (no interrupts); prints the result and
 * resets.
 */
#include "virtio.h"

#define T_IN  0
#define CHUNK (1u << 20)  /* bytes per request */
#define BUF   0x01000000u /* 16 MiB: the data buffer, CHUNK bytes */

struct req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq vq;
static struct req_header hdr;
static volatile uint8_t status;

/* Reads @len bytes from @sector into BUF; returns the used length (len + 1 on success). */
static uint32_t read_chunk(uint32_t sector, uint32_t len)
{
	uint32_t used_len;

	hdr.type = T_IN;
	hdr.reserved = 0;
	hdr.sector = sector;
	status = 0xff;
	vq.desc[0] = (struct virtq_desc){(uint32_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1};
	vq.desc[1] = (struct virtq_desc){BUF, len, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2};
	vq.desc[2] = (struct virtq_desc){(uint32_t)&status, 1, VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&vq, 0);
	virtq_notify(&vq);
	if (virtq_wait_used(&vq, VIRTIO_WAIT_CYCLES, "no used buffer from the device", &used_len) !=
	    0)
		fail("used element for an unknown head");
	if (status != 0)
		fail("read request failed");
	return used_len;
}

int main(void);
int main(void)
{
	uint32_t cap, left, sector = 0, reqs = 0;

	virtio_find_any(2, "no virtio-mmio block device");
	virtio_begin();
	virtio_features_ok(0);
	if (virtio_rd(VIRTIO_REG_CONFIG + 4))
		fail("the drive is too large (>= 2 TiB)");
	cap = virtio_rd(VIRTIO_REG_CONFIG);
	virtq_setup(&vq, 0);
	virtio_driver_ok();

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
	virtio_set_status(0);
	reset();
}
