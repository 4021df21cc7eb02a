// SPDX-License-Identifier: Apache-2.0
#include "core/guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Lays @ram_size bytes at @p out around the MMIO gap [@gap_start, @gap_end). */
static void layout(struct guest_mem *gm, void *p, uint64_t ram_size, uint64_t gap_start,
		   uint64_t gap_end)
{
	uint64_t low = ram_size < gap_start ? ram_size : gap_start;

	gm->mapping = p;
	gm->mapping_size = ram_size;
	gm->regions[0] = (struct guest_region){0, low, p};
	gm->nr_regions = 1;
	if (ram_size > low) {
		gm->regions[1] = (struct guest_region){gap_end, ram_size - low, (uint8_t *)p + low};
		gm->nr_regions = 2;
	}
	gm->ram_size = ram_size;
}

static bool bad_size(uint64_t ram_size, uint64_t gap_start, uint64_t gap_end)
{
	return !ram_size || ram_size > (1ULL << 46) || (ram_size & 0xfff) || gap_end < gap_start;
}

int guest_mem_init_hotplug(struct guest_mem *gm, int fd, uint64_t ram_size, uint64_t gap_start,
			   uint64_t gap_end, bool thp, uint64_t hp_gpa, uint64_t hp_size)
{
	uint64_t total = ram_size + hp_size;
	/* The hotplug region lies above RAM and the MMIO gap. */
	uint64_t top = ram_size <= gap_start ? gap_end : gap_end + (ram_size - gap_start);
	void *p;

	memset(gm, 0, sizeof(*gm));
	if (bad_size(ram_size, gap_start, gap_end) || (hp_size & 0xfff) || (hp_gpa & 0xfff) ||
	    hp_size > (1ULL << 46) || (hp_size && hp_gpa < top))
		return -EINVAL;
	if (fd >= 0) {
		/* Private: the guest's writes go to its own copies of the pages, never to the file.
		 */
		p = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, 0);
	} else {
		/*
		 * MAP_NORESERVE: the guest's RAM costs host memory only once
		 * touched, which is what keeps a microVM's footprint at what the
		 * guest uses. (Huge pages are reserved instead, in
		 * guest_mem_init_hugetlb: a pool that runs short must fail the
		 * start, not SIGBUS the guest's first touch later.)
		 */
		p = mmap(NULL, total, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (p == MAP_FAILED)
		return -errno;
	if (fd < 0 && thp && madvise(p, total, MADV_HUGEPAGE) < 0) {
		int err = -errno;

		munmap(p, total);
		return err;
	}
	/* Guest RAM is never dumped with the VMM: it can hold tenant secrets. */
	madvise(p, total, MADV_DONTDUMP);
	layout(gm, p, ram_size, gap_start, gap_end);
	if (hp_size) {
		gm->regions[gm->nr_regions++] =
		    (struct guest_region){hp_gpa, hp_size, (uint8_t *)p + ram_size};
		gm->has_hotplug = true;
		gm->mapping_size = total;
		gm->ram_size = total;
	}
	gm->untouched_is_zero = fd < 0;
	return 0;
}

int guest_mem_init_hugetlb(struct guest_mem *gm, uint64_t ram_size, uint64_t gap_start,
			   uint64_t gap_end)
{
	void *p;

	memset(gm, 0, sizeof(*gm));
	if (bad_size(ram_size, gap_start, gap_end) || (ram_size & ((2ULL << 20) - 1)))
		return -EINVAL;
	p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	madvise(p, ram_size, MADV_DONTDUMP);
	layout(gm, p, ram_size, gap_start, gap_end);
	return 0;
}

int guest_mem_init(struct guest_mem *gm, uint64_t ram_size, uint64_t gap_start, uint64_t gap_end,
		   bool thp)
{
	return guest_mem_init_hotplug(gm, -1, ram_size, gap_start, gap_end, thp, 0, 0);
}

int guest_mem_init_file(struct guest_mem *gm, int fd, uint64_t ram_size, uint64_t gap_start,
			uint64_t gap_end)
{
	return guest_mem_init_hotplug(gm, fd, ram_size, gap_start, gap_end, false, 0, 0);
}

int guest_mem_init_fake(struct guest_mem *gm, const struct guest_region *regions, unsigned int n)
{
	memset(gm, 0, sizeof(*gm));
	if (!n || n > GUEST_MEM_MAX_REGIONS)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t end;

		if (!regions[i].size ||
		    __builtin_add_overflow(regions[i].gpa, regions[i].size, &end))
			return -EINVAL;
		if (i && regions[i].gpa < regions[i - 1].gpa + regions[i - 1].size)
			return -EINVAL;
		gm->regions[i] = regions[i];
		gm->ram_size += regions[i].size;
	}
	gm->nr_regions = n;
	return 0;
}

#define PAGE_SHIFT 12

static uint64_t bitmap_words(uint64_t size)
{
	return ((size >> PAGE_SHIFT) + 63) / 64;
}

void guest_mem_destroy(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < GUEST_MEM_MAX_REGIONS; i++)
		free(gm->dirty[i]);
	free(gm->hp_present);
	if (gm->mapping)
		munmap(gm->mapping, gm->mapping_size);
	memset(gm, 0, sizeof(*gm));
}

