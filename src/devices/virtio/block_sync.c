// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk's "Sync" engine: preadv/pwritev/fsync on the event loop thread,
 * one request at a time (block_engine.h).
 */
#include "devices/virtio/block_engine.h"

#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

/* preadv/pwritev until all of @iov moved; returns the bytes moved or -errno (EOF: what moved). */
static int64_t rw_all(int fd, struct iovec *iov, unsigned int n, uint64_t off, bool write)
{
	int64_t done = 0;

	while (n) {
		int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
		ssize_t k =
		    write ? pwritev(fd, iov, cnt, (off_t)off) : preadv(fd, iov, cnt, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break; /* end of file: a short transfer */
		done += k;
		off += (uint64_t)k;
		while (n && (size_t)k >= iov->iov_len) {
			k -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n) {
			iov->iov_base = (uint8_t *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return done;
}

static bool sync_submit(struct virtio_block *b, struct block_req *r)
{
	int64_t res;

	if (r->type == VIRTIO_BLK_T_FLUSH) {
		b->m.host_syncs++;
		res = fsync(b->fd) ? -errno : 0;
	} else {
		res = rw_all(b->fd, r->iov, r->niov, r->sector * BLOCK_SECTOR_SIZE,
			     r->type == VIRTIO_BLK_T_OUT);
	}
	block_finish_io(b, r, res);
	return true;
}

/* The one request, reused: each is complete before the next is parsed. */
static int sync_init(struct virtio_block *b)
{
	b->req = calloc(1, sizeof(*b->req));
	if (!b->req) {
		log_error("drive %s: out of memory", b->drive_id);
		return -ENOMEM;
	}
	return 0;
}

static void sync_destroy(struct virtio_block *b)
{
	free(b->req);
	b->req = NULL;
}

static struct block_req *sync_get(struct virtio_block *b)
{
	return b->req;
}

static void sync_put(struct virtio_block *b, struct block_req *r)
{
	(void)b;
	(void)r;
}

const struct block_engine block_sync_engine = {
    .init = sync_init,
    .destroy = sync_destroy,
    .get = sync_get,
    .put = sync_put,
    .submit = sync_submit,
};
