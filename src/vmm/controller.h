/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The process-level controller: what Firecracker calls the VMM as opposed to
 * the VM. It owns the configuration (pending until InstanceStart, then what
 * the VM was built from), the VM once started, its state (Not started,
 * Running, Paused), the logger's settings, the metrics, and the signals.
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
#include "config/snapshot.h"
#include "core/event_loop.h"
#include "vmm/kvm.h"
#include "devices/mmds/mmds.h"
#include "vmm/metrics.h"
#include "seccomp/seccomp.h"

#include <stdbool.h>
#include <time.h>

/* ember's own version. */
#define EMBER_VERSION "0.1.0"
/*
 * The Firecracker API ember implements: the swagger file's info.version
 * (tests/reference/firecracker-api.yaml; tests/cli.sh checks that they agree).
 * Clients read it where they read Firecracker's version: the first line of
 * --version, GET /version, GET /'s vmm_version; they gate features on it.
 */
#define FIRECRACKER_VERSION "1.17.0-dev"
/* InstanceInfo.app_name: ember's name and its own version, beside Firecracker's. */
#define EMBER_APP_NAME "ember v" EMBER_VERSION
#define VMM_ERR_MAX    CONFIG_ERR_MAX

/* Firecracker's exit statuses for what it ends on (its FcExitCode). */
enum {
	CTRL_EXIT_UNEXPECTED = 2,
	CTRL_EXIT_BAD_SYSCALL = 148,
	CTRL_EXIT_SIGBUS = 149,
	CTRL_EXIT_SIGSEGV = 150,
	CTRL_EXIT_SIGXFSZ = 151,
	CTRL_EXIT_SIGXCPU = 154,
	CTRL_EXIT_SIGHUP = 156,
	CTRL_EXIT_SIGILL = 157,
};

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
	/* /balloon/hinting/start, stop, status: free page hinting runs. */
	int (*balloon_hint_start)(struct controller *ctl, bool ack_on_stop, char err[VMM_ERR_MAX]);
	int (*balloon_hint_stop)(struct controller *ctl, char err[VMM_ERR_MAX]);
	int (*balloon_hint_status)(struct controller *ctl, uint32_t *host_cmd, uint32_t *guest_cmd,
				   bool *has_guest, char err[VMM_ERR_MAX]);
	/* PATCH /pmem/{id}: the device's whole rate limiter. */
	int (*pmem_update)(struct controller *ctl, const char *id,
			   const struct rate_limiter_config *rl, char err[VMM_ERR_MAX]);
	/* /hotplug/memory: the virtio-mem device's requested size; its sizes (MiB). */
	int (*memory_hotplug_request)(struct controller *ctl, uint32_t requested_mib,
				      char err[VMM_ERR_MAX]);
	int (*memory_hotplug_sizes)(struct controller *ctl, uint64_t *plugged_mib,
				    uint64_t *requested_mib, char err[VMM_ERR_MAX]);

	/*
	 * Snapshots, optional. create: of the paused VM. load: on a fresh
	 * controller, builds the VM from the snapshot (ctl->cfg becomes the
	 * snapshot's configuration, with the load's overrides) and leaves it
	 * paused, or running with @p->resume_vm; on failure nothing changes.
	 */
	int (*snapshot_create)(struct controller *ctl, const struct snapshot_create_params *p,
			       char err[VMM_ERR_MAX]);
	int (*snapshot_load)(struct controller *ctl, const struct snapshot_load_params *p,
			     char err[VMM_ERR_MAX]);
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

	/*
	 * Check on the host what a PUT names (vmm/put_checks.h), as Firecracker
	 * does. main sets it; the unit tests and the fuzzer, whose paths name no
	 * files, leave it off.
	 */
	bool put_checks;

	/* The VM's settings from the command line. */
	bool boot_timer;
	bool no_pvm_profile;
	const char *sample_rip_path; /* --sample-rip FILE: where the vCPUs' rip samples go */
	const struct seccomp_progs *seccomp; /* the vmm and vcpu filters; NULL or off: none */
	struct timespec start_mono, start_cpu;
	int serial_in_fd, serial_out_fd;
	/* main starts it once the API serves, before any request; the VM takes it (kvm.h). */
	struct kvm_prewarm prewarm;

	struct metrics metrics;
	struct mmds mmds; /* the metadata store (vmm/mmds.c): the process's, not the VM's */
	unsigned long long api_requests;      /* API requests answered */
	unsigned long long api_faults;	      /* of which with an error status */
	long long startup_us, startup_cpu_us; /* process start to metrics configuration */

	/*
	 * Something that builds a VM was configured (Firecracker's "boot path":
	 * any section but the logger and metrics): PUT /snapshot/load is refused.
	 */
	bool boot_path;
	bool start_bad_input; /* the last start failed on the configuration or its files */
	int exit_code;	      /* what the process exits with when no VM says otherwise */
	int end_signal;	      /* the signal that stopped the process (ctrl_exit), or 0 */
	struct ev_handler sig_h;
};

/* @loop and @lg belong to the caller; cfg starts at Firecracker's defaults. */
void ctrl_init(struct controller *ctl, struct event_loop *loop, struct logger *lg,
	       const struct vm_backend_ops *ops);
/* Stops the VM if one is still there, frees the configuration, closes the signalfd. */
void ctrl_destroy(struct controller *ctl);

/*
 * Signals, as Firecracker ends on them. SIGTERM, SIGINT, SIGHUP and SIGXCPU
 * are blocked in every thread and read on the loop: the VM stops and main
 * cleans up (the socket removed, the last metrics line written), then
 * ctrl_exit() ends the process as Firecracker would have. SIGBUS, SIGSEGV,
 * SIGILL, SIGSYS and SIGXFSZ, which the faulting thread itself gets, are
 * handled where they happen: one log line, then Firecracker's exit status.
 */
int ctrl_watch_signals(struct controller *ctl);
/*
 * The end of the process after main's clean-up, given ctl->end_signal
 * (@signo, 0 for none): killed by SIGTERM or SIGINT (their default action:
 * Firecracker does not catch them, and its clients expect that status), the
 * exit status Firecracker gives the signals it catches (SIGHUP 156, SIGXCPU
 * 154), else @code. Returns the status to exit with when it returns.
 */
int ctrl_exit(int signo, int code);

/* Opens the metrics from cfg.metrics (config file or PUT /metrics). */
int ctrl_configure_metrics(struct controller *ctl, char err[VMM_ERR_MAX]);

/* Firecracker's "mmds" metrics group (vmm/mmds.c). */
void ctrl_mmds_metrics(struct controller *ctl, json_t *root);

/* Runs the event loop until the VM ends or a signal arrives; returns the exit code. */
int ctrl_run(struct controller *ctl);

/* Firecracker's names: "Not started", "Running", "Paused". */
const char *ctrl_state_name(enum ctrl_state state);
/* The instance id (--id), "anonymous-instance" by default. */
const char *ctrl_id(const struct controller *ctl);

/*
 * Opens @path (a file or a named pipe, read yet or not: util/line_out.h) for
 * the log, as Firecracker's logger does. The first call gives @lg a
 * descriptor; later calls swap the file under it (dup3), so other threads
 * never write to a closed one.
 */
int ctrl_open_log(struct logger *lg, const char *path, char err[VMM_ERR_MAX]);
/* Firecracker's first line in a log, once the logger is set up: "Running Firecracker vX.Y.Z". */
void ctrl_log_started(void);

#endif
