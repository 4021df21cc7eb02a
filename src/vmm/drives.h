/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's drives (Firecracker's "drives" / PUT /drives/{id}): virtio-blk
 * devices in the VM's virtio slots, and the kernel command line for the root
 * device. The device itself reaches the VM through its slot (host.h): its
 * timer and its io_uring eventfd are the slot's, held by pause with the rest.
 * The device-table entry (device_table.h) and PATCH /drives/{id}.
 * All on the event loop's thread (or before it runs).
 */
#ifndef EMBER_VMM_DRIVES_H
#define EMBER_VMM_DRIVES_H

#include "devices/virtio/block.h"
#include "vmm/device_table.h"

#include <jansson.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type drives_type;

/*
 * Phase 1 (before the boot tables: the command line must be final): every
 * drive of vm->cfg, in order (the configuration keeps the root device first:
 * it is /dev/vda). Each opens its file, creates the device in the next slot
 * and places it (MMIO window, GSI, "virtio_mmio.device=" on the command line).
 * A root device adds "root=/dev/vda" (or "root=PARTUUID=<partuuid>") and
 * "ro"/"rw" to the command line, as Firecracker does. Returns 0, or a negative
 * errno after logging one line naming the drive (what was made is freed by
 * vm_destroy).
 */
int drives_add(struct vm *vm);
/* Frees the drive of @s: waits for in-flight I/O, closes the file, unwatches its fds. */
void drives_remove(struct vm *vm, struct virtio_slot *s);
/* The slot of the drive with @drive_id, or NULL. */
struct virtio_slot *drives_find(struct vm *vm, const char *drive_id);
/* Firecracker's "block_<drive_id>" group for each drive and "block", their sum. */
void drives_metrics(struct vm *vm, json_t *root);

/*
 * PATCH /drives/{drive_id} on a running VM: a new backing file (@path_on_host,
 * NULL: unchanged) and/or a new rate limiter (@rl, NULL: unchanged). Event loop
 * thread. 0, -ENOENT (no such drive) or the swap's error; each logged.
 */
int drives_update(struct vm *vm, const char *drive_id, const char *path_on_host,
		  const struct rate_limiter_config *rl);

#endif
