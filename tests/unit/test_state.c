// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "core/state.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A file with two sections: "vcpu"/0 (a u64, a u8, a blob) and "uart"/0 (a bool, 3 bytes). */
static uint8_t *sample(size_t *len)
{
	struct state_writer w;
	uint8_t *out = NULL;

	state_write_init(&w);
	state_section_begin(&w, "vcpu", 0);
	sw_u64(&w, 0x1122334455667788ULL);
	sw_u8(&w, 7);
	sw_blob(&w, "abc", 3);
	state_section_end(&w);
	state_section_begin(&w, "uart", 0);
	sw_bool(&w, true);
	sw_bytes(&w, "xyz", 3);
	state_section_end(&w);
	CHECK_EQ(state_write_finish(&w, &out, len), 0);
	return out;
}

static int parse(const uint8_t *p, size_t len, char *err)
{
	struct state_file f;
	int ret = state_file_parse(&f, p, len, err);

	state_file_free(&f);
	return ret;
}

TEST(round_trip)
{
	size_t len;
	uint8_t *p = sample(&len);
	struct state_file f;
	struct state_reader r;
	char err[STATE_ERR_MAX], blob[8], b3[3];

	CHECK_EQ(state_file_parse(&f, p, len, err), 0);
	CHECK_EQ(f.nr_sections, 2);
	CHECK_EQ(f.major, STATE_VERSION_MAJOR);
	CHECK_EQ(state_section_find(&f, "vcpu", 0, &r), 0);
	CHECK_EQ(sr_u64(&r), 0x1122334455667788ULL);
	CHECK_EQ(sr_u8(&r), 7);
	CHECK_EQ(sr_blob(&r, blob, sizeof(blob)), 3);
	CHECK(!memcmp(blob, "abc", 3));
	CHECK(sr_ok(&r));
	/* Past the end: zeros, and the error sticks. */
	CHECK_EQ(sr_u32(&r), 0);
	CHECK(!sr_ok(&r));
	CHECK_EQ(state_section_find(&f, "uart", 0, &r), 0);
	CHECK(sr_bool(&r));
	sr_bytes(&r, b3, 3);
	CHECK(!memcmp(b3, "xyz", 3));
	CHECK(sr_ok(&r));
	CHECK_EQ(state_section_find(&f, "uart", 1, &r), -ENOENT);
	CHECK(!sr_ok(&r));
	CHECK_EQ(state_section_find(&f, "net", 0, &r), -ENOENT);
	state_file_free(&f);
	free(p);
}

TEST(refusals)
{
	size_t len;
	uint8_t *p = sample(&len), *q = malloc(len + 8);
	char err[STATE_ERR_MAX];

	/* Every truncation is refused, never read past. */
	for (size_t n = 0; n < len; n++) {
		memcpy(q, p, n);
		CHECK_EQ(parse(q, n, err), -EINVAL);
	}
	memcpy(q, p, len);
	q[0] ^= 1;
	CHECK_EQ(parse(q, len, err), -EINVAL);
	CHECK_CONTAINS(err, "bad magic");
	/* A flipped bit anywhere after the magic is a checksum mismatch (or a version refusal). */
	for (size_t i = 12; i < len; i++) {
		memcpy(q, p, len);
		q[i] ^= 0x10;
		CHECK_EQ(parse(q, len, err), -EINVAL);
	}
	memcpy(q, p, len);
	q[11] = 1; /* minor 256: newer than this reader */
	CHECK_EQ(parse(q, len, err), -EINVAL);
	CHECK_CONTAINS(err, "unsupported version 1.256");
	memcpy(q, p, len);
	q[8] = 2; /* major 2 */
	CHECK_EQ(parse(q, len, err), -EINVAL);
	CHECK_CONTAINS(err, "unsupported version 2.0");
	memcpy(q, p, len);
	memset(q + len, 0, 8);
	CHECK_EQ(parse(q, len + 8, err), -EINVAL);
	CHECK_CONTAINS(err, "truncated or padded");
	free(q);
	free(p);
}

TEST(reader_bounds)
{
	uint8_t data[] = {2, 5, 0, 0, 0, 'a'};
	struct state_reader r = {data, sizeof(data), 0, false};
	char buf[8];

	CHECK(!sr_bool(&r)); /* 2 is not a bool */
	CHECK(!sr_ok(&r));
	r = (struct state_reader){data + 1, 5, 0, false};
	CHECK_EQ(sr_blob(&r, buf, sizeof(buf)), 0); /* says 5 bytes, has 1 */
	CHECK(!sr_ok(&r));
	r = (struct state_reader){data + 1, 5, 0, false};
	CHECK_EQ(sr_blob(&r, buf, 4), 0); /* longer than the caller's bound */
	CHECK(!sr_ok(&r));
	r = (struct state_reader){data, sizeof(data), 0, false};
	sr_fail(&r);
	CHECK_EQ(sr_u8(&r), 0);
	CHECK(!sr_ok(&r));
}

TEST(writer_misuse)
{
	struct state_writer w;
	uint8_t *out = NULL;
	size_t len;

	state_write_init(&w);
	sw_u32(&w, 1); /* outside a section */
	CHECK_EQ(state_write_finish(&w, &out, &len), -ENOMEM);
	state_write_init(&w);
	state_section_begin(&w, "a-name-far-too-long", 0);
	CHECK_EQ(state_write_finish(&w, &out, &len), -ENOMEM);
	state_write_init(&w);
	state_section_begin(&w, "open", 0); /* never closed */
	CHECK_EQ(state_write_finish(&w, &out, &len), -ENOMEM);
	state_write_init(&w);
	CHECK_EQ(state_write_finish(&w, &out, &len), 0); /* no sections: a valid, empty file */
	free(out);
}

TEST_MAIN(TEST_ENTRY(round_trip), TEST_ENTRY(refusals), TEST_ENTRY(reader_bounds),
	  TEST_ENTRY(writer_misuse))
