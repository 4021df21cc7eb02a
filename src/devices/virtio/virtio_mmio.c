// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio transport, version 2 (virtio 1.x, section 4.2.2): the register
 * window, feature negotiation, the device status state machine, queue set-up
 * and interrupts. The decisions (vendor id, QueueNum, invalid status writes,
 * widths) are listed in virtio_mmio.h.
 *
 * Everything runs under d->lock (recursive). Interrupts are edges (an irqfd
 * write): the driver reads InterruptStatus and writes InterruptACK, so
 * interrupt_status is an atomic the helpers may set from any thread.
 */
#include "devices/virtio/virtio_mmio.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>

#define DRIVER_STATUS_BITS VIRTIO_STATUS_DRIVER_BITS

static const char *dev_name(const struct virtio_dev *d)
{
	return d->ops && d->ops->name ? d->ops->name : "virtio";
}

uint64_t virtio_dev_features(const struct virtio_dev *d)
{
	return d->ops->features | (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_EVENT_IDX) |
	       (1ULL << VIRTIO_F_RING_INDIRECT_DESC);
}

bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned int bit)
{
	/* driver_features only holds offered bits once FEATURES_OK stuck. */
	return bit < 64 && (d->status & VIRTIO_STATUS_FEATURES_OK) &&
	       ((d->driver_features & virtio_dev_features(d)) >> bit & 1);
}

static void reset_queues(struct virtio_dev *d)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
		struct virtqueue *vq = &d->vqs[q];

		vq->mem = d->mem;
		vq_reset(vq);
		if (q < d->ops->nr_queues)
			vq->size = d->ops->queue_max;
	}
}

/* Status 0: back to the state after virtio_dev_init (placement and counters kept). */
static void device_reset(struct virtio_dev *d)
{
	d->status = 0;
	d->device_features_sel = 0;
	d->driver_features_sel = 0;
	d->driver_features = 0;
	d->queue_sel = 0;
	atomic_store(&d->interrupt_status, 0);
	d->activated = false;
	reset_queues(d);
	if (d->ops->reset)
		d->ops->reset(d);
}

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     const struct virtio_host_ops *host, void *host_data, void *opaque,
		     const struct guest_mem *mem)
{
	pthread_mutexattr_t attr;

	memset(d, 0, sizeof(*d));
	d->ops = ops;
	d->host = host;
	d->host_data = host_data;
	d->opaque = opaque;
	d->mem = mem;
	atomic_init(&d->interrupt_status, 0);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&d->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	reset_queues(d);
}

void virtio_dev_destroy(struct virtio_dev *d)
{
	if (!d->ops)
		return;
	pthread_mutex_destroy(&d->lock);
	d->ops = NULL;
}

void virtio_dev_schedule(struct virtio_dev *d, uint64_t delay_ns)
{
	if (d->host && d->host->schedule)
		d->host->schedule(d, delay_ns);
}

int virtio_dev_watch(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	return d->host && d->host->watch ? d->host->watch(d, w, events) : -ENOSYS;
}

int virtio_dev_watch_set(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	return d->host && d->host->watch_set ? d->host->watch_set(d, w, events) : -ENOSYS;
}

void virtio_dev_unwatch(struct virtio_dev *d, struct dev_watch *w)
{
	if (d->host && d->host->unwatch && w->watched)
		d->host->unwatch(d, w);
}

uint64_t virtio_dev_now_ns(struct virtio_dev *d)
{
	return d->host && d->host->now_ns ? d->host->now_ns(d) : 0;
}

static void raise_interrupt(struct virtio_dev *d, unsigned int bits)
{
	atomic_fetch_or(&d->interrupt_status, bits);
	d->interrupts++;
	if (d->host && d->host->interrupt)
		d->host->interrupt(d);
}

