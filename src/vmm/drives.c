// SPDX-License-Identifier: Apache-2.0
/* The VM's drives: virtio-blk devices in the VM's slots. See drives.h. */
#include "vmm/drives.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct vm_device_type drives_type = {
    .name = "drives",
    .add = drives_add,
    .remove = drives_remove,
    .find = drives_find,
    .metrics = drives_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *drives_find(struct vm *vm, const char *drive_id)
{
	for (struct virtio_slot *s = vm_virtio_next(vm, &drives_type, NULL); s;
	     s = vm_virtio_next(vm, &drives_type, s)) {
		const struct virtio_block *b = s->state;

		if (b->drive_id && drive_id && !strcmp(b->drive_id, drive_id))
			return s;
	}
	return NULL;
}

/* Firecracker's root device arguments. */
static int add_root_args(struct vm *vm, const struct drive_config *cfg)
{
	char arg[128];
	int ret;

	if (cfg->partuuid) {
		for (const char *p = cfg->partuuid; *p; p++) {
			if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'f') &&
			    !(*p >= 'A' && *p <= 'F') && *p != '-') {
				log_error("drive %s: partuuid \"%s\" is not a partition UUID",
					  cfg->drive_id, cfg->partuuid);
				return -EINVAL;
			}
		}
		if (snprintf(arg, sizeof(arg), "root=PARTUUID=%s", cfg->partuuid) >=
		    (int)sizeof(arg)) {
			log_error("drive %s: partuuid is too long", cfg->drive_id);
			return -EINVAL;
		}
	} else {
		snprintf(arg, sizeof(arg), "root=/dev/vda");
	}
	ret = cmdline_append(&vm->cmdline, arg);
	if (!ret)
		ret = cmdline_append(&vm->cmdline, cfg->is_read_only ? "ro" : "rw");
	if (ret)
		log_error("drive %s: the kernel command line has no room for the root device",
			  cfg->drive_id);
	return ret;
}

static int drive_add(struct vm *vm, const struct drive_config *cfg)
{
	const char *id = cfg->drive_id ? cfg->drive_id : "?";
	struct virtio_block *b;
	struct virtio_slot *s;
	char what[96];
	int ret;

	if (cfg->drive_id && drives_find(vm, cfg->drive_id)) {
		log_error("drive %s: a drive with this drive_id already exists", id);
		return -EEXIST;
	}
	if (cfg->is_root_device && vm_virtio_next(vm, &drives_type, NULL)) {
		log_error("drive %s: the root device must be the first drive (it is /dev/vda)", id);
		return -EINVAL;
	}
	snprintf(what, sizeof(what), "drive %s", id);
	ret = vm_virtio_slot_new(vm, &drives_type, what, &s);
	if (ret)
		return ret;
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("drive %s: out of memory", id);
		return -ENOMEM;
	}
	s->state = b; /* from here on drives_remove() frees it */
	ret = virtio_block_init(b, cfg, vm_virtio_host_ops(), s, &vm->mem);
	if (!ret)
		ret = vm_virtio_place(vm, s, &b->dev);
	if (!ret && cfg->is_root_device)
		ret = add_root_args(vm, cfg);
	return ret;
}

int drives_add(struct vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < c->nr_drives; i++)
		ret = drive_add(vm, &c->drives[i]);
	return ret;
}

void drives_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_block_destroy(s->state);
	free(s->state);
}

/*
 * The VM's configuration follows the drive: a snapshot saves it, and a restore
 * reopens the path it names (and checks its size against the device's).
 */
static int record_update(struct vm *vm, const char *drive_id, const char *path_on_host,
			 const struct rate_limiter_config *rl)
{
	for (unsigned int i = 0; i < vm->cfg.nr_drives; i++) {
		struct drive_config *d = &vm->cfg.drives[i];
		char *copy;

		if (!d->drive_id || strcmp(d->drive_id, drive_id))
			continue;
		if (path_on_host) {
			copy = strdup(path_on_host);
			if (!copy) {
				log_error("drive %s: out of memory recording the update", drive_id);
				return -ENOMEM;
			}
			free(d->path_on_host);
			d->path_on_host = copy;
		}
		if (rl)
			d->rate_limiter = *rl;
	}
	return 0;
}

int drives_update(struct vm *vm, const char *drive_id, const char *path_on_host,
		  const struct rate_limiter_config *rl)
{
	struct virtio_slot *s = drives_find(vm, drive_id);
	int ret = 0;

	if (!s) {
		log_error("drive %s: no such drive", drive_id);
		return -ENOENT;
	}
	if (path_on_host)
		ret = block_swap_file(s->state, path_on_host);
	if (!ret && rl)
		block_set_rate_limiter(s->state, rl);
	if (!ret)
		ret = record_update(vm, drive_id, path_on_host, rl);
	return ret;
}

#define BLOCK_METRIC(name) {#name, false, offsetof(struct virtio_block, m.name)},
static const struct vm_metric block_metrics[] = {
    VIRTIO_BLOCK_METRICS(VM_METRIC_TRANSPORT, BLOCK_METRIC)};

static void block_of(const struct virtio_slot *s, struct vm_metrics_dev *out)
{
	struct virtio_block *b = s->state;

	*out = (struct vm_metrics_dev){b->drive_id, &b->dev, b};
}

void drives_metrics(struct vm *vm, json_t *root)
{
	vm_metrics_group(vm, &drives_type, "block", block_metrics,
			 sizeof(block_metrics) / sizeof(block_metrics[0]), block_of, root);
}
