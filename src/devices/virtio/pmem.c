// SPDX-License-Identifier: Apache-2.0
/* virtio-pmem: a host file mapped into guest memory, flushes honoured. See pmem.h. */
#include "devices/virtio/pmem.h"

#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The configuration space: struct virtio_pmem_config {le64 start; le64 size;}. */
#define PMEM_CFG_SIZE 16

static struct virtio_pmem *to_pmem(struct virtio_dev *d)
{
	return d->opaque;
}

/* msync the file's part of the mapping, then fsync: the guest's writes reach the disk. */
static int flush(struct virtio_pmem *p)
{
	if (p->read_only)
		return 0; /* nothing the guest can have written */
	if (msync(p->hva, p->file_size, MS_SYNC) < 0 || fsync(p->fd) < 0)
		return -errno;
	return 0;
}

static enum virtio_chain_done serve(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				    void *arg)
{
	struct virtio_pmem *p = to_pmem(d);
	struct virtqueue *vq = &d->vqs[q];
	uint32_t type, resp = VIRTIO_PMEM_RESP_OK;
	uint64_t wait_ns;
	int ret;

	(void)arg;
	if (c->out_len < sizeof(type) || c->in_len < sizeof(resp)) {
		log_debug("virtio-pmem: request %u without a type or a status buffer: failed",
			  c->head);
		d->event_fails++;
		vq_push(vq, c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	if (rl_active(&p->rl) && !rl_consume(&p->rl, 0, virtio_dev_now_ns(d), &wait_ns)) {
		vq_undo_pop(vq);
		p->rate_limiter_throttled_events++;
		virtio_dev_schedule(d, wait_ns);
		return VIRTIO_CHAIN_STOP;
	}
	iov_to_buf(c->out, c->nr_out, 0, &type, sizeof(type));
	type = le32toh(type);
	if (type != VIRTIO_PMEM_REQ_FLUSH) {
		log_warn_rl("virtio-pmem: unknown request type %u", type);
		resp = VIRTIO_PMEM_RESP_EIO;
	} else if ((ret = flush(p))) {
		log_warn_rl("virtio-pmem: flushing the backing file: %s", strerror(-ret));
		p->flush_fails++;
		resp = VIRTIO_PMEM_RESP_EIO;
	} else {
		p->flush_count++;
	}
	resp = htole32(resp);
	iov_from_buf(c->in, c->nr_in, 0, &resp, sizeof(resp));
	vq_push(vq, c->head, sizeof(resp));
	return VIRTIO_CHAIN_NEXT;
}

void virtio_pmem_process(struct virtio_pmem *p)
{
	struct virtio_dev *d = &p->dev;
	const struct virtio_queue_loop loop = {.q = 0, .chain = &p->chain, .serve = serve};

	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	virtio_queue_serve(d, &loop);
}

static void pmem_queue_notify(struct virtio_dev *d, unsigned int q)
{
	(void)q;
	to_pmem(d)->queue_event_count++;
	virtio_pmem_process(to_pmem(d));
}

static void pmem_run(struct virtio_dev *d)
{
	virtio_pmem_process(to_pmem(d));
}

static void pmem_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_pmem *p = to_pmem(d);
	uint64_t cfg[2] = {htole64(p->gpa), htole64(p->map_size)};

	memset(data, 0, len);
	if (off < PMEM_CFG_SIZE)
		memcpy(data, (const uint8_t *)cfg + off,
		       len < PMEM_CFG_SIZE - off ? len : PMEM_CFG_SIZE - off);
}

static int pmem_activate(struct virtio_dev *d)
{
	if (!d->vqs[0].ready) {
		log_warn_rl("virtio-pmem: DRIVER_OK without the request queue ready");
		return -EINVAL;
	}
	return 0;
}

/* Snapshots: the rate limiter; the memory is the file itself, which restore maps again. */
static void pmem_save(struct virtio_dev *d, struct state_writer *w)
{
	struct virtio_pmem *p = to_pmem(d);

	sw_u64(w, p->gpa);
	sw_u64(w, p->map_size);
	virtio_rl_save(d, &p->rl, w);
}

static int pmem_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_pmem *p = to_pmem(d);
	uint64_t gpa = sr_u64(r), size = sr_u64(r);

