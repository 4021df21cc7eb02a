/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-vsock device (Firecracker's "vsock" object), one per VM as in
 * Firecracker: its device-table entry (device_table.h). The device watches its
 * listener and host sockets and keeps its deadlines through its slot (host.h).
 */
#ifndef EMBER_VMM_VSOCK_H
#define EMBER_VMM_VSOCK_H

#include "devices/virtio/vsock.h"
#include "vmm/device_table.h"

#include <jansson.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type vsock_type;

/*
 * Phase 1 (vm->loop set, guest memory mapped, the kernel command line still
 * open; KVM not needed), if vm->cfg has a vsock: creates the device in the
 * next slot, listening on uds_path, and places it. Returns 0, or a negative
 * errno after logging one line (-EINVAL: bad configuration, -EADDRINUSE:
 * something listens on uds_path, -EEXIST: uds_path is not a socket, -EBUSY:
 * the VM has a vsock device already).
 */
int vsock_add(struct vm *vm);
/* Closes every connection and the listener, removes uds_path, frees the device. */
void vsock_remove(struct vm *vm, struct virtio_slot *s);
/* The VM's vsock slot (@id is not used: one per VM), or NULL. */
struct virtio_slot *vsock_find(struct vm *vm, const char *id);
/* Firecracker's "vsock" group, then ember's own counters. */
void vsock_metrics(struct vm *vm, json_t *root);

#endif
