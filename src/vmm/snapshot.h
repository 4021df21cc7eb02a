/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Snapshots of a VM (snapshot.c, snapshot_mem.c): Firecracker's
 * PUT /snapshot/create and PUT /snapshot/load, as the backend
 * (vm_backend.c) runs them.
 *
 * A snapshot is two files. The state file (core/state.h) holds, as sections:
 * "config" (the FullVmConfiguration the VM was built from, as JSON, and the
 * guest memory size), "vcpu"/N and "vm" (arch's KVM state), "uart", "i8042",
 * "boot_timer" (the legacy device models) and each virtio device's sections
 * (its device-table entry's save). The memory file is guest memory, region
 * after region, as Firecracker's: a Full snapshot writes every page that is
 * not zero into a fresh file (zero pages stay holes: the file reads the
 * same, and is sparse); a Diff writes only the pages KVM's dirty log saw
 * written since the last snapshot (machine-config.track_dirty_pages), into
 * a sparse file of guest-memory size whose data extents, copied over the
 * full file, make the newer snapshot's memory.
 *
 * Restore builds the same VM from the saved configuration in a fresh
 * process, maps the memory file privately (copy-on-write: never written;
 * pages load on the guest's first touch, clones share the page cache) or,
 * with the Uffd backend, hands anonymous guest memory to a page-fault handler
 * (snapshot_uffd.c), sets every saved state, and starts the vCPUs paused (or
 * running).
 */
#ifndef EMBER_VMM_SNAPSHOT_H
#define EMBER_VMM_SNAPSHOT_H

#include "config/config.h"
#include "config/snapshot.h"
#include "core/guest_mem.h"
#include "core/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * Writes the paused @vm's snapshot: the state file, then the memory file.
 * Refuses a VM with a virtio device whose type has no save. 0, or -errno
 * after logging one line naming the file or device and the problem.
 */
int vm_snapshot_save(struct vm *vm, const struct snapshot_create_params *p);

/* A snapshot read and checked, before anything of a VM is built. */
struct vm_snapshot {
	uint8_t *data; /* the state file */
	size_t len;
	struct state_file file; /* its sections, pointing into data */
	struct vm_config cfg;	/* the saved configuration */
	uint64_t mem_size;	/* bytes of guest memory */
	int mem_fd;		/* the memory file, read-only */
};

/*
 * Reads @p's state file and opens its memory file: every problem is found
 * here, before a VM exists, and logged in one line naming the file and the
 * problem (bad magic, unknown major version, newer minor version, checksum
 * mismatch, truncated, a configuration that does not parse, a memory file
 * whose size does not match). 0 or -errno; vm_snapshot_close() either way.
 */
int vm_snapshot_open(struct vm_snapshot *s, const struct snapshot_load_params *p);
void vm_snapshot_close(struct vm_snapshot *s);

/*
 * --describe-snapshot: the format version of the state file @path, once it
 * reads and checks (magic, version, checksum, sections). 0, or -errno after
 * logging one line naming the file and the problem.
 */
int vm_snapshot_describe(const char *path, uint16_t *major, uint16_t *minor);

/*
 * Builds @vm from @s (its cfg, which the VM takes over, as amended by the
 * caller) and sets every saved state: the vCPUs, the VM's PIT, clock and
 * interrupt controllers, the legacy devices, each virtio device. The caller
 * then starts the vCPUs: vm_start() (running) or vm_start_paused(). On
 * failure (logged) vm_destroy() cleans up.
 */
int vm_restore(struct vm *vm, struct vm_snapshot *s, const struct snapshot_load_params *p);

/*
 * The Uffd memory backend (snapshot_uffd.c, Firecracker's protocol): registers
 * @vm's anonymous guest memory with a new userfaultfd, connects to the page-
 * fault handler at @path and sends it the regions (JSON) and the userfaultfd.
 * Before anything touches guest memory. 0, or -errno after logging one line.
 */
int vm_uffd_attach(struct vm *vm, const char *path);

/*
 * The memory file (snapshot_mem.c). Writes @gm to @fd, which has the
 * layout of gm's mapping (region after region) and is gm->ram_size bytes
 * long (the caller sized it). @dirty NULL: every page that is not all zero
 * (a Full snapshot into an empty file); else one bitmap per region, a bit
 * per 4 KiB page, and exactly those pages are written, zero or not (a Diff).
 * @pagemap_fd: /proc/self/pagemap, or -1 (a Full then reads every page).
 * 0, or -errno.
 */
int snapshot_mem_write(const struct guest_mem *gm, int fd, uint64_t *const *dirty, int pagemap_fd);
/* Bytes of a region's dirty bitmap (KVM_GET_DIRTY_LOG's: a bit per page, in u64 words). */
size_t snapshot_bitmap_bytes(uint64_t region_size);

#endif
