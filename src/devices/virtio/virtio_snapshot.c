// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshots of a virtio device (virtio_mmio.h: virtio_dev_save, _restore,
 * virtio_rl_save, _restore): the transport's registers and queues, then the
 * device's own fields (ops->save, ops->restore), in section "virtio". The
 * file is never trusted: every value is checked against the device before it
 * is used, and a restore that refuses one leaves a device only fit to be
 * destroyed (the VM being restored is torn down).
 */
#include "devices/virtio/virtio_mmio.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>

static const char *dev_name(const struct virtio_dev *d)
{
	return d->ops && d->ops->name ? d->ops->name : "virtio";
}

/* An interrupt the save raised after the irqchip was saved: again (status bits restored). */
static void reraise(struct virtio_dev *d)
{
	d->interrupts++;
	if (d->host && d->host->interrupt)
		d->host->interrupt(d);
}

#define SNAP_SECTION "virtio"

void virtio_dev_save(struct virtio_dev *d, struct state_writer *w, uint32_t instance)
{
	uint64_t interrupts;

	pthread_mutex_lock(&d->lock);
	interrupts = d->interrupts;
	if (d->ops->quiesce)
		d->ops->quiesce(d);
	state_section_begin(w, SNAP_SECTION, instance);
	sw_u32(w, d->ops->device_id);
	sw_u32(w, d->ops->nr_queues);
	sw_u32(w, d->status);
	sw_u32(w, d->device_features_sel);
	sw_u32(w, d->driver_features_sel);
	sw_u64(w, d->driver_features);
	sw_u32(w, d->queue_sel);
	sw_u32(w, atomic_load(&d->interrupt_status));
	sw_u32(w, d->config_generation);
	sw_bool(w, d->activated);
	for (unsigned int q = 0; q < d->ops->nr_queues; q++)
		vq_save(&d->vqs[q], w);
	if (d->ops->save)
		d->ops->save(d, w);
	sw_bool(w, d->interrupts != interrupts);
	state_section_end(w);
	pthread_mutex_unlock(&d->lock);
}

/* Why the saved transport state cannot be this device's, or NULL. */
static const char *transport_invalid(const struct virtio_dev *d, uint32_t irq)
{
	if (d->status & ~(VIRTIO_STATUS_DRIVER_BITS | VIRTIO_STATUS_NEEDS_RESET))
		return "unknown status bits";
	if (irq & ~(uint32_t)(VIRTIO_INT_USED_RING | VIRTIO_INT_CONFIG))
		return "unknown interrupt status bits";
	if (d->activated && !(d->status & VIRTIO_STATUS_DRIVER_OK))
		return "activated without DRIVER_OK";
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK))
		return "DRIVER_OK without FEATURES_OK";
	if ((d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    ((d->driver_features & ~virtio_dev_features(d)) ||
	     !(d->driver_features >> VIRTIO_F_VERSION_1 & 1)))
		return "driver features not offered by this device";
	return NULL;
}

static void transport_restore(struct virtio_dev *d, struct state_reader *r)
{
	bool event_idx, indirect;
	const char *why;
	uint32_t irq;

	if (sr_u32(r) != d->ops->device_id || sr_u32(r) != d->ops->nr_queues) {
		log_warn("virtio-%s: the saved device is of another type", dev_name(d));
		sr_fail(r);
		return;
	}
	d->status = sr_u32(r);
	d->device_features_sel = sr_u32(r);
	d->driver_features_sel = sr_u32(r);
	d->driver_features = sr_u64(r);
	d->queue_sel = sr_u32(r);
	irq = sr_u32(r);
	d->config_generation = sr_u32(r);
	d->activated = sr_bool(r);
	if (!sr_ok(r))
		return;
	why = transport_invalid(d, irq);
	if (why) {
		log_warn("virtio-%s: saved transport state refused: %s", dev_name(d), why);
		sr_fail(r);
		return;
	}
	atomic_store(&d->interrupt_status, irq);
	event_idx = virtio_dev_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
	indirect = virtio_dev_has_feature(d, VIRTIO_F_RING_INDIRECT_DESC);
	for (unsigned int q = 0; sr_ok(r) && q < d->ops->nr_queues; q++) {
		struct virtqueue *vq = &d->vqs[q];

		vq->mem = d->mem;
		vq_restore(vq, r, d->ops->queue_max, d->activated);
		/* What activate() set from the features; the ring code trusts them. */
		if (sr_ok(r) && d->activated &&
		    (vq->event_idx != event_idx || vq->indirect != indirect)) {
			log_warn(
			    "virtio-%s: queue %u: ring features differ from the negotiated ones",
			    dev_name(d), q);
			sr_fail(r);
		}
	}
}

int virtio_dev_restore(struct virtio_dev *d, const struct state_file *f, uint32_t instance)
{
	struct state_reader r;
	bool raise;
	int ret = 0;

	if (state_section_find(f, SNAP_SECTION, instance, &r))
		return -ENOENT;
	pthread_mutex_lock(&d->lock);
	transport_restore(d, &r);
	if (sr_ok(&r) && d->ops->restore)
		ret = d->ops->restore(d, &r);
	raise = sr_bool(&r);
	if (!ret && !sr_ok(&r)) {
		log_warn("virtio-%s: saved state %u is corrupt", dev_name(d), instance);
		ret = -EINVAL;
	}
	if (!ret && raise && d->activated)
		reraise(d);
	pthread_mutex_unlock(&d->lock);
	return ret;
}

void virtio_rl_save(struct virtio_dev *d, const struct rate_limiter *rl, struct state_writer *w)
{
	uint64_t now = virtio_dev_now_ns(d);

	for (int k = 0; k < 2; k++) {
		const struct token_bucket *b = &rl->tb[k];

		sw_bool(w, rl->limit[k]);
		sw_u64(w, b->size);
		sw_u64(w, b->refill_time_ns);
		sw_u64(w, b->budget);
		sw_u64(w, b->one_time_burst);
		sw_u64(w, b->debt);
		sw_u64(w, now > b->last_ns ? now - b->last_ns : 0);
		sw_u64(w, b->remainder);
	}
}

void virtio_rl_restore(struct virtio_dev *d, struct rate_limiter *rl, struct state_reader *r)
{
	uint64_t now = virtio_dev_now_ns(d);

	memset(rl, 0, sizeof(*rl));
	for (int k = 0; k < 2; k++) {
		struct token_bucket *b = &rl->tb[k];
		uint64_t since;

		rl->limit[k] = sr_bool(r);
		b->size = sr_u64(r);
		b->refill_time_ns = sr_u64(r);
		b->budget = sr_u64(r);
		b->one_time_burst = sr_u64(r);
		b->debt = sr_u64(r);
		since = sr_u64(r);
		b->remainder = sr_u64(r);
		b->last_ns = now > since ? now - since : 0;
		if (rl->limit[k] && (!b->size || !b->refill_time_ns || b->budget > b->size ||
				     b->remainder >= b->refill_time_ns)) {
			log_warn("virtio-%s: saved rate limiter bucket refused", dev_name(d));
			sr_fail(r);
		}
	}
	if (!sr_ok(r))
		memset(rl, 0, sizeof(*rl));
}
