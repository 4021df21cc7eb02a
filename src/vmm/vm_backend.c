// SPDX-License-Identifier: Apache-2.0
/*
 * kvm_backend_ops: the controller's operations on a real VM (vm.c). Apart from
 * controller.c so that the router's fuzzer links the controller without KVM.
 */
#include "vmm/vm.h"
#include "arch/x86_64/arch.h"
#include "vmm/balloon.h"
#include "vmm/drives.h"
#include "vmm/network_interfaces.h"
#include "vmm/vsock.h"
#include "vmm/controller.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	vm->boot_timer_enabled = vmm->boot_timer;
	vm->no_pvm_profile = vmm->no_pvm_profile;
	vm->start_mono = vmm->start_mono;
	vm->start_cpu = vmm->start_cpu;
	vm->console.out_fd = vmm->serial_out_fd;
	vm->console.in_fd = vmm->serial_in_fd;
	vm->loop = vmm->loop;

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

static struct virtio_balloon *kvm_balloon(struct controller *vmm, char err[VMM_ERR_MAX])
{
	struct virtio_balloon *b = vm_balloon(vmm->vm);

	if (!b)
		snprintf(err, VMM_ERR_MAX, "balloon: the VM has no balloon device");
	return b;
}

static int kvm_balloon_set_target(struct controller *vmm, uint32_t amount_mib,
				  char err[VMM_ERR_MAX])
{
	struct virtio_balloon *b = kvm_balloon(vmm, err);
	const char *why;
	int ret;

	if (!b)
		return -ENODEV;
	log_capture_start();
	ret = balloon_set_target(b, amount_mib);
	why = log_capture_end();
	if (ret)
		failed(err, why, "balloon.amount_mib", ret);
	return ret;
}

static int kvm_balloon_set_stats_interval(struct controller *vmm, uint32_t seconds,
					  char err[VMM_ERR_MAX])
{
	struct virtio_balloon *b = kvm_balloon(vmm, err);
	const char *why;
	int ret;

	if (!b)
		return -ENODEV;
	log_capture_start();
	ret = balloon_set_stats_interval(b, seconds);
	why = log_capture_end();
	if (ret)
		failed(err, why, "balloon.stats_polling_interval_s", ret);
	return ret;
}

static int kvm_balloon_stats(struct controller *vmm, struct balloon_stats *out,
			     char err[VMM_ERR_MAX])
{
	struct virtio_balloon *b = kvm_balloon(vmm, err);
	const char *why;
	int ret;

	if (!b)
		return -ENODEV;
	log_capture_start();
	ret = balloon_get_stats(b, out);
	why = log_capture_end();
	if (ret)
		failed(err, why, "balloon statistics", ret);
	return ret;
}

static int kvm_drive_update(struct controller *vmm, const char *drive_id, const char *path_on_host,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	const char *why;
	int ret;

	log_capture_start();
	ret = vm_update_drive(vmm->vm, drive_id, path_on_host, rl);
	why = log_capture_end();
	if (ret)
		failed(err, why, "drive update", ret);
	return ret;
}

static int kvm_net_update(struct controller *vmm, const char *iface_id,
			  const struct rate_limiter_config *rx,
			  const struct rate_limiter_config *tx, char err[VMM_ERR_MAX])
{
	struct virtio_net *n = vm_net_find(vmm->vm, iface_id);

	if (!n) {
		snprintf(err, VMM_ERR_MAX, "network interface %s: the VM has no such interface",
			 iface_id);
		return -ENOENT;
	}
	virtio_net_set_rate_limiters(n, rx, tx); /* takes the device lock */
	return 0;
}

static void set_u64(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* Firecracker's NetDeviceMetrics names, from the transport's and the device's counters. */
static void net_counters(const struct virtio_net *n, json_t *g, bool sum)
{
	const struct net_metrics *m = &n->m;
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
	    {"activate_fails", n->dev.activate_fails},
	    {"cfg_fails", n->dev.cfg_fails},
	    {"event_fails", n->dev.event_fails},
	    {"rx_queue_event_count", m->rx_queue_event_count},
	    {"rx_event_rate_limiter_count", m->rx_event_rate_limiter_count},
	    {"rx_tap_event_count", m->rx_tap_event_count},
	    {"rx_bytes_count", m->rx_bytes_count},
	    {"rx_packets_count", m->rx_packets_count},
	    {"rx_fails", m->rx_fails},
	    {"rx_count", m->rx_count},
	    {"rx_rate_limiter_throttled", m->rx_rate_limiter_throttled},
	    {"no_rx_avail_buffer", m->no_rx_avail_buffer},
	    {"tap_read_fails", m->tap_read_fails},
	    {"tap_write_fails", m->tap_write_fails},
	    {"tx_bytes_count", m->tx_bytes_count},
	    {"tx_malformed_frames", m->tx_malformed_frames},
	    {"tx_fails", m->tx_fails},
	    {"tx_count", m->tx_count},
	    {"tx_packets_count", m->tx_packets_count},
	    {"tx_queue_event_count", m->tx_queue_event_count},
	    {"tx_rate_limiter_event_count", m->tx_rate_limiter_event_count},
	    {"tx_rate_limiter_throttled", m->tx_rate_limiter_throttled},
	    {"tx_remaining_reqs_count", m->tx_remaining_reqs_count},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		uint64_t v = c[i].v;

		if (sum)
			v += (uint64_t)json_integer_value(json_object_get(g, c[i].name));
		set_u64(g, c[i].name, v);
	}
}

