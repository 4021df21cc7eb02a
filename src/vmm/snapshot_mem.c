// SPDX-License-Identifier: Apache-2.0
/*
 * A snapshot's memory file: guest memory written page run by page run (see
 * snapshot.h). Runs of pages to write are coalesced into one pwrite() each,
 * so a Full snapshot of a mostly idle guest costs one pass over its memory
 * and a few writes.
 */
#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
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

/*
 * /proc/self/pagemap, read in chunks: which pages of anonymous guest memory
 * the host never mapped (neither present nor swapped: zero, not worth
 * reading; reading each would map the zero page, ~1 s per GiB here).
 */
struct pagemap {
	int fd; /* -1: unknown, every page is looked at */
	uint64_t first, n;
	uint64_t e[512];
};

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)

static bool never_touched(struct pagemap *pm, const uint8_t *p)
{
	uint64_t vpn = (uintptr_t)p / PAGE;

	if (pm->fd < 0)
		return false;
	if (vpn < pm->first || vpn >= pm->first + pm->n) {
		ssize_t r = pread(pm->fd, pm->e, sizeof(pm->e), (off_t)(vpn * sizeof(pm->e[0])));

		if (r < (ssize_t)sizeof(pm->e[0])) {
			pm->fd = -1; /* no pagemap after all: look at every page */
			return false;
		}
		pm->first = vpn;
		pm->n = (uint64_t)r / sizeof(pm->e[0]);
	}
	return !(pm->e[vpn - pm->first] & (PM_PRESENT | PM_SWAPPED));
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

/* Region @r: runs of pages to write, each coalesced into one write. */
static int write_region(const struct guest_mem *gm, unsigned int r, int fd, uint64_t *const *dirty,
			struct pagemap *pm)
{
	const struct guest_region *reg = &gm->regions[r];
	uint64_t pages = reg->size / PAGE, run = 0, run_len = 0;
	uint64_t off0 = (uint64_t)(reg->hva - (const uint8_t *)gm->mapping);

	for (uint64_t pg = 0; pg <= pages; pg++) {
		const uint8_t *p = reg->hva + pg * PAGE;
		bool take = false;
		int ret;

		if (pg < pages && dirty)
			take = (dirty[r][pg / 64] >> (pg % 64)) & 1;
		else if (pg < pages)
			take = !never_touched(pm, p) && !page_is_zero(p);
		if (take) {
			if (!run_len)
				run = pg;
			run_len++;
			continue;
		}
		if (!run_len)
			continue;
		ret = write_all(fd, reg->hva + run * PAGE, run_len * PAGE, off0 + run * PAGE);
		if (ret)
			return ret;
		run_len = 0;
	}
	return 0;
}

int snapshot_mem_write(const struct guest_mem *gm, int fd, uint64_t *const *dirty, int pagemap_fd)
{
	struct pagemap pm = {.fd = -1};
	int ret = 0;

	/* A Full of anonymous memory: pages never touched are skipped unread. */
	if (!dirty && gm->untouched_is_zero)
		pm.fd = pagemap_fd;
	for (unsigned int r = 0; !ret && r < gm->nr_regions; r++)
		ret = write_region(gm, r, fd, dirty, &pm);
	return ret;
}
