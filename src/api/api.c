// SPDX-License-Identifier: Apache-2.0
/*
 * The REST API's router (see api.h): Firecracker's swagger file is the contract.
 * A route and method map to one controller action (vmm/actions.h); the router
 * checks only the request's shape (the path, its id, the body's presence, the
 * small bodies of /actions and /vm) and turns the action's result into a status.
 */
#include "api/api.h"

#include "util/log.h"
#include "config/config.h"
#include "vmm/serial.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	M_GET = 1,
	M_PUT = 2,
	M_PATCH = 4,
};

struct req;
typedef void (*route_fn)(struct req *r);

struct route {
	const char *path; /* for routes with an id: the part before "/{id}" */
	bool with_id;
	const char *id_key;	  /* the body key that must equal the path's id */
	route_fn get, put, patch; /* NULL: no such method */
	bool body_optional;	  /* PUT/PATCH without a body is fine (the swagger's) */
};

struct req {
	struct controller *ctl;
	const struct route *rt;
	unsigned int method;
	const char *method_name;
	const char *path;
	const char *id; /* the {id} segment of the path, for routes that have one */
	const char *body;
	size_t body_len;
	struct http_response *resp;
};

/* An error answer: @status with {"fault_message": @msg}, logged as the API server. */
static void answer_fault(struct req *r, int status, const char *msg)
{
	const char *prev = log_set_thread_name("fc_api");

	log_info("API: %s %s: %d: %s", r->method_name, r->path, status, msg);
	log_set_thread_name(prev);
	r->resp->status = status;
	r->resp->body = http_fault_json("%s", msg);
}

