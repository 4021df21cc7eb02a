// SPDX-License-Identifier: Apache-2.0
/* The guest kernel command line. */
#include "boot/cmdline.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int cmdline_init(struct cmdline *cl, const char *base)
{
	size_t len;

	if (!base)
		base = CMDLINE_DEFAULT;
	len = strnlen(base, LAYOUT_CMDLINE_MAX);
	if (len >= LAYOUT_CMDLINE_MAX) {
		/* Leave a valid (empty) line rather than a truncated one. */
		cl->buf[0] = '\0';
		cl->len = 0;
		return -E2BIG;
	}
	memcpy(cl->buf, base, len + 1);
	cl->len = len;
	return 0;
}

int cmdline_append(struct cmdline *cl, const char *arg)
{
	size_t alen, sep;

	if (!arg)
		return -EINVAL;
	alen = strnlen(arg, LAYOUT_CMDLINE_MAX);
	if (!alen)
		return 0; /* nothing to add, and no stray space */
	sep = cl->len ? 1 : 0;
	/* Both lengths are below LAYOUT_CMDLINE_MAX: the sum cannot overflow. */
	if (cl->len + sep + alen >= LAYOUT_CMDLINE_MAX)
		return -E2BIG;
	if (sep)
		cl->buf[cl->len++] = ' ';
	memcpy(cl->buf + cl->len, arg, alen);
	cl->len += alen;
	cl->buf[cl->len] = '\0';
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * Splits words as the kernel's next_arg() does: whitespace separates words
 * except inside double quotes, and a leading quote is not part of the name.
 * Words after a bare "--" are init's arguments, not the kernel's.
 */
int cmdline_has(const struct cmdline *cl, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	const char *p = cl->buf;

	if (!klen)
		return 0;
	for (;;) {
		bool quoted = false;
		const char *w;
		size_t wlen;

		while (is_space(*p))
			p++;
		if (!*p)
			return 0;
		w = p;
		for (; *p && (quoted || !is_space(*p)); p++) {
			if (*p == '"')
				quoted = !quoted;
		}
		wlen = (size_t)(p - w);
		if (wlen == 2 && w[0] == '-' && w[1] == '-')
			return 0;
		if (*w == '"') {
			w++;
			wlen--;
		}
		if (wlen >= klen && !memcmp(w, key, klen) &&
		    (wlen == klen || w[klen] == '=' || (wlen == klen + 1 && w[klen] == '"')))
			return 1;
	}
}
