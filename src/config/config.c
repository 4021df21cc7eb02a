// SPDX-License-Identifier: Apache-2.0
/* FullVmConfiguration parsing with jansson: strict keys, types and ranges. */
#include "config/config.h"

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

static void drive_config_free(struct drive_config *d)
{
	free(d->drive_id);
	free(d->path_on_host);
	free(d->partuuid);
	memset(d, 0, sizeof(*d));
}

static void net_config_free(struct net_config *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	memset(n, 0, sizeof(*n));
}

static void vsock_config_free(struct vsock_config *v)
{
	free(v->uds_path);
	free(v->vsock_id);
	memset(v, 0, sizeof(*v));
}

void config_free(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_drives; i++)
		drive_config_free(&cfg->drives[i]);
	free(cfg->drives);
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_config_free(&cfg->nets[i]);
	free(cfg->nets);
	vsock_config_free(&cfg->vsock);
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
void config_show_value(const json_t *v, char *buf, size_t len)
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

const char *config_type_name(const json_t *v)
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
		return fail(err, "%s: expected an object, got %s", path, config_type_name(v));
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
		config_show_value(v, val, sizeof(val));
		return fail(err, "%s.%s: expected a string, got %s %s", path, key,
			    config_type_name(v), val);
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
	config_show_value(v, val, sizeof(val));
	if (!json_is_integer(v))
		return fail(err, "%s.%s: expected an integer, got %s %s", path, key,
			    config_type_name(v), val);
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
		config_show_value(v, val, sizeof(val));
		return fail(err, "%s.%s: expected a boolean, got %s %s", path, key,
			    config_type_name(v), val);
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
	config_show_value(v, val, sizeof(val));
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

			config_show_value(lv, val, sizeof(val));
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
				    config_type_name(props));
		json_object_foreach(props, key, v)
		{
			if (!json_is_string(v))
				return fail(err, "%s.properties.%s: expected a string, got %s", p,
					    key, config_type_name(v));
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

/* A resource id (drive_id, iface_id): Firecracker's [A-Za-z0-9_], 1 to 64 characters. */
static int get_id(const json_t *obj, const char *path, const char *key, char **out, char *err)
{
	int ret = get_string(obj, path, key, true, out, err);
	size_t n;

	if (ret)
		return ret;
	n = strlen(*out);
	if (!n || n > CONFIG_ID_MAX)
		return fail(err, "%s.%s: \"%.80s\" must be 1 to %d characters", path, key, *out,
			    CONFIG_ID_MAX);
	for (const char *c = *out; *c; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '_'))
			return fail(err,
				    "%s.%s: \"%.80s\" may contain only alphanumeric characters "
				    "and underscores",
				    path, key, *out);
	}
	return 0;
}

/* A boolean the schema requires. */
static int get_bool_required(const json_t *obj, const char *path, const char *key, bool *out,
			     char *err)
{
	if (!json_object_get(obj, key))
		return fail(err, "%s: missing required key \"%s\"", path, key);
	return get_bool(obj, path, key, out, err);
}

/* A key ember does not implement: refused unless absent or null. */
static int refuse_key(const json_t *obj, const char *path, const char *key, const char *why,
		      char *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v))
		return fail(err, "%s.%s: %s", path, key, why);
	return 0;
}

static const char *const cache_names[] = {"Unsafe", "Writeback", NULL};
static const char *const engine_names[] = {"Sync", "Async", NULL};

/* Drive into a zeroed @d; @p names it in messages ("drives[0]", "drive"). */
static int parse_drive(json_t *o, const char *p, struct drive_config *d, char *err)
{
	static const char *const keys[] = {
	    "drive_id",	    "partuuid",	    "is_root_device", "cache_type", "is_read_only",
	    "path_on_host", "rate_limiter", "io_engine",      "socket",	    NULL};
	char path[64];
	int cache = 0, engine = 0;
	int ret;

	snprintf(path, sizeof(path), "%s.rate_limiter", p);
	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_id(o, p, "drive_id", &d->drive_id, err)) ||
	    (ret = refuse_key(o, p, "socket",
			      "vhost-user block devices are not supported yet by ember", err)) ||
	    (ret = get_bool_required(o, p, "is_root_device", &d->is_root_device, err)) ||
	    (ret = get_string(o, p, "path_on_host", true, &d->path_on_host, err)) ||
	    (ret = get_string(o, p, "partuuid", false, &d->partuuid, err)) ||
	    (ret = get_bool(o, p, "is_read_only", &d->is_read_only, err)) ||
	    (ret = get_enum(o, p, "cache_type", cache_names, &cache, err)) ||
	    (ret = get_enum(o, p, "io_engine", engine_names, &engine, err)) ||
	    (ret = parse_rate_limiter(json_object_get(o, "rate_limiter"), path, &d->rate_limiter,
				      err)))
		return ret;
	if (!d->path_on_host[0])
		return fail(err, "%s.path_on_host: the path is empty", p);
	d->cache_type = (enum block_cache_type)cache;
	d->io_engine = (enum block_io_engine)engine;
	return 0;
}

