// SPDX-License-Identifier: Apache-2.0
/* A snapshot's state file: writer, parser and field reader. See state.h. */
#include "core/state.h"

#include <errno.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_LEN  24 /* magic 8, major 2, minor 2, count 4, payload length 8 */
#define SECTION_HDR 32 /* name 16, instance 4, flags 4, length 8 */
#define TRAILER_LEN 8

/* --- writing --- */

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* Room for @n more bytes; false (and oom, sticky) when there is none. */
static bool reserve(struct state_writer *w, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (w->oom)
		return false;
	if (n <= w->cap - w->len)
		return true;
	if (n > SIZE_MAX / 2 - w->len) {
		w->oom = true;
		return false;
	}
	cap = w->cap ? w->cap : 4096;
	while (cap - w->len < n)
		cap *= 2;
	p = realloc(w->buf, cap);
	if (!p) {
		w->oom = true;
		return false;
	}
	w->buf = p;
	w->cap = cap;
	return true;
}

void state_write_init(struct state_writer *w)
{
	memset(w, 0, sizeof(*w));
	/* The header's room: state_write_finish fills it in. */
	if (reserve(w, HEADER_LEN)) {
		memset(w->buf, 0, HEADER_LEN);
		w->len = HEADER_LEN;
	}
}

void state_section_begin(struct state_writer *w, const char *name, uint32_t instance)
{
	size_t n = strlen(name);

	/* A programming error, not an input: make the file unwritable rather than wrong. */
	if (w->section_at || n >= STATE_NAME_MAX) {
		w->oom = true;
		return;
	}
	if (!reserve(w, SECTION_HDR))
		return;
	w->section_at = w->len;
	memset(w->buf + w->len, 0, SECTION_HDR);
	memcpy(w->buf + w->len, name, n);
	put_le(w->buf + w->len + 16, instance, 4);
	w->len += SECTION_HDR;
}

void state_section_end(struct state_writer *w)
{
	if (!w->section_at) {
		w->oom = true;
		return;
	}
	if (!w->oom) {
		put_le(w->buf + w->section_at + 24, w->len - w->section_at - SECTION_HDR, 8);
		w->nr_sections++;
	}
	w->section_at = 0;
}

