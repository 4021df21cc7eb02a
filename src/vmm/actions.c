// SPDX-License-Identifier: Apache-2.0
/* The controller's actions and the one table of what each may do in which state (see actions.h). */
#include "vmm/actions.h"

#include "vmm/put_checks.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What an action does in a state. */
enum rule {
	NOT_BEFORE_BOOT, /* refused: CTRL_NOT_BEFORE_BOOT */
	NOT_AFTER_BOOT,	 /* refused: CTRL_NOT_AFTER_BOOT */
	ALREADY,	 /* nothing to do: the VM already is in the state asked for */
	ON_CONFIG,	 /* done on the configuration: there is no VM yet */
	ON_VM,		 /* done by the VM (and recorded in the configuration) */
	ANY,		 /* done the same way in every state */
	NOT_RUNNING,	 /* refused: CTRL_SNAPSHOT_RUNNING (the VM must be paused first) */
};

/* What must be configured first, checked before the state (Firecracker's order). */
enum {
	BALLOON = 1,  /* a balloon device */
	STATS = 2,    /* ... with statistics (stats_polling_interval_s > 0) */
	FRESH = 4,    /* nothing but the logger and metrics configured (checked after the state) */
	HOTPLUG = 8,  /* memory-hotplug (virtio-mem) */
	HINTING = 16, /* ... with free_page_hinting */
};

#define KEEP (-1) /* the state does not change */

struct action_rules {
	const char *name; /* in messages: "PATCH /drives: not supported by ember ..." */
	unsigned int needs;
	enum rule in[3]; /* by enum ctrl_state: Not started, Running, Paused */
	int then;	 /* the state once the action is done, or KEEP */
};

