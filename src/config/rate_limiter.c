// SPDX-License-Identifier: Apache-2.0
/* RateLimiter and its TokenBuckets: a part of entropy, drives and network interfaces. */
#include "config/json.h"

#include <stdio.h>
#include <string.h>

static int parse_token_bucket(json_t *o, const char *p, struct token_bucket_config *tb, char *err)
{
	static const char *const keys[] = {"size", "one_time_burst", "refill_time", NULL};
	int ret;

	memset(tb, 0, sizeof(*tb));
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, "size", true, 0, INT64_MAX, &tb->size, err)) ||
	    (ret = cfg_get_uint(o, p, "one_time_burst", false, 0, INT64_MAX, &tb->one_time_burst,
				err)) ||
	    (ret = cfg_get_uint(o, p, "refill_time", true, 0, INT64_MAX, &tb->refill_time_ms, err)))
		return ret;
	return 0;
}

int cfg_parse_bucket_key(json_t *o, const char *p, const char *key, struct token_bucket_config *tb,
			 bool *has, char *err)
{
	json_t *v = json_object_get(o, key);
	char path[96];
	int ret;

	if (!v || json_is_null(v))
		return 0;
	snprintf(path, sizeof(path), "%s.%s", p, key);
	ret = parse_token_bucket(v, path, tb, err);
	if (!ret)
		*has = true;
	return ret;
}

int cfg_parse_rate_limiter(json_t *o, const char *p, struct rate_limiter_config *rl, char *err)
{
	static const char *const keys[] = {"bandwidth", "ops", NULL};
	int ret;

	memset(rl, 0, sizeof(*rl));
	if (!o || json_is_null(o))
		return 0;
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_parse_bucket_key(o, p, "bandwidth", &rl->bandwidth, &rl->has_bandwidth,
					err)) ||
	    (ret = cfg_parse_bucket_key(o, p, "ops", &rl->ops, &rl->has_ops, err)))
		return ret;
	return 0;
}

int cfg_parse_limiter_update(json_t *obj, const char *key, const char *p, bool *has,
			     struct rate_limiter_config *rl, char *err)
{
	json_t *v = json_object_get(obj, key);
	char path[64];

	snprintf(path, sizeof(path), "%s.%s", p, key);
	*has = v != NULL;
	return cfg_parse_rate_limiter(v, path, rl, err);
}

void cfg_merge_limiter(const struct rate_limiter_config *cur, const struct rate_limiter_config *upd,
		       struct rate_limiter_config *out)
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

json_t *cfg_token_bucket_json(const struct token_bucket_config *tb, bool *bad)
{
	json_t *o = cfg_object(bad);

	cfg_put(o, "size", json_integer((json_int_t)tb->size), bad);
	cfg_put(o, "one_time_burst", json_integer((json_int_t)tb->one_time_burst), bad);
	cfg_put(o, "refill_time", json_integer((json_int_t)tb->refill_time_ms), bad);
	return o;
}

json_t *cfg_rate_limiter_json(const struct rate_limiter_config *rl, bool *bad)
{
	json_t *o = cfg_object(bad);

	if (rl->has_bandwidth)
		cfg_put(o, "bandwidth", cfg_token_bucket_json(&rl->bandwidth, bad), bad);
	if (rl->has_ops)
		cfg_put(o, "ops", cfg_token_bucket_json(&rl->ops, bad), bad);
	return o;
}

json_t *cfg_limiter_opt(const struct rate_limiter_config *rl, bool *bad)
{
	if (!rl->has_bandwidth && !rl->has_ops)
		return json_null();
	return cfg_rate_limiter_json(rl, bad);
}
