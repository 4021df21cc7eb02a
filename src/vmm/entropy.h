/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's entropy device (Firecracker's "entropy" object: virtio-rng, at most
 * one per VM, with its rate limiter): its device-table entry (device_table.h).
 */
#ifndef EMBER_VMM_ENTROPY_H
#define EMBER_VMM_ENTROPY_H

#include "devices/virtio/rng.h"
#include "vmm/device_table.h"

#include <jansson.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type entropy_type;

/* Phase 1, if vm->cfg has entropy: the device in the next slot. 0 or a logged -errno. */
int entropy_add(struct vm *vm);
void entropy_remove(struct vm *vm, struct virtio_slot *s);
/* The VM's entropy slot (@id is not used: one per VM), or NULL. */
struct virtio_slot *entropy_find(struct vm *vm, const char *id);
/* Firecracker's "entropy" group. */
void entropy_metrics(struct vm *vm, json_t *root);

#endif
