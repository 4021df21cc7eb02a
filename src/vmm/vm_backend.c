// SPDX-License-Identifier: Apache-2.0
/*
 * kvm_backend_ops: the controller's operations on a real VM (vm.c). Apart from
 * controller.c so that the router's fuzzer links the controller without KVM.
 */
#include "vmm/vm.h"
#include "arch/x86_64/arch.h"
#include "vmm/balloon.h"
#include "vmm/memory_hotplug.h"
#include "vmm/pmem.h"
#include "vmm/device_table.h"
#include "vmm/drives.h"
#include "vmm/network_interfaces.h"
#include "vmm/controller.h"
#include "vmm/snapshot.h"

#include <errno.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the VM takes from the process (the command line, the console). */
static void vm_settings(struct vm *vm, struct controller *vmm)
{
	vm->boot_timer_enabled = vmm->boot_timer;
	vm->no_pvm_profile = vmm->no_pvm_profile;
	vm->start_mono = vmm->start_mono;
	vm->start_cpu = vmm->start_cpu;
	vm->console.out_fd = vmm->serial_out_fd;
	vm->console.in_fd = vmm->serial_in_fd;
	vm->loop = vmm->loop;
	vm->seccomp_vcpu = seccomp_progs_get(vmm->seccomp, SECCOMP_VCPU);
	vm->seccomp_setup = seccomp_progs_get(vmm->seccomp, SECCOMP_SETUP);
	vm->seccomp_own_vmm = !vmm->seccomp || !vmm->seccomp->from_file;
	vm->prewarm = &vmm->prewarm;
	vm->mmds = &vmm->mmds;
}

/*
 * The last step before this thread serves the running guest (a boot or a
 * restore), as Firecracker's: from here on it makes only the vmm filter's
 * syscalls. The VM is built by then: KVM_CREATE_VM, the vCPUs and their
 * threads, the TAPs, io_uring rings, guest memory are none of its business.
 */
static int install_vmm_filter(struct controller *vmm, char err[VMM_ERR_MAX])
{
	/* The VM's late thread (kvm.c) filters itself once the VM is handed over. */
	int ret = seccomp_install(seccomp_progs_get(vmm->seccomp, SECCOMP_VMM));

	if (ret)
		snprintf(err, VMM_ERR_MAX, "installing the vmm seccomp filter: %s", strerror(-ret));
	return ret;
}

static int kvm_start(struct controller *vmm, char err[VMM_ERR_MAX])
{
	struct vm_config copy;
	const char *why;
	struct vm *vm;
	int ret;

	vm = calloc(1, sizeof(*vm));
	if (!vm || config_copy(&copy, &vmm->cfg)) {
		free(vm);
		snprintf(err, VMM_ERR_MAX, "out of memory");
		return -ENOMEM;
	}
	vm_settings(vm, vmm);

	/* vm_create logs one line on failure: that line is the reason given. */
	log_capture_start();
	ret = vm_create(vm, &copy); /* takes copy's strings, even on failure */
	why = log_capture_end();
	if (ret) {
		snprintf(err, VMM_ERR_MAX, "%s", *why ? why : strerror(-ret));
		vmm->start_bad_input = vm->bad_input;
		vm_destroy(vm);
		free(vm);
		return ret;
	}
	/*
	 * Said once the VM is built and before its vCPUs run: a line logged
	 * later would land in the middle of the guest's first console output.
	 */
	log_info("VM started: %u vCPU%s, %llu MiB, kernel %s", vmm->cfg.machine.vcpu_count,
		 vmm->cfg.machine.vcpu_count == 1 ? "" : "s",
		 (unsigned long long)vmm->cfg.machine.mem_size_mib,
		 vmm->cfg.boot.kernel_image_path);
	ret = vm_start(vm);
	if (ret) {
		/* vm_start asked the VM to end: the loop stops and the process exits. */
		snprintf(err, VMM_ERR_MAX, "starting the vCPU threads: %s", strerror(-ret));
		vmm->exit_code = vm_stop(vm);
		vm_destroy(vm);
		free(vm);
		return ret;
	}
	if (vmm->sample_rip_path)
		vm_sampler_start(vm, vmm->sample_rip_path, 10); /* logs why it could not */
	ret = install_vmm_filter(vmm, err);
	if (ret) {
		vm_request_exit(vm, VM_EXIT_ERROR);
		vmm->exit_code = vm_stop(vm);
		vm_destroy(vm);
		free(vm);
		return ret;
	}
	vmm->vm = vm;
	return 0;
}

