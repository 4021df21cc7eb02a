/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The controller's actions: everything the API can ask of it, one function
 * each. The API's router (api/api.c) checks the request's shape (route,
 * method, ids, the actions and vm bodies) and calls one of these; what each
 * may do in which state is one table in actions.c (actions x states: allowed,
 * refused with Firecracker's message, or nothing to do), checked before the
 * action does anything else.
 *
 * Each returns 0, or -errno with @e set: the message (one line, naming the
 * input) and the fault, which the router turns into a status. GETs put
 * their answer, malloc'd JSON text, in *json.
 */
#ifndef EMBER_VMM_ACTIONS_H
#define EMBER_VMM_ACTIONS_H

#include "vmm/controller.h"

#include <stdbool.h>
#include <stddef.h>

/* Firecracker's messages for the state rules, word for word (clients match them). */
#define CTRL_NOT_AFTER_BOOT  "The requested operation is not supported after starting the microVM."
#define CTRL_NOT_BEFORE_BOOT "The requested operation is not supported before starting the microVM."
/* PUT /snapshot/create on a running VM: what Firecracker's vCPUs answer. */
#define CTRL_SNAPSHOT_RUNNING                                                           \
	"Create snapshot error: Cannot save the microVM state: Operation not allowed: " \
	"save/restore unavailable while running"
/* PUT /snapshot/load after anything but the logger and metrics was configured. */
#define CTRL_LOAD_NOT_FRESH                                                              \
	"Load snapshot error: Loading a microVM snapshot not allowed after configuring " \
	"boot-specific resources."
/* A Diff snapshot without machine-config.track_dirty_pages. */
#define CTRL_DIFF_UNTRACKED                                                                      \
	"The requested operation is not supported: Diff snapshots are not allowed on uVMs with " \
	"dirty page tracking disabled."

enum ctrl_fault {
	CTRL_FAULT_INPUT,    /* 400: the request cannot be done as asked (its body, an id, ...) */
	CTRL_FAULT_STATE,    /* 400: not in the VM's current state */
	CTRL_FAULT_INTERNAL, /* 500: ember failed (out of memory building the answer) */
};

/* An action's message: a VM op's or config's (VMM_ERR_MAX) with the action's words around it. */
#define CTRL_MSG_MAX (VMM_ERR_MAX + 128)

struct ctrl_error {
	enum ctrl_fault fault;
	char msg[CTRL_MSG_MAX];
};

/* The actions, for the state table and its tests. */
enum ctrl_action {
	CTRL_GET_INSTANCE_INFO,
	CTRL_GET_VERSION,
	CTRL_GET_MACHINE_CONFIG,
	CTRL_GET_VM_CONFIG,
	CTRL_CONFIGURE, /* PUT or PATCH of a configuration section */
	CTRL_PUT_METRICS,
	CTRL_PUT_LOGGER,
	CTRL_INSTANCE_START,
	CTRL_FLUSH_METRICS,
	CTRL_SEND_CTRL_ALT_DEL,
	CTRL_PAUSE,
	CTRL_RESUME,
	CTRL_PATCH_DRIVE,
	CTRL_PATCH_NET,
	CTRL_GET_BALLOON,
	CTRL_PATCH_BALLOON,
	CTRL_GET_BALLOON_STATS,
	CTRL_PATCH_BALLOON_STATS,
	CTRL_SNAPSHOT_CREATE,
	CTRL_SNAPSHOT_LOAD,
	CTRL_PUT_MMDS,
	CTRL_PATCH_MMDS,
	CTRL_GET_MMDS,
	CTRL_PATCH_PMEM,
	CTRL_GET_MEMORY_HOTPLUG,
	CTRL_PATCH_MEMORY_HOTPLUG,
	CTRL_HINT_START,
	CTRL_HINT_STATUS,
	CTRL_HINT_STOP,
	CTRL_NR_ACTIONS,
};

/* Its name in messages: "InstanceStart", "PATCH /drives", ... */
const char *ctrl_action_name(enum ctrl_action a);

/*
 * The state machine's answer for @a now, before @a does anything: 0 (go on:
 * the action may still refuse its input), 1 (nothing to do: the VM is
 * already so), or -errno with @e set (refused here).
 */
int ctrl_check(const struct controller *ctl, enum ctrl_action a, struct ctrl_error *e);

/* GET /: InstanceInfo. GET /version. */
int ctrl_get_instance_info(struct controller *ctl, char **json, struct ctrl_error *e);
int ctrl_get_version(struct controller *ctl, char **json, struct ctrl_error *e);
/* GET /machine-config (MachineConfiguration), GET /vm/config (FullVmConfiguration). */
int ctrl_get_machine_config(struct controller *ctl, char **json, struct ctrl_error *e);
int ctrl_get_vm_config(struct controller *ctl, char **json, struct ctrl_error *e);

/*
 * Before boot: @body (@len bytes) replaces (PUT) or updates (@patch) the
 * configuration's @section (config_update()), all or nothing.
 */
int ctrl_configure(struct controller *ctl, enum config_section section, const char *body,
		   size_t len, bool patch, struct ctrl_error *e);
/* PUT /metrics: before boot, once; the file or pipe opens now. */
int ctrl_put_metrics(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
/*
 * PUT /logger, any time: the Logger object's keys given apply to the running
 * logger (a new log_path at once) and are recorded in the configuration.
 */
int ctrl_update_logger(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);

/* InstanceStart: checks the configuration, builds and starts the VM. */
int ctrl_instance_start(struct controller *ctl, struct ctrl_error *e);
/* FlushMetrics: one line now. */
int ctrl_flush_metrics(struct controller *ctl, struct ctrl_error *e);
int ctrl_send_ctrl_alt_del(struct controller *ctl, struct ctrl_error *e);
/* PATCH /vm: Paused, Resumed (nothing to do if the VM already is). */
int ctrl_pause(struct controller *ctl, struct ctrl_error *e);
int ctrl_resume(struct controller *ctl, struct ctrl_error *e);

/* After boot: PartialDrive, PartialNetworkInterface, applied by the VM, then recorded. */
int ctrl_patch_drive(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_patch_net(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);

/*
 * The balloon, once configured. GET: Balloon (with the current target).
 * PATCH: BalloonUpdate, BalloonStatsUpdate: the configuration before boot,
 * the device after. GET statistics: BalloonStats, after boot, if enabled.
 */
int ctrl_get_balloon(struct controller *ctl, char **json, struct ctrl_error *e);
int ctrl_patch_balloon(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_get_balloon_stats(struct controller *ctl, char **json, struct ctrl_error *e);
int ctrl_patch_balloon_stats(struct controller *ctl, const char *body, size_t len,
			     struct ctrl_error *e);

/*
 * PUT /snapshot/create (SnapshotCreateParams): of the paused VM; refused
 * while it runs, and a Diff without dirty page tracking, with Firecracker's
 * messages. PUT /snapshot/load (SnapshotLoadParams): on a fresh process only
 * (nothing configured but the logger and metrics); the VM is then Paused, or
 * Running with resume_vm. A failed load leaves the process as it was.
 */
int ctrl_snapshot_create(struct controller *ctl, const char *body, size_t len,
			 struct ctrl_error *e);
int ctrl_snapshot_load(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);

/*
 * The MMDS data store (vmm/mmds.c), any time: PUT replaces it, PATCH merges
 * into it (RFC 7396), GET gives it as JSON. PUT /mmds/config is a
 * configuration section (CONFIG_MMDS), before boot.
 */
int ctrl_put_mmds(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_patch_mmds(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_get_mmds(struct controller *ctl, char **json, struct ctrl_error *e);

/*
 * actions_hotplug.c. PATCH /pmem/{id}: PartialPmem (the rate limiter), after
 * boot. /hotplug/memory once configured: GET (MemoryHotplugStatus; plugged
 * and requested 0 before boot), PATCH (MemoryHotplugSizeUpdate) after boot.
 */
int ctrl_patch_pmem(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_get_memory_hotplug(struct controller *ctl, char **json, struct ctrl_error *e);
int ctrl_patch_memory_hotplug(struct controller *ctl, const char *body, size_t len,
			      struct ctrl_error *e);

/*
 * actions_hotplug.c. /balloon/hinting/start (PATCH, BalloonStartCmd, the body
 * optional), /stop (PATCH), /status (GET: BalloonHintingStatus), after boot,
 * on a balloon configured with free_page_hinting.
 */
int ctrl_hint_start(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);
int ctrl_hint_stop(struct controller *ctl, struct ctrl_error *e);
int ctrl_hint_status(struct controller *ctl, char **json, struct ctrl_error *e);

/* One API request answered (@failed: with an error status), for the api_server metrics. */
void ctrl_count_request(struct controller *ctl, bool failed);

#endif
