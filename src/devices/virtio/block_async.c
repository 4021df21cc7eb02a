// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk's "Async" engine: readv/writev/fsync submitted to an io_uring of
 * BLOCK_QUEUE_SIZE entries, one slot per request in flight, completions
 * signalled on an eventfd the engine watches through the device's host
 * (block_engine.h).
 */
#include "devices/virtio/block_engine.h"

#include "util/log.h"

#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct block_uring {
	struct io_uring ring;
	int efd; /* completions signal it (io_uring_register_eventfd) */
	unsigned int in_flight;
	unsigned int unsubmitted; /* SQEs prepared since the last io_uring_submit */
	unsigned int nr_free;
	uint16_t free_slots[BLOCK_QUEUE_SIZE];
	struct block_req slots[BLOCK_QUEUE_SIZE];
};

static struct block_req *slot_get(struct block_uring *u)
{
	struct block_req *r;

	if (!u->nr_free)
		return NULL;
	r = &u->slots[u->free_slots[--u->nr_free]];
	return r;
}

static void slot_put(struct block_uring *u, struct block_req *r)
{
	r->busy = false;
	u->free_slots[u->nr_free++] = (uint16_t)(r - u->slots);
}

static void uring_submit(struct virtio_block *b)
{
	struct block_uring *u = b->uring;
	int ret;

	if (!u->unsubmitted)
		return;
	do
		ret = io_uring_submit(&u->ring);
	while (ret == -EINTR);
	if (ret >= 0) {
		u->unsubmitted -=
		    (unsigned int)ret < u->unsubmitted ? (unsigned int)ret : u->unsubmitted;
		return;
	}
	/* EAGAIN/EBUSY (kernel resources): the SQEs stay queued; try again soon. */
	log_warn_rl("drive %s: io_uring_submit: %s", b->drive_id, strerror(-ret));
	virtio_dev_schedule(&b->dev, 1000000);
}

/* Queues @r's I/O on the ring. False: no SQE (the caller gives the chain back). */
static bool uring_queue(struct virtio_block *b, struct block_req *r)
{
	struct block_uring *u = b->uring;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);

	if (!sqe) {
		uring_submit(b);
		sqe = io_uring_get_sqe(&u->ring);
		if (!sqe)
			return false;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		io_uring_prep_readv(sqe, b->fd, r->iov, r->niov, r->sector * BLOCK_SECTOR_SIZE);
		break;
	case VIRTIO_BLK_T_OUT:
		io_uring_prep_writev(sqe, b->fd, r->iov, r->niov, r->sector * BLOCK_SECTOR_SIZE);
		break;
	default:
		b->m.host_syncs++;
		io_uring_prep_fsync(sqe, b->fd, 0);
		break;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(r - u->slots));
	r->busy = true;
	u->in_flight++;
	u->unsubmitted++;
	return true;
}

/*
 * Takes the finished requests off the completion ring: completes them to the
 * guest (or, with @discard after a device reset, only frees their slots).
 * Returns how many were completed.
 */
static unsigned int uring_reap(struct virtio_block *b, bool discard)
{
	struct block_uring *u = b->uring;
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (u->in_flight && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		uint64_t slot = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		struct block_req *r;

		io_uring_cqe_seen(&u->ring, cqe);
		if (slot >= BLOCK_QUEUE_SIZE || !u->slots[slot].busy) {
			log_error("drive %s: io_uring completion for unknown slot %llu",
				  b->drive_id, (unsigned long long)slot);
			continue;
		}
		r = &u->slots[slot];
		u->in_flight--;
		if (!discard) {
			block_finish_io(b, r, res);
			n++;
		}
		slot_put(u, r);
	}
	return n;
}

/* Waits for every in-flight request (dev.lock held). */
static void uring_wait_all(struct virtio_block *b, bool discard)
{
	struct block_uring *u = b->uring;
	unsigned int n = 0;

	if (!u)
		return;
	while (u->in_flight) {
		struct io_uring_cqe *cqe;
		int ret;

		uring_submit(b);
		ret = io_uring_wait_cqe(&u->ring, &cqe);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			log_error("drive %s: waiting for %u in-flight requests: %s", b->drive_id,
				  u->in_flight, strerror(-ret));
			break;
		}
		n += uring_reap(b, discard);
	}
	if (n)
		virtio_dev_signal_used(&b->dev, 0);
}

/* Async: io_uring posted completions (dev.lock held). */
static void uring_ready(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	uint64_t n;

	(void)events;
	if (read(w->fd, &n, sizeof(n)) != sizeof(n))
		return;
	block_run_locked(d->opaque);
}

static int uring_init(struct virtio_block *b)
{
	struct block_uring *u;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->efd = -1;
	ret = io_uring_queue_init(BLOCK_QUEUE_SIZE, &u->ring, 0);
	if (ret < 0) {
		log_error(
		    "drive %s: io_engine \"Async\": io_uring_queue_init: %s (a kernel without "
		    "io_uring, io_uring disabled by sysctl kernel.io_uring_disabled, or a "
		    "seccomp filter); use \"Sync\"",
		    b->drive_id, strerror(-ret));
		free(u);
		return ret;
	}
	b->uring = u;
	u->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (u->efd < 0) {
		ret = -errno;
		log_error("drive %s: eventfd: %s", b->drive_id, strerror(errno));
		return ret;
	}
	ret = io_uring_register_eventfd(&u->ring, u->efd);
	if (ret < 0) {
		log_error("drive %s: io_engine \"Async\": io_uring_register_eventfd: %s",
			  b->drive_id, strerror(-ret));
		return ret;
	}
	for (unsigned int i = 0; i < BLOCK_QUEUE_SIZE; i++)
		u->free_slots[i] = (uint16_t)(BLOCK_QUEUE_SIZE - 1 - i);
	u->nr_free = BLOCK_QUEUE_SIZE;
	return 0;
}

static void uring_destroy(struct virtio_block *b)
{
	struct block_uring *u = b->uring;

	if (!u)
		return;
	uring_wait_all(b, true);
	io_uring_queue_exit(&u->ring);
	if (u->efd >= 0)
		close(u->efd);
	free(u);
	b->uring = NULL;
}

static int async_init(struct virtio_block *b)
{
	int ret = uring_init(b);

	if (ret)
		return ret;
	b->uring_w = (struct dev_watch){.fd = b->uring->efd, .fn = uring_ready};
	ret = virtio_dev_watch(&b->dev, &b->uring_w, EPOLLIN);
	if (ret) {
		log_error("drive %s: watching its io_uring eventfd: %s", b->drive_id,
			  strerror(-ret));
		return ret;
	}
	return 0;
}

static void async_destroy(struct virtio_block *b)
{
	virtio_dev_unwatch(&b->dev, &b->uring_w);
	uring_destroy(b);
}

static struct block_req *async_get(struct virtio_block *b)
{
	return slot_get(b->uring);
}

static void async_put(struct virtio_block *b, struct block_req *r)
{
	slot_put(b->uring, r);
}

static int async_fd(const struct virtio_block *b)
{
	return b->uring ? b->uring->efd : -1;
}

const struct block_engine block_async_engine = {
    .init = async_init,
    .destroy = async_destroy,
    .get = async_get,
    .put = async_put,
    .submit = uring_queue,
    .flush = uring_submit,
    .reap = uring_reap,
    .wait_all = uring_wait_all,
    .fd = async_fd,
};