static int kvm_stop(struct controller *vmm)
{
	int code = vm_stop(vmm->vm);

	/* The last metrics line, with the vCPUs stopped and the devices still there. */
	metrics_close(&vmm->metrics);
	vm_destroy(vmm->vm);
	free(vmm->vm);
	vmm->vm = NULL;
	return code;
}

static void kvm_request_exit(struct controller *vmm, int code)
{
	vm_request_exit(vmm->vm, code);
}

static int kvm_pause(struct controller *vmm, char err[VMM_ERR_MAX])
{
	int ret = vm_pause(vmm->vm);

	if (ret)
		snprintf(err, VMM_ERR_MAX, "the VM is shutting down: it cannot be paused");
	return ret;
}

static int kvm_resume(struct controller *vmm, char err[VMM_ERR_MAX])
{
	int ret = vm_resume(vmm->vm);

	if (ret)
		snprintf(err, VMM_ERR_MAX, "the VM cannot be resumed: %s", strerror(-ret));
	return ret;
}

static int kvm_ctrl_alt_del(struct controller *vmm, char err[VMM_ERR_MAX])
{
	int ret = i8042_send_ctrl_alt_del(&vmm->vm->i8042);

	if (ret)
		snprintf(err, VMM_ERR_MAX,
			 "SendCtrlAltDel: the i8042 output buffer is full (the guest has not read "
			 "the previous keys)");
	return ret;
}

static int kvm_set_log_path(struct controller *vmm, const char *path, char err[VMM_ERR_MAX])
{
	return ctrl_open_log(vmm->log, path, err);
}

/*
 * The device ops: the device logs one error line on failure (captured as the
 * API's fault message, as vm_create's is).
 */
static void failed(char err[VMM_ERR_MAX], const char *why, const char *what, int ret)
{
	if (why && *why)
		snprintf(err, VMM_ERR_MAX, "%s", why);
	else
		snprintf(err, VMM_ERR_MAX, "%s: %s", what, strerror(-ret));
}

/* The balloon ops' failure: none configured, or the device's logged reason. */
static void balloon_failed(char err[VMM_ERR_MAX], const char *why, const char *what, int ret)
{
	if (ret == -ENODEV)
		snprintf(err, VMM_ERR_MAX, "balloon: the VM has no balloon device");
	else
		failed(err, why, what, ret);
}

static int kvm_balloon_set_target(struct controller *vmm, uint32_t amount_mib,
				  char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_update(vmm->vm, amount_mib);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon.amount_mib", ret);
	return ret;
}

static int kvm_balloon_set_stats_interval(struct controller *vmm, uint32_t seconds,
					  char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_update_statistics(vmm->vm, seconds);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon.stats_polling_interval_s", ret);
	return ret;
}

static int kvm_balloon_stats(struct controller *vmm, struct balloon_stats *out,
			     char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_statistics(vmm->vm, out);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon statistics", ret);
	return ret;
}

static int kvm_balloon_hint_start(struct controller *vmm, bool ack_on_stop, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_hinting_start(vmm->vm, ack_on_stop);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon hinting", ret);
	return ret;
}

static int kvm_balloon_hint_stop(struct controller *vmm, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_hinting_stop(vmm->vm);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon hinting", ret);
	return ret;
}

static int kvm_balloon_hint_status(struct controller *vmm, uint32_t *host_cmd, uint32_t *guest_cmd,
				   bool *has_guest, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = balloon_hinting_status(vmm->vm, host_cmd, guest_cmd, has_guest);
	why = log_capture_end();
	if (ret)
		balloon_failed(err, why, "balloon hinting", ret);
	return ret;
}

static int kvm_pmem_update(struct controller *vmm, const char *id,
			   const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = pmem_update(vmm->vm, id, rl);
	why = log_capture_end();
	if (ret)
		failed(err, why, "pmem", ret);
	return ret;
}

static int kvm_memory_hotplug_request(struct controller *vmm, uint32_t requested_mib,
				      char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = memory_hotplug_request(vmm->vm, requested_mib);
	why = log_capture_end();
	if (ret)
		failed(err, why, "memory-hotplug", ret);
	return ret;
}

static int kvm_memory_hotplug_sizes(struct controller *vmm, uint64_t *plugged_mib,
				    uint64_t *requested_mib, char err[VMM_ERR_MAX])
{
	int ret = memory_hotplug_sizes(vmm->vm, plugged_mib, requested_mib);

	if (ret)
		failed(err, NULL, "memory-hotplug", ret);
	return ret;
}

static int kvm_drive_update(struct controller *vmm, const char *drive_id, const char *path_on_host,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = drives_update(vmm->vm, drive_id, path_on_host, rl);
	why = log_capture_end();
	if (ret)
		failed(err, why, "drive update", ret);
	return ret;
}