int gm_hotplug_slots(struct guest_mem *gm, uint64_t slot_size)
{
	uint64_t size;

	if (!gm->has_hotplug)
		return -EINVAL;
	size = gm->regions[gm->nr_regions - 1].size;
	if (!slot_size || size % slot_size)
		return -EINVAL;
	free(gm->hp_present);
	gm->hp_present = calloc((size / slot_size + 63) / 64, sizeof(uint64_t));
	if (!gm->hp_present)
		return -ENOMEM;
	gm->hp_slot_size = slot_size;
	return 0;
}

void gm_hotplug_slot_set(struct guest_mem *gm, uint64_t slot, bool present)
{
	uint64_t bit = 1ULL << (slot % 64);

	if (!gm->hp_present || slot >= gm->regions[gm->nr_regions - 1].size / gm->hp_slot_size)
		return;
	if (present)
		__atomic_fetch_or(&gm->hp_present[slot / 64], bit, __ATOMIC_RELEASE);
	else
		__atomic_fetch_and(&gm->hp_present[slot / 64], ~bit, __ATOMIC_RELEASE);
}

/* Every slot of [off, last] (offsets in the hotplug region) present. */
static bool hotplug_present(const struct guest_mem *gm, uint64_t off, uint64_t last)
{
	for (uint64_t s = off / gm->hp_slot_size; s <= last / gm->hp_slot_size; s++)
		if (!(__atomic_load_n(&gm->hp_present[s / 64], __ATOMIC_ACQUIRE) &
		      (1ULL << (s % 64))))
			return false;
	return true;
}

void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint64_t last;

	if (!len || __builtin_add_overflow(gpa, len - 1, &last))
		return NULL;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];

		/* Both ends inside the same region: a range never spans a gap. */
		if (gpa < r->gpa || last - r->gpa >= r->size)
			continue;
		if (gm->hp_present && i == gm->nr_regions - 1 &&
		    !hotplug_present(gm, gpa - r->gpa, last - r->gpa))
			return NULL;
		return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

int gm_read(const struct guest_mem *gm, void *dst, uint64_t gpa, uint64_t len)
{
	const void *src = gm_ptr(gm, gpa, len);

	if (!src)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len)
{
	void *dst = gm_ptr(gm, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	gm_mark_dirty(gm, dst, len);
	return 0;
}

int gm_zero(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	uint8_t *dst = gm_ptr(gm, gpa, len);
	uintptr_t lo, hi;

	if (!dst)
		return -EFAULT;
	/*
	 * untouched_is_zero is only ever set for 4 KiB anonymous private pages (THP
	 * or not): hugetlb's MADV_DONTNEED would round to 2 MiB and leave a tail.
	 */
	lo = ((uintptr_t)dst + (1UL << PAGE_SHIFT) - 1) & ~(uintptr_t)((1UL << PAGE_SHIFT) - 1);
	hi = ((uintptr_t)dst + len) & ~(uintptr_t)((1UL << PAGE_SHIFT) - 1);
	if (gm->untouched_is_zero && lo < hi && !madvise((void *)lo, hi - lo, MADV_DONTNEED)) {
		memset(dst, 0, lo - (uintptr_t)dst);
		memset((void *)hi, 0, (uintptr_t)dst + len - hi);
	} else {
		memset(dst, 0, len);
	}
	gm_mark_dirty(gm, dst, len);
	return 0;
}

int gm_track_dirty(struct guest_mem *gm)
{
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		if (!gm->dirty[i])
			gm->dirty[i] = calloc(bitmap_words(gm->regions[i].size), sizeof(uint64_t));
		if (!gm->dirty[i])
			return -ENOMEM;
	}
	return 0;
}

void gm_mark_dirty(const struct guest_mem *gm, const void *hva, uint64_t len)
{
	uintptr_t p = (uintptr_t)hva;

	if (!len || !gm_tracking_dirty(gm))
		return;
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		uint64_t off = p - (uintptr_t)r->hva, first, last;

		if (p < (uintptr_t)r->hva || off >= r->size)
			continue;
		first = off >> PAGE_SHIFT;
		last = (off + (len < r->size - off ? len : r->size - off) - 1) >> PAGE_SHIFT;
		/*
		 * Atomic, so that marks from two threads never lose each other's bits;
		 * relaxed: a snapshot reads the bitmap with the VM paused, after the
		 * writes it covers (the pause synchronizes with the devices).
		 */
		for (uint64_t pg = first; pg <= last; pg++)
			__atomic_fetch_or(&gm->dirty[i][pg / 64], 1ULL << (pg % 64),
					  __ATOMIC_RELAXED);
		return;
	}
}

void gm_dirty_take(const struct guest_mem *gm, unsigned int r, uint64_t *bitmap)
{
	uint64_t *d;

	if (r >= gm->nr_regions || !gm->dirty[r])
		return;
	d = gm->dirty[r];
	for (uint64_t w = 0; w < bitmap_words(gm->regions[r].size); w++)
		if (__atomic_load_n(&d[w], __ATOMIC_RELAXED))
			bitmap[w] |= __atomic_exchange_n(&d[w], 0, __ATOMIC_RELAXED);
}

uint64_t gm_end(const struct guest_mem *gm)
{
	const struct guest_region *r;

	if (!gm->nr_regions)
		return 0;
	r = &gm->regions[gm->nr_regions - 1];
	return r->gpa + r->size;
}
