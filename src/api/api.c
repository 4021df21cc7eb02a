// SPDX-License-Identifier: Apache-2.0
/* The REST API's router (see api.h): Firecracker's swagger file is the contract. */
#include "api/api.h"

#include "util/log.h"
#include "config/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	M_GET = 1,
	M_PUT = 2,
	M_PATCH = 4,
};

/* Firecracker's messages for the state rules, word for word (clients match them). */
#define NOT_AFTER_BOOT	"The requested operation is not supported after starting the microVM."
#define NOT_BEFORE_BOOT "The requested operation is not supported before starting the microVM."

struct req {
	struct vmm *vmm;
	unsigned int method;
	const char *method_name;
	const char *path;
	const char *id; /* the {id} segment of the path, for routes that have one */
	const char *body;
	size_t body_len;
	struct http_response *resp;
};

struct route {
	const char *path; /* for routes with an id: the part before "/{id}" */
	bool with_id;
	unsigned int methods;
	void (*fn)(struct req *r); /* NULL: a feature ember does not have yet */
	const char *not_yet;	   /* ... and what it is */
	const char *id_key;	   /* the body key that must equal the path's id */
};

__attribute__((format(printf, 2, 3))) static void fault(struct req *r, const char *fmt, ...)
{
	char msg[VMM_ERR_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("API: %s %s: 400: %s", r->method_name, r->path, msg);
	r->resp->status = 400;
	r->resp->body = http_fault_json("%s", msg);
}

static void no_content(struct req *r)
{
	r->resp->status = 204;
	r->resp->body = NULL;
}

/* 200 with @json (malloc'd, may be NULL: out of memory). */
static void ok_json(struct req *r, char *json)
{
	if (!json) {
		r->resp->status = 500;
		r->resp->body = http_fault_json("Out of memory building the response.");
		return;
	}
	r->resp->status = 200;
	r->resp->body = json;
}

static bool pre_boot_only(struct req *r)
{
	if (r->vmm->state == VMM_NOT_STARTED)
		return true;
	fault(r, NOT_AFTER_BOOT);
	return false;
}

/* --- small JSON bodies: config/ parses them with its rules and messages --- */

/*
 * A body whose only key is @key, a string among @names (NULL-terminated):
 * InstanceActionInfo, Vm. Returns the index, or -1 after answering why not.
 */
static int enum_body(struct req *r, const char *what, const char *key, const char *const *names)
{
	char err[CONFIG_ERR_MAX];
	int i = config_parse_choice(r->body, r->body_len, what, key, names, err);

	if (i < 0) {
		fault(r, "%s", err);
		return -1;
	}
	return i;
}

/* --- endpoints --- */

static void get_instance_info(struct req *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", vmm_id(r->vmm), "state",
			      vmm_state_name(r->vmm->state), "vmm_version", EMBER_VERSION,
			      "app_name", EMBER_APP_NAME);

	ok_json(r, o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL);
	json_decref(o);
}

static void get_version(struct req *r)
{
	json_t *o = json_pack("{s:s}", "firecracker_version", EMBER_VERSION);

	ok_json(r, o ? json_dumps(o, JSON_COMPACT) : NULL);
	json_decref(o);
}

static void put_actions(struct req *r)
{
	enum { FLUSH_METRICS, INSTANCE_START, SEND_CTRL_ALT_DEL };
	static const char *const actions[] = {"FlushMetrics", "InstanceStart", "SendCtrlAltDel",
					      NULL};
	char err[VMM_ERR_MAX];

	switch (enum_body(r, "actions", "action_type", actions)) {
	case FLUSH_METRICS:
		if (vmm_flush_metrics(r->vmm, err)) {
			fault(r, "%s", err);
			return;
		}
		no_content(r);
		return;
	case INSTANCE_START:
		if (!pre_boot_only(r))
			return;
		if (vmm_start(r->vmm, err)) {
			fault(r, "InstanceStart failed: %s", err);
			return;
		}
		no_content(r);
		return;
	case SEND_CTRL_ALT_DEL:
		if (r->vmm->state == VMM_NOT_STARTED) {
			fault(r, NOT_BEFORE_BOOT);
			return;
		}
		if (vmm_send_ctrl_alt_del(r->vmm, err)) {
			fault(r, "%s", err);
			return;
		}
		no_content(r);
		return;
	default:
		return; /* answered */
	}
}

