// SPDX-License-Identifier: Apache-2.0
/* The VM's pmem devices (virtio-pmem). See pmem.h. */
#include "vmm/pmem.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct vm_device_type pmem_type = {
    .name = "pmem",
    .add = pmem_add,
    .remove = pmem_remove,
    .find = pmem_find,
    .metrics = pmem_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *pmem_find(struct vm *vm, const char *id)
{
	for (struct virtio_slot *s = vm_virtio_next(vm, &pmem_type, NULL); s;
	     s = vm_virtio_next(vm, &pmem_type, s))
		if (!strcmp(((struct pmem_dev *)s->state)->id, id))
			return s;
	return NULL;
}

/* Firecracker's root device arguments: /dev/pmemN in the order the devices were added. */
static int add_root_args(struct vm *vm, const struct pmem_config *cfg, unsigned int n)
{
	char arg[32];
	int ret;

	snprintf(arg, sizeof(arg), "root=/dev/pmem%u", n);
	ret = cmdline_append(&vm->cmdline, arg);
	if (!ret)
		ret = cmdline_append(&vm->cmdline, cfg->read_only ? "ro" : "rw");
	if (ret)
		log_error("pmem %s: the kernel command line has no room for the root device",
			  cfg->id);
	return ret;
}

static int add_one(struct vm *vm, const struct pmem_config *cfg, unsigned int n)
{
	struct virtio_slot *s;
	struct pmem_dev *pd;
	char what[96], err[256];
	int ret;

	if (pmem_find(vm, cfg->id)) {
		log_error("pmem %s: a pmem device with this id already exists", cfg->id);
		return -EEXIST;
	}
	snprintf(what, sizeof(what), "pmem %s", cfg->id);
	ret = vm_virtio_slot_new(vm, &pmem_type, what, &s);
	if (ret)
		return ret;
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		log_error("pmem %s: out of memory", cfg->id);
		return -ENOMEM;
	}
	pd->p.fd = -1;
	snprintf(pd->id, sizeof(pd->id), "%s", cfg->id);
	s->state = pd; /* from here on pmem_remove() frees it */
	ret = virtio_pmem_init(&pd->p, cfg->path_on_host, cfg->read_only, &cfg->rate_limiter,
			       vm_virtio_host_ops(), s, &vm->mem, err);
	if (ret) {
		log_error("pmem %s: path_on_host %s", cfg->id, err);
		return ret;
	}
	ret = vm_add_memslot(vm, what, pd->p.hva, pd->p.map_size, cfg->read_only, &pd->p.gpa);
	if (!ret)
		ret = vm_virtio_place(vm, s, &pd->p.dev);
	if (!ret && cfg->root_device)
		ret = add_root_args(vm, cfg, n);
	return ret;
}

int pmem_add(struct vm *vm)
{
	int ret = 0;

	for (unsigned int i = 0; !ret && i < vm->cfg.nr_pmems; i++)
		ret = add_one(vm, &vm->cfg.pmems[i], i);
	return ret;
}

void pmem_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_pmem_destroy(s->state);
	free(s->state);
}

int pmem_update(struct vm *vm, const char *id, const struct rate_limiter_config *rl)
{
	struct virtio_slot *s = pmem_find(vm, id);
	struct pmem_config *c = config_find_pmem(&vm->cfg, id);

	if (!s || !c) {
		log_error("pmem %s: no such pmem device", id);
		return -ENOENT;
	}
	virtio_pmem_set_limiter(s->state, rl);
	c->rate_limiter = *rl; /* a snapshot saves it */
	return 0;
}

#define PMEM_METRIC(name) {#name, false, offsetof(struct virtio_pmem, name)},
static const struct vm_metric metrics[] = {VIRTIO_PMEM_METRICS(VM_METRIC_TRANSPORT, PMEM_METRIC)};

static void pmem_of(const struct virtio_slot *s, struct vm_metrics_dev *out)
{
	struct pmem_dev *pd = s->state;

	*out = (struct vm_metrics_dev){pd->id, &pd->p.dev, &pd->p};
}

void pmem_metrics(struct vm *vm, json_t *root)
{
	vm_metrics_group(vm, &pmem_type, "pmem", metrics, sizeof(metrics) / sizeof(metrics[0]),
			 pmem_of, root);
}
