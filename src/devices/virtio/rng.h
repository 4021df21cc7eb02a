/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-rng (virtio 1.x, section 5.4, "entropy device"): device id 4, one
 * request queue, no features, no configuration space. Each request is a chain
 * of device-writable buffers, filled with getrandom() bytes, at most
 * VIRTIO_RNG_MAX_REQUEST per request. A chain with a device-readable buffer
 * (the spec forbids them) or without a writable byte is failed with length 0
 * and counted in dev.event_fails.
 *
 * Rate limiter (Firecracker's entropy.rate_limiter): each request takes one op
 * and the bytes about to be produced, before any is. Without tokens the chain
 * goes back on the ring (vq_undo_pop), processing stops, and the device asks
 * its host to run it again once the limiter has tokens (host->schedule).
 */
#ifndef EMBER_DEVICES_VIRTIO_RNG_H
#define EMBER_DEVICES_VIRTIO_RNG_H

#include "devices/virtio/virtio_mmio.h"
#include "util/rate_limiter.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_RNG_QUEUE_SIZE  256
#define VIRTIO_RNG_MAX_REQUEST (64 * 1024) /* bytes per request: bounds one event's work */

/* Firecracker's EntropyDeviceMetrics (virtio_mmio.h: T, C). */
#define VIRTIO_RNG_METRICS(T, C)                                                \
	T(activate_fails, activate_fails)                                       \
	T(entropy_event_fails, event_fails)                                     \
	C(entropy_event_count)		  /* queue notifications handled */     \
	C(entropy_bytes)		  /* random bytes given to the guest */ \
	C(host_rng_fails)		  /* getrandom() errors */              \
	C(entropy_rate_limiter_throttled) /* requests deferred by the rate limiter */

struct virtio_rng {
	struct virtio_dev dev; /* first: dev.opaque points back here */

	struct rate_limiter rl; /* inactive: no limit */

	struct vq_chain chain; /* the request being served (too big for the stack) */

	/* Counters: Firecracker's entropy metrics, then ember's own. */
	VIRTIO_RNG_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
	uint64_t requests; /* requests served (len > 0) */
	uint64_t capped;   /* requests cut to VIRTIO_RNG_MAX_REQUEST */
};

/*
 * Sets up the device in the reset state (queue 0, at most VIRTIO_RNG_QUEUE_SIZE
 * entries) with the rate limiter @rl (NULL: none); the VM glue then places it
 * (dev.mmio_base, dev.gsi) and registers virtio_mmio_io with &r->dev. Returns 0.
 */
int virtio_rng_init(struct virtio_rng *r, const struct rate_limiter_config *rl,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem);
void virtio_rng_destroy(struct virtio_rng *r);

/*
 * Serves every request on the queue, then raises one used-ring interrupt if the
 * guest wants it. The queue_notify and run ops (the limiter's retry). dev.lock
 * held. Does nothing unless the device is activated.
 */
void virtio_rng_process(struct virtio_rng *r);

#endif
