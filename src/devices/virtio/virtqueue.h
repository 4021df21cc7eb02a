/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Split virtqueues (virtio 1.x, section 2.7), the device side. The guest is
 * untrusted: every guest address goes through gm_ptr() (overflow, bounds,
 * one region), a chain is bounded by the queue size, indirect tables are
 * validated, and a malformed chain fails that request only.
 *
 * Threading: a queue is driven by one thread at a time (the event loop).
 */
#ifndef EMBER_DEVICES_VIRTIO_VIRTQUEUE_H
#define EMBER_DEVICES_VIRTIO_VIRTQUEUE_H

#include "vmm/guest_mem.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VQ_MAX_SIZE 1024 /* largest queue a device offers (power of two) */
#define VQ_MAX_SEGS 256	 /* most buffers one chain may map */

struct virtqueue {
	const struct guest_mem *mem;
	uint16_t size; /* negotiated QueueNum; 0 until configured */
	bool ready;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t last_avail;	 /* next avail ring entry to pop */
	uint16_t used_idx;	 /* our copy of used->idx */
	uint16_t signalled_used; /* used_idx when the guest was last notified */
	bool signalled_valid;
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

/* Checks the ring addresses against guest memory once, when the driver sets QueueReady. */
int vq_validate(const struct virtqueue *vq);

/*
 * Takes the next available chain. Returns 1 with @chain filled, 0 when the ring
 * is empty, or -EINVAL for a malformed chain (bad address, loop, too long,
 * writable before readable, nested indirect, ...): the chain is consumed and
 * returned to the guest with length 0 (vq_push), so the guest gets its buffer
 * back and the device goes on; the caller counts it as an error.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *chain);

/* Returns a chain to the guest with @len bytes written into its in-buffers. */
void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len);

/*
 * Whether the guest wants an interrupt for what was pushed since the last
 * notification (EVENT_IDX's used_event, or the avail ring's NO_INTERRUPT flag).
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

/* Forgets all progress (device reset). */
void vq_reset(struct virtqueue *vq);

#endif
