// SPDX-License-Identifier: Apache-2.0
/* Metrics: where the metrics lines go and what they carry (PUT /metrics). */
#include "config/json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void metrics_config_free(struct metrics_config *mc)
{
	free(mc->metrics_path);
	free(mc->properties_json);
	memset(mc, 0, sizeof(*mc));
}

/* Metrics into a zeroed @mc: metrics_path required, properties an object of strings. */
static int parse(json_t *o, const char *p, struct metrics_config *mc, char *err)
{
	static const char *const keys[] = {"metrics_path", "emit_id", "properties", NULL};
	const char *key;
	json_t *props, *v;
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_string(o, p, "metrics_path", true, &mc->metrics_path, err)) ||
	    (ret = cfg_get_bool(o, p, "emit_id", &mc->emit_id, err)))
		return ret;
	if (!mc->metrics_path[0])
		return cfg_fail(err, "%s.metrics_path: the path is empty", p);
	props = json_object_get(o, "properties");
	if (props && !json_is_null(props)) {
		if (!json_is_object(props))
			return cfg_fail(err, "%s.properties: expected an object, got %s", p,
					config_type_name(props));
		json_object_foreach(props, key, v)
		{
			if (!json_is_string(v))
				return cfg_fail(err, "%s.properties.%s: expected a string, got %s",
						p, key, config_type_name(v));
		}
		mc->properties_json = json_dumps(props, JSON_COMPACT);
		if (!mc->properties_json)
			return -ENOMEM;
	}
	mc->present = true;
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct metrics_config mc = {0};
	int ret = parse(o, how->path, &mc, err);

	if (ret) {
		metrics_config_free(&mc);
		return ret;
	}
	metrics_config_free(&cfg->metrics);
	cfg->metrics = mc;
	return 0;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->metrics.metrics_path = cfg_dup(src->metrics.metrics_path, oom);
	dst->metrics.properties_json = cfg_dup(src->metrics.properties_json, oom);
}

static void release(struct vm_config *cfg)
{
	metrics_config_free(&cfg->metrics);
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	const struct metrics_config *mc = &cfg->metrics;
	json_t *o;

	if (!mc->present)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "metrics_path", json_string(mc->metrics_path), bad);
	cfg_put(o, "emit_id", json_boolean(mc->emit_id), bad);
	if (mc->properties_json)
		cfg_put(o, "properties", json_loads(mc->properties_json, 0, NULL), bad);
	return o;
}

const struct config_section_ops config_metrics_section = {
    .key = "metrics",
    .name = "metrics",
    .apply = apply,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};
