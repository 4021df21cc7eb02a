// SPDX-License-Identifier: Apache-2.0
/* The API's MMDS data store actions and its metrics group (see actions.h). */
#include "vmm/actions.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static int store_fault(struct ctrl_error *e, int ret)
{
	e->fault = ret == -ENOMEM ? CTRL_FAULT_INTERNAL : CTRL_FAULT_INPUT;
	return ret;
}

int ctrl_put_mmds(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	int ret = ctrl_check(ctl, CTRL_PUT_MMDS, e);

	if (ret < 0)
		return ret;
	ret = mmds_put(&ctl->mmds, body, len, e->msg);
	return ret ? store_fault(e, ret) : 0;
}

int ctrl_patch_mmds(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	int ret = ctrl_check(ctl, CTRL_PATCH_MMDS, e);

	if (ret < 0)
		return ret;
	ret = mmds_patch(&ctl->mmds, body, len, e->msg);
	return ret ? store_fault(e, ret) : 0;
}

int ctrl_get_mmds(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = ctrl_check(ctl, CTRL_GET_MMDS, e);

	if (ret < 0)
		return ret;
	*json = mmds_get(&ctl->mmds);
	if (!*json) {
		snprintf(e->msg, sizeof(e->msg), "GET /mmds: out of memory");
		return store_fault(e, -ENOMEM);
	}
	return 0;
}

void ctrl_mmds_metrics(struct controller *ctl, json_t *root)
{
	const struct mmds_metrics *m = &ctl->mmds.m;
	json_t *o = json_object();

	if (!o)
		return;
#define MMDS_METRIC_JSON(name) \
	json_object_set_new(   \
	    o, #name, json_integer((json_int_t)__atomic_load_n(&m->name, __ATOMIC_RELAXED)));
	MMDS_METRICS(MMDS_METRIC_JSON)
#undef MMDS_METRIC_JSON
	json_object_set_new(root, "mmds", o);
}