static int kvm_net_update(struct controller *vmm, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char err[VMM_ERR_MAX])
{
	int ret = network_interfaces_update(vmm->vm, iface_id, rx, tx);

	if (ret)
		snprintf(err, VMM_ERR_MAX, "network interface %s: the VM has no such interface",
			 iface_id);
	return ret;
}

/* --- snapshots (snapshot.h) --- */

static int kvm_snapshot_create(struct controller *vmm, const struct snapshot_create_params *p,
			       char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = vm_snapshot_save(vmm->vm, p);
	why = log_capture_end();
	if (ret)
		failed(err, why, "snapshot", ret);
	return ret;
}

/*
 * The snapshot's configuration as this load wants it: the overrides applied
 * (so each device is built with them), dirty tracking and huge pages as
 * asked, and the process's own logger and metrics settings kept.
 */
static int amend_config(struct vm_config *cfg, const struct snapshot_load_params *p,
			const struct vm_config *own)
{
	struct vm_config mine;

	for (unsigned int i = 0; i < p->nr_net_overrides; i++) {
		const struct net_override *o = &p->net_overrides[i];
		struct net_config *n = config_find_net(cfg, o->iface_id);
		char *dev;

		if (!n) {
			log_error("network_overrides[%u].iface_id: the snapshot has no network "
				  "interface \"%s\"",
				  i, o->iface_id);
			return -EINVAL;
		}
		dev = strdup(o->host_dev_name);
		if (!dev)
			return -ENOMEM;
		free(n->host_dev_name);
		n->host_dev_name = dev;
	}
	if (p->vsock_uds_path) {
		char *path;

		if (!cfg->vsock.present) {
			log_error("vsock_override: the snapshot has no vsock device");
			return -EINVAL;
		}
		path = strdup(p->vsock_uds_path);
		if (!path)
			return -ENOMEM;
		free(cfg->vsock.uds_path);
		cfg->vsock.uds_path = path;
	}
	/* Firecracker: the load's track_dirty_pages decides, whatever the snapshot had. */
	cfg->machine.track_dirty_pages = p->track_dirty_pages;
	if (p->huge_pages == SNAPSHOT_HUGE_PAGES_NONE)
		cfg->machine.huge_pages = HUGE_PAGES_NONE;
	else if (p->huge_pages == SNAPSHOT_HUGE_PAGES_TRANSPARENT)
		cfg->machine.huge_pages = HUGE_PAGES_TRANSPARENT;
	if (config_copy(&mine, own))
		return -ENOMEM;
	struct logger_config lc = cfg->logger;
	struct metrics_config mc = cfg->metrics;

	cfg->logger = mine.logger;
	cfg->metrics = mine.metrics;
	mine.logger = lc;
	mine.metrics = mc;
	config_free(&mine);
	return 0;
}

static long long elapsed_us(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL + (t1.tv_nsec - t0->tv_nsec) / 1000;
}

