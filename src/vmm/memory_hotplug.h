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

#include <jansson.h>
#include <stdint.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type memory_hotplug_type;

int memory_hotplug_add(struct vm *vm);
void memory_hotplug_remove(struct vm *vm, struct virtio_slot *s);
struct virtio_slot *memory_hotplug_find(struct vm *vm, const char *id);
/* ember's "memory_hotplug" group. */
void memory_hotplug_metrics(struct vm *vm, json_t *root);
/* -ENODEV (not logged) without the device, -EINVAL (logged) for a size it cannot take. */
int memory_hotplug_request(struct vm *vm, uint32_t requested_mib);
int memory_hotplug_sizes(struct vm *vm, uint64_t *plugged_mib, uint64_t *requested_mib);

#endif
