// SPDX-License-Identifier: Apache-2.0
/* The VM's entropy device (virtio-rng). See entropy.h. */
#include "vmm/entropy.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>

const struct vm_device_type entropy_type = {
    .name = "entropy",
    .add = entropy_add,
    .remove = entropy_remove,
    .find = entropy_find,
    .metrics = entropy_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *entropy_find(struct vm *vm, const char *id)
{
	(void)id;
	return vm_virtio_next(vm, &entropy_type, NULL);
}

int entropy_add(struct vm *vm)
{
	struct virtio_slot *s;
	struct virtio_rng *r;
	int ret;

	if (!vm->cfg.entropy.present)
		return 0;
	if (entropy_find(vm, NULL)) {
		log_error("entropy: the VM has an entropy device already");
		return -EEXIST;
	}
	ret = vm_virtio_slot_new(vm, &entropy_type, "entropy", &s);
	if (ret)
		return ret;
	r = calloc(1, sizeof(*r));
	if (!r) {
		log_error("entropy: out of memory");
		return -ENOMEM;
	}
	s->state = r; /* from here on entropy_remove() frees it */
	ret = virtio_rng_init(r, &vm->cfg.entropy.rate_limiter, vm_virtio_host_ops(), s, &vm->mem);
	if (!ret)
		ret = vm_virtio_place(vm, s, &r->dev);
	return ret;
}

void entropy_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_rng_destroy(s->state);
	free(s->state);
}

#define RNG_METRIC(name) {#name, false, offsetof(struct virtio_rng, name)},
static const struct vm_metric metrics[] = {VIRTIO_RNG_METRICS(VM_METRIC_TRANSPORT, RNG_METRIC)};

void entropy_metrics(struct vm *vm, json_t *root)
{
	struct virtio_slot *s = entropy_find(vm, NULL);
	struct virtio_rng *r;
	json_t *g;

	if (!s || !(g = json_object()))
		return;
	r = s->state;
	vm_metrics_write(g, NULL, metrics, sizeof(metrics) / sizeof(metrics[0]), &r->dev, r);
	json_object_set_new(root, "entropy", g);
}
