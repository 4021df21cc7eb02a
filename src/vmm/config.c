// SPDX-License-Identifier: Apache-2.0
/* FullVmConfiguration parsing with jansson: strict keys, types and ranges. */
#include "vmm/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest guest RAM ember maps: 64 TiB, well past any microVM. */
#define CONFIG_MAX_MEM_MIB (64ULL << 20)

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->machine.vcpu_count = 1;
	cfg->machine.mem_size_mib = 128;
	cfg->logger.level = LOG_INFO;
}

void config_free(struct vm_config *cfg)
{
	free(cfg->boot.kernel_image_path);
	free(cfg->boot.initrd_path);
	free(cfg->boot.boot_args);
	free(cfg->logger.log_path);
	memset(cfg, 0, sizeof(*cfg));
}

__attribute__((format(printf, 2, 3))) static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A short rendering of a JSON value for messages: 42, "text", true, an object. */
static void show(const json_t *v, char *buf, size_t len)
{
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (!dump) {
		snprintf(buf, len, "(value)");
		return;
	}
	if (strlen(dump) > 40)
		snprintf(buf, len, "%.37s...", dump);
	else
		snprintf(buf, len, "%s", dump);
	free(dump);
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

/* Refuses any key of @obj that is not in @allowed (NULL-terminated). */
static int check_keys(json_t *obj, const char *path, const char *const *allowed, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return fail(err, "%s: unknown key \"%s\"", path, key);
	}
	return 0;
}

static int want_object(const json_t *v, const char *path, char *err)
{
	if (!json_is_object(v))
		return fail(err, "%s: expected an object, got %s", path, type_name(v));
	return 0;
}

/* A string field; absent or null leaves *out unchanged unless @required. */
static int get_string(const json_t *obj, const char *path, const char *key, bool required,
		      char **out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];
	char *s;

	if (!v || json_is_null(v)) {
		if (required)
			return fail(err, "%s: missing required key \"%s\"", path, key);
		return 0;
	}
	if (!json_is_string(v)) {
		show(v, val, sizeof(val));
		return fail(err, "%s.%s: expected a string, got %s %s", path, key, type_name(v),
			    val);
	}
	s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 0;
}

static int get_uint(const json_t *obj, const char *path, const char *key, bool required,
		    uint64_t min, uint64_t max, uint64_t *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];
	json_int_t n;

	if (!v) {
		if (required)
			return fail(err, "%s: missing required key \"%s\"", path, key);
		return 0;
	}
	show(v, val, sizeof(val));
	if (!json_is_integer(v))
		return fail(err, "%s.%s: expected an integer, got %s %s", path, key, type_name(v),
			    val);
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return fail(err, "%s.%s: %s is out of range (%llu to %llu)", path, key, val,
			    (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		show(v, val, sizeof(val));
		return fail(err, "%s.%s: expected a boolean, got %s %s", path, key, type_name(v),
			    val);
	}
	*out = json_is_true(v);
	return 0;
}

/* One of @names (NULL-terminated); its index in *out. */
static int get_enum(const json_t *obj, const char *path, const char *key, const char *const *names,
		    int *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64], list[160] = "";

	if (!v)
		return 0;
	show(v, val, sizeof(val));
	if (json_is_string(v)) {
		for (int i = 0; names[i]; i++) {
			if (!strcmp(names[i], json_string_value(v))) {
				*out = i;
				return 0;
			}
		}
	}
	for (int i = 0; names[i]; i++) {
		size_t used = strlen(list);

		snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "", names[i]);
	}
	return fail(err, "%s.%s: %s is not one of %s", path, key, val, list);
}

static int parse_boot_source(json_t *o, struct vm_config *cfg, char *err)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	const char *p = "boot-source";
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret =
		 get_string(o, p, "kernel_image_path", true, &cfg->boot.kernel_image_path, err)) ||
	    (ret = get_string(o, p, "initrd_path", false, &cfg->boot.initrd_path, err)) ||
	    (ret = get_string(o, p, "boot_args", false, &cfg->boot.boot_args, err)))
		return ret;
	if (!cfg->boot.kernel_image_path[0])
		return fail(err, "%s.kernel_image_path: the path is empty", p);
	cfg->has_boot_source = true;
	return 0;
}