static void update_config(struct req *r, enum config_section section, bool patch)
{
	char err[CONFIG_ERR_MAX];

	if (!pre_boot_only(r))
		return;
	if (config_update(&r->vmm->cfg, section, r->body, r->body_len, patch, err)) {
		fault(r, "%s", err);
		return;
	}
	no_content(r);
}

static void put_boot_source(struct req *r)
{
	update_config(r, CONFIG_BOOT_SOURCE, false);
}

static void machine_config(struct req *r)
{
	if (r->method == M_GET)
		ok_json(r, config_machine_to_json(&r->vmm->cfg.machine));
	else
		update_config(r, CONFIG_MACHINE, r->method == M_PATCH);
}

static void put_entropy(struct req *r)
{
	update_config(r, CONFIG_ENTROPY, false);
}

/* Pre-boot, once: the metrics file or pipe opens now and a line goes out every 60 s. */
static void put_metrics(struct req *r)
{
	char err[VMM_ERR_MAX];

	if (!pre_boot_only(r))
		return;
	if (r->vmm->metrics.active) {
		fault(r, "metrics: already configured; they can be set once");
		return;
	}
	if (config_update(&r->vmm->cfg, CONFIG_METRICS, r->body, r->body_len, false, err) ||
	    vmm_configure_metrics(r->vmm, err)) {
		r->vmm->cfg.metrics.present = r->vmm->metrics.active;
		fault(r, "%s", err);
		return;
	}
	no_content(r);
}

static void put_logger(struct req *r)
{
	char err[VMM_ERR_MAX];

	if (vmm_update_logger(r->vmm, r->body, r->body_len, err)) {
		fault(r, "%s", err);
		return;
	}
	no_content(r);
}

static void get_vm_config(struct req *r)
{
	ok_json(r, config_to_json(&r->vmm->cfg));
}

static void patch_vm(struct req *r)
{
	static const char *const states[] = {"Paused", "Resumed", NULL};
	char err[VMM_ERR_MAX];
	int state = enum_body(r, "vm", "state", states);

	if (state < 0)
		return;
	if (r->vmm->state == VMM_NOT_STARTED) {
		fault(r, NOT_BEFORE_BOOT);
		return;
	}
	if (state == 0 ? vmm_pause(r->vmm, err) : vmm_resume(r->vmm, err)) {
		fault(r, "%s", err);
		return;
	}
	no_content(r);
}

/* --- devices --- */

static bool check_body_id(struct req *r, const struct route *rt);
static const struct route *route_of(const char *path);

/*
 * An after-boot device update the VM cannot do (its op is missing): 400
 * saying so.
 */
static bool have_op(struct req *r, const void *op, const char *what)
{
	if (op)
		return true;
	fault(r, "%s: not supported by ember on a running microVM.", what);
	return false;
}

