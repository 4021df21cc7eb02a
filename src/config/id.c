// SPDX-License-Identifier: Apache-2.0
/*
 * Ids, Firecracker's rules in one place: resource ids (drive_id, iface_id) in
 * bodies and in API paths, the microVM's id (--id), and a path's id against
 * its body's.
 */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum id_fault {
	ID_OK,
	ID_LENGTH, /* empty, or longer than CONFIG_ID_MAX */
	ID_CHARS,
};

static enum id_fault id_fault(const char *id, enum config_id_rule rule)
{
	/* Besides ASCII letters and digits: '_' in resource ids, '-' in the instance's. */
	char extra = rule == CONFIG_ID_INSTANCE ? '-' : '_';
	size_t n = strlen(id);

	if (!n || n > CONFIG_ID_MAX)
		return ID_LENGTH;
	for (const char *c = id; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == extra))
			return ID_CHARS;
	return ID_OK;
}

int config_check_id(const char *id, enum config_id_rule rule, const char *what,
		    char err[CONFIG_ERR_MAX])
{
	enum id_fault f = id_fault(id, rule);

	if (f == ID_OK)
		return 0;
	if (rule == CONFIG_ID_INSTANCE)
		return cfg_fail(err,
				"%s: \"%.400s\" is not a valid id (1 to %d letters, digits or '-')",
				what, id, CONFIG_ID_MAX);
	if (f == ID_LENGTH)
		return cfg_fail(err, "%s: \"%.80s\" must be 1 to %d characters", what, id,
				CONFIG_ID_MAX);
	return cfg_fail(err,
			"%s: \"%.80s\" may contain only alphanumeric characters and underscores",
			what, id);
}

int config_check_path_id(const char *route, const char *id_key, const char *id,
			 char err[CONFIG_ERR_MAX])
{
	switch (id_fault(id, CONFIG_ID_RESOURCE)) {
	case ID_OK:
		return 0;
	case ID_LENGTH:
		if (!id[0])
			return cfg_fail(err, "%s: the path needs an id (%s/{%s}).", route, route,
					id_key);
		return cfg_fail(err, "%s/%.80s: API resource ids must be 1 to %d characters.",
				route, id, CONFIG_ID_MAX);
	case ID_CHARS:
		break;
	}
	return cfg_fail(err,
			"%s/%s: API resource ids can only contain alphanumeric characters and "
			"underscores.",
			route, id);
}

int cfg_get_id(const json_t *obj, const char *path, const char *key, char **out, char *err)
{
	int ret = cfg_get_string(obj, path, key, true, out, err);
	char what[128];

	if (ret)
		return ret;
	snprintf(what, sizeof(what), "%s.%s", path, key);
	return config_check_id(*out, CONFIG_ID_RESOURCE, what, err);
}

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