/* clang-format off */
static const struct action_rules rules[CTRL_NR_ACTIONS] = {
	/*                           {name, what it needs (checked first),
	 *                           {in Not started,  in Running,      in Paused     }, state after} */
	[CTRL_GET_INSTANCE_INFO]   = {"GET /", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_GET_VERSION]         = {"GET /version", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_GET_MACHINE_CONFIG]  = {"GET /machine-config", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_GET_VM_CONFIG]       = {"GET /vm/config", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_CONFIGURE]           = {"configuration update", 0,
	                             {ON_CONFIG,       NOT_AFTER_BOOT,  NOT_AFTER_BOOT}, KEEP},
	[CTRL_PUT_METRICS]         = {"PUT /metrics", 0,
	                             {ON_CONFIG,       NOT_AFTER_BOOT,  NOT_AFTER_BOOT}, KEEP},
	[CTRL_PUT_LOGGER]          = {"PUT /logger", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_INSTANCE_START]      = {"InstanceStart", 0,
	                             {ON_VM,           NOT_AFTER_BOOT,  NOT_AFTER_BOOT}, CTRL_RUNNING},
	[CTRL_FLUSH_METRICS]       = {"FlushMetrics", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_SEND_CTRL_ALT_DEL]   = {"SendCtrlAltDel", 0,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_PAUSE]               = {"PATCH /vm Paused", 0,
	                             {NOT_BEFORE_BOOT, ON_VM,           ALREADY       }, CTRL_PAUSED},
	[CTRL_RESUME]              = {"PATCH /vm Resumed", 0,
	                             {NOT_BEFORE_BOOT, ALREADY,         ON_VM         }, CTRL_RUNNING},
	[CTRL_PATCH_DRIVE]         = {"PATCH /drives", 0,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_PATCH_NET]           = {"PATCH /network-interfaces", 0,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_GET_BALLOON]         = {"GET /balloon", BALLOON,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_PATCH_BALLOON]       = {"PATCH /balloon", BALLOON,
	                             {ON_CONFIG,       ON_VM,           ON_VM         }, KEEP},
	[CTRL_GET_BALLOON_STATS]   = {"GET /balloon/statistics", BALLOON | STATS,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_PATCH_BALLOON_STATS] = {"PATCH /balloon/statistics", BALLOON,
	                             {ON_CONFIG,       ON_VM,           ON_VM         }, KEEP},
	[CTRL_SNAPSHOT_CREATE]     = {"PUT /snapshot/create", 0,
	                             {NOT_BEFORE_BOOT, NOT_RUNNING,     ON_VM         }, KEEP},
	/* Paused once loaded, Running with resume_vm: ctrl_snapshot_load() says which. */
	[CTRL_SNAPSHOT_LOAD]       = {"PUT /snapshot/load", FRESH,
	                             {ON_VM,           NOT_AFTER_BOOT,  NOT_AFTER_BOOT}, CTRL_PAUSED},
	[CTRL_PUT_MMDS]            = {"PUT /mmds", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_PATCH_MMDS]          = {"PATCH /mmds", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_GET_MMDS]            = {"GET /mmds", 0,
	                             {ANY,             ANY,             ANY           }, KEEP},
	[CTRL_PATCH_PMEM]          = {"PATCH /pmem", 0,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_GET_MEMORY_HOTPLUG]  = {"GET /hotplug/memory", HOTPLUG,
	                             {ON_CONFIG,       ON_VM,           ON_VM         }, KEEP},
	[CTRL_PATCH_MEMORY_HOTPLUG] = {"PATCH /hotplug/memory", HOTPLUG,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_HINT_START]          = {"PATCH /balloon/hinting/start", BALLOON | HINTING,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_HINT_STATUS]         = {"GET /balloon/hinting/status", BALLOON | HINTING,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
	[CTRL_HINT_STOP]           = {"PATCH /balloon/hinting/stop", BALLOON | HINTING,
	                             {NOT_BEFORE_BOOT, ON_VM,           ON_VM         }, KEEP},
};
/* clang-format on */

__attribute__((format(printf, 3, 4))) static int refuse(struct ctrl_error *e, enum ctrl_fault fault,
							const char *fmt, ...)
{
	va_list ap;

	e->fault = fault;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* The rule for @a now, or -errno with @e set when refused. */
static int check(const struct controller *ctl, enum ctrl_action a, struct ctrl_error *e)
{
	const struct action_rules *r = &rules[a];

	if ((r->needs & BALLOON) && !ctl->cfg.has_balloon)
		return refuse(
		    e, CTRL_FAULT_STATE,
		    "balloon: the balloon device is not configured (PUT /balloon first).");
	if ((r->needs & HINTING) && !ctl->cfg.balloon.free_page_hinting)
		return refuse(e, CTRL_FAULT_STATE,
			      "balloon: free page hinting is not enabled (free_page_hinting was "
			      "false when the device was configured).");
	if ((r->needs & HOTPLUG) && !ctl->cfg.memory_hotplug.present)
		return refuse(e, CTRL_FAULT_STATE,
			      "memory-hotplug: hotpluggable memory is not configured (PUT "
			      "/hotplug/memory before boot).");
	if ((r->needs & STATS) && !ctl->cfg.balloon.stats_polling_interval_s)
		return refuse(e, CTRL_FAULT_STATE,
			      "balloon: statistics are not enabled (stats_polling_interval_s is 0 "
			      "when the device was configured).");
	switch (r->in[ctl->state]) {
	case NOT_BEFORE_BOOT:
		refuse(e, CTRL_FAULT_STATE, CTRL_NOT_BEFORE_BOOT);
		return -EINVAL;
	case NOT_AFTER_BOOT:
		refuse(e, CTRL_FAULT_STATE, CTRL_NOT_AFTER_BOOT);
		return -EBUSY;
	case NOT_RUNNING:
		refuse(e, CTRL_FAULT_STATE, CTRL_SNAPSHOT_RUNNING);
		return -EBUSY;
	default:
		break;
	}
	if ((r->needs & FRESH) && ctl->boot_path) {
		refuse(e, CTRL_FAULT_STATE, CTRL_LOAD_NOT_FRESH);
		return -EBUSY;
	}
	return (int)r->in[ctl->state];
}

/* @a is done: the state it leads to. */
static void done(struct controller *ctl, enum ctrl_action a)
{
	if (rules[a].then != KEEP)
		ctl->state = (enum ctrl_state)rules[a].then;
}

const char *ctrl_action_name(enum ctrl_action a)
{
	return a < CTRL_NR_ACTIONS ? rules[a].name : "?";
}

int ctrl_check(const struct controller *ctl, enum ctrl_action a, struct ctrl_error *e)
{
	int rule = check(ctl, a, e);

	if (rule < 0)
		return rule;
	return rule == ALREADY;
}

/* A failure the VM or config described in e->msg: the request is refused as it is. */
static int input_fault(struct ctrl_error *e, int ret)
{
	e->fault = CTRL_FAULT_INPUT;
	return ret;
}

/*
 * An after-boot device update the VM cannot do (its op is missing): refused
 * saying so.
 */
static bool have_op(const void *op, enum ctrl_action a, struct ctrl_error *e)
{
	if (op)
		return true;
	refuse(e, CTRL_FAULT_INPUT, "%s: not supported by ember on a running microVM.",
	       rules[a].name);
	return false;
}

/* A GET's answer: @s (malloc'd JSON, NULL when out of memory) in *json. */
static int answer(char *s, char **json, struct ctrl_error *e)
{
	*json = s;
	if (s)
		return 0;
	refuse(e, CTRL_FAULT_INTERNAL, "Out of memory building the response.");
	return -ENOMEM;
}

/* @o as compact JSON text (NULL @o: out of memory); drops @o. */
static char *dump(json_t *o, size_t flags)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | flags) : NULL;

	json_decref(o);
	return s;
}