bool virtio_dev_signal_used(struct virtio_dev *d, unsigned int q)
{
	bool fire = false;

	pthread_mutex_lock(&d->lock);
	if (q < d->ops->nr_queues && vq_should_notify(&d->vqs[q])) {
		raise_interrupt(d, VIRTIO_INT_USED_RING);
		fire = true;
	}
	pthread_mutex_unlock(&d->lock);
	return fire;
}

void virtio_dev_signal_config(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	d->config_generation++;
	raise_interrupt(d, VIRTIO_INT_CONFIG);
	pthread_mutex_unlock(&d->lock);
}

void virtio_dev_needs_reset(struct virtio_dev *d)
{
	pthread_mutex_lock(&d->lock);
	if (!(d->status & VIRTIO_STATUS_NEEDS_RESET)) {
		log_warn_rl("virtio-%s: device error: DEVICE_NEEDS_RESET", dev_name(d));
		d->status |= VIRTIO_STATUS_NEEDS_RESET;
		raise_interrupt(d, VIRTIO_INT_CONFIG);
	}
	pthread_mutex_unlock(&d->lock);
}

int virtio_queue_pop(struct virtio_dev *d, unsigned int q, struct vq_chain *chain,
		     uint64_t *malformed)
{
	struct virtqueue *vq = &d->vqs[q];
	int ret = vq_pop(vq, chain);

	if (ret == 0 && vq_enable_notify(vq))
		ret = vq_pop(vq, chain); /* one raced in while notifications were re-armed */
	if (ret >= 0)
		return ret;
	d->event_fails++;
	if (ret == -EIO) {
		virtio_dev_needs_reset(d); /* logged, with vq_pop's why */
		return ret;
	}
	if (malformed)
		(*malformed)++;
	log_debug("virtio-%s: queue %u: malformed chain: %s", dev_name(d), q,
		  vq->error ? vq->error : "?");
	return ret;
}

/* The budget is spent: a run serves what is left, if anything is. */
static enum virtio_queue_end budget_spent(struct virtio_dev *d, struct virtqueue *vq)
{
	if (!vq_has_avail(vq))
		return VIRTIO_QUEUE_EMPTY;
	virtio_dev_schedule(d, 0);
	return VIRTIO_QUEUE_BUDGET;
}

enum virtio_queue_end virtio_queue_serve(struct virtio_dev *d, const struct virtio_queue_loop *l)
{
	struct virtqueue *vq = &d->vqs[l->q];
	uint16_t used_before = vq->used_idx;
	unsigned int popped = 0;
	enum virtio_queue_end end;

	for (;;) {
		enum virtio_chain_done done;
		int ret;

		if (l->more && !l->more(d, l->arg)) {
			end = VIRTIO_QUEUE_EMPTY;
			break;
		}
		if (l->budget && popped >= l->budget) {
			end = budget_spent(d, vq);
			break;
		}
		ret = virtio_queue_pop(d, l->q, l->chain, l->malformed);
		if (ret == 0) {
			end = VIRTIO_QUEUE_EMPTY;
			break;
		}
		if (ret == -EIO) {
			end = VIRTIO_QUEUE_BROKEN;
			break;
		}
		popped++;
		if (ret < 0)
			continue; /* malformed: given back and counted */
		done = l->serve(d, l->q, l->chain, l->arg);
		if (done == VIRTIO_CHAIN_STOP) {
			end = VIRTIO_QUEUE_STOPPED;
			break;
		}
		if (done == VIRTIO_CHAIN_YIELD) {
			end = budget_spent(d, vq);
			break;
		}
	}
	if (!l->caller_signals && vq->used_idx != used_before)
		virtio_dev_signal_used(d, l->q);
	return end;
}

/* Lock held. */
static void notify_locked(struct virtio_dev *d, unsigned int q)
{
	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET) || q >= d->ops->nr_queues ||
	    !d->vqs[q].ready) {
		log_debug("virtio-%s: notification of queue %u ignored", dev_name(d), q);
		return;
	}
	d->queue_notifies++;
	d->ops->queue_notify(d, q);
}

