/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process-level controller: what Firecracker calls the VMM as opposed to
 * the VM. It owns the configuration (pending until InstanceStart, then what
 * the VM was built from), the VM once started, its state (Not started,
 * Running, Paused), the logger's settings, the metrics, and SIGTERM/SIGINT.
 * main() sets it up and runs it (this file); what the API can ask of it are
 * its actions (vmm/actions.h), which hold the state rules. Everything runs on
 * the event loop's thread.
 *
 * What it asks of the VM goes through struct vm_backend_ops: kvm_backend_ops
 * (vm_backend.c) builds and drives a real VM; the unit tests and the fuzzer
 * plug in a fake.
 */
#ifndef EMBER_VMM_CONTROLLER_H
#define EMBER_VMM_CONTROLLER_H

#include "util/log.h"
#include "config/config.h"
#include "core/event_loop.h"
#include "vmm/metrics.h"
#include "seccomp/seccomp.h"

#include <stdbool.h>
#include <time.h>

#define EMBER_VERSION  "0.1.0"
#define EMBER_APP_NAME "ember" /* InstanceInfo.app_name */
#define VMM_ERR_MAX    CONFIG_ERR_MAX

enum ctrl_state {
	CTRL_NOT_STARTED,
	CTRL_RUNNING,
	CTRL_PAUSED,
};

struct vm;
struct controller;

/* Each returns 0, or -errno with one line in @err saying what failed and why. */
struct vm_backend_ops {
	/* Builds the VM from ctl->cfg (validated) and starts its vCPUs. */
	int (*start)(struct controller *ctl, char err[VMM_ERR_MAX]);
	/* Stops and tears down the started VM; returns its exit code. */
	int (*stop)(struct controller *ctl);
	/* Asks the started VM to end with @code (the event loop then stops). */
	void (*request_exit)(struct controller *ctl, int code);
	int (*pause)(struct controller *ctl, char err[VMM_ERR_MAX]);
	int (*resume)(struct controller *ctl, char err[VMM_ERR_MAX]);
	int (*ctrl_alt_del)(struct controller *ctl, char err[VMM_ERR_MAX]);
	/* Adds the VM's metric groups (vcpu, uart, i8042, devices) to @root. Optional. */
	void (*collect_metrics)(struct controller *ctl, json_t *root);
	/* Sends the log to the file or named pipe @path from now on. */
	int (*set_log_path)(struct controller *ctl, const char *path, char err[VMM_ERR_MAX]);

	/*
	 * The devices of the started VM (the API's after-boot updates). Each is
	 * optional: without it the action answers that ember cannot do it.
	 * balloon_*: the VM's balloon (the actions check that one is configured).
	 */
	int (*balloon_set_target)(struct controller *ctl, uint32_t amount_mib,
				  char err[VMM_ERR_MAX]);
	int (*balloon_set_stats_interval)(struct controller *ctl, uint32_t seconds,
					  char err[VMM_ERR_MAX]);
	int (*balloon_stats)(struct controller *ctl, struct balloon_stats *out,
			     char err[VMM_ERR_MAX]);
	/*
	 * PATCH /drives/{id}: a new backing file (@path_on_host, NULL: unchanged)
	 * and/or rate limiter (@rl, the drive's whole limiter; NULL: unchanged).
	 */
	int (*drive_update)(struct controller *ctl, const char *drive_id, const char *path_on_host,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX]);
	/* PATCH /network-interfaces/{id}: the interface's whole rx and tx limiters. */
	int (*net_update)(struct controller *ctl, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char err[VMM_ERR_MAX]);
};

extern const struct vm_backend_ops kvm_backend_ops;

struct controller {
	struct event_loop *loop;
	struct logger *log;
	const struct vm_backend_ops *ops;
	void *priv; /* the ops' own data (a fake VM's) */

	struct vm_config cfg;
	enum ctrl_state state;
	struct vm *vm; /* kvm_backend_ops: the VM once started */

	/* The VM's settings from the command line. */
	bool boot_timer;
	bool no_pvm_profile;
	const char *sample_rip_path; /* --sample-rip FILE: where the vCPUs' rip samples go */
	const struct seccomp_progs *seccomp; /* the vmm and vcpu filters; NULL or off: none */
	struct timespec start_mono, start_cpu;
	int serial_in_fd, serial_out_fd;

	struct metrics metrics;
	unsigned long long api_requests;      /* API requests answered */
	unsigned long long api_faults;	      /* of which with an error status */
	long long startup_us, startup_cpu_us; /* process start to metrics configuration */

	bool start_bad_input; /* the last start failed on the configuration or its files */
	int exit_code;	      /* what the process exits with when no VM says otherwise */
	struct ev_handler sig_h;
};

/* @loop and @lg belong to the caller; cfg starts at Firecracker's defaults. */
void ctrl_init(struct controller *ctl, struct event_loop *loop, struct logger *lg,
	       const struct vm_backend_ops *ops);
/* Stops the VM if one is still there, frees the configuration, closes the signalfd. */
void ctrl_destroy(struct controller *ctl);

/* SIGTERM and SIGINT, blocked in every thread, stop the VM (status 0) through the loop. */
int ctrl_watch_signals(struct controller *ctl);

/* Opens the metrics from cfg.metrics (config file or PUT /metrics). */
int ctrl_configure_metrics(struct controller *ctl, char err[VMM_ERR_MAX]);

/* Runs the event loop until the VM ends or a signal arrives; returns the exit code. */
int ctrl_run(struct controller *ctl);

/* Firecracker's names: "Not started", "Running", "Paused". */
const char *ctrl_state_name(enum ctrl_state state);
/* The instance id (--id), "anonymous-instance" by default. */
const char *ctrl_id(const struct controller *ctl);

/*
 * Opens @path (a file or named pipe) for the log, as Firecracker's logger
 * does: append, create, non-blocking. The first call gives @lg a stream; later
 * calls swap the file under it (dup2), so other threads never see a stream
 * closed under them.
 */
int ctrl_open_log(struct logger *lg, const char *path, char err[VMM_ERR_MAX]);

#endif
