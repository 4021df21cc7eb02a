// SPDX-License-Identifier: Apache-2.0
/* EntropyDevice: virtio-rng and its rate limiter (PUT /entropy). */
#include "config/json.h"

#include <stdio.h>

/* EntropyDevice: the whole section is replaced. */
static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	static const char *const keys[] = {"rate_limiter", NULL};
	const char *p = how->path;
	struct entropy_config ec = {0};
	char rl[64];
	int ret;

	snprintf(rl, sizeof(rl), "%s.rate_limiter", p);
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_parse_rate_limiter(json_object_get(o, "rate_limiter"), rl, &ec.rate_limiter,
					  err)))
		return ret;
	ec.present = true;
	cfg->entropy = ec;
	return 0;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->entropy.present;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	json_t *o;

	if (!cfg->entropy.present)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "rate_limiter", cfg_rate_limiter_json(&cfg->entropy.rate_limiter, bad), bad);
	return o;
}

/* Plain data: nothing to copy or free. */
const struct config_section_ops config_entropy_section = {
    .key = "entropy",
    .name = "entropy",
    .apply = apply,
    .virtio_devices = virtio_devices,
    .to_json = to_json,
};
