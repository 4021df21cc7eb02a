// SPDX-License-Identifier: Apache-2.0
/*
 * SerialDevice (PUT /serial, before boot; not a FullVmConfiguration key): the
 * file or named pipe the guest's console goes to instead of ember's stdout,
 * and a token bucket (bytes) for that output.
 */
#include "config/json.h"

#include <stdlib.h>

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	static const char *const keys[] = {"serial_out_path", "rate_limiter", NULL};
	const char *p = how->path;
	struct serial_config sc = {0};
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_string(o, p, "serial_out_path", false, &sc.serial_out_path, err)) ||
	    (ret = cfg_parse_bucket_key(o, p, "rate_limiter", &sc.rate_limiter,
					&sc.has_rate_limiter, err))) {
		free(sc.serial_out_path);
		return ret;
	}
	if (sc.serial_out_path && !sc.serial_out_path[0]) {
		free(sc.serial_out_path);
		return cfg_fail(err, "%s.serial_out_path: \"\" is not a path", p);
	}
	sc.present = true;
	free(cfg->serial.serial_out_path);
	cfg->serial = sc;
	return 0;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->serial.serial_out_path = cfg_dup(src->serial.serial_out_path, oom);
}

static void release(struct vm_config *cfg)
{
	free(cfg->serial.serial_out_path);
	cfg->serial.serial_out_path = NULL;
}

/* API only: GET /vm/config has no key for it (the swagger's FullVmConfiguration). */
const struct config_section_ops config_serial_section = {
    .name = "serial",
    .apply = apply,
    .copy = copy,
    .free = release,
};
