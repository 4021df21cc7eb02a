// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the virtio device model: the guest is the attacker, so
 * everything it controls comes from the input: the transport's register
 * writes, the negotiated features, the queue size, the rings and descriptor
 * tables and every buffer they point at. One device per input (rng, block over
 * a memfd with the Sync engine, net over a socketpair, balloon with statistics
 * and free page reporting, vsock with a host listener on port 1024 and host
 * clients), driven through virtio_mmio_io() and the same entry points the VM
 * calls; the device's host is the unit tests' fake (virtio_fake_host.h: its
 * runs, its watched fds, a clock that moves 1 ms per reading). A crash, a
 * sanitizer report, a hang (libFuzzer's
 * -timeout) or an access outside the guest RAM (ASan) is a finding; refusing a
 * request or setting DEVICE_NEEDS_RESET is the expected outcome for garbage.
 *
 * Input: an 11-byte header, a list of operations, then the guest RAM image.
 *   [0]      device: 0 rng, 1 block, 2 net, 3 balloon, 4 vsock, 5 pmem (over the
 *            block's file), 6 mem (over region 1, 64 KiB blocks) (mod 7)
 *   [1]      queue size: 1 << ((v & 0x3f) % 9), 1 to 256; block: 0x80 read-only,
 *            0x40 cache_type Unsafe (else Writeback); balloon: 0x80 free page
 *            hinting (a run started by the host event) instead of reporting
 *   [2..9]   driver features (little-endian), masked by what the device offers;
 *            VERSION_1 is always added (register writes can ask for others)
 *   [10]     operation count (mod 33), 8 bytes each:
 *            [kind][queue][offset: u16 le][value: u32 le]
 *            kind % 7: 0 register write at offset % 0x200, 1 register read,
 *            2 notify the queue, 3 advance its avail->idx by value % 512 and
 *            notify (the driver posting chains), 4 host-side event (net: a
 *            frame of value % 2048 bytes arrives from the backend; balloon: a
 *            statistics tick; block: a run; vsock, by value % 4: serve the
 *            watched fds once, accept the guest's connections to port 1024 and
 *            send them (value >> 8) % 256 bytes, a host client sends "CONNECT
 *            1024", or a host end closes; mem: the host requests value % 5
 *            blocks), then the run the device asked its
 *            host for, if any, 5 config space write of value at offset % 64,
 *            6 a snapshot: the device's section saved (virtio_dev_save), its
 *            byte at offset % length set to value's low byte when value's
 *            bit 8 is set, and restored over the device (virtio_dev_restore,
 *            which must refuse what it cannot use); a refused restore ends
 *            the input, as it ends the VM being restored
 *   rest     copied to guest RAM from address 0 (region 0: 256 KiB at 0;
 *            region 1: 256 KiB at 512 KiB; the gap between them is unbacked).
 * Queue q's descriptor table is at 0x2000 * q, its avail ring 4 KiB above, its
 * used ring 5 KiB above (room for 256 entries each): in the input's RAM image,
 * buffers from 0x8000 in the seeds (tests/fuzz/virtio_seeds.py writes them).
 */
#include "devices/virtio/balloon.h"
#include "devices/virtio/block.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/net.h"
#include "devices/virtio/pmem.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "devices/virtio/vsock.h"

#include "../unit/virtio_fake_host.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REGION	     (256u << 10)
#define REGION1_GPA  (512u << 10)
#define QUEUE_GPA(q) (0x2000ull * (q)) /* desc; avail +4 KiB; used +5 KiB */
#define AVAIL_OFF    0x1000ull
#define USED_OFF     0x1400ull
#define HDR_LEN	     11
#define OP_LEN	     8
#define MAX_OPS	     32
#define DISK_BYTES   (64u << 10)
#define HOST_PORT    1024 /* the host listens on <uds>_1024 */
#define MAX_HOST     8	  /* host-side vsock sockets per input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Process-wide fixtures, made once: the RAM mapping and the block backend. */
struct fixture {
	uint8_t *ram; /* 2 * REGION, mapped: the balloon madvises it */
	char disk_path[64];
	struct virtio_rng rng;
	struct virtio_block blk;
	struct virtio_net net;
	struct virtio_balloon balloon;
	struct virtio_vsock vsock;
	struct virtio_pmem pmem;
	struct virtio_mem mem;
	unsigned int mem_slot_calls; /* virtio-mem's host refuses every third slot change */
	struct fake_host fh;	     /* every device's: its runs, its watched fds, its clock */
	char dir[40], uds[64];
	int listener;	    /* on <uds>_1024, for guest-initiated connections */
	int host[MAX_HOST]; /* accepted or connecting host ends */
	unsigned int nr_host;
};

static struct fixture *fx;

static int mem_slot_set(void *opaque, uint64_t slot, bool present)
{
	struct fixture *f = opaque;

	(void)slot;
	(void)present;
	return ++f->mem_slot_calls % 3 ? 0 : -ENOSPC;
}

static int unix_socket(const char *path, bool listen_on)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (listen_on ? bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 64)
		      : connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* At exit (libFuzzer exits after -max_total_time or -runs): the sockets' directory. */
static void cleanup(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s_%d", fx->uds, HOST_PORT);
	unlink(path);
	unlink(fx->uds);
	rmdir(fx->dir);
}

static void setup_once(void)
{
	char path[96];
	int fd;

	/* As ember (main.c): a peer's close is an error return, not a signal. */
	signal(SIGPIPE, SIG_IGN);
	fx = calloc(1, sizeof(*fx));
	if (!fx)
		abort();
	fx->ram =
	    mmap(NULL, 2 * REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (fx->ram == MAP_FAILED)
		abort();
	/* The drive: a memfd, opened by path as ember opens path_on_host. */
	fd = memfd_create("fuzz-disk", 0);
	if (fd < 0 || ftruncate(fd, DISK_BYTES) < 0)
		abort();
	snprintf(fx->disk_path, sizeof(fx->disk_path), "/proc/self/fd/%d", fd);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ember-fuzz-vsock.XXXXXX");
	if (!mkdtemp(fx->dir) || fh_init(&fx->fh))
		abort();
	fx->fh.tick = 1000000; /* the clock moves 1 ms per reading */
	snprintf(fx->uds, sizeof(fx->uds), "%s/v.sock", fx->dir);
	snprintf(path, sizeof(path), "%s_%d", fx->uds, HOST_PORT);
	fx->listener = unix_socket(path, true);
	if (fx->listener < 0)
		abort();
	atexit(cleanup);
}

/* One round of the host: the watched fds that are ready now, nothing waited for. */
static void pump(void)
{
	fh_pump(&fx->fh, 0);
}

static void vsock_host_event(uint32_t value)
{
	static const uint8_t bytes[256];
	int fd;

	switch (value % 4) {
	case 1: /* the host accepts the guest's connections and writes to them */
		while (fx->nr_host < MAX_HOST &&
		       (fd = accept4(fx->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
			fx->host[fx->nr_host++] = fd;
		for (unsigned int i = 0; i < fx->nr_host; i++)
			if (write(fx->host[i], bytes, (value >> 8) % 256) < 0) {
				/* full or closed: the device's state decides, not the host */
			}
		break;
	case 2: /* a host client asks for the guest's port 1024 */
		if (fx->nr_host < MAX_HOST && (fd = unix_socket(fx->uds, false)) >= 0) {
			fx->host[fx->nr_host++] = fd;
			if (write(fd, "CONNECT 1024\n", 13) < 0) {
				/* refused before the line: the device saw the close */
			}
		}
		break;
	case 3: /* a host end goes away */
		if (fx->nr_host)
			close(fx->host[--fx->nr_host]);
		break;
	default:
		break;
	}
	pump();
}

/* After an input: no host end, nothing pending on the listener. */
static void vsock_host_reset(void)
{
	int fd;

	while (fx->nr_host)
		close(fx->host[--fx->nr_host]);
	while ((fd = accept4(fx->listener, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		close(fd);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void reg_write(struct virtio_dev *d, uint64_t off, uint32_t v)
{
	virtio_mmio_io(d, off, (uint8_t *)&v, 4, true);
}

static uint32_t reg_read(struct virtio_dev *d, uint64_t off)
{
	uint32_t v = 0;

	virtio_mmio_io(d, off, (uint8_t *)&v, 4, false);
	return v;
}

/* A driver's bring-up (virtio 1.x 3.1.1) with the input's features and queue size. */
static void bring_up(struct virtio_dev *d, uint64_t features, uint16_t qsize)
{
	uint32_t nr = d->ops->nr_queues;
	uint64_t offered;

	reg_write(d, VIRTIO_MMIO_STATUS, 0);
	/* A driver accepts only what the device offers: the seeds ask for everything (~0). */
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	offered = reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
	reg_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	offered |= (uint64_t)reg_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	features = (features & offered) | 1ull << VIRTIO_F_VERSION_1;
	reg_write(d, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	reg_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	reg_write(d, VIRTIO_MMIO_STATUS,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	for (uint32_t q = 0; q < nr && q < 4; q++) {
		uint64_t base = QUEUE_GPA(q);

		reg_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
		reg_write(d, VIRTIO_MMIO_QUEUE_NUM, qsize);
		reg_write(d, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
		reg_write(d, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
		reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + AVAIL_OFF));
		reg_write(d, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
		reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + USED_OFF));
		reg_write(d, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
		reg_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	reg_write(d, VIRTIO_MMIO_STATUS,
		  VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |
		      VIRTIO_STATUS_DRIVER_OK);
}

/* The driver posts @n more chains on queue @q: avail->idx moves on (the ring is the input's). */
static void advance_avail(unsigned int q, uint32_t n)
{
	uint8_t *idx = fx->ram + QUEUE_GPA(q) + AVAIL_OFF + 2;
	uint16_t v;

	memcpy(&v, idx, 2);
	v = (uint16_t)(v + n);
	memcpy(idx, &v, 2);
}

/* A host-side event, under the device lock as the VM glue runs them. */
static void host_event(unsigned int dev, struct virtio_dev *d, int peer, uint32_t value,
		       const uint8_t *frame_src, size_t frame_max)
{
	pthread_mutex_lock(&d->lock);
	switch (dev) {
	case 1:
		block_run(&fx->blk);
		break;
	case 2: {
		size_t len = value % 2048;

		if (len > frame_max)
			len = frame_max;
		/* A frame from the backend (the bytes are the input's; at least one). */
		if (send(peer, frame_src, len ? len : 1, MSG_DONTWAIT) < 0) {
			/* The socket is full: the device did not read; nothing to add. */
		}
		virtio_net_rx(&fx->net);
		virtio_net_retry(&fx->net);
		break;
	}
	case 3:
		virtio_balloon_stats_tick(&fx->balloon);
		if (fx->balloon.hinting_enabled) { /* a run, or its end */
			pthread_mutex_unlock(&d->lock);
			if (value & 1)
				balloon_hint_stop(&fx->balloon);
			else
				balloon_hint_start(&fx->balloon, value & 2);
			pthread_mutex_lock(&d->lock);
		}
		break;
	case 6:
		virtio_mem_set_requested(&fx->mem, (value % 5) * (64u << 10));
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&d->lock);
	/* The host takes the device lock itself around vsock's handlers and every run. */
	if (dev == 4)
		vsock_host_event(value);
	fh_run(&fx->fh);
}

/* Operation 6: saves @d, maybe changes one byte of its section, restores it. 0 or the error. */
static int snapshot_round_trip(struct virtio_dev *d, uint32_t off, uint32_t value)
{
	char err[STATE_ERR_MAX];
	struct state_writer w;
	struct state_file f;
	uint8_t *buf;
	size_t len;
	int ret;

	state_write_init(&w);
	virtio_dev_save(d, &w, 0);
	if (state_write_finish(&w, &buf, &len))
		abort();
	if (state_file_parse(&f, buf, len, err) || f.nr_sections != 1)
		abort(); /* what the writer wrote always parses */
	if (value & 0x100 && f.sections[0].len)
		((uint8_t *)(uintptr_t)f.sections[0].data)[off % f.sections[0].len] =
		    (uint8_t)value;
	ret = virtio_dev_restore(d, &f, 0);
	if (!(value & 0x100) && ret)
		abort(); /* an intact section is always accepted */
	state_file_free(&f);
	free(buf);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t zero_frame[1];
	struct guest_region regs[2];
	struct guest_mem gm;
	struct virtio_dev *d = NULL;
	const uint8_t *ops, *image;
	unsigned int dev, nr_ops;
	uint64_t features;
	uint16_t qsize;
	size_t image_len;
	int sv[2] = {-1, -1};

	if (size < HDR_LEN)
		return 0;
	if (!fx)
		setup_once();
	dev = data[0] % 7;
	qsize = (uint16_t)(1u << ((data[1] & 0x3f) % 9));
	memcpy(&features, data + 2, 8);
	nr_ops = data[10] % (MAX_OPS + 1);
	if (size < HDR_LEN + (size_t)nr_ops * OP_LEN)
		nr_ops = (unsigned int)((size - HDR_LEN) / OP_LEN);
	ops = data + HDR_LEN;
	image = ops + (size_t)nr_ops * OP_LEN;
	image_len = size - (size_t)(image - data);

	/* Fresh RAM: region 0 holds the image; region 1 starts zeroed. */
	memset(fx->ram, 0, 2 * REGION);
	memcpy(fx->ram, image, image_len < REGION ? image_len : REGION);
	regs[0] = (struct guest_region){0, REGION, fx->ram};
	regs[1] = (struct guest_region){REGION1_GPA, REGION, fx->ram + REGION};
	if (guest_mem_init_fake(&gm, regs, 2))
		abort();
	fx->fh.run_pending = false; /* nothing left from the last input */
	fx->fh.dev = NULL;

	switch (dev) {
	case 0:
		if (virtio_rng_init(&fx->rng, NULL, fh_ops(), &fx->fh, &gm))
			return 0;
		d = &fx->rng.dev;
		break;
	case 1: {
		struct drive_config cfg = {
		    .drive_id = "fuzz",
		    .path_on_host = fx->disk_path,
		    .is_read_only = data[1] & 0x80,
		    .cache_type = data[1] & 0x40 ? BLOCK_CACHE_UNSAFE : BLOCK_CACHE_WRITEBACK,
		    .io_engine = BLOCK_ENGINE_SYNC,
		};

		if (virtio_block_init(&fx->blk, &cfg, fh_ops(), &fx->fh, &gm))
			return 0;
		d = &fx->blk.dev;
		break;
	}
	case 2: {
		struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "tap0"};

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv))
			abort();
		if (virtio_net_init(&fx->net, &cfg, sv[0], false, fh_ops(), &fx->fh, &gm)) {
			close(sv[1]); /* sv[0] is the device's, closed */
			return 0;
		}
		d = &fx->net.dev;
		break;
	}
	case 5: {
		char err[256];

		if (virtio_pmem_init(&fx->pmem, fx->disk_path, data[1] & 0x80, NULL, fh_ops(),
				     &fx->fh, &gm, err)) {
			virtio_pmem_destroy(&fx->pmem);
			return 0;
		}
		fx->pmem.gpa = 1ull << 32;
		d = &fx->pmem.dev;
		break;
	}
	case 6:
		if (virtio_mem_init(&fx->mem, REGION1_GPA, REGION, 64u << 10, fh_ops(), &fx->fh,
				    &gm) ||
		    virtio_mem_use_slots(&fx->mem, REGION / 2, mem_slot_set, fx))
			return 0;
		d = &fx->mem.dev;
		break;
	case 4: {
		struct vsock_config cfg = {.present = true, .guest_cid = 3, .uds_path = fx->uds};

		if (virtio_vsock_init(&fx->vsock, &cfg, fh_ops(), &fx->fh, &gm)) {
			virtio_vsock_destroy(&fx->vsock);
			return 0;
		}
		d = &fx->vsock.dev;
		break;
	}
	default: {
		struct balloon_config cfg = {
		    .amount_mib = 0,
		    .deflate_on_oom = true,
		    .stats_polling_interval_s = 1,
		    /* 0x80: free page hinting instead of reporting (queue 3 either way) */
		    .free_page_hinting = data[1] & 0x80,
		    .free_page_reporting = !(data[1] & 0x80),
		};

		if (virtio_balloon_init(&fx->balloon, &cfg, fh_ops(), &fx->fh, &gm))
			return 0;
		d = &fx->balloon.dev;
		break;
	}
	}

	fh_attach(&fx->fh, d);
	bring_up(d, features, qsize);
	for (unsigned int i = 0; i < nr_ops; i++) {
		const uint8_t *op = ops + (size_t)i * OP_LEN;
		unsigned int q = op[1] % 4;
		uint32_t off = (uint32_t)(op[2] | op[3] << 8), value = le32(op + 4);

		if (op[0] % 7 == 6) {
			if (snapshot_round_trip(d, off, value))
				break;
			continue;
		}
		switch (op[0] % 7) {
		case 0:
			reg_write(d, off % 0x200, value);
			break;
		case 1:
			(void)reg_read(d, off % 0x200);
			break;
		case 2:
			reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
			break;
		case 3: /* the driver posts chains, then notifies */
			advance_avail(q, value % 512);
			reg_write(d, VIRTIO_MMIO_QUEUE_NOTIFY, q);
			break;
		case 4:
			host_event(dev, d, sv[1], value, image_len ? image : zero_frame,
				   image_len ? image_len : 1);
			break;
		default:
			virtio_mmio_io(d, VIRTIO_MMIO_CONFIG + off % 64, (uint8_t *)&value,
				       1u << (op[1] % 3), true);
			break;
		}
	}

	switch (dev) {
	case 0:
		virtio_rng_destroy(&fx->rng);
		break;
	case 1:
		virtio_block_destroy(&fx->blk);
		break;
	case 2:
		virtio_net_destroy(&fx->net);
		close(sv[1]);
		break;
	case 4:
		virtio_vsock_destroy(&fx->vsock);
		vsock_host_reset();
		break;
	case 5:
		virtio_pmem_destroy(&fx->pmem);
		break;
	case 6:
		virtio_mem_destroy(&fx->mem);
		break;
	default:
		virtio_balloon_destroy(&fx->balloon);
		break;
	}
	return 0;
}
