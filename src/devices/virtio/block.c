// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk over a host file: the backing file, request parsing, the rate
 * limiter and the virtio side; the I/O is an engine's (block_engine.h). See block.h.
 */
#include "devices/virtio/block.h"
#include "devices/virtio/block_engine.h"

#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_LEN 16 /* struct virtio_blk_req: type, reserved, sector */

static struct virtio_block *to_block(struct virtio_dev *d)
{
	return d->opaque;
}

static const char *type_name(uint32_t type)
{
	switch (type) {
	case VIRTIO_BLK_T_IN:
		return "read";
	case VIRTIO_BLK_T_OUT:
		return "write";
	case VIRTIO_BLK_T_FLUSH:
		return "flush";
	case VIRTIO_BLK_T_GET_ID:
		return "get-id";
	default:
		return "unknown";
	}
}

/* --- the backing file --- */

static const char *file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/*
 * Opens @path for drive @drive_id, checks its type, sizes it and builds its
 * GET_ID string. Any file that opens and has a size will do, as in
 * Firecracker: a regular file, a block device, or a character device such as
 * /dev/null (size 0; firectl's test boots with --root-drive /dev/null). 0, or
 * a negative errno after logging one line.
 */
static int open_backing(const char *drive_id, const char *path, bool read_only, int *fdp,
			uint64_t *sizep, uint8_t id[BLOCK_ID_BYTES])
{
	char idbuf[3 * 21 + 1];
	struct stat st;
	off_t end;
	int fd, ret, flags;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below. */
	fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (!stat(path, &st) && !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) &&
		    !S_ISCHR(st.st_mode)) {
			log_error("drive %s: path_on_host %s: is %s; a drive must be a regular "
				  "file or a device",
				  drive_id, path, file_kind(st.st_mode));
			return ret;
		}
		log_error("drive %s: path_on_host %s: cannot open it %s: %s", drive_id, path,
			  read_only ? "read-only" : "read-write", strerror(errno));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		log_error("drive %s: path_on_host %s: %s", drive_id, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISCHR(st.st_mode)) {
		log_error("drive %s: path_on_host %s: is %s; a drive must be a regular file or a "
			  "device",
			  drive_id, path, file_kind(st.st_mode));
		ret = -EINVAL;
		goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)) {
		ret = -errno;
		log_error("drive %s: path_on_host %s: fcntl: %s", drive_id, path, strerror(errno));
		goto fail;
	}
	end = lseek(fd, 0, SEEK_END); /* files and devices alike (/dev/null: 0) */
	if (end < 0) {
		ret = -errno;
		log_error("drive %s: path_on_host %s: cannot size it: %s", drive_id, path,
			  strerror(errno));
		goto fail;
	}
	if (end % BLOCK_SECTOR_SIZE)
		log_warn("drive %s: path_on_host %s: its size %lld is not a multiple of the "
			 "sector size %llu; the last %lld bytes will not be visible to the guest",
			 drive_id, path, (long long)end, BLOCK_SECTOR_SIZE,
			 (long long)(end % (off_t)BLOCK_SECTOR_SIZE));
	/* GET_ID as Firecracker (and kvmtool): st_dev, st_rdev, st_ino in decimal, cut to 20. */
	snprintf(idbuf, sizeof(idbuf), "%" PRIu64 "%" PRIu64 "%" PRIu64, (uint64_t)st.st_dev,
		 (uint64_t)st.st_rdev, (uint64_t)st.st_ino);
	memset(id, 0, BLOCK_ID_BYTES);
	memcpy(id, idbuf, strnlen(idbuf, BLOCK_ID_BYTES));
	*fdp = fd;
	*sizep = (uint64_t)end;
	return 0;
fail:
	close(fd);
	return ret;
}

/* --- configuration space --- */

static void block_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_block *b = to_block(d);
	uint8_t cfg[BLOCK_CONFIG_SIZE] = {0};
	uint64_t cap = htole64(b->capacity);
	uint32_t seg_max = htole32(BLOCK_SEG_MAX);

	memcpy(cfg, &cap, 8);	       /* capacity */
	memcpy(cfg + 12, &seg_max, 4); /* seg_max; size_max, geometry, blk_size stay 0 */
	virtio_config_copy(data, len, off, cfg, sizeof(cfg));
}

/* --- parsing --- */

