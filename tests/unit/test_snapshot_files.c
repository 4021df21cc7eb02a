// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshots without KVM: the memory file (a Full writes every page that is
 * not zero and leaves holes; a Diff writes exactly the dirty pages, zero or
 * not, so their data extents laid over the full file give the newer memory),
 * and the request bodies (SnapshotCreateParams, SnapshotLoadParams) with
 * Firecracker's rules.
 */
#include "test.h"

#include "arch/x86_64/layout.h"
#include "config/snapshot.h"
#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define PAGE 4096

/* /proc/self/pagemap, opened once (as the VM does at build time): Full snapshots skip untouched
 * pages. */
static int pagemap_fd(void)
{
	static int fd = -2;

	if (fd == -2)
		fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return fd;
}

static int tmpfile_sized(uint64_t size)
{
	char path[] = "/tmp/ember-snapmem-XXXXXX";
	int fd = mkstemp(path);

	if (fd < 0)
		FAIL_AT("mkstemp failed");
	unlink(path);
	if (ftruncate(fd, (off_t)size))
		FAIL_AT("ftruncate failed");
	return fd;
}

/* Whether page @pg of @fd is a data extent (SEEK_DATA from its start lands on it). */
static bool is_data(int fd, uint64_t pg)
{
	off_t at = lseek(fd, (off_t)(pg * PAGE), SEEK_DATA);

	return at >= 0 && (uint64_t)at < (pg + 1) * PAGE;
}

static uint8_t byte_at(int fd, uint64_t off)
{
	uint8_t b = 0xee;

	if (pread(fd, &b, 1, (off_t)off) != 1)
		FAIL_AT("pread at %llu failed", (unsigned long long)off);
	return b;
}

TEST(full_skips_zero_pages)
{
	struct guest_mem gm;
	uint64_t size = 8 << 20;
	int fd;

	CHECK_EQ(guest_mem_init(&gm, size, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false), 0);
	CHECK_EQ(gm_write(&gm, 0, "A", 1), 0);
	CHECK_EQ(gm_write(&gm, 5 * PAGE + 100, "B", 1), 0);
	CHECK_EQ(gm_write(&gm, 6 * PAGE, "C", 1), 0);
	CHECK_EQ(gm_write(&gm, size - 1, "D", 1), 0);
	fd = tmpfile_sized(size);
	CHECK_EQ(snapshot_mem_write(&gm, fd, NULL, pagemap_fd()), 0);
	CHECK_EQ(byte_at(fd, 0), 'A');
	CHECK_EQ(byte_at(fd, 5 * PAGE + 100), 'B');
	CHECK_EQ(byte_at(fd, 6 * PAGE), 'C');
	CHECK_EQ(byte_at(fd, size - 1), 'D');
	CHECK_EQ(byte_at(fd, 3 * PAGE), 0);
	/* Pages never written stay holes (where the file system keeps holes: tmpfs does). */
	if (lseek(fd, 0, SEEK_HOLE) < (off_t)size) {
		CHECK(is_data(fd, 0) && is_data(fd, 5) && is_data(fd, 6));
		CHECK(!is_data(fd, 1) && !is_data(fd, 100));
	}
	close(fd);
	guest_mem_destroy(&gm);
}

TEST(diff_writes_exactly_the_dirty_pages)
{
	uint64_t size = 4 << 20, *bitmap;
	struct guest_mem gm;
	int fd, base;

	CHECK_EQ(guest_mem_init(&gm, size, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false), 0);
	CHECK_EQ(snapshot_bitmap_bytes(size), (size / PAGE) / 8);
	CHECK_EQ(snapshot_bitmap_bytes(PAGE), 8);
	bitmap = calloc(1, snapshot_bitmap_bytes(size));
	CHECK(bitmap);
	/* The base: pages 2 and 9 hold old data. */
	CHECK_EQ(gm_write(&gm, 2 * PAGE, "old", 3), 0);
	CHECK_EQ(gm_write(&gm, 9 * PAGE, "old", 3), 0);
	base = tmpfile_sized(size);
	CHECK_EQ(snapshot_mem_write(&gm, base, NULL, pagemap_fd()), 0);
	/* Since then: page 2 changed, page 9 zeroed, page 10 written; page 11 changed but clean. */
	CHECK_EQ(gm_write(&gm, 2 * PAGE, "new", 3), 0);
	memset(gm_ptr(&gm, 9 * PAGE, PAGE), 0, PAGE);
	CHECK_EQ(gm_write(&gm, 10 * PAGE, "ten", 3), 0);
	CHECK_EQ(gm_write(&gm, 11 * PAGE, "xxx", 3), 0);
	bitmap[0] = 1u << 2 | 1u << 9 | 1u << 10;
	fd = tmpfile_sized(size);
	CHECK_EQ(snapshot_mem_write(&gm, fd, (uint64_t *const[]){bitmap}, -1), 0);
	CHECK_EQ(byte_at(fd, 2 * PAGE), 'n');
	CHECK_EQ(byte_at(fd, 10 * PAGE + 2), 'n');
	CHECK_EQ(byte_at(fd, 11 * PAGE), 0); /* not dirty: not written */
	if (lseek(fd, 0, SEEK_HOLE) < (off_t)size) {
		CHECK(is_data(fd, 2) && is_data(fd, 9) && is_data(fd, 10));
		CHECK(!is_data(fd, 0) && !is_data(fd, 11));
	}
	/* The same diff written straight over the base: the newer memory. */
	CHECK_EQ(snapshot_mem_write(&gm, base, (uint64_t *const[]){bitmap}, -1), 0);
	CHECK_EQ(byte_at(base, 2 * PAGE), 'n');
	CHECK_EQ(byte_at(base, 9 * PAGE), 0);
	CHECK_EQ(byte_at(base, 10 * PAGE), 't');
	close(fd);
	close(base);
	free(bitmap);
	guest_mem_destroy(&gm);
}