void sw_bytes(struct state_writer *w, const void *p, size_t n)
{
	if (!w->section_at)
		w->oom = true;
	if (!n || !reserve(w, n))
		return;
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void sw_le(struct state_writer *w, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	put_le(b, v, n);
	sw_bytes(w, b, n);
}

void sw_u8(struct state_writer *w, uint8_t v)
{
	sw_le(w, v, 1);
}

void sw_u16(struct state_writer *w, uint16_t v)
{
	sw_le(w, v, 2);
}

void sw_u32(struct state_writer *w, uint32_t v)
{
	sw_le(w, v, 4);
}

void sw_u64(struct state_writer *w, uint64_t v)
{
	sw_le(w, v, 8);
}

void sw_bool(struct state_writer *w, bool v)
{
	sw_le(w, v ? 1 : 0, 1);
}

void sw_blob(struct state_writer *w, const void *p, uint32_t n)
{
	sw_u32(w, n);
	sw_bytes(w, p, n);
}

int state_write_finish(struct state_writer *w, uint8_t **out, size_t *len)
{
	uint64_t crc;

	if (w->section_at || !reserve(w, TRAILER_LEN)) {
		state_write_free(w);
		return -ENOMEM;
	}
	memcpy(w->buf, STATE_MAGIC, 8);
	put_le(w->buf + 8, STATE_VERSION_MAJOR, 2);
	put_le(w->buf + 10, STATE_VERSION_MINOR, 2);
	put_le(w->buf + 12, w->nr_sections, 4);
	put_le(w->buf + 16, w->len - HEADER_LEN, 8);
	crc = lzma_crc64(w->buf, w->len, 0);
	put_le(w->buf + w->len, crc, 8);
	*out = w->buf;
	*len = w->len + TRAILER_LEN;
	w->buf = NULL;
	state_write_free(w);
	return 0;
}

void state_write_free(struct state_writer *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* --- parsing --- */

int state_file_parse(struct state_file *f, const void *data, size_t len, char err[STATE_ERR_MAX])
{
	const uint8_t *p = data;
	uint64_t payload, off, crc;
	uint32_t count;

	memset(f, 0, sizeof(*f));
	if (len < HEADER_LEN + TRAILER_LEN) {
		snprintf(err, STATE_ERR_MAX, "truncated: %zu bytes, not even a header", len);
		return -EINVAL;
	}
	if (memcmp(p, STATE_MAGIC, 8)) {
		snprintf(err, STATE_ERR_MAX, "not an ember snapshot state file (bad magic)");
		return -EINVAL;
	}
	f->major = (uint16_t)get_le(p + 8, 2);
	f->minor = (uint16_t)get_le(p + 10, 2);
	if (f->major != STATE_VERSION_MAJOR || f->minor > STATE_VERSION_MINOR) {
		snprintf(err, STATE_ERR_MAX,
			 "unsupported version %u.%u (this ember reads %u.0 to %u.%u)", f->major,
			 f->minor, STATE_VERSION_MAJOR, STATE_VERSION_MAJOR, STATE_VERSION_MINOR);
		return -EINVAL;
	}
	count = (uint32_t)get_le(p + 12, 4);
	payload = get_le(p + 16, 8);
	if (payload != len - HEADER_LEN - TRAILER_LEN) {
		snprintf(
		    err, STATE_ERR_MAX,
		    "truncated or padded: the header says %llu bytes of state, the file has %zu",
		    (unsigned long long)payload, len - HEADER_LEN - TRAILER_LEN);
		return -EINVAL;
	}
	crc = get_le(p + len - TRAILER_LEN, 8);
	if (crc != lzma_crc64(p, len - TRAILER_LEN, 0)) {
		snprintf(err, STATE_ERR_MAX, "checksum mismatch: the file is corrupt");
		return -EINVAL;
	}
	/* Each section takes at least its header: bounds the count before allocating. */
	if (count > payload / SECTION_HDR) {
		snprintf(err, STATE_ERR_MAX, "corrupt: %u sections cannot fit in %llu bytes", count,
			 (unsigned long long)payload);
		return -EINVAL;
	}
	f->sections = calloc(count ? count : 1, sizeof(*f->sections));
	if (!f->sections) {
		snprintf(err, STATE_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	off = HEADER_LEN;
	for (uint32_t i = 0; i < count; i++) {
		struct state_section *s = &f->sections[i];
		uint64_t end = len - TRAILER_LEN;

		if (end - off < SECTION_HDR) {
			snprintf(err, STATE_ERR_MAX, "corrupt: section %u starts past the end", i);
			goto fail;
		}
		memcpy(s->name, p + off, STATE_NAME_MAX);
		if (s->name[STATE_NAME_MAX - 1] || !s->name[0]) {
			snprintf(err, STATE_ERR_MAX, "corrupt: section %u has no valid name", i);
			goto fail;
		}
		s->instance = (uint32_t)get_le(p + off + 16, 4);
		s->len = get_le(p + off + 24, 8);
		off += SECTION_HDR;
		if (s->len > end - off) {
			snprintf(err, STATE_ERR_MAX, "corrupt: section %s/%u runs past the end",
				 s->name, s->instance);
			goto fail;
		}
		s->data = p + off;
		off += s->len;
	}
	if (off != len - TRAILER_LEN) {
		snprintf(err, STATE_ERR_MAX, "corrupt: %llu bytes after the last section",
			 (unsigned long long)(len - TRAILER_LEN - off));
		goto fail;
	}
	f->nr_sections = count;
	return 0;
fail:
	state_file_free(f);
	return -EINVAL;
}

void state_file_free(struct state_file *f)
{
	free(f->sections);
	f->sections = NULL;
	f->nr_sections = 0;
}

/* --- reading fields --- */

int state_section_find(const struct state_file *f, const char *name, uint32_t instance,
		       struct state_reader *r)
{
	for (uint32_t i = 0; i < f->nr_sections; i++) {
		const struct state_section *s = &f->sections[i];

		if (s->instance == instance && !strncmp(s->name, name, STATE_NAME_MAX)) {
			*r = (struct state_reader){s->data, s->len, 0, false};
			return 0;
		}
	}
	*r = (struct state_reader){NULL, 0, 0, true};
	return -ENOENT;
}

void sr_bytes(struct state_reader *r, void *dst, size_t n)
{
	if (r->err || n > r->len - r->off) {
		r->err = true;
		memset(dst, 0, n);
		return;
	}
	memcpy(dst, r->p + r->off, n);
	r->off += n;
}

static uint64_t sr_le(struct state_reader *r, unsigned int n)
{
	uint8_t b[8];

	sr_bytes(r, b, n);
	return get_le(b, n);
}

uint8_t sr_u8(struct state_reader *r)
{
	return (uint8_t)sr_le(r, 1);
}

uint16_t sr_u16(struct state_reader *r)
{
	return (uint16_t)sr_le(r, 2);
}

uint32_t sr_u32(struct state_reader *r)
{
	return (uint32_t)sr_le(r, 4);
}

uint64_t sr_u64(struct state_reader *r)
{
	return sr_le(r, 8);
}

bool sr_bool(struct state_reader *r)
{
	uint8_t v = sr_u8(r);

	if (v > 1)
		r->err = true;
	return v == 1;
}

uint32_t sr_blob(struct state_reader *r, void *dst, uint32_t max)
{
	uint32_t n = sr_u32(r);

	if (r->err || n > max) {
		r->err = true;
		return 0;
	}
	sr_bytes(r, dst, n);
	return r->err ? 0 : n;
}

bool sr_ok(const struct state_reader *r)
{
	return !r->err;
}

void sr_fail(struct state_reader *r)
{
	r->err = true;
}
