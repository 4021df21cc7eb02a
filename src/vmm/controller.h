/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process-level controller: what Firecracker calls the VMM as opposed to
 * the VM. It owns the configuration (pending until InstanceStart, then what
 * the VM was built from), the VM once started, its state (Not started,
 * Running, Paused), the logger's settings, and SIGTERM/SIGINT. The API's
 * router (api/api.c) and main() drive it; everything runs on the event loop's
 * thread.
 *
 * What it asks of the VM goes through struct vmm_ops: vmm_kvm_ops builds and
 * drives a real VM (vm.c); the unit tests and the fuzzer plug in a fake.
 */
#ifndef EMBER_VMM_VMM_H
#define EMBER_VMM_VMM_H

#include "util/log.h"
#include "config/config.h"
#include "core/event_loop.h"
#include "vmm/metrics.h"

#include <stdbool.h>
#include <time.h>

#define EMBER_VERSION  "0.1.0"
#define EMBER_APP_NAME "ember" /* InstanceInfo.app_name */
#define VMM_ERR_MAX    CONFIG_ERR_MAX

enum vmm_state {
	VMM_NOT_STARTED,
	VMM_RUNNING,
	VMM_PAUSED,
};

struct vm;
struct vmm;

/* Each returns 0, or -errno with one line in @err saying what failed and why. */
struct vmm_ops {
	/* Builds the VM from vmm->cfg (validated) and starts its vCPUs. */
	int (*start)(struct vmm *vmm, char err[VMM_ERR_MAX]);
	/* Stops and tears down the started VM; returns its exit code. */
	int (*stop)(struct vmm *vmm);
	/* Asks the started VM to end with @code (the event loop then stops). */
	void (*request_exit)(struct vmm *vmm, int code);
	int (*pause)(struct vmm *vmm, char err[VMM_ERR_MAX]);
	int (*resume)(struct vmm *vmm, char err[VMM_ERR_MAX]);
	int (*ctrl_alt_del)(struct vmm *vmm, char err[VMM_ERR_MAX]);
	/* Adds the VM's metric groups (vcpu, uart, i8042, devices) to @root. Optional. */
	void (*collect_metrics)(struct vmm *vmm, json_t *root);
	/* Sends the log to the file or named pipe @path from now on. */
	int (*set_log_path)(struct vmm *vmm, const char *path, char err[VMM_ERR_MAX]);

	/*
	 * The devices of the started VM (the API's after-boot updates). Each is
	 * optional: without it the router answers that ember cannot do it.
	 * balloon_*: the VM's balloon (the router checks that one is configured).
	 */
	int (*balloon_set_target)(struct vmm *vmm, uint32_t amount_mib, char err[VMM_ERR_MAX]);
	int (*balloon_set_stats_interval)(struct vmm *vmm, uint32_t seconds, char err[VMM_ERR_MAX]);
	int (*balloon_stats)(struct vmm *vmm, struct balloon_stats *out, char err[VMM_ERR_MAX]);
	/*
	 * PATCH /drives/{id}: a new backing file (@path_on_host, NULL: unchanged)
	 * and/or rate limiter (@rl, the drive's whole limiter; NULL: unchanged).
	 */
	int (*drive_update)(struct vmm *vmm, const char *drive_id, const char *path_on_host,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX]);
	/* PATCH /network-interfaces/{id}: the interface's whole rx and tx limiters. */
	int (*net_update)(struct vmm *vmm, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char err[VMM_ERR_MAX]);
};

extern const struct vmm_ops vmm_kvm_ops;

struct vmm {
	struct event_loop *loop;
	struct logger *log;
	const struct vmm_ops *ops;
	void *priv; /* the ops' own data (a fake VM's) */

	struct vm_config cfg;
	enum vmm_state state;
	struct vm *vm; /* vmm_kvm_ops: the VM once started */

	/* The VM's settings from the command line. */
	bool boot_timer;
	bool no_pvm_profile;
	const char *sample_rip_path; /* --sample-rip FILE: where the vCPUs' rip samples go */
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
void vmm_init(struct vmm *vmm, struct event_loop *loop, struct logger *lg,
	      const struct vmm_ops *ops);
/* Stops the VM if one is still there, frees the configuration, closes the signalfd. */
void vmm_destroy(struct vmm *vmm);

/* SIGTERM and SIGINT, blocked in every thread, stop the VM (status 0) through the loop. */
int vmm_watch_signals(struct vmm *vmm);

/* InstanceStart: checks the configuration, builds and starts the VM. */
int vmm_start(struct vmm *vmm, char err[VMM_ERR_MAX]);
int vmm_pause(struct vmm *vmm, char err[VMM_ERR_MAX]);
int vmm_resume(struct vmm *vmm, char err[VMM_ERR_MAX]);
int vmm_send_ctrl_alt_del(struct vmm *vmm, char err[VMM_ERR_MAX]);

/*
 * PUT /logger: applies the Logger object @json to the running logger (the keys
 * given; a new log_path takes effect at once) and records it in the
 * configuration.
 */
/* Opens the metrics from cfg.metrics (config file or PUT /metrics). */
int vmm_configure_metrics(struct vmm *vmm, char err[VMM_ERR_MAX]);
/* FlushMetrics: one line now. */
int vmm_flush_metrics(struct vmm *vmm, char err[VMM_ERR_MAX]);

int vmm_update_logger(struct vmm *vmm, const char *json, size_t len, char err[VMM_ERR_MAX]);

/* Runs the event loop until the VM ends or a signal arrives; returns the exit code. */
int vmm_run(struct vmm *vmm);

/* Firecracker's names: "Not started", "Running", "Paused". */
const char *vmm_state_name(enum vmm_state state);
/* The instance id (--id), "anonymous-instance" by default. */
const char *vmm_id(const struct vmm *vmm);

/*
 * Opens @path (a file or named pipe) for the log, as Firecracker's logger
 * does: append, create, non-blocking. The first call gives @lg a stream; later
 * calls swap the file under it (dup2), so other threads never see a stream
 * closed under them.
 */
int vmm_open_log(struct logger *lg, const char *path, char err[VMM_ERR_MAX]);

#endif