/*
 * Fills @r from chain @c. Returns NULL when the request is well formed, else
 * why not; r->status is NULL when the chain has no writable byte at all.
 */
static const char *parse(const struct virtio_block *b, const struct vq_chain *c,
			 struct block_req *r)
{
	uint8_t hdr[HDR_LEN];
	uint32_t type;
	uint64_t sector;

	r->head = c->head;
	r->status = NULL;
	r->type = UINT32_MAX;
	r->sector = 0;
	r->data_len = 0;
	r->niov = 0;
	/* The status byte: the last device-writable byte of the chain. */
	if (!c->nr_in)
		return "no device-writable status byte";
	r->status = (uint8_t *)c->in[c->nr_in - 1].iov_base + c->in[c->nr_in - 1].iov_len - 1;
	if (c->out_len < HDR_LEN)
		return "a header shorter than 16 bytes";
	iov_to_buf(c->out, c->nr_out, 0, hdr, HDR_LEN);
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	r->type = le32toh(type);
	r->sector = le64toh(sector);

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_GET_ID:
		if (c->out_len > HDR_LEN)
			return "device-readable data";
		r->data_len = c->in_len - 1;
		r->niov = iov_slice(c->in, c->nr_in, 0, r->data_len, r->iov, VQ_MAX_SEGS);
		if (r->type == VIRTIO_BLK_T_GET_ID && r->data_len < BLOCK_ID_BYTES)
			return "an id buffer shorter than 20 bytes";
		break;
	case VIRTIO_BLK_T_OUT:
		if (c->in_len > 1)
			return "device-writable data";
		r->data_len = c->out_len - HDR_LEN;
		r->niov = iov_slice(c->out, c->nr_out, HDR_LEN, r->data_len, r->iov, VQ_MAX_SEGS);
		break;
	default:
		/* T_FLUSH ignores data and sector (the driver SHOULD NOT send any); others: UNSUPP.
		 */
		return NULL;
	}
	if (r->type == VIRTIO_BLK_T_GET_ID)
		return NULL;
	if (r->data_len % BLOCK_SECTOR_SIZE)
		return "a length that is not a multiple of 512";
	if (r->sector > b->capacity || r->data_len / BLOCK_SECTOR_SIZE > b->capacity - r->sector)
		return "a range past the end of the drive";
	return NULL;
}

/* --- completion --- */

/* Writes the status, returns the chain with @written data bytes (+ the status byte). */
static void complete(struct virtio_block *b, struct block_req *r, uint8_t status, uint64_t written)
{
	if (status != VIRTIO_BLK_S_OK) {
		b->m.invalid_reqs_count++;
		written = 0;
	}
	*r->status = status;
	vq_push(&b->dev.vqs[0], r->head, (uint32_t)(written + 1));
}

void block_finish_io(struct virtio_block *b, struct block_req *r, int64_t res)
{
	bool ok = res >= 0 && (uint64_t)res == r->data_len;

	if (!ok)
		log_warn_rl("drive %s: %s of %llu bytes at sector %llu: %s", b->drive_id,
			    type_name(r->type), (unsigned long long)r->data_len,
			    (unsigned long long)r->sector,
			    res < 0 ? strerror((int)-res) : "short transfer (file shrunk?)");
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		if (res > 0)
			b->m.read_bytes += (uint64_t)res;
		b->m.read_count += ok;
		complete(b, r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, r->data_len);
		break;
	case VIRTIO_BLK_T_OUT:
		if (res > 0)
			b->m.write_bytes += (uint64_t)res;
		b->m.write_count += ok;
		complete(b, r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, 0);
		break;
	default: /* T_FLUSH */
		b->m.flush_count += ok;
		complete(b, r, ok ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR, 0);
		break;
	}
}

/* --- the request loop --- */

static void defer(struct virtio_block *b, uint64_t delay_ns)
{
	virtio_dev_schedule(&b->dev, delay_ns);
}

