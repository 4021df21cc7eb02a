// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-blk through the transport's registers (tests/unit/virtio_fake_driver.h)
 * against a temporary backing file, with both engines: each case runs once with
 * "Sync" and once with "Async" (io_uring; skipped with a message when this host
 * cannot set one up).
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/log.h"
#include "devices/virtio/block.h"

#define RAM_SIZE  (8ULL << 20)
#define QSIZE	  256
#define HDR_GPA	  0x200000ULL /* request headers, 64 bytes apart */
#define ST_GPA	  0x210000ULL /* status bytes, 64 bytes apart */
#define DATA_GPA  0x300000ULL /* data, 64 KiB per request slot */
#define FILE_SECT 64	      /* default backing file: 32 KiB */

struct rig {
	struct fake_driver f;
	struct virtio_block b;
	char path[64];
	char path2[64];
	bool async;
	uint16_t next_head;
};

static struct rig rig; /* struct virtio_block holds a vq_chain: not on the stack */
static bool async_mode;

static uint8_t pattern(uint64_t off)
{
	return (uint8_t)(off * 7 + off / 512 + 1);
}

/* A temporary file of @size bytes holding pattern(). */
static void make_file(char *path, uint64_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	int fd;

	if (!buf)
		FAIL_AT("malloc");
	snprintf(path, 64, "/tmp/ember-blk-test.XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		FAIL_AT("mkstemp: %s", strerror(errno));
	for (uint64_t i = 0; i < size; i++)
		buf[i] = pattern(i);
	CHECK_EQ(write(fd, buf, size), (ssize_t)size);
	close(fd);
	free(buf);
}

static void file_read(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY);

	CHECK(fd >= 0);
	CHECK_EQ(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static bool uring_works(void)
{
	struct io_uring r;

	if (io_uring_queue_init(4, &r, 0) < 0)
		return false;
	io_uring_queue_exit(&r);
	return true;
}

static struct drive_config drive(char *path)
{
	return (struct drive_config){
	    .drive_id = "rootfs",
	    .path_on_host = path,
	    .io_engine = async_mode ? BLOCK_ENGINE_ASYNC : BLOCK_ENGINE_SYNC,
	};
}

/* Device over @cfg (path filled in when NULL), brought up with every feature it offers. */
static void setup_cfg(struct drive_config *cfg, uint64_t file_size)
{
	uint64_t features;

	memset(&rig, 0, sizeof(rig));
	rig.async = async_mode;
	make_file(rig.path, file_size);
	if (!cfg->path_on_host)
		cfg->path_on_host = rig.path;
	fd_init(&rig.f, RAM_SIZE); /* the fake host's clock: 1 s */
	CHECK_EQ(virtio_block_init(&rig.b, cfg, fd_host_ops(), &rig.f.host, &rig.f.gm), 0);
	CHECK_EQ(block_uring_fd(&rig.b) >= 0, async_mode);
	CHECK_EQ(rig.f.host.nr_watches, async_mode); /* Async: its completion eventfd */
	fd_attach(&rig.f, &rig.b.dev);
	features = fd_device_features(&rig.f) & 0xffffff; /* the device-specific bits */
	fd_bring_up(&rig.f, VIRTIO_ID_BLOCK, features, 1, QSIZE);
}

static void setup(void)
{
	struct drive_config cfg = drive(NULL);

	setup_cfg(&cfg, FILE_SECT * 512);
}

static void teardown(void)
{
	virtio_block_destroy(&rig.b);
	fd_destroy(&rig.f);
	unlink(rig.path);
	if (rig.path2[0])
		unlink(rig.path2);
}

/* Async: waits for the I/O in flight (completing it to the guest); Sync: nothing to wait for. */
static void settle(void)
{
	block_drain(&rig.b);
}

static uint16_t take_heads(unsigned int n)
{
	uint16_t h = rig.next_head;

	rig.next_head = (uint16_t)((rig.next_head + n) % QSIZE);
	return h;
}

/* Writes a request header for slot @k. */
static uint64_t header(unsigned int k, uint32_t type, uint64_t sector)
{
	uint64_t gpa = HDR_GPA + 64ULL * k;
	uint32_t zero = 0;

	memcpy(fd_at(&rig.f, gpa), &type, 4);
	memcpy(fd_at(&rig.f, gpa + 4), &zero, 4);
	memcpy(fd_at(&rig.f, gpa + 8), &sector, 8);
	return gpa;
}

/*
 * Posts request slot @k: header, then @data_len bytes at DATA_GPA + k * 64 KiB
 * (device-writable when @data_write; none when 0), then a 1-byte status.
 * Returns the head. Does not notify.
 */
static uint16_t post_req(unsigned int k, uint32_t type, uint64_t sector, uint32_t data_len,
			 bool data_write)
{
	struct fd_buf bufs[3];
	unsigned int n = 0;
	uint16_t head;

	bufs[n++] = (struct fd_buf){header(k, type, sector), 16, false};
	if (data_len)
		bufs[n++] = (struct fd_buf){DATA_GPA + 0x10000ULL * k, data_len, data_write};
	*fd_at(&rig.f, ST_GPA + 64ULL * k) = 0xee;
	bufs[n++] = (struct fd_buf){ST_GPA + 64ULL * k, 1, true};
	head = fd_chain(&rig.f, 0, take_heads(n), n, bufs);
	fd_post(&rig.f, 0, head);
	return head;
}

static uint8_t status_of(unsigned int k)
{
	return *fd_at(&rig.f, ST_GPA + 64ULL * k);
}

/* One request, served: returns its status byte, *len the used length. */
static uint8_t request(uint32_t type, uint64_t sector, uint32_t data_len, bool data_write,
		       uint32_t *len)
{
	uint16_t k = fd_used_idx(&rig.f, 0);
	uint16_t head = post_req(0, type, sector, data_len, data_write);
	uint32_t id, l;

	fd_notify(&rig.f, 0);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), (uint16_t)(k + 1));
	fd_used(&rig.f, 0, k, &id, &l);
	CHECK_EQ(id, head);
	if (len)
		*len = l;
	return status_of(0);
}

