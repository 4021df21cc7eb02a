/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's hotpluggable memory (Firecracker's "memory-hotplug": one
 * virtio-mem device over the hotplug region of guest memory, which vm.c maps
 * above RAM): its device-table entry (device_table.h) and the API's PATCH
 * (requested size) and GET (status) of /hotplug/memory.
 */
#ifndef EMBER_VMM_MEMORY_HOTPLUG_H
#define EMBER_VMM_MEMORY_HOTPLUG_H

#include "devices/virtio/mem.h"
#include "vmm/device_table.h"
#include "vmm/vm.h"

#include <jansson.h>
#include <stdint.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type memory_hotplug_type;

/*
 * virtio-mem's slots are KVM memory slots of their own, from this one on:
 * after RAM's (0 to GUEST_MEM_MAX_REGIONS - 1) and the devices' (vm.h).
 */
#define MEMORY_HOTPLUG_KVM_SLOT0 (GUEST_MEM_MAX_REGIONS + VM_MAX_MEMSLOTS)

int memory_hotplug_add(struct vm *vm);
/*
 * Once the KVM VM exists (phase 2 of vm_create): whether KVM has a memory slot
 * for each of the region's slots. 0, or -EINVAL after logging one line.
 */
int memory_hotplug_connect(struct vm *vm);
/*
 * The hotplug region's pages the guest wrote since the last call (KVM's
 * dirty log of each slot in KVM) into @bitmap (a bit per page of the region,
 * zeroed by the caller). Only with track_dirty_pages. 0, or -errno (logged).
 */
int memory_hotplug_dirty_log(struct vm *vm, uint64_t *bitmap);
void memory_hotplug_remove(struct vm *vm, struct virtio_slot *s);
struct virtio_slot *memory_hotplug_find(struct vm *vm, const char *id);
/* ember's "memory_hotplug" group. */
void memory_hotplug_metrics(struct vm *vm, json_t *root);
/* -ENODEV (not logged) without the device, -EINVAL (logged) for a size it cannot take. */
int memory_hotplug_request(struct vm *vm, uint32_t requested_mib);
int memory_hotplug_sizes(struct vm *vm, uint64_t *plugged_mib, uint64_t *requested_mib);

#endif
