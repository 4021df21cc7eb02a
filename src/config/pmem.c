// SPDX-License-Identifier: Apache-2.0
/* Pmem: virtio-pmem devices (PUT /pmem/{id} before boot; PATCH after: PartialPmem). */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void pmem_config_free(struct pmem_config *d)
{
	free(d->id);
	free(d->path_on_host);
	memset(d, 0, sizeof(*d));
}

/* Pmem into a zeroed @d; @p names it in messages ("pmem[0]", "pmem"). */
static int parse(json_t *o, const char *p, struct pmem_config *d, char *err)
{
	static const char *const keys[] = {"id",	"path_on_host", "root_device",
					   "read_only", "rate_limiter", NULL};
	char path[64];
	int ret;

	snprintf(path, sizeof(path), "%s.rate_limiter", p);
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "id", &d->id, err)) ||
	    (ret = cfg_get_string(o, p, "path_on_host", true, &d->path_on_host, err)) ||
	    (ret = cfg_get_bool(o, p, "root_device", &d->root_device, err)) ||
	    (ret = cfg_get_bool(o, p, "read_only", &d->read_only, err)) ||
	    (ret = cfg_parse_rate_limiter(json_object_get(o, "rate_limiter"), path,
					  &d->rate_limiter, err)))
		return ret;
	if (!d->path_on_host[0])
		return cfg_fail(err, "%s.path_on_host: the path is empty", p);
	return 0;
}

/* The root device of another kind or id than @self, if any: a VM boots from one. */
static const char *other_root(const struct vm_config *cfg, const char *self)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (cfg->drives[i].is_root_device)
			return cfg->drives[i].drive_id;
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (cfg->pmems[i].root_device && (!self || strcmp(cfg->pmems[i].id, self)))
			return cfg->pmems[i].id;
	return NULL;
}

/* Adds @d (taking its strings), or replaces the device with its id if @replace. */
static int insert(struct vm_config *cfg, struct pmem_config *d, bool replace, char *err)
{
	const char *root = d->root_device ? other_root(cfg, d->id) : NULL;
	struct pmem_config *arr;
	int at = -1;

	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (!strcmp(cfg->pmems[i].id, d->id))
			at = (int)i;
	if (at >= 0 && !replace)
		return cfg_fail(err, "pmem: id \"%s\" is used twice", d->id);
	if (root)
		return cfg_fail(err,
				"pmem.%s: root_device: a root device already exists (\"%s\"); a VM "
				"has at most one",
				d->id, root);
	if (at >= 0) {
		/* In place: /dev/pmemN follows the order the devices were first added. */
		pmem_config_free(&cfg->pmems[at]);
		cfg->pmems[at] = *d;
		memset(d, 0, sizeof(*d));
		return 0;
	}
	if (cfg->nr_pmems == CONFIG_MAX_PMEM)
		return cfg_fail(err, "pmem.%s: at most %d pmem devices", d->id, CONFIG_MAX_PMEM);
	arr = realloc(cfg->pmems, (cfg->nr_pmems + 1) * sizeof(*arr));
	if (!arr)
		return -ENOMEM;
	cfg->pmems = arr;
	cfg->pmems[cfg->nr_pmems++] = *d;
	memset(d, 0, sizeof(*d));
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct pmem_config d = {0};
	int ret = parse(o, how->path, &d, err);

	if (!ret)
		ret = insert(cfg, &d, how->api, err);
	pmem_config_free(&d);
	return ret;
}

/* The file's devices, once all are read: one root device across drives and pmem. */
static int validate(const struct vm_config *cfg, char *err)
{
	for (unsigned int i = 0; i < cfg->nr_pmems; i++) {
		const char *root;

		if (!cfg->pmems[i].root_device)
			continue;
		root = other_root(cfg, cfg->pmems[i].id);
		if (root)
			return cfg_fail(err,
					"pmem.%s: root_device: a root device already exists "
					"(\"%s\"); a VM has at most one",
					cfg->pmems[i].id, root);
	}
	return 0;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->nr_pmems;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->pmems = cfg_dup_array(src->pmems, src->nr_pmems, sizeof(*src->pmems), oom);
	dst->nr_pmems = dst->pmems ? src->nr_pmems : 0;
	for (unsigned int i = 0; i < dst->nr_pmems; i++) {
		dst->pmems[i].id = cfg_dup(dst->pmems[i].id, oom);
		dst->pmems[i].path_on_host = cfg_dup(dst->pmems[i].path_on_host, oom);
	}
}

static void release(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		pmem_config_free(&cfg->pmems[i]);
	free(cfg->pmems);
	cfg->pmems = NULL;
	cfg->nr_pmems = 0;
}

static json_t *pmem_json(const void *e, bool *bad)
{
	const struct pmem_config *d = e;
	json_t *o = cfg_object(bad);

	cfg_put(o, "id", json_string(d->id), bad);
	cfg_put(o, "path_on_host", json_string(d->path_on_host), bad);
	cfg_put(o, "root_device", json_boolean(d->root_device), bad);
	cfg_put(o, "read_only", json_boolean(d->read_only), bad);
	cfg_put(o, "rate_limiter", cfg_limiter_opt(&d->rate_limiter, bad), bad);
	return o;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	if (!cfg->nr_pmems)
		return json_null();
	return cfg_array_json(cfg->pmems, cfg->nr_pmems, sizeof(*cfg->pmems), pmem_json, bad);
}

const struct config_section_ops config_pmem_section = {
    .key = "pmem",
    .name = "pmem",
    .list = true,
    .apply = apply,
    .validate = validate,
    .virtio_devices = virtio_devices,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};

/* --- after boot: PartialPmem (id, rate_limiter) --- */

int config_parse_pmem_update(const char *json, size_t len, struct pmem_update *u,
			     char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"id", "rate_limiter", NULL};
	const char *p = "pmem";
	json_t *o = cfg_load_body(json, len, p, err);
	int ret;

	memset(u, 0, sizeof(*u));
	if (!o)
		return -EINVAL;
	if ((ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "id", &u->id, err)) ||
	    (ret = cfg_parse_limiter_update(o, "rate_limiter", p, &u->has_rate_limiter,
					    &u->rate_limiter, err)))
		goto out;
	if (!u->has_rate_limiter)
		ret = cfg_fail(err, "%s: the PATCH body changes nothing (rate_limiter)", p);
out:
	json_decref(o);
	if (ret)
		config_pmem_update_free(u);
	return ret;
}

void config_pmem_update_free(struct pmem_update *u)
{
	free(u->id);
	memset(u, 0, sizeof(*u));
}

struct pmem_config *config_find_pmem(const struct vm_config *cfg, const char *id)
{
	for (unsigned int i = 0; i < cfg->nr_pmems; i++)
		if (!strcmp(cfg->pmems[i].id, id))
			return &cfg->pmems[i];
	return NULL;
}
