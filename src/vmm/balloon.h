/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The balloon device in the VM (Firecracker's `balloon` key, at most one per
 * VM): its device-table entry (device_table.h) and the runtime operations the
 * API uses (PATCH /balloon, PATCH and GET /balloon/statistics). The device
 * keeps its statistics deadline and asks for its runs through its slot
 * (host.h), so pause holds them with the rest.
 */
#ifndef EMBER_VMM_BALLOON_H
#define EMBER_VMM_BALLOON_H

#include "devices/virtio/balloon.h"
#include "vmm/device_table.h"

#include <jansson.h>
#include <stdint.h>

struct vm;
struct virtio_slot;

extern const struct vm_device_type balloon_type;

/*
 * Phase 1, after guest memory is mapped (amount_mib is checked against it), if
 * vm->cfg has a balloon: creates the device in the next slot and places it.
 * 0, or a negative errno after logging one line ("balloon.amount_mib: ...";
 * -EEXIST: the VM has one already). A configuration refused before the slot is
 * taken leaves nothing behind.
 */
int balloon_add(struct vm *vm);
void balloon_remove(struct vm *vm, struct virtio_slot *s);
/* The VM's balloon slot (@id is not used: one per VM), or NULL. */
struct virtio_slot *balloon_find(struct vm *vm, const char *id);
/* Firecracker's "balloon" group. */
void balloon_metrics(struct vm *vm, json_t *root);

/*
 * The API's operations: -ENODEV (not logged) without a balloon, else the
 * device's result (balloon.h: balloon_set_target, balloon_set_stats_interval,
 * balloon_get_stats; their failures are logged).
 */
int balloon_update(struct vm *vm, uint32_t amount_mib);
int balloon_update_statistics(struct vm *vm, uint32_t stats_polling_interval_s);
int balloon_statistics(struct vm *vm, struct balloon_stats *out);
/* Free page hinting (balloon.h: balloon_hint_*); -ENODEV without a balloon. */
int balloon_hinting_start(struct vm *vm, bool ack_on_stop);
int balloon_hinting_stop(struct vm *vm);
int balloon_hinting_status(struct vm *vm, uint32_t *host_cmd, uint32_t *guest_cmd, bool *has_guest);

#endif
