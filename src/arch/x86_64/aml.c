// SPDX-License-Identifier: Apache-2.0
/*
 * A minimal AML encoder (ACPI 6.3 section 20) and the resource descriptors
 * (section 6.4) the DSDT's devices need: what acpi.c writes the DSDT with.
 */
#include "arch/x86_64/aml.h"

#include "arch/x86_64/checksum.h"

#include <string.h>

#define AML_ZERO_OP	   0x00
#define AML_ONE_OP	   0x01
#define AML_NAME_OP	   0x08
#define AML_BYTE_PREFIX	   0x0a
#define AML_WORD_PREFIX	   0x0b
#define AML_DWORD_PREFIX   0x0c
#define AML_STRING_PREFIX  0x0d
#define AML_QWORD_PREFIX   0x0e
#define AML_SCOPE_OP	   0x10
#define AML_BUFFER_OP	   0x11
#define AML_PACKAGE_OP	   0x12
#define AML_METHOD_OP	   0x14
#define AML_DUAL_NAME	   0x2e
#define AML_NOTIFY_OP	   0x86
#define AML_EXT_OP_PREFIX  0x5b
#define AML_EXT_DEVICE_OP  0x82
#define AML_ROOT_CHAR	   '\\'
#define AML_PKG_LENGTH_MAX ((1u << 28) - 1)