/* "net_<iface_id>" for each interface and "net", their sum. */
static void net_metrics(struct vm *vm, json_t *root)
{
	json_t *total;

	if (!vm->cfg.nr_nets || !(total = json_object()))
		return;
	for (unsigned int i = 0; i < vm->cfg.nr_nets; i++) {
		struct virtio_net *n = vm_net_find(vm, vm->cfg.nets[i].iface_id);
		char key[96];
		json_t *g;

		if (!n || !(g = json_object()))
			continue;
		snprintf(key, sizeof(key), "net_%s", vm->cfg.nets[i].iface_id);
		pthread_mutex_lock(&n->dev.lock);
		net_counters(n, g, false);
		net_counters(n, total, true);
		pthread_mutex_unlock(&n->dev.lock);
		json_object_set_new(root, key, g);
	}
	json_object_set_new(root, "net", total);
}

/* Firecracker's VsockDeviceMetrics names, then ember's own counters. */
static void vsock_metrics(struct vm *vm, json_t *root)
{
	struct virtio_vsock *v = vm_vsock(vm);
	json_t *g;

	if (!v || !(g = json_object()))
		return;
	pthread_mutex_lock(&v->dev.lock);
	set_u64(g, "activate_fails", v->dev.activate_fails);
	set_u64(g, "cfg_fails", v->dev.cfg_fails);
	set_u64(g, "rx_queue_event_fails", v->rx_queue_event_fails);
	set_u64(g, "tx_queue_event_fails", v->tx_queue_event_fails);
	set_u64(g, "event_fails", v->dev.event_fails); /* the transport's, all queues */
	set_u64(g, "rx_queue_event_count", v->rx_queue_event_count);
	set_u64(g, "tx_queue_event_count", v->tx_queue_event_count);
	set_u64(g, "rx_bytes_count", v->rx_bytes_count);
	set_u64(g, "tx_bytes_count", v->tx_bytes_count);
	set_u64(g, "rx_packets_count", v->rx_packets_count);
	set_u64(g, "tx_packets_count", v->tx_packets_count);
	set_u64(g, "conns_added", v->conns_added);
	set_u64(g, "conns_killed", v->conns_killed);
	set_u64(g, "conns_removed", v->conns_removed);
	set_u64(g, "tx_write_fails", v->tx_write_fails);
	set_u64(g, "rx_read_fails", v->rx_read_fails);
	set_u64(g, "ev_queue_event_count", v->ev_queue_event_count);
	set_u64(g, "conns_refused", v->conns_refused);
	set_u64(g, "pkt_fails", v->pkt_fails);
	set_u64(g, "credit_overruns", v->credit_overruns);
	set_u64(g, "bad_connect_lines", v->bad_connect_lines);
	set_u64(g, "rst_dropped", v->rst_dropped);
	set_u64(g, "buffered_bytes", v->buffered_bytes);
	set_u64(g, "timeouts", v->timeouts);
	pthread_mutex_unlock(&v->dev.lock);
	json_object_set_new(root, "vsock", g);
}

/* Firecracker's "balloon" group; the device's counters move under its lock. */
static void balloon_metrics(struct vm *vm, json_t *root)
{
	struct virtio_balloon *b = vm_balloon(vm);
	json_t *g;

	if (!b || !(g = json_object()))
		return;
	pthread_mutex_lock(&b->dev.lock);
	set_u64(g, "activate_fails", b->dev.activate_fails);
	set_u64(g, "inflate_count", b->inflate_count);
	set_u64(g, "stats_updates_count", b->stats_updates_count);
	set_u64(g, "stats_update_fails", b->stats_update_fails);
	set_u64(g, "deflate_count", b->deflate_count);
	set_u64(g, "event_fails", b->dev.event_fails);
	set_u64(g, "free_page_report_count", b->free_page_report_count);
	set_u64(g, "free_page_report_freed", b->free_page_report_freed);
	set_u64(g, "free_page_report_fails", b->free_page_report_fails);
	set_u64(g, "cfg_fails", b->dev.cfg_fails);
	pthread_mutex_unlock(&b->dev.lock);
	json_object_set_new(root, "balloon", g);
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
	if (vm->has_rng && (g = json_object())) {
		struct virtio_rng *r = &vm->rng;

		/* The device's counters move under its lock on the event loop: this thread. */
		set_u64(g, "activate_fails", r->dev.activate_fails);
		set_u64(g, "entropy_event_fails", r->dev.event_fails);
		set_u64(g, "entropy_event_count", r->entropy_event_count);
		set_u64(g, "entropy_bytes", r->entropy_bytes);
		set_u64(g, "host_rng_fails", r->host_rng_fails);
		set_u64(g, "entropy_rate_limiter_throttled", r->entropy_rate_limiter_throttled);
		json_object_set_new(root, "entropy", g);
	}
	if (vm->cfg.nr_drives)
		vm_drives_metrics(vm, root); /* block_<drive_id> and block, their sum */
	net_metrics(vm, root);
	vsock_metrics(vm, root);
	balloon_metrics(vm, root);
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
    .drive_update = kvm_drive_update,
    .net_update = kvm_net_update,
};