/* One popped chain. */
static enum virtio_chain_done serve(struct virtio_block *b, const struct vq_chain *c,
				    uint64_t *bytes)
{
	struct virtqueue *vq = &b->dev.vqs[0];
	struct block_req *r = b->eng->get(b);
	const char *why;
	uint64_t wait_ns;

	if (!r) {
		/* Every slot in flight: a completion frees one and runs the queue again. */
		vq_undo_pop(vq);
		b->m.io_engine_throttled_events++;
		return VIRTIO_CHAIN_STOP;
	}
	why = parse(b, c, r);
	if (why) {
		b->m.execute_fails++;
		log_debug("drive %s: request %u (%s) has %s: failed", b->drive_id, c->head,
			  type_name(r->type), why);
		if (r->status)
			complete(b, r, VIRTIO_BLK_S_IOERR, 0);
		else
			vq_push(vq, c->head, 0); /* nowhere to put a status */
		goto done;
	}
	/* rate limiter: one op per request, and the data bytes of reads and writes */
	if (rl_active(&b->rl) &&
	    !rl_consume(&b->rl,
			r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT ? r->data_len : 0,
			virtio_dev_now_ns(&b->dev), &wait_ns)) {
		vq_undo_pop(vq);
		b->m.rate_limiter_throttled_events++;
		b->throttled = true;
		defer(b, wait_ns);
		b->eng->put(b, r);
		return VIRTIO_CHAIN_STOP;
	}

	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->type == VIRTIO_BLK_T_OUT && b->read_only) {
			log_debug("drive %s: write to a read-only drive refused", b->drive_id);
			complete(b, r, VIRTIO_BLK_S_IOERR, 0);
			break;
		}
		*bytes += r->data_len;
		if (!r->data_len) {
			block_finish_io(b, r, 0);
			break;
		}
		goto io;
	case VIRTIO_BLK_T_FLUSH:
		if (b->cache_type != BLOCK_CACHE_WRITEBACK) {
			b->m.flush_count++; /* "Unsafe": flushes are ignored */
			complete(b, r, VIRTIO_BLK_S_OK, 0);
			break;
		}
		goto io;
	case VIRTIO_BLK_T_GET_ID:
		iov_from_buf(r->iov, r->niov, 0, b->id, BLOCK_ID_BYTES);
		complete(b, r, VIRTIO_BLK_S_OK, BLOCK_ID_BYTES);
		break;
	default:
		log_debug("drive %s: request type %u is not supported", b->drive_id, r->type);
		complete(b, r, VIRTIO_BLK_S_UNSUPP, 0);
		break;
	}
done:
	b->eng->put(b, r);
	return VIRTIO_CHAIN_NEXT;
io:
	if (!b->eng->submit(b, r)) {
		vq_undo_pop(vq);
		b->m.io_engine_throttled_events++;
		b->eng->put(b, r);
		return VIRTIO_CHAIN_STOP;
	}
	return VIRTIO_CHAIN_NEXT;
}

/* virtio_queue_serve's serve(): @arg counts the data bytes of this call, bounded too. */
static enum virtio_chain_done serve_chain(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					  void *arg)
{
	uint64_t *bytes = arg;

	(void)q; /* one queue */
	if (serve(to_block(d), c, bytes) == VIRTIO_CHAIN_STOP)
		return VIRTIO_CHAIN_STOP;
	/* Enough for one turn: the loop serves the others, then us again. */
	return *bytes >= BLOCK_BATCH_BYTES ? VIRTIO_CHAIN_YIELD : VIRTIO_CHAIN_NEXT;
}

/* Serves the queue, bounded (dev.lock held). Returns whether it pushed anything. */
static bool process_queue(struct virtio_block *b)
{
	struct virtio_dev *d = &b->dev;
	struct virtqueue *vq = &d->vqs[0];
	uint64_t bytes = 0;
	uint16_t used_before = vq->used_idx;
	const struct virtio_queue_loop loop = {
	    .q = 0,
	    .chain = &b->chain,
	    .budget = BLOCK_BATCH_REQS,
	    .serve = serve_chain,
	    .arg = &bytes,
	    .caller_signals = true, /* once, with the completions reaped around this */
	};

	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return false;
	if (virtio_queue_serve(d, &loop) == VIRTIO_QUEUE_BUDGET)
		b->m.remaining_reqs_count++;
	if (b->eng->flush)
		b->eng->flush(b);
	return vq->used_idx != used_before;
}

