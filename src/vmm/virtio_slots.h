/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's virtio-mmio slots (virtio_slots.c): where a virtio device lives in
 * the VM, and the VM's one implementation of the device interface
 * (devices/virtio/host.h) for it.
 *
 * A slot holds its device on the heap (dev, and state: the device manager's
 * struct, which embeds dev), its place (MMIO window and GSI, from its index),
 * its KVM plumbing (an irqfd for interrupts, one ioeventfd per queue for the
 * guest's notifications) and the host side of the interface: one timerfd for
 * the device's deferred run (the earliest deadline asked for wins), the fds
 * the device watches, and the device clock. Pause is one loop over the slots:
 * hold takes every notify fd, the timer and every watch off the event loop;
 * release puts them back with the interest the device asked for last.
 */
#ifndef EMBER_VMM_VIRTIO_SLOTS_H
#define EMBER_VMM_VIRTIO_SLOTS_H

#include "config/config.h"
#include "core/event_loop.h"
#include "devices/virtio/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vm_device_type;

#define VM_MAX_VIRTIO CONFIG_MAX_VIRTIO
struct virtio_slot;
struct virtio_notify {
	struct ev_handler h; /* the queue's ioeventfd on the event loop */
	struct virtio_slot *slot;
	unsigned int queue;
	bool registered, watched;
};
struct virtio_slot {
	const struct vm_device_type *type; /* device_table.h */
	struct virtio_dev *dev;		   /* the device, once placed */
	void *state;			   /* the manager's, on the heap; it embeds dev */
	struct vm *vm;
	unsigned int index; /* in vm->virtio[]: window and GSI */
	int irqfd;
	struct virtio_notify notify[VIRTIO_MAX_QUEUES];

	/* The host side of the device interface; guarded by dev->lock. */
	struct ev_handler timer_h; /* the device's deferred run */
	bool run_pending;
	uint64_t run_at;	   /* on the device clock */
	struct dev_watch *watches; /* the fds the device watches */
	bool held;		   /* paused: none of the above is on the event loop */
};

/* The host ops every slot's device gets (its host_data: the slot). */
const struct virtio_host_ops *vm_virtio_host_ops(void);

/*
 * Takes the next free slot for a device of @type (@what names it in the log
 * line of a failure) and creates its timer on vm->loop, so that the device's
 * own init may use the host ops with the slot as host_data. The manager then
 * sets slot->state (from then on the slot owns it: type->remove frees it) and,
 * once the device is initialized, places it. Phase 1 (before the boot tables).
 * 0, or a negative errno after logging one line.
 */
int vm_virtio_slot_new(struct vm *vm, const struct vm_device_type *type, const char *what,
		       struct virtio_slot **out);

/*
 * Places @d in @s: its MMIO window (0xc0001000 + 4 KiB * index) and GSI (5 +
 * index) on the bus and its "virtio_mmio.device=" entry on the kernel command
 * line. 0, or a negative errno after logging one line.
 */
int vm_virtio_place(struct vm *vm, struct virtio_slot *s, struct virtio_dev *d);

/* The slots of @type in slot order: NULL starts, NULL ends. */
struct virtio_slot *vm_virtio_next(struct vm *vm, const struct vm_device_type *type,
				   struct virtio_slot *prev);

/*
 * Once the KVM VM exists: every placed device's irqfd and queue ioeventfds.
 * vm_virtio_disconnect() closes them and each slot's timer (teardown, the loop
 * no longer running; the devices are removed after it).
 */
int vm_virtio_connect(struct vm *vm);
void vm_virtio_disconnect(struct vm *vm);

/* Pause (pause.c, event loop thread, every vCPU parked): hold and release every slot. */
void vm_virtio_hold(struct vm *vm);
void vm_virtio_release(struct vm *vm);

#endif
