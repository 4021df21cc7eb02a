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
	free(cfg->metrics.metrics_path);
	free(cfg->metrics.properties_json);
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

/*
 * The section parsers below serve the configuration file, and the API's PUT and
 * PATCH bodies (config_update): each parses one object into @out, which the
 * caller holds as a scratch copy and commits only on success (all or nothing).
 * With @patch, only the keys given change and none is required.
 */

/* BootSource into a zeroed @bs: the whole section is replaced. */
static int parse_boot_source(json_t *o, struct boot_source_config *bs, char *err)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	const char *p = "boot-source";
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_string(o, p, "kernel_image_path", true, &bs->kernel_image_path, err)) ||
	    (ret = get_string(o, p, "initrd_path", false, &bs->initrd_path, err)) ||
	    (ret = get_string(o, p, "boot_args", false, &bs->boot_args, err)))
		return ret;
	if (!bs->kernel_image_path[0])
		return fail(err, "%s.kernel_image_path: the path is empty", p);
	return 0;
}

static const char *const huge_names[] = {"None", "Transparent", "2M", NULL};

/* MachineConfiguration into @mc: defaults plus the body (PUT), or @mc plus the body (PATCH). */
static int parse_machine_config(json_t *o, struct machine_config *mc, bool patch, char *err)
{
	static const char *const keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   "huge_pages", "cpu_template", NULL};
	static const char *const templates[] = {"None", "C3",  "T2",   "T2S",
						"T2CL", "T2A", "V1N1", NULL};
	const char *p = "machine-config";
	uint64_t vcpus = mc->vcpu_count, mem = mc->mem_size_mib;
	int hp = (int)mc->huge_pages, tmpl = 0;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_uint(o, p, "vcpu_count", !patch, 1, CONFIG_MAX_VCPUS, &vcpus, err)) ||
	    (ret = get_uint(o, p, "mem_size_mib", !patch, 1, CONFIG_MAX_MEM_MIB, &mem, err)) ||
	    (ret = get_bool(o, p, "smt", &mc->smt, err)) ||
	    (ret = get_bool(o, p, "track_dirty_pages", &mc->track_dirty_pages, err)) ||
	    (ret = get_enum(o, p, "huge_pages", huge_names, &hp, err)) ||
	    (ret = get_enum(o, p, "cpu_template", templates, &tmpl, err)))
		return ret;
	if (tmpl != 0)
		return fail(err,
			    "%s.cpu_template: \"%s\" is not supported by ember (static CPU "
			    "templates are deprecated); use \"None\"",
			    p, templates[tmpl]);
	if (patch && !json_object_size(o))
		return fail(err,
			    "%s: the PATCH body sets no key (vcpu_count, mem_size_mib, smt, "
			    "track_dirty_pages, huge_pages)",
			    p);
	mc->vcpu_count = (unsigned int)vcpus;
	mc->mem_size_mib = mem;
	mc->huge_pages = (enum huge_pages)hp;
	return 0;
}