	if (sr_ok(r) && (gpa != p->gpa || size != p->map_size)) {
		log_error("virtio-pmem: the snapshot maps %llu bytes at 0x%llx, the file now gives "
			  "%llu bytes at 0x%llx",
			  (unsigned long long)size, (unsigned long long)gpa,
			  (unsigned long long)p->map_size, (unsigned long long)p->gpa);
		return -EINVAL;
	}
	virtio_rl_restore(d, &p->rl, r);
	if (sr_ok(r) && d->activated)
		virtio_dev_schedule(d, 0);
	return sr_ok(r) ? 0 : -EINVAL;
}

static const struct virtio_dev_ops pmem_ops = {
    .name = "pmem",
    .device_id = VIRTIO_ID_PMEM,
    .nr_queues = 1,
    .queue_max = VIRTIO_PMEM_QUEUE_SIZE,
    .features = 0,
    .config_read = pmem_config_read,
    .activate = pmem_activate,
    .queue_notify = pmem_queue_notify,
    .run = pmem_run,
    .save = pmem_save,
    .restore = pmem_restore,
};

static void set_limiter(struct virtio_pmem *p, const struct rate_limiter_config *rl)
{
	rl_init(&p->rl, rl && rl->has_bandwidth ? &rl->bandwidth : NULL,
		rl && rl->has_ops ? &rl->ops : NULL, virtio_dev_now_ns(&p->dev));
}

int virtio_pmem_init(struct virtio_pmem *p, const char *path, bool read_only,
		     const struct rate_limiter_config *rl, const struct virtio_host_ops *host,
		     void *host_data, const struct guest_mem *mem, char err[256])
{
	int prot = PROT_READ | (read_only ? 0 : PROT_WRITE);
	struct stat st;
	void *m;
	int ret;

	memset(p, 0, sizeof(*p));
	p->fd = open(path, (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (p->fd < 0) {
		ret = -errno;
		snprintf(err, 256, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(p->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		snprintf(err, 256, "%s: %s", path,
			 !S_ISREG(st.st_mode) ? "not a regular file" : "the file is empty");
		return -EINVAL;
	}
	p->read_only = read_only;
	p->file_size = (uint64_t)st.st_size;
	p->map_size = (p->file_size + VIRTIO_PMEM_ALIGN - 1) & ~(VIRTIO_PMEM_ALIGN - 1);
	/* The whole aligned size first (anonymous), then the file over its start. */
	m = mmap(NULL, p->map_size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED) {
		ret = -errno;
		snprintf(err, 256, "%s: cannot map %llu bytes: %s", path,
			 (unsigned long long)p->map_size, strerror(errno));
		return ret;
	}
	p->hva = m;
	if (mmap(m, p->file_size, prot, MAP_SHARED | MAP_FIXED, p->fd, 0) == MAP_FAILED) {
		ret = -errno;
		snprintf(err, 256, "%s: cannot map the file: %s", path, strerror(errno));
		return ret;
	}
	virtio_dev_init(&p->dev, &pmem_ops, host, host_data, p, mem);
	set_limiter(p, rl);
	return 0;
}

void virtio_pmem_set_limiter(struct virtio_pmem *p, const struct rate_limiter_config *rl)
{
	pthread_mutex_lock(&p->dev.lock);
	set_limiter(p, rl);
	if (p->dev.activated)
		virtio_dev_schedule(&p->dev, 0); /* a request the old limiter held goes now */
	pthread_mutex_unlock(&p->dev.lock);
}

void virtio_pmem_destroy(struct virtio_pmem *p)
{
	if (p->dev.ops)
		virtio_dev_destroy(&p->dev);
	if (p->hva)
		munmap(p->hva, p->map_size);
	if (p->fd > 0)
		close(p->fd);
	p->hva = NULL;
	p->fd = -1;
}
