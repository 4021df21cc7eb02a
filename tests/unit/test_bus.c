// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "core/bus.h"

#include <errno.h>
#include <stdlib.h>

struct rec {
	uint64_t offset;
	uint32_t len;
	bool is_write;
	uint8_t last;
	int calls;
};

static void rec_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct rec *r = opaque;

	r->offset = offset;
	r->len = len;
	r->is_write = is_write;
	r->calls++;
	if (is_write)
		r->last = data[0];
	else
		memset(data, 0xab, len);
}

static struct bus *new_bus(void)
{
	struct bus *b = calloc(1, sizeof(*b));

	CHECK(b);
	return b;
}

TEST(routes_by_offset)
{
	struct bus *b = new_bus();
	struct rec a = {0}, c = {0};
	uint8_t data[4] = {0x42};

	CHECK_EQ(bus_register(b, 0x3f8, 8, rec_io, &a, "a"), 0);
	CHECK_EQ(bus_register(b, 0x60, 5, rec_io, &c, "c"), 0);
	CHECK(bus_access(b, 0x3fd, data, 1, true));
	CHECK_EQ(a.offset, 5);
	CHECK_EQ(a.last, 0x42);
	CHECK(bus_access(b, 0x64, data, 1, false));
	CHECK_EQ(c.offset, 4);
	CHECK_EQ(data[0], 0xab);
	CHECK_EQ(a.calls, 1);
	free(b);
}

TEST(unbacked_reads_all_ones)
{
	struct bus *b = new_bus();
	struct rec a = {0};
	uint8_t data[4] = {0};

	CHECK_EQ(bus_register(b, 0x1000, 0x10, rec_io, &a, "a"), 0);
	CHECK(!bus_access(b, 0x2000, data, 4, false));
	CHECK_EQ(data[0], 0xff);
	CHECK_EQ(data[3], 0xff);
	CHECK(!bus_access(b, 0xfff, data, 1, true));
	CHECK_EQ(a.calls, 0);
	free(b);
}

TEST(access_must_fit_the_range)
{
	struct bus *b = new_bus();
	struct rec a = {0};
	uint8_t data[8];

	CHECK_EQ(bus_register(b, 0x1000, 0x10, rec_io, &a, "a"), 0);
	CHECK(bus_access(b, 0x100c, data, 4, false));
	/* Straddles the end: no device sees bytes past its range. */
	CHECK(!bus_access(b, 0x100e, data, 4, false));
	CHECK(!bus_access(b, 0x100f, data, 8, true));
	CHECK(bus_find(b, 0x1000, 0) == NULL);
	CHECK_EQ(a.calls, 1);
	free(b);
}

TEST(overlap_and_bad_ranges_refused)
{
	struct bus *b = new_bus();
	struct rec a = {0};

	CHECK_EQ(bus_register(b, 0x100, 0x10, rec_io, &a, "a"), 0);
	CHECK_EQ(bus_register(b, 0x10f, 1, rec_io, &a, "b"), -EEXIST);
	CHECK_EQ(bus_register(b, 0xf0, 0x11, rec_io, &a, "b"), -EEXIST);
	CHECK_EQ(bus_register(b, 0x0, 0x1000, rec_io, &a, "b"), -EEXIST);
	CHECK_EQ(bus_register(b, 0x110, 1, rec_io, &a, "b"), 0);
	CHECK_EQ(bus_register(b, 0xf0, 0x10, rec_io, &a, "b"), 0);
	CHECK_EQ(bus_register(b, 0x200, 0, rec_io, &a, "zero"), -EINVAL);
	CHECK_EQ(bus_register(b, UINT64_MAX - 1, 4, rec_io, &a, "wrap"), -EINVAL);
	CHECK_EQ(bus_register(b, UINT64_MAX, 1, rec_io, &a, "top"), 0);
	CHECK_EQ(bus_register(b, 0x300, 1, NULL, &a, "nofn"), -EINVAL);
	free(b);
}

TEST(lookup_many_sorted)
{
	struct bus *b = new_bus();
	struct rec recs[BUS_MAX_RANGES];
	uint8_t d;

	memset(recs, 0, sizeof(recs));
	/* Registered in reverse order; lookups must still find each one. */
	for (int i = BUS_MAX_RANGES - 1; i >= 0; i--)
		CHECK_EQ(bus_register(b, 0x1000 * (uint64_t)i, 0x100, rec_io, &recs[i], "r"), 0);
	CHECK_EQ(bus_register(b, 0x1000000, 1, rec_io, &recs[0], "full"), -ENOSPC);
	for (int i = 0; i < BUS_MAX_RANGES; i++) {
		CHECK(bus_access(b, 0x1000 * (uint64_t)i + 0xff, &d, 1, true));
		CHECK_EQ(recs[i].calls, 1);
		CHECK(!bus_access(b, 0x1000 * (uint64_t)i + 0x100, &d, 1, true));
	}
	free(b);
}

TEST_MAIN(TEST_ENTRY(routes_by_offset), TEST_ENTRY(unbacked_reads_all_ones),
	  TEST_ENTRY(access_must_fit_the_range), TEST_ENTRY(overlap_and_bad_ranges_refused),
	  TEST_ENTRY(lookup_many_sorted))
