/* virtio.c - guest-side virtio-mmio (version 2) helpers, see virtio.h. */
#include "virtio.h"

uint32_t virtio_base;

void virtio_find(uint32_t device_id, uint32_t slots, const char *what)
{
	for (uint32_t i = 0; i < slots; i++) {
		virtio_base = VIRTIO_MMIO_FIRST + i * VIRTIO_MMIO_WINDOW;
		if (virtio_rd(VIRTIO_REG_MAGIC) == VIRTIO_MAGIC &&
		    virtio_rd(VIRTIO_REG_DEVICE_ID) == device_id) {
			if (virtio_rd(VIRTIO_REG_VERSION) != 2)
				fail("virtio-mmio version is not 2");
			return;
		}
	}
	virtio_base = VIRTIO_MMIO_FIRST;
	print("at %x: magic %x version %u device %u\n", virtio_base, virtio_rd(VIRTIO_REG_MAGIC),
	      virtio_rd(VIRTIO_REG_VERSION), virtio_rd(VIRTIO_REG_DEVICE_ID));
	fail(what);
}

void virtio_set_status(uint32_t s)
{
	virtio_wr(VIRTIO_REG_STATUS, s);
	if (virtio_rd(VIRTIO_REG_STATUS) != s) {
		print("status %x reads back %x\n", s, virtio_rd(VIRTIO_REG_STATUS));
		fail("device status refused");
	}
}

void virtio_begin(void)
{
	virtio_set_status(0);
	virtio_set_status(VIRTIO_S_ACK);
	virtio_set_status(VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	if (!(virtio_device_features(1) & 1))
		fail("VIRTIO_F_VERSION_1 not offered");
}

uint32_t virtio_device_features(uint32_t word)
{
	virtio_wr(VIRTIO_REG_DEVICE_FEAT_SEL, word);
	return virtio_rd(VIRTIO_REG_DEVICE_FEATURES);
}

void virtio_features_ok(uint32_t word0)
{
	virtio_wr(VIRTIO_REG_DRIVER_FEAT_SEL, 0);
	virtio_wr(VIRTIO_REG_DRIVER_FEATURES, word0);
	virtio_wr(VIRTIO_REG_DRIVER_FEAT_SEL, 1);
	virtio_wr(VIRTIO_REG_DRIVER_FEATURES, 1); /* VERSION_1 (bit 32) */
	virtio_set_status(VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
}

void virtq_setup(struct virtq *vq, uint32_t index)
{
	uint32_t max;

	vq->index = (uint16_t)index;
	virtio_wr(VIRTIO_REG_QUEUE_SEL, index);
	if (virtio_rd(VIRTIO_REG_QUEUE_READY) != 0)
		fail("queue ready before set-up");
	max = virtio_rd(VIRTIO_REG_QUEUE_NUM_MAX);
	if (max < VIRTQ_SIZE) {
		print("queue %u: QueueNumMax %u\n", index, max);
		fail("queue too small");
	}
	virtio_wr(VIRTIO_REG_QUEUE_NUM, VIRTQ_SIZE);
	virtio_wr(VIRTIO_REG_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	virtio_wr(VIRTIO_REG_QUEUE_DESC_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	virtio_wr(VIRTIO_REG_QUEUE_DRIVER_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	virtio_wr(VIRTIO_REG_QUEUE_DEVICE_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_READY, 1);
}

void virtio_driver_ok(void)
{
	virtio_set_status(VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
			  VIRTIO_S_DRIVER_OK);
}

void virtq_post(struct virtq *vq, uint16_t head)
{
	vq->avail[2 + vq->avail_idx % VIRTQ_SIZE] = head;
	virtio_barrier(); /* the descriptors and ring entry before idx */
	vq->avail_idx++;
	vq->avail[1] = vq->avail_idx;
	virtio_barrier();
}

void virtq_wait(struct virtq *vq, uint16_t n, uint64_t cycles, const char *what)
{
	uint64_t start = rdtsc();

	while ((uint16_t)(virtq_used_idx(vq) - vq->used_seen) < n) {
		if (rdtsc() - start > cycles)
			fail(what);
		cpu_relax();
	}
	virtio_barrier(); /* x86 keeps loads in order: the elements after idx */
}

uint32_t virtq_pop(struct virtq *vq, uint32_t *len)
{
	uint32_t e = 1 + 2 * (vq->used_seen % VIRTQ_SIZE);

	virtio_barrier();
	vq->used_seen++;
	*len = vq->used[e + 1];
	return vq->used[e];
}

uint32_t virtq_wait_used(struct virtq *vq, uint64_t cycles, const char *what, uint32_t *len)
{
	virtq_wait(vq, 1, cycles, what);
	return virtq_pop(vq, len);
}
