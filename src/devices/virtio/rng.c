// SPDX-License-Identifier: Apache-2.0
/* virtio-rng: requests filled from the host's getrandom(). See rng.h. */
#include "devices/virtio/rng.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static struct virtio_rng *to_rng(struct virtio_dev *d)
{
	return d->opaque;
}

/* Fills up to @want bytes of @c's writable buffers; returns how many were written. */
static uint32_t fill(struct virtio_rng *r, const struct vq_chain *c, uint32_t want)
{
	uint32_t done = 0;

	for (unsigned int i = 0; i < c->nr_in && done < want; i++) {
		uint8_t *p = c->in[i].iov_base;
		size_t left = c->in[i].iov_len;

		if (left > want - done)
			left = want - done;
		while (left) {
			/* rate limiter: the tokens for these bytes were taken in serve() */
			ssize_t n = getrandom(p, left, 0);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				log_warn_rl("virtio-rng: getrandom: %s",
					    n < 0 ? strerror(errno) : "EOF");
				r->host_rng_fails++;
				return done;
			}
			/* Short reads happen (large requests, signals): go on from there. */
			p += n;
			left -= (size_t)n;
			done += (uint32_t)n;
		}
	}
	return done;
}

/* One popped request (virtio_queue_serve): stops when the rate limiter deferred it. */
static enum virtio_chain_done serve(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				    void *arg)
{
	struct virtio_rng *r = to_rng(d);
	struct virtqueue *vq = &d->vqs[q];
	uint64_t want = c->in_len, wait_ns;
	uint32_t n;

	(void)arg;
	if (c->nr_out || !c->in_len) {
		log_debug("virtio-rng: request %u has %s: failed", c->head,
			  c->nr_out ? "a device-readable buffer" : "no writable byte");
		r->dev.event_fails++;
		vq_push(vq, c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	if (want > VIRTIO_RNG_MAX_REQUEST) {
		want = VIRTIO_RNG_MAX_REQUEST; /* the guest gets less: the spec allows it */
		r->capped++;
	}
	/* rate limiter: consume tokens here (one op, @want bytes), before producing any */
	if (rl_active(&r->rl) && !rl_consume(&r->rl, want, virtio_dev_now_ns(&r->dev), &wait_ns)) {
		vq_undo_pop(vq);
		r->entropy_rate_limiter_throttled++;
		virtio_dev_schedule(&r->dev, wait_ns);
		return VIRTIO_CHAIN_STOP;
	}
	n = fill(r, c, (uint32_t)want);
	r->entropy_bytes += n;
	if (n)
		r->requests++;
	vq_push(vq, c->head, n);
	return VIRTIO_CHAIN_NEXT;
}

void virtio_rng_process(struct virtio_rng *r)
{
	struct virtio_dev *d = &r->dev;
	const struct virtio_queue_loop loop = {.q = 0, .chain = &r->chain, .serve = serve};

	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	virtio_queue_serve(d, &loop);
}

static void rng_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_rng *r = to_rng(d);

	(void)q; /* one queue */
	r->entropy_event_count++;
	virtio_rng_process(r);
}

static void rng_run(struct virtio_dev *d)
{
	virtio_rng_process(to_rng(d));
}

static int rng_activate(struct virtio_dev *d)
{
	if (!d->vqs[0].ready) {
		log_warn_rl("virtio-rng: DRIVER_OK without the request queue ready");
		return -EINVAL;
	}
	return 0;
}

/* Snapshots: the rate limiter is the device's only state between requests. */
static void rng_save(struct virtio_dev *d, struct state_writer *w)
{
	virtio_rl_save(d, &to_rng(d)->rl, w);
}

static int rng_restore(struct virtio_dev *d, struct state_reader *r)
{
	virtio_rl_restore(d, &to_rng(d)->rl, r);
	/* Requests the guest posted before the snapshot (a throttled one, a notification the
	 * paused VM held) are served by a run, once the VM runs. */
	if (sr_ok(r) && d->activated)
		virtio_dev_schedule(d, 0);
	return 0;
}

static const struct virtio_dev_ops rng_ops = {
    .name = "rng",
    .device_id = VIRTIO_ID_RNG,
    .nr_queues = 1,
    .queue_max = VIRTIO_RNG_QUEUE_SIZE,
    .features = 0,
    .config_read = NULL, /* no configuration space: reads 0 */
    .activate = rng_activate,
    .queue_notify = rng_queue_notify,
    .run = rng_run,
    .save = rng_save,
    .restore = rng_restore,
};

int virtio_rng_init(struct virtio_rng *r, const struct rate_limiter_config *rl,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem)
{
	memset(r, 0, sizeof(*r));
	virtio_dev_init(&r->dev, &rng_ops, host, host_data, r, mem);
	rl_init(&r->rl, rl && rl->has_bandwidth ? &rl->bandwidth : NULL,
		rl && rl->has_ops ? &rl->ops : NULL, virtio_dev_now_ns(&r->dev));
	return 0;
}

void virtio_rng_destroy(struct virtio_rng *r)
{
	virtio_dev_destroy(&r->dev);
}