/* PUT /drives/{id} before boot: adds the drive, or replaces the one with its id. */
static void drives(struct req *r)
{
	char err[VMM_ERR_MAX];
	struct drive_update u;
	struct rate_limiter_config rl;
	const struct drive_config *d;

	if (!check_body_id(r, route_of("/drives")))
		return;
	if (r->method == M_PUT) {
		update_config(r, CONFIG_DRIVE, false);
		return;
	}
	if (r->vmm->state == VMM_NOT_STARTED) {
		fault(r, NOT_BEFORE_BOOT);
		return;
	}
	if (config_parse_drive_update(r->body, r->body_len, &u, err)) {
		fault(r, "%s", err);
		return;
	}
	d = config_find_drive(&r->vmm->cfg, u.drive_id);
	if (!d) {
		fault(r, "drive %s: no such drive.", u.drive_id);
	} else if (have_op(r, (const void *)r->vmm->ops->drive_update, "PATCH /drives")) {
		config_drive_update_limiter(d, &u, &rl);
		if (r->vmm->ops->drive_update(r->vmm, u.drive_id, u.path_on_host,
					      u.has_rate_limiter ? &rl : NULL, err))
			fault(r, "%s", err);
		else if (config_apply_drive_update(&r->vmm->cfg, &u))
			fault(r, "drive %s: out of memory recording the update.", u.drive_id);
		else
			no_content(r);
	}
	config_drive_update_free(&u);
}

/* PUT /network-interfaces/{id} before boot; PATCH (rate limiters) after. */
static void network_interfaces(struct req *r)
{
	char err[VMM_ERR_MAX];
	struct net_update u;
	struct rate_limiter_config rx, tx;
	const struct net_config *n;

	if (!check_body_id(r, route_of("/network-interfaces")))
		return;
	if (r->method == M_PUT) {
		update_config(r, CONFIG_NET, false);
		return;
	}
	if (r->vmm->state == VMM_NOT_STARTED) {
		fault(r, NOT_BEFORE_BOOT);
		return;
	}
	if (config_parse_net_update(r->body, r->body_len, &u, err)) {
		fault(r, "%s", err);
		return;
	}
	n = config_find_net(&r->vmm->cfg, u.iface_id);
	if (!n) {
		fault(r, "network interface %s: no such interface.", u.iface_id);
	} else if (have_op(r, (const void *)r->vmm->ops->net_update, "PATCH /network-interfaces")) {
		config_net_update_limiters(n, &u, &rx, &tx);
		if (r->vmm->ops->net_update(r->vmm, u.iface_id, &rx, &tx, err))
			fault(r, "%s", err);
		else if (config_apply_net_update(&r->vmm->cfg, &u))
			fault(r, "network interface %s: recording the update failed.", u.iface_id);
		else
			no_content(r);
	}
	config_net_update_free(&u);
}

static void put_vsock(struct req *r)
{
	update_config(r, CONFIG_VSOCK, false);
}

static bool balloon_configured(struct req *r)
{
	if (r->vmm->cfg.has_balloon)
		return true;
	fault(r, "balloon: the balloon device is not configured (PUT /balloon first).");
	return false;
}

/* GET (the configuration, with the current target), PUT before boot, PATCH any time. */
static void balloon(struct req *r)
{
	char err[VMM_ERR_MAX];
	uint32_t mib;

	if (r->method == M_PUT) {
		update_config(r, CONFIG_BALLOON, false);
		return;
	}
	if (!balloon_configured(r))
		return;
	if (r->method == M_GET) {
		ok_json(r, config_balloon_to_json(&r->vmm->cfg.balloon));
		return;
	}
	if (r->vmm->state == VMM_NOT_STARTED) {
		update_config(r, CONFIG_BALLOON_UPDATE, true);
		return;
	}
	if (config_parse_balloon_update(r->body, r->body_len, &mib, err)) {
		fault(r, "%s", err);
		return;
	}
	if (!have_op(r, (const void *)r->vmm->ops->balloon_set_target, "PATCH /balloon"))
		return;
	if (r->vmm->ops->balloon_set_target(r->vmm, mib, err)) {
		fault(r, "%s", err);
		return;
	}
	r->vmm->cfg.balloon.amount_mib = mib;
	no_content(r);
}

/* BalloonStats: the sizes, then the statistics the guest gave, by the swagger's names. */
static char *balloon_stats_json(const struct balloon_stats *st)
{
	json_t *o = json_object();
	char *s;

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
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	return s;
}

