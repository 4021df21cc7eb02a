/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk (virtio 1.x, section 5.2): device id 2, one request queue of up to
 * 256 entries, backed by a host file or block device, configured like
 * Firecracker's Drive (swagger). Configuration space: capacity (u64, 512-byte
 * sectors) at 0, seg_max (u32) at 12; the other fields read 0.
 *
 * Features: VIRTIO_BLK_F_SEG_MAX (seg_max = BLOCK_SEG_MAX: a request's data may
 * use that many buffers), VIRTIO_BLK_F_RO when is_read_only, VIRTIO_BLK_F_FLUSH
 * only with cache_type "Writeback" (as Firecracker). VERSION_1, EVENT_IDX and
 * INDIRECT_DESC come from the transport.
 *
 * A request is framed by bytes, not by descriptors (virtio 1.x 2.6.4): the
 * first 16 device-readable bytes are the header (type u32, reserved u32,
 * sector u64), the last device-writable byte is the status, and the bytes in
 * between are the data: device-readable for T_OUT, device-writable for T_IN and
 * T_GET_ID. What the device does:
 *  - no writable byte at all (no status byte): the chain is given back with
 *    length 0, execute_fails++ (nothing can tell the driver more);
 *  - header shorter than 16 bytes, data in the wrong direction (readable data
 *    for T_IN/T_GET_ID, writable data for T_OUT), a T_IN/T_OUT length that is
 *    not a multiple of 512, a range past the capacity (with overflow checks), a
 *    GET_ID buffer under 20 bytes: status VIRTIO_BLK_S_IOERR, execute_fails++;
 *  - T_OUT on a read-only drive: VIRTIO_BLK_S_IOERR and nothing written (virtio
 *    1.x 5.2.6.2 "A device MUST set the status byte to VIRTIO_BLK_S_IOERR for a
 *    write request if the VIRTIO_BLK_F_RO feature if offered, and MUST NOT write
 *    any data"; Firecracker's write on its O_RDONLY file fails the same way);
 *  - T_FLUSH: fsync() with "Writeback"; a no-op (status OK) with "Unsafe",
 *    where the feature is not offered. Data bytes and the sector are ignored;
 *  - T_GET_ID: the 20-byte id, built as Firecracker (and kvmtool) do: the decimal
 *    st_dev, st_rdev and st_ino of the backing file concatenated, cut to 20 bytes
 *    and NUL-padded (not the drive_id: Firecracker does not use it there);
 *  - any other type: VIRTIO_BLK_S_UNSUPP;
 *  - I/O errors and short transfers (a file shrunk behind our back): IOERR.
 * Every non-OK status counts invalid_reqs_count (Firecracker's rule). Used
 * length: data bytes written to the guest + 1 on success, 1 otherwise.
 *
 * Engines (block_engine.h: the device hands each request's I/O to one):
 * "Sync" does preadv/pwritev/fsync on the event loop thread (block_sync.c);
 * "Async" submits readv/writev/fsync to an io_uring whose completions signal
 * an eventfd (block_uring_fd) the device watches through its host
 * (block_async.c). Work per call is
 * bounded: at most BLOCK_BATCH_REQS requests and about BLOCK_BATCH_BYTES of
 * data, then the device asks its host to run it again (schedule, delay 0) so
 * the loop serves others; Async keeps at most BLOCK_QUEUE_SIZE requests in
 * flight and leaves the rest on the ring until completions free a slot.
 *
 * Rate limiter (Firecracker's): each well-formed request takes one op, T_IN and
 * T_OUT also their data bytes, before any I/O. Without tokens the chain goes
 * back on the ring (vq_undo_pop), rate_limiter_throttled_events++, and the
 * device asks to be run again after the wait the limiter computed (on the
 * host's device clock).
 *
 * Threads and locks: everything runs under dev.lock (recursive): queue_notify,
 * the run and the completion eventfd's watch (held by the transport and the
 * host), block_run (takes it), block_swap_file (takes it),
 * reset (a vCPU thread, held by the transport: waits for in-flight Async
 * requests and drops their results, the rings being gone).
 */
#ifndef EMBER_DEVICES_VIRTIO_BLOCK_H
#define EMBER_DEVICES_VIRTIO_BLOCK_H

#include "devices/virtio/virtio_mmio.h"
#include "util/rate_limiter.h"

#include <stdbool.h>
#include <stdint.h>

#define BLOCK_QUEUE_SIZE  256
#define BLOCK_SECTOR_SIZE 512ULL
#define BLOCK_ID_BYTES	  20		    /* VIRTIO_BLK_ID_BYTES */
#define BLOCK_SEG_MAX	  (VQ_MAX_SEGS - 2) /* data buffers per request (header, status) */
#define BLOCK_BATCH_REQS  64		    /* requests served per run, then yield */
#define BLOCK_BATCH_BYTES (16ULL << 20)	    /* data bytes per run (one request may exceed) */
#define BLOCK_CONFIG_SIZE 24		    /* capacity, size_max, seg_max, geometry, blk_size */

/* Feature bits (virtio 1.x 5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO	      5
#define VIRTIO_BLK_F_FLUSH    9

/* Request types and status values (virtio 1.x 5.2.6). */
#define VIRTIO_BLK_T_IN	    0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK	    0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

/* Firecracker's CacheType: "Unsafe" (default) ignores flushes; "Writeback" offers FLUSH. */
enum block_cache_type {
	BLOCK_CACHE_UNSAFE,
	BLOCK_CACHE_WRITEBACK,
};

/* Firecracker's io_engine: "Sync" (default) or "Async" (io_uring). */
enum block_io_engine {
	BLOCK_ENGINE_SYNC,
	BLOCK_ENGINE_ASYNC,
};

/* Firecracker's Drive object (swagger). Strings are the configuration's; the device copies. */
struct drive_config {
	char *drive_id;	    /* required */
	char *path_on_host; /* required: a regular file or a block device */
	bool is_root_device;
	char *partuuid; /* NULL: none; used only with is_root_device */
	bool is_read_only;
	enum block_cache_type cache_type;
	enum block_io_engine io_engine;
	struct rate_limiter_config rate_limiter;
};

/* Firecracker's BlockDeviceMetrics (virtio_mmio.h: T, C). */
#define VIRTIO_BLOCK_METRICS(T, C)                                                       \
	T(activate_fails, activate_fails)                                                \
	T(cfg_fails, cfg_fails)                                                          \
	T(event_fails, event_fails)                                                      \
	C(execute_fails)	    /* requests refused for their shape */               \
	C(invalid_reqs_count)	    /* requests answered IOERR or UNSUPP */              \
	C(flush_count)		    /* T_FLUSH served */                                 \
	C(queue_event_count)	    /* queue notifications handled */                    \
	C(rate_limiter_event_count) /* runs while a request waited for tokens */         \
	C(update_count)		    /* block_swap_file */                                \
	C(update_fails)		    /* block_swap_file refused */                        \
	C(read_bytes)		    /* data moved */                                     \
	C(write_bytes)                                                                   \
	C(read_count) /* successful T_IN / T_OUT */                                      \
	C(write_count)                                                                   \
	C(rate_limiter_throttled_events) /* requests deferred for lack of tokens */      \
	C(io_engine_throttled_events)	 /* Async: requests left on the ring, no slot */ \
	C(remaining_reqs_count)		 /* runs that stopped at the batch bound */      \
	C(no_avail_buffer)		 /* notifications with nothing to do */

/* Counters: Firecracker's block metrics (dev.* has activate_fails, ...), then ember's own. */
struct block_metrics {
	VIRTIO_BLOCK_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
	uint64_t host_syncs; /* fsync() calls (Writeback flushes) */
};

struct block_engine; /* how requests' I/O is done (block_engine.h) */
struct block_uring;  /* the Async engine's state (block_async.c) */
struct block_req;    /* one parsed request (block_engine.h) */

struct virtio_block {
	struct virtio_dev dev;	   /* first: dev.opaque points back here */
	struct virtio_dev_ops ops; /* per device: the features depend on the drive */

	char *drive_id;
	char *path;
	bool read_only;
	enum block_cache_type cache_type;
	enum block_io_engine engine;
	int fd;
	uint64_t file_size; /* bytes, when opened */
	uint64_t capacity;  /* whole 512-byte sectors the guest sees */
	uint8_t id[BLOCK_ID_BYTES];

	struct rate_limiter rl; /* on the host's device clock */

	const struct block_engine *eng; /* Sync or Async, from @engine */
	struct block_uring *uring;	/* Async only */
	struct dev_watch uring_w;	/* Async: its completion eventfd */
	struct block_req *req;		/* Sync: the request being served */
	bool throttled;			/* the limiter deferred a request; not retried yet */
	struct vq_chain chain;		/* the chain being parsed (too big for the stack) */
	struct block_metrics m;
};

/*
 * Opens @cfg->path_on_host (O_RDWR, or O_RDONLY when read-only; O_CLOEXEC),
 * which must be a regular file or a block device, sizes it (a size that is not
 * a multiple of 512 is rounded down, with a warning, as Firecracker does), sets
 * up the rate limiter and, for "Async", the io_uring. Returns 0, or a negative
 * errno after logging one line naming the drive, the path and the problem.
 * Async watches its completion eventfd through @host. The VM glue then places
 * it (virtio_mmio_io on &b->dev). Call virtio_block_destroy() even on failure.
 */
int virtio_block_init(struct virtio_block *b, const struct drive_config *cfg,
		      const struct virtio_host_ops *host, void *host_data,
		      const struct guest_mem *mem);
/* Waits for in-flight requests, closes the file and the ring. */
void virtio_block_destroy(struct virtio_block *b);

/* The Async engine's completion eventfd (the device watches it), or -1 for Sync. */
int block_uring_fd(const struct virtio_block *b);

/*
 * Reaps finished Async requests, then serves the queue (bounded; see above):
 * what the device's run and its completion eventfd do. Takes dev.lock.
 */
void block_run(struct virtio_block *b);

/*
 * Async: waits until no request is in flight, completing each to the guest.
 * Used before a file swap and at teardown; tests use it to wait for I/O. Takes dev.lock.
 */
void block_drain(struct virtio_block *b);

/*
 * PATCH /drives/{id} path_on_host: opens @path (same mode and checks as init),
 * waits for in-flight requests on the old file, switches, updates capacity and
 * id, and signals a configuration change (generation++, config interrupt) so
 * the guest re-reads the capacity. On error the old file stays. Event loop
 * thread. 0 or a negative errno (logged). update_count / update_fails.
 */
int block_swap_file(struct virtio_block *b, const char *path);

/* PATCH /drives/{id} rate_limiter: replaces the limiter (fresh, full buckets). */
void block_set_rate_limiter(struct virtio_block *b, const struct rate_limiter_config *rc);

#endif
