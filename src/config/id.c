// SPDX-License-Identifier: Apache-2.0
/* Ids: where an API path and its body both name a resource, they must agree. */
#include "config/json.h"

#include <errno.h>
#include <string.h>

int config_check_body_id(const char *json, size_t len, const char *route, const char *key,
			 const char *id, char err[CONFIG_ERR_MAX])
{
	const char *what = route[0] == '/' ? route + 1 : route;
	json_t *o = cfg_load_body(json, len, what, err);
	const json_t *v;
	int ret = 0;

	if (!o)
		return -EINVAL;
	v = json_object_get(o, key);
	if (v && (!json_is_string(v) || strcmp(json_string_value(v), id))) {
		char val[64];

		config_show_value(v, val, sizeof(val));
		ret = cfg_fail(
		    err, "%s/%s: the body's %s %s does not match the id in the path (\"%s\").",
		    route, id, key, val, id);
	}
	json_decref(o);
	return ret;
}