static void aml_put(struct aml *a, const void *src, size_t n)
{
	if (a->overflow || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memcpy(a->p + a->len, src, n);
	a->len += n;
}

static void aml_u8(struct aml *a, uint8_t v)
{
	aml_put(a, &v, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned int n)
{
	uint8_t b[8];

	for (unsigned int i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	aml_put(a, b, n);
}

/*
 * PkgLength counts its own bytes, so its size is only known once the body is
 * written: a package is opened at the current offset and, when closed, its
 * body is moved up to make room for the 1 to 4 byte PkgLength in front.
 */
static size_t aml_pkg_open(const struct aml *a)
{
	return a->len;
}

void aml_pkg_close(struct aml *a, size_t start)
{
	size_t body = a->len - start, n, total;

	if (a->overflow)
		return;
	if (body + 1 < (1u << 6))
		n = 1; /* bits 5-0 */
	else if (body + 2 < (1u << 12))
		n = 2; /* lead byte bits 3-0, then 8 bits per byte */
	else if (body + 3 < (1u << 20))
		n = 3;
	else if (body + 4 <= AML_PKG_LENGTH_MAX)
		n = 4;
	else
		n = 0;
	if (!n || n > a->cap - a->len) {
		a->overflow = true;
		return;
	}
	memmove(a->p + start + n, a->p + start, body);
	total = body + n;
	if (n == 1) {
		a->p[start] = (uint8_t)total;
	} else {
		/* Lead byte: bits 7-6 the count of following bytes, 3-0 the low nibble. */
		a->p[start] = (uint8_t)(((n - 1) << 6) | (total & 0xf));
		for (size_t i = 1; i < n; i++)
			a->p[start + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	}
	a->len += n;
}

/* ComputationalData: the shortest encoding of an integer. */
void aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0) {
		aml_u8(a, AML_ZERO_OP);
	} else if (v == 1) {
		aml_u8(a, AML_ONE_OP);
	} else if (v <= 0xff) {
		aml_u8(a, AML_BYTE_PREFIX);
		aml_le(a, v, 1);
	} else if (v <= 0xffff) {
		aml_u8(a, AML_WORD_PREFIX);
		aml_le(a, v, 2);
	} else if (v <= 0xffffffff) {
		aml_u8(a, AML_DWORD_PREFIX);
		aml_le(a, v, 4);
	} else {
		aml_u8(a, AML_QWORD_PREFIX);
		aml_le(a, v, 8);
	}
}

void aml_string(struct aml *a, const char *s)
{
	aml_u8(a, AML_STRING_PREFIX);
	aml_put(a, s, strlen(s) + 1); /* ASCII, NUL-terminated */
}

/*
 * EisaId ("PNP0501"): three letters of 5 bits ('A' = 1) then four hex digits,
 * packed big-endian into a DWord; iasl always emits it with DWordPrefix.
 */
void aml_eisa_id(struct aml *a, const char id[8])
{
	uint32_t v = 0;

	for (int i = 0; i < 3; i++)
		v = (v << 5) | ((uint32_t)(id[i] - '@') & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];

		v = (v << 4) | (uint32_t)(c <= '9' ? c - '0' : c - 'A' + 10);
	}
	aml_u8(a, AML_DWORD_PREFIX);
	aml_le(a, __builtin_bswap32(v), 4);
}

/* Name (seg, ...): the caller appends the DataRefObject. */
void aml_name(struct aml *a, const char seg[4])
{
	aml_u8(a, AML_NAME_OP);
	aml_put(a, seg, 4);
}

/* Scope (\seg) { ... }: returns the package start for aml_pkg_close(). */
size_t aml_scope_root(struct aml *a, const char seg[4])
{
	size_t start;

	aml_u8(a, AML_SCOPE_OP);
	start = aml_pkg_open(a);
	aml_u8(a, AML_ROOT_CHAR);
	aml_put(a, seg, 4);
	return start;
}

/* Device (seg) { ... }: returns the package start for aml_pkg_close(). */
size_t aml_device(struct aml *a, const char seg[4])
{
	size_t start;

	aml_u8(a, AML_EXT_OP_PREFIX);
	aml_u8(a, AML_EXT_DEVICE_OP);
	start = aml_pkg_open(a);
	aml_put(a, seg, 4);
	return start;
}

/* Package (n) { ... }: the caller appends @n elements, then aml_pkg_close(). */
size_t aml_package(struct aml *a, uint8_t n)
{
	size_t start;

	aml_u8(a, AML_PACKAGE_OP);
	start = aml_pkg_open(a);
	aml_u8(a, n); /* NumElements */
	return start;
}

/* Method (seg, nargs, NotSerialized) { ... }: returns the start for aml_pkg_close(). */
size_t aml_method(struct aml *a, const char seg[4], unsigned int nargs)
{
	size_t start;

	aml_u8(a, AML_METHOD_OP);
	start = aml_pkg_open(a);
	aml_put(a, seg, 4);
	aml_u8(a, (uint8_t)(nargs & 7)); /* MethodFlags: ArgCount, not serialized, SyncLevel 0 */
	return start;
}

/* Notify (\seg1.seg2, value). */
void aml_notify_root(struct aml *a, const char seg1[4], const char seg2[4], uint64_t value)
{
	aml_u8(a, AML_NOTIFY_OP);
	aml_u8(a, AML_ROOT_CHAR);
	aml_u8(a, AML_DUAL_NAME);
	aml_put(a, seg1, 4);
	aml_put(a, seg2, 4);
	aml_integer(a, value);
}

static void res_put(struct res *r, const uint8_t *d, size_t n)
{
	/* The templates below are fixed and small: never more than b holds. */
	if (n <= sizeof(r->b) - r->len) {
		memcpy(r->b + r->len, d, n);
		r->len += n;
	}
}

/* IO (Decode16, port, port, 1, len): a fixed port range. */
void res_io(struct res *r, uint16_t port, uint8_t len)
{
	const uint8_t d[] = {
	    0x47, 0x01, (uint8_t)port, (uint8_t)(port >> 8), (uint8_t)port, (uint8_t)(port >> 8),
	    0x01, len};

	res_put(r, d, sizeof(d));
}

/* IRQNoFlags () {irq}: ISA semantics, edge-triggered, active high, exclusive. */
void res_irq_noflags(struct res *r, unsigned int irq)
{
	const uint16_t mask = (uint16_t)(1u << irq);
	const uint8_t d[] = {0x22, (uint8_t)mask, (uint8_t)(mask >> 8)};

	res_put(r, d, sizeof(d));
}

/* Memory32Fixed (ReadWrite, base, size). */
void res_memory32_fixed(struct res *r, uint32_t base, uint32_t size)
{
	const uint8_t d[] = {0x86,
			     0x09,
			     0x00,
			     0x01, /* read-write */
			     (uint8_t)base,
			     (uint8_t)(base >> 8),
			     (uint8_t)(base >> 16),
			     (uint8_t)(base >> 24),
			     (uint8_t)size,
			     (uint8_t)(size >> 8),
			     (uint8_t)(size >> 16),
			     (uint8_t)(size >> 24)};

	res_put(r, d, sizeof(d));
}

/* Interrupt (..., flags) {gsi}: one interrupt number. */
void res_interrupt(struct res *r, uint8_t flags, uint32_t gsi)
{
	const uint8_t d[] = {0x89,
			     0x06,
			     0x00,
			     flags,
			     0x01, /* one interrupt */
			     (uint8_t)gsi,
			     (uint8_t)(gsi >> 8),
			     (uint8_t)(gsi >> 16),
			     (uint8_t)(gsi >> 24)};

	res_put(r, d, sizeof(d));
}

/*
 * ResourceTemplate () {...}: a Buffer of the descriptors and the End Tag,
 * whose checksum byte makes the whole template sum to zero.
 */
void aml_resource_template(struct aml *a, struct res *r)
{
	const uint8_t end[] = {0x79, 0x00};
	size_t start;

	res_put(r, end, sizeof(end));
	r->b[r->len - 1] = table_checksum(r->b, r->len);
	aml_u8(a, AML_BUFFER_OP);
	start = aml_pkg_open(a);
	aml_integer(a, r->len); /* BufferSize */
	aml_put(a, r->b, r->len);
	aml_pkg_close(a, start);
}