static uint8_t *data(unsigned int k)
{
	return fd_at(&rig.f, DATA_GPA + 0x10000ULL * k);
}

static bool data_matches_file(unsigned int k, uint64_t off, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (data(k)[i] != pattern(off + i))
			return false;
	return true;
}

/* --- cases (each runs with both engines) --- */

static void case_features_and_config(void)
{
	uint64_t cap = 0;
	uint32_t seg_max = 0, w;
	uint8_t byte;

	setup();
	CHECK_EQ(fd_device_features(&rig.f) & 0xffffff, 1u << VIRTIO_BLK_F_SEG_MAX);
	fd_cfg_read(&rig.f, 0, &cap, 8);
	CHECK_EQ(cap, FILE_SECT);
	fd_cfg_read(&rig.f, 12, &seg_max, 4);
	CHECK_EQ(seg_max, BLOCK_SEG_MAX);
	/* Narrow and unaligned reads, and reads past the fields. */
	fd_cfg_read(&rig.f, 0, &byte, 1);
	CHECK_EQ(byte, FILE_SECT);
	fd_cfg_read(&rig.f, 4, &w, 4);
	CHECK_EQ(w, 0);
	w = 0xffffffff;
	fd_cfg_read(&rig.f, 0x80, &w, 4);
	CHECK_EQ(w, 0);
	w = 0xffffffff;
	fd_cfg_read(&rig.f, BLOCK_CONFIG_SIZE - 2, &w, 4);
	CHECK_EQ(w, 0);
	teardown();
}

static void case_read_round_trip(void)
{
	uint32_t len;

	setup();
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 513);
	CHECK(data_matches_file(0, 0, 512));
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 5, 4096, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 4097);
	CHECK(data_matches_file(0, 5 * 512, 4096));
	/* The last sectors of the drive. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, FILE_SECT - 2, 1024, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, (FILE_SECT - 2) * 512, 1024));
	CHECK_EQ(rig.b.m.read_count, 3);
	CHECK_EQ(rig.b.m.read_bytes, 512 + 4096 + 1024);
	CHECK_EQ(rig.b.m.invalid_reqs_count, 0);
	CHECK(rig.f.host.interrupts >= 3);
	teardown();
}

static void case_write_round_trip(void)
{
	uint8_t back[1024];
	uint32_t len;

	setup();
	for (int i = 0; i < 1024; i++)
		data(0)[i] = (uint8_t)(0xa0 ^ i);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 9, 1024, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1); /* nothing written to the guest but the status */
	file_read(rig.path, 9 * 512, back, sizeof(back));
	CHECK(memcmp(back, data(0), 1024) == 0);
	/* The neighbours are untouched. */
	file_read(rig.path, 8 * 512, back, 512);
	CHECK_EQ(back[511], pattern(9 * 512 - 1));
	file_read(rig.path, 11 * 512, back, 1);
	CHECK_EQ(back[0], pattern(11 * 512));
	/* And it reads back through the device. */
	memset(data(0), 0, 1024);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 9, 1024, true, NULL), VIRTIO_BLK_S_OK);
	for (int i = 0; i < 1024; i++)
		CHECK_EQ(data(0)[i], (uint8_t)(0xa0 ^ i));
	CHECK_EQ(rig.b.m.write_count, 1);
	CHECK_EQ(rig.b.m.write_bytes, 1024);
	teardown();
}

