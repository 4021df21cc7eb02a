// SPDX-License-Identifier: Apache-2.0
/*
 * vmm_kvm_ops: the controller's operations on a real VM (vm.c). Apart from
 * vmm.c so that the router's fuzzer links the controller without KVM.
 */
#include "vmm/vm.h"
#include "vmm/vmm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int kvm_start(struct vmm *vmm, char err[VMM_ERR_MAX])
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
	vm->start_mono = vmm->start_mono;
	vm->start_cpu = vmm->start_cpu;
	vm->serial_out_fd = vmm->serial_out_fd;
	vm->serial_in_fd = vmm->serial_in_fd;
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
	ret = vm_start(vm);
	if (ret) {
		/* vm_start asked the VM to end: the loop stops and the process exits. */
		snprintf(err, VMM_ERR_MAX, "starting the vCPU threads: %s", strerror(-ret));
		vmm->exit_code = vm_stop(vm);
		vm_destroy(vm);
		free(vm);
		return ret;
	}
	vmm->vm = vm;
	return 0;
}

static int kvm_stop(struct vmm *vmm)
{
	int code = vm_stop(vmm->vm);

	vm_destroy(vmm->vm);
	free(vmm->vm);
	vmm->vm = NULL;
	return code;
}

static void kvm_request_exit(struct vmm *vmm, int code)
{
	vm_request_exit(vmm->vm, code);
}

static int kvm_pause(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = vm_pause(vmm->vm);

	if (ret)
		snprintf(err, VMM_ERR_MAX, "the VM is shutting down: it cannot be paused");
	return ret;
}

static int kvm_resume(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = vm_resume(vmm->vm);

	if (ret)
		snprintf(err, VMM_ERR_MAX, "the VM cannot be resumed: %s", strerror(-ret));
	return ret;
}

static int kvm_ctrl_alt_del(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	int ret = i8042_send_ctrl_alt_del(&vmm->vm->i8042);

	if (ret)
		snprintf(err, VMM_ERR_MAX,
			 "SendCtrlAltDel: the i8042 output buffer is full (the guest has not read "
			 "the previous keys)");
	return ret;
}

static int kvm_set_log_path(struct vmm *vmm, const char *path, char err[VMM_ERR_MAX])
{
	return vmm_open_log(vmm->log, path, err);
}

const struct vmm_ops vmm_kvm_ops = {
    .start = kvm_start,
    .stop = kvm_stop,
    .request_exit = kvm_request_exit,
    .pause = kvm_pause,
    .resume = kvm_resume,
    .ctrl_alt_del = kvm_ctrl_alt_del,
    .set_log_path = kvm_set_log_path,
};