/* NetworkInterface into a zeroed @n. */
static int parse_net(json_t *o, const char *p, struct net_config *n, char *err)
{
	static const char *const keys[] = {"iface_id",	      "host_dev_name",	 "guest_mac", "mtu",
					   "rx_rate_limiter", "tx_rate_limiter", NULL};
	char rx[64], tx[64];
	char *mac = NULL;
	uint64_t mtu = 0;
	int ret;

	snprintf(rx, sizeof(rx), "%s.rx_rate_limiter", p);
	snprintf(tx, sizeof(tx), "%s.tx_rate_limiter", p);
	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_id(o, p, "iface_id", &n->iface_id, err)) ||
	    (ret = get_string(o, p, "host_dev_name", true, &n->host_dev_name, err)) ||
	    (ret = get_string(o, p, "guest_mac", false, &mac, err)) ||
	    (ret = parse_rate_limiter(json_object_get(o, "rx_rate_limiter"), rx,
				      &n->rx_rate_limiter, err)) ||
	    (ret = parse_rate_limiter(json_object_get(o, "tx_rate_limiter"), tx,
				      &n->tx_rate_limiter, err)))
		goto out;
	if (json_object_get(o, "mtu") && !json_is_null(json_object_get(o, "mtu"))) {
		ret =
		    get_uint(o, p, "mtu", false, VIRTIO_NET_MTU_MIN, VIRTIO_NET_MTU_MAX, &mtu, err);
		if (ret)
			goto out;
		n->has_mtu = true;
		n->mtu = (uint16_t)mtu;
	}
	/* A TAP's name: IFNAMSIZ (16) bytes with the NUL. */
	if (!n->host_dev_name[0] || strlen(n->host_dev_name) > 15) {
		ret =
		    fail(err, "%s.host_dev_name: \"%.80s\" is not a TAP name (1 to 15 characters)",
			 p, n->host_dev_name);
		goto out;
	}
	if (mac) {
		if (net_mac_parse(mac, n->guest_mac)) {
			ret = fail(err,
				   "%s.guest_mac: \"%.40s\" is not a MAC address "
				   "(\"aa:bb:cc:dd:ee:ff\")",
				   p, mac);
			goto out;
		}
		if (n->guest_mac[0] & 1) {
			ret = fail(err, "%s.guest_mac: \"%s\" is a multicast address", p, mac);
			goto out;
		}
		n->has_guest_mac = true;
	}
out:
	free(mac);
	return ret;
}

/* Vsock into a zeroed @v. */
static int parse_vsock(json_t *o, struct vsock_config *v, char *err)
{
	static const char *const keys[] = {"guest_cid", "uds_path", "vsock_id", NULL};
	const char *p = "vsock";
	uint64_t cid = 0;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_uint(o, p, "guest_cid", true, 3, 0xfffffffeULL, &cid, err)) ||
	    (ret = get_string(o, p, "uds_path", true, &v->uds_path, err)) ||
	    (ret = get_string(o, p, "vsock_id", false, &v->vsock_id, err)))
		return ret;
	if (!v->uds_path[0])
		return fail(err, "%s.uds_path: the path is empty", p);
	/* sockaddr_un's sun_path: 108 bytes with the NUL. */
	if (strlen(v->uds_path) > 107)
		return fail(err,
			    "%s.uds_path: %zu bytes, longer than a Unix socket path may be (107)",
			    p, strlen(v->uds_path));
	v->guest_cid = (uint32_t)cid;
	v->present = true;
	return 0;
}

