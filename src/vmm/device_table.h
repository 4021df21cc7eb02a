/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device manager's one table of virtio device types (device_table.c), in
 * Firecracker's slot order: drives (the root device first), network
 * interfaces, vsock, balloon, entropy. vm_create adds every type's devices
 * from vm->cfg in that order, vm_destroy removes them in the reverse order of
 * their slots, and the metrics collector asks each type for its groups; pause
 * needs no entry (it is one loop over the slots: virtio_slots.h).
 *
 * Each manager (drives.c, network_interfaces.c, vsock.c, balloon.c,
 * entropy.c) defines its entry and the API operations of its resource, with
 * uniform names: <resource>_add, _remove, _find, _metrics.
 */
#ifndef EMBER_VMM_DEVICE_TABLE_H
#define EMBER_VMM_DEVICE_TABLE_H

#include "core/state.h"
#include "devices/virtio/virtio_mmio.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct virtio_slot;

struct vm_device_type {
	const char *name; /* the configuration's key: "drives", "vsock", ... */
	/*
	 * Adds every device of this type vm->cfg has, each in the next slot
	 * (vm_virtio_slot_new, then vm_virtio_place). Phase 1 of vm_create.
	 * 0, or a negative errno after logging one line naming the input.
	 */
	int (*add)(struct vm *vm);
	/*
	 * Frees the device of @s (slot->state, which may be only partly
	 * initialized when add failed): after vm_virtio_disconnect, the vCPUs
	 * joined and the loop no longer running.
	 */
	void (*remove)(struct vm *vm, struct virtio_slot *s);
	/* The slot of the device with @id (NULL for the one-per-VM types: the one), or NULL. */
	struct virtio_slot *(*find)(struct vm *vm, const char *id);
	/* Adds this type's Firecracker metric groups (cumulative counters) to @root. */
	void (*metrics)(struct vm *vm, json_t *root);
	/*
	 * Snapshots (vmm/snapshot.c), optional: a VM with a device whose type
	 * has no save is refused at PUT /snapshot/create ("snapshotting a VM
	 * with <name> devices is not supported yet").
	 *
	 * save: the device of @s (the VM paused, the loop's device work held)
	 * into its own section(s) of @w, instance = s->index by convention
	 * (transport and queues, the device's model state, its rate limiters).
	 * restore: after add (the device built again from vm->cfg, with the
	 * load's network_overrides and vsock_override already applied to it)
	 * and vm_virtio_connect, before the vCPUs run: the device of @s from its
	 * sections of @f (reopening what it needs on the host). Each returns 0,
	 * or a negative errno after logging one line naming the device.
	 */
	int (*save)(struct vm *vm, struct virtio_slot *s, struct state_writer *w);
	int (*restore)(struct vm *vm, struct virtio_slot *s, const struct state_file *f);
};

/*
 * The save and restore entries every virtio type uses (the device's own state
 * is its ops->save/restore): the slot's device into section "virtio"
 * s->index (virtio_dev_save), and back (virtio_dev_restore), with one error
 * line naming the device.
 */
int vm_virtio_save(struct vm *vm, struct virtio_slot *s, struct state_writer *w);
int vm_virtio_restore(struct vm *vm, struct virtio_slot *s, const struct state_file *f);

/* vm_create, vm_destroy and the metrics collector: one loop over the table. */
int vm_devices_add(struct vm *vm);
void vm_devices_remove(struct vm *vm);
void vm_devices_metrics(struct vm *vm, json_t *root);

/*
 * One metric of a device's list (its X-macro in the device's header): the
 * Firecracker name and where the counter is, in struct virtio_dev (the
 * transport's counters) or in the manager's state (the device's own).
 */
struct vm_metric {
	const char *name;
	bool transport;
	size_t offset;
};
/* The list's T(name, field) entries: a counter of the transport's. */
#define VM_METRIC_TRANSPORT(name, field) {#name, true, offsetof(struct virtio_dev, field)},

/*
 * Writes @n metrics of the device @d (state @state) into @obj and, unless
 * @total is NULL, adds them to what @total has (a group's sum over its
 * devices). Under the device lock: both see the same values.
 */
void vm_metrics_write(json_t *obj, json_t *total, const struct vm_metric *m, size_t n,
		      struct virtio_dev *d, const void *state);

struct vm;
struct vm_device_type;
struct virtio_slot;

/* One device of a metrics group: its id and where its counters are. */
struct vm_metrics_dev {
	const char *id;
	struct virtio_dev *dev;
	const void *state;
};

/*
 * Firecracker's metrics of a kind of device with several instances (block,
 * net, pmem): "GROUP_ID" for each device of @type (@dev_of says which), and
 * their sum as "GROUP", in @root. Nothing when the VM has none.
 */
void vm_metrics_group(struct vm *vm, const struct vm_device_type *type, const char *group,
		      const struct vm_metric *m, size_t n,
		      void (*dev_of)(const struct virtio_slot *s, struct vm_metrics_dev *out),
		      json_t *root);

#endif
