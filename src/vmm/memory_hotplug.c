// SPDX-License-Identifier: Apache-2.0
/* The VM's hotpluggable memory (virtio-mem). See memory_hotplug.h. */
#include "vmm/memory_hotplug.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const struct vm_device_type memory_hotplug_type = {
    .name = "memory-hotplug",
    .add = memory_hotplug_add,
    .remove = memory_hotplug_remove,
    .find = memory_hotplug_find,
    .metrics = memory_hotplug_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *memory_hotplug_find(struct vm *vm, const char *id)
{
	(void)id;
	return vm_virtio_next(vm, &memory_hotplug_type, NULL);
}

int memory_hotplug_add(struct vm *vm)
{
	const struct memory_hotplug_config *c = &vm->cfg.memory_hotplug;
	const struct guest_region *r;
	struct virtio_slot *s;
	struct virtio_mem *m;
	int ret;

	if (!c->present)
		return 0;
	if (!vm->mem.has_hotplug) {
		log_error("memory-hotplug: guest memory has no hotplug region");
		return -EINVAL;
	}
	r = &vm->mem.regions[vm->mem.nr_regions - 1];
	ret = vm_virtio_slot_new(vm, &memory_hotplug_type, "memory-hotplug", &s);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m) {
		log_error("memory-hotplug: out of memory");
		return -ENOMEM;
	}
	s->state = m; /* from here on memory_hotplug_remove() frees it */
	ret = virtio_mem_init(m, r->gpa, r->size, (uint64_t)c->block_size_mib << 20,
			      vm_virtio_host_ops(), s, &vm->mem);
	if (ret) {
		log_error("memory-hotplug: total_size_mib %u, block_size_mib %u: %s",
			  c->total_size_mib, c->block_size_mib, strerror(-ret));
		return ret;
	}
	return vm_virtio_place(vm, s, &m->dev);
}

void memory_hotplug_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_mem_destroy(s->state);
	free(s->state);
}

int memory_hotplug_request(struct vm *vm, uint32_t requested_mib)
{
	struct virtio_slot *s = memory_hotplug_find(vm, NULL);
	struct virtio_mem *m;

	if (!s)
		return -ENODEV;
	m = s->state;
	if (virtio_mem_set_requested(m, (uint64_t)requested_mib << 20)) {
		log_error("memory-hotplug.requested_size_mib: %u is not a multiple of "
			  "block_size_mib (%llu) up to total_size_mib (%llu)",
			  requested_mib, (unsigned long long)(m->block_size >> 20),
			  (unsigned long long)(m->region_size >> 20));
		return -EINVAL;
	}
	return 0;
}

int memory_hotplug_sizes(struct vm *vm, uint64_t *plugged_mib, uint64_t *requested_mib)
{
	struct virtio_slot *s = memory_hotplug_find(vm, NULL);

	if (!s)
		return -ENODEV;
	virtio_mem_sizes(s->state, plugged_mib, requested_mib);
	*plugged_mib >>= 20;
	*requested_mib >>= 20;
	return 0;
}

#define MEM_METRIC(name) {#name, false, offsetof(struct virtio_mem, name)},
static const struct vm_metric metrics[] = {VIRTIO_MEM_METRICS(VM_METRIC_TRANSPORT, MEM_METRIC)};

void memory_hotplug_metrics(struct vm *vm, json_t *root)
{
	struct virtio_slot *s = memory_hotplug_find(vm, NULL);
	struct virtio_mem *m;
	json_t *g;

	if (!s || !(g = json_object()))
		return;
	m = s->state;
	vm_metrics_write(g, NULL, metrics, sizeof(metrics) / sizeof(metrics[0]), &m->dev, m);
	json_object_set_new(root, "memory_hotplug", g);
}
