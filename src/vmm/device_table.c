// SPDX-License-Identifier: Apache-2.0
/* The table of virtio device types and the loops over it. See device_table.h. */
#include "vmm/device_table.h"

#include "vmm/balloon.h"
#include "vmm/drives.h"
#include "vmm/entropy.h"
#include "vmm/memory_hotplug.h"
#include "vmm/network_interfaces.h"
#include "vmm/pmem.h"
#include "vmm/vm.h"
#include "vmm/vsock.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>

/*
 * Firecracker's slot order: it fixes each device's MMIO window, GSI and /dev/vdX.
 * ember's newer types come after the older ones, so existing guests keep their slots.
 */
static const struct vm_device_type *const device_types[] = {
    &drives_type, &network_interfaces_type, &vsock_type, &balloon_type, &entropy_type,
    &pmem_type,	  &memory_hotplug_type,
};

int vm_devices_add(struct vm *vm)
{
	for (size_t i = 0; i < sizeof(device_types) / sizeof(device_types[0]); i++) {
		int ret = device_types[i]->add(vm);

		if (ret)
			return ret;
	}
	return 0;
}

void vm_devices_remove(struct vm *vm)
{
	/* The reverse of their creation order; a slot whose add failed half-way too. */
	for (unsigned int i = vm->nr_virtio; i-- > 0;) {
		struct virtio_slot *s = &vm->virtio[i];

		if (s->state)
			s->type->remove(vm, s);
		s->state = NULL;
		s->dev = NULL;
		s->type = NULL;
	}
	vm->nr_virtio = 0;
}

void vm_devices_metrics(struct vm *vm, json_t *root)
{
	for (size_t i = 0; i < sizeof(device_types) / sizeof(device_types[0]); i++)
		device_types[i]->metrics(vm, root);
}

int vm_virtio_save(struct vm *vm, struct virtio_slot *s, struct state_writer *w)
{
	(void)vm;
	virtio_dev_save(s->dev, w, s->index);
	return 0;
}

int vm_virtio_restore(struct vm *vm, struct virtio_slot *s, const struct state_file *f)
{
	int ret = virtio_dev_restore(s->dev, f, s->index);

	(void)vm;
	if (ret == -ENOENT)
		log_error("the snapshot has no state for %s device %u", s->type->name, s->index);
	else if (ret)
		log_error("the state of %s device %u is %s", s->type->name, s->index,
			  ret == -EINVAL ? "corrupt" : "not restorable here");
	return ret ? -EINVAL : 0;
}

static void add_counter(json_t *obj, const char *name, uint64_t v)
{
	v += (uint64_t)json_integer_value(json_object_get(obj, name)); /* 0 if absent */
	json_object_set_new(obj, name, json_integer((json_int_t)v));
}

void vm_metrics_write(json_t *obj, json_t *total, const struct vm_metric *m, size_t n,
		      struct virtio_dev *d, const void *state)
{
	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < n; i++) {
		const void *base = m[i].transport ? (const void *)d : state;
		uint64_t v;

		memcpy(&v, (const char *)base + m[i].offset, sizeof(v));
		json_object_set_new(obj, m[i].name, json_integer((json_int_t)v));
		if (total)
			add_counter(total, m[i].name, v);
	}
	pthread_mutex_unlock(&d->lock);
}

void vm_metrics_group(struct vm *vm, const struct vm_device_type *type, const char *group,
		      const struct vm_metric *m, size_t n,
		      void (*dev_of)(const struct virtio_slot *s, struct vm_metrics_dev *out),
		      json_t *root)
{
	json_t *total = NULL;

	for (struct virtio_slot *s = vm_virtio_next(vm, type, NULL); s;
	     s = vm_virtio_next(vm, type, s)) {
		struct vm_metrics_dev d;
		char key[128];
		json_t *obj;

		if (!total && !(total = json_object()))
			return;
		if (!(obj = json_object()))
			continue;
		dev_of(s, &d);
		snprintf(key, sizeof(key), "%s_%s", group, d.id);
		vm_metrics_write(obj, total, m, n, d.dev, d.state);
		json_object_set_new(root, key, obj);
	}
	if (total)
		json_object_set_new(root, group, total);
}
