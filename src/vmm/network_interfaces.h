/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-net devices (one per "network-interfaces" entry): each opens
 * its TAP, is placed like every virtio device (vm_virtio_place: MMIO window,
 * GSI, kernel command line) and puts two handlers on vm->loop: the TAP fd
 * (EPOLLIN only while the device wants frames) and a retry timerfd, kept in
 * its virtio slot's timer_h so that vm_pause() holds it with the other device
 * work. The timer serves both rate limiters, work left over by a bounded
 * event, and the resume after a pause (the TAP handler sees vm->paused, stops
 * watching the TAP and arms the timer, which fires once the pause is over).
 * The devices live on the heap, in a list of this file's own.
 */
#ifndef EMBER_VMM_DEV_NET_H
#define EMBER_VMM_DEV_NET_H

#include "devices/virtio/net.h"

struct vm;

/*
 * Phase 1 (vm_init_devices, with vm->mem mapped and vm->loop set, before the
 * boot tables: the device appends to the kernel command line), once per
 * interface, in the configuration's order. Opens cfg->host_dev_name (which
 * must exist), creates the device and its handlers; cfg is not kept. On error
 * logs one line naming the interface, its TAP and the problem, and returns a
 * negative errno (a bad configuration: exit 152); vm_net_teardown() still
 * cleans up. vm_virtio_connect() later wires the irqfd and ioeventfds.
 */
int vm_add_net(struct vm *vm, const struct net_config *cfg);

/*
 * Frees every net device of @vm: after the vCPU threads are joined and the
 * event loop no longer runs (vm_destroy, after vm_virtio_disconnect), before
 * guest memory is unmapped. Safe to call when none was added, and twice.
 */
void vm_net_teardown(struct vm *vm);

/* The device of interface @iface_id (metrics, PATCH /network-interfaces), or NULL. */
struct virtio_net *vm_net_find(struct vm *vm, const char *iface_id);

#endif
