// SPDX-License-Identifier: Apache-2.0
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "test.h"
#include "core/guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

TEST(layout_below_gap)
{
	struct guest_mem gm;

	CHECK_EQ(guest_mem_init(&gm, 128 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false),
		 0);
	CHECK_EQ(gm.nr_regions, 1);
	CHECK_EQ(gm.regions[0].gpa, 0);
	CHECK_EQ(gm.regions[0].size, 128 << 20);
	CHECK_EQ(gm_end(&gm), 128 << 20);
	guest_mem_destroy(&gm);
}

TEST(layout_splits_at_mmio_gap)
{
	struct guest_mem gm;
	uint64_t size = 4ULL << 30; /* 4 GiB: 3 below the gap, 1 above 4 GiB */

	CHECK_EQ(guest_mem_init(&gm, size, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, true), 0);
	CHECK_EQ(gm.nr_regions, 2);
	CHECK_EQ(gm.regions[0].size, LAYOUT_MMIO_GAP_START);
	CHECK_EQ(gm.regions[1].gpa, LAYOUT_MMIO_GAP_END);
	CHECK_EQ(gm.regions[1].size, size - LAYOUT_MMIO_GAP_START);
	CHECK_EQ(gm.ram_size, size);
	/* Nothing maps the gap; both sides do. */
	CHECK(gm_ptr(&gm, LAYOUT_MMIO_GAP_START, 1) == NULL);
	CHECK(gm_ptr(&gm, LAYOUT_MMIO_GAP_START - 1, 1) != NULL);
	CHECK(gm_ptr(&gm, LAYOUT_MMIO_GAP_END, 8) != NULL);
	/* A range spanning the gap is refused even though both ends are RAM-adjacent. */
	CHECK(gm_ptr(&gm, LAYOUT_MMIO_GAP_START - 4, 8) == NULL);
	CHECK_EQ(gm_end(&gm), LAYOUT_MMIO_GAP_END + size - LAYOUT_MMIO_GAP_START);
	guest_mem_destroy(&gm);
}

TEST(bad_sizes_refused)
{
	struct guest_mem gm;

	CHECK_EQ(guest_mem_init(&gm, 0, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false),
		 -EINVAL);
	CHECK_EQ(guest_mem_init(&gm, 4097, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false),
		 -EINVAL);
}

TEST(checked_accessor_bounds_and_overflow)
{
	static uint8_t a[4096], b[4096];
	const struct guest_region regs[] = {{0x1000, sizeof(a), a}, {0x10000, sizeof(b), b}};
	struct guest_mem gm;
	uint8_t buf[16];

	CHECK_EQ(guest_mem_init_fake(&gm, regs, 2), 0);
	CHECK(gm_ptr(&gm, 0x1000, 4096) == a);
	CHECK(gm_ptr(&gm, 0x1ff0, 16) == a + 0xff0);
	CHECK(gm_ptr(&gm, 0x1ff0, 17) == NULL);	   /* one byte past the end */
	CHECK(gm_ptr(&gm, 0xfff, 2) == NULL);	   /* starts before the region */
	CHECK(gm_ptr(&gm, 0x1000, 0) == NULL);	   /* zero length */
	CHECK(gm_ptr(&gm, UINT64_MAX, 2) == NULL); /* wraps */
	CHECK(gm_ptr(&gm, UINT64_MAX - 7, 8) == NULL);
	CHECK(gm_ptr(&gm, 0x10000, UINT64_MAX) == NULL);
	CHECK(gm_ptr(&gm, 0x10010, 8) == b + 0x10);
	CHECK_EQ(gm_write(&gm, 0x10010, "ember", 6), 0);
	CHECK_EQ(gm_read(&gm, buf, 0x10010, 6), 0);
	CHECK_STR((char *)buf, "ember");
	CHECK_EQ(gm_read(&gm, buf, 0x2000, 1), -EFAULT);
	CHECK_EQ(gm_write(&gm, 0x10ffc, buf, 8), -EFAULT);
}

