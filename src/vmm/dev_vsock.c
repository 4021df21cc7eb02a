// SPDX-License-Identifier: Apache-2.0
/*
 * Wiring the virtio-vsock device into the VM. The device does its own event-loop
 * work (listener, host sockets, kick eventfd, timerfd on vm->loop); this file
 * allocates it, places it, and finds it again for pause and teardown. struct vm
 * has no field for it: the pointers live here, one device per VM.
 */
#include "vmm/dev_vsock.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>

#define MAX_VMS 4 /* one VM per process today; a few for tests */

static struct {
	const struct vm *vm;
	struct virtio_vsock *v;
} vsocks[MAX_VMS];

struct virtio_vsock *vm_vsock(const struct vm *vm)
{
	for (unsigned int i = 0; i < MAX_VMS; i++)
		if (vsocks[i].vm == vm)
			return vsocks[i].v;
	return NULL;
}

int vm_add_vsock(struct vm *vm, const struct vsock_config *cfg)
{
	struct virtio_vsock *v;
	unsigned int i;
	int ret;

	if (vm_vsock(vm)) {
		log_error("vsock: the VM has a vsock device already");
		return -EBUSY;
	}
	for (i = 0; i < MAX_VMS && vsocks[i].vm; i++)
		;
	if (i == MAX_VMS)
		return -ENOSPC;
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_error("vsock: out of memory");
		return -ENOMEM;
	}
	vsocks[i].vm = vm;
	vsocks[i].v = v;
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
	for (unsigned int i = 0; i < MAX_VMS; i++) {
		if (vsocks[i].vm != vm)
			continue;
		virtio_vsock_destroy(vsocks[i].v);
		free(vsocks[i].v);
		vsocks[i].vm = NULL;
		vsocks[i].v = NULL;
	}
}

void vm_vsock_set_paused(struct vm *vm, bool paused)
{
	struct virtio_vsock *v = vm_vsock(vm);

	if (v)
		virtio_vsock_set_paused(v, paused);
}
