/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-vsock device (Firecracker's "vsock" object): placement,
 * event-loop handlers and teardown. One per VM, as in Firecracker.
 */
#ifndef EMBER_VMM_DEV_VSOCK_H
#define EMBER_VMM_DEV_VSOCK_H

#include "devices/virtio/vsock.h"

#include <stdbool.h>

struct vm;

/*
 * Phase 1 (vm->loop set, guest memory mapped, the kernel command line still
 * open; KVM not needed): allocates the device, listens on cfg->uds_path,
 * registers its listener, kick eventfd and timerfd on vm->loop, and places it
 * (vm_virtio_place: MMIO window, GSI, command-line entry). vm_virtio_connect()
 * then wires its irqfd and ioeventfds with the other devices. Does not keep
 * @cfg. Returns 0, or a negative errno after logging one line (-EINVAL: bad
 * configuration, -EADDRINUSE: something listens on uds_path, -EEXIST: uds_path
 * is not a socket, -EBUSY: the VM has a vsock device already).
 * vm_remove_vsock() is needed either way.
 */
int vm_add_vsock(struct vm *vm, const struct vsock_config *cfg);

/*
 * Teardown: after the vCPU threads are joined and vm_virtio_disconnect(), before
 * guest memory is unmapped, with vm->loop still valid (not running handlers).
 * Closes every connection and the listener, removes uds_path, frees the device.
 * Safe without a device, and twice.
 */
void vm_remove_vsock(struct vm *vm);

/* vm_pause()/vm_resume() (event loop thread): the device holds its work while paused. */
void vm_vsock_set_paused(struct vm *vm, bool paused);

/* The VM's device (counters, tests), or NULL. */
struct virtio_vsock *vm_vsock(const struct vm *vm);

#endif
