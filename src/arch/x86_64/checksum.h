/* SPDX-License-Identifier: Apache-2.0 */
/* The firmware tables' checksum, shared by the MP table and the ACPI tables. */
#ifndef EMBER_ARCH_X86_64_CHECKSUM_H
#define EMBER_ARCH_X86_64_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* The byte that makes the @len bytes at @p, itself included, sum to zero (mod 256). */
static inline uint8_t table_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	while (len--)
		sum += *b++;
	return (uint8_t)-sum;
}

#endif
