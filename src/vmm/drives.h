/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's drives (Firecracker's "drives" / PUT /drives/{id}): virtio-blk
 * devices placed on the virtio-mmio bus, their timers and io_uring eventfds on
 * the VM's event loop, and the kernel command line for the root device.
 *
 * Call order (vm.c):
 *   phase 1, before KVM exists, after guest memory and vm->loop are set and
 *   before the boot tables are written (the command line must be final):
 *	vm_add_drive(vm, &cfg->drives[i]) for each drive, the root device first;
 *   then vm_virtio_connect() wires every placed device as usual;
 *   teardown, after vm_virtio_disconnect() (as for the rng):
 *	vm_remove_drives(vm).
 * All on the event loop's thread (or before it runs).
 */
#ifndef EMBER_VMM_DEV_BLOCK_H
#define EMBER_VMM_DEV_BLOCK_H

#include "devices/virtio/block.h"

#include <jansson.h>

struct vm;

/*
 * Opens the drive's file, creates the device (heap), places it (MMIO window,
 * GSI, "virtio_mmio.device=" on the command line), creates its timerfd (the
 * rate limiter's retries and the bounded-work continuation, on the device's
 * virtio slot, so vm_pause holds it) and, for io_engine "Async", watches its
 * io_uring completion eventfd. A root device adds "root=/dev/vda" (or
 * "root=PARTUUID=<partuuid>") and "ro"/"rw" to the command line, as Firecracker
 * does, and must be the first drive added (it is /dev/vda). Returns 0, or a
 * negative errno after logging one line naming the drive (nothing is left
 * allocated but what vm_remove_drives() frees).
 */
int vm_add_drive(struct vm *vm, const struct drive_config *cfg);

/* The drive with @drive_id in @vm, or NULL. */
struct virtio_block *vm_find_drive(struct vm *vm, const char *drive_id);

/*
 * PATCH /drives/{drive_id} on a running VM: a new backing file (@path_on_host,
 * NULL: unchanged) and/or a new rate limiter (@rl, NULL: unchanged). Event loop
 * thread. 0, -ENOENT (no such drive) or the swap's error; each logged.
 */
int vm_update_drive(struct vm *vm, const char *drive_id, const char *path_on_host,
		    const struct rate_limiter_config *rl);

/*
 * Metrics (vm/metrics.h collector): adds Firecracker's "block_<drive_id>"
 * object for each drive and "block", their sum, to @root (cumulative counters).
 */
void vm_drives_metrics(struct vm *vm, json_t *root);

/* Frees every drive of @vm: waits for in-flight I/O, closes the files, unwatches its fds. */
void vm_remove_drives(struct vm *vm);

#endif