static void case_flush_writeback_syncs(void)
{
	struct drive_config cfg = drive(NULL);
	uint32_t len;

	cfg.cache_type = BLOCK_CACHE_WRITEBACK;
	setup_cfg(&cfg, FILE_SECT * 512);
	CHECK(fd_device_features(&rig.f) & (1u << VIRTIO_BLK_F_FLUSH));
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, 1);
	CHECK_EQ(rig.b.m.host_syncs, 1);
	CHECK_EQ(rig.b.m.flush_count, 1);
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	CHECK_EQ(rig.b.m.host_syncs, 2);
	teardown();
}

static void case_flush_unsafe_is_a_no_op(void)
{
	setup(); /* cache_type "Unsafe" */
	CHECK(!(fd_device_features(&rig.f) & (1u << VIRTIO_BLK_F_FLUSH)));
	CHECK_EQ(request(VIRTIO_BLK_T_FLUSH, 0, 0, false, NULL), VIRTIO_BLK_S_OK);
	CHECK_EQ(rig.b.m.host_syncs, 0);
	CHECK_EQ(rig.b.m.flush_count, 1);
	teardown();
}

static void case_get_id(void)
{
	char want[64], got[BLOCK_ID_BYTES + 1] = {0};
	struct stat st;
	uint32_t len;

	setup();
	CHECK_EQ(stat(rig.path, &st), 0);
	snprintf(want, sizeof(want), "%llu%llu%llu", (unsigned long long)st.st_dev,
		 (unsigned long long)st.st_rdev, (unsigned long long)st.st_ino);
	want[BLOCK_ID_BYTES] = 0;
	memset(data(0), 0x55, 64);
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 32, true, &len), VIRTIO_BLK_S_OK);
	CHECK_EQ(len, BLOCK_ID_BYTES + 1);
	memcpy(got, data(0), BLOCK_ID_BYTES);
	CHECK_STR(got, want);
	CHECK_EQ(data(0)[BLOCK_ID_BYTES], 0x55); /* only 20 bytes written */
	/* A buffer under 20 bytes is refused. */
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 19, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	teardown();
}

static void case_read_only_refuses_writes(void)
{
	struct drive_config cfg = drive(NULL);
	uint8_t back[512];
	uint32_t len;

	cfg.is_read_only = true;
	setup_cfg(&cfg, FILE_SECT * 512);
	CHECK(fd_device_features(&rig.f) & (1u << VIRTIO_BLK_F_RO));
	memset(data(0), 0x33, 512);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 1, 512, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	file_read(rig.path, 512, back, 512);
	CHECK_EQ(back[0], pattern(512));
	CHECK_EQ(rig.b.m.write_count, 0);
	CHECK_EQ(rig.b.m.invalid_reqs_count, 1);
	/* Reads still work. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, 512, 512));
	teardown();
}

static void case_out_of_range(void)
{
	uint32_t len;

	setup();
	/* One sector past the end, starting inside. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, FILE_SECT - 1, 1024, true, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	/* Starting at the end and past it. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, FILE_SECT, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, FILE_SECT + 100, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	/* A zero-length read at the end is fine; past it is not. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, FILE_SECT, 0, true, NULL), VIRTIO_BLK_S_OK);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, FILE_SECT + 1, 0, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(rig.b.m.execute_fails, 4);
	CHECK_EQ(rig.b.m.read_bytes, 0);
	teardown();
}

static void case_sector_overflow(void)
{
	uint8_t back[512];

	setup();
	/* sector + length wraps around 2^64; sector * 512 wraps too. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, UINT64_MAX, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, UINT64_MAX - 1, 1024, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 1ULL << 55, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, (UINT64_MAX / 512) + 1, 512, false, NULL),
		 VIRTIO_BLK_S_IOERR);
	file_read(rig.path, 0, back, 512);
	CHECK_EQ(back[0], pattern(0));
	CHECK_EQ(rig.b.m.write_bytes, 0);
	teardown();
}

static void case_length_not_multiple_of_512(void)
{
	setup();
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 511, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 513, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 100, false, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(rig.b.m.execute_fails, 3);
	CHECK_EQ(rig.b.m.read_bytes + rig.b.m.write_bytes, 0);
	teardown();
}

/* Posts @n buffers as one chain and notifies; returns the used length (status in *st). */
static uint32_t raw_chain(unsigned int n, const struct fd_buf *bufs)
{
	uint16_t k = fd_used_idx(&rig.f, 0);
	uint16_t head = fd_chain(&rig.f, 0, take_heads(n), n, bufs);
	uint32_t id, len;

	fd_post(&rig.f, 0, head);
	fd_notify(&rig.f, 0);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), (uint16_t)(k + 1));
	fd_used(&rig.f, 0, k, &id, &len);
	CHECK_EQ(id, head);
	return len;
}