static const char *const level_names[] = {
    [LOG_OFF] = "Off",	 [LOG_ERROR] = "Error", [LOG_WARN] = "Warning",
    [LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

/*
 * Logger into @lc: the keys given change, the others keep their value (the
 * config file starts from the defaults; PUT /logger from the logger's state).
 * A new log_path replaces lc->log_path, which the caller must not free twice.
 */
static int parse_logger(json_t *o, struct logger_config *lc, char *err)
{
	static const char *const keys[] = {"level",	      "log_path", "show_level",
					   "show_log_origin", "module",	  NULL};
	const char *p = "logger";
	const json_t *lv;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_string(o, p, "log_path", false, &lc->log_path, err)) ||
	    (ret = get_bool(o, p, "show_level", &lc->show_level, err)) ||
	    (ret = get_bool(o, p, "show_log_origin", &lc->show_log_origin, err)))
		return ret;
	if (json_object_get(o, "module"))
		return fail(err, "%s.module: filtering the log by module is not supported yet", p);
	lv = json_object_get(o, "level");
	if (lv) {
		/* The swagger file says level names are case-insensitive. */
		if (!json_is_string(lv) || log_level_parse(json_string_value(lv), &lc->level) < 0) {
			char val[64];

			show(lv, val, sizeof(val));
			return fail(err, "%s.level: %s is not one of %s, %s, %s, %s, %s, %s", p,
				    val, level_names[LOG_OFF], level_names[LOG_ERROR],
				    level_names[LOG_WARN], level_names[LOG_INFO],
				    level_names[LOG_DEBUG], level_names[LOG_TRACE]);
		}
	}
	lc->present = true;
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

/* EntropyDevice into a zeroed @ec: the whole section is replaced. */
static int parse_entropy(json_t *o, struct entropy_config *ec, char *err)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	const char *p = "entropy";
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = parse_rate_limiter(json_object_get(o, "rate_limiter"), "entropy.rate_limiter",
				      &ec->rate_limiter, err)))
		return ret;
	ec->present = true;
	return 0;
}

/* Metrics into a zeroed @mc: metrics_path required, properties an object of strings. */
static int parse_metrics(json_t *o, struct metrics_config *mc, char *err)
{
	static const char *const keys[] = {"metrics_path", "emit_id", "properties", NULL};
	const char *p = "metrics", *key;
	json_t *props, *v;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_string(o, p, "metrics_path", true, &mc->metrics_path, err)) ||
	    (ret = get_bool(o, p, "emit_id", &mc->emit_id, err)))
		return ret;
	if (!mc->metrics_path[0])
		return fail(err, "%s.metrics_path: the path is empty", p);
	props = json_object_get(o, "properties");
	if (props && !json_is_null(props)) {
		if (!json_is_object(props))
			return fail(err, "%s.properties: expected an object, got %s", p,
				    type_name(props));
		json_object_foreach(props, key, v)
		{
			if (!json_is_string(v))
				return fail(err, "%s.properties.%s: expected a string, got %s", p,
					    key, type_name(v));
		}
		mc->properties_json = json_dumps(props, JSON_COMPACT);
		if (!mc->properties_json)
			return -ENOMEM;
	}
	mc->present = true;
	return 0;
}

static void metrics_config_free(struct metrics_config *mc)
{
	free(mc->metrics_path);
	free(mc->properties_json);
	memset(mc, 0, sizeof(*mc));
}

static void boot_source_free(struct boot_source_config *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

/* Parses @o as @section and commits it to @cfg only if it is valid. */
static int apply_section(struct vm_config *cfg, enum config_section section, json_t *o, bool patch,
			 bool validate, char *err)
{
	int ret;

	switch (section) {
	case CONFIG_BOOT_SOURCE: {
		struct boot_source_config bs = {0};

		ret = parse_boot_source(o, &bs, err);
		if (ret) {
			boot_source_free(&bs);
			return ret;
		}
		boot_source_free(&cfg->boot);
		cfg->boot = bs;
		cfg->has_boot_source = true;
		return 0;
	}
	case CONFIG_MACHINE: {
		struct machine_config mc;

		if (patch) {
			mc = cfg->machine;
		} else {
			struct vm_config defaults;

			config_init(&defaults);
			mc = defaults.machine;
		}
		ret = parse_machine_config(o, &mc, patch, err);
		/* The API checks the section as a whole now; a file, once fully read. */
		if (!ret && validate)
			ret = config_validate_machine(&mc, err);
		if (ret)
			return ret;
		cfg->machine = mc;
		cfg->has_machine_config = true;
		return 0;
	}
	case CONFIG_LOGGER: {
		struct logger_config lc = cfg->logger;

		lc.log_path = NULL; /* set only if the body has one */
		ret = parse_logger(o, &lc, err);
		if (ret) {
			free(lc.log_path);
			return ret;
		}
		if (lc.log_path)
			free(cfg->logger.log_path);
		else
			lc.log_path = cfg->logger.log_path;
		cfg->logger = lc;
		return 0;
	}
	case CONFIG_ENTROPY: {
		struct entropy_config ec = {0};

		ret = parse_entropy(o, &ec, err);
		if (ret)
			return ret;
		cfg->entropy = ec;
		return 0;
	}
	case CONFIG_METRICS: {
		struct metrics_config mc = {0};

		ret = parse_metrics(o, &mc, err);
		if (ret) {
			metrics_config_free(&mc);
			return ret;
		}
		metrics_config_free(&cfg->metrics);
		cfg->metrics = mc;
		return 0;
	}
	}
	return fail(err, "unknown configuration section %d", (int)section);
}

static int parse_document(json_t *root, struct vm_config *cfg, char *err)
{
	/* Keys of FullVmConfiguration that ember does not serve yet. */
	static const char *const later[] = {"balloon",	   "cpu-config", "memory-hotplug",
					    "mmds-config", "vsock",	 NULL};
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
			/* null: no boot source (GET /vm/config before PUT /boot-source). */
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_BOOT_SOURCE, v, false, false, err);
		} else if (!strcmp(key, "machine-config")) {
			ret = apply_section(cfg, CONFIG_MACHINE, v, false, false, err);
		} else if (!strcmp(key, "logger")) {
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_LOGGER, v, false, false, err);
		} else if (!strcmp(key, "entropy")) {
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_ENTROPY, v, false, false, err);
		} else if (!strcmp(key, "metrics")) {
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_METRICS, v, false, false, err);
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

