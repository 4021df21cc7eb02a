/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.x, section 5.4, "entropy device"): device id 4, one
 * request queue, no features, no configuration space. Each request is a chain
 * of device-writable buffers, filled with getrandom() bytes, at most
 * VIRTIO_RNG_MAX_REQUEST per request. A chain with a device-readable buffer
 * (the spec forbids them) or without a writable byte is failed with length 0
 * and counted in dev.event_fails.
 */
#ifndef EMBER_DEVICES_VIRTIO_RNG_H
#define EMBER_DEVICES_VIRTIO_RNG_H

#include "devices/virtio/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_RNG_QUEUE_SIZE  256
#define VIRTIO_RNG_MAX_REQUEST (64 * 1024) /* bytes per request: bounds one event's work */

struct virtio_rng {
	struct virtio_dev dev; /* first: dev.opaque points back here */

	/*
	 * Rate limiter hook (unset: no limit). Asked once per request, with the
	 * bytes about to be produced, before any is. False defers the request:
	 * its chain goes back on the ring (vq_undo_pop) and processing stops;
	 * the limiter calls virtio_rng_process() again when it has tokens (its
	 * timer, dev.lock held). rate_limit_opaque is the limiter's.
	 */
	bool (*rate_limit)(struct virtio_rng *r, uint64_t bytes);
	void *rate_limit_opaque;

	struct vq_chain chain; /* the request being served (too big for the stack) */

	/* Counters (Firecracker's entropy metric names). */
	uint64_t entropy_event_count;		 /* queue notifications handled */
	uint64_t entropy_bytes;			 /* random bytes given to the guest */
	uint64_t host_rng_fails;		 /* getrandom() errors */
	uint64_t entropy_rate_limiter_throttled; /* requests deferred by the hook */
	uint64_t requests;			 /* requests served (len > 0) */
	uint64_t capped;			 /* requests cut to VIRTIO_RNG_MAX_REQUEST */
};

/*
 * Sets up the device in the reset state (queue 0, at most VIRTIO_RNG_QUEUE_SIZE
 * entries); the VM glue then places it (dev.mmio_base, dev.gsi) and registers
 * virtio_mmio_io with &r->dev. Returns 0.
 */
int virtio_rng_init(struct virtio_rng *r, const struct virtio_host_ops *host,
		    const struct guest_mem *mem);
void virtio_rng_destroy(struct virtio_rng *r);

/*
 * Serves every request on the queue, then raises one used-ring interrupt if the
 * guest wants it. The queue_notify op; also for the rate limiter's timer.
 * dev.lock held. Does nothing unless the device is activated.
 */
void virtio_rng_process(struct virtio_rng *r);

#endif