static void case_missing_or_readable_status(void)
{
	uint64_t h;

	setup();
	h = header(0, VIRTIO_BLK_T_IN, 0);
	/* Header only. */
	CHECK_EQ(raw_chain(1, (struct fd_buf[]){{h, 16, false}}), 0);
	/* Header, data, and a readable "status". */
	*fd_at(&rig.f, ST_GPA) = 0xee;
	h = header(0, VIRTIO_BLK_T_OUT, 0);
	CHECK_EQ(
	    raw_chain(
		3, (struct fd_buf[]){{h, 16, false}, {DATA_GPA, 512, false}, {ST_GPA, 1, false}}),
	    0);
	CHECK_EQ(*fd_at(&rig.f, ST_GPA), 0xee); /* not written */
	/* A writable data buffer followed by a readable status: malformed for the ring. */
	h = header(0, VIRTIO_BLK_T_IN, 0);
	CHECK_EQ(
	    raw_chain(3,
		      (struct fd_buf[]){{h, 16, false}, {DATA_GPA, 512, true}, {ST_GPA, 1, false}}),
	    0);
	CHECK_EQ(rig.b.m.execute_fails, 2);
	CHECK_EQ(rig.b.dev.event_fails, 1);
	CHECK_EQ(rig.b.m.read_bytes + rig.b.m.write_bytes, 0);
	/* The device goes on. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, true, NULL), VIRTIO_BLK_S_OK);
	teardown();
}

static void case_header_too_short(void)
{
	uint64_t h;

	setup();
	h = header(0, VIRTIO_BLK_T_IN, 0);
	*fd_at(&rig.f, ST_GPA) = 0xee;
	CHECK_EQ(raw_chain(2, (struct fd_buf[]){{h, 8, false}, {ST_GPA, 1, true}}), 1);
	CHECK_EQ(*fd_at(&rig.f, ST_GPA), VIRTIO_BLK_S_IOERR);
	/* No readable byte at all. */
	*fd_at(&rig.f, ST_GPA) = 0xee;
	CHECK_EQ(raw_chain(2, (struct fd_buf[]){{DATA_GPA, 512, true}, {ST_GPA, 1, true}}), 1);
	CHECK_EQ(*fd_at(&rig.f, ST_GPA), VIRTIO_BLK_S_IOERR);
	CHECK(data(0)[0] == 0);
	CHECK_EQ(rig.b.m.execute_fails, 2);
	teardown();
}

static void case_header_split_over_buffers(void)
{
	uint64_t h;

	setup();
	h = header(0, VIRTIO_BLK_T_IN, 3);
	/* virtio 1.x frames by bytes: 5 + 11 header bytes, data split, status in the data's tail.
	 */
	CHECK_EQ(raw_chain(4, (struct fd_buf[]){{h, 5, false},
						{h + 5, 11, false},
						{DATA_GPA, 100, true},
						{DATA_GPA + 0x2000, 413, true}}),
		 513);
	CHECK_EQ(*fd_at(&rig.f, DATA_GPA + 0x2000 + 412), VIRTIO_BLK_S_OK);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(data(0)[i], pattern(3 * 512 + i));
	for (int i = 0; i < 412; i++)
		CHECK_EQ(data(0)[0x2000 + i], pattern(3 * 512 + 100 + i));
	teardown();
}

