// SPDX-License-Identifier: Apache-2.0
/* The VM's virtio-vsock device. See vsock.h. */
#include "vmm/vsock.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>

const struct vm_device_type vsock_type = {
    .name = "vsock",
    .add = vsock_add,
    .remove = vsock_remove,
    .find = vsock_find,
    .metrics = vsock_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *vsock_find(struct vm *vm, const char *id)
{
	(void)id;
	return vm_virtio_next(vm, &vsock_type, NULL);
}

int vsock_add(struct vm *vm)
{
	struct virtio_vsock *v;
	struct virtio_slot *s;
	int ret;

	if (!vm->cfg.vsock.present)
		return 0;
	if (vsock_find(vm, NULL)) {
		log_error("vsock: the VM has a vsock device already");
		return -EBUSY;
	}
	ret = vm_virtio_slot_new(vm, &vsock_type, "vsock", &s);
	if (ret)
		return ret;
	v = calloc(1, sizeof(*v));
	if (!v) {
		log_error("vsock: out of memory");
		return -ENOMEM;
	}
	s->state = v; /* from here on vsock_remove() frees it */
	ret = virtio_vsock_init(v, &vm->cfg.vsock, vm_virtio_host_ops(), s, &vm->mem);
	if (!ret)
		ret = vm_virtio_place(vm, s, &v->dev);
	return ret;
}

void vsock_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_vsock_destroy(s->state);
	free(s->state);
}

#define VSOCK_METRIC(name) {#name, false, offsetof(struct virtio_vsock, name)},
static const struct vm_metric metrics[] = {VIRTIO_VSOCK_METRICS(VM_METRIC_TRANSPORT, VSOCK_METRIC)};

void vsock_metrics(struct vm *vm, json_t *root)
{
	struct virtio_slot *s = vsock_find(vm, NULL);
	struct virtio_vsock *v;
	json_t *g;

	if (!s || !(g = json_object()))
		return;
	v = s->state;
	vm_metrics_write(g, NULL, metrics, sizeof(metrics) / sizeof(metrics[0]), &v->dev, v);
	json_object_set_new(root, "vsock", g);
}
