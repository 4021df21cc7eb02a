// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "util/rate_limiter.h"

#define MS 1000000ULL

TEST(bucket_starts_full_and_refills_linearly)
{
	const struct token_bucket_config c = {.size = 1000, .refill_time_ms = 100};
	struct token_bucket b;

	tb_init(&b, &c, 0);
	CHECK(tb_reduce(&b, 1000, 0));
	CHECK(!tb_reduce(&b, 1, 0));
	/* 10 tokens per ms. */
	CHECK_EQ(tb_wait_ns(&b, 10, 0), 1 * MS);
	CHECK(!tb_reduce(&b, 11, 1 * MS));
	CHECK(tb_reduce(&b, 10, 1 * MS));
	CHECK(tb_reduce(&b, 500, 51 * MS));
	/* Never more than size, however long it rests. */
	CHECK(tb_reduce(&b, 1000, 10000 * MS));
	CHECK(!tb_reduce(&b, 1, 10000 * MS));
}

TEST(sub_token_progress_is_kept)
{
	const struct token_bucket_config c = {.size = 3, .refill_time_ms = 10};
	struct token_bucket b;

	tb_init(&b, &c, 0);
	CHECK(tb_reduce(&b, 3, 0));
	/* One token every 3.33 ms: at 2 ms none, at 4 ms one, at 7 ms the second. */
	CHECK(!tb_reduce(&b, 1, 2 * MS));
	CHECK(tb_reduce(&b, 1, 4 * MS));
	CHECK(!tb_reduce(&b, 1, 6 * MS));
	CHECK(tb_reduce(&b, 1, 7 * MS));
}

TEST(one_time_burst_first_and_not_refilled)
{
	const struct token_bucket_config c = {
	    .size = 100, .one_time_burst = 50, .refill_time_ms = 1000};
	struct token_bucket b;

	tb_init(&b, &c, 0);
	CHECK(tb_reduce(&b, 150, 0)); /* burst + full budget */
	CHECK(!tb_reduce(&b, 1, 0));
	CHECK(tb_reduce(&b, 100, 1000 * MS));
	CHECK(!tb_reduce(&b, 1, 1000 * MS)); /* the burst did not come back */
}

TEST(request_larger_than_bucket_throttles_not_starves)
{
	const struct token_bucket_config c = {.size = 100, .refill_time_ms = 100};
	struct token_bucket b;

	tb_init(&b, &c, 0);
	CHECK(tb_reduce(&b, 30, 0));
	/* 250 > size: waits for a full bucket, then passes and leaves a 150-token debt. */
	CHECK(!tb_reduce(&b, 250, 0));
	CHECK_EQ(tb_wait_ns(&b, 250, 0), 30 * MS);
	CHECK(tb_reduce(&b, 250, 30 * MS));
	CHECK(!tb_reduce(&b, 1, 100 * MS)); /* 70 of the 150 paid */
	CHECK_EQ(tb_wait_ns(&b, 1, 100 * MS), 81 * MS);
	CHECK(tb_reduce(&b, 1, 181 * MS));
}

TEST(replenish_bounded_by_size)
{
	const struct token_bucket_config c = {.size = 10, .refill_time_ms = 1000};
	struct token_bucket b;

	tb_init(&b, &c, 0);
	CHECK(tb_reduce(&b, 4, 0));
	tb_replenish(&b, 100);
	CHECK(tb_reduce(&b, 10, 0));
	CHECK(!tb_reduce(&b, 1, 0));
}

TEST(limiter_kinds_and_inactive)
{
	const struct token_bucket_config bw = {.size = 4096, .refill_time_ms = 1000};
	const struct token_bucket_config ops = {.size = 2, .refill_time_ms = 1000};
	const struct token_bucket_config off = {.size = 0, .refill_time_ms = 1000};
	struct rate_limiter rl;
	uint64_t wait = 0;

	rl_init(&rl, NULL, NULL, 0);
	CHECK(!rl_active(&rl));
	CHECK(rl_consume(&rl, 1 << 30, 0, &wait));
	rl_init(&rl, &off, NULL, 0);
	CHECK(!rl_active(&rl)); /* size 0: no bucket, as Firecracker */

	rl_init(&rl, &bw, &ops, 0);
	CHECK(rl_active(&rl));
	CHECK(rl_consume(&rl, 1000, 0, &wait));
	CHECK(rl_consume(&rl, 1000, 0, &wait));
	CHECK(!rl_consume(&rl, 1, 0, &wait)); /* out of ops */
	CHECK_EQ(wait, 500 * MS);
	CHECK(rl_consume(&rl, 2096, 500 * MS, &wait));
	/* Out of bytes: the op taken for the request is given back. */
	CHECK(!rl_consume(&rl, 4096, 1000 * MS, &wait));
	CHECK(wait > 0);
	CHECK(rl_consume(&rl, 0, 1000 * MS, &wait));
}

TEST_MAIN(TEST_ENTRY(bucket_starts_full_and_refills_linearly),
	  TEST_ENTRY(sub_token_progress_is_kept), TEST_ENTRY(one_time_burst_first_and_not_refilled),
	  TEST_ENTRY(request_larger_than_bucket_throttles_not_starves),
	  TEST_ENTRY(replenish_bounded_by_size), TEST_ENTRY(limiter_kinds_and_inactive))