/* Balloon into a zeroed @b. */
static int parse_balloon(json_t *o, struct balloon_config *b, char *err)
{
	static const char *const keys[] = {
	    "amount_mib",	 "deflate_on_oom",	"stats_polling_interval_s",
	    "free_page_hinting", "free_page_reporting", NULL};
	const char *p = "balloon";
	uint64_t amount = 0, interval = 0;
	int ret;

	if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
	    (ret = get_uint(o, p, "amount_mib", true, 0, UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB,
			    &amount, err)) ||
	    (ret = get_bool_required(o, p, "deflate_on_oom", &b->deflate_on_oom, err)) ||
	    (ret = get_uint(o, p, "stats_polling_interval_s", false, 0,
			    VIRTIO_BALLOON_MAX_STATS_INTERVAL, &interval, err)) ||
	    (ret = get_bool(o, p, "free_page_hinting", &b->free_page_hinting, err)) ||
	    (ret = get_bool(o, p, "free_page_reporting", &b->free_page_reporting, err)))
		return ret;
	if (b->free_page_hinting)
		return fail(err,
			    "%s.free_page_hinting: free page hinting is not supported yet by "
			    "ember",
			    p);
	b->amount_mib = (uint32_t)amount;
	b->stats_polling_interval_s = (uint32_t)interval;
	return 0;
}

/* The balloon against the guest's memory: the device's own rule. */
static int check_balloon(const struct balloon_config *b, uint64_t mem_size_mib, char *err)
{
	const char *why = virtio_balloon_config_error(b, mem_size_mib);

	if (why)
		return fail(err, "balloon.%s (amount_mib %u, mem_size_mib %llu)", why,
			    b->amount_mib, (unsigned long long)mem_size_mib);
	return 0;
}

/*
 * Adds @d (taking its strings) in Firecracker's order, or replaces the drive
 * with the same drive_id if @replace (else that is an error). At most one
 * root device, and it goes first.
 */
static int drive_insert(struct vm_config *cfg, struct drive_config *d, bool replace, char *err)
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
		return fail(err, "drives: drive_id \"%s\" is used twice", d->drive_id);
	if (d->is_root_device && root >= 0 && root != at)
		return fail(err,
			    "drives.%s: a root block device already exists (\"%s\"); a VM has at "
			    "most one",
			    d->drive_id, cfg->drives[root].drive_id);
	if (at < 0 && cfg->nr_drives == CONFIG_MAX_DRIVES)
		return fail(err, "drives.%s: at most %d drives", d->drive_id, CONFIG_MAX_DRIVES);
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

/*
 * Adds @n (taking its strings) or replaces the interface with its iface_id if
 * @replace. Two interfaces may not share a TAP or a guest MAC.
 */
static int net_insert(struct vm_config *cfg, struct net_config *n, bool replace, char *err)
{
	int at = -1;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (!strcmp(o->iface_id, n->iface_id)) {
			at = (int)i;
			continue;
		}
		if (!strcmp(o->host_dev_name, n->host_dev_name))
			return fail(err,
				    "network-interfaces.%s.host_dev_name: \"%s\" is in use by "
				    "interface \"%s\"",
				    n->iface_id, n->host_dev_name, o->iface_id);
		if (n->has_guest_mac && o->has_guest_mac &&
		    !memcmp(o->guest_mac, n->guest_mac, sizeof(n->guest_mac)))
			return fail(err,
				    "network-interfaces.%s.guest_mac: the MAC address is in use by "
				    "interface \"%s\"",
				    n->iface_id, o->iface_id);
	}
	if (at >= 0 && !replace)
		return fail(err, "network-interfaces: iface_id \"%s\" is used twice", n->iface_id);
	if (at >= 0) {
		net_config_free(&cfg->nets[at]);
	} else {
		struct net_config *arr;

		if (cfg->nr_nets == CONFIG_MAX_NETS)
			return fail(err, "network-interfaces.%s: at most %d interfaces",
				    n->iface_id, CONFIG_MAX_NETS);
		arr = realloc(cfg->nets, (cfg->nr_nets + 1) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		cfg->nets = arr;
		at = (int)cfg->nr_nets++;
	}
	cfg->nets[at] = *n;
	memset(n, 0, sizeof(*n));
	return 0;
}