/* --- GETs --- */

int ctrl_get_instance_info(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_GET_INSTANCE_INFO, e);

	if (ret < 0)
		return ret;
	return answer(dump(json_pack("{s:s, s:s, s:s, s:s}", "id", ctrl_id(ctl), "state",
				     ctrl_state_name(ctl->state), "vmm_version",
				     FIRECRACKER_VERSION, "app_name", EMBER_APP_NAME),
			   JSON_PRESERVE_ORDER),
		      json, e);
}

int ctrl_get_version(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_GET_VERSION, e);

	if (ret < 0)
		return ret;
	return answer(dump(json_pack("{s:s}", "firecracker_version", FIRECRACKER_VERSION), 0), json,
		      e);
}

int ctrl_get_machine_config(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_GET_MACHINE_CONFIG, e);

	if (ret < 0)
		return ret;
	return answer(config_machine_to_json(&ctl->cfg.machine), json, e);
}

int ctrl_get_vm_config(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_GET_VM_CONFIG, e);

	if (ret < 0)
		return ret;
	return answer(config_to_json(&ctl->cfg), json, e);
}

/* --- the configuration before boot --- */

/* The sections whose objects name host files or resources (put_checks.h). */
static bool names_files(enum config_section section)
{
	return section == CONFIG_BOOT_SOURCE || section == CONFIG_DRIVE ||
	       section == CONFIG_VSOCK || section == CONFIG_MACHINE || section == CONFIG_PMEM;
}

int ctrl_configure(struct controller *ctl, enum config_section section, const char *body,
		   size_t len, bool patch, struct ctrl_error *e)
{
	struct vm_config next;
	int ret = check(ctl, CTRL_CONFIGURE, e);

	if (ret < 0)
		return ret;
	/* As Firecracker: even an attempt that fails rules out a snapshot load. */
	if (section != CONFIG_LOGGER && section != CONFIG_METRICS)
		ctl->boot_path = true;
	if (!ctl->put_checks || !names_files(section)) {
		ret = config_update(&ctl->cfg, section, body, len, patch, e->msg);
		return ret ? input_fault(e, ret) : 0;
	}
	/* Applied to a copy and checked on the host first: a refused PUT changes nothing. */
	if (config_copy(&next, &ctl->cfg))
		return refuse(e, CTRL_FAULT_INTERNAL, "Out of memory applying the configuration.");
	ret = config_update(&next, section, body, len, patch, e->msg);
	if (!ret)
		ret = ctrl_put_checks(&ctl->cfg, &next, section, e->msg);
	if (ret) {
		config_free(&next);
		return input_fault(e, ret);
	}
	config_free(&ctl->cfg);
	ctl->cfg = next;
	return 0;
}

int ctrl_put_metrics(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_PUT_METRICS, e);

	if (ret < 0)
		return ret;
	if (ctl->metrics.active)
		return refuse(e, CTRL_FAULT_INPUT,
			      "metrics: already configured; they can be set once");
	ret = config_update(&ctl->cfg, CONFIG_METRICS, body, len, false, e->msg);
	if (!ret)
		ret = ctrl_configure_metrics(ctl, e->msg);
	if (ret) {
		/* A path that would not open leaves the metrics unconfigured. */
		ctl->cfg.metrics.present = ctl->metrics.active;
		return input_fault(e, ret);
	}
	return 0;
}

