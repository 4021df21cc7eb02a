// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "util/log.h"

#include <stdatomic.h>
#include <stdlib.h>

static char *out_buf;
static size_t out_len;

static struct logger *capture(void)
{
	static struct logger lg;
	FILE *f = open_memstream(&out_buf, &out_len);

	CHECK(f);
	lg = (struct logger){.out = f, .level = LOG_INFO};
	log_set(&lg);
	return &lg;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static void spam(int n)
{
	for (int i = 0; i < n; i++)
		log_warn_rl("guest wrote register %d", i);
}

TEST(burst_then_suppressed_then_reported)
{
	struct logger *lg = capture();
	struct log_ratelimit rl = {0};
	unsigned int sup;

	spam(25); /* one call site: LOG_RL_BURST lines get through */
	fflush(lg->out);
	CHECK_EQ(count_lines(out_buf), LOG_RL_BURST);
	CHECK_CONTAINS(out_buf, "guest wrote register 9");
	CHECK(!strstr(out_buf, "guest wrote register 10"));

	/* The limiter itself: a window's overflow is reported when the next one opens. */
	for (int i = 0; i < LOG_RL_BURST; i++)
		CHECK(log_ratelimit_pass(&rl, &sup));
	CHECK(!log_ratelimit_pass(&rl, &sup));
	CHECK(!log_ratelimit_pass(&rl, &sup));
	atomic_store(&rl.window_start_ms, atomic_load(&rl.window_start_ms) - LOG_RL_WINDOW_MS);
	CHECK(log_ratelimit_pass(&rl, &sup));
	CHECK_EQ(sup, 2);
	log_set(NULL);
	fclose(lg->out);
	free(out_buf);
}

TEST_MAIN(TEST_ENTRY(burst_then_suppressed_then_reported))