static void case_data_direction_wrong(void)
{
	uint32_t len;

	setup();
	/* A read whose data buffer is device-readable. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 0, 512, false, &len), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(len, 1);
	/* A write whose data buffer is device-writable: nothing reaches the file. */
	memset(data(0), 0x77, 512);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 0, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(data(0)[0], 0x77);
	/* GET_ID with a readable buffer. */
	CHECK_EQ(request(VIRTIO_BLK_T_GET_ID, 0, 20, false, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(rig.b.m.execute_fails, 3);
	CHECK_EQ(rig.b.m.read_bytes + rig.b.m.write_bytes, 0);
	teardown();
}

static void case_unknown_type_unsupp(void)
{
	uint32_t len;

	setup();
	CHECK_EQ(request(11, 0, 0, false, &len), VIRTIO_BLK_S_UNSUPP); /* DISCARD */
	CHECK_EQ(len, 1);
	CHECK_EQ(request(0x12345678, 0, 512, true, NULL), VIRTIO_BLK_S_UNSUPP);
	CHECK_EQ(rig.b.m.invalid_reqs_count, 2);
	teardown();
}

static void case_odd_file_size(void)
{
	struct drive_config cfg = drive(NULL);
	uint64_t cap = 0;
	uint8_t back[700];

	setup_cfg(&cfg, 10 * 512 + 300); /* 10 sectors and 300 bytes */
	fd_cfg_read(&rig.f, 0, &cap, 8);
	CHECK_EQ(cap, 10);
	CHECK_EQ(rig.b.file_size, 10 * 512 + 300);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 9, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, 9 * 512, 512));
	/* The partial sector is not there. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 10, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 10, 512, false, NULL), VIRTIO_BLK_S_IOERR);
	file_read(rig.path, 9 * 512, back, sizeof(back) - 88);
	CHECK_EQ(back[512], pattern(10 * 512));
	{
		struct stat st;

		CHECK_EQ(stat(rig.path, &st), 0);
		CHECK_EQ(st.st_size, 10 * 512 + 300); /* never written past the end */
	}
	teardown();
}

static void case_rate_limiter_throttles_then_serves(void)
{
	struct drive_config cfg = drive(NULL);

	/* 2 ops per 100 ms; 1 KiB per 100 ms. */
	cfg.rate_limiter.has_ops = true;
	cfg.rate_limiter.ops = (struct token_bucket_config){.size = 2, .refill_time_ms = 100};
	cfg.rate_limiter.has_bandwidth = true;
	cfg.rate_limiter.bandwidth =
	    (struct token_bucket_config){.size = 1024, .refill_time_ms = 100};
	setup_cfg(&cfg, FILE_SECT * 512); /* the limiter runs on the fake host's clock */
	rig.f.host.schedules = 0;

	for (unsigned int k = 0; k < 3; k++)
		post_req(k, VIRTIO_BLK_T_IN, k, 512, true);
	fd_notify(&rig.f, 0);
	settle();
	/* Two served (1 KiB), the third waits for tokens. */
	CHECK_EQ(fd_used_idx(&rig.f, 0), 2);
	CHECK_EQ(rig.b.m.rate_limiter_throttled_events, 1);
	CHECK_EQ(rig.f.host.schedules, 1);
	CHECK(rig.f.host.last_delay > 0 && rig.f.host.last_delay <= 100000000ULL);
	CHECK_EQ(status_of(2), 0xee);
	CHECK(vq_has_avail(&rig.b.dev.vqs[0]));

	/* Too early: still waiting. */
	rig.f.host.now += 1000;
	block_run(&rig.b);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), 2);
	CHECK_EQ(rig.b.m.rate_limiter_throttled_events, 2);

	/* After the wait the limiter asked for: served. */
	rig.f.host.now += rig.f.host.last_delay;
	block_run(&rig.b);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), 3);
	CHECK_EQ(status_of(2), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(2, 2 * 512, 512));
	CHECK_EQ(rig.b.m.rate_limiter_event_count, 2);
	CHECK_EQ(rig.b.m.read_count, 3);
	teardown();
}