TEST(fake_regions_validated)
{
	static uint8_t a[64];
	const struct guest_region overlap[] = {{0, 64, a}, {32, 64, a}};
	const struct guest_region wrap[] = {{UINT64_MAX - 10, 64, a}};
	struct guest_mem gm;

	CHECK_EQ(guest_mem_init_fake(&gm, overlap, 2), -EINVAL);
	CHECK_EQ(guest_mem_init_fake(&gm, wrap, 1), -EINVAL);
	CHECK_EQ(guest_mem_init_fake(&gm, overlap, 0), -EINVAL);
}

/* A memory file mapped privately: the guest sees its bytes, and its writes never reach the file. */
TEST(file_mapping_is_copy_on_write)
{
	char path[] = "/tmp/ember-gm-XXXXXX";
	int fd = mkstemp(path);
	struct guest_mem gm;
	uint8_t byte = 0;

	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, 2 << 20), 0);
	CHECK_EQ(pwrite(fd, "snap", 4, 4096), 4);
	CHECK_EQ(guest_mem_init_file(&gm, fd, 2 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END),
		 0);
	CHECK_EQ(gm.nr_regions, 1);
	CHECK(!memcmp(gm_ptr(&gm, 4096, 4), "snap", 4));
	CHECK_EQ(gm_write(&gm, 4096, "SNAP", 4), 0);
	CHECK(!memcmp(gm_ptr(&gm, 4096, 4), "SNAP", 4));
	CHECK_EQ(pread(fd, &byte, 1, 4096), 1);
	CHECK_EQ(byte, 's');
	guest_mem_destroy(&gm);
	CHECK_EQ(guest_mem_init_file(&gm, fd, 0, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END),
		 -EINVAL);
	close(fd);
}

TEST(dirty_tracking_marks_and_takes)
{
	struct guest_mem gm;
	uint64_t size = 4ULL << 30, map0[(3ULL << 30) / 4096 / 64] = {0}, map1[4] = {0};
	uint8_t *p;

	CHECK_EQ(guest_mem_init(&gm, size, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false), 0);
	/* Not tracking: marks are no-ops. */
	CHECK(!gm_tracking_dirty(&gm));
	gm_mark_dirty(&gm, gm_ptr(&gm, 0, 1), 1);
	CHECK_EQ(gm_track_dirty(&gm), 0);
	CHECK(gm_tracking_dirty(&gm));
	gm_dirty_take(&gm, 0, map0);
	CHECK_EQ(map0[0], 0);
	/* gm_write marks; a range over a page boundary marks both pages. */
	CHECK_EQ(gm_write(&gm, 0x1ffe, "abcd", 4), 0);
	p = gm_ptr(&gm, 0x5000, 1);
	gm_mark_dirty(&gm, p, 4096); /* exactly one page */
	/* The region above the gap: its own bitmap, page 65 = word 1 bit 1. */
	gm_mark_dirty(&gm, gm_ptr(&gm, LAYOUT_MMIO_GAP_END + 65 * 4096 + 8, 8), 8);
	/* Outside guest memory, and length 0: ignored. */
	gm_mark_dirty(&gm, &size, 8);
	gm_mark_dirty(&gm, p, 0);
	gm_dirty_take(&gm, 0, map0);
	CHECK_EQ(map0[0], (1ULL << 1) | (1ULL << 2) | (1ULL << 5));
	gm_dirty_take(&gm, 1, map1);
	CHECK_EQ(map1[0], 0);
	CHECK_EQ(map1[1], 1ULL << 1);
	/* Taken means cleared; taking ORs into what the caller has. */
	map0[0] = 1ULL << 63;
	gm_dirty_take(&gm, 0, map0);
	CHECK_EQ(map0[0], 1ULL << 63);
	/* A mark running past the end of a region stops there. */
	gm_mark_dirty(&gm, gm_ptr(&gm, LAYOUT_MMIO_GAP_START - 4096, 1), 1 << 20);
	memset(map0, 0, sizeof(map0));
	gm_dirty_take(&gm, 0, map0);
	CHECK_EQ(map0[(3ULL << 30) / 4096 / 64 - 1], 1ULL << 63);
	gm_dirty_take(&gm, 7, map0); /* no such region: nothing */
	guest_mem_destroy(&gm);
}