void virtio_dev_notify(struct virtio_dev *d, unsigned int q)
{
	pthread_mutex_lock(&d->lock);
	notify_locked(d, q);
	pthread_mutex_unlock(&d->lock);
}

/* DRIVER_OK: final features into the queues, validate the ready ones, activate. */
static void activate(struct virtio_dev *d)
{
	bool event_idx = virtio_dev_has_feature(d, VIRTIO_F_RING_EVENT_IDX);
	bool indirect = virtio_dev_has_feature(d, VIRTIO_F_RING_INDIRECT_DESC);

	for (unsigned int q = 0; q < d->ops->nr_queues; q++) {
		struct virtqueue *vq = &d->vqs[q];

		vq->event_idx = event_idx;
		vq->indirect = indirect;
		if (vq->ready && vq_validate(vq) < 0) {
			log_warn_rl("virtio-%s: queue %u is invalid at DRIVER_OK", dev_name(d), q);
			goto fail;
		}
	}
	if (d->ops->activate && d->ops->activate(d) < 0) {
		log_warn_rl("virtio-%s: activation failed", dev_name(d));
		goto fail;
	}
	d->activated = true;
	return;
fail:
	d->activate_fails++;
	virtio_dev_needs_reset(d);
}

static bool features_acceptable(const struct virtio_dev *d)
{
	if (d->driver_features & ~virtio_dev_features(d)) {
		log_warn_rl("virtio-%s: driver accepted features 0x%llx that were not offered",
			    dev_name(d),
			    (unsigned long long)(d->driver_features & ~virtio_dev_features(d)));
		return false;
	}
	if (!(d->driver_features >> VIRTIO_F_VERSION_1 & 1)) {
		log_warn_rl("virtio-%s: driver did not accept VIRTIO_F_VERSION_1", dev_name(d));
		return false;
	}
	return true;
}

/* Why the driver may not write @v over the current status, or NULL if it may. */
static const char *status_invalid(uint32_t cur, uint32_t v)
{
	uint32_t add = v & ~cur;

	if (v & ~DRIVER_STATUS_BITS)
		return "unknown bits";
	if ((v & cur) != cur)
		return "bits cleared without a reset";
	if ((add & VIRTIO_STATUS_DRIVER) && !(v & VIRTIO_STATUS_ACKNOWLEDGE))
		return "DRIVER before ACKNOWLEDGE";
	if ((add & VIRTIO_STATUS_FEATURES_OK) && !(v & VIRTIO_STATUS_DRIVER))
		return "FEATURES_OK before DRIVER";
	if ((add & VIRTIO_STATUS_DRIVER_OK) && !(v & VIRTIO_STATUS_FEATURES_OK))
		return "DRIVER_OK before FEATURES_OK";
	return NULL;
}

