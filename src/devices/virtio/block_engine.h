/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside virtio-blk: the device (block.c: the backing file, request parsing,
 * the rate limiter, the virtio side) hands each parsed request's read, write
 * or flush to an engine, and the engine hands the result back
 * (block_finish_io). Firecracker's two io_engine values are the two engines:
 *   "Sync"  (block_sync.c)   preadv/pwritev/fsync on the calling thread: a
 *                            request is complete when submit() returns;
 *   "Async" (block_async.c)  io_uring: up to BLOCK_QUEUE_SIZE requests in
 *                            flight, completions signalled on an eventfd the
 *                            engine watches through the device's host, which
 *                            runs the device (block_run_locked).
 * Everything here runs with dev.lock held.
 */
#ifndef EMBER_DEVICES_VIRTIO_BLOCK_ENGINE_H
#define EMBER_DEVICES_VIRTIO_BLOCK_ENGINE_H

#include "devices/virtio/block.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* One request, parsed: where its data and status byte are in guest memory. */
struct block_req {
	uint16_t head;
	bool busy; /* Async: in flight */
	uint32_t type;
	uint64_t sector;
	uint8_t *status; /* the last writable byte */
	uint64_t data_len;
	unsigned int niov;
	struct iovec iov[VQ_MAX_SEGS];
};

struct block_engine {
	/* Sets the engine up for @b, whose file is open. 0, or -errno after logging one line. */
	int (*init)(struct virtio_block *b);
	/* Drops what is in flight (its results go nowhere) and frees what init took. */
	void (*destroy)(struct virtio_block *b);
	/* A request to parse the next chain into, or NULL: every one is in flight. */
	struct block_req *(*get)(struct virtio_block *b);
	/* Gives back a request that was not submitted (a submitted one comes back by itself). */
	void (*put)(struct virtio_block *b, struct block_req *r);
	/*
	 * Starts @r's T_IN, T_OUT or T_FLUSH on b->fd; block_finish_io() follows
	 * when it is done (Sync: before this returns). False: no room now; the
	 * caller puts the chain back on the ring and @r back.
	 */
	bool (*submit)(struct virtio_block *b, struct block_req *r);
	/*
	 * Optional, for an engine with requests in flight (NULL: every request is
	 * complete within submit):
	 * flush    passes what submit() queued on to the kernel, after a batch;
	 * reap     completes the finished requests to the guest, or with @discard
	 *          (after a device reset) drops them; returns how many it completed;
	 * wait_all waits until none is in flight, completing (or dropping) each,
	 *          and signals the used ring if it completed any;
	 * fd       the completion fd it watches.
	 */
	void (*flush)(struct virtio_block *b);
	unsigned int (*reap)(struct virtio_block *b, bool discard);
	void (*wait_all)(struct virtio_block *b, bool discard);
	int (*fd)(const struct virtio_block *b);
};

extern const struct block_engine block_sync_engine;
extern const struct block_engine block_async_engine;

/* The result of @r's read, write or flush: @res bytes moved (0 for a flush), or -errno. */
void block_finish_io(struct virtio_block *b, struct block_req *r, int64_t res);

/* The device's run: reaps completions, serves the queue, signals once. */
void block_run_locked(struct virtio_block *b);

#endif
