// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-pmem through its registers and queue: the file mapped (its size
 * rounded up to 2 MiB), the configuration space, flush requests (the guest's
 * writes reach the file), read-only mapping, malformed requests, the rate
 * limiter, snapshots.
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "devices/virtio/pmem.h"

#define REQ_GPA	 (FD_BUF_GPA)
#define RESP_GPA (FD_BUF_GPA + 0x100)

static struct fake_driver fdrv;
static struct virtio_pmem pm;
static char path[64];

/* A 3 MiB + 5 bytes file, "pmem" at offset 0. */
static void make_file(void)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/ember-test-pmem-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (3 << 20) + 5), 0);
	CHECK_EQ(pwrite(fd, "pmem", 4, 0), 4);
	close(fd);
}

static int setup(bool read_only, const struct rate_limiter_config *rl)
{
	char err[256];
	int ret;

	fd_init(&fdrv, 4 << 20);
	ret = virtio_pmem_init(&pm, path, read_only, rl, fd_host_ops(), &fdrv.host, &fdrv.gm, err);
	if (ret)
		return ret;
	pm.gpa = 1ULL << 32;
	fd_attach(&fdrv, &pm.dev);
	fd_bring_up(&fdrv, VIRTIO_ID_PMEM, 0, 1, 8);
	return 0;
}

static void teardown(void)
{
	virtio_pmem_destroy(&pm);
	fd_destroy(&fdrv);
}

/* One request of @type with a 4-byte status buffer (@out_len/@in_len: the buffers' sizes). */
static uint32_t request(uint16_t head, uint32_t type, uint32_t out_len, uint32_t in_len,
			uint32_t *used_len)
{
	uint32_t id, resp = 0xffffffff;

	memcpy(fd_at(&fdrv, REQ_GPA), &type, 4);
	memcpy(fd_at(&fdrv, RESP_GPA), &resp, 4);
	fd_chain(&fdrv, 0, head, 2,
		 (struct fd_buf[]){{REQ_GPA, out_len, false}, {RESP_GPA, in_len, true}});
	fd_post(&fdrv, 0, head);
	fd_notify(&fdrv, 0);
	fd_used(&fdrv, 0, (uint16_t)(fd_used_idx(&fdrv, 0) - 1), &id, used_len);
	CHECK_EQ(id, head);
	return fd_get32(&fdrv, RESP_GPA);
}

TEST(maps_and_reports_config)
{
	uint64_t cfg[2];

	make_file();
	CHECK_EQ(setup(false, NULL), 0);
	CHECK_EQ(pm.file_size, (3 << 20) + 5);
	CHECK_EQ(pm.map_size, 4 << 20);
	CHECK(!memcmp(pm.hva, "pmem", 4));
	fd_cfg_read(&fdrv, 0, cfg, sizeof(cfg));
	CHECK_EQ(cfg[0], 1ULL << 32);
	CHECK_EQ(cfg[1], 4ULL << 20);
	/* The tail past the file's end is memory the guest may use. */
	pm.hva[(4 << 20) - 1] = 7;
	teardown();
	unlink(path);
}

TEST(flush_reaches_the_file)
{
	uint32_t len;
	char buf[8] = {0};
	int fd;

	make_file();
	CHECK_EQ(setup(false, NULL), 0);
	memcpy(pm.hva + 4096, "guestwr", 7); /* the guest's store through its mapping */
	CHECK_EQ(request(0, VIRTIO_PMEM_REQ_FLUSH, 4, 4, &len), VIRTIO_PMEM_RESP_OK);
	CHECK_EQ(len, 4);
	CHECK_EQ(pm.flush_count, 1);
	CHECK(fdrv.host.interrupts > 0);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(pread(fd, buf, 7, 4096), 7);
	close(fd);
	CHECK_STR(buf, "guestwr");
	/* An unknown type: an error status, the chain given back. */
	CHECK_EQ(request(2, 9, 4, 4, &len), VIRTIO_PMEM_RESP_EIO);
	/* No status buffer, or no type: failed with length 0, counted. */
	request(4, VIRTIO_PMEM_REQ_FLUSH, 4, 2, &len);
	CHECK_EQ(len, 0);
	request(6, VIRTIO_PMEM_REQ_FLUSH, 2, 4, &len);
	CHECK_EQ(len, 0);
	CHECK_EQ(pm.dev.event_fails, 2);
	CHECK_EQ(pm.flush_count, 1);
	teardown();
	unlink(path);
}

