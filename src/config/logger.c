// SPDX-License-Identifier: Apache-2.0
/* Logger: level, log file, what each line shows (PUT /logger). */
#include "config/json.h"

#include <stdlib.h>

static const char *const level_names[] = {
    [LOG_OFF] = "Off",	 [LOG_ERROR] = "Error", [LOG_WARN] = "Warning",
    [LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

/*
 * Logger into @lc: the keys given change, the others keep their value (the
 * config file starts from the defaults; PUT /logger from the logger's state).
 * A new log_path replaces lc->log_path, which the caller must not free twice.
 */
static int parse(json_t *o, const char *p, struct logger_config *lc, char *err)
{
	static const char *const keys[] = {"level",	      "log_path", "show_level",
					   "show_log_origin", "module",	  NULL};
	const json_t *lv;
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_string(o, p, "log_path", false, &lc->log_path, err)) ||
	    (ret = cfg_get_string(o, p, "module", false, &lc->module, err)) ||
	    (ret = cfg_get_bool(o, p, "show_level", &lc->show_level, err)) ||
	    (ret = cfg_get_bool(o, p, "show_log_origin", &lc->show_log_origin, err)))
		return ret;
	if (lc->module && log_module_check(lc->module) < 0)
		return cfg_fail(
		    err,
		    "%s.module: \"%.64s\" is not a module path (1 to %d letters, digits, "
		    "'_' and '::' or '/' between names, e.g. \"vmm::vcpu\" or \"api\"; "
		    "\"\" for every module)",
		    p, lc->module, LOG_MODULE_MAX - 1);
	lv = json_object_get(o, "level");
	if (lv) {
		/* The swagger file says level names are case-insensitive. */
		if (!json_is_string(lv) || log_level_parse(json_string_value(lv), &lc->level) < 0) {
			char val[64];

			config_show_value(lv, val, sizeof(val));
			return cfg_fail(err, "%s.level: %s is not one of %s, %s, %s, %s, %s, %s", p,
					val, level_names[LOG_OFF], level_names[LOG_ERROR],
					level_names[LOG_WARN], level_names[LOG_INFO],
					level_names[LOG_DEBUG], level_names[LOG_TRACE]);
		}
	}
	lc->present = true;
	return 0;
}

/* Always like a patch, as Firecracker's logger is. */
static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct logger_config lc = cfg->logger;
	int ret;

	lc.log_path = NULL; /* set only if the body has one */
	lc.module = NULL;
	ret = parse(o, how->path, &lc, err);
	if (ret) {
		free(lc.log_path);
		free(lc.module);
		return ret;
	}
	if (lc.log_path)
		free(cfg->logger.log_path);
	else
		lc.log_path = cfg->logger.log_path;
	if (lc.module)
		free(cfg->logger.module);
	else
		lc.module = cfg->logger.module;
	cfg->logger = lc;
	return 0;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->logger.log_path = cfg_dup(src->logger.log_path, oom);
	dst->logger.module = cfg_dup(src->logger.module, oom);
}

static void release(struct vm_config *cfg)
{
	free(cfg->logger.log_path);
	free(cfg->logger.module);
	cfg->logger.log_path = NULL;
	cfg->logger.module = NULL;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	const struct logger_config *lc = &cfg->logger;
	json_t *o;

	if (!lc->present)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "level", json_string(level_names[lc->level]), bad);
	if (lc->log_path)
		cfg_put(o, "log_path", json_string(lc->log_path), bad);
	cfg_put(o, "show_level", json_boolean(lc->show_level), bad);
	cfg_put(o, "show_log_origin", json_boolean(lc->show_log_origin), bad);
	if (lc->module && lc->module[0])
		cfg_put(o, "module", json_string(lc->module), bad);
	return o;
}

const struct config_section_ops config_logger_section = {
    .key = "logger",
    .name = "logger",
    .apply = apply,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};
