/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal unit-test harness. Each test file defines cases with TEST(name)
 * and lists them in TEST_MAIN(...). Every case prints one line, "PASS: file/case"
 * or "FAIL: file/case: why", which tests/run.sh counts. A failed CHECK ends its
 * case (not the binary).
 */
#ifndef EMBER_TESTS_UNIT_TEST_H
#define EMBER_TESTS_UNIT_TEST_H

#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

extern jmp_buf test_jmp;
extern char test_why[512];

#define TEST(name) static void test_##name(void)
#define TEST_ENTRY(name)           \
	{                          \
#name, test_##name \
	}

/* Records why the current case failed and ends it. */
__attribute__((noreturn, format(printf, 3, 4))) void test_fail(const char *file, int line,
							       const char *fmt, ...);
#define FAIL_AT(...) test_fail(__FILE__, __LINE__, __VA_ARGS__)

#define CHECK(cond)                                         \
	do {                                                \
		if (!(cond))                                \
			FAIL_AT("check failed: %s", #cond); \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);                          \
		if (a_ != b_)                                                                \
			FAIL_AT("%s == %s: %lld != %lld (0x%llx != 0x%llx)", #a, #b, a_, b_, \
				(unsigned long long)a_, (unsigned long long)b_);             \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *a_ = (a), *b_ = (b);                                          \
		if (!a_ || !b_ || strcmp(a_, b_))                                         \
			FAIL_AT("%s == %s: \"%s\" != \"%s\"", #a, #b, a_ ? a_ : "(null)", \
				b_ ? b_ : "(null)");                                      \
	} while (0)

#define CHECK_CONTAINS(hay, needle)                                                       \
	do {                                                                              \
		const char *hay_ = (hay), *needle_ = (needle);                            \
		if (!hay_ || !strstr(hay_, needle_))                                      \
			FAIL_AT("\"%s\" does not contain \"%s\"", hay_ ? hay_ : "(null)", \
				needle_);                                                 \
	} while (0)

int test_run(const char *file, const struct test_case *cases, size_t n);

#define TEST_MAIN(...)                                                                 \
	int main(void)                                                                 \
	{                                                                              \
		static const struct test_case cases_[] = {__VA_ARGS__};                \
		return test_run(__FILE__, cases_, sizeof(cases_) / sizeof(cases_[0])); \
	}

#endif
