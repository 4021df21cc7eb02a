// SPDX-License-Identifier: Apache-2.0
/* The process-level controller (see controller.h). */
#include "vmm/controller.h"
#include "vmm/serial.h"

#include "util/line_out.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* --- the controller --- */

int ctrl_open_log(struct logger *lg, const char *path, char err[VMM_ERR_MAX])
{
	int fd, cur = atomic_load(&lg->fd);
	bool pipe;
	int ret = line_out_open(path, &fd, &pipe);

	if (ret) {
		snprintf(err, VMM_ERR_MAX, "log path %s: %s", path, strerror(-ret));
		return ret;
	}
	if (cur) {
		/* Same descriptor, new file: a thread logging right now never writes to a closed
		 * one. */
		if (dup3(fd, cur, O_CLOEXEC) < 0) {
			ret = -errno;
			snprintf(err, VMM_ERR_MAX, "log path %s: %s", path, strerror(errno));
			close(fd);
			return ret;
		}
		close(fd);
	} else {
		atomic_store(&lg->fd, fd);
	}
	atomic_store(&lg->fd_is_pipe, pipe);
	return 0;
}

void ctrl_log_started(void)
{
	log_info("Running Firecracker v%s (ember v%s)", FIRECRACKER_VERSION, EMBER_VERSION);
}