/* A "drives" or "network-interfaces" array of the configuration file. */
static int parse_device_list(struct vm_config *cfg, const char *key, json_t *v, char *err)
{
	size_t i;
	json_t *e;

	if (json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return fail(err, "%s: expected an array, got %s", key, config_type_name(v));
	json_array_foreach(v, i, e)
	{
		char p[48];
		int ret;

		snprintf(p, sizeof(p), "%s[%zu]", key, i);
		if (!strcmp(key, "drives")) {
			struct drive_config d = {0};

			ret = parse_drive(e, p, &d, err);
			if (!ret)
				ret = drive_insert(cfg, &d, false, err);
			drive_config_free(&d);
		} else {
			struct net_config n = {0};

			ret = parse_net(e, p, &n, err);
			if (!ret)
				ret = net_insert(cfg, &n, false, err);
			net_config_free(&n);
		}
		if (ret)
			return ret;
	}
	return 0;
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
	case CONFIG_DRIVE: {
		struct drive_config d = {0};

		ret = parse_drive(o, "drive", &d, err);
		if (!ret)
			ret = drive_insert(cfg, &d, true, err);
		drive_config_free(&d);
		return ret;
	}
	case CONFIG_NET: {
		struct net_config n = {0};

		ret = parse_net(o, "network-interface", &n, err);
		if (!ret)
			ret = net_insert(cfg, &n, true, err);
		net_config_free(&n);
		return ret;
	}
	case CONFIG_VSOCK: {
		struct vsock_config v = {0};

		ret = parse_vsock(o, &v, err);
		if (ret) {
			vsock_config_free(&v);
			return ret;
		}
		vsock_config_free(&cfg->vsock);
		cfg->vsock = v;
		return 0;
	}
	case CONFIG_BALLOON: {
		struct balloon_config b = {0};

		ret = parse_balloon(o, &b, err);
		if (!ret && validate)
			ret = check_balloon(&b, cfg->machine.mem_size_mib, err);
		if (ret)
			return ret;
		cfg->balloon = b;
		cfg->has_balloon = true;
		return 0;
	}
	case CONFIG_BALLOON_UPDATE:
	case CONFIG_BALLOON_STATS: {
		struct balloon_config b = cfg->balloon;
		uint64_t v = 0;
		const char *key =
		    section == CONFIG_BALLOON_UPDATE ? "amount_mib" : "stats_polling_interval_s";
		const char *p = section == CONFIG_BALLOON_UPDATE ? "balloon" : "balloon.statistics";
		const char *const keys[] = {key, NULL};

		if ((ret = want_object(o, p, err)) || (ret = check_keys(o, p, keys, err)) ||
		    (ret = get_uint(o, p, key, true, 0,
				    section == CONFIG_BALLOON_UPDATE
					? UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB
					: VIRTIO_BALLOON_MAX_STATS_INTERVAL,
				    &v, err)))
			return ret;
		if (!cfg->has_balloon)
			return fail(err, "balloon: not configured (PUT /balloon first)");
		if (section == CONFIG_BALLOON_UPDATE)
			b.amount_mib = (uint32_t)v;
		else
			b.stats_polling_interval_s = (uint32_t)v;
		if (validate && (ret = check_balloon(&b, cfg->machine.mem_size_mib, err)))
			return ret;
		cfg->balloon = b;
		return 0;
	}
	}
	return fail(err, "unknown configuration section %d", (int)section);
}

