// SPDX-License-Identifier: Apache-2.0
/* The VM's hotpluggable memory (virtio-mem). See memory_hotplug.h. */
#include "vmm/memory_hotplug.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* The slot's state: the device, and the VM its slots go into. */
struct memory_hotplug {
	struct virtio_mem mem; /* first */
	struct vm *vm;
};

static struct virtio_mem *mem_of(struct virtio_slot *s)
{
	return &((struct memory_hotplug *)s->state)->mem;
}

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

/*
 * virtio-mem's slot @slot in KVM (@present) or out of it: a KVM memory slot of
 * its own, numbered after RAM's and the devices' (memory_hotplug.h). Devices
 * lose the slot before the guest does, and get it after: gm_ptr() never hands
 * out memory the guest cannot reach.
 */
static int slot_set(void *opaque, uint64_t slot, bool present)
{
	struct memory_hotplug *h = opaque;
	const struct virtio_mem *m = &h->mem;
	struct vm *vm = h->vm;
	struct kvm_userspace_memory_region r = {
	    .slot = (uint32_t)(MEMORY_HOTPLUG_KVM_SLOT0 + slot),
	    .flags = vm->cfg.machine.track_dirty_pages ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	    .guest_phys_addr = m->addr + slot * m->slot_size,
	    .memory_size = present ? m->slot_size : 0,
	    .userspace_addr = (uintptr_t)(m->hva + slot * m->slot_size),
	};
	int err;

	if (!present)
		gm_hotplug_slot_set(&vm->mem, slot, false);
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		err = errno;
		log_warn_rl("memory-hotplug: KVM_SET_USER_MEMORY_REGION %s slot %llu (gpa 0x%llx, "
			    "%llu MiB): %s",
			    present ? "adding" : "removing", (unsigned long long)slot,
			    (unsigned long long)r.guest_phys_addr,
			    (unsigned long long)(m->slot_size >> 20), strerror(err));
		if (!present)
			gm_hotplug_slot_set(&vm->mem, slot, true); /* still the guest's */
		return -err;
	}
	if (present)
		gm_hotplug_slot_set(&vm->mem, slot, true);
	log_debug("memory-hotplug: slot %llu (gpa 0x%llx) %s", (unsigned long long)slot,
		  (unsigned long long)r.guest_phys_addr, present ? "added" : "removed");
	return 0;
}

int memory_hotplug_add(struct vm *vm)
{
	const struct memory_hotplug_config *c = &vm->cfg.memory_hotplug;
	const struct guest_region *r;
	struct memory_hotplug *h;
	struct virtio_slot *s;
	uint64_t slot_size = (uint64_t)c->slot_size_mib << 20;
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
	h = calloc(1, sizeof(*h));
	if (!h) {
		log_error("memory-hotplug: out of memory");
		return -ENOMEM;
	}
	s->state = h; /* from here on memory_hotplug_remove() frees it */
	h->vm = vm;
	ret = virtio_mem_init(&h->mem, r->gpa, r->size, (uint64_t)c->block_size_mib << 20,
			      vm_virtio_host_ops(), s, &vm->mem);
	/* Every slot out of the guest's reach until a block of it is plugged. */
	if (!ret)
		ret = virtio_mem_use_slots(&h->mem, slot_size, slot_set, h);
	if (!ret)
		ret = gm_hotplug_slots(&vm->mem, slot_size);
	if (ret) {
		log_error("memory-hotplug: total_size_mib %u, block_size_mib %u, slot_size_mib %u: "
			  "%s",
			  c->total_size_mib, c->block_size_mib, c->slot_size_mib, strerror(-ret));
		return ret;
	}
	return vm_virtio_place(vm, s, &h->mem.dev);
}

int memory_hotplug_connect(struct vm *vm)
{
	const struct memory_hotplug_config *c = &vm->cfg.memory_hotplug;
	uint64_t nr = c->slot_size_mib ? c->total_size_mib / c->slot_size_mib : 0;
	int have;

	if (!memory_hotplug_find(vm, NULL))
		return 0;
	have = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	if (have > 0 && MEMORY_HOTPLUG_KVM_SLOT0 + nr > (uint64_t)have) {
		log_error("memory-hotplug: total_size_mib %u in slots of slot_size_mib %u is %llu "
			  "KVM memory slots; this host's KVM has %d, ember keeps %d for RAM and "
			  "pmem: take a larger slot_size_mib",
			  c->total_size_mib, c->slot_size_mib, (unsigned long long)nr, have,
			  MEMORY_HOTPLUG_KVM_SLOT0);
		return -EINVAL;
	}
	return 0;
}

int memory_hotplug_dirty_log(struct vm *vm, uint64_t *bitmap)
{
	struct virtio_slot *s = memory_hotplug_find(vm, NULL);
	const struct virtio_mem *m;
	uint64_t words;

	if (!s)
		return 0;
	m = mem_of(s);
	words = m->slot_size / 4096 / 64; /* a slot is whole MiBs: whole words */
	for (uint64_t i = 0; i < m->nr_slots; i++) {
		struct kvm_dirty_log d = {.slot = (uint32_t)(MEMORY_HOTPLUG_KVM_SLOT0 + i)};

		/* A slot out of KVM has no log: the guest wrote nothing there since. */
		if (!virtio_mem_slot_mapped(m, i))
			continue;
		d.dirty_bitmap = bitmap + i * words;
		if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
			int err = errno;

			log_error("memory-hotplug: KVM_GET_DIRTY_LOG slot %u: %s", d.slot,
				  strerror(err));
			return -err;
		}
	}
	return 0;
}

void memory_hotplug_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	if (s->state)
		virtio_mem_destroy(mem_of(s));
	free(s->state);
}

int memory_hotplug_request(struct vm *vm, uint32_t requested_mib)
{
	struct virtio_slot *s = memory_hotplug_find(vm, NULL);
	struct virtio_mem *m;

	if (!s)
		return -ENODEV;
	m = mem_of(s);
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
	virtio_mem_sizes(mem_of(s), plugged_mib, requested_mib);
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
	m = mem_of(s);
	vm_metrics_write(g, NULL, metrics, sizeof(metrics) / sizeof(metrics[0]), &m->dev, m);
	json_object_set_new(root, "memory_hotplug", g);
}
