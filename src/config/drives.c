// SPDX-License-Identifier: Apache-2.0
/* Drive: virtio-blk devices (PUT /drives/{id}; PATCH after boot: PartialDrive). */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const cache_names[] = {"Unsafe", "Writeback", NULL};
static const char *const engine_names[] = {"Sync", "Async", NULL};

static void drive_config_free(struct drive_config *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

/* Drive into a zeroed @d; @p names it in messages ("drives[0]", "drive"). */
static int parse(json_t *o, const char *p, struct drive_config *d, char *err)
{
	static const char *const keys[] = {
	    "drive_id",	    "partuuid",	    "is_root_device", "cache_type", "is_read_only",
	    "path_on_host", "rate_limiter", "io_engine",      "socket",	    NULL};
	char path[64];
	int cache = 0, engine = 0;
	int ret;

	snprintf(path, sizeof(path), "%s.rate_limiter", p);
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "drive_id", &d->drive_id, err)) ||
	    (ret = cfg_refuse_key(
		 o, p, "socket", "vhost-user block devices are not supported yet by ember", err)) ||
	    (ret = cfg_get_bool_required(o, p, "is_root_device", &d->is_root_device, err)) ||
	    (ret = cfg_get_string(o, p, "path_on_host", true, &d->path_on_host, err)) ||
	    (ret = cfg_get_string(o, p, "partuuid", false, &d->partuuid, err)) ||
	    (ret = cfg_get_bool(o, p, "is_read_only", &d->is_read_only, err)) ||
	    (ret = cfg_get_enum(o, p, "cache_type", cache_names, &cache, err)) ||
	    (ret = cfg_get_enum(o, p, "io_engine", engine_names, &engine, err)) ||
	    (ret = cfg_parse_rate_limiter(json_object_get(o, "rate_limiter"), path,
					  &d->rate_limiter, err)))
		return ret;
	if (!d->path_on_host[0])
		return cfg_fail(err, "%s.path_on_host: the path is empty", p);
	d->cache_type = (enum block_cache_type)cache;
	d->io_engine = (enum block_io_engine)engine;
	return 0;
}

/*
 * Adds @d (taking its strings) in Firecracker's order, or replaces the drive
 * with the same drive_id if @replace (else that is an error). At most one
 * root device, and it goes first.
 */
static int insert(struct vm_config *cfg, struct drive_config *d, bool replace, char *err)
{
	int at = -1, root = -1;
	struct drive_config *arr;

	for (unsigned int i = 0; i < cfg->nr_drives; i++) {
		if (!strcmp(cfg->drives[i].drive_id, d->drive_id))
			at = (int)i;
		if (cfg->drives[i].is_root_device)
			root = (int)i;
	}
	if (at >= 0 && !replace)
		return cfg_fail(err, "drives: drive_id \"%s\" is used twice", d->drive_id);
	if (d->is_root_device && root >= 0 && root != at)
		return cfg_fail(err,
				"drives.%s: a root block device already exists (\"%s\"); a VM has "
				"at most one",
				d->drive_id, cfg->drives[root].drive_id);
	for (unsigned int i = 0; d->is_root_device && i < cfg->nr_pmems; i++)
		if (cfg->pmems[i].root_device)
			return cfg_fail(
			    err,
			    "drives.%s: a root device already exists (pmem \"%s\"); a VM "
			    "has at most one",
			    d->drive_id, cfg->pmems[i].id);
	if (at < 0 && cfg->nr_drives == CONFIG_MAX_DRIVES)
		return cfg_fail(err, "drives.%s: at most %d drives", d->drive_id,
				CONFIG_MAX_DRIVES);
	if (at >= 0) {
		drive_config_free(&cfg->drives[at]);
		memmove(&cfg->drives[at], &cfg->drives[at + 1],
			(cfg->nr_drives - (unsigned int)at - 1) * sizeof(*d));
		cfg->nr_drives--;
		/* Put back where it was, unless it is (now) the root device. */
	} else {
		arr = realloc(cfg->drives, (cfg->nr_drives + 1) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		cfg->drives = arr;
		at = (int)cfg->nr_drives;
	}
	if (d->is_root_device)
		at = 0;
	memmove(&cfg->drives[at + 1], &cfg->drives[at],
		(cfg->nr_drives - (unsigned int)at) * sizeof(*d));
	cfg->drives[at] = *d;
	cfg->nr_drives++;
	memset(d, 0, sizeof(*d));
	return 0;
}

/* One drive: an element of the file's "drives", or PUT /drives/{id}. */
static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct drive_config d = {0};
	int ret = parse(o, how->path, &d, err);

	if (!ret)
		ret = insert(cfg, &d, how->api, err);
	drive_config_free(&d);
	return ret;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->nr_drives;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->drives = cfg_dup_array(src->drives, src->nr_drives, sizeof(*src->drives), oom);
	dst->nr_drives = dst->drives ? src->nr_drives : 0;
	for (unsigned int i = 0; i < dst->nr_drives; i++) {
		struct drive_config *d = &dst->drives[i];

		d->drive_id = cfg_dup(d->drive_id, oom);
		d->path_on_host = cfg_dup(d->path_on_host, oom);
		d->partuuid = cfg_dup(d->partuuid, oom);
	}
}