static void case_swap_file(void)
{
	uint64_t cap = 0;
	uint32_t gen;
	int irq;

	setup();
	gen = fd_rd(&rig.f, VIRTIO_MMIO_CONFIG_GENERATION);
	irq = rig.f.host.interrupts;
	make_file(rig.path2, 128 * 512);
	/* Make the new file's content distinguishable. */
	{
		int fd = open(rig.path2, O_WRONLY);
		char tag[16] = "SWAPPED-FILE!!!";

		CHECK(fd >= 0);
		CHECK_EQ(pwrite(fd, tag, 16, 100 * 512), 16);
		close(fd);
	}
	CHECK_EQ(block_swap_file(&rig.b, rig.path2), 0);
	fd_cfg_read(&rig.f, 0, &cap, 8);
	CHECK_EQ(cap, 128);
	CHECK_EQ(fd_rd(&rig.f, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	CHECK_EQ(rig.f.host.interrupts, irq + 1);
	CHECK(fd_rd(&rig.f, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK_EQ(rig.b.m.update_count, 1);
	/* Sector 100 exists now and holds the new file's bytes. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 100, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(memcmp(data(0), "SWAPPED-FILE!!!", 16) == 0);

	/* A bad path keeps the old file. */
	CHECK(block_swap_file(&rig.b, "/nonexistent/ember-drive") < 0);
	CHECK(block_swap_file(&rig.b, "/tmp") < 0);
	CHECK_EQ(rig.b.m.update_fails, 2);
	CHECK_EQ(rig.b.capacity, 128);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 100, 512, true, NULL), VIRTIO_BLK_S_OK);
	teardown();
}

static void case_swap_with_requests_in_flight(void)
{
	setup();
	make_file(rig.path2, 16 * 512);
	for (unsigned int k = 0; k < 8; k++)
		post_req(k, VIRTIO_BLK_T_IN, 20 + k, 4096, true);
	fd_notify(&rig.f, 0); /* Async: submitted, maybe not finished */
	CHECK_EQ(block_swap_file(&rig.b, rig.path2), 0);
	/* Every request finished on the old file before the switch. */
	CHECK_EQ(fd_used_idx(&rig.f, 0), 8);
	for (unsigned int k = 0; k < 8; k++) {
		CHECK_EQ(status_of(k), VIRTIO_BLK_S_OK);
		CHECK(data_matches_file(k, (20 + k) * 512, 4096));
	}
	/* Sector 20 is past the new file's end. */
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 20, 512, true, NULL), VIRTIO_BLK_S_IOERR);
	teardown();
}

static void case_malformed_chain_survives(void)
{
	uint64_t h;

	setup();
	h = header(0, VIRTIO_BLK_T_IN, 0);
	/* A buffer running off guest memory: the ring library refuses the chain. */
	CHECK_EQ(raw_chain(3, (struct fd_buf[]){{h, 16, false},
						{RAM_SIZE - 256, 512, true},
						{ST_GPA, 1, true}}),
		 0);
	CHECK_EQ(rig.b.dev.event_fails, 1);
	/* A descriptor loop. */
	{
		uint16_t k = fd_used_idx(&rig.f, 0);

		fd_desc(&rig.f, 0, 200, h, 16, VRING_DESC_F_NEXT, 201);
		fd_desc(&rig.f, 0, 201, DATA_GPA, 512, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 200);
		fd_post(&rig.f, 0, 200);
		fd_notify(&rig.f, 0);
		settle();
		CHECK_EQ(fd_used_idx(&rig.f, 0), (uint16_t)(k + 1));
	}
	CHECK_EQ(rig.b.dev.event_fails, 2);
	CHECK(!(fd_rd(&rig.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, 512, 512));

	/* A corrupt ring (avail->idx far ahead) needs a reset; then the device works again. */
	fd_set_avail_idx(&rig.f, 0, (uint16_t)(rig.f.avail_idx[0] + QSIZE + 1));
	fd_notify(&rig.f, 0);
	CHECK(fd_rd(&rig.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	fd_bring_up(&rig.f, VIRTIO_ID_BLOCK, 0, 1, QSIZE);
	rig.next_head = 0;
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 2, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, 1024, 512));
	teardown();
}

static void case_work_is_bounded(void)
{
	const unsigned int n = BLOCK_BATCH_REQS + 10;

	setup();
	for (unsigned int k = 0; k < n; k++)
		post_req(k, VIRTIO_BLK_T_IN, k % FILE_SECT, 512, true);
	fd_notify(&rig.f, 0);
	settle();
	/* One run serves a batch, then asks to be run again at once. */
	CHECK_EQ(fd_used_idx(&rig.f, 0), BLOCK_BATCH_REQS);
	CHECK_EQ(rig.f.host.schedules, 1);
	CHECK_EQ(rig.f.host.last_delay, 0);
	CHECK_EQ(rig.b.m.remaining_reqs_count, 1);
	block_run(&rig.b);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), n);
	for (unsigned int k = 0; k < n; k++)
		CHECK_EQ(status_of(k), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(n - 1, ((n - 1) % FILE_SECT) * 512, 512));
	CHECK_EQ(rig.f.host.schedules, 1);
	teardown();
}

