// SPDX-License-Identifier: Apache-2.0
/* The harness behind test.h; linked into every unit-test binary. */
#include "test.h"

#include <libgen.h>
#include <stdarg.h>

jmp_buf test_jmp;
char test_why[512];

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(test_why, sizeof(test_why), "%s:%d: ", file, line);

	va_start(ap, fmt);
	vsnprintf(test_why + n, sizeof(test_why) - (size_t)n, fmt, ap);
	va_end(ap);
	longjmp(test_jmp, 1);
}

/* setjmp in its own frame: no local of the loop is live across the longjmp. */
static bool run_one(const struct test_case *tc)
{
	test_why[0] = '\0';
	if (setjmp(test_jmp))
		return false;
	tc->fn();
	return true;
}

int test_run(const char *file, const struct test_case *cases, size_t n)
{
	char path[256];
	const char *base;
	char *dot;
	int failed = 0;

	snprintf(path, sizeof(path), "%s", file);
	base = basename(path);
	dot = strrchr(base, '.');
	if (dot)
		*dot = '\0';
	for (size_t i = 0; i < n; i++) {
		if (run_one(&cases[i])) {
			printf("PASS: %s/%s\n", base, cases[i].name);
		} else {
			printf("FAIL: %s/%s: %s\n", base, cases[i].name, test_why);
			failed++;
		}
		fflush(stdout);
	}
	return failed ? 1 : 0;
}