/* A request the router refuses itself (its route, id or body shape): 400. */
__attribute__((format(printf, 2, 3))) static void fault(struct req *r, const char *fmt, ...)
{
	char msg[CTRL_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer_fault(r, 400, msg);
}

/* The action's result: 204, 200 with @json, or its error's status and message. */
static void reply(struct req *r, int ret, const struct ctrl_error *e, char *json)
{
	if (ret) {
		free(json);
		answer_fault(r, e->fault == CTRL_FAULT_INTERNAL ? 500 : 400, e->msg);
		return;
	}
	r->resp->status = json ? 200 : 204;
	r->resp->body = json;
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

/* Where the swagger file has an id in both the path and the body, they must agree. */
static bool check_body_id(struct req *r)
{
	char err[CONFIG_ERR_MAX];

	if (!r->body)
		return true;
	if (config_check_body_id(r->body, r->body_len, r->rt->path, r->rt->id_key, r->id, err)) {
		fault(r, "%s", err);
		return false;
	}
	return true;
}

/* --- the actions, by the shape of their call --- */

static void get(struct req *r, int (*fn)(struct controller *, char **, struct ctrl_error *))
{
	struct ctrl_error e;
	char *json = NULL;
	int ret = fn(r->ctl, &json, &e);

	reply(r, ret, &e, json);
}

static void act(struct req *r, int (*fn)(struct controller *, struct ctrl_error *))
{
	struct ctrl_error e;

	reply(r, fn(r->ctl, &e), &e, NULL);
}

static void with_body(struct req *r,
		      int (*fn)(struct controller *, const char *, size_t, struct ctrl_error *))
{
	struct ctrl_error e;

	reply(r, fn(r->ctl, r->body, r->body_len, &e), &e, NULL);
}

static void configure(struct req *r, enum config_section section, bool patch)
{
	struct ctrl_error e;

	reply(r, ctrl_configure(r->ctl, section, r->body, r->body_len, patch, &e), &e, NULL);
}

/* --- endpoints --- */

static void get_instance_info(struct req *r)
{
	get(r, ctrl_get_instance_info);
}

static void get_version(struct req *r)
{
	get(r, ctrl_get_version);
}

static void put_actions(struct req *r)
{
	static const char *const actions[] = {"FlushMetrics", "InstanceStart", "SendCtrlAltDel",
					      NULL};
	static int (*const fns[])(struct controller *, struct ctrl_error *) = {
	    ctrl_flush_metrics, ctrl_instance_start, ctrl_send_ctrl_alt_del};
	int i = enum_body(r, "actions", "action_type", actions);

	if (i >= 0)
		act(r, fns[i]);
}

static void put_boot_source(struct req *r)
{
	configure(r, CONFIG_BOOT_SOURCE, false);
}

static void get_machine_config(struct req *r)
{
	get(r, ctrl_get_machine_config);
}

static void put_machine_config(struct req *r)
{
	configure(r, CONFIG_MACHINE, false);
}

static void patch_machine_config(struct req *r)
{
	configure(r, CONFIG_MACHINE, true);
}

static void put_logger(struct req *r)
{
	with_body(r, ctrl_update_logger);
}

static void get_vm_config(struct req *r)
{
	get(r, ctrl_get_vm_config);
}

static void patch_vm(struct req *r)
{
	static const char *const states[] = {"Paused", "Resumed", NULL};
	int i = enum_body(r, "vm", "state", states);

	if (i >= 0)
		act(r, i == 0 ? ctrl_pause : ctrl_resume);
}

static void put_entropy(struct req *r)
{
	configure(r, CONFIG_ENTROPY, false);
}

/* PUT /drives/{id} before boot: adds the drive, or replaces the one with its id. */
static void put_drive(struct req *r)
{
	if (check_body_id(r))
		configure(r, CONFIG_DRIVE, false);
}

static void patch_drive(struct req *r)
{
	if (check_body_id(r))
		with_body(r, ctrl_patch_drive);
}

/* PUT /network-interfaces/{id} before boot; PATCH (rate limiters) after. */
static void put_net(struct req *r)
{
	if (check_body_id(r))
		configure(r, CONFIG_NET, false);
}

static void patch_net(struct req *r)
{
	if (check_body_id(r))
		with_body(r, ctrl_patch_net);
}

static void put_vsock(struct req *r)
{
	configure(r, CONFIG_VSOCK, false);
}

static void get_balloon(struct req *r)
{
	get(r, ctrl_get_balloon);
}

static void put_balloon(struct req *r)
{
	configure(r, CONFIG_BALLOON, false);
}

static void patch_balloon(struct req *r)
{
	with_body(r, ctrl_patch_balloon);
}

static void get_balloon_stats(struct req *r)
{
	get(r, ctrl_get_balloon_stats);
}

static void patch_balloon_stats(struct req *r)
{
	with_body(r, ctrl_patch_balloon_stats);
}

/* PUT /pmem/{id} before boot (added, or replacing the one with its id); PATCH after. */
static void put_pmem(struct req *r)
{
	if (check_body_id(r))
		configure(r, CONFIG_PMEM, false);
}

static void patch_pmem(struct req *r)
{
	if (check_body_id(r))
		with_body(r, ctrl_patch_pmem);
}

/* /hotplug/memory: PUT before boot; PATCH (requested size) after; GET any time once configured. */
static void put_memory_hotplug(struct req *r)
{
	configure(r, CONFIG_MEMORY_HOTPLUG, false);
}

static void patch_memory_hotplug(struct req *r)
{
	with_body(r, ctrl_patch_memory_hotplug);
}

static void get_memory_hotplug(struct req *r)
{
	get(r, ctrl_get_memory_hotplug);
}

/* Free page hinting, after boot: start (BalloonStartCmd, optional), stop, status. */
static void patch_hint_start(struct req *r)
{
	with_body(r, ctrl_hint_start);
}

static void patch_hint_stop(struct req *r)
{
	act(r, ctrl_hint_stop);
}

static void get_hint_status(struct req *r)
{
	get(r, ctrl_hint_status);
}

/* Pre-boot, once: the metrics file or pipe opens now and a line goes out every 60 s. */
static void put_metrics(struct req *r)
{
	with_body(r, ctrl_put_metrics);
}

/* Snapshots: of the paused VM; loaded into a fresh process (Firecracker's rules, actions.c). */
static void put_snapshot_create(struct req *r)
{
	with_body(r, ctrl_snapshot_create);
}

static void put_snapshot_load(struct req *r)
{
	with_body(r, ctrl_snapshot_load);
}

/* Pre-boot: a custom CPU template (config/cpu_config.c); the serial console's output. */
static void put_cpu_config(struct req *r)
{
	configure(r, CONFIG_CPU_CONFIG, false);
}

static void put_serial(struct req *r)
{
	with_body(r, ctrl_put_serial);
}

/* MMDS: the data store any time, its configuration before boot. */
static void get_mmds(struct req *r)
{
	get(r, ctrl_get_mmds);
}

static void put_mmds(struct req *r)
{
	with_body(r, ctrl_put_mmds);
}

static void patch_mmds(struct req *r)
{
	with_body(r, ctrl_patch_mmds);
}

static void put_mmds_config(struct req *r)
{
	configure(r, CONFIG_MMDS, false);
}

static const struct route routes[] = {
    {"/", .get = get_instance_info},
    {"/version", .get = get_version},
    {"/actions", .put = put_actions},
    {"/boot-source", .put = put_boot_source},
    {"/machine-config", .get = get_machine_config, .put = put_machine_config,
     .patch = patch_machine_config},
    {"/logger", .put = put_logger},
    {"/vm/config", .get = get_vm_config},
    {"/vm", .patch = patch_vm},
    {"/entropy", .put = put_entropy},
    {"/drives", true, "drive_id", .put = put_drive, .patch = patch_drive},
    {"/network-interfaces", true, "iface_id", .put = put_net, .patch = patch_net},
    {"/vsock", .put = put_vsock},
    {"/balloon", .get = get_balloon, .put = put_balloon, .patch = patch_balloon},
    {"/balloon/statistics", .get = get_balloon_stats, .patch = patch_balloon_stats},
    {"/metrics", .put = put_metrics},
    {"/snapshot/create", .put = put_snapshot_create},
    {"/snapshot/load", .put = put_snapshot_load},
    {"/cpu-config", .put = put_cpu_config},
    {"/serial", .put = put_serial},
    {"/mmds", .get = get_mmds, .put = put_mmds, .patch = patch_mmds},
    {"/mmds/config", .put = put_mmds_config},
    {"/balloon/hinting/start", .patch = patch_hint_start, .body_optional = true},
    {"/balloon/hinting/status", .get = get_hint_status},
    {"/balloon/hinting/stop", .patch = patch_hint_stop, .body_optional = true},
    {"/pmem", true, "id", .put = put_pmem, .patch = patch_pmem},
    {"/hotplug/memory", .get = get_memory_hotplug, .put = put_memory_hotplug,
     .patch = patch_memory_hotplug},
};

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

static route_fn handler_of(const struct route *rt, unsigned int method)
{
	switch (method) {
	case M_GET:
		return rt->get;
	case M_PUT:
		return rt->put;
	case M_PATCH:
		return rt->patch;
	default:
		return NULL;
	}
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
static bool check_id(struct req *r)
{
	char err[CONFIG_ERR_MAX];

	if (config_check_path_id(r->rt->path, r->rt->id_key, r->id, err)) {
		fault(r, "%s", err);
		return false;
	}
	return true;
}

static void api_route(struct controller *ctl, const struct http_request *hreq,
		      struct http_response *resp)
{
	char path[HTTP_MAX_TARGET + 1];
	route_fn fn;
	struct req r = {
	    .ctl = ctl,
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

	r.rt = find_route(path, &r.id);
	fn = r.rt ? handler_of(r.rt, r.method) : NULL;
	if (!fn) {
		fault(&r, "Invalid request method and/or path: %s %s.", r.method_name, path);
		return;
	}
	if (r.rt->with_id && !check_id(&r))
		return;
	if (r.method == M_GET && r.body) {
		fault(&r, "GET request cannot have a body.");
		return;
	}
	if (r.method != M_GET && !r.body && !r.rt->body_optional) {
		fault(&r, "Empty %s request.", r.method_name);
		return;
	}
	fn(&r);
}

void api_handle(struct controller *ctl, const struct http_request *hreq, struct http_response *resp)
{
	api_route(ctl, hreq, resp);
	/* Counted for the api_server metrics group. */
	ctrl_count_request(ctl, resp->status >= 400);
}

void api_http_handler(void *opaque, const struct http_request *req, struct http_response *resp)
{
	/* The actions are the VMM's: their lines say "main", as Firecracker's VMM thread's do. */
	const char *prev = log_set_thread_name(NULL);

	api_handle(opaque, req, resp);
	log_set_thread_name(prev);
}
