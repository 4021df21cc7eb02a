// SPDX-License-Identifier: Apache-2.0
/* The snapshot request bodies (see snapshot.h). */
#include "config/snapshot.h"

#include "config/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CREATE "snapshot/create"
#define LOAD   "snapshot/load"

/* Firecracker's own words for a body with neither or both memory keys. */
#define MISSING_MEM "missing field: either `mem_backend` or `mem_file_path` is required"
#define TOO_MANY_MEM \
	"too many fields: either `mem_backend` or `mem_file_path` exclusively is required"

static int want_path(const char *path, const char *key, const char *s, char *err)
{
	if (!s[0])
		return cfg_fail(err, "%s.%s: the path is empty", path, key);
	return 0;
}

int config_parse_snapshot_create(const char *json, size_t len, struct snapshot_create_params *p,
				 char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"snapshot_type", "snapshot_path", "mem_file_path", NULL};
	static const char *const types[] = {"Full", "Diff", NULL};
	json_t *o = cfg_load_body(json, len, CREATE, err);
	int type = SNAPSHOT_FULL, ret;

	memset(p, 0, sizeof(*p));
	if (!o)
		return -EINVAL;
	if ((ret = cfg_check_keys(o, CREATE, keys, err)) ||
	    (ret = cfg_get_string(o, CREATE, "snapshot_path", true, &p->snapshot_path, err)) ||
	    (ret = cfg_get_string(o, CREATE, "mem_file_path", true, &p->mem_file_path, err)) ||
	    (ret = cfg_get_enum(o, CREATE, "snapshot_type", types, &type, err)) ||
	    (ret = want_path(CREATE, "snapshot_path", p->snapshot_path, err)) ||
	    (ret = want_path(CREATE, "mem_file_path", p->mem_file_path, err)))
		config_snapshot_create_free(p);
	p->type = (enum snapshot_type)type;
	json_decref(o);
	return ret;
}

void config_snapshot_create_free(struct snapshot_create_params *p)
{
	free(p->snapshot_path);
	free(p->mem_file_path);
	memset(p, 0, sizeof(*p));
}

static int parse_mem_backend(json_t *o, struct snapshot_load_params *p, char *err)
{
	static const char *const keys[] = {"backend_type", "backend_path", NULL};
	static const char *const types[] = {"File", "Uffd", NULL};
	const char *path = LOAD ".mem_backend";
	int type = MEM_BACKEND_FILE, ret;

	if ((ret = cfg_want_object(o, path, err)) || (ret = cfg_check_keys(o, path, keys, err)))
		return ret;
	if (!json_object_get(o, "backend_type"))
		return cfg_fail(err, "%s: missing required key \"backend_type\"", path);
	if ((ret = cfg_get_enum(o, path, "backend_type", types, &type, err)) ||
	    (ret = cfg_get_string(o, path, "backend_path", true, &p->mem_path, err)) ||
	    (ret = want_path(path, "backend_path", p->mem_path, err)))
		return ret;
	p->backend = (enum mem_backend_type)type;
	return 0;
}

static int parse_net_overrides(json_t *a, struct snapshot_load_params *p, char *err)
{
	static const char *const keys[] = {"iface_id", "host_dev_name", NULL};
	size_t n;

	if (!json_is_array(a))
		return cfg_fail(err, "%s.network_overrides: expected an array", LOAD);
	n = json_array_size(a);
	if (n > CONFIG_MAX_NETS)
		return cfg_fail(err,
				"%s.network_overrides: %zu entries, more than the %d interfaces "
				"a VM can have",
				LOAD, n, CONFIG_MAX_NETS);
	p->net_overrides = calloc(n ? n : 1, sizeof(p->net_overrides[0]));
	if (!p->net_overrides)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct net_override *no = &p->net_overrides[i];
		json_t *e = json_array_get(a, i);
		char path[64];
		int ret;

		snprintf(path, sizeof(path), "%s.network_overrides[%zu]", LOAD, i);
		p->nr_net_overrides = (unsigned int)i + 1;
		if ((ret = cfg_want_object(e, path, err)) ||
		    (ret = cfg_check_keys(e, path, keys, err)) ||
		    (ret = cfg_get_id(e, path, "iface_id", &no->iface_id, err)) ||
		    (ret = cfg_get_string(e, path, "host_dev_name", true, &no->host_dev_name, err)))
			return ret;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->net_overrides[j].iface_id, no->iface_id))
				return cfg_fail(err, "%s.iface_id: \"%s\" is overridden twice",
						path, no->iface_id);
	}
	return 0;
}

