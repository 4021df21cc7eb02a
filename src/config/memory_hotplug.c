// SPDX-License-Identifier: Apache-2.0
/*
 * MemoryHotplugConfig: the virtio-mem region (PUT /hotplug/memory before
 * boot), and MemoryHotplugSizeUpdate (PATCH after boot), parsed for the device.
 */
#include "config/json.h"

#include <errno.h>

/* The region ember offers at most, in MiB (VIRTIO_MEM_MAX_REGION). */
#define MAX_TOTAL_MIB (VIRTIO_MEM_MAX_REGION >> 20)

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	static const char *const keys[] = {"total_size_mib", "slot_size_mib", "block_size_mib",
					   NULL};
	const char *p = how->path;
	uint64_t total = 0, slot = 128, block = 2;
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, "total_size_mib", true, 0, UINT32_MAX, &total, err)) ||
	    (ret = cfg_get_uint(o, p, "slot_size_mib", false, 128, UINT32_MAX, &slot, err)) ||
	    (ret = cfg_get_uint(o, p, "block_size_mib", false, 2, UINT32_MAX, &block, err)))
		return ret;
	if (block & (block - 1))
		return cfg_fail(err, "%s.block_size_mib: %llu is not a power of 2", p,
				(unsigned long long)block);
	if (slot % block)
		return cfg_fail(err,
				"%s.slot_size_mib: %llu is not a multiple of block_size_mib (%llu)",
				p, (unsigned long long)slot, (unsigned long long)block);
	if (!total || total % slot)
		return cfg_fail(err,
				"%s.total_size_mib: %llu is not a non-zero multiple of "
				"slot_size_mib (%llu)",
				p, (unsigned long long)total, (unsigned long long)slot);
	if (total > MAX_TOTAL_MIB)
		return cfg_fail(err, "%s.total_size_mib: %llu is more than ember offers (%llu)", p,
				(unsigned long long)total, (unsigned long long)MAX_TOTAL_MIB);
	cfg->memory_hotplug = (struct memory_hotplug_config){
	    .present = true,
	    .total_size_mib = (uint32_t)total,
	    .slot_size_mib = (uint32_t)slot,
	    .block_size_mib = (uint32_t)block,
	};
	return 0;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->memory_hotplug.present;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	const struct memory_hotplug_config *m = &cfg->memory_hotplug;
	json_t *o;

	if (!m->present)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "total_size_mib", json_integer(m->total_size_mib), bad);
	cfg_put(o, "slot_size_mib", json_integer(m->slot_size_mib), bad);
	cfg_put(o, "block_size_mib", json_integer(m->block_size_mib), bad);
	return o;
}

const struct config_section_ops config_memory_hotplug_section = {
    .key = "memory-hotplug",
    .name = "memory-hotplug",
    .apply = apply,
    .virtio_devices = virtio_devices,
    .to_json = to_json,
};

int config_parse_memory_hotplug_update(const char *json, size_t len, uint32_t *requested_mib,
				       char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"requested_size_mib", NULL};
	const char *p = "memory-hotplug";
	json_t *o = cfg_load_body(json, len, p, err);
	uint64_t v = 0;
	int ret;

	if (!o)
		return -EINVAL;
	ret = cfg_check_keys(o, p, keys, err);
	if (!ret)
		ret = cfg_get_uint(o, p, "requested_size_mib", true, 0, UINT32_MAX, &v, err);
	json_decref(o);
	if (!ret)
		*requested_mib = (uint32_t)v;
	return ret;
}