static void case_reset_with_requests_in_flight(void)
{
	setup();
	for (unsigned int k = 0; k < 4; k++)
		post_req(k, VIRTIO_BLK_T_IN, k, 4096, true);
	fd_notify(&rig.f, 0);
	fd_wr(&rig.f, VIRTIO_MMIO_STATUS, 0); /* reset: in-flight results are dropped */
	block_run(&rig.b);
	settle();
	/* A new bring-up works. */
	fd_bring_up(&rig.f, VIRTIO_ID_BLOCK, 0, 1, QSIZE);
	rig.next_head = 0;
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 7, 512, true, NULL), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(0, 7 * 512, 512));
	teardown();
}

static void case_bad_backing_files(void)
{
	struct virtio_block *b = &rig.b;
	struct drive_config cfg = drive("/tmp");
	char fifo[64];

	memset(&rig, 0, sizeof(rig));
	fd_init(&rig.f, RAM_SIZE);
	/* A directory. */
	log_capture_start();
	CHECK(virtio_block_init(b, &cfg, fd_host_ops(), &rig.f.host, &rig.f.gm) < 0);
	CHECK_CONTAINS(log_capture_end(), "/tmp: is a directory");
	virtio_block_destroy(b);
	/* A FIFO: refused without waiting for a writer. */
	snprintf(fifo, sizeof(fifo), "/tmp/ember-blk-fifo.%d", (int)getpid());
	unlink(fifo);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	cfg.path_on_host = fifo;
	log_capture_start();
	CHECK(virtio_block_init(b, &cfg, fd_host_ops(), &rig.f.host, &rig.f.gm) < 0);
	CHECK_CONTAINS(log_capture_end(), "is a FIFO");
	virtio_block_destroy(b);
	unlink(fifo);
	/* A character device: accepted with its size, 0 (as Firecracker; firectl boots one). */
	cfg.path_on_host = "/dev/null";
	CHECK_EQ(virtio_block_init(b, &cfg, fd_host_ops(), &rig.f.host, &rig.f.gm), 0);
	CHECK_EQ(b->capacity, 0);
	virtio_block_destroy(b);
	/* Missing. */
	cfg.path_on_host = "/nonexistent/disk.img";
	log_capture_start();
	CHECK_EQ(virtio_block_init(b, &cfg, fd_host_ops(), &rig.f.host, &rig.f.gm), -ENOENT);
	CHECK_CONTAINS(log_capture_end(), "drive rootfs: path_on_host /nonexistent/disk.img");
	virtio_block_destroy(b);
	fd_destroy(&rig.f);
}

/* --- both engines --- */

/* The drive rebuilt from @cfg (a new process's), restored from @snap. */
static int restore_fresh(struct drive_config *cfg, struct fd_snap *snap)
{
	virtio_block_destroy(&rig.b);
	CHECK_EQ(virtio_block_init(&rig.b, cfg, fd_host_ops(), &rig.f.host, &rig.f.gm), 0);
	rig.f.host.run_pending = false;
	return virtio_dev_restore(&rig.b.dev, &snap->f, 0);
}

/*
 * Requests in flight (Async) at the snapshot complete into it; a restored
 * drive serves the same ring on: what was posted and not served, then more.
 */
static void case_snapshot_round_trip(void)
{
	struct drive_config cfg = drive(NULL);
	struct fd_snap snap;
	int irqs, saved;

	setup();
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	for (unsigned int k = 0; k < 4; k++)
		post_req(k, VIRTIO_BLK_T_IN, 8 + k, 4096, true);
	fd_notify(&rig.f, 0);			      /* Async: submitted, maybe not finished */
	post_req(4, VIRTIO_BLK_T_IN, 30, 1024, true); /* posted, not notified */
	irqs = rig.f.host.interrupts;
	fd_snap_save(&snap, &rig.b.dev);
	saved = rig.f.host.interrupts;
	CHECK(saved == irqs || (async_mode && saved == irqs + 1));
	CHECK_EQ(fd_used_idx(&rig.f, 0), 5); /* the in-flight ones finished first */
	for (unsigned int k = 0; k < 4; k++)
		CHECK(data_matches_file(k, (8 + k) * 512, 4096));

	cfg.path_on_host = rig.path;
	CHECK_EQ(restore_fresh(&cfg, &snap), 0);
	CHECK(rig.b.dev.activated);
	/* A completion the save raised came after the irqchip's state: raised again. */
	CHECK_EQ(rig.f.host.interrupts, saved + (saved != irqs));
	CHECK(rig.f.host.run_pending); /* for the request posted before the snapshot */
	fh_run(&rig.f.host);
	settle();
	CHECK_EQ(fd_used_idx(&rig.f, 0), 6);
	CHECK_EQ(status_of(4), VIRTIO_BLK_S_OK);
	CHECK(data_matches_file(4, 30 * 512, 1024));
	CHECK_EQ(request(VIRTIO_BLK_T_OUT, 3, 512, false, NULL), VIRTIO_BLK_S_OK);
	CHECK_EQ(fd_used_idx(&rig.f, 0), 7);
	fd_snap_free(&snap);
	teardown();
}

