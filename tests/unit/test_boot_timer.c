// SPDX-License-Identifier: Apache-2.0
/* The boot timer: the magic write measures and logs Firecracker's line. */
#include "test.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "devices/legacy/boot_timer.h"
#include "util/log.h"

static char logged[1024];

/*
 * test.h's CHECK_CONTAINS does not compile here (its needle n_ is shadowed by
 * FAIL_AT's own n_), and CHECK_STR on a 1 KiB buffer trips -Wformat-truncation.
 */
#define CHECK_LOGGED(needle)                                                         \
	do {                                                                         \
		const char *needle_ = (needle);                                      \
		if (!strstr(logged, needle_))                                        \
			FAIL_AT("log \"%.180s\" lacks \"%.180s\"", logged, needle_); \
	} while (0)
#define CHECK_NOTHING_LOGGED()                                        \
	do {                                                          \
		if (logged[0])                                        \
			FAIL_AT("unexpected log \"%.180s\"", logged); \
	} while (0)

/* Runs one access with the process logger pointed at a memory file. */
static void io_logged(struct boot_timer *t, uint64_t offset, uint8_t *data, uint32_t len,
		      bool is_write)
{
	struct logger lg = {.level = LOG_INFO};
	ssize_t n;

	lg.fd = memfd_create("ember-log", MFD_CLOEXEC);
	if (lg.fd < 3)
		FAIL_AT("memfd_create failed");
	log_set(&lg);
	boot_timer_io(t, offset, data, len, is_write);
	log_set(NULL);
	n = pread(lg.fd, logged, sizeof(logged) - 1, 0);
	logged[n > 0 ? n : 0] = '\0';
	close(lg.fd);
}

static void start_now(struct boot_timer *t, long back_sec)
{
	struct timespec mono, cpu;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	mono.tv_sec -= back_sec;
	boot_timer_init(t, &mono, &cpu);
}

TEST(magic_write_measures_and_logs)
{
	struct boot_timer t;
	uint8_t v = 123;
	long long us = -1, cpu_us = -1;
	char want[256];

	start_now(&t, 2);
	CHECK(!boot_timer_get(&t, &us, &cpu_us));
	io_logged(&t, 0, &v, 1, true);
	CHECK(boot_timer_get(&t, &us, &cpu_us));
	CHECK(t.measured);
	CHECK_EQ(us, t.boot_time_us);
	CHECK_EQ(cpu_us, t.boot_time_cpu_us);
	CHECK(us >= 2000000 && us < 60000000);
	CHECK(cpu_us >= 0 && cpu_us < 60000000);
	snprintf(want, sizeof(want),
		 "Guest-boot-time = %6lld us %lld ms, %6lld CPU us %lld CPU ms\n", us, us / 1000,
		 cpu_us, cpu_us / 1000);
	CHECK_LOGGED(want);
	CHECK_LOGGED("] Guest-boot-time = ");
	boot_timer_destroy(&t);
}

TEST(format_pads_small_values)
{
	struct boot_timer t;
	uint8_t v = 123;
	const char *us_field, *us_end;

	start_now(&t, 0);
	io_logged(&t, 0, &v, 1, true);
	CHECK(t.boot_time_us < 1000000);
	/* The microsecond fields are at least 6 wide, as Firecracker's tooling parses them. */
	us_field = strstr(logged, "Guest-boot-time = ");
	CHECK(us_field != NULL);
	us_field += strlen("Guest-boot-time = ");
	us_end = strstr(us_field, " us ");
	CHECK(us_end != NULL);
	CHECK(us_end - us_field >= 6);
	us_field = strstr(us_end, " ms, ");
	CHECK(us_field != NULL);
	us_field += strlen(" ms, ");
	us_end = strstr(us_field, " CPU us ");
	CHECK(us_end != NULL);
	CHECK(us_end - us_field >= 6);
	CHECK(strstr(us_end, " CPU ms\n") != NULL);
	boot_timer_destroy(&t);
}

TEST(a_second_signal_measures_again)
{
	struct boot_timer t;
	uint8_t v = 123;
	long long first;

	start_now(&t, 0);
	io_logged(&t, 0, &v, 1, true);
	first = t.boot_time_us;
	io_logged(&t, 0, &v, 1, true);
	CHECK(t.boot_time_us >= first);
	CHECK_LOGGED("Guest-boot-time");
	boot_timer_destroy(&t);
}

TEST(other_writes_ignored)
{
	struct boot_timer t;
	uint8_t v;
	uint8_t wide[4] = {123, 1, 0, 0};
	uint8_t wide_ok[4] = {123, 0, 0, 0};

	start_now(&t, 0);
	v = 122;
	io_logged(&t, 0, &v, 1, true);
	CHECK(!t.measured);
	CHECK_NOTHING_LOGGED();
	v = 123;
	io_logged(&t, 4, &v, 1, true); /* not offset 0 */
	CHECK(!t.measured);
	io_logged(&t, 0, wide, 4, true); /* 0x17b, not 123 */
	CHECK(!t.measured);
	CHECK_NOTHING_LOGGED();
	io_logged(&t, 0, wide_ok, 4, true); /* 123 as a wider store */
	CHECK(t.measured);
	boot_timer_destroy(&t);
}

TEST(reads_return_zero)
{
	struct boot_timer t;
	uint8_t d[8];

	start_now(&t, 0);
	memset(d, 0xee, sizeof(d));
	io_logged(&t, 0, d, 8, false);
	for (size_t i = 0; i < sizeof(d); i++)
		CHECK_EQ(d[i], 0);
	memset(d, 0xee, sizeof(d));
	io_logged(&t, 0xffc, d, 4, false);
	CHECK_EQ(d[0] | d[1] | d[2] | d[3], 0);
	CHECK(!t.measured);
	CHECK_NOTHING_LOGGED();
	boot_timer_destroy(&t);
}

TEST_MAIN(TEST_ENTRY(magic_write_measures_and_logs), TEST_ENTRY(format_pads_small_values),
	  TEST_ENTRY(a_second_signal_measures_again), TEST_ENTRY(other_writes_ignored),
	  TEST_ENTRY(reads_return_zero))
