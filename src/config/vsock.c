// SPDX-License-Identifier: Apache-2.0
/* Vsock: virtio-vsock and its host-side Unix socket (PUT /vsock). */
#include "config/json.h"

#include <stdlib.h>
#include <string.h>

static void vsock_config_free(struct vsock_config *v)
{
	free(v->uds_path);
	free(v->vsock_id);
	memset(v, 0, sizeof(*v));
}

/* Vsock into a zeroed @v. */
static int parse(json_t *o, const char *p, struct vsock_config *v, char *err)
{
	static const char *const keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	uint64_t cid = 0;
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, "guest_cid", true, 3, 0xfffffffeULL, &cid, err)) ||
	    (ret = cfg_get_string(o, p, "uds_path", true, &v->uds_path, err)) ||
	    (ret = cfg_get_string(o, p, "vsock_id", false, &v->vsock_id, err)))
		return ret;
	if (!v->uds_path[0])
		return cfg_fail(err, "%s.uds_path: the path is empty", p);
	/* sockaddr_un's sun_path: 108 bytes with the NUL. */
	if (strlen(v->uds_path) > 107)
		return cfg_fail(
		    err, "%s.uds_path: %zu bytes, longer than a Unix socket path may be (107)", p,
		    strlen(v->uds_path));
	v->guest_cid = (uint32_t)cid;
	v->present = true;
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct vsock_config v = {0};
	int ret = parse(o, how->path, &v, err);

	if (ret) {
		vsock_config_free(&v);
		return ret;
	}
	vsock_config_free(&cfg->vsock);
	cfg->vsock = v;
	return 0;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->vsock.present;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->vsock.uds_path = cfg_dup(src->vsock.uds_path, oom);
	dst->vsock.vsock_id = cfg_dup(src->vsock.vsock_id, oom);
}

static void release(struct vm_config *cfg)
{
	vsock_config_free(&cfg->vsock);
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	const struct vsock_config *v = &cfg->vsock;
	json_t *o;

	if (!v->present)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "guest_cid", json_integer(v->guest_cid), bad);
	cfg_put(o, "uds_path", json_string(v->uds_path), bad);
	if (v->vsock_id)
		cfg_put(o, "vsock_id", json_string(v->vsock_id), bad);
	return o;
}

const struct config_section_ops config_vsock_section = {
    .key = "vsock",
    .name = "vsock",
    .apply = apply,
    .virtio_devices = virtio_devices,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};
