/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.x, section 2.7), the device side. The guest is
 * untrusted: every guest address goes through gm_ptr() (overflow, bounds,
 * one region), a chain is bounded by the queue size, indirect tables are
 * validated, and a malformed chain fails that request only.
 *
 * Threading: a queue is driven by one thread at a time (the event loop).
 *
 * The device loop, on a notification (dev->lock held): pop a chain, serve it,
 * push it back, and once the ring is empty re-arm notifications and look
 * again for a chain that raced in; -EIO (a corrupt ring) sets
 * DEVICE_NEEDS_RESET; -EINVAL (a malformed chain, already given back) is
 * counted; one interrupt per batch. The devices do not write it themselves:
 * the transport's virtio_queue_serve() runs it, with a budget and a serve()
 * per device, and virtio_queue_pop() is its step (virtio_mmio.h).
 *
 * Decisions (see virtqueue.c for the details):
 *  - zero-length descriptors are allowed and skipped: no iovec, their address is
 *    never used, but they count as a hop and keep the readable-then-writable order;
 *  - an indirect table holds 1 to size descriptors (len a non-zero multiple of 16,
 *    <= size * 16), is only followed when VIRTIO_F_RING_INDIRECT_DESC was negotiated,
 *    never nests and never carries NEXT; normal descriptors may precede it;
 *  - a chain's total length must fit in 32 bits (the spec's 2^32 bytes limit).
 */
#ifndef EMBER_DEVICES_VIRTIO_VIRTQUEUE_H
#define EMBER_DEVICES_VIRTIO_VIRTQUEUE_H

#include "core/guest_mem.h"
#include "core/state.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_SIZE 1024 /* largest queue a device offers (power of two) */
#define VQ_MAX_SEGS 256	 /* most buffers one chain may map */

/* Descriptor flags (struct virtq_desc.flags). */
#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2 /* device-writable (otherwise device-readable) */
#define VRING_DESC_F_INDIRECT 4

/* avail->flags (without EVENT_IDX) and used->flags. */
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	   1

/* The sizes of the three areas for a queue of @n entries (EVENT_IDX words included). */
#define VQ_DESC_BYTES(n)  (16ULL * (n))
#define VQ_AVAIL_BYTES(n) (6ULL + 2ULL * (n))
#define VQ_USED_BYTES(n)  (6ULL + 8ULL * (n))

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t size; /* negotiated QueueNum; 0 until configured */
	bool ready;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_RING_INDIRECT_DESC negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	 /* next avail ring entry to pop */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when the guest was last notified */
	bool signalled_valid;	 /* signalled_used is meaningful (false: notify next time) */
	/*
	 * The ring itself is corrupt (avail->idx ran more than size ahead, a head
	 * index out of range, a ring area outside guest memory): vq_pop returned
	 * -EIO and keeps doing so until vq_reset.
	 */
	bool broken;
	const char *error; /* why the last chain or ring was refused (logs, tests) */
};

/* One popped request: its buffers, in order, device-readable ones first. */
struct vq_chain {
	uint16_t head;
	unsigned int nr_out; /* device-readable (driver -> device) */
	unsigned int nr_in;  /* device-writable (device -> driver) */
	struct iovec out[VQ_MAX_SEGS];
	struct iovec in[VQ_MAX_SEGS];
	uint64_t out_len, in_len; /* totals */
};

/*
 * Checks the queue against guest memory once, when the driver sets DRIVER_OK
 * with the queue ready (the transport does): size a non-zero power of two
 * <= VQ_MAX_SIZE, and the descriptor table (16-byte aligned), avail ring
 * (2-byte aligned) and used ring (4-byte aligned) each wholly inside one region
 * of guest memory. 0, -EINVAL (size, alignment) or -EFAULT (outside memory).
 * The other calls rely on it: use a queue only after it passed.
 */
int vq_validate(const struct virtqueue *vq);

/*
 * Takes the next available chain. Returns 1 with @chain filled, 0 when the ring
 * is empty (or the queue not ready), or -EINVAL for a malformed chain (bad
 * address, loop, too long, writable before readable, nested indirect, ...): the
 * chain is consumed and returned to the guest with length 0 (vq_push), so the
 * guest gets its buffer back and the device goes on; the caller counts it as an
 * error. Returns -EIO when the ring itself is corrupt (avail->idx more than
 * size ahead of what was popped, a head index >= size): nothing can be given
 * back, the queue is marked broken (every later vq_pop returns -EIO) and the
 * caller sets DEVICE_NEEDS_RESET (virtio_dev_needs_reset). vq->error says why.
 * With EVENT_IDX, also publishes avail_event = the new last_avail.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/*
 * Puts back the chain the last vq_pop() returned (1), so the next vq_pop()
 * returns it again: for a device that cannot serve it now (rate limiter).
 */
void vq_undo_pop(struct virtqueue *vq);

/* Returns a chain to the guest with @len bytes written into its in-buffers. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/* A used-ring element: a chain's head and the bytes written into it. */
struct vq_used {
	uint16_t head;
	uint32_t len;
};

/*
 * Returns @n chains at once, in order, and publishes used->idx once: the
 * driver sees all of them or none (a merged rx frame's chains). A head out of
 * range drops the whole batch (logged), as vq_push drops one.
 */
void vq_push_many(struct virtqueue *vq, const struct vq_used *elems, unsigned int n);

/*
 * Whether the guest wants an interrupt for what was pushed since the last
 * notification (EVENT_IDX's used_event, or the avail ring's NO_INTERRUPT flag).
 * False when nothing was pushed since. Records the current used index as
 * signalled: call it once per batch, and raise the interrupt when it says so.
 */
bool vq_should_notify(struct virtqueue *vq);

/* Whether the ring holds chains not popped yet. */
bool vq_has_avail(const struct virtqueue *vq);

/*
 * EVENT_IDX: asks the guest to notify only after it adds past the current
 * position; then re-checks for chains that raced with the update. Returns
 * vq_has_avail() after the update.
 */
bool vq_enable_notify(struct virtqueue *vq);

/* Forgets all progress and configuration (device reset); keeps @mem. */
void vq_reset(struct virtqueue *vq);

/*
 * Snapshots: the queue's configuration and progress as fields of the open
 * section (size, ready, event_idx, indirect, the three ring addresses,
 * last_avail, used_idx, signalled_used, signalled_valid, broken).
 * vq_restore reads them back over @vq (keeping @mem) and refuses (sr_fail)
 * a size that is neither 0 (a refused QueueNum) nor a power of two <=
 * @queue_max, and more chains in flight than the queue holds; a @live queue
 * (ready, the device activated) must also pass vq_validate.
 */
void vq_save(const struct virtqueue *vq, struct state_writer *w);
void vq_restore(struct virtqueue *vq, struct state_reader *r, uint16_t queue_max, bool live);

#endif