/* Two regions around the MMIO gap: in the file they lie back to back, as in the mapping. */
TEST(regions_back_to_back)
{
	uint8_t *both = calloc(1, 4 * PAGE);
	struct guest_mem gm;
	int fd;

	CHECK(both);
	memcpy(both + 3 * PAGE, "hi", 2); /* the second page of the region above 4 GiB */
	CHECK_EQ(
	    guest_mem_init_fake(&gm,
				(struct guest_region[]){{0, 2 * PAGE, both},
							{1ULL << 32, 2 * PAGE, both + 2 * PAGE}},
				2),
	    0);
	gm.mapping = both; /* a fake has none: the file offsets are relative to it */
	fd = tmpfile_sized(4 * PAGE);
	CHECK_EQ(snapshot_mem_write(&gm, fd, NULL, pagemap_fd()), 0);
	CHECK_EQ(byte_at(fd, 3 * PAGE + 1), 'i');
	close(fd);
	free(both);
}

TEST(create_params)
{
	struct snapshot_create_params p;
	char err[CONFIG_ERR_MAX];

#define JS(s) s, strlen(s)
	CHECK_EQ(config_parse_snapshot_create(
		     JS("{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}"), &p, err),
		 0);
	CHECK_EQ(p.type, SNAPSHOT_FULL);
	CHECK_STR(p.snapshot_path, "s");
	CHECK_STR(p.mem_file_path, "m");
	config_snapshot_create_free(&p);
	CHECK_EQ(config_parse_snapshot_create(JS("{\"snapshot_type\": \"Diff\", \"snapshot_path\": "
						 "\"s\", \"mem_file_path\": \"m\"}"),
					      &p, err),
		 0);
	CHECK_EQ(p.type, SNAPSHOT_DIFF);
	config_snapshot_create_free(&p);
	CHECK_EQ(config_parse_snapshot_create(JS("{\"snapshot_path\": \"\", \"mem_file_path\": "
						 "\"m\"}"),
					      &p, err),
		 -EINVAL);
	CHECK_STR(err, "snapshot/create.snapshot_path: the path is empty");
	CHECK_EQ(config_parse_snapshot_create(JS("{\"snapshot_path\": \"s\", \"mem_file_path\": "
						 "\"m\", \"version\": \"1.0\"}"),
					      &p, err),
		 -EINVAL);
	CHECK_STR(err, "snapshot/create: unknown key \"version\"");
	CHECK_EQ(config_parse_snapshot_create(JS("[]"), &p, err), -EINVAL);
}

