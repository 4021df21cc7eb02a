// SPDX-License-Identifier: Apache-2.0
/* core/iov: the bounded iovec helpers every device uses on its chains' buffers. */
#include "test.h"
#include "core/iov.h"

#include <stdint.h>

/* Three segments of 3, 0 and 5 bytes over "abcdefgh", then a fourth the calls must not see. */
struct rig {
	uint8_t a[3], b[1], c[5], beyond[4];
	struct iovec iov[4];
};

static void rig_init(struct rig *r)
{
	memcpy(r->a, "abc", 3);
	memcpy(r->c, "defgh", 5);
	memset(r->beyond, 'Z', sizeof(r->beyond));
	r->iov[0] = (struct iovec){r->a, 3};
	r->iov[1] = (struct iovec){r->b, 0}; /* zero-length: skipped */
	r->iov[2] = (struct iovec){r->c, 5};
	r->iov[3] = (struct iovec){r->beyond, sizeof(r->beyond)}; /* past n = 3 */
}

TEST(size_sums_and_saturates)
{
	struct rig r;
	struct iovec huge[2] = {{NULL, SIZE_MAX - 1}, {NULL, 5}};

	rig_init(&r);
	CHECK_EQ(iov_size(r.iov, 3), 8);
	CHECK_EQ(iov_size(r.iov, 0), 0);
	CHECK(iov_size(huge, 2) == SIZE_MAX);
}

TEST(to_buf_from_offsets_across_segments)
{
	struct rig r;
	char out[16];

	rig_init(&r);
	memset(out, '.', sizeof(out));
	CHECK_EQ(iov_to_buf(r.iov, 3, 0, out, 8), 8);
	CHECK(!memcmp(out, "abcdefgh", 8));
	memset(out, '.', sizeof(out));
	CHECK_EQ(iov_to_buf(r.iov, 3, 2, out, 3), 3); /* spans the empty segment */
	CHECK(!memcmp(out, "cde...", 6));
	memset(out, '.', sizeof(out));
	CHECK_EQ(iov_to_buf(r.iov, 3, 3, out, 2), 2); /* starts at a segment boundary */
	CHECK(!memcmp(out, "de.", 3));
}

TEST(to_buf_is_short_at_the_end_and_never_reads_past_n)
{
	struct rig r;
	char out[16];

	rig_init(&r);
	memset(out, '.', sizeof(out));
	CHECK_EQ(iov_to_buf(r.iov, 3, 6, out, sizeof(out)), 2);
	CHECK(!memcmp(out, "gh.", 3));		      /* not the 'Z's of iov[3] */
	CHECK_EQ(iov_to_buf(r.iov, 3, 8, out, 4), 0); /* exactly at the end */
	CHECK_EQ(iov_to_buf(r.iov, 3, 9, out, 4), 0); /* past it */
	CHECK_EQ(iov_to_buf(r.iov, 3, SIZE_MAX, out, SIZE_MAX), 0);
	CHECK_EQ(iov_to_buf(r.iov, 0, 0, out, 4), 0); /* no iovecs */
	CHECK_EQ(iov_to_buf(r.iov, 3, 0, out, 0), 0); /* nothing asked */
	CHECK(!memcmp(out, "gh.", 3));
}

TEST(from_buf_writes_only_inside)
{
	struct rig r;

	rig_init(&r);
	CHECK_EQ(iov_from_buf(r.iov, 3, 1, "XYZW", 4), 4);
	CHECK(!memcmp(r.a, "aXY", 3));
	CHECK(!memcmp(r.c, "ZWfgh", 5));
	CHECK_EQ(iov_from_buf(r.iov, 3, 6, "0123456789", 10), 2);
	CHECK(!memcmp(r.c, "ZWf01", 5));
	CHECK(!memcmp(r.beyond, "ZZZZ", 4)); /* iov[3] is not the caller's */
	CHECK_EQ(iov_from_buf(r.iov, 3, 8, "q", 1), 0);
	CHECK_EQ(iov_from_buf(r.iov, 3, 0, "q", 0), 0);
	CHECK_EQ(iov_from_buf(r.iov, 0, 0, "q", 1), 0);
	CHECK_EQ(r.a[0], 'a');
}

