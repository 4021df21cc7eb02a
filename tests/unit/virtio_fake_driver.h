/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A test-side virtio driver over fake guest memory, for device unit tests:
 * the device is driven only through its virtio-mmio registers (virtio_mmio_io)
 * and the split rings, the way a guest sees it. Every helper is static inline,
 * so a test includes this header and uses what it needs.
 *
 *	struct fake_driver fd;
 *	fd_init(&fd, 4 << 20);                       // RAM, guest_mem (fd.gm), host (fd.host)
 *	my_device_init(&dev, fd_host_ops(), &fd.host, &fd.gm);  // the device under test
 *	fd_attach(&fd, &dev.dev);                    // interrupts counted in fd.host.interrupts
 *	fd_bring_up(&fd, VIRTIO_ID_X, driver_features, nr_queues, qsize);
 *	fd_chain(&fd, 0, 0, 2, (struct fd_buf[]){{gpa, 16, false}, {gpa2, 1, true}});
 *	fd_post(&fd, 0, 0);
 *	fd_notify(&fd, 0);                           // queue_notify runs here, synchronously
 *	fd_used(&fd, 0, 0, &id, &len);               // the first used element of queue 0
 *	fd_destroy(&fd);
 *
 * Layout of the fake guest memory: queue q's descriptor table at
 * FD_QUEUE_GPA(q), its avail ring 4 KiB above, its used ring 8 KiB above (room
 * for 256 entries each); test buffers from FD_BUF_GPA up. Queue sizes up to
 * FD_MAX_QSIZE. The device's host is a fake_host (virtio_fake_host.h): it counts
 * interrupts, records the runs the device asks for and watches its fds. The
 * interface is shared by the device tests: extend it, do not change what exists.
 */
#ifndef EMBER_TESTS_UNIT_VIRTIO_FAKE_DRIVER_H
#define EMBER_TESTS_UNIT_VIRTIO_FAKE_DRIVER_H

#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio/virtio_mmio.h"
#include "virtio_fake_host.h"

#define FD_MAX_QSIZE	256
#define FD_QUEUE_GPA(q) (0x10000ULL + 0x4000ULL * (q)) /* desc; avail +4 KiB; used +8 KiB */
#define FD_BUF_GPA	0x100000ULL		       /* test buffers from 1 MiB */

struct fake_driver {
	uint8_t *ram;
	uint64_t ram_size;
	struct guest_mem gm;
	struct virtio_dev *dev;
	struct fake_host host; /* the device's host: interrupts, runs, watches, clock */
	uint16_t qsize[VIRTIO_MAX_QUEUES];
	uint16_t avail_idx[VIRTIO_MAX_QUEUES]; /* the driver's next avail->idx */
};

/* One buffer of a chain: guest address, length, device-writable or not. */
struct fd_buf {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

/* The host ops to initialize the device with, and &f->host as its host_data. */
static inline const struct virtio_host_ops *fd_host_ops(void)
{
	return fh_ops();
}

/* Zeroed RAM of @ram_size bytes at guest-physical 0 (at least 2 MiB). */
static inline void fd_init(struct fake_driver *f, uint64_t ram_size)
{
	struct guest_region reg;

	memset(f, 0, sizeof(*f));
	f->ram = calloc(1, ram_size);
	if (!f->ram)
		FAIL_AT("calloc %llu", (unsigned long long)ram_size);
	f->ram_size = ram_size;
	reg = (struct guest_region){0, ram_size, f->ram};
	CHECK_EQ(guest_mem_init_fake(&f->gm, &reg, 1), 0);
	CHECK_EQ(fh_init(&f->host), 0);
}

static inline void fd_destroy(struct fake_driver *f)
{
	free(f->ram);
	f->ram = NULL;
	fh_destroy(&f->host);
}

/* After the device's init (with &f->host as its host_data): the driver's device. */
static inline void fd_attach(struct fake_driver *f, struct virtio_dev *d)
{
	f->dev = d;
	fh_attach(&f->host, d);
}

static inline uint8_t *fd_at(struct fake_driver *f, uint64_t gpa)
{
	if (gpa >= f->ram_size)
		FAIL_AT("gpa 0x%llx outside the fake RAM", (unsigned long long)gpa);
	return f->ram + gpa;
}

static inline void fd_put16(struct fake_driver *f, uint64_t gpa, uint16_t v)
{
	memcpy(fd_at(f, gpa), &v, 2);
}

static inline uint16_t fd_get16(struct fake_driver *f, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, fd_at(f, gpa), 2);
	return v;
}

