/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-net devices (one per "network-interfaces" entry): each opens
 * its TAP and lives in a virtio slot like every virtio device; the device
 * watches its TAP and asks for its retries through the slot (host.h), so pause
 * holds them with the rest. The device-table entry (device_table.h) and
 * PATCH /network-interfaces/{id}.
 */
#ifndef EMBER_VMM_NETWORK_INTERFACES_H
#define EMBER_VMM_NETWORK_INTERFACES_H

#include "devices/virtio/net.h"
#include "vmm/device_table.h"

#include <jansson.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type network_interfaces_type;

/*
 * Phase 1 (with vm->mem mapped and vm->loop set, before the boot tables: the
 * device appends to the kernel command line): every interface of vm->cfg, in
 * order. Opens cfg->host_dev_name (which must exist) and creates the device;
 * the configuration is not kept. On error logs one line naming the interface,
 * its TAP and the problem, and returns a negative errno (a bad configuration:
 * exit 152); vm_destroy cleans up.
 */
int network_interfaces_add(struct vm *vm);
/* Frees the device of @s (after the vCPUs are joined, before guest memory goes). */
void network_interfaces_remove(struct vm *vm, struct virtio_slot *s);
/* The slot of interface @iface_id, or NULL. */
struct virtio_slot *network_interfaces_find(struct vm *vm, const char *iface_id);
/* Firecracker's "net_<iface_id>" group for each interface and "net", their sum. */
void network_interfaces_metrics(struct vm *vm, json_t *root);

/*
 * PATCH /network-interfaces/{iface_id}: new rate limiters (NULL: no limit in
 * that direction). 0, or -ENOENT (no such interface; not logged).
 */
int network_interfaces_update(struct vm *vm, const char *iface_id,
			      const struct rate_limiter_config *rx,
			      const struct rate_limiter_config *tx);

#endif