TEST(load_params)
{
	struct snapshot_load_params p;
	char err[CONFIG_ERR_MAX];

	CHECK_EQ(config_parse_snapshot_load(JS("{\"snapshot_path\": \"s\", \"mem_file_path\": "
					       "\"m\", \"enable_diff_snapshots\": true}"),
					    &p, err),
		 0);
	CHECK(p.mem_file_path_used && p.track_dirty_pages && !p.resume_vm);
	CHECK_EQ(p.backend, MEM_BACKEND_FILE);
	CHECK_STR(p.mem_path, "m");
	CHECK_EQ(p.huge_pages, SNAPSHOT_HUGE_PAGES_SNAPSHOT);
	config_snapshot_load_free(&p);

	CHECK_EQ(config_parse_snapshot_load(
		     JS("{\"snapshot_path\": \"s\", \"mem_backend\": {\"backend_type\": \"Uffd\", "
			"\"backend_path\": \"/u.sock\"}, \"resume_vm\": true, \"clock_realtime\": "
			"true, \"huge_pages\": \"None\", \"network_overrides\": [{\"iface_id\": "
			"\"eth0\", \"host_dev_name\": \"tap1\"}, {\"iface_id\": \"eth1\", "
			"\"host_dev_name\": \"tap2\"}], \"vsock_override\": {\"uds_path\": "
			"\"/v\"}}"),
		     &p, err),
		 0);
	CHECK(!p.mem_file_path_used && p.resume_vm && p.clock_realtime && !p.track_dirty_pages);
	CHECK_EQ(p.backend, MEM_BACKEND_UFFD);
	CHECK_EQ(p.huge_pages, SNAPSHOT_HUGE_PAGES_NONE);
	CHECK_EQ(p.nr_net_overrides, 2);
	CHECK_STR(p.net_overrides[1].host_dev_name, "tap2");
	CHECK_STR(p.vsock_uds_path, "/v");
	config_snapshot_load_free(&p);

	CHECK_EQ(config_parse_snapshot_load(JS("{\"mem_file_path\": \"m\"}"), &p, err), -EINVAL);
	CHECK_STR(err, "snapshot/load: missing required key \"snapshot_path\"");
	CHECK_EQ(config_parse_snapshot_load(JS("{\"snapshot_path\": \"s\", \"mem_backend\": "
					       "{\"backend_path\": \"m\"}}"),
					    &p, err),
		 -EINVAL);
	CHECK_STR(err, "snapshot/load.mem_backend: missing required key \"backend_type\"");
	CHECK_EQ(
	    config_parse_snapshot_load(JS("{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
					  "\"network_overrides\": [{\"iface_id\": \"a\", "
					  "\"host_dev_name\": \"t\"}, {\"iface_id\": \"a\", "
					  "\"host_dev_name\": \"u\"}]}"),
				       &p, err),
	    -EINVAL);
	CHECK_STR(err, "snapshot/load.network_overrides[1].iface_id: \"a\" is overridden twice");
	CHECK_EQ(
	    config_parse_snapshot_load(JS("{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
					  "\"vsock_override\": {}}"),
				       &p, err),
	    -EINVAL);
	CHECK_STR(err, "snapshot/load.vsock_override: missing required key \"uds_path\"");
	CHECK_EQ(
	    config_parse_snapshot_load(JS("{\"snapshot_path\": \"s\", \"mem_file_path\": \"m\", "
					  "\"resume_vm\": \"yes\"}"),
				       &p, err),
	    -EINVAL);
	CHECK_CONTAINS(err, "snapshot/load.resume_vm: expected a boolean");
#undef JS
}

/* Whether the host has page @p mapped (/proc/self/pagemap: present or swapped). */
static bool host_mapped(const void *p)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e = 0;

	if (fd < 0)
		return true; /* unknown: the caller's check is skipped */
	if (pread(fd, &e, 8, (off_t)((uintptr_t)p / PAGE * 8)) != 8)
		e = 1ULL << 63;
	close(fd);
	return e & (3ULL << 62);
}

/*
 * A Full of anonymous guest memory leaves the pages the host never mapped
 * unread (still unmapped afterwards) and holes; pages written, or read (the
 * zero page), are looked at as before. Memory whose missing pages are not zero
 * (a userfaultfd's) is read page by page.
 */
TEST(full_skips_untouched_pages_unread)
{
	struct guest_mem gm;
	uint64_t size = 4 << 20;
	volatile uint8_t sink;
	int fd;

	CHECK_EQ(guest_mem_init(&gm, size, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false), 0);
	CHECK(gm.untouched_is_zero);
	CHECK_EQ(gm_write(&gm, 2 * PAGE + 7, "X", 1), 0);
	sink = *(volatile uint8_t *)gm_ptr(&gm, 9 * PAGE, 1); /* read: the zero page */
	(void)sink;
	fd = tmpfile_sized(size);
	CHECK_EQ(snapshot_mem_write(&gm, fd, NULL, pagemap_fd()), 0);
	CHECK_EQ(byte_at(fd, 2 * PAGE + 7), 'X');
	CHECK_EQ(byte_at(fd, 9 * PAGE), 0);
	CHECK_EQ(byte_at(fd, 100 * PAGE), 0);
	if (host_mapped(gm_ptr(&gm, 2 * PAGE, 1)))
		CHECK(!host_mapped(gm_ptr(&gm, 100 * PAGE, 1))); /* never read */
	close(fd);
	/* Not zero when missing: every page is read (and so mapped). */
	gm.untouched_is_zero = false;
	fd = tmpfile_sized(size);
	CHECK_EQ(snapshot_mem_write(&gm, fd, NULL, pagemap_fd()), 0);
	CHECK_EQ(byte_at(fd, 2 * PAGE + 7), 'X');
	if (host_mapped(gm_ptr(&gm, 2 * PAGE, 1)))
		CHECK(host_mapped(gm_ptr(&gm, 100 * PAGE, 1)));
	close(fd);
	guest_mem_destroy(&gm);
}

TEST_MAIN(TEST_ENTRY(full_skips_zero_pages), TEST_ENTRY(full_skips_untouched_pages_unread),
	  TEST_ENTRY(diff_writes_exactly_the_dirty_pages), TEST_ENTRY(regions_back_to_back),
	  TEST_ENTRY(create_params), TEST_ENTRY(load_params))