static int parse_vsock_override(json_t *o, struct snapshot_load_params *p, char *err)
{
	static const char *const keys[] = {"uds_path", NULL};
	const char *path = LOAD ".vsock_override";
	int ret;

	if ((ret = cfg_want_object(o, path, err)) || (ret = cfg_check_keys(o, path, keys, err)) ||
	    (ret = cfg_get_string(o, path, "uds_path", true, &p->vsock_uds_path, err)) ||
	    (ret = want_path(path, "uds_path", p->vsock_uds_path, err)))
		return ret;
	if (strlen(p->vsock_uds_path) > 107)
		return cfg_fail(err,
				"%s.uds_path: %zu bytes, longer than a Unix socket path may be "
				"(107)",
				path, strlen(p->vsock_uds_path));
	return 0;
}

int config_parse_snapshot_load(const char *json, size_t len, struct snapshot_load_params *p,
			       char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"snapshot_path",
					   "mem_file_path",
					   "mem_backend",
					   "enable_diff_snapshots",
					   "track_dirty_pages",
					   "resume_vm",
					   "network_overrides",
					   "vsock_override",
					   "clock_realtime",
					   "huge_pages",
					   NULL};
	static const char *const huge[] = {"Snapshot", "None", "Transparent", "2M", NULL};
	json_t *o = cfg_load_body(json, len, LOAD, err);
	json_t *backend, *nets, *vsock;
	bool diff = false;
	int hp = SNAPSHOT_HUGE_PAGES_SNAPSHOT, ret;

	memset(p, 0, sizeof(*p));
	if (!o)
		return -EINVAL;
	backend = json_object_get(o, "mem_backend");
	nets = json_object_get(o, "network_overrides");
	vsock = json_object_get(o, "vsock_override");
	if (backend && json_is_null(backend))
		backend = NULL;
	if ((ret = cfg_check_keys(o, LOAD, keys, err)) ||
	    (ret = cfg_get_string(o, LOAD, "snapshot_path", true, &p->snapshot_path, err)) ||
	    (ret = want_path(LOAD, "snapshot_path", p->snapshot_path, err)) ||
	    (ret = cfg_get_string(o, LOAD, "mem_file_path", false, &p->mem_path, err)))
		goto out;
	p->mem_file_path_used = p->mem_path != NULL;
	if (backend && p->mem_file_path_used) {
		ret = cfg_fail(err, "%s: %s", LOAD, TOO_MANY_MEM);
		goto out;
	}
	if (!backend && !p->mem_file_path_used) {
		ret = cfg_fail(err, "%s: %s", LOAD, MISSING_MEM);
		goto out;
	}
	if ((backend && (ret = parse_mem_backend(backend, p, err))) ||
	    (!backend && (ret = want_path(LOAD, "mem_file_path", p->mem_path, err))) ||
	    (ret = cfg_get_bool(o, LOAD, "track_dirty_pages", &p->track_dirty_pages, err)) ||
	    (ret = cfg_get_bool(o, LOAD, "enable_diff_snapshots", &diff, err)) ||
	    (ret = cfg_get_bool(o, LOAD, "resume_vm", &p->resume_vm, err)) ||
	    (ret = cfg_get_bool(o, LOAD, "clock_realtime", &p->clock_realtime, err)) ||
	    (ret = cfg_get_enum(o, LOAD, "huge_pages", huge, &hp, err)) ||
	    (nets && !json_is_null(nets) && (ret = parse_net_overrides(nets, p, err))) ||
	    (vsock && !json_is_null(vsock) && (ret = parse_vsock_override(vsock, p, err))))
		goto out;
	/* enable_diff_snapshots is the deprecated name of track_dirty_pages (Firecracker ORs them).
	 */
	p->track_dirty_pages |= diff;
	p->huge_pages = (enum snapshot_huge_pages)hp;
out:
	if (ret)
		config_snapshot_load_free(p);
	json_decref(o);
	return ret;
}

void config_snapshot_load_free(struct snapshot_load_params *p)
{
	free(p->snapshot_path);
	free(p->mem_path);
	for (unsigned int i = 0; i < p->nr_net_overrides; i++) {
		free(p->net_overrides[i].iface_id);
		free(p->net_overrides[i].host_dev_name);
	}
	free(p->net_overrides);
	free(p->vsock_uds_path);
	memset(p, 0, sizeof(*p));
}
