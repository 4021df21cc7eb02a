// SPDX-License-Identifier: Apache-2.0
/*
 * A snapshot's memory file: guest memory written page run by page run (see
 * snapshot.h). Runs of pages to write are coalesced into one pwrite() each,
 * so a Full snapshot of a mostly idle guest costs one pass over its memory
 * and a few writes.
 */
#include "vmm/snapshot.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define PAGE 4096ULL

size_t snapshot_bitmap_bytes(uint64_t region_size)
{
	uint64_t pages = (region_size + PAGE - 1) / PAGE;

	return (size_t)((pages + 63) / 64 * 8);
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)(const void *)p;
	uint64_t acc = 0;

	for (size_t i = 0; i < PAGE / 8; i++)
		acc |= w[i];
	return !acc;
}

static int write_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

int snapshot_mem_write(const struct guest_mem *gm, int fd, uint64_t *const *dirty)
{
	const uint8_t *base = gm->mapping;

	for (unsigned int r = 0; r < gm->nr_regions; r++) {
		const struct guest_region *reg = &gm->regions[r];
		uint64_t pages = reg->size / PAGE, run = 0, run_len = 0;
		uint64_t off0 = (uint64_t)(reg->hva - base);

		for (uint64_t pg = 0; pg <= pages; pg++) {
			bool take = false;
			int ret;

			if (pg < pages)
				take = dirty ? (dirty[r][pg / 64] >> (pg % 64)) & 1
					     : !page_is_zero(reg->hva + pg * PAGE);
			if (take) {
				if (!run_len)
					run = pg;
				run_len++;
				continue;
			}
			if (!run_len)
				continue;
			ret =
			    write_all(fd, reg->hva + run * PAGE, run_len * PAGE, off0 + run * PAGE);
			if (ret)
				return ret;
			run_len = 0;
		}
	}
	return 0;
}