/* GET after boot (if statistics were enabled); PATCH the interval any time. */
static void balloon_statistics(struct req *r)
{
	char err[VMM_ERR_MAX];
	struct balloon_stats st;
	uint32_t secs;

	if (!balloon_configured(r))
		return;
	if (r->method == M_PATCH && r->vmm->state == VMM_NOT_STARTED) {
		update_config(r, CONFIG_BALLOON_STATS, true);
		return;
	}
	if (r->method == M_GET && !r->vmm->cfg.balloon.stats_polling_interval_s) {
		fault(r, "balloon: statistics are not enabled (stats_polling_interval_s is 0 "
			 "when the device was configured).");
		return;
	}
	if (r->vmm->state == VMM_NOT_STARTED) {
		fault(r, NOT_BEFORE_BOOT);
		return;
	}
	if (r->method == M_GET) {
		if (!have_op(r, (const void *)r->vmm->ops->balloon_stats,
			     "GET /balloon/statistics"))
			return;
		memset(&st, 0, sizeof(st));
		if (r->vmm->ops->balloon_stats(r->vmm, &st, err)) {
			fault(r, "%s", err);
			return;
		}
		ok_json(r, balloon_stats_json(&st));
		return;
	}
	if (config_parse_balloon_stats_update(r->body, r->body_len, &secs, err)) {
		fault(r, "%s", err);
		return;
	}
	if (!have_op(r, (const void *)r->vmm->ops->balloon_set_stats_interval,
		     "PATCH /balloon/statistics"))
		return;
	if (r->vmm->ops->balloon_set_stats_interval(r->vmm, secs, err)) {
		fault(r, "%s", err);
		return;
	}
	r->vmm->cfg.balloon.stats_polling_interval_s = secs;
	no_content(r);
}

/* clang-format off */
static const struct route routes[] = {
	{"/", false, M_GET, get_instance_info, NULL, NULL},
	{"/version", false, M_GET, get_version, NULL, NULL},
	{"/actions", false, M_PUT, put_actions, NULL, NULL},
	{"/boot-source", false, M_PUT, put_boot_source, NULL, NULL},
	{"/machine-config", false, M_GET | M_PUT | M_PATCH, machine_config, NULL, NULL},
	{"/logger", false, M_PUT, put_logger, NULL, NULL},
	{"/vm/config", false, M_GET, get_vm_config, NULL, NULL},
	{"/vm", false, M_PATCH, patch_vm, NULL, NULL},
	{"/entropy", false, M_PUT, put_entropy, NULL, NULL},

	{"/drives", true, M_PUT | M_PATCH, drives, NULL, "drive_id"},
	{"/network-interfaces", true, M_PUT | M_PATCH, network_interfaces, NULL, "iface_id"},
	{"/pmem", true, M_PUT | M_PATCH, NULL, "pmem devices (virtio-pmem)", "id"},
	{"/vsock", false, M_PUT, put_vsock, NULL, NULL},
	{"/balloon", false, M_GET | M_PUT | M_PATCH, balloon, NULL, NULL},
	{"/balloon/statistics", false, M_GET | M_PATCH, balloon_statistics, NULL, NULL},
	{"/balloon/hinting/start", false, M_PATCH, NULL, "balloon free page hinting", NULL},
	{"/balloon/hinting/status", false, M_GET, NULL, "balloon free page hinting", NULL},
	{"/balloon/hinting/stop", false, M_PATCH, NULL, "balloon free page hinting", NULL},
	{"/metrics", false, M_PUT, put_metrics, NULL, NULL},
	{"/mmds", false, M_GET | M_PUT | M_PATCH, NULL, "MMDS (the microVM metadata service)",
	 NULL},
	{"/mmds/config", false, M_PUT, NULL, "MMDS (the microVM metadata service)", NULL},
	{"/snapshot/create", false, M_PUT, NULL, "snapshots", NULL},
	{"/snapshot/load", false, M_PUT, NULL, "snapshots", NULL},
	{"/cpu-config", false, M_PUT, NULL, "custom CPU templates", NULL},
	{"/serial", false, M_PUT, NULL, "serial console configuration", NULL},
	{"/hotplug/memory", false, M_GET | M_PUT | M_PATCH, NULL,
	 "memory hot-plugging (virtio-mem)", NULL},
};
/* clang-format on */