int ctrl_update_logger(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct logger *lg = ctl->log;
	struct vm_config scratch;
	int ret = check(ctl, CTRL_PUT_LOGGER, e);

	if (ret < 0)
		return ret;
	/* Start from the running logger, so only the keys given change. */
	config_init(&scratch);
	scratch.logger = ctl->cfg.logger;
	scratch.logger.log_path = NULL; /* set only if the body has one */
	scratch.logger.module = NULL;	/* likewise */
	scratch.logger.level = lg->level;
	scratch.logger.show_level = lg->show_level;
	scratch.logger.show_log_origin = lg->show_origin;
	ret = config_update(&scratch, CONFIG_LOGGER, body, len, true, e->msg);
	if (!ret && scratch.logger.log_path)
		ret = ctl->ops->set_log_path(ctl, scratch.logger.log_path, e->msg);
	if (ret) {
		config_free(&scratch);
		return input_fault(e, ret);
	}
	lg->level = scratch.logger.level;
	lg->show_level = scratch.logger.show_level;
	lg->show_origin = scratch.logger.show_log_origin;
	if (scratch.logger.log_path) {
		ctrl_log_started(); /* the new log's first line */
		free(ctl->cfg.logger.log_path);
	} else {
		scratch.logger.log_path = ctl->cfg.logger.log_path;
	}
	if (scratch.logger.module) {
		log_set_module(lg, scratch.logger.module); /* checked by config/logger.c */
		free(ctl->cfg.logger.module);
	} else {
		scratch.logger.module = ctl->cfg.logger.module;
	}
	ctl->cfg.logger = scratch.logger;
	return 0;
}

/* --- the VM's life --- */

int ctrl_instance_start(struct controller *ctl, struct ctrl_error *e)
{
	char why[VMM_ERR_MAX];
	int ret = check(ctl, CTRL_INSTANCE_START, e);

	if (ret < 0)
		return ret;
	ctl->start_bad_input = false;
	ret = config_validate(&ctl->cfg, why);
	if (ret)
		ctl->start_bad_input = true;
	else
		ret = ctl->ops->start(ctl, why);
	if (ret) {
		refuse(e, CTRL_FAULT_INPUT, "InstanceStart failed: %s", why);
		return ret;
	}
	done(ctl, CTRL_INSTANCE_START);
	return 0;
}

int ctrl_flush_metrics(struct controller *ctl, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_FLUSH_METRICS, e);

	if (ret < 0)
		return ret;
	ret = metrics_flush(&ctl->metrics);
	if (ret == -ENODEV)
		refuse(e, CTRL_FAULT_INPUT,
		       "FlushMetrics: metrics not configured (PUT /metrics first)");
	else if (ret)
		refuse(e, CTRL_FAULT_INPUT, "FlushMetrics: writing %s: %s",
		       ctl->cfg.metrics.metrics_path, strerror(-ret));
	return ret;
}

/* A VM operation of an action that changes only the state. */
static int vm_op(struct controller *ctl, enum ctrl_action a,
		 int (*op)(struct controller *, char[VMM_ERR_MAX]), struct ctrl_error *e)
{
	int ret = check(ctl, a, e);

	if (ret < 0)
		return ret;
	if (ret == ALREADY)
		return 0;
	ret = op(ctl, e->msg);
	if (ret)
		return input_fault(e, ret);
	done(ctl, a);
	return 0;
}

int ctrl_send_ctrl_alt_del(struct controller *ctl, struct ctrl_error *e)
{
	return vm_op(ctl, CTRL_SEND_CTRL_ALT_DEL, ctl->ops->ctrl_alt_del, e);
}

int ctrl_pause(struct controller *ctl, struct ctrl_error *e)
{
	return vm_op(ctl, CTRL_PAUSE, ctl->ops->pause, e);
}

int ctrl_resume(struct controller *ctl, struct ctrl_error *e)
{
	return vm_op(ctl, CTRL_RESUME, ctl->ops->resume, e);
}

