// SPDX-License-Identifier: Apache-2.0
/*
 * Wiring the virtio-vsock device into the VM. The device does its own event-loop
 * work (listener, host sockets, kick eventfd, timerfd on vm->loop); this file
 * allocates it, places it, and finds it again for pause and teardown
 * (vm->vsock, one device per VM).
 */
#include "vmm/vsock.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>

struct virtio_vsock *vm_vsock(const struct vm *vm)
{
	return vm->vsock;
}

int vm_add_vsock(struct vm *vm, const struct vsock_config *cfg)
{
	struct virtio_vsock *v;
	int ret;

	if (vm->vsock) {
		log_error("vsock: the VM has a vsock device already");
		return -EBUSY;
	}
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_error("vsock: out of memory");
		return -ENOMEM;
	}
	vm->vsock = v; /* from here on vm_remove_vsock() frees it */
	ret = virtio_vsock_init(v, vm_virtio_host_ops(), &vm->mem, vm->loop, cfg);
	if (ret)
		return ret;
	/*
	 * On failure the device may be on the MMIO bus already: it is freed by
	 * vm_remove_vsock(), after the vCPUs are gone.
	 */
	return vm_virtio_place(vm, &v->dev);
}

void vm_remove_vsock(struct vm *vm)
{
	if (!vm->vsock)
		return;
	virtio_vsock_destroy(vm->vsock);
	free(vm->vsock);
	vm->vsock = NULL;
}

void vm_vsock_set_paused(struct vm *vm, bool paused)
{
	struct virtio_vsock *v = vm_vsock(vm);

	if (v)
		virtio_vsock_set_paused(v, paused);
}
