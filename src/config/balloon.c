// SPDX-License-Identifier: Apache-2.0
/*
 * Balloon: virtio-balloon (PUT /balloon), and its two updates: BalloonUpdate
 * (PATCH /balloon) and BalloonStatsUpdate (PATCH /balloon/statistics), applied
 * to the configuration before boot or parsed for the device after it.
 */
#include "config/json.h"

#include <errno.h>

#define MAX_AMOUNT_MIB (UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB)

/* Balloon into a zeroed @b. */
static int parse(json_t *o, const char *p, struct balloon_config *b, char *err)
{
	static const char *const keys[] = {
	    "amount_mib",	 "deflate_on_oom",	"stats_polling_interval_s",
	    "free_page_hinting", "free_page_reporting", NULL};
	uint64_t amount = 0, interval = 0;
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, "amount_mib", true, 0, MAX_AMOUNT_MIB, &amount, err)) ||
	    (ret = cfg_get_bool_required(o, p, "deflate_on_oom", &b->deflate_on_oom, err)) ||
	    (ret = cfg_get_uint(o, p, "stats_polling_interval_s", false, 0,
				VIRTIO_BALLOON_MAX_STATS_INTERVAL, &interval, err)) ||
	    (ret = cfg_get_bool(o, p, "free_page_hinting", &b->free_page_hinting, err)) ||
	    (ret = cfg_get_bool(o, p, "free_page_reporting", &b->free_page_reporting, err)))
		return ret;
	b->amount_mib = (uint32_t)amount;
	b->stats_polling_interval_s = (uint32_t)interval;
	return 0;
}

/*
 * The balloon against the guest's memory, in Firecracker's words. The device
 * checks the same at its set-up (virtio_balloon_config_error); config/ needs
 * no device code.
 */
static int check(const struct balloon_config *b, uint64_t mem_size_mib, char *err)
{
	const char *why = NULL;

	if (b->amount_mib > mem_size_mib || b->amount_mib > MAX_AMOUNT_MIB)
		why = "amount_mib: Amount of pages requested is too large.";
	else if (b->stats_polling_interval_s > VIRTIO_BALLOON_MAX_STATS_INTERVAL)
		why = "stats_polling_interval_s: out of range (0 to 65535)";
	if (why)
		return cfg_fail(err, "balloon.%s (amount_mib %u, mem_size_mib %llu)", why,
				b->amount_mib, (unsigned long long)mem_size_mib);
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct balloon_config b = {0};
	int ret = parse(o, how->path, &b, err);

	if (!ret && how->api)
		ret = check(&b, cfg->machine.mem_size_mib, err);
	if (ret)
		return ret;
	cfg->balloon = b;
	cfg->has_balloon = true;
	return 0;
}

static int validate(const struct vm_config *cfg, char *err)
{
	return cfg->has_balloon ? check(&cfg->balloon, cfg->machine.mem_size_mib, err) : 0;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->has_balloon;
}

json_t *cfg_balloon_json(const struct balloon_config *b, bool *bad)
{
	json_t *o = cfg_object(bad);

	cfg_put(o, "amount_mib", json_integer(b->amount_mib), bad);
	cfg_put(o, "deflate_on_oom", json_boolean(b->deflate_on_oom), bad);
	cfg_put(o, "stats_polling_interval_s", json_integer(b->stats_polling_interval_s), bad);
	cfg_put(o, "free_page_hinting", json_boolean(b->free_page_hinting), bad);
	cfg_put(o, "free_page_reporting", json_boolean(b->free_page_reporting), bad);
	return o;
}

char *config_balloon_to_json(const struct balloon_config *bc)
{
	bool bad = false;

	return cfg_dump(cfg_balloon_json(bc, &bad), bad);
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	return cfg->has_balloon ? cfg_balloon_json(&cfg->balloon, bad) : json_null();
}

/* Plain data: nothing to copy or free. */
const struct config_section_ops config_balloon_section = {
    .key = "balloon",
    .name = "balloon",
    .apply = apply,
    .validate = validate,
    .virtio_devices = virtio_devices,
    .to_json = to_json,
};

/* --- the updates: one required integer key each --- */

static int parse_one_uint(json_t *o, const char *p, const char *key, uint64_t max, uint64_t *out,
			  char *err)
{
	const char *const keys[] = {key, NULL};
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, key, true, 0, max, out, err)))
		return ret;
	return 0;
}