static int kvm_snapshot_load(struct controller *vmm, const struct snapshot_load_params *p,
			     char err[VMM_ERR_MAX])
{
	struct vm_config cfg_copy;
	struct vm_snapshot snap;
	struct timespec t0;
	const char *why;
	struct vm *vm = NULL;
	bool built = false;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	config_init(&cfg_copy);
	/* Every problem of the files is found before a VM exists; each logs its one line. */
	log_capture_start();
	ret = vm_snapshot_open(&snap, p);
	if (!ret)
		ret = amend_config(&snap.cfg, p, &vmm->cfg);
	if (!ret && config_copy(&cfg_copy, &snap.cfg))
		ret = -ENOMEM;
	if (!ret && !(vm = calloc(1, sizeof(*vm))))
		ret = -ENOMEM;
	if (!ret) {
		vm_settings(vm, vmm);
		built = true;
		ret = vm_restore(vm, &snap, p);
	}
	/* resume_vm: straight to KVM_RUN, without parking each vCPU first. */
	if (!ret)
		ret = p->resume_vm ? vm_start(vm) : vm_start_paused(vm);
	why = log_capture_end();
	vm_snapshot_close(&snap);
	if (ret) {
		if (built && *why)
			snprintf(err, VMM_ERR_MAX, "restoring from %s: %s", p->snapshot_path, why);
		else
			failed(err, why, p->snapshot_path, ret);
		if (vm) {
			vm_stop(vm);
			vm_destroy(vm);
			free(vm);
		}
		config_free(&cfg_copy);
		return ret;
	}
	ret = install_vmm_filter(vmm, err);
	if (ret) {
		vm_request_exit(vm, VM_EXIT_ERROR);
		vmm->exit_code = vm_stop(vm);
		vm_destroy(vm);
		free(vm);
		config_free(&cfg_copy);
		return ret;
	}
	vmm->vm = vm;
	config_free(&vmm->cfg);
	vmm->cfg = cfg_copy;
	/* Firecracker's debug line, with what it measures: the request to the VM ready. */
	log_info("'load snapshot' VMM action took %lld us (%u vCPU%s, %llu MiB, %s)",
		 elapsed_us(&t0), vm->nr_vcpus, vm->nr_vcpus == 1 ? "" : "s",
		 (unsigned long long)vmm->cfg.machine.mem_size_mib,
		 p->resume_vm ? "resumed" : "paused");
	return 0;
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static void kvm_collect_metrics(struct controller *vmm, json_t *root)
{
	struct vm *vm = vmm->vm;
	struct vcpu_stats t = {0};
	struct uart8250_metrics um;
	struct i8042_metrics km;
	json_t *g;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		t.exit_io_in += s->exit_io_in;
		t.exit_io_out += s->exit_io_out;
		t.exit_mmio_read += s->exit_mmio_read;
		t.exit_mmio_write += s->exit_mmio_write;
		t.failures += s->failures;
		t.io_unhandled += s->io_unhandled;
		t.mmio_unhandled += s->mmio_unhandled;
		for (unsigned int j = 0; j < pvm_completion_count(); j++)
			t.pvm_completions[j] += s->pvm_completions[j];
	}
	if ((g = json_object())) {
		set_u64(g, "exit_io_in", t.exit_io_in);
		set_u64(g, "exit_io_out", t.exit_io_out);
		set_u64(g, "exit_mmio_read", t.exit_mmio_read);
		set_u64(g, "exit_mmio_write", t.exit_mmio_write);
		set_u64(g, "failures", t.failures);
		set_u64(g, "io_unhandled", t.io_unhandled);
		set_u64(g, "mmio_unhandled", t.mmio_unhandled);
		/* kvm_pvm only: the instructions ember completed for KVM's emulator. */
		for (unsigned int j = 0; j < pvm_completion_count(); j++) {
			char key[48];

			snprintf(key, sizeof(key), "pvm_completed_%s", pvm_completion_name(j));
			set_u64(g, key, t.pvm_completions[j]);
		}
		json_object_set_new(root, "vcpu", g);
	}
	uart8250_get_metrics(&vm->uart, &um);
	if ((g = json_object())) {
		set_u64(g, "error_count", um.error_count);
		set_u64(g, "flush_count", um.flush_count);
		set_u64(g, "missed_read_count", um.missed_read_count);
		set_u64(g, "missed_write_count", um.missed_write_count);
		set_u64(g, "read_count", um.read_count);
		set_u64(g, "write_count", um.write_count);
		set_u64(g, "rate_limiter_dropped_bytes", um.rate_limiter_dropped_bytes);
		json_object_set_new(root, "uart", g);
	}
	i8042_get_metrics(&vm->i8042, &km);
	if ((g = json_object())) {
		set_u64(g, "error_count", km.error_count);
		set_u64(g, "missed_read_count", km.missed_read_count);
		set_u64(g, "missed_write_count", km.missed_write_count);
		set_u64(g, "read_count", km.read_count);
		set_u64(g, "reset_count", km.reset_count);
		set_u64(g, "write_count", km.write_count);
		json_object_set_new(root, "i8042", g);
	}
	/* The virtio devices: each type of the device table writes its groups. */
	vm_devices_metrics(vm, root);
}

const struct vm_backend_ops kvm_backend_ops = {
    .start = kvm_start,
    .stop = kvm_stop,
    .request_exit = kvm_request_exit,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .ctrl_alt_del = kvm_ctrl_alt_del,
    .set_log_path = kvm_set_log_path,
    .collect_metrics = kvm_collect_metrics,
    .balloon_set_target = kvm_balloon_set_target,
    .balloon_set_stats_interval = kvm_balloon_set_stats_interval,
    .balloon_stats = kvm_balloon_stats,
    .balloon_hint_start = kvm_balloon_hint_start,
    .balloon_hint_stop = kvm_balloon_hint_stop,
    .balloon_hint_status = kvm_balloon_hint_status,
    .pmem_update = kvm_pmem_update,
    .memory_hotplug_request = kvm_memory_hotplug_request,
    .memory_hotplug_sizes = kvm_memory_hotplug_sizes,
    .drive_update = kvm_drive_update,
    .net_update = kvm_net_update,
    .snapshot_create = kvm_snapshot_create,
    .snapshot_load = kvm_snapshot_load,
};