static int parse_document(json_t *root, struct vm_config *cfg, char *err)
{
	/* Keys of FullVmConfiguration that ember does not serve yet. */
	static const char *const later[] = {"cpu-config", "memory-hotplug", "mmds-config", NULL};
	/* Device lists: an empty one configures nothing and is accepted. */
	static const char *const lists[] = {"pmem", NULL};
	const char *key;
	json_t *v;
	int ret;

	if (!json_is_object(root))
		return fail(err, "the configuration must be a JSON object, got %s",
			    config_type_name(root));
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
		} else if (!strcmp(key, "vsock")) {
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_VSOCK, v, false, false, err);
		} else if (!strcmp(key, "balloon")) {
			ret = json_is_null(v)
				  ? 0
				  : apply_section(cfg, CONFIG_BALLOON, v, false, false, err);
		} else if (!strcmp(key, "drives") || !strcmp(key, "network-interfaces")) {
			ret = parse_device_list(cfg, key, v, err);
		} else {
			for (const char *const *l = lists; *l && !known; l++) {
				if (strcmp(*l, key))
					continue;
				known = true;
				if (!json_is_array(v) && !json_is_null(v))
					return fail(err, "%s: expected an array, got %s", key,
						    config_type_name(v));
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
	unsigned int devices;
	int ret;

	if (!cfg->has_boot_source)
		return fail(err, "boot-source: missing; the VM needs a kernel (kernel_image_path)");
	ret = config_validate_machine(&cfg->machine, err);
	if (!ret && cfg->has_balloon)
		ret = check_balloon(&cfg->balloon, cfg->machine.mem_size_mib, err);
	if (ret)
		return ret;
	/* Each virtio device takes one of the VM's virtio-mmio slots. */
	devices = cfg->nr_drives + cfg->nr_nets + cfg->vsock.present + cfg->has_balloon +
		  cfg->entropy.present;
	if (devices > CONFIG_MAX_VIRTIO)
		return fail(err,
			    "%u virtio devices (drives, network interfaces, vsock, balloon, "
			    "entropy): a VM has at most %d",
			    devices, CONFIG_MAX_VIRTIO);
	return 0;
}

static const char *const section_names[] = {
    [CONFIG_BOOT_SOURCE] = "boot-source",
    [CONFIG_MACHINE] = "machine-config",
    [CONFIG_LOGGER] = "logger",
    [CONFIG_ENTROPY] = "entropy",
    [CONFIG_METRICS] = "metrics",
    [CONFIG_DRIVE] = "drive",
    [CONFIG_NET] = "network-interface",
    [CONFIG_VSOCK] = "vsock",
    [CONFIG_BALLOON] = "balloon",
    [CONFIG_BALLOON_UPDATE] = "balloon",
    [CONFIG_BALLOON_STATS] = "balloon.statistics",
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
	dst->vsock.uds_path = dup_or_null(src->vsock.uds_path, &oom);
	dst->vsock.vsock_id = dup_or_null(src->vsock.vsock_id, &oom);
	dst->drives = NULL;
	dst->nr_drives = 0;
	dst->nets = NULL;
	dst->nr_nets = 0;
	if (src->nr_drives) {
		dst->drives = calloc(src->nr_drives, sizeof(*dst->drives));
		if (!dst->drives)
			oom = true;
		for (unsigned int i = 0; dst->drives && i < src->nr_drives; i++) {
			struct drive_config *d = &dst->drives[i];

			*d = src->drives[i];
			d->drive_id = dup_or_null(src->drives[i].drive_id, &oom);
			d->path_on_host = dup_or_null(src->drives[i].path_on_host, &oom);
			d->partuuid = dup_or_null(src->drives[i].partuuid, &oom);
			dst->nr_drives++;
		}
	}
	if (src->nr_nets) {
		dst->nets = calloc(src->nr_nets, sizeof(*dst->nets));
		if (!dst->nets)
			oom = true;
		for (unsigned int i = 0; dst->nets && i < src->nr_nets; i++) {
			struct net_config *n = &dst->nets[i];

			*n = src->nets[i];
			n->iface_id = dup_or_null(src->nets[i].iface_id, &oom);
			n->host_dev_name = dup_or_null(src->nets[i].host_dev_name, &oom);
			dst->nr_nets++;
		}
	}
	if (oom) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* --- after-boot updates: PartialDrive, PartialNetworkInterface, balloon --- */

/* The body of an API update as one JSON object; NULL with @err set. */
static json_t *load_body(const char *json, size_t len, const char *p, char *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	if (!root) {
		fail(err, "%s: invalid JSON at line %d, column %d: %s", p, jerr.line, jerr.column,
		     jerr.text);
		return NULL;
	}
	if (want_object(root, p, err)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* A rate limiter update: which buckets the body gives (null: none). */
static int parse_limiter_update(json_t *o, const char *key, const char *p, bool *has,
				struct rate_limiter_config *rl, char *err)
{
	json_t *v = json_object_get(o, key);
	char path[64];

	snprintf(path, sizeof(path), "%s.%s", p, key);
	*has = v != NULL;
	return parse_rate_limiter(v, path, rl, err);
}

/* @cur with the buckets of @upd laid over it. */
static void merge_limiter(const struct rate_limiter_config *cur,
			  const struct rate_limiter_config *upd, struct rate_limiter_config *out)
{
	*out = *cur;
	if (upd->has_bandwidth) {
		out->has_bandwidth = true;
		out->bandwidth = upd->bandwidth;
	}
	if (upd->has_ops) {
		out->has_ops = true;
		out->ops = upd->ops;
	}
}

int config_parse_drive_update(const char *json, size_t len, struct drive_update *u,
			      char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"drive_id", "path_on_host", "rate_limiter", NULL};
	const char *p = "drive";
	json_t *o = load_body(json, len, p, err);
	int ret;

	memset(u, 0, sizeof(*u));
	if (!o)
		return -EINVAL;
	if ((ret = check_keys(o, p, keys, err)) ||
	    (ret = get_id(o, p, "drive_id", &u->drive_id, err)) ||
	    (ret = get_string(o, p, "path_on_host", false, &u->path_on_host, err)) ||
	    (ret = parse_limiter_update(o, "rate_limiter", p, &u->has_rate_limiter,
					&u->rate_limiter, err)))
		goto out;
	if (u->path_on_host && !u->path_on_host[0])
		ret = fail(err, "%s.path_on_host: the path is empty", p);
	else if (!u->path_on_host && !u->has_rate_limiter)
		ret =
		    fail(err, "%s: the PATCH body changes nothing (path_on_host, rate_limiter)", p);
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
	merge_limiter(&d->rate_limiter, &u->rate_limiter, out);
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
		merge_limiter(&d->rate_limiter, &u->rate_limiter, &d->rate_limiter);
	return 0;
}

int config_parse_net_update(const char *json, size_t len, struct net_update *u,
			    char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	const char *p = "network-interface";
	json_t *o = load_body(json, len, p, err);
	int ret;

	memset(u, 0, sizeof(*u));
	if (!o)
		return -EINVAL;
	if ((ret = check_keys(o, p, keys, err)) ||
	    (ret = get_id(o, p, "iface_id", &u->iface_id, err)) ||
	    (ret = parse_limiter_update(o, "rx_rate_limiter", p, &u->has_rx, &u->rx, err)) ||
	    (ret = parse_limiter_update(o, "tx_rate_limiter", p, &u->has_tx, &u->tx, err)))
		goto out;
	if (!u->has_rx && !u->has_tx)
		ret = fail(err,
			   "%s: the PATCH body changes nothing (rx_rate_limiter, tx_rate_limiter)",
			   p);
out:
	json_decref(o);
	if (ret)
		config_net_update_free(u);
	return ret;
}

void config_net_update_free(struct net_update *u)
{
	free(u->iface_id);
	memset(u, 0, sizeof(*u));
}

void config_net_update_limiters(const struct net_config *n, const struct net_update *u,
				struct rate_limiter_config *rx, struct rate_limiter_config *tx)
{
	merge_limiter(&n->rx_rate_limiter, &u->rx, rx);
	merge_limiter(&n->tx_rate_limiter, &u->tx, tx);
}

struct net_config *config_find_net(const struct vm_config *cfg, const char *iface_id)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->nets[i].iface_id, iface_id))
			return &cfg->nets[i];
	return NULL;
}