static inline uint32_t fd_get32(struct fake_driver *f, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, fd_at(f, gpa), 4);
	return v;
}

/* A 4-byte register read or write (offsets from virtio_mmio.h). */
static inline uint32_t fd_rd(struct fake_driver *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(f->dev, off, (uint8_t *)&v, 4, false);
	return v;
}

static inline void fd_wr(struct fake_driver *f, uint64_t off, uint32_t v)
{
	virtio_mmio_io(f->dev, off, (uint8_t *)&v, 4, true);
}

/* Reads @len bytes of the device configuration space at @off (any width). */
static inline void fd_cfg_read(struct fake_driver *f, uint64_t off, void *buf, uint32_t len)
{
	virtio_mmio_io(f->dev, VIRTIO_MMIO_CONFIG + off, buf, len, false);
}

/* The 64 device feature bits, as a driver reads them (two 32-bit halves). */
static inline uint64_t fd_device_features(struct fake_driver *f)
{
	uint64_t lo, hi;

	fd_wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	lo = fd_rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	fd_wr(f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	hi = fd_rd(f, VIRTIO_MMIO_DEVICE_FEATURES);
	return hi << 32 | lo;
}

/*
 * A driver's bring-up (virtio 1.x 3.1.1): reset, ACKNOWLEDGE, DRIVER, the
 * features @features (VIRTIO_F_VERSION_1 is added), FEATURES_OK, queues
 * 0..@nr_queues-1 of @qsize entries at their FD_QUEUE_GPA with fresh rings,
 * DRIVER_OK. Checks the device id and that each step sticks.
 */
static inline void fd_bring_up(struct fake_driver *f, uint32_t device_id, uint64_t features,
			       unsigned int nr_queues, uint16_t qsize)
{
	const uint32_t ok = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			    VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK;

	if (qsize > FD_MAX_QSIZE || nr_queues > VIRTIO_MAX_QUEUES)
		FAIL_AT("fd_bring_up: %u queues of %u entries", nr_queues, qsize);
	features |= 1ULL << VIRTIO_F_VERSION_1;
	fd_wr(f, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(fd_rd(f, VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(fd_rd(f, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(fd_rd(f, VIRTIO_MMIO_DEVICE_ID), device_id);
	fd_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fd_wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fd_wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fd_wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	fd_wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fd_wr(f, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	fd_wr(f, VIRTIO_MMIO_STATUS,
	      VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK(fd_rd(f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);

	for (unsigned int q = 0; q < nr_queues; q++) {
		uint64_t base = FD_QUEUE_GPA(q);

		memset(fd_at(f, base), 0, 0x3000); /* fresh rings */
		f->qsize[q] = qsize;
		f->avail_idx[q] = 0;
		fd_wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
		CHECK_EQ(fd_rd(f, VIRTIO_MMIO_QUEUE_READY), 0);
		CHECK(fd_rd(f, VIRTIO_MMIO_QUEUE_NUM_MAX) >= qsize);
		fd_wr(f, VIRTIO_MMIO_QUEUE_NUM, qsize);
		fd_wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
		fd_wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		fd_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
		fd_wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
		fd_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
		fd_wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
		fd_wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	fd_wr(f, VIRTIO_MMIO_STATUS, ok);
	CHECK_EQ(fd_rd(f, VIRTIO_MMIO_STATUS), ok);
}

/* Writes descriptor @i of queue @q. */
static inline void fd_desc(struct fake_driver *f, unsigned int q, uint16_t i, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = fd_at(f, FD_QUEUE_GPA(q) + 16ULL * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

/*
 * Writes a chain of @n buffers into descriptors @head, @head+1, ... (modulo the
 * queue size), linked with NEXT. Returns @head.
 */
static inline uint16_t fd_chain(struct fake_driver *f, unsigned int q, uint16_t head,
				unsigned int n, const struct fd_buf *bufs)
{
	uint16_t qs = f->qsize[q] ? f->qsize[q] : 1;

	for (unsigned int k = 0; k < n; k++) {
		uint16_t i = (uint16_t)((head + k) % qs);
		uint16_t next = (uint16_t)((head + k + 1) % qs);
		uint16_t flags =
		    (bufs[k].write ? VRING_DESC_F_WRITE : 0) | (k + 1 < n ? VRING_DESC_F_NEXT : 0);

		fd_desc(f, q, i, bufs[k].gpa, bufs[k].len, flags, k + 1 < n ? next : 0);
	}
	return head;
}

/* Makes chain @head available on queue @q (does not notify). */
static inline void fd_post(struct fake_driver *f, unsigned int q, uint16_t head)
{
	uint64_t avail = FD_QUEUE_GPA(q) + 0x1000;
	uint16_t qs = f->qsize[q] ? f->qsize[q] : 1;

	fd_put16(f, avail + 4 + 2ULL * (f->avail_idx[q] % qs), head);
	f->avail_idx[q]++;
	fd_put16(f, avail + 2, f->avail_idx[q]);
}

/* The guest's QueueNotify write: the device's queue_notify runs before this returns. */
static inline void fd_notify(struct fake_driver *f, unsigned int q)
{
	fd_wr(f, VIRTIO_MMIO_QUEUE_NOTIFY, q);
}

/* used->idx of queue @q. */
static inline uint16_t fd_used_idx(struct fake_driver *f, unsigned int q)
{
	return fd_get16(f, FD_QUEUE_GPA(q) + 0x2000 + 2);
}

/* The @k-th used element ever pushed on queue @q (k counts from 0, modulo the size). */
static inline void fd_used(struct fake_driver *f, unsigned int q, uint16_t k, uint32_t *id,
			   uint32_t *len)
{
	uint64_t e = FD_QUEUE_GPA(q) + 0x2000 + 4 + 8ULL * (k % (f->qsize[q] ? f->qsize[q] : 1));

	*id = fd_get32(f, e);
	*len = fd_get32(f, e + 4);
}

/* avail->flags (VRING_AVAIL_F_NO_INTERRUPT) of queue @q. */
static inline void fd_avail_flags(struct fake_driver *f, unsigned int q, uint16_t flags)
{
	fd_put16(f, FD_QUEUE_GPA(q) + 0x1000, flags);
}

/* Sets avail->idx of queue @q directly (corrupt-ring tests). */
static inline void fd_set_avail_idx(struct fake_driver *f, unsigned int q, uint16_t idx)
{
	f->avail_idx[q] = idx;
	fd_put16(f, FD_QUEUE_GPA(q) + 0x1000 + 2, idx);
}

/*
 * Snapshots: the device's section (virtio_dev_save, instance 0) in a parsed
 * state file of its own, for a restore into a fresh device
 * (virtio_dev_restore(dev, &snap->f, 0)). fd_snap_section() is the section's
 * bytes, for a test to corrupt.
 */
struct fd_snap {
	uint8_t *buf;
	size_t len;
	struct state_file f;
};

static inline void fd_snap_save(struct fd_snap *s, struct virtio_dev *d)
{
	char err[STATE_ERR_MAX];
	struct state_writer w;

	state_write_init(&w);
	virtio_dev_save(d, &w, 0);
	CHECK_EQ(state_write_finish(&w, &s->buf, &s->len), 0);
	CHECK_EQ(state_file_parse(&s->f, s->buf, s->len, err), 0);
	CHECK_EQ(s->f.nr_sections, 1);
}

static inline uint8_t *fd_snap_section(struct fd_snap *s)
{
	return (uint8_t *)(uintptr_t)s->f.sections[0].data;
}

static inline void fd_snap_free(struct fd_snap *s)
{
	state_file_free(&s->f);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

#endif