static const struct route *route_of(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(routes[i].path, path))
			return &routes[i];
	return NULL;
}

static unsigned int method_bit(const char *m)
{
	if (!strcmp(m, "GET"))
		return M_GET;
	if (!strcmp(m, "PUT"))
		return M_PUT;
	if (!strcmp(m, "PATCH"))
		return M_PATCH;
	return 0;
}

/* The route for @path (its id in *id), or NULL. */
static const struct route *find_route(const char *path, const char **id)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		const struct route *rt = &routes[i];
		size_t n = strlen(rt->path);

		if (!rt->with_id) {
			if (!strcmp(path, rt->path))
				return rt;
			continue;
		}
		if (!strncmp(path, rt->path, n) && (path[n] == '/' || !path[n])) {
			*id = path[n] ? path + n + 1 : "";
			return rt;
		}
	}
	return NULL;
}

/* Firecracker's rule for resource ids in paths (config/id.c). */
static bool check_id(struct req *r, const struct route *rt)
{
	char err[CONFIG_ERR_MAX];

	if (config_check_path_id(rt->path, rt->id_key, r->id, err)) {
		fault(r, "%s", err);
		return false;
	}
	return true;
}

/* Where the swagger file has an id in both the path and the body, they must agree. */
static bool check_body_id(struct req *r, const struct route *rt)
{
	char err[CONFIG_ERR_MAX];

	if (!r->body)
		return true;
	if (config_check_body_id(r->body, r->body_len, rt->path, rt->id_key, r->id, err)) {
		fault(r, "%s", err);
		return false;
	}
	return true;
}

static void api_route(struct vmm *vmm, const struct http_request *hreq, struct http_response *resp)
{
	char path[HTTP_MAX_TARGET + 1];
	const struct route *rt;
	struct req r = {
	    .vmm = vmm,
	    .method = method_bit(hreq->method),
	    .method_name = hreq->method,
	    .path = path,
	    .id = "",
	    .body = hreq->body_len ? hreq->body : NULL,
	    .body_len = hreq->body_len,
	    .resp = resp,
	};
	size_t n = strlen(hreq->path);

	resp->status = 0;
	resp->body = NULL;
	/* One trailing slash is ignored ("/machine-config/"), as Firecracker does. */
	if (n >= sizeof(path))
		n = sizeof(path) - 1;
	memcpy(path, hreq->path, n);
	path[n] = '\0';
	if (n > 1 && path[n - 1] == '/')
		path[n - 1] = '\0';
	log_debug("API: %s %s (%zu-byte body)", r.method_name, path, r.body_len);

	rt = find_route(path, &r.id);
	if (!rt || !(rt->methods & r.method)) {
		fault(&r, "Invalid request method and/or path: %s %s.", r.method_name, path);
		return;
	}
	if (rt->with_id && !check_id(&r, rt))
		return;
	if (!rt->fn) {
		if (rt->id_key && rt->with_id && !check_body_id(&r, rt))
			return;
		fault(&r, "%s: not supported yet by ember (%s).", path, rt->not_yet);
		return;
	}
	if (r.method == M_GET && r.body) {
		fault(&r, "GET request cannot have a body.");
		return;
	}
	if (r.method != M_GET && !r.body) {
		fault(&r, "Empty %s request.", r.method_name);
		return;
	}
	rt->fn(&r);
}

void api_handle(struct vmm *vmm, const struct http_request *hreq, struct http_response *resp)
{
	api_route(vmm, hreq, resp);
	/* Counted for the api_server metrics group. */
	vmm->api_requests++;
	if (resp->status >= 400)
		vmm->api_faults++;
}

void api_http_handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	api_handle(opaque, req, resp);
}