/* dev.lock held. */
void block_run_locked(struct virtio_block *b)
{
	bool pushed = false;

	if (b->throttled) {
		b->throttled = false;
		b->m.rate_limiter_event_count++;
	}
	if (b->eng->reap) {
		if (!b->dev.activated) {
			b->eng->reap(b, true); /* only after a reset raced with a completion */
			return;
		}
		pushed = b->eng->reap(b, false) > 0;
	}
	if (process_queue(b))
		pushed = true;
	/* Reads from the page cache often complete within io_uring_submit: answer them now. */
	if (b->eng->reap && b->eng->reap(b, false))
		pushed = true;
	if (pushed)
		virtio_dev_signal_used(&b->dev, 0);
}

void block_run(struct virtio_block *b)
{
	pthread_mutex_lock(&b->dev.lock);
	block_run_locked(b);
	pthread_mutex_unlock(&b->dev.lock);
}

void block_drain(struct virtio_block *b)
{
	pthread_mutex_lock(&b->dev.lock);
	if (b->eng->wait_all)
		b->eng->wait_all(b, !b->dev.activated);
	pthread_mutex_unlock(&b->dev.lock);
}

/* The host's run (dev.lock held): a timer, a limiter's retry, a bounded run's rest. */
static void block_run_op(struct virtio_dev *d)
{
	block_run_locked(to_block(d));
}

int block_uring_fd(const struct virtio_block *b)
{
	return b->eng->fd ? b->eng->fd(b) : -1;
}

/* --- the transport's ops --- */

static void block_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_block *b = to_block(d);
	uint16_t before = d->vqs[0].last_avail;

	(void)q; /* one queue */
	b->m.queue_event_count++;
	block_run_locked(b);
	if (d->vqs[0].last_avail == before)
		b->m.no_avail_buffer++;
}

static int block_activate(struct virtio_dev *d)
{
	struct virtio_block *b = to_block(d);

	if (!d->vqs[0].ready) {
		log_warn_rl("drive %s: DRIVER_OK without the request queue ready", b->drive_id);
		return -EINVAL;
	}
	return 0;
}

/* Status 0 (a vCPU thread, dev.lock held): in-flight requests finish into nothing. */
static void block_reset(struct virtio_dev *d)
{
	struct virtio_block *b = to_block(d);

	if (b->eng->wait_all)
		b->eng->wait_all(b, true);
	b->throttled = false;
}

/* --- snapshots --- */

/*
 * Requests an Async drive has in flight are completed before the save (the VM
 * is paused, so none is added): their used entries and interrupt are in the
 * snapshot.
 */
static void block_quiesce(struct virtio_dev *d)
{
	struct virtio_block *b = to_block(d);

	if (b->eng->wait_all)
		b->eng->wait_all(b, !d->activated);
}

/*
 * The device's fields: the backing file's size (a restore refuses another
 * size: the guest knows its capacity), the rate limiter, throttled.
 */
static void block_save(struct virtio_dev *d, struct state_writer *w)
{
	struct virtio_block *b = to_block(d);

	sw_u64(w, b->file_size);
	virtio_rl_save(d, &b->rl, w);
	sw_bool(w, b->throttled);
}

static int block_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_block *b = to_block(d);
	uint64_t size = sr_u64(r);

	if (sr_ok(r) && size != b->file_size) {
		log_error("drive %s: %s is %llu bytes, but the snapshot's drive was %llu bytes",
			  b->drive_id, b->path, (unsigned long long)b->file_size,
			  (unsigned long long)size);
		return -EINVAL;
	}
	virtio_rl_restore(d, &b->rl, r);
	b->throttled = sr_bool(r);
	/* Requests posted before the snapshot and not served yet: a run, once the VM runs. */
	if (sr_ok(r) && d->activated)
		virtio_dev_schedule(d, 0);
	return 0;
}

/* --- set-up --- */

static void init_rate_limiter(struct virtio_block *b, const struct rate_limiter_config *rc)
{
	rl_init(&b->rl, rc && rc->has_bandwidth ? &rc->bandwidth : NULL,
		rc && rc->has_ops ? &rc->ops : NULL, virtio_dev_now_ns(&b->dev));
}

