/* SPDX-License-Identifier: Apache-2.0 */
/*
 * VMGenID: a 16-byte generation id in guest memory that changes whenever the
 * VM may have been duplicated, so that a guest reseeds what must not repeat in
 * two clones (Linux 5.18+, CONFIG_VMGENID: its random number generator). The
 * ACPI tables describe it (arch/x86_64/acpi.c: \_SB_.VGEN, and the Generic
 * Event Device whose interrupt notifies it). As Firecracker: a fresh random id
 * at boot, a new one on every restore from a snapshot, then the interrupt.
 */
#ifndef EMBER_DEVICES_LEGACY_VMGENID_H
#define EMBER_DEVICES_LEGACY_VMGENID_H

#include "core/guest_mem.h"
#include "core/state.h"

#include <stdint.h>

#define VMGENID_LEN 16

struct vmgenid {
	const struct guest_mem *mem;
	uint64_t gpa; /* where the id lives: 8-byte aligned, reserved */
	uint8_t id[VMGENID_LEN];
	void (*notify)(void *opaque); /* raises the notification interrupt */
	void *opaque;
};

/* Sets the device up; writes nothing yet. */
void vmgenid_init(struct vmgenid *g, const struct guest_mem *mem, uint64_t gpa,
		  void (*notify)(void *opaque), void *opaque);

/*
 * A new random id (getrandom) into guest memory; with @notify_guest, then the
 * interrupt (a restore: the guest runs on with its old id otherwise). 0, or
 * -EFAULT (the address is not guest RAM) or -errno of getrandom.
 */
int vmgenid_generate(struct vmgenid *g, bool notify_guest);

/*
 * Snapshots: section "vmgenid" holds the id's address. Restoring one means the
 * guest knows the device: vmgenid_restore checks the address and generates a
 * new id with the notification. -ENOENT: no section (a snapshot without the
 * device: nothing to do); -EINVAL: corrupt; else vmgenid_generate's result.
 */
void vmgenid_save(const struct vmgenid *g, struct state_writer *w);
int vmgenid_restore(struct vmgenid *g, const struct state_file *f);

#endif
