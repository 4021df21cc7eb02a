/*
 * virtio_rng: a minimal virtio-mmio (version 2) driver for the entropy device
 * ember puts at 0xC0001000 when the configuration has "entropy": {}. Brings it
 * up by the book (virtio 1.x 3.1.1), posts one 64-byte device-writable buffer on
 * a queue of 8, notifies, polls the used ring (no interrupts needed), checks the
 * bytes, and resets the device. Small on purpose: CPL0 code is interpreted on
 * kvm_pvm hosts.
 */
#include "virtio.h"

#define REQ_LEN 64

static struct virtq vq;
static uint8_t buf[REQ_LEN];

int main(void);
int main(void)
{
	uint32_t id, len, nonzero = 0;
	uint64_t start;

	virtio_find(4, 1, "no virtio-mmio v2 entropy device");
	virtio_begin();
	virtio_features_ok(0); /* VERSION_1 only */
	virtq_setup(&vq, 0);
	virtio_driver_ok();

	/* One request: a single device-writable buffer. */
	vq.desc[0] = (struct virtq_desc){(uint32_t)buf, REQ_LEN, VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&vq, 0);
	virtq_notify(&vq);

	id = virtq_wait_used(&vq, VIRTIO_WAIT_CYCLES, "no used buffer from the device", &len);
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
	while (!(virtio_rd(VIRTIO_REG_INTERRUPT_STATUS) & 1)) {
		if (rdtsc() - start > VIRTIO_WAIT_CYCLES)
			fail("InterruptStatus never showed the used ring");
		cpu_relax();
	}
	virtio_wr(VIRTIO_REG_INTERRUPT_ACK, 1);
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");

	print("virtio-rng: %u random bytes, %u non-zero\n", len, nonzero);
	virtio_set_status(0);
	putln("SUCCESS");
	reset();
}
