/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One bus model for port I/O and MMIO. A device registers a range and one
 * handler; an access is routed by an interval lookup. Ranges are registered
 * before the vCPUs start and never change afterwards, so lookups take no lock.
 * Handlers run on vCPU threads: a device with state shared with the event loop
 * locks it itself.
 */
#ifndef EMBER_VMM_BUS_H
#define EMBER_VMM_BUS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * @offset is relative to the registered base. @data holds @len (1, 2, 4 or 8)
 * bytes: filled by the handler on a read, holding the guest's value on a write.
 */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data, uint32_t len,
			  bool is_write);

struct bus_range {
	uint64_t base;
	uint64_t len;
	bus_io_fn fn;
	void *opaque;
	const char *name;
};

#define BUS_MAX_RANGES 64

struct bus {
	struct bus_range ranges[BUS_MAX_RANGES]; /* sorted by base, disjoint */
	unsigned int nr;
};

/* -EINVAL on a zero or wrapping range, -EEXIST on overlap, -ENOSPC when full. */
__attribute__((warn_unused_result)) int bus_register(struct bus *bus, uint64_t base, uint64_t len,
						     bus_io_fn fn, void *opaque, const char *name);

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len);

/*
 * Dispatches an access. Returns false when no device backs the whole access;
 * then a read's @data is filled with 0xff bytes (an open bus), a write is
 * dropped, and the caller counts it.
 */
bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);

#endif
