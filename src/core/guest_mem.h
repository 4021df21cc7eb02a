/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guest physical memory: a few regions of host memory (anonymous, or a
 * snapshot's memory file mapped privately), and the one checked accessor
 * every guest address goes through. The regions lie back to back in one
 * mapping, so a region's offset in it is its offset in a memory file.
 */
#ifndef EMBER_CORE_GUEST_MEM_H
#define EMBER_CORE_GUEST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GUEST_MEM_MAX_REGIONS 4

struct guest_region {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

struct guest_mem {
	struct guest_region regions[GUEST_MEM_MAX_REGIONS];
	unsigned int nr_regions;
	uint64_t ram_size; /* sum of region sizes (the hotplug region's included) */
	/*
	 * The last region is virtio-mem's: not RAM at boot (no e820 entry,
	 * nothing loaded there); the guest's driver adds what it plugs.
	 */
	bool has_hotplug;
	void *mapping; /* one host mapping backs every region */
	size_t mapping_size;
	/*
	 * Anonymous memory whose untouched pages are zero (guest_mem_init): a page
	 * the host never mapped holds nothing. False for a memory file's mapping and
	 * for memory a userfaultfd fills (its missing pages hold the snapshot's data).
	 */
	bool untouched_is_zero;
	/*
	 * ember's own writes into each region, a bit per 4 KiB page (KVM_GET_DIRTY_LOG's
	 * layout), while dirty pages are tracked (gm_track_dirty); else NULL. KVM's
	 * dirty log sees only the guest's writes: a Diff snapshot merges both.
	 */
	uint64_t *dirty[GUEST_MEM_MAX_REGIONS];
	/*
	 * The hotplug region in slots (gm_hotplug_slots): a bit per slot of
	 * hp_slot_size bytes, set while the guest has the slot (virtio-mem plugged
	 * a block of it). gm_ptr refuses the rest, so that no device reads or
	 * writes memory the guest was not given. NULL: the whole region is open.
	 */
	uint64_t *hp_present;
	uint64_t hp_slot_size;
};

/*
 * Maps @ram_size bytes of anonymous memory (MAP_NORESERVE: host pages are
 * allocated on the guest's first touch) and lays it out around the
 * architecture's MMIO gap [@gap_start, @gap_end): RAM from 0 up to the gap, the
 * rest from @gap_end (x86: 3 GiB and 4 GiB, arch/x86_64/layout.h). @thp asks
 * for transparent huge pages. Returns 0 or a negative errno.
 */
int guest_mem_init(struct guest_mem *gm, uint64_t ram_size, uint64_t gap_start, uint64_t gap_end,
		   bool thp);

/*
 * The same layout in 2 MiB hugetlbfs pages (MAP_HUGETLB), reserved at once:
 * -ENOMEM when the host's pool has too few free. @ram_size: a multiple of 2 MiB.
 */
int guest_mem_init_hugetlb(struct guest_mem *gm, uint64_t ram_size, uint64_t gap_start,
			   uint64_t gap_end);

/*
 * The same layout over the file @fd (a snapshot's memory file, @ram_size
 * bytes) mapped MAP_PRIVATE: copy-on-write, so the file is never written and
 * every process restored from it shares its page cache; a page loads on the
 * guest's first touch. @fd may be closed afterwards. 0 or a negative errno.
 */
int guest_mem_init_file(struct guest_mem *gm, int fd, uint64_t ram_size, uint64_t gap_start,
			uint64_t gap_end);

/*
 * Either of the above (@fd < 0: anonymous, with @thp) with a hotplug region
 * (virtio-mem) of @hp_size bytes at @hp_gpa (above RAM) after RAM in the same
 * mapping, so a memory file holds it after RAM too. @hp_size 0: none.
 */
int guest_mem_init_hotplug(struct guest_mem *gm, int fd, uint64_t ram_size, uint64_t gap_start,
			   uint64_t gap_end, bool thp, uint64_t hp_gpa, uint64_t hp_size);

/*
 * Builds a guest_mem over caller-owned buffers (unit tests: fake guest memory).
 * Regions must be sorted and disjoint.
 */
int guest_mem_init_fake(struct guest_mem *gm, const struct guest_region *regions, unsigned int n);

void guest_mem_destroy(struct guest_mem *gm);

/*
 * The checked accessor: a host pointer to [gpa, gpa + len) if that whole
 * range lies inside one region, else NULL. Overflow of gpa + len is checked.
 * len 0 is refused (a zero-length guest buffer is always a caller bug).
 */
void *gm_ptr(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/*
 * Splits the hotplug region into slots of @slot_size bytes (dividing it), all
 * absent until gm_hotplug_slot_set(): from now on gm_ptr() refuses ranges in an
 * absent slot. 0, -EINVAL (no hotplug region, or the size) or -ENOMEM.
 */
int gm_hotplug_slots(struct guest_mem *gm, uint64_t slot_size);
/* Slot @slot of the hotplug region present or not. Any thread (atomic). */
void gm_hotplug_slot_set(struct guest_mem *gm, uint64_t slot, bool present);

/* Copies with the same check; 0 or -EFAULT. */
int gm_read(const struct guest_mem *gm, void *dst, uint64_t gpa, uint64_t len);
int gm_write(const struct guest_mem *gm, uint64_t gpa, const void *src, uint64_t len);
/*
 * Zeroes [gpa, gpa + len) with the same check; 0 or -EFAULT. Where untouched
 * pages are zero (anonymous private memory), whole pages are dropped
 * (MADV_DONTNEED) instead of written: a kernel's .bss then costs the host no
 * page faults and no memory until the guest touches it.
 */
int gm_zero(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/*
 * Dirty page tracking for Diff snapshots: from now on gm_write() and
 * gm_mark_dirty() record the pages ember writes (devices: used rings and the
 * buffers they fill; the balloon's discarded pages), a bitmap per region.
 * 0 or -ENOMEM.
 */
int gm_track_dirty(struct guest_mem *gm);

static inline bool gm_tracking_dirty(const struct guest_mem *gm)
{
	return gm->dirty[0] != NULL;
}

/*
 * Records the pages of [@hva, @hva + @len) (a host pointer into guest memory,
 * from gm_ptr) as written by ember. A no-op when not tracking; bytes outside
 * guest memory are ignored.
 */
void gm_mark_dirty(const struct guest_mem *gm, const void *hva, uint64_t len);

/*
 * ORs region @r's bitmap of ember's writes into @bitmap (one bit per page,
 * 64 to a word) and clears it: the pages marked since the last call.
 */
void gm_dirty_take(const struct guest_mem *gm, unsigned int r, uint64_t *bitmap);

/* The end (exclusive) of the highest region: the top of guest RAM. */
uint64_t gm_end(const struct guest_mem *gm);

#endif
