// SPDX-License-Identifier: Apache-2.0
#include "core/bus.h"

#include <errno.h>
#include <string.h>

int bus_register(struct bus *bus, uint64_t base, uint64_t len, bus_io_fn fn, void *opaque,
		 const char *name)
{
	uint64_t end;
	unsigned int pos;

	if (!len || !fn || __builtin_add_overflow(base, len - 1, &end))
		return -EINVAL;
	if (bus->nr == BUS_MAX_RANGES)
		return -ENOSPC;
	for (pos = 0; pos < bus->nr; pos++) {
		const struct bus_range *r = &bus->ranges[pos];

		if (base <= r->base + (r->len - 1) && r->base <= end)
			return -EEXIST;
		if (r->base > base)
			break;
	}
	memmove(&bus->ranges[pos + 1], &bus->ranges[pos], (bus->nr - pos) * sizeof(bus->ranges[0]));
	bus->ranges[pos] = (struct bus_range){base, len, fn, opaque, name};
	bus->nr++;
	return 0;
}

const struct bus_range *bus_find(const struct bus *bus, uint64_t addr, uint32_t len)
{
	unsigned int lo = 0, hi = bus->nr;

	if (!len)
		return NULL;
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (addr < r->base) {
			hi = mid;
		} else if (addr - r->base >= r->len) {
			lo = mid + 1;
		} else {
			/* The whole access must fit: no device sees bytes past its end. */
			return len <= r->len - (addr - r->base) ? r : NULL;
		}
	}
	return NULL;
}

bool bus_access(const struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
	const struct bus_range *r = bus_find(bus, addr, len);

	if (!r) {
		if (!is_write)
			memset(data, 0xff, len);
		return false;
	}
	r->fn(r->opaque, addr - r->base, data, len, is_write);
	return true;
}
