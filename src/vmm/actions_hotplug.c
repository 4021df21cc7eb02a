// SPDX-License-Identifier: Apache-2.0
/* The actions of pmem and memory hotplug after boot (see actions.h); the state rules are
 * actions.c's. */
#include "vmm/actions.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static int fail(struct ctrl_error *e, enum ctrl_fault fault, int ret)
{
	e->fault = fault;
	return ret;
}

/* The VM cannot do @a (a backend without the op): refused saying so. */
static int no_op(enum ctrl_action a, struct ctrl_error *e)
{
	snprintf(e->msg, sizeof(e->msg), "%s: not supported by ember on a running microVM.",
		 ctrl_action_name(a));
	return fail(e, CTRL_FAULT_INPUT, -EOPNOTSUPP);
}

int ctrl_patch_pmem(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct pmem_update u;
	struct rate_limiter_config rl;
	const struct pmem_config *p;
	int ret = ctrl_check(ctl, CTRL_PATCH_PMEM, e);

	if (ret < 0)
		return ret;
	ret = config_parse_pmem_update(body, len, &u, e->msg);
	if (ret)
		return fail(e, CTRL_FAULT_INPUT, ret);
	p = config_find_pmem(&ctl->cfg, u.id);
	if (!p) {
		snprintf(e->msg, sizeof(e->msg), "pmem %s: no such pmem device.", u.id);
		ret = fail(e, CTRL_FAULT_INPUT, -ENOENT);
	} else if (!ctl->ops->pmem_update) {
		ret = no_op(CTRL_PATCH_PMEM, e);
	} else {
		/* Its buckets over the device's: an absent bucket stays as it is. */
		rl = p->rate_limiter;
		if (u.rate_limiter.has_bandwidth)
			rl.bandwidth = u.rate_limiter.bandwidth, rl.has_bandwidth = true;
		if (u.rate_limiter.has_ops)
			rl.ops = u.rate_limiter.ops, rl.has_ops = true;
		ret = ctl->ops->pmem_update(ctl, u.id, &rl, e->msg);
		if (ret)
			fail(e, CTRL_FAULT_INPUT, ret);
		else
			config_find_pmem(&ctl->cfg, u.id)->rate_limiter = rl;
	}
	config_pmem_update_free(&u);
	return ret;
}

int ctrl_get_memory_hotplug(struct controller *ctl, char **json, struct ctrl_error *e)
{
	const struct memory_hotplug_config *c = &ctl->cfg.memory_hotplug;
	uint64_t plugged = 0, requested = 0;
	json_t *o;
	int ret = ctrl_check(ctl, CTRL_GET_MEMORY_HOTPLUG, e);

	if (ret < 0)
		return ret;
	if (ctl->state != CTRL_NOT_STARTED) {
		if (!ctl->ops->memory_hotplug_sizes)
			return no_op(CTRL_GET_MEMORY_HOTPLUG, e);
		ret = ctl->ops->memory_hotplug_sizes(ctl, &plugged, &requested, e->msg);
		if (ret)
			return fail(e, CTRL_FAULT_INPUT, ret);
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I}", "total_size_mib", (json_int_t)c->total_size_mib,
		      "slot_size_mib", (json_int_t)c->slot_size_mib, "block_size_mib",
		      (json_int_t)c->block_size_mib, "plugged_size_mib", (json_int_t)plugged,
		      "requested_size_mib", (json_int_t)requested);
	*json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!*json) {
		snprintf(e->msg, sizeof(e->msg), "Out of memory building the response.");
		return fail(e, CTRL_FAULT_INTERNAL, -ENOMEM);
	}
	return 0;
}

int ctrl_patch_memory_hotplug(struct controller *ctl, const char *body, size_t len,
			      struct ctrl_error *e)
{
	uint32_t mib;
	int ret = ctrl_check(ctl, CTRL_PATCH_MEMORY_HOTPLUG, e);

	if (ret < 0)
		return ret;
	ret = config_parse_memory_hotplug_update(body, len, &mib, e->msg);
	if (ret)
		return fail(e, CTRL_FAULT_INPUT, ret);
	if (!ctl->ops->memory_hotplug_request)
		return no_op(CTRL_PATCH_MEMORY_HOTPLUG, e);
	ret = ctl->ops->memory_hotplug_request(ctl, mib, e->msg);
	return ret ? fail(e, CTRL_FAULT_INPUT, ret) : 0;
}

int ctrl_hint_start(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	bool ack;
	int ret = ctrl_check(ctl, CTRL_HINT_START, e);

	if (ret < 0)
		return ret;
	ret = config_parse_balloon_start(body, len, &ack, e->msg);
	if (ret)
		return fail(e, CTRL_FAULT_INPUT, ret);
	if (!ctl->ops->balloon_hint_start)
		return no_op(CTRL_HINT_START, e);
	ret = ctl->ops->balloon_hint_start(ctl, ack, e->msg);
	return ret ? fail(e, CTRL_FAULT_INPUT, ret) : 0;
}

int ctrl_hint_stop(struct controller *ctl, struct ctrl_error *e)
{
	int ret = ctrl_check(ctl, CTRL_HINT_STOP, e);

	if (ret < 0)
		return ret;
	if (!ctl->ops->balloon_hint_stop)
		return no_op(CTRL_HINT_STOP, e);
	ret = ctl->ops->balloon_hint_stop(ctl, e->msg);
	return ret ? fail(e, CTRL_FAULT_INPUT, ret) : 0;
}

int ctrl_hint_status(struct controller *ctl, char **json, struct ctrl_error *e)
{
	uint32_t host = 0, guest = 0;
	bool has_guest = false;
	json_t *o;
	int ret = ctrl_check(ctl, CTRL_HINT_STATUS, e);

	if (ret < 0)
		return ret;
	if (!ctl->ops->balloon_hint_status)
		return no_op(CTRL_HINT_STATUS, e);
	ret = ctl->ops->balloon_hint_status(ctl, &host, &guest, &has_guest, e->msg);
	if (ret)
		return fail(e, CTRL_FAULT_INPUT, ret);
	o = json_pack("{s:I}", "host_cmd", (json_int_t)host);
	if (o && has_guest)
		json_object_set_new(o, "guest_cmd", json_integer(guest));
	*json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(o);
	if (!*json) {
		snprintf(e->msg, sizeof(e->msg), "Out of memory building the response.");
		return fail(e, CTRL_FAULT_INTERNAL, -ENOMEM);
	}
	return 0;
}