int config_apply_net_update(struct vm_config *cfg, const struct net_update *u)
{
	struct net_config *n = config_find_net(cfg, u->iface_id);

	if (!n)
		return -ENOENT;
	config_net_update_limiters(n, u, &n->rx_rate_limiter, &n->tx_rate_limiter);
	return 0;
}

/* BalloonUpdate / BalloonStatsUpdate: one required integer key. */
static int parse_one_uint(const char *json, size_t len, const char *p, const char *key,
			  uint64_t max, uint32_t *out, char err[CONFIG_ERR_MAX])
{
	const char *const keys[] = {key, NULL};
	json_t *o = load_body(json, len, p, err);
	uint64_t v = 0;
	int ret;

	if (!o)
		return -EINVAL;
	ret = check_keys(o, p, keys, err);
	if (!ret)
		ret = get_uint(o, p, key, true, 0, max, &v, err);
	json_decref(o);
	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int config_parse_balloon_update(const char *json, size_t len, uint32_t *amount_mib,
				char err[CONFIG_ERR_MAX])
{
	return parse_one_uint(json, len, "balloon", "amount_mib",
			      UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB, amount_mib, err);
}

int config_parse_balloon_stats_update(const char *json, size_t len, uint32_t *interval_s,
				      char err[CONFIG_ERR_MAX])
{
	return parse_one_uint(json, len, "balloon.statistics", "stats_polling_interval_s",
			      VIRTIO_BALLOON_MAX_STATS_INTERVAL, interval_s, err);
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

/* A rate limiter, or null when it has no bucket. */
static json_t *limiter_or_null(const struct rate_limiter_config *rl, bool *bad)
{
	if (!rl->has_bandwidth && !rl->has_ops)
		return json_null();
	return rate_limiter_json(rl, bad);
}

static json_t *drive_json(const struct drive_config *d, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	put(o, "drive_id", json_string(d->drive_id), bad);
	put(o, "partuuid", string_or_null(d->partuuid), bad);
	put(o, "is_root_device", json_boolean(d->is_root_device), bad);
	put(o, "cache_type", json_string(cache_names[d->cache_type]), bad);
	put(o, "is_read_only", json_boolean(d->is_read_only), bad);
	put(o, "path_on_host", json_string(d->path_on_host), bad);
	put(o, "rate_limiter", limiter_or_null(&d->rate_limiter, bad), bad);
	put(o, "io_engine", json_string(engine_names[d->io_engine]), bad);
	return o;
}

static json_t *net_json(const struct net_config *n, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	put(o, "iface_id", json_string(n->iface_id), bad);
	put(o, "host_dev_name", json_string(n->host_dev_name), bad);
	if (n->has_guest_mac) {
		char mac[18];

		net_mac_format(n->guest_mac, mac);
		put(o, "guest_mac", json_string(mac), bad);
	} else {
		put(o, "guest_mac", json_null(), bad);
	}
	if (n->has_mtu)
		put(o, "mtu", json_integer(n->mtu), bad);
	put(o, "rx_rate_limiter", limiter_or_null(&n->rx_rate_limiter, bad), bad);
	put(o, "tx_rate_limiter", limiter_or_null(&n->tx_rate_limiter, bad), bad);
	return o;
}

static json_t *balloon_json(const struct balloon_config *b, bool *bad)
{
	json_t *o = json_object();

	if (!o) {
		*bad = true;
		return NULL;
	}
	put(o, "amount_mib", json_integer(b->amount_mib), bad);
	put(o, "deflate_on_oom", json_boolean(b->deflate_on_oom), bad);
	put(o, "stats_polling_interval_s", json_integer(b->stats_polling_interval_s), bad);
	put(o, "free_page_hinting", json_boolean(b->free_page_hinting), bad);
	put(o, "free_page_reporting", json_boolean(b->free_page_reporting), bad);
	return o;
}

char *config_balloon_to_json(const struct balloon_config *bc)
{
	bool bad = false;
	json_t *o = balloon_json(bc, &bad);

	return o ? dump(o, bad) : NULL;
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
	{
		json_t *drives = json_array(), *nets = json_array();

		for (unsigned int i = 0; drives && i < cfg->nr_drives; i++)
			if (json_array_append_new(drives, drive_json(&cfg->drives[i], &bad)))
				bad = true;
		for (unsigned int i = 0; nets && i < cfg->nr_nets; i++)
			if (json_array_append_new(nets, net_json(&cfg->nets[i], &bad)))
				bad = true;
		put(root, "drives", drives, &bad);
		put(root, "network-interfaces", nets, &bad);
	}
	put(root, "balloon", cfg->has_balloon ? balloon_json(&cfg->balloon, &bad) : json_null(),
	    &bad);
	if (cfg->vsock.present) {
		json_t *vs = json_object();

		if (vs) {
			put(vs, "guest_cid", json_integer(cfg->vsock.guest_cid), &bad);
			put(vs, "uds_path", json_string(cfg->vsock.uds_path), &bad);
			if (cfg->vsock.vsock_id)
				put(vs, "vsock_id", json_string(cfg->vsock.vsock_id), &bad);
		}
		put(root, "vsock", vs, &bad);
	} else {
		put(root, "vsock", json_null(), &bad);
	}
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
