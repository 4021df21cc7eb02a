// SPDX-License-Identifier: Apache-2.0
/* The process-level controller (see vmm.h). */
#include "vmm/controller.h"

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

int vmm_open_log(struct logger *lg, const char *path, char err[VMM_ERR_MAX])
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0640);
	int ret;

	if (fd < 0) {
		ret = -errno;
		snprintf(err, VMM_ERR_MAX, "log path %s: %s", path, strerror(errno));
		return ret;
	}
	if (lg->out) {
		/* Same stream, new file: a thread logging right now is never left dangling. */
		fflush(lg->out);
		if (dup2(fd, fileno(lg->out)) < 0) {
			ret = -errno;
			snprintf(err, VMM_ERR_MAX, "log path %s: %s", path, strerror(errno));
			close(fd);
			return ret;
		}
		close(fd);
		return 0;
	}
	lg->out = fdopen(fd, "a");
	if (!lg->out) {
		ret = -errno;
		snprintf(err, VMM_ERR_MAX, "log path %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	return 0;
}

static long long ts_us(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000000 + t->tv_nsec / 1000;
}

/* The cumulative document: the API's group, then the VM's. */
static void vmm_collect(void *opaque, json_t *root)
{
	struct vmm *vmm = opaque;
	json_t *api = json_object();

	if (api) {
		json_object_set_new(api, "process_startup_time_us", json_integer(vmm->startup_us));
		json_object_set_new(api, "process_startup_time_cpu_us",
				    json_integer(vmm->startup_cpu_us));
		json_object_set_new(api, "requests", json_integer((json_int_t)vmm->api_requests));
		json_object_set_new(api, "request_fails",
				    json_integer((json_int_t)vmm->api_faults));
		json_object_set_new(root, "api_server", api);
	}
	if (vmm->state != VMM_NOT_STARTED && vmm->ops->collect_metrics)
		vmm->ops->collect_metrics(vmm, root);
}

int vmm_configure_metrics(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	const struct metrics_config *mc = &vmm->cfg.metrics;
	struct timespec now, cpu;

	if (!mc->present)
		return 0;
	if (vmm->metrics.active) {
		snprintf(err, VMM_ERR_MAX, "metrics: already configured (%s)",
			 "metrics can be set once");
		return -EEXIST;
	}
	/* Start-up times (Firecracker's api_server group): from process start until now. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	vmm->startup_us = ts_us(&now) - ts_us(&vmm->start_mono);
	vmm->startup_cpu_us = ts_us(&cpu) - ts_us(&vmm->start_cpu);
	return metrics_open(&vmm->metrics, vmm->loop, mc->metrics_path, mc->emit_id, vmm_id(vmm),
			    mc->properties_json, err, VMM_ERR_MAX);
}

int vmm_flush_metrics(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = metrics_flush(&vmm->metrics);

	if (ret == -ENODEV)
		snprintf(err, VMM_ERR_MAX,
			 "FlushMetrics: metrics not configured "
			 "(PUT /metrics first)");
	else if (ret)
		snprintf(err, VMM_ERR_MAX, "FlushMetrics: writing %s: %s",
			 vmm->cfg.metrics.metrics_path, strerror(-ret));
	return ret;
}

void vmm_init(struct vmm *vmm, struct event_loop *loop, struct logger *lg,
	      const struct vmm_ops *ops)
{
	memset(vmm, 0, sizeof(*vmm));
	vmm->loop = loop;
	vmm->log = lg;
	vmm->ops = ops;
	config_init(&vmm->cfg);
	vmm->state = VMM_NOT_STARTED;
	vmm->serial_in_fd = -1;
	vmm->serial_out_fd = STDOUT_FILENO;
	vmm->exit_code = 0;
	vmm->sig_h.fd = -1;
	metrics_init(&vmm->metrics, vmm_collect, vmm);
}

void vmm_destroy(struct vmm *vmm)
{
	if (vmm->state != VMM_NOT_STARTED) {
		vmm->ops->stop(vmm);
		vmm->state = VMM_NOT_STARTED;
	}
	metrics_close(&vmm->metrics);
	config_free(&vmm->cfg);
	if (vmm->sig_h.fd >= 0) {
		ev_del(vmm->loop, &vmm->sig_h);
		close(vmm->sig_h.fd);
	}
	vmm->sig_h.fd = -1;
}

const char *vmm_state_name(enum vmm_state state)
{
	switch (state) {
	case VMM_NOT_STARTED:
		return "Not started";
	case VMM_RUNNING:
		return "Running";
	case VMM_PAUSED:
		return "Paused";
	}
	return "Not started";
}

const char *vmm_id(const struct vmm *vmm)
{
	return vmm->log && vmm->log->id[0] ? vmm->log->id : "anonymous-instance";
}

/* SIGTERM and SIGINT end the VM cleanly (exit status 0), as Firecracker does. */
static void signal_ready(struct ev_handler *h, uint32_t events)
{
	struct vmm *vmm = h->opaque;
	struct signalfd_siginfo si;

	(void)events;
	if (read(h->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("received signal %u: stopping the VM", si.ssi_signo);
	if (vmm->state != VMM_NOT_STARTED)
		vmm->ops->request_exit(vmm, VM_EXIT_OK);
	else
		ev_stop(vmm->loop);
}

int vmm_watch_signals(struct vmm *vmm)
{
	sigset_t sigs;

	/* Blocked in every thread (threads inherit the mask); delivered through the loop. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	vmm->sig_h =
	    (struct ev_handler){signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK), signal_ready, vmm};
	if (vmm->sig_h.fd < 0)
		return -errno;
	return ev_add(vmm->loop, &vmm->sig_h, EPOLLIN);
}

int vmm_start(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret;

	if (vmm->state != VMM_NOT_STARTED) {
		snprintf(err, VMM_ERR_MAX,
			 "The requested operation is not supported after starting the microVM.");
		return -EBUSY;
	}
	vmm->start_bad_input = false;
	ret = config_validate(&vmm->cfg, err);
	if (ret) {
		vmm->start_bad_input = true;
		return ret;
	}
	ret = vmm->ops->start(vmm, err);
	if (ret)
		return ret;
	vmm->state = VMM_RUNNING;
	return 0;
}

static int need_started(const struct vmm *vmm, char err[VMM_ERR_MAX])
{
	if (vmm->state != VMM_NOT_STARTED)
		return 0;
	snprintf(err, VMM_ERR_MAX,
		 "The requested operation is not supported before starting the microVM.");
	return -EINVAL;
}

int vmm_pause(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = need_started(vmm, err);

	if (ret || vmm->state == VMM_PAUSED)
		return ret;
	ret = vmm->ops->pause(vmm, err);
	if (!ret)
		vmm->state = VMM_PAUSED;
	return ret;
}

int vmm_resume(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = need_started(vmm, err);

	if (ret || vmm->state == VMM_RUNNING)
		return ret;
	ret = vmm->ops->resume(vmm, err);
	if (!ret)
		vmm->state = VMM_RUNNING;
	return ret;
}

int vmm_send_ctrl_alt_del(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = need_started(vmm, err);

	return ret ? ret : vmm->ops->ctrl_alt_del(vmm, err);
}

int vmm_update_logger(struct vmm *vmm, const char *json, size_t len, char err[VMM_ERR_MAX])
{
	struct logger *lg = vmm->log;
	struct vm_config scratch;
	int ret;

	/* Start from the running logger, so only the keys given change. */
	config_init(&scratch);
	scratch.logger = vmm->cfg.logger;
	scratch.logger.log_path = NULL; /* set only if the body has one */
	scratch.logger.level = lg->level;
	scratch.logger.show_level = lg->show_level;
	scratch.logger.show_log_origin = lg->show_origin;
	ret = config_update(&scratch, CONFIG_LOGGER, json, len, true, err);
	if (!ret && scratch.logger.log_path)
		ret = vmm->ops->set_log_path(vmm, scratch.logger.log_path, err);
	if (ret) {
		config_free(&scratch);
		return ret;
	}
	lg->level = scratch.logger.level;
	lg->show_level = scratch.logger.show_level;
	lg->show_origin = scratch.logger.show_log_origin;
	if (scratch.logger.log_path) {
		free(vmm->cfg.logger.log_path);
	} else {
		scratch.logger.log_path = vmm->cfg.logger.log_path;
	}
	vmm->cfg.logger = scratch.logger;
	return 0;
}

int vmm_run(struct vmm *vmm)
{
	int ret = ev_run(vmm->loop);
	int code = vmm->exit_code;

	if (ret) {
		log_error("event loop: %s", strerror(-ret));
		code = VM_EXIT_ERROR;
		if (vmm->state != VMM_NOT_STARTED)
			vmm->ops->request_exit(vmm, VM_EXIT_ERROR);
	}
	if (vmm->state != VMM_NOT_STARTED) {
		code = vmm->ops->stop(vmm);
		vmm->state = VMM_NOT_STARTED;
	}
	return code;
}