/* A restore over a backing file of another size is refused, naming the drive. */
static void case_snapshot_file_size_changed(void)
{
	struct drive_config cfg = drive(NULL);
	struct fd_snap snap;

	setup();
	fd_snap_save(&snap, &rig.b.dev);
	make_file(rig.path2, (FILE_SECT + 1) * 512);
	cfg.path_on_host = rig.path2;
	CHECK_EQ(restore_fresh(&cfg, &snap), -EINVAL);
	cfg.path_on_host = rig.path;
	CHECK_EQ(restore_fresh(&cfg, &snap), 0);
	CHECK_EQ(request(VIRTIO_BLK_T_IN, 1, 512, true, NULL), VIRTIO_BLK_S_OK);
	fd_snap_free(&snap);
	teardown();
}

static void run_case(void (*fn)(void), bool async)
{
	async_mode = async;
	fn();
}

#define BOTH(name)                                                                               \
	TEST(name##_sync)                                                                        \
	{                                                                                        \
		run_case(case_##name, false);                                                    \
	}                                                                                        \
	TEST(name##_async)                                                                       \
	{                                                                                        \
		if (!uring_works()) {                                                            \
			printf(                                                                  \
			    "SKIP: io_uring_queue_init fails on this host: Async not tested\n"); \
			return;                                                                  \
		}                                                                                \
		run_case(case_##name, true);                                                     \
	}
#define BOTH_ENTRIES(name) TEST_ENTRY(name##_sync), TEST_ENTRY(name##_async)

BOTH(features_and_config)
BOTH(read_round_trip)
BOTH(write_round_trip)
BOTH(flush_writeback_syncs)
BOTH(flush_unsafe_is_a_no_op)
BOTH(get_id)
BOTH(read_only_refuses_writes)
BOTH(out_of_range)
BOTH(sector_overflow)
BOTH(length_not_multiple_of_512)
BOTH(missing_or_readable_status)
BOTH(header_too_short)
BOTH(header_split_over_buffers)
BOTH(data_direction_wrong)
BOTH(unknown_type_unsupp)
BOTH(odd_file_size)
BOTH(rate_limiter_throttles_then_serves)
BOTH(swap_file)
BOTH(swap_with_requests_in_flight)
BOTH(malformed_chain_survives)
BOTH(work_is_bounded)
BOTH(reset_with_requests_in_flight)
BOTH(snapshot_round_trip)
BOTH(snapshot_file_size_changed)

TEST(bad_backing_files)
{
	async_mode = false;
	case_bad_backing_files();
}

TEST_MAIN(BOTH_ENTRIES(snapshot_round_trip), BOTH_ENTRIES(snapshot_file_size_changed),
	  BOTH_ENTRIES(features_and_config), BOTH_ENTRIES(read_round_trip),
	  BOTH_ENTRIES(write_round_trip), BOTH_ENTRIES(flush_writeback_syncs),
	  BOTH_ENTRIES(flush_unsafe_is_a_no_op), BOTH_ENTRIES(get_id),
	  BOTH_ENTRIES(read_only_refuses_writes), BOTH_ENTRIES(out_of_range),
	  BOTH_ENTRIES(sector_overflow), BOTH_ENTRIES(length_not_multiple_of_512),
	  BOTH_ENTRIES(missing_or_readable_status), BOTH_ENTRIES(header_too_short),
	  BOTH_ENTRIES(header_split_over_buffers), BOTH_ENTRIES(data_direction_wrong),
	  BOTH_ENTRIES(unknown_type_unsupp), BOTH_ENTRIES(odd_file_size),
	  BOTH_ENTRIES(rate_limiter_throttles_then_serves), BOTH_ENTRIES(swap_file),
	  BOTH_ENTRIES(swap_with_requests_in_flight), BOTH_ENTRIES(malformed_chain_survives),
	  BOTH_ENTRIES(work_is_bounded), BOTH_ENTRIES(reset_with_requests_in_flight),
	  TEST_ENTRY(bad_backing_files))
