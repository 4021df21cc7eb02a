// SPDX-License-Identifier: Apache-2.0
/*
 * `make musl` only: Debian's static jansson is built with _FORTIFY_SOURCE against
 * glibc and calls these three glibc checking functions, which musl does not have.
 * Same contract as glibc's: abort when the destination is smaller than the bound.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap);
int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...);
char *__strncpy_chk(char *dst, const char *src, size_t n, size_t dstlen);

int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap)
{
	(void)flag;
	if (slen < maxlen)
		abort();
	return vsnprintf(s, maxlen, fmt, ap);
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
	va_end(ap);
	return ret;
}

char *__strncpy_chk(char *dst, const char *src, size_t n, size_t dstlen)
{
	if (dstlen < n)
		abort();
	return strncpy(dst, src, n);
}