int virtio_block_init(struct virtio_block *b, const struct drive_config *cfg,
		      const struct virtio_host_ops *host, void *host_data,
		      const struct guest_mem *mem)
{
	const char *id = cfg->drive_id ? cfg->drive_id : "?";
	int ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->read_only = cfg->is_read_only;
	b->cache_type = cfg->cache_type;
	b->engine = cfg->io_engine;
	b->eng = b->engine == BLOCK_ENGINE_ASYNC ? &block_async_engine : &block_sync_engine;
	b->ops = (struct virtio_dev_ops){
	    .name = "block",
	    .device_id = VIRTIO_ID_BLOCK,
	    .nr_queues = 1,
	    .queue_max = BLOCK_QUEUE_SIZE,
	    .features = 1ULL << VIRTIO_BLK_F_SEG_MAX,
	    .config_read = block_config_read,
	    .activate = block_activate,
	    .queue_notify = block_queue_notify,
	    .reset = block_reset,
	    .run = block_run_op,
	    .save = block_save,
	    .restore = block_restore,
	    .quiesce = block_quiesce,
	};
	if (b->read_only)
		b->ops.features |= 1ULL << VIRTIO_BLK_F_RO;
	if (b->cache_type == BLOCK_CACHE_WRITEBACK)
		b->ops.features |= 1ULL << VIRTIO_BLK_F_FLUSH;
	virtio_dev_init(&b->dev, &b->ops, host, host_data, b, mem);

	b->drive_id = strdup(id);
	b->path = cfg->path_on_host ? strdup(cfg->path_on_host) : NULL;
	if (!b->drive_id || !b->path) {
		log_error("drive %s: %s", id,
			  cfg->path_on_host ? "out of memory" : "no path_on_host");
		return cfg->path_on_host ? -ENOMEM : -EINVAL;
	}
	ret = open_backing(id, b->path, b->read_only, &b->fd, &b->file_size, b->id);
	if (ret)
		return ret;
	b->capacity = b->file_size / BLOCK_SECTOR_SIZE;
	init_rate_limiter(b, &cfg->rate_limiter);
	ret = b->eng->init(b);
	if (ret)
		return ret;
	log_debug("drive %s: %s, %llu sectors, %s, %s, %s engine", id, b->path,
		  (unsigned long long)b->capacity, b->read_only ? "read-only" : "read-write",
		  b->cache_type == BLOCK_CACHE_WRITEBACK ? "Writeback" : "Unsafe",
		  b->engine == BLOCK_ENGINE_ASYNC ? "Async" : "Sync");
	return 0;
}

void virtio_block_destroy(struct virtio_block *b)
{
	if (!b->dev.ops)
		return; /* virtio_block_init never ran */
	pthread_mutex_lock(&b->dev.lock);
	b->eng->destroy(b);
	pthread_mutex_unlock(&b->dev.lock);
	virtio_dev_destroy(&b->dev);
	b->dev.ops = NULL;
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
	free(b->path);
	free(b->drive_id);
	b->path = b->drive_id = NULL;
}

int block_swap_file(struct virtio_block *b, const char *path)
{
	uint8_t id[BLOCK_ID_BYTES];
	uint64_t size;
	char *copy;
	int fd, ret;

	copy = strdup(path);
	if (!copy) {
		b->m.update_fails++;
		return -ENOMEM;
	}
	ret = open_backing(b->drive_id, path, b->read_only, &fd, &size, id);
	if (ret) {
		free(copy);
		b->m.update_fails++;
		return ret;
	}
	pthread_mutex_lock(&b->dev.lock);
	/* Requests already handed to the kernel finish on the old file first. */
	if (b->eng->wait_all)
		b->eng->wait_all(b, !b->dev.activated);
	if (b->fd >= 0)
		close(b->fd);
	b->fd = fd;
	b->file_size = size;
	b->capacity = size / BLOCK_SECTOR_SIZE;
	memcpy(b->id, id, sizeof(id));
	free(b->path);
	b->path = copy;
	b->m.update_count++;
	if (b->dev.activated)
		virtio_dev_signal_config(&b->dev); /* generation++, config interrupt */
	else
		b->dev.config_generation++;
	pthread_mutex_unlock(&b->dev.lock);
	log_info("drive %s: now backed by %s (%llu sectors)", b->drive_id, path,
		 (unsigned long long)b->capacity);
	return 0;
}

void block_set_rate_limiter(struct virtio_block *b, const struct rate_limiter_config *rc)
{
	pthread_mutex_lock(&b->dev.lock);
	init_rate_limiter(b, rc);
	/* Requests the old limiter held back: serve them under the new one. */
	defer(b, 0);
	pthread_mutex_unlock(&b->dev.lock);
}