static int parse_machine_config(json_t *o, struct vm_config *cfg, char *err)
{
	static const char *const keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   "huge_pages", "cpu_template", NULL};
	static const char *const huge[] = {"None", "Transparent", "2M", NULL};
	static const char *const templates[] = {"None", "C3",  "T2",   "T2S",
						"T2CL", "T2A", "V1N1", NULL};
	const char *p = "machine-config";
	struct machine_config *mc = &cfg->machine;
	uint64_t vcpus = 0, mem = 0;
	int hp = HUGE_PAGES_NONE, tmpl = 0;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_uint(o, p, "vcpu_count", true, 1, CONFIG_MAX_VCPUS, &vcpus, err)) ||
	    (ret = get_uint(o, p, "mem_size_mib", true, 1, CONFIG_MAX_MEM_MIB, &mem, err)) ||
	    (ret = get_bool(o, p, "smt", &mc->smt, err)) ||
	    (ret = get_bool(o, p, "track_dirty_pages", &mc->track_dirty_pages, err)) ||
	    (ret = get_enum(o, p, "huge_pages", huge, &hp, err)) ||
	    (ret = get_enum(o, p, "cpu_template", templates, &tmpl, err)))
		return ret;
	if (tmpl != 0)
		return fail(err,
			    "%s.cpu_template: \"%s\" is not supported by ember (static CPU "
			    "templates are deprecated); use \"None\"",
			    p, templates[tmpl]);
	mc->vcpu_count = (unsigned int)vcpus;
	mc->mem_size_mib = mem;
	mc->huge_pages = (enum huge_pages)hp;
	cfg->has_machine_config = true;
	return 0;
}

static int parse_logger(json_t *o, struct vm_config *cfg, char *err)
{
	static const char *const keys[] = {"level",	      "log_path", "show_level",
					   "show_log_origin", "module",	  NULL};
	static const char *const levels[] = {"Off",   "Error", "Warning", "Info",
					     "Debug", "Trace", NULL};
	const char *p = "logger";
	const json_t *lv;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_string(o, p, "log_path", false, &cfg->logger.log_path, err)) ||
	    (ret = get_bool(o, p, "show_level", &cfg->logger.show_level, err)) ||
	    (ret = get_bool(o, p, "show_log_origin", &cfg->logger.show_log_origin, err)))
		return ret;
	if (json_object_get(o, "module"))
		return fail(err, "%s.module: filtering the log by module is not supported yet", p);
	lv = json_object_get(o, "level");
	if (lv) {
		/* The swagger file says level names are case-insensitive. */
		if (!json_is_string(lv) ||
		    log_level_parse(json_string_value(lv), &cfg->logger.level) < 0) {
			char val[64];

			show(lv, val, sizeof(val));
			return fail(err, "%s.level: %s is not one of %s, %s, %s, %s, %s, %s", p,
				    val, levels[0], levels[1], levels[2], levels[3], levels[4],
				    levels[5]);
		}
	}
	cfg->logger.present = true;
	return 0;
}

static int parse_token_bucket(json_t *o, const char *p, struct token_bucket_config *tb, char *err)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	int ret;

	memset(tb, 0, sizeof(*tb));
	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_uint(o, p, "size", true, 0, INT64_MAX, &tb->size, err)) ||
	    (ret =
		 get_uint(o, p, "one_time_burst", false, 0, INT64_MAX, &tb->one_time_burst, err)) ||
	    (ret = get_uint(o, p, "refill_time", true, 0, INT64_MAX, &tb->refill_time_ms, err)))
		return ret;
	return 0;
}

