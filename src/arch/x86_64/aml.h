/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A minimal AML encoder (ACPI 6.3 section 20) and resource descriptors
 * (section 6.4): enough for the DSDT's devices (acpi.c). Bytes go to a bounded
 * buffer; an overflow is sticky, so a builder checks it once at the end.
 */
#ifndef EMBER_ARCH_X86_64_AML_H
#define EMBER_ARCH_X86_64_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};

/* Ends the package (Scope, Device, Buffer) begun at @start: writes its PkgLength. */
void aml_pkg_close(struct aml *a, size_t start);
/* ComputationalData: the shortest encoding of an integer. */
void aml_integer(struct aml *a, uint64_t v);
/* A NUL-terminated ASCII string. */
void aml_string(struct aml *a, const char *s);
/* EisaId ("PNP0501"), as iasl encodes it. */
void aml_eisa_id(struct aml *a, const char id[8]);
/* Name (seg, ...): the caller appends the DataRefObject. */
void aml_name(struct aml *a, const char seg[4]);
/* Scope (\seg) { ... } and Device (seg) { ... }: return the start for aml_pkg_close(). */
size_t aml_scope_root(struct aml *a, const char seg[4]);
size_t aml_device(struct aml *a, const char seg[4]);

/* Package (n) { ... }: the caller appends @n elements, then aml_pkg_close(). */
size_t aml_package(struct aml *a, uint8_t n);
/* Method (seg, nargs, NotSerialized) { ... }: returns the start for aml_pkg_close(). */
size_t aml_method(struct aml *a, const char seg[4], unsigned int nargs);
/* Notify (\seg1.seg2, value): a device's notification, by its path from the root. */
void aml_notify_root(struct aml *a, const char seg1[4], const char seg2[4], uint64_t value);

/* Resource descriptors for one ResourceTemplate; small and fixed, never more than b holds. */
struct res {
	uint8_t b[64];
	size_t len;
};

/* IO (Decode16, port, port, 1, len): a fixed port range. */
void res_io(struct res *r, uint16_t port, uint8_t len);
/* IRQNoFlags () {irq}: ISA semantics, edge-triggered, active high, exclusive. */
void res_irq_noflags(struct res *r, unsigned int irq);
/* Memory32Fixed (ReadWrite, base, size). */
void res_memory32_fixed(struct res *r, uint32_t base, uint32_t size);

/* Extended Interrupt descriptor flags. */
#define RES_INT_CONSUMER   (1u << 0)
#define RES_INT_EDGE	   (1u << 1)
#define RES_INT_ACTIVE_LOW (1u << 2)
#define RES_INT_SHARED	   (1u << 3)

/* Interrupt (..., flags) {gsi}: one interrupt number. */
void res_interrupt(struct res *r, uint8_t flags, uint32_t gsi);

/* ResourceTemplate () {...}: @r's descriptors and the End Tag, as a Buffer. */
void aml_resource_template(struct aml *a, struct res *r);

#endif