static void release(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_config_free(&cfg->drives[i]);
	free(cfg->drives);
	cfg->drives = NULL;
	cfg->nr_drives = 0;
}

static json_t *drive_json(const void *e, bool *bad)
{
	const struct drive_config *d = e;
	json_t *o = cfg_object(bad);

	cfg_put(o, "drive_id", json_string(d->drive_id), bad);
	cfg_put(o, "partuuid", cfg_string_opt(d->partuuid), bad);
	cfg_put(o, "is_root_device", json_boolean(d->is_root_device), bad);
	cfg_put(o, "cache_type", json_string(cache_names[d->cache_type]), bad);
	cfg_put(o, "is_read_only", json_boolean(d->is_read_only), bad);
	cfg_put(o, "path_on_host", json_string(d->path_on_host), bad);
	cfg_put(o, "rate_limiter", cfg_limiter_opt(&d->rate_limiter, bad), bad);
	cfg_put(o, "io_engine", json_string(engine_names[d->io_engine]), bad);
	return o;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	return cfg_array_json(cfg->drives, cfg->nr_drives, sizeof(*cfg->drives), drive_json, bad);
}

const struct config_section_ops config_drives_section = {
    .key = "drives",
    .name = "drive",
    .list = true,
    .apply = apply,
    .virtio_devices = virtio_devices,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};

/* --- after boot: PartialDrive --- */

int config_parse_drive_update(const char *json, size_t len, struct drive_update *u,
			      char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	const char *p = "drive";
	json_t *o = cfg_load_body(json, len, p, err);
	int ret;

	memset(u, 0, sizeof(*u));
	if (!o)
		return -EINVAL;
	if ((ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "drive_id", &u->drive_id, err)) ||
	    (ret = cfg_get_string(o, p, "path_on_host", false, &u->path_on_host, err)) ||
	    (ret = cfg_parse_limiter_update(o, "rate_limiter", p, &u->has_rate_limiter,
					    &u->rate_limiter, err)))
		goto out;
	if (u->path_on_host && !u->path_on_host[0])
		ret = cfg_fail(err, "%s.path_on_host: the path is empty", p);
	else if (!u->path_on_host && !u->has_rate_limiter)
		ret = cfg_fail(
		    err, "%s: the PATCH body changes nothing (path_on_host, rate_limiter)", p);
out:
	json_decref(o);
	if (ret)
		config_drive_update_free(u);
	return ret;
}

void config_drive_update_free(struct drive_update *u)
{
	free(u->drive_id);
	free(u->path_on_host);
	memset(u, 0, sizeof(*u));
}

void config_drive_update_limiter(const struct drive_config *d, const struct drive_update *u,
				 struct rate_limiter_config *out)
{
	cfg_merge_limiter(&d->rate_limiter, &u->rate_limiter, out);
}

struct drive_config *config_find_drive(const struct vm_config *cfg, const char *drive_id)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		if (!strcmp(cfg->drives[i].drive_id, drive_id))
			return &cfg->drives[i];
	return NULL;
}

int config_apply_drive_update(struct vm_config *cfg, const struct drive_update *u)
{
	struct drive_config *d = config_find_drive(cfg, u->drive_id);

	if (!d)
		return -ENOENT;
	if (u->path_on_host) {
		char *s = strdup(u->path_on_host);

		if (!s)
			return -ENOMEM;
		free(d->path_on_host);
		d->path_on_host = s;
	}
	if (u->has_rate_limiter)
		cfg_merge_limiter(&d->rate_limiter, &u->rate_limiter, &d->rate_limiter);
	return 0;
}
