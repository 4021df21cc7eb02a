/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-mmio slots (virtio_slots.c): placement, irqfd and ioeventfds.
 */
#ifndef EMBER_VMM_VIRTIO_SLOTS_H
#define EMBER_VMM_VIRTIO_SLOTS_H

#include "config/config.h"
#include "core/event_loop.h"
#include "devices/virtio/virtio_mmio.h"
#include "util/rate_limiter.h"

#include <stdbool.h>

struct vm;

/* A virtio device's place in the VM: its irqfd and one ioeventfd per queue. */
#define VM_MAX_VIRTIO CONFIG_MAX_VIRTIO
struct virtio_slot;
struct virtio_notify {
	struct ev_handler h; /* the queue's ioeventfd on the event loop */
	struct virtio_slot *slot;
	unsigned int queue;
	bool registered, watched;
};
struct virtio_slot {
	struct virtio_dev *dev;
	int irqfd;
	struct virtio_notify notify[VIRTIO_MAX_QUEUES];
	struct rate_limiter rl;	   /* the device's limiter (inactive: no limit) */
	struct ev_handler timer_h; /* timerfd: retry once the limiter has tokens */
	bool timer_armed;
};

/*
 * virtio_slots.c: vm_virtio_place() gives a device the next MMIO window and
 * GSI and puts it on the kernel command line (before the boot tables are
 * written); vm_virtio_connect() wires its irqfd and queue ioeventfds once the
 * KVM VM exists; vm_virtio_disconnect() undoes that.
 */
int vm_virtio_place(struct vm *vm, struct virtio_dev *d);
int vm_virtio_connect(struct vm *vm);
void vm_virtio_disconnect(struct vm *vm);
const struct virtio_host_ops *vm_virtio_host_ops(void);
/* The entropy device (virtio-rng), with its rate limiter, from cfg.entropy. */
int vm_add_rng(struct vm *vm);

#endif