/* memory-hotplug's region: after RAM in the same mapping, reachable, not RAM at boot (e820). */
TEST(hotplug_region)
{
	const uint64_t hp_gpa = 5ULL << 30, hp_size = 256ULL << 20;
	struct e820_entry e[16];
	struct guest_mem gm;
	int n;

	CHECK_EQ(guest_mem_init_hotplug(&gm, -1, 64 << 20, LAYOUT_MMIO_GAP_START,
					LAYOUT_MMIO_GAP_END, false, hp_gpa, hp_size),
		 0);
	CHECK_EQ(gm.nr_regions, 2);
	CHECK(gm.has_hotplug);
	CHECK_EQ(gm.regions[1].gpa, hp_gpa);
	CHECK(gm.regions[1].hva == (uint8_t *)gm.mapping + (64 << 20));
	CHECK_EQ(gm.ram_size, (64 << 20) + hp_size);
	CHECK_EQ(gm.mapping_size, (64 << 20) + hp_size);
	CHECK(gm_ptr(&gm, hp_gpa + hp_size - 8, 8) != NULL);
	CHECK(gm_ptr(&gm, hp_gpa + hp_size - 8, 9) == NULL);
	n = e820_build(&gm, e, 16);
	CHECK(n > 0);
	for (int i = 0; i < n; i++)
		CHECK(e[i].addr + e[i].size <= (64 << 20));
	guest_mem_destroy(&gm);
	/* Below the top of RAM (here RAM goes past the gap to 4 GiB + 1 GiB): refused. */
	CHECK_EQ(guest_mem_init_hotplug(&gm, -1, 4ULL << 30, LAYOUT_MMIO_GAP_START,
					LAYOUT_MMIO_GAP_END, false, 4ULL << 30, hp_size),
		 -EINVAL);
	CHECK_EQ(guest_mem_init_hotplug(&gm, -1, 64 << 20, LAYOUT_MMIO_GAP_START,
					LAYOUT_MMIO_GAP_END, false, 1ULL << 30, hp_size),
		 -EINVAL);
	CHECK_EQ(guest_mem_init_hotplug(&gm, -1, 64 << 20, LAYOUT_MMIO_GAP_START,
					LAYOUT_MMIO_GAP_END, false, hp_gpa, 4097),
		 -EINVAL);
}

/* The hotplug region in slots: devices reach only the slots the guest has. */
TEST(hotplug_slots_gate_the_accessor)
{
	const uint64_t hp_gpa = 4ULL << 30, slot = 128ULL << 20;
	struct guest_mem gm, plain;

	CHECK_EQ(
	    guest_mem_init(&plain, 64 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false), 0);
	CHECK_EQ(gm_hotplug_slots(&plain, slot), -EINVAL); /* no hotplug region */
	guest_mem_destroy(&plain);
	CHECK_EQ(guest_mem_init_hotplug(&gm, -1, 64 << 20, LAYOUT_MMIO_GAP_START,
					LAYOUT_MMIO_GAP_END, false, hp_gpa, 3 * slot),
		 0);
	CHECK_EQ(gm_hotplug_slots(&gm, 2 * slot), -EINVAL); /* does not divide the region */
	CHECK_EQ(gm_hotplug_slots(&gm, 0), -EINVAL);
	CHECK(gm_ptr(&gm, hp_gpa, 8) != NULL); /* no slots yet: all of it */
	CHECK_EQ(gm_hotplug_slots(&gm, slot), 0);
	CHECK(gm_ptr(&gm, hp_gpa, 8) == NULL);
	CHECK(gm_ptr(&gm, hp_gpa + slot, 8) == NULL);
	CHECK(gm_ptr(&gm, 4096, 8) != NULL); /* RAM is not affected */
	gm_hotplug_slot_set(&gm, 1, true);
	CHECK(gm_ptr(&gm, hp_gpa + slot, 8) != NULL);
	CHECK(gm_ptr(&gm, hp_gpa + 2 * slot - 8, 8) != NULL);
	CHECK(gm_ptr(&gm, hp_gpa + slot - 8, 16) == NULL);     /* from slot 0 into slot 1 */
	CHECK(gm_ptr(&gm, hp_gpa + 2 * slot - 8, 16) == NULL); /* from slot 1 into slot 2 */
	CHECK_EQ(gm_read(&gm, &(uint64_t){0}, hp_gpa, 8), -EFAULT);
	gm_hotplug_slot_set(&gm, 2, true);
	CHECK(gm_ptr(&gm, hp_gpa + 2 * slot - 8, 16) != NULL); /* both present */
	gm_hotplug_slot_set(&gm, 1, false);
	CHECK(gm_ptr(&gm, hp_gpa + slot, 8) == NULL);
	CHECK(gm_ptr(&gm, hp_gpa + 2 * slot, 8) != NULL);
	gm_hotplug_slot_set(&gm, 3, true); /* past the region: ignored */
	guest_mem_destroy(&gm);
}