TEST(read_only_and_bad_files)
{
	char err[256];
	uint32_t len;

	make_file();
	CHECK_EQ(setup(true, NULL), 0);
	CHECK(!memcmp(pm.hva, "pmem", 4));
	CHECK_EQ(request(0, VIRTIO_PMEM_REQ_FLUSH, 4, 4, &len), VIRTIO_PMEM_RESP_OK);
	teardown();
	unlink(path);

	fd_init(&fdrv, 4 << 20);
	CHECK_EQ(virtio_pmem_init(&pm, "/nonexistent/pmem", false, NULL, fd_host_ops(), &fdrv.host,
				  &fdrv.gm, err),
		 -ENOENT);
	CHECK_CONTAINS(err, "/nonexistent/pmem");
	virtio_pmem_destroy(&pm);
	CHECK_EQ(
	    virtio_pmem_init(&pm, "/tmp", false, NULL, fd_host_ops(), &fdrv.host, &fdrv.gm, err),
	    -EISDIR);
	virtio_pmem_destroy(&pm);
	fd_destroy(&fdrv);
}

TEST(rate_limited_flushes)
{
	struct rate_limiter_config rl = {.has_ops = true,
					 .ops = {.size = 1, .refill_time_ms = 100}};
	uint32_t len;

	make_file();
	CHECK_EQ(setup(false, &rl), 0);
	CHECK_EQ(request(0, VIRTIO_PMEM_REQ_FLUSH, 4, 4, &len), VIRTIO_PMEM_RESP_OK);
	/* The second waits for its token: a run is asked for, nothing used yet. */
	memcpy(fd_at(&fdrv, REQ_GPA), &(uint32_t){0}, 4);
	fd_chain(&fdrv, 0, 2, 2, (struct fd_buf[]){{REQ_GPA, 4, false}, {RESP_GPA, 4, true}});
	fd_post(&fdrv, 0, 2);
	fd_notify(&fdrv, 0);
	CHECK_EQ(fd_used_idx(&fdrv, 0), 1);
	CHECK_EQ(pm.rate_limiter_throttled_events, 1);
	CHECK(fdrv.host.run_pending);
	fdrv.host.now += 200ULL * 1000 * 1000;
	CHECK(fh_run_due(&fdrv.host));
	CHECK_EQ(fd_used_idx(&fdrv, 0), 2);
	CHECK_EQ(pm.flush_count, 2);
	teardown();
	unlink(path);
}

TEST(snapshot_round_trip)
{
	struct virtio_pmem *back = calloc(1, sizeof(*back));
	struct fd_snap snap;
	char err[256];

	make_file();
	CHECK_EQ(setup(false, NULL), 0);
	fd_snap_save(&snap, &pm.dev);
	CHECK_EQ(
	    virtio_pmem_init(back, path, false, NULL, fd_host_ops(), &fdrv.host, &fdrv.gm, err), 0);
	back->gpa = pm.gpa;
	CHECK_EQ(virtio_dev_restore(&back->dev, &snap.f, 0), 0);
	CHECK(back->dev.activated);
	virtio_pmem_destroy(back);
	/* The file grew past another 2 MiB: the snapshot's region no longer fits. */
	CHECK_EQ(truncate(path, 9 << 20), 0);
	CHECK_EQ(
	    virtio_pmem_init(back, path, false, NULL, fd_host_ops(), &fdrv.host, &fdrv.gm, err), 0);
	back->gpa = pm.gpa;
	CHECK(virtio_dev_restore(&back->dev, &snap.f, 0) != 0);
	virtio_pmem_destroy(back);
	free(back);
	fd_snap_free(&snap);
	teardown();
	unlink(path);
}

TEST_MAIN(TEST_ENTRY(maps_and_reports_config), TEST_ENTRY(flush_reaches_the_file),
	  TEST_ENTRY(read_only_and_bad_files), TEST_ENTRY(rate_limited_flushes),
	  TEST_ENTRY(snapshot_round_trip))