static long long ts_us(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

/* The cumulative document: the API's group, then the VM's. */
static void ctrl_collect(void *opaque, json_t *root)
{
	struct controller *ctl = opaque;
	json_t *api = json_object(), *lg = json_object();

	if (api) {
		json_object_set_new(api, "process_startup_time_us", json_integer(ctl->startup_us));
		json_object_set_new(api, "process_startup_time_cpu_us",
				    json_integer(ctl->startup_cpu_us));
		json_object_set_new(api, "requests", json_integer((json_int_t)ctl->api_requests));
		json_object_set_new(api, "request_fails",
				    json_integer((json_int_t)ctl->api_faults));
		json_object_set_new(root, "api_server", api);
	}
	/* Firecracker's logger group: lines of the log and the metrics that did not go out. */
	if (lg) {
		json_object_set_new(lg, "missed_metrics_count",
				    json_integer((json_int_t)ctl->metrics.missed));
		json_object_set_new(lg, "metrics_fails",
				    json_integer((json_int_t)ctl->metrics.fails));
		json_object_set_new(
		    lg, "missed_log_count",
		    json_integer(ctl->log ? (json_int_t)atomic_load(&ctl->log->missed) : 0));
		json_object_set_new(root, "logger", lg);
	}
	ctrl_mmds_metrics(ctl, root);
	if (ctl->state != CTRL_NOT_STARTED && ctl->ops->collect_metrics)
		ctl->ops->collect_metrics(ctl, root);
}

int ctrl_configure_metrics(struct controller *ctl, char err[VMM_ERR_MAX])
{
	const struct metrics_config *mc = &ctl->cfg.metrics;
	struct timespec now, cpu;

	if (!mc->present)
		return 0;
	if (ctl->metrics.active) {
		snprintf(err, VMM_ERR_MAX, "metrics: already configured (%s)",
			 "metrics can be set once");
		return -EEXIST;
	}
	/* Start-up times (Firecracker's api_server group): from process start until now. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	ctl->startup_us = ts_us(&now) - ts_us(&ctl->start_mono);
	ctl->startup_cpu_us = ts_us(&cpu) - ts_us(&ctl->start_cpu);
	return metrics_open(&ctl->metrics, ctl->loop, mc->metrics_path, mc->emit_id, ctrl_id(ctl),
			    mc->properties_json, err, VMM_ERR_MAX);
}

void ctrl_init(struct controller *ctl, struct event_loop *loop, struct logger *lg,
	       const struct vm_backend_ops *ops)
{
	memset(ctl, 0, sizeof(*ctl));
	ctl->loop = loop;
	ctl->log = lg;
	ctl->ops = ops;
	config_init(&ctl->cfg);
	ctl->state = CTRL_NOT_STARTED;
	ctl->serial_in_fd = -1;
	ctl->serial_out_fd = STDOUT_FILENO;
	ctl->exit_code = 0;
	ctl->sig_h.fd = -1;
	metrics_init(&ctl->metrics, ctrl_collect, ctl);
	if (mmds_init(&ctl->mmds, MMDS_DEFAULT_LIMIT))
		log_error("MMDS: no key for its tokens (getrandom failed)");
}

void ctrl_destroy(struct controller *ctl)
{
	if (ctl->state != CTRL_NOT_STARTED) {
		ctl->ops->stop(ctl);
		ctl->state = CTRL_NOT_STARTED;
	}
	metrics_close(&ctl->metrics);
	ctrl_serial_close(ctl);
	config_free(&ctl->cfg);
	mmds_destroy(&ctl->mmds);
	if (ctl->sig_h.fd >= 0) {
		ev_del(ctl->loop, &ctl->sig_h);
		close(ctl->sig_h.fd);
	}
	ctl->sig_h.fd = -1;
}

const char *ctrl_state_name(enum ctrl_state state)
{
	switch (state) {
	case CTRL_NOT_STARTED:
		return "Not started";
	case CTRL_RUNNING:
		return "Running";
	case CTRL_PAUSED:
		return "Paused";
	}
	return "Not started";
}

const char *ctrl_id(const struct controller *ctl)
{
	return ctl->log && ctl->log->id[0] ? ctl->log->id : "anonymous-instance";
}

/*
 * How Firecracker ends on a signal (its signal_handler.rs): SIGTERM and SIGINT
 * it leaves at their default action, so its parent sees it killed by them
 * (status 0 here); the others it catches, logs and ends with an exit status of
 * its own. SIGPIPE it counts and goes on (main ignores it: writes get EPIPE).
 */
static const struct {
	int signo;
	int status; /* 0: killed by the signal */
	bool fault; /* the thread's own fault: handled where it happens */
} ends[] = {
    {SIGTERM, 0, false},
    {SIGINT, 0, false},
    {SIGHUP, CTRL_EXIT_SIGHUP, false},
    {SIGXCPU, CTRL_EXIT_SIGXCPU, false},
    /* A write past RLIMIT_FSIZE signals the writing thread: not one the loop can read. */
    {SIGXFSZ, CTRL_EXIT_SIGXFSZ, true},
    {SIGBUS, CTRL_EXIT_SIGBUS, true},
    {SIGSEGV, CTRL_EXIT_SIGSEGV, true},
    {SIGILL, CTRL_EXIT_SIGILL, true},
    {SIGSYS, CTRL_EXIT_BAD_SYSCALL, true},
};

static int end_status(int signo)
{
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (ends[i].signo == signo)
			return ends[i].status;
	return -1;
}

/*
 * A fault of the thread that gets it: nothing can be cleaned up safely from
 * here, so one line (async-signal-safe) and Firecracker's exit status at once,
 * as Firecracker does (it also flushes its metrics; ember's flush allocates).
 */
static void fault_handler(int signo, siginfo_t *si, void *uc)
{
	int status = end_status(signo);

	(void)uc;
	/* Firecracker: a SIGSYS that is not seccomp's (si_code SYS_SECCOMP, 1) is unexpected. */
	if (signo == SIGSYS && si->si_code != 1)
		status = CTRL_EXIT_UNEXPECTED;
	if (signo == SIGSYS && si->si_code == 1)
		seccomp_log_bad_syscall(si); /* names the syscall and the thread */
	else
		log_fatal_signal(signo, si->si_code);
	_exit(status);
}

/* SIGTERM, SIGINT, SIGHUP, SIGXCPU, read on the loop: the VM stops, then main cleans up. */
static void signal_ready(struct ev_handler *h, uint32_t events)
{
	struct controller *ctl = h->opaque;
	struct signalfd_siginfo si;
	int status;

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	status = end_status((int)si.ssi_signo);
	if (status)
		log_error("Shutting down VM after intercepting signal %u, code %d.", si.ssi_signo,
			  si.ssi_code);
	else
		log_info("received signal %u: stopping the VM", si.ssi_signo);
	if (!ctl->end_signal)
		ctl->end_signal = (int)si.ssi_signo;
	if (ctl->state != CTRL_NOT_STARTED)
		ctl->ops->request_exit(ctl, VM_EXIT_OK);
	else
		ev_stop(ctl->loop);
}

int ctrl_exit(int signo, int code)
{
	int status = signo ? end_status(signo) : -1;
	sigset_t sigs;

	if (status > 0)
		return status;
	if (status < 0)
		return code;
	/* The signal's default action, now that the socket and the metrics are dealt with. */
	signal(signo, SIG_DFL);
	sigemptyset(&sigs);
	sigaddset(&sigs, signo);
	raise(signo);
	pthread_sigmask(SIG_UNBLOCK, &sigs, NULL);
	return 128 + signo; /* not reached: the unblocked signal ends the process */
}

int ctrl_watch_signals(struct controller *ctl)
{
	struct sigaction sa = {.sa_sigaction = fault_handler, .sa_flags = SA_SIGINFO};
	sigset_t sigs;

	/* The faults: handled on the thread that gets them, other signals held meanwhile. */
	sigfillset(&sa.sa_mask);
	sigemptyset(&sigs);
	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
		if (ends[i].fault) {
			if (sigaction(ends[i].signo, &sa, NULL))
				return -errno;
			continue;
		}
		/*
		 * Firecracker catches SIGHUP and SIGXCPU even when its parent ignored
		 * them (nohup); an ignored signal would never reach the signalfd.
		 * SIGTERM and SIGINT keep what ember inherited, as in Firecracker.
		 */
		if (ends[i].status)
			signal(ends[i].signo, SIG_DFL);
		sigaddset(&sigs, ends[i].signo);
	}
	/* The others blocked in every thread (threads inherit the mask), read on the loop. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	ctl->sig_h =
	    (struct ev_handler){signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK), signal_ready, ctl};
	if (ctl->sig_h.fd < 0)
		return -errno;
	return ev_add(ctl->loop, &ctl->sig_h, EPOLLIN);
}

int ctrl_run(struct controller *ctl)
{
	int ret = ev_run(ctl->loop);
	int code = ctl->exit_code;

	if (ret) {
		log_error("event loop: %s", strerror(-ret));
		code = VM_EXIT_ERROR;
		if (ctl->state != CTRL_NOT_STARTED)
			ctl->ops->request_exit(ctl, VM_EXIT_ERROR);
	}
	if (ctl->state != CTRL_NOT_STARTED) {
		code = ctl->ops->stop(ctl);
		ctl->state = CTRL_NOT_STARTED;
	}
	return code;
}
