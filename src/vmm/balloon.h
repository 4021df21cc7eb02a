/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The balloon device in the VM (Firecracker's `balloon` key, at most one per
 * VM): placement, its stats timer on the event loop, and the lookup the API
 * uses for the runtime operations (balloon.h: balloon_set_target, ...).
 *
 * Call order (vm.c):
 *  - phase 1, in vm_init_devices() after guest memory is mapped (it checks
 *    amount_mib against it) and with vm->loop set:
 *	if (vm->cfg.balloon present) ret = vm_add_balloon(vm, &vm->cfg.balloon);
 *    It allocates the device, places it (MMIO window, GSI, command line) and,
 *    with statistics, creates its timerfd in the slot's timer_h on vm->loop
 *    (vm_pause holds and releases it like a rate-limiter timer);
 *  - vm_virtio_connect() then wires its irqfd and ioeventfds like any device;
 *  - vm_destroy(): vm_balloon_teardown(vm) after vm_virtio_disconnect() (which
 *    closes the timerfd) and before nr_virtio is reset. Safe when
 *    vm_add_balloon failed half-way or was never called.
 */
#ifndef EMBER_VMM_DEV_BALLOON_H
#define EMBER_VMM_DEV_BALLOON_H

#include "devices/virtio/balloon.h"

struct vm;

/* 0, or a negative errno after logging one line ("balloon.amount_mib: ..."). */
int vm_add_balloon(struct vm *vm, const struct balloon_config *cfg);
void vm_balloon_teardown(struct vm *vm);

/* The VM's balloon device, or NULL if it has none (the API: "not configured"). */
struct virtio_balloon *vm_balloon(const struct vm *vm);

#endif