TEST(slice_cuts_a_range)
{
	struct rig r;
	struct iovec out[4];
	unsigned int k;

	rig_init(&r);
	k = iov_slice(r.iov, 3, 1, 5, out, 4);
	CHECK_EQ(k, 2); /* "bc", "def": the empty segment leaves no entry */
	CHECK(out[0].iov_base == r.a + 1);
	CHECK_EQ(out[0].iov_len, 2);
	CHECK(out[1].iov_base == r.c);
	CHECK_EQ(out[1].iov_len, 3);
	CHECK_EQ(iov_size(out, k), 5);

	k = iov_slice(r.iov, 3, 3, 100, out, 4); /* longer than what is there */
	CHECK_EQ(k, 1);
	CHECK(out[0].iov_base == r.c);
	CHECK_EQ(out[0].iov_len, 5);
}

TEST(slice_edges_and_bounds)
{
	struct rig r;
	struct iovec out[2] = {{NULL, 77}, {NULL, 77}};

	rig_init(&r);
	CHECK_EQ(iov_slice(r.iov, 3, 8, 4, out, 2), 0);	  /* at the end */
	CHECK_EQ(iov_slice(r.iov, 3, 100, 4, out, 2), 0); /* past it */
	CHECK_EQ(iov_slice(r.iov, 3, 0, 0, out, 2), 0);	  /* zero length */
	CHECK_EQ(iov_slice(r.iov, 0, 0, 4, out, 2), 0);	  /* no iovecs */
	CHECK_EQ(iov_slice(r.iov, 3, 0, 8, out, 0), 0);	  /* no room */
	CHECK_EQ(out[0].iov_len, 77);			  /* nothing written */
	CHECK_EQ(iov_slice(r.iov, 3, 0, 8, out, 1), 1);	  /* room for one entry only */
	CHECK_EQ(out[0].iov_len, 3);
	CHECK_EQ(out[1].iov_len, 77);
	CHECK_EQ(iov_slice(r.iov, 3, 0, SIZE_MAX, out, 2), 2); /* never past n */
	CHECK_EQ(iov_size(out, 2), 8);
}

TEST(byte_finds_each_offset)
{
	struct rig r;
	const char *want = "abcdefgh";

	rig_init(&r);
	for (size_t off = 0; off < 8; off++) {
		uint8_t *p = iov_byte(r.iov, 3, off);

		CHECK(p);
		CHECK_EQ(*p, want[off]);
	}
	CHECK(!iov_byte(r.iov, 3, 8));
	CHECK(!iov_byte(r.iov, 3, SIZE_MAX));
	CHECK(!iov_byte(r.iov, 0, 0));
}

/* As a chain of the most buffers a virtqueue maps: one byte each, some empty. */
TEST(many_segments)
{
	enum { SEGS = 256 };
	static uint8_t mem[SEGS];
	static struct iovec iov[SEGS], out[SEGS];
	uint8_t flat[SEGS], back[SEGS];
	size_t bytes = 0;
	unsigned int k;

	for (unsigned int i = 0; i < SEGS; i++) {
		iov[i] = (struct iovec){&mem[i], i % 4 == 3 ? 0 : 1};
		bytes += iov[i].iov_len;
		flat[i] = (uint8_t)(i * 7);
	}
	CHECK_EQ(iov_size(iov, SEGS), bytes);
	CHECK_EQ(iov_from_buf(iov, SEGS, 0, flat, sizeof(flat)), bytes);
	CHECK_EQ(iov_to_buf(iov, SEGS, 0, back, sizeof(back)), bytes);
	CHECK(!memcmp(back, flat, bytes));
	CHECK_EQ(iov_to_buf(iov, SEGS, bytes - 1, back, 5), 1);
	CHECK_EQ(back[0], flat[bytes - 1]);

	k = iov_slice(iov, SEGS, 10, 100, out, SEGS);
	CHECK_EQ(k, 100); /* one entry per non-empty byte */
	CHECK_EQ(iov_size(out, k), 100);
	CHECK(iov_byte(out, k, 0) == iov_byte(iov, SEGS, 10));
	CHECK(iov_byte(out, k, 99) == iov_byte(iov, SEGS, 109));
	CHECK(iov_byte(iov, SEGS, bytes - 1));
	CHECK(!iov_byte(iov, SEGS, bytes));
}

TEST_MAIN(TEST_ENTRY(size_sums_and_saturates), TEST_ENTRY(to_buf_from_offsets_across_segments),
	  TEST_ENTRY(to_buf_is_short_at_the_end_and_never_reads_past_n),
	  TEST_ENTRY(from_buf_writes_only_inside), TEST_ENTRY(slice_cuts_a_range),
	  TEST_ENTRY(slice_edges_and_bounds), TEST_ENTRY(byte_finds_each_offset),
	  TEST_ENTRY(many_segments))
