/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A snapshot's state file (PUT /snapshot/create, /snapshot/load): everything
 * needed to continue a VM exactly, but its memory. A versioned, checksummed
 * container of named sections; each section is a sequence of little-endian
 * fields that its owner (a vCPU, the VM's irqchip, a device, the machine
 * configuration) writes and reads back in the same order.
 *
 * File layout (all little-endian):
 *   header   magic "EMBRSNAP" (8 bytes), u16 major, u16 minor, u32 section count,
 *            u64 payload length
 *   payload  sections, each: name (16 bytes, NUL-padded), u32 instance, u32 flags (0),
 *            u64 length, then length bytes of fields
 *   trailer  u64 CRC-64 (ECMA-182, liblzma's lzma_crc64) of header and payload
 *
 * Versioning: a reader accepts its own major version and any minor version
 * <= its own (a newer minor may carry sections or fields it does not know);
 * fields are only ever appended to a section within a major version, and a
 * reader ignores what is left at the end of a section it knows (older
 * sections are shorter: sr_*() past the end fail, so new fields need a
 * minor-version check by their reader).
 *
 * Errors: the writer is sticky (out of memory at any point: state_write_finish
 * fails); the reader is sticky too: a read past the section's end sets the
 * error, returns zeros, and every later read does nothing, so restore code
 * reads its fields in sequence and checks sr_ok() once at the end. Every
 * length and count read from a file is bounded by its caller before use.
 */
#ifndef EMBER_CORE_STATE_H
#define EMBER_CORE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STATE_MAGIC	    "EMBRSNAP"
#define STATE_VERSION_MAJOR 1
#define STATE_VERSION_MINOR 0
#define STATE_NAME_MAX	    16 /* section names: at most 15 characters + NUL */
#define STATE_ERR_MAX	    256

struct state_writer {
	uint8_t *buf;
	size_t len, cap;
	uint32_t nr_sections;
	size_t section_at; /* offset of the open section's header; 0: none open */
	bool oom;
};

void state_write_init(struct state_writer *w);
/* Opens a section; the previous one must be closed. */
void state_section_begin(struct state_writer *w, const char *name, uint32_t instance);
void state_section_end(struct state_writer *w);
void sw_u8(struct state_writer *w, uint8_t v);
void sw_u16(struct state_writer *w, uint16_t v);
void sw_u32(struct state_writer *w, uint32_t v);
void sw_u64(struct state_writer *w, uint64_t v);
void sw_bool(struct state_writer *w, bool v);
/* Raw bytes (a KVM struct, a buffer): the reader must know or bound the length. */
void sw_bytes(struct state_writer *w, const void *p, size_t n);
/* A length-prefixed blob (u32 length, then the bytes). */
void sw_blob(struct state_writer *w, const void *p, uint32_t n);
/*
 * Writes the header and trailer: *out (malloc'd, the caller frees) and *len
 * are the whole file. 0, or -ENOMEM.
 */
int state_write_finish(struct state_writer *w, uint8_t **out, size_t *len);
void state_write_free(struct state_writer *w);

/* A parsed state file: the section table of a buffer the caller keeps. */
struct state_section {
	char name[STATE_NAME_MAX];
	uint32_t instance;
	const uint8_t *data;
	uint64_t len;
};

struct state_file {
	uint16_t major, minor;
	struct state_section *sections; /* malloc'd */
	uint32_t nr_sections;
};

/*
 * Checks and indexes @len bytes at @data: magic, major version, minor version
 * (newer: refused), the checksum, every section inside the payload, the
 * section count, the trailer. 0, or -EINVAL with one line in @err naming the
 * problem ("bad magic", "unsupported version 2.0 (this ember reads 1.0 to
 * 1.0)", "checksum mismatch", "truncated: ..."); the caller adds the file's
 * name. Never reads outside [data, data + len).
 */
int state_file_parse(struct state_file *f, const void *data, size_t len, char err[STATE_ERR_MAX]);
void state_file_free(struct state_file *f);

struct state_reader {
	const uint8_t *p;
	uint64_t len, off;
	bool err;
};

/* The section @name/@instance, or -ENOENT. */
int state_section_find(const struct state_file *f, const char *name, uint32_t instance,
		       struct state_reader *r);
uint8_t sr_u8(struct state_reader *r);
uint16_t sr_u16(struct state_reader *r);
uint32_t sr_u32(struct state_reader *r);
uint64_t sr_u64(struct state_reader *r);
bool sr_bool(struct state_reader *r); /* a byte other than 0 or 1 is an error */
void sr_bytes(struct state_reader *r, void *dst, size_t n);
/* A blob of at most @max bytes into @dst; returns its length (0 and the error if longer). */
uint32_t sr_blob(struct state_reader *r, void *dst, uint32_t max);
/* No read went past the section's end, no value was out of range. */
bool sr_ok(const struct state_reader *r);
/* A restore found a value it cannot accept (a queue size, an index): makes sr_ok() false. */
void sr_fail(struct state_reader *r);

#endif