static void write_status(struct virtio_dev *d, uint32_t v)
{
	uint32_t cur = d->status & ~VIRTIO_STATUS_NEEDS_RESET, add;
	const char *why;

	if (!v) {
		device_reset(d);
		return;
	}
	v &= ~VIRTIO_STATUS_NEEDS_RESET; /* the device's bit: the driver's copy means nothing */
	why = status_invalid(cur, v);
	if (why) {
		log_warn_rl("virtio-%s: status 0x%x -> 0x%x ignored: %s", dev_name(d), d->status, v,
			    why);
		d->cfg_fails++;
		return;
	}
	add = v & ~cur;
	if ((add & VIRTIO_STATUS_FEATURES_OK) && !features_acceptable(d)) {
		/* Refused: the bit does not stick, and nothing that needs it either. */
		add &= ~(VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
		d->cfg_fails++;
	}
	d->status |= add;
	if (add & VIRTIO_STATUS_DRIVER_OK)
		activate(d);
}

/* The queue registers may change: a configurable queue, not ready, before DRIVER_OK. */
static struct virtqueue *writable_queue(struct virtio_dev *d)
{
	struct virtqueue *vq;

	if (d->queue_sel >= d->ops->nr_queues) {
		log_debug("virtio-%s: write to absent queue %u", dev_name(d), d->queue_sel);
		return NULL;
	}
	vq = &d->vqs[d->queue_sel];
	if (vq->ready || (d->status & VIRTIO_STATUS_DRIVER_OK)) {
		log_warn_rl("virtio-%s: queue %u is live: configuration write ignored", dev_name(d),
			    d->queue_sel);
		d->cfg_fails++;
		return NULL;
	}
	return vq;
}

static void set_low(uint64_t *r, uint32_t v)
{
	*r = (*r & ~0xffffffffULL) | v;
}

static void set_high(uint64_t *r, uint32_t v)
{
	*r = (*r & 0xffffffffULL) | (uint64_t)v << 32;
}

static void write_queue_num(struct virtio_dev *d, struct virtqueue *vq, uint32_t v)
{
	if (!v || v > d->ops->queue_max || (v & (v - 1))) {
		log_warn_rl("virtio-%s: queue %u size %u refused (a power of two <= %u)",
			    dev_name(d), d->queue_sel, v, d->ops->queue_max);
		vq->size = 0; /* DRIVER_OK will fail on it */
		return;
	}
	vq->size = (uint16_t)v;
}

static void write_queue_ready(struct virtio_dev *d, uint32_t v)
{
	struct virtqueue *vq;

	if (d->queue_sel >= d->ops->nr_queues)
		return;
	if (!(v & 1)) {
		d->vqs[d->queue_sel].ready = false;
		return;
	}
	vq = writable_queue(d);
	if (vq)
		vq->ready = true;
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	struct virtqueue *vq;

	switch (off) {
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
		d->device_features_sel = v;
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES:
		if (!(d->status & VIRTIO_STATUS_DRIVER) ||
		    (d->status & VIRTIO_STATUS_FEATURES_OK)) {
			log_warn_rl("virtio-%s: DriverFeatures written in status 0x%x: ignored",
				    dev_name(d), d->status);
			d->cfg_fails++;
		} else if (d->driver_features_sel == 0) {
			set_low(&d->driver_features, v);
		} else if (d->driver_features_sel == 1) {
			set_high(&d->driver_features, v);
		} else if (v) {
			/* Nothing is offered above bit 63: accepting anything there is wrong. */
			log_warn_rl("virtio-%s: driver features word %u = 0x%x ignored",
				    dev_name(d), d->driver_features_sel, v);
			d->cfg_fails++;
		}
		break;
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
		d->driver_features_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_SEL:
		d->queue_sel = v;
		break;
	case VIRTIO_MMIO_QUEUE_NUM:
		vq = writable_queue(d);
		if (vq)
			write_queue_num(d, vq, v);
		break;
	case VIRTIO_MMIO_QUEUE_READY:
		write_queue_ready(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_NOTIFY:
		/* Normally an ioeventfd catches this write; this is the path without one. */
		notify_locked(d, v);
		break;
	case VIRTIO_MMIO_INTERRUPT_ACK:
		atomic_fetch_and(&d->interrupt_status, ~v);
		break;
	case VIRTIO_MMIO_STATUS:
		write_status(d, v);
		break;
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH: {
		uint64_t *r;

		vq = writable_queue(d);
		if (!vq)
			break;
		if (off < VIRTIO_MMIO_QUEUE_DRIVER_LOW)
			r = &vq->desc_gpa;
		else if (off < VIRTIO_MMIO_QUEUE_DEVICE_LOW)
			r = &vq->avail_gpa;
		else
			r = &vq->used_gpa;
		if (off & 4)
			set_high(r, v);
		else
			set_low(r, v);
		break;
	}
	case VIRTIO_MMIO_SHM_SEL:
	case VIRTIO_MMIO_QUEUE_RESET:
		break; /* no shared memory regions; queue reset is not offered */
	default:
		log_debug("virtio-%s: write of 0x%x to unknown register 0x%llx", dev_name(d), v,
			  (unsigned long long)off);
		d->cfg_fails++;
		break;
	}
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	const struct virtqueue *vq =
	    d->queue_sel < d->ops->nr_queues ? &d->vqs[d->queue_sel] : NULL;

	switch (off) {
	case VIRTIO_MMIO_MAGIC_VALUE:
		return VIRTIO_MMIO_MAGIC;
	case VIRTIO_MMIO_VERSION:
		return 2;
	case VIRTIO_MMIO_DEVICE_ID:
		return d->ops->device_id;
	case VIRTIO_MMIO_VENDOR_ID:
		return VIRTIO_MMIO_VENDOR;
	case VIRTIO_MMIO_DEVICE_FEATURES:
		if (d->device_features_sel == 0)
			return (uint32_t)virtio_dev_features(d);
		if (d->device_features_sel == 1)
			return (uint32_t)(virtio_dev_features(d) >> 32);
		return 0;
	case VIRTIO_MMIO_QUEUE_NUM_MAX:
		return vq ? d->ops->queue_max : 0; /* 0: the queue is not available */
	case VIRTIO_MMIO_QUEUE_READY:
		return vq ? vq->ready : 0;
	case VIRTIO_MMIO_INTERRUPT_STATUS:
		return atomic_load(&d->interrupt_status);
	case VIRTIO_MMIO_STATUS:
		return d->status;
	case VIRTIO_MMIO_SHM_LEN_LOW:
	case VIRTIO_MMIO_SHM_LEN_HIGH:
	case VIRTIO_MMIO_SHM_BASE_LOW:
	case VIRTIO_MMIO_SHM_BASE_HIGH:
		return 0xffffffff; /* all-ones: no region with that id */
	case VIRTIO_MMIO_QUEUE_RESET:
		return 0;
	case VIRTIO_MMIO_CONFIG_GENERATION:
		return d->config_generation;
	case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
	case VIRTIO_MMIO_DRIVER_FEATURES:
	case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
	case VIRTIO_MMIO_QUEUE_SEL:
	case VIRTIO_MMIO_QUEUE_NUM:
	case VIRTIO_MMIO_QUEUE_NOTIFY:
	case VIRTIO_MMIO_INTERRUPT_ACK:
	case VIRTIO_MMIO_QUEUE_DESC_LOW:
	case VIRTIO_MMIO_QUEUE_DESC_HIGH:
	case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
	case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
	case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
	case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
	case VIRTIO_MMIO_SHM_SEL:
		return 0; /* write-only */
	default:
		log_debug("virtio-%s: read of unknown register 0x%llx", dev_name(d),
			  (unsigned long long)off);
		d->cfg_fails++;
		return 0;
	}
}

void virtio_config_copy(uint8_t *data, uint32_t len, uint64_t off, const void *space, size_t size)
{
	if (off >= size)
		return;
	if (len > size - off)
		len = (uint32_t)(size - off);
	memcpy(data, (const uint8_t *)space + off, len);
}

static void config_access(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len,
			  bool is_write)
{
	if (is_write) {
		if (d->ops->config_write)
			d->ops->config_write(d, off, data, len);
		return;
	}
	memset(data, 0, len);
	if (d->ops->config_read)
		d->ops->config_read(d, off, data, len);
}

void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct virtio_dev *d = opaque;

	pthread_mutex_lock(&d->lock);
	if (offset >= VIRTIO_MMIO_CONFIG) {
		config_access(d, offset - VIRTIO_MMIO_CONFIG, data, len, is_write);
	} else if (len != 4 || offset % 4) {
		log_debug("virtio-%s: %u-byte access at 0x%llx refused (registers are 4 bytes)",
			  dev_name(d), len, (unsigned long long)offset);
		d->cfg_fails++;
		if (!is_write)
			memset(data, 0, len);
	} else if (is_write) {
		uint32_t v;

		memcpy(&v, data, 4);
		reg_write(d, offset, v);
	} else {
		uint32_t v = reg_read(d, offset);

		memcpy(data, &v, 4);
	}
	pthread_mutex_unlock(&d->lock);
}
