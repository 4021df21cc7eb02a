/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's pmem devices (Firecracker's "pmem" list, virtio-pmem): their
 * device-table entry (device_table.h) and PATCH /pmem's rate limiter. Each
 * device's file gets guest physical memory above RAM (vm_add_memslot) and,
 * for the root device, "root=/dev/pmemN rw|ro" on the command line.
 */
#ifndef EMBER_VMM_PMEM_H
#define EMBER_VMM_PMEM_H

#include "config/config.h"
#include "devices/virtio/pmem.h"
#include "vmm/device_table.h"

#include <jansson.h>

struct vm;
struct virtio_slot;

/* A slot's state: the device and its id. */
struct pmem_dev {
	struct virtio_pmem p; /* first: the slot's dev */
	char id[CONFIG_ID_MAX + 1];
};

extern const struct vm_device_type pmem_type;

int pmem_add(struct vm *vm);
void pmem_remove(struct vm *vm, struct virtio_slot *s);
struct virtio_slot *pmem_find(struct vm *vm, const char *id);
/* Firecracker's "pmem_<id>" groups and their sum, "pmem". */
void pmem_metrics(struct vm *vm, json_t *root);
/* PATCH /pmem/{id}: the device's new limiter, recorded in vm->cfg. -ENOENT: no such id. */
int pmem_update(struct vm *vm, const char *id, const struct rate_limiter_config *rl);

#endif
