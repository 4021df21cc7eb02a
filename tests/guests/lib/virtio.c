/* virtio.c - guest-side virtio-mmio (version 2) helpers, see virtio.h. */
#include "virtio.h"

uint32_t virtio_base;

/* Sets virtio_base to the first of @slots windows (@stride apart from @first) holding device
 * @device_id; false if none does. */
static bool probe(uint32_t first, uint32_t stride, uint32_t slots, uint32_t device_id)
{
	for (uint32_t i = 0; i < slots; i++) {
		virtio_base = first + i * stride;
		if (virtio_rd(VIRTIO_REG_MAGIC) == VIRTIO_MAGIC &&
		    virtio_rd(VIRTIO_REG_DEVICE_ID) == device_id) {
			if (virtio_rd(VIRTIO_REG_VERSION) != 2)
				fail("virtio-mmio version is not 2");
			return true;
		}
	}
	return false;
}

static void not_found(const char *what)
{
	virtio_base = VIRTIO_MMIO_FIRST;
	print("at %x: magic %x version %u device %u\n", virtio_base, virtio_rd(VIRTIO_REG_MAGIC),
	      virtio_rd(VIRTIO_REG_VERSION), virtio_rd(VIRTIO_REG_DEVICE_ID));
	fail(what);
}

void virtio_find(uint32_t device_id, uint32_t slots, const char *what)
{
	if (!probe(VIRTIO_MMIO_FIRST, VIRTIO_MMIO_WINDOW, slots, device_id))
		not_found(what);
}

void virtio_find_any(uint32_t device_id, const char *what)
{
	if (!probe(VIRTIO_MMIO_FIRST, VIRTIO_MMIO_WINDOW, VIRTIO_MMIO_SLOTS, device_id) &&
	    !probe(VIRTIO_MICROVM_FIRST, VIRTIO_MICROVM_WINDOW, VIRTIO_MICROVM_SLOTS, device_id))
		not_found(what);
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

static void queue_setup(struct virtq *vq, uint32_t index, uint16_t size)
{
	uint32_t max;

	vq->index = (uint16_t)index;
	vq->size = size;
	virtio_wr(VIRTIO_REG_QUEUE_SEL, index);
	if (virtio_rd(VIRTIO_REG_QUEUE_READY) != 0)
		fail("queue ready before set-up");
	max = virtio_rd(VIRTIO_REG_QUEUE_NUM_MAX);
	if (max < size) {
		print("queue %u: QueueNumMax %u, want %u\n", index, max, size);
		fail("queue too small");
	}
	virtio_wr(VIRTIO_REG_QUEUE_NUM, size);
	virtio_wr(VIRTIO_REG_QUEUE_DESC_LOW, (uint32_t)vq->desc);
	virtio_wr(VIRTIO_REG_QUEUE_DESC_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_DRIVER_LOW, (uint32_t)vq->avail);
	virtio_wr(VIRTIO_REG_QUEUE_DRIVER_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_DEVICE_LOW, (uint32_t)vq->used);
	virtio_wr(VIRTIO_REG_QUEUE_DEVICE_HIGH, 0);
	virtio_wr(VIRTIO_REG_QUEUE_READY, 1);
}

void virtq_setup(struct virtq *vq, uint32_t index)
{
	vq->desc = vq->desc_mem;
	vq->avail = vq->avail_mem;
	vq->used = vq->used_mem;
	queue_setup(vq, index, VIRTQ_SIZE);
}

void virtq_setup_ring(struct virtq *vq, uint32_t index, uint16_t size, void *mem)
{
	uint8_t *p = mem;

	if (!size || (size & (size - 1)))
		fail("queue size is not a power of two");
	if ((uint32_t)mem & 15)
		fail("ring memory is not 16-byte aligned");
	vq->desc = (struct virtq_desc *)p;
	vq->avail = (volatile uint16_t *)(p + 16u * size);
	vq->used = (volatile uint32_t *)(p + 16u * size + ((6u + 2u * size + 3u) & ~3u));
	queue_setup(vq, index, size);
}

void virtio_driver_ok(void)
{
	virtio_set_status(VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
			  VIRTIO_S_DRIVER_OK);
}

void virtq_post(struct virtq *vq, uint16_t head)
{
	vq->avail[2 + (vq->avail_idx & (vq->size - 1))] = head;
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
	uint32_t e = 1 + 2 * (vq->used_seen & (vq->size - 1));

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

void virtq_ring_identity(struct virtq *vq)
{
	for (uint16_t i = 0; i < vq->size; i++)
		vq->avail[2 + i] = i;
}

void virtq_kick(struct virtq *vq)
{
	/* Full barrier (store -> load): x86 may read used->flags before our avail->idx store is
	 * visible, and a device that re-enables notifications in between would miss the batch. */
	__asm__ volatile("lock; addl $0, (%%esp)" ::: "memory", "cc");
	if (!(vq->used[0] & VIRTQ_USED_F_NO_NOTIFY))
		virtq_notify(vq);
}

uint16_t virtq_take_used(struct virtq *vq)
{
	uint16_t idx = virtq_used_idx(vq), n = (uint16_t)(idx - vq->used_seen);

	virtio_barrier(); /* x86 keeps loads in order: the elements after idx */
	vq->used_seen = idx;
	return n;
}

void virtq_check_in_order(const struct virtq *vq)
{
	uint16_t last = (uint16_t)((vq->used_seen - 1) & (vq->size - 1));
	uint32_t id = vq->used[1 + 2 * last];

	if (id != last) {
		print("used element %u names descriptor %u, expected %u\n", last, id, last);
		fail("the device returned buffers out of order");
	}
}
