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

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n';
}

/*
 * The next word from *p, split as the kernel's next_arg() does: whitespace
 * separates words except inside double quotes. False at the end of the line.
 */
static bool next_word(const char **p, const char **w, size_t *wlen)
{
	bool quoted = false;
	const char *c = *p;

	while (is_space(*c))
		c++;
	if (!*c)
		return false;
	*w = c;
	for (; *c && (quoted || !is_space(*c)); c++) {
		if (*c == '"')
			quoted = !quoted;
	}
	*wlen = (size_t)(c - *w);
	*p = c;
	return true;
}

/* Where init's arguments begin: the offset of a bare "--" word, or the line's end. */
static size_t kernel_params_end(const struct cmdline *cl)
{
	const char *p = cl->buf, *w;
	size_t wlen;

	while (next_word(&p, &w, &wlen)) {
		if (wlen == 2 && w[0] == '-' && w[1] == '-')
			return (size_t)(w - cl->buf);
	}
	return cl->len;
}

int cmdline_append(struct cmdline *cl, const char *arg)
{
	size_t alen, at;

	if (!arg)
		return -EINVAL;
	alen = strnlen(arg, LAYOUT_CMDLINE_MAX);
	if (!alen)
		return 0; /* nothing to add, and no stray space */
	/* One separating space, unless the line is empty. Both lengths are below
	 * LAYOUT_CMDLINE_MAX: the sum cannot overflow. */
	if (cl->len + (cl->len ? 1 : 0) + alen >= LAYOUT_CMDLINE_MAX)
		return -E2BIG;
	at = kernel_params_end(cl);
	if (at == cl->len) {
		/* No init arguments: at the end, after a separating space. */
		if (cl->len)
			cl->buf[cl->len++] = ' ';
		memcpy(cl->buf + cl->len, arg, alen);
		cl->len += alen;
	} else {
		/* Before "--": what follows it is init's, not the kernel's. */
		memmove(cl->buf + at + alen + 1, cl->buf + at, cl->len - at);
		memcpy(cl->buf + at, arg, alen);
		cl->buf[at + alen] = ' ';
		cl->len += alen + 1;
	}
	cl->buf[cl->len] = '\0';
	return 0;
}

/* Words after a bare "--" are init's arguments, not the kernel's. */
int cmdline_has(const struct cmdline *cl, const char *key)
{
	size_t klen = key ? strlen(key) : 0;
	const char *p = cl->buf, *w;
	size_t wlen;

	if (!klen)
		return 0;
	while (next_word(&p, &w, &wlen)) {
		if (wlen == 2 && w[0] == '-' && w[1] == '-')
			return 0;
		/* A leading quote is not part of the name. */
		if (*w == '"') {
			w++;
			wlen--;
		}
		if (wlen >= klen && !memcmp(w, key, klen) &&
		    (wlen == klen || w[klen] == '=' || (wlen == klen + 1 && w[klen] == '"')))
			return 1;
	}
	return 0;
}