/* --- the devices after boot --- */

int ctrl_patch_drive(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct drive_update u;
	struct rate_limiter_config rl;
	const struct drive_config *d;
	int ret = check(ctl, CTRL_PATCH_DRIVE, e);

	if (ret < 0)
		return ret;
	ret = config_parse_drive_update(body, len, &u, e->msg);
	if (ret)
		return input_fault(e, ret);
	d = config_find_drive(&ctl->cfg, u.drive_id);
	if (!d) {
		ret = refuse(e, CTRL_FAULT_INPUT, "drive %s: no such drive.", u.drive_id);
	} else if (!have_op((const void *)ctl->ops->drive_update, CTRL_PATCH_DRIVE, e)) {
		ret = -EOPNOTSUPP;
	} else {
		config_drive_update_limiter(d, &u, &rl);
		ret = ctl->ops->drive_update(ctl, u.drive_id, u.path_on_host,
					     u.has_rate_limiter ? &rl : NULL, e->msg);
		if (ret)
			input_fault(e, ret);
		else if (config_apply_drive_update(&ctl->cfg, &u))
			ret = refuse(e, CTRL_FAULT_INPUT,
				     "drive %s: out of memory recording the update.", u.drive_id);
	}
	config_drive_update_free(&u);
	return ret;
}

int ctrl_patch_net(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct net_update u;
	struct rate_limiter_config rx, tx;
	const struct net_config *n;
	int ret = check(ctl, CTRL_PATCH_NET, e);

	if (ret < 0)
		return ret;
	ret = config_parse_net_update(body, len, &u, e->msg);
	if (ret)
		return input_fault(e, ret);
	n = config_find_net(&ctl->cfg, u.iface_id);
	if (!n) {
		ret = refuse(e, CTRL_FAULT_INPUT, "network interface %s: no such interface.",
			     u.iface_id);
	} else if (!have_op((const void *)ctl->ops->net_update, CTRL_PATCH_NET, e)) {
		ret = -EOPNOTSUPP;
	} else {
		config_net_update_limiters(n, &u, &rx, &tx);
		ret = ctl->ops->net_update(ctl, u.iface_id, &rx, &tx, e->msg);
		if (ret)
			input_fault(e, ret);
		else if (config_apply_net_update(&ctl->cfg, &u))
			ret = refuse(e, CTRL_FAULT_INPUT,
				     "network interface %s: recording the update failed.",
				     u.iface_id);
	}
	config_net_update_free(&u);
	return ret;
}

int ctrl_get_balloon(struct controller *ctl, char **json, struct ctrl_error *e)
{
	int ret = check(ctl, CTRL_GET_BALLOON, e);

	if (ret < 0)
		return ret;
	return answer(config_balloon_to_json(&ctl->cfg.balloon), json, e);
}

/*
 * PATCH of one balloon setting: the configuration's @section before boot;
 * after, the body is parsed (@parse), the VM applies it (@op) and it is
 * recorded in @field.
 */
static int patch_balloon_setting(struct controller *ctl, enum ctrl_action a,
				 enum config_section section, const char *body, size_t len,
				 int (*parse)(const char *, size_t, uint32_t *,
					      char[CONFIG_ERR_MAX]),
				 int (*op)(struct controller *, uint32_t, char[VMM_ERR_MAX]),
				 uint32_t *field, struct ctrl_error *e)
{
	uint32_t v;
	int ret = check(ctl, a, e);

	if (ret < 0)
		return ret;
	if (ret == ON_CONFIG) {
		ctl->boot_path = true;
		ret = config_update(&ctl->cfg, section, body, len, true, e->msg);
		return ret ? input_fault(e, ret) : 0;
	}
	ret = parse(body, len, &v, e->msg);
	if (ret)
		return input_fault(e, ret);
	if (!have_op((const void *)op, a, e))
		return -EOPNOTSUPP;
	ret = op(ctl, v, e->msg);
	if (ret)
		return input_fault(e, ret);
	*field = v;
	return 0;
}

