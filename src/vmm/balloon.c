// SPDX-License-Identifier: Apache-2.0
/* The VM's balloon device. See balloon.h. */
#include "vmm/balloon.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>

const struct vm_device_type balloon_type = {
    .name = "balloon",
    .add = balloon_add,
    .remove = balloon_remove,
    .find = balloon_find,
    .metrics = balloon_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *balloon_find(struct vm *vm, const char *id)
{
	(void)id;
	return vm_virtio_next(vm, &balloon_type, NULL);
}

static struct virtio_balloon *balloon_of(struct vm *vm)
{
	struct virtio_slot *s = balloon_find(vm, NULL);

	return s ? s->state : NULL;
}

int balloon_add(struct vm *vm)
{
	const struct balloon_config *cfg = &vm->cfg.balloon;
	struct virtio_balloon *b;
	struct virtio_slot *s;
	const char *why;
	int ret;

	if (!vm->cfg.has_balloon)
		return 0;
	if (balloon_find(vm, NULL)) {
		log_error("balloon: the VM already has a balloon device");
		return -EEXIST;
	}
	why = virtio_balloon_config_error(cfg, vm->mem.ram_size >> 20);
	if (why) {
		log_error("balloon.%s", why);
		return -EINVAL;
	}
	ret = vm_virtio_slot_new(vm, &balloon_type, "balloon", &s);
	if (ret)
		return ret;
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("balloon: out of memory");
		return -ENOMEM;
	}
	s->state = b; /* from here on balloon_remove() frees it */
	ret = virtio_balloon_init(b, cfg, vm_virtio_host_ops(), s, &vm->mem);
	if (!ret)
		ret = vm_virtio_place(vm, s, &b->dev);
	return ret;
}

void balloon_remove(struct vm *vm, struct virtio_slot *s)
{
	(void)vm;
	virtio_balloon_destroy(s->state);
	free(s->state);
}

int balloon_update(struct vm *vm, uint32_t amount_mib)
{
	struct virtio_balloon *b = balloon_of(vm);

	return b ? balloon_set_target(b, amount_mib) : -ENODEV;
}

int balloon_update_statistics(struct vm *vm, uint32_t stats_polling_interval_s)
{
	struct virtio_balloon *b = balloon_of(vm);

	return b ? balloon_set_stats_interval(b, stats_polling_interval_s) : -ENODEV;
}

int balloon_statistics(struct vm *vm, struct balloon_stats *out)
{
	struct virtio_balloon *b = balloon_of(vm);

	return b ? balloon_get_stats(b, out) : -ENODEV;
}

#define BALLOON_METRIC(name) {#name, false, offsetof(struct virtio_balloon, name)},
static const struct vm_metric metrics[] = {
    VIRTIO_BALLOON_METRICS(VM_METRIC_TRANSPORT, BALLOON_METRIC)};

void balloon_metrics(struct vm *vm, json_t *root)
{
	struct virtio_balloon *b = balloon_of(vm);
	json_t *g;

	if (!b || !(g = json_object()))
		return;
	vm_metrics_write(g, NULL, metrics, sizeof(metrics) / sizeof(metrics[0]), &b->dev, b);
	json_object_set_new(root, "balloon", g);
}

int balloon_hinting_start(struct vm *vm, bool ack_on_stop)
{
	struct virtio_slot *s = balloon_find(vm, NULL);

	return s ? balloon_hint_start(s->state, ack_on_stop) : -ENODEV;
}

int balloon_hinting_stop(struct vm *vm)
{
	struct virtio_slot *s = balloon_find(vm, NULL);

	return s ? balloon_hint_stop(s->state) : -ENODEV;
}

int balloon_hinting_status(struct vm *vm, uint32_t *host_cmd, uint32_t *guest_cmd, bool *has_guest)
{
	struct virtio_slot *s = balloon_find(vm, NULL);

	return s ? balloon_hint_status(s->state, host_cmd, guest_cmd, has_guest) : -ENODEV;
}