int config_validate_machine(const struct machine_config *mc, char err[CONFIG_ERR_MAX])
{
	if (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2)
		return fail(err,
			    "machine-config.vcpu_count: %u is odd; with smt enabled it must be "
			    "1 or an even number",
			    mc->vcpu_count);
	return 0;
}

int config_validate(const struct vm_config *cfg, char err[CONFIG_ERR_MAX])
{
	if (!cfg->has_boot_source)
		return fail(err, "boot-source: missing; the VM needs a kernel (kernel_image_path)");
	return config_validate_machine(&cfg->machine, err);
}

static const char *const section_names[] = {
    [CONFIG_BOOT_SOURCE] = "boot-source", [CONFIG_MACHINE] = "machine-config",
    [CONFIG_LOGGER] = "logger",		  [CONFIG_ENTROPY] = "entropy",
    [CONFIG_METRICS] = "metrics",
};

int config_update(struct vm_config *cfg, enum config_section section, const char *json, size_t len,
		  bool patch, char err[CONFIG_ERR_MAX])
{
	json_error_t jerr;
	json_t *root;
	int ret;

	if ((unsigned int)section >= sizeof(section_names) / sizeof(section_names[0]))
		return fail(err, "unknown configuration section %d", (int)section);
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return fail(err, "%s: invalid JSON at line %d, column %d: %s",
			    section_names[section], jerr.line, jerr.column, jerr.text);
	ret = apply_section(cfg, section, root, patch, true, err);
	json_decref(root);
	return ret;
}