int ctrl_patch_balloon(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	return patch_balloon_setting(ctl, CTRL_PATCH_BALLOON, CONFIG_BALLOON_UPDATE, body, len,
				     config_parse_balloon_update, ctl->ops->balloon_set_target,
				     &ctl->cfg.balloon.amount_mib, e);
}

/* BalloonStats: the sizes, then the statistics the guest gave, by the swagger's names. */
static char *balloon_stats_json(const struct balloon_stats *st)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "target_pages", json_integer(st->target_pages));
	json_object_set_new(o, "actual_pages", json_integer(st->actual_pages));
	json_object_set_new(o, "target_mib", json_integer(st->target_mib));
	json_object_set_new(o, "actual_mib", json_integer(st->actual_mib));
	for (unsigned int tag = 0; tag < VIRTIO_BALLOON_S_NR; tag++) {
		const char *name = config_balloon_stat_name(tag);

		if (name && (st->present & (1u << tag)))
			json_object_set_new(o, name, json_integer((json_int_t)st->val[tag]));
	}
	return dump(o, JSON_PRESERVE_ORDER);
}

int ctrl_get_balloon_stats(struct controller *ctl, char **json, struct ctrl_error *e)
{
	struct balloon_stats st;
	int ret = check(ctl, CTRL_GET_BALLOON_STATS, e);

	if (ret < 0)
		return ret;
	if (!have_op((const void *)ctl->ops->balloon_stats, CTRL_GET_BALLOON_STATS, e))
		return -EOPNOTSUPP;
	memset(&st, 0, sizeof(st));
	ret = ctl->ops->balloon_stats(ctl, &st, e->msg);
	if (ret)
		return input_fault(e, ret);
	return answer(balloon_stats_json(&st), json, e);
}

int ctrl_patch_balloon_stats(struct controller *ctl, const char *body, size_t len,
			     struct ctrl_error *e)
{
	return patch_balloon_setting(ctl, CTRL_PATCH_BALLOON_STATS, CONFIG_BALLOON_STATS, body, len,
				     config_parse_balloon_stats_update,
				     ctl->ops->balloon_set_stats_interval,
				     &ctl->cfg.balloon.stats_polling_interval_s, e);
}

/* --- snapshots --- */

int ctrl_snapshot_create(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct snapshot_create_params p;
	char why[VMM_ERR_MAX];
	int ret = check(ctl, CTRL_SNAPSHOT_CREATE, e);

	if (ret < 0)
		return ret;
	ret = config_parse_snapshot_create(body, len, &p, e->msg);
	if (ret)
		return input_fault(e, ret);
	if (p.type == SNAPSHOT_DIFF && !ctl->cfg.machine.track_dirty_pages)
		ret = refuse(e, CTRL_FAULT_INPUT, CTRL_DIFF_UNTRACKED);
	else if (!have_op((const void *)ctl->ops->snapshot_create, CTRL_SNAPSHOT_CREATE, e))
		ret = -EOPNOTSUPP;
	else if ((ret = ctl->ops->snapshot_create(ctl, &p, why)))
		refuse(e, CTRL_FAULT_INPUT, "Create snapshot error: %s", why);
	config_snapshot_create_free(&p);
	return ret;
}

int ctrl_snapshot_load(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct snapshot_load_params p;
	char why[VMM_ERR_MAX];
	int ret = check(ctl, CTRL_SNAPSHOT_LOAD, e);

	if (ret < 0)
		return ret;
	ret = config_parse_snapshot_load(body, len, &p, e->msg);
	if (ret)
		return input_fault(e, ret);
	if (!have_op((const void *)ctl->ops->snapshot_load, CTRL_SNAPSHOT_LOAD, e)) {
		ret = -EOPNOTSUPP;
	} else if ((ret = ctl->ops->snapshot_load(ctl, &p, why))) {
		refuse(e, CTRL_FAULT_INPUT, "Load snapshot error: %s", why);
	} else {
		/* The VM is built: from now on the process is like one after InstanceStart. */
		done(ctl, CTRL_SNAPSHOT_LOAD);
		if (p.resume_vm)
			ctl->state = CTRL_RUNNING;
	}
	config_snapshot_load_free(&p);
	return ret;
}

void ctrl_count_request(struct controller *ctl, bool failed)
{
	ctl->api_requests++;
	if (failed)
		ctl->api_faults++;
}