/* Before boot: an update of the configured balloon, checked against the guest's memory. */
static int apply_update(struct vm_config *cfg, json_t *o, const char *p, bool stats, char *err)
{
	struct balloon_config b = cfg->balloon;
	uint64_t v = 0;
	int ret;

	if (stats)
		ret = parse_one_uint(o, p, "stats_polling_interval_s",
				     VIRTIO_BALLOON_MAX_STATS_INTERVAL, &v, err);
	else
		ret = parse_one_uint(o, p, "amount_mib", MAX_AMOUNT_MIB, &v, err);
	if (ret)
		return ret;
	if (!cfg->has_balloon)
		return cfg_fail(err, "balloon: not configured (PUT /balloon first)");
	if (stats)
		b.stats_polling_interval_s = (uint32_t)v;
	else
		b.amount_mib = (uint32_t)v;
	ret = check(&b, cfg->machine.mem_size_mib, err);
	if (ret)
		return ret;
	cfg->balloon = b;
	return 0;
}

static int apply_amount(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	return apply_update(cfg, o, how->path, false, err);
}

static int apply_stats(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	return apply_update(cfg, o, how->path, true, err);
}

/* API bodies only: the balloon's data is the balloon section's. */
const struct config_section_ops config_balloon_update_section = {
    .name = "balloon",
    .apply = apply_amount,
};
const struct config_section_ops config_balloon_stats_section = {
    .name = "balloon.statistics",
    .apply = apply_stats,
};

/* After boot: the body only; the device applies it. */
static int parse_body(const char *json, size_t len, const char *p, const char *key, uint64_t max,
		      uint32_t *out, char *err)
{
	json_t *o = cfg_load_body(json, len, p, err);
	uint64_t v = 0;
	int ret;

	if (!o)
		return -EINVAL;
	ret = parse_one_uint(o, p, key, max, &v, err);
	json_decref(o);
	if (!ret)
		*out = (uint32_t)v;
	return ret;
}

int config_parse_balloon_update(const char *json, size_t len, uint32_t *amount_mib,
				char err[CONFIG_ERR_MAX])
{
	return parse_body(json, len, "balloon", "amount_mib", MAX_AMOUNT_MIB, amount_mib, err);
}

int config_parse_balloon_stats_update(const char *json, size_t len, uint32_t *interval_s,
				      char err[CONFIG_ERR_MAX])
{
	return parse_body(json, len, "balloon.statistics", "stats_polling_interval_s",
			  VIRTIO_BALLOON_MAX_STATS_INTERVAL, interval_s, err);
}

/* BalloonStats (GET /balloon/statistics): the swagger's name of each statistic. */
const char *config_balloon_stat_name(unsigned int tag)
{
	static const char *const names[VIRTIO_BALLOON_S_NR] = {
	    [VIRTIO_BALLOON_S_SWAP_IN] = "swap_in",
	    [VIRTIO_BALLOON_S_SWAP_OUT] = "swap_out",
	    [VIRTIO_BALLOON_S_MAJFLT] = "major_faults",
	    [VIRTIO_BALLOON_S_MINFLT] = "minor_faults",
	    [VIRTIO_BALLOON_S_MEMFREE] = "free_memory",
	    [VIRTIO_BALLOON_S_MEMTOT] = "total_memory",
	    [VIRTIO_BALLOON_S_AVAIL] = "available_memory",
	    [VIRTIO_BALLOON_S_CACHES] = "disk_caches",
	    [VIRTIO_BALLOON_S_HTLB_PGALLOC] = "hugetlb_allocations",
	    [VIRTIO_BALLOON_S_HTLB_PGFAIL] = "hugetlb_failures",
	    [VIRTIO_BALLOON_S_OOM_KILL] = "oom_kill",
	    [VIRTIO_BALLOON_S_ALLOC_STALL] = "alloc_stall",
	    [VIRTIO_BALLOON_S_ASYNC_SCAN] = "async_scan",
	    [VIRTIO_BALLOON_S_DIRECT_SCAN] = "direct_scan",
	    [VIRTIO_BALLOON_S_ASYNC_RECLAIM] = "async_reclaim",
	    [VIRTIO_BALLOON_S_DIRECT_RECLAIM] = "direct_reclaim",
	};

	return tag < VIRTIO_BALLOON_S_NR ? names[tag] : NULL;
}

/* BalloonStartCmd: {"acknowledge_on_stop": bool}, every key optional; no body: the defaults. */
int config_parse_balloon_start(const char *json, size_t len, bool *ack_on_stop,
			       char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"acknowledge_on_stop", NULL};
	const char *p = "balloon hinting start";
	json_t *o;
	int ret;

	*ack_on_stop = true;
	if (!json || !len)
		return 0;
	o = cfg_load_body(json, len, p, err);
	if (!o)
		return -EINVAL;
	ret = cfg_check_keys(o, p, keys, err);
	if (!ret)
		ret = cfg_get_bool(o, p, "acknowledge_on_stop", ack_on_stop, err);
	json_decref(o);
	return ret;
}