/* A RateLimiter at @p ("entropy.rate_limiter"); null or absent: no limit. */
static int parse_rate_limiter(json_t *o, const char *p, struct rate_limiter_config *rl, char *err)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	char path[96];
	json_t *v;
	int ret;

	memset(rl, 0, sizeof(*rl));
	if (!o || json_is_null(o))
		return 0;
	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)))
		return ret;
	v = json_object_get(o, "bandwidth");
	if (v && !json_is_null(v)) {
		snprintf(path, sizeof(path), "%s.bandwidth", p);
		ret = parse_token_bucket(v, path, &rl->bandwidth, err);
		if (ret)
			return ret;
		rl->has_bandwidth = true;
	}
	v = json_object_get(o, "ops");
	if (v && !json_is_null(v)) {
		snprintf(path, sizeof(path), "%s.ops", p);
		ret = parse_token_bucket(v, path, &rl->ops, err);
		if (ret)
			return ret;
		rl->has_ops = true;
	}
	return 0;
}

static int parse_entropy(json_t *o, struct vm_config *cfg, char *err)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	const char *p = "entropy";
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = parse_rate_limiter(json_object_get(o, "rate_limiter"), "entropy.rate_limiter",
				      &cfg->entropy.rate_limiter, err)))
		return ret;
	cfg->entropy.present = true;
	return 0;
}

static int parse_document(json_t *root, struct vm_config *cfg, char *err)
{
	/* Keys of FullVmConfiguration that ember does not serve yet. */
	static const char *const later[] = {
	    "balloon", "cpu-config", "metrics", "memory-hotplug", "mmds-config", "vsock", NULL};
	/* Device lists: an empty one configures nothing and is accepted. */
	static const char *const lists[] = {"drives", "network-interfaces", "pmem", NULL};
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return fail(err, "the configuration must be a JSON object, got %s",
			    type_name(root));
	json_object_foreach(root, key, v)
	{
		bool known = false;

		if (!strcmp(key, "boot-source")) {
			ret = parse_boot_source(v, cfg, err);
		} else if (!strcmp(key, "machine-config")) {
			ret = parse_machine_config(v, cfg, err);
		} else if (!strcmp(key, "logger")) {
			ret = json_is_null(v) ? 0 : parse_logger(v, cfg, err);
		} else if (!strcmp(key, "entropy")) {
			ret = json_is_null(v) ? 0 : parse_entropy(v, cfg, err);
		} else {
			for (const char *const *l = lists; *l && !known; l++) {
				if (strcmp(*l, key))
					continue;
				known = true;
				if (!json_is_array(v) && !json_is_null(v))
					return fail(err, "%s: expected an array, got %s", key,
						    type_name(v));
				if (json_array_size(v))
					return fail(
					    err, "%s: device type not supported yet by ember", key);
			}
			for (const char *const *l = later; *l && !known; l++) {
				if (strcmp(*l, key))
					continue;
				known = true;
				if (!json_is_null(v))
					return fail(err, "%s: not supported yet by ember", key);
			}
			if (!known)
				return fail(err, "unknown key \"%s\"", key);
			ret = 0;
		}
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse_string(struct vm_config *cfg, const char *json, char err[CONFIG_ERR_MAX])
{
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	ret = parse_document(root, cfg, err);
	json_decref(root);
	return ret;
}

int config_parse_file(struct vm_config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
	char inner[CONFIG_ERR_MAX];
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(errno));
		return ret;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return fail(err, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line,
			    jerr.column, jerr.text);
	ret = parse_document(root, cfg, inner);
	json_decref(root);
	if (ret)
		snprintf(err, CONFIG_ERR_MAX, "%.120s: %.380s", path, inner);
	return ret;
}

int config_validate(const struct vm_config *cfg, char err[CONFIG_ERR_MAX])
{
	if (!cfg->has_boot_source)
		return fail(err, "boot-source: missing; the VM needs a kernel (kernel_image_path)");
	if (cfg->machine.smt && cfg->machine.vcpu_count > 1 && cfg->machine.vcpu_count % 2)
		return fail(err,
			    "machine-config.vcpu_count: %u is odd; with smt enabled it must be "
			    "1 or an even number",
			    cfg->machine.vcpu_count);
	return 0;
}
