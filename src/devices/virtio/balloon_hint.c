// SPDX-License-Identifier: Apache-2.0
/* virtio-balloon's free page hinting: the free page queue and the host's runs. See balloon.h. */
#include "devices/virtio/balloon.h"

#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

static struct virtio_balloon *to_balloon(struct virtio_dev *d)
{
	return d->opaque;
}

/* A run of the host's is going on (a command id, not STOP or DONE). */
static bool run_active(const struct virtio_balloon *b)
{
	return b->hint_cmd >= VIRTIO_BALLOON_CMD_ID_FIRST;
}

/*
 * One chain: a command id (device-readable le32) the driver sends, and/or its
 * free pages (device-writable buffers), dropped while the run is the driver's
 * current one. Every chain goes back with length 0.
 */
static enum virtio_chain_done hint_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				       void *arg)
{
	struct virtio_balloon *b = to_balloon(d);
	uint32_t id;

	(void)arg;
	b->hint_chains++;
	if (c->out_len == sizeof(id)) {
		iov_to_buf(c->out, c->nr_out, 0, &id, sizeof(id));
		b->guest_cmd = le32toh(id);
		b->guest_cmd_seen = true;
		if (b->guest_cmd == VIRTIO_BALLOON_CMD_ID_STOP && run_active(b) &&
		    b->hint_ack_on_stop) {
			b->hint_cmd = VIRTIO_BALLOON_CMD_ID_DONE; /* the driver frees its pages */
			virtio_dev_signal_config(d);
		}
	} else if (c->out_len) {
		d->event_fails++; /* a command is one le32 */
	}
	if (run_active(b) && b->guest_cmd_seen && b->guest_cmd == b->hint_cmd)
		for (unsigned int i = 0; i < c->nr_in; i++) {
			uint64_t fails = b->madvise_fails;

			b->free_page_hint_count++;
			b->free_page_hint_freed +=
			    virtio_balloon_drop_range(b, c->in[i].iov_base, c->in[i].iov_len);
			if (b->madvise_fails != fails)
				b->free_page_hint_fails++;
		}
	vq_push(&d->vqs[q], c->head, 0);
	return VIRTIO_CHAIN_NEXT;
}

void virtio_balloon_process_hints(struct virtio_balloon *b, unsigned int q)
{
	virtio_balloon_serve(b, (struct virtio_queue_loop){.q = q, .serve = hint_one});
}

static int not_enabled(void)
{
	log_error("balloon: free page hinting is not enabled (free_page_hinting was false when "
		  "the device was configured)");
	return -ENOTSUP;
}

/* The host's new command; the driver reads it on the configuration interrupt. */
static void set_cmd(struct virtio_balloon *b, uint32_t cmd)
{
	b->hint_cmd = cmd;
	if (b->dev.activated)
		virtio_dev_signal_config(&b->dev);
	else
		b->dev.config_generation++;
}

int balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop)
{
	uint32_t next;

	if (!b->hinting_enabled)
		return not_enabled();
	pthread_mutex_lock(&b->dev.lock);
	next = b->hint_run + 1; /* a new id each run, as Firecracker counts them */
	if (next < VIRTIO_BALLOON_CMD_ID_FIRST)
		next = VIRTIO_BALLOON_CMD_ID_FIRST; /* the first, or wrapped */
	b->hint_run = next;
	b->hint_ack_on_stop = ack_on_stop;
	set_cmd(b, next);
	pthread_mutex_unlock(&b->dev.lock);
	return 0;
}

int balloon_hint_stop(struct virtio_balloon *b)
{
	if (!b->hinting_enabled)
		return not_enabled();
	pthread_mutex_lock(&b->dev.lock);
	set_cmd(b, VIRTIO_BALLOON_CMD_ID_DONE);
	pthread_mutex_unlock(&b->dev.lock);
	return 0;
}

int balloon_hint_status(struct virtio_balloon *b, uint32_t *host_cmd, uint32_t *guest_cmd,
			bool *has_guest)
{
	if (!b->hinting_enabled)
		return not_enabled();
	pthread_mutex_lock(&b->dev.lock);
	*host_cmd = b->hint_cmd;
	*guest_cmd = b->guest_cmd;
	*has_guest = b->guest_cmd_seen;
	pthread_mutex_unlock(&b->dev.lock);
	return 0;
}