static char *dup_or_null(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	bool oom = false;

	*dst = *src;
	dst->boot.kernel_image_path = dup_or_null(src->boot.kernel_image_path, &oom);
	dst->boot.initrd_path = dup_or_null(src->boot.initrd_path, &oom);
	dst->boot.boot_args = dup_or_null(src->boot.boot_args, &oom);
	dst->logger.log_path = dup_or_null(src->logger.log_path, &oom);
	dst->metrics.metrics_path = dup_or_null(src->metrics.metrics_path, &oom);
	dst->metrics.properties_json = dup_or_null(src->metrics.properties_json, &oom);
	if (oom) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* --- FullVmConfiguration out: what config_parse_string() reads back --- */

/* json_object_set_new, remembering any failure (out of memory) in *bad. */
static void put(json_t *obj, const char *key, json_t *v, bool *bad)
{
	if (!v || json_object_set_new(obj, key, v))
		*bad = true;
}

static json_t *string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *machine_json(const struct machine_config *mc, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	put(o, "vcpu_count", json_integer(mc->vcpu_count), bad);
	put(o, "mem_size_mib", json_integer((json_int_t)mc->mem_size_mib), bad);
	put(o, "smt", json_boolean(mc->smt), bad);
	put(o, "track_dirty_pages", json_boolean(mc->track_dirty_pages), bad);
	put(o, "huge_pages", json_string(huge_names[mc->huge_pages]), bad);
	return o;
}

static json_t *token_bucket_json(const struct token_bucket_config *tb, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	put(o, "size", json_integer((json_int_t)tb->size), bad);
	put(o, "one_time_burst", json_integer((json_int_t)tb->one_time_burst), bad);
	put(o, "refill_time", json_integer((json_int_t)tb->refill_time_ms), bad);
	return o;
}

static json_t *rate_limiter_json(const struct rate_limiter_config *rl, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	if (rl->has_bandwidth)
		put(o, "bandwidth", token_bucket_json(&rl->bandwidth, bad), bad);
	if (rl->has_ops)
		put(o, "ops", token_bucket_json(&rl->ops, bad), bad);
	return o;
}

static char *dump(json_t *o, bool bad)
{
	char *s = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	return s;
}

char *config_machine_to_json(const struct machine_config *mc)
{
	bool bad = false;
	json_t *o = machine_json(mc, &bad);

	return o ? dump(o, bad) : NULL;
}

char *config_to_json(const struct vm_config *cfg)
{
	bool bad = false;
	json_t *root = json_object();

	if (!root)
		return NULL;
	if (cfg->has_boot_source) {
		json_t *bs = json_object();

		if (bs) {
			put(bs, "kernel_image_path", json_string(cfg->boot.kernel_image_path),
			    &bad);
			put(bs, "initrd_path", string_or_null(cfg->boot.initrd_path), &bad);
			put(bs, "boot_args", string_or_null(cfg->boot.boot_args), &bad);
		}
		put(root, "boot-source", bs, &bad);
	} else {
		put(root, "boot-source", json_null(), &bad);
	}
	put(root, "machine-config", machine_json(&cfg->machine, &bad), &bad);
	if (cfg->logger.present) {
		json_t *lg = json_object();

		if (lg) {
			put(lg, "level", json_string(level_names[cfg->logger.level]), &bad);
			if (cfg->logger.log_path)
				put(lg, "log_path", json_string(cfg->logger.log_path), &bad);
			put(lg, "show_level", json_boolean(cfg->logger.show_level), &bad);
			put(lg, "show_log_origin", json_boolean(cfg->logger.show_log_origin), &bad);
		}
		put(root, "logger", lg, &bad);
	} else {
		put(root, "logger", json_null(), &bad);
	}
	if (cfg->entropy.present) {
		json_t *en = json_object();

		if (en)
			put(en, "rate_limiter", rate_limiter_json(&cfg->entropy.rate_limiter, &bad),
			    &bad);
		put(root, "entropy", en, &bad);
	} else {
		put(root, "entropy", json_null(), &bad);
	}
	/* What ember does not serve yet, as Firecracker shows it unconfigured. */
	put(root, "drives", json_array(), &bad);
	put(root, "network-interfaces", json_array(), &bad);
	put(root, "balloon", json_null(), &bad);
	put(root, "vsock", json_null(), &bad);
	if (cfg->metrics.present) {
		json_t *me = json_object();

		if (me) {
			put(me, "metrics_path", json_string(cfg->metrics.metrics_path), &bad);
			put(me, "emit_id", json_boolean(cfg->metrics.emit_id), &bad);
			if (cfg->metrics.properties_json)
				put(me, "properties",
				    json_loads(cfg->metrics.properties_json, 0, NULL), &bad);
		}
		put(root, "metrics", me, &bad);
	} else {
		put(root, "metrics", json_null(), &bad);
	}
	put(root, "mmds-config", json_null(), &bad);
	return dump(root, bad);
}