/* Zeroes exactly the range; on anonymous memory, whole pages are dropped, not written. */
static void check_zeroed(struct guest_mem *gm)
{
	const uint64_t lo = 4096 + 100, len = 3 * 4096;
	uint8_t *p = gm_ptr(gm, 0, 8 * 4096);
	unsigned char vec = 0;
	int resident = gm->untouched_is_zero ? 0 : 1;

	CHECK(p != NULL);
	memset(p, 0xaa, 8 * 4096);
	CHECK_EQ(gm_zero(gm, lo, len), 0);
	/* Before reading it: a read maps the shared zero page. */
	CHECK_EQ(mincore(p + 2 * 4096, 4096, &vec), 0);
	CHECK_EQ(vec & 1, resident);
	for (uint64_t i = 0; i < 8 * 4096; i++)
		if (p[i] != ((i >= lo && i < lo + len) ? 0 : 0xaa)) {
			CHECK_EQ(i, ~0ULL); /* names the first wrong byte */
			break;
		}
	CHECK_EQ(gm_zero(gm, gm_end(gm) - 4096, 4097), -EFAULT);
}

TEST(zero_drops_whole_pages)
{
	char path[] = "/tmp/ember-gm-XXXXXX";
	int fd = mkstemp(path);
	struct guest_mem gm;
	uint8_t byte = 0;

	CHECK_EQ(guest_mem_init(&gm, 2 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false),
		 0);
	CHECK(gm.untouched_is_zero);
	check_zeroed(&gm);
	guest_mem_destroy(&gm);
	/* A memory file's pages are not zero untouched: written, the file left alone. */
	CHECK(fd >= 0);
	unlink(path);
	CHECK_EQ(ftruncate(fd, 2 << 20), 0);
	CHECK_EQ(pwrite(fd, "s", 1, 2 * 4096), 1);
	CHECK_EQ(guest_mem_init_file(&gm, fd, 2 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END),
		 0);
	CHECK(!gm.untouched_is_zero);
	check_zeroed(&gm);
	CHECK_EQ(pread(fd, &byte, 1, 2 * 4096), 1);
	CHECK_EQ(byte, 's');
	guest_mem_destroy(&gm);
	close(fd);
}

TEST_MAIN(TEST_ENTRY(layout_below_gap), TEST_ENTRY(hotplug_region),
	  TEST_ENTRY(hotplug_slots_gate_the_accessor), TEST_ENTRY(file_mapping_is_copy_on_write),
	  TEST_ENTRY(layout_splits_at_mmio_gap), TEST_ENTRY(bad_sizes_refused),
	  TEST_ENTRY(checked_accessor_bounds_and_overflow), TEST_ENTRY(fake_regions_validated),
	  TEST_ENTRY(dirty_tracking_marks_and_takes), TEST_ENTRY(zero_drops_whole_pages))
