// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target over the REST API: the router and the HTTP connection core,
 * against a controller whose VM is a fake (no KVM, no files: set_log_path and
 * start only record). Each input gets a fresh controller.
 *
 * Input: the first byte picks the mode.
 *   bit 0 clear: the rest is raw bytes on one HTTP connection (parsing,
 *                pipelining, limits, then the router for each request);
 *   bit 0 set:   one routed request: byte 1 picks the method, then the path up
 *                to the first '\n', then the body (any bytes);
 *   bit 1 set:   the VM is started first (the after-boot rules).
 * Every answer must keep the API's shape, or the target aborts; so must a CPU
 * template that was accepted survive GET /vm/config and being parsed back.
 */
#include "api/api.h"
#include "api/http_conn.h"
#include "config/config.h"
#include "vmm/controller.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_start(struct controller *ctl, char err[VMM_ERR_MAX])
{
	/* A kernel path starting with "/fail" fails to build, like a missing file. */
	if (!strncmp(ctl->cfg.boot.kernel_image_path, "/fail", 5)) {
		snprintf(err, VMM_ERR_MAX, "kernel: %s: No such file or directory",
			 ctl->cfg.boot.kernel_image_path);
		return -2;
	}
	return 0;
}

static int fake_stop(struct controller *ctl)
{
	(void)ctl;
	return 0;
}

static void fake_request_exit(struct controller *ctl, int code)
{
	(void)ctl;
	(void)code;
}

static int fake_ok(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	return 0;
}

static int fake_set_log_path(struct controller *ctl, const char *path, char err[VMM_ERR_MAX])
{
	(void)ctl;
	if (!strncmp(path, "/fail", 5)) {
		snprintf(err, VMM_ERR_MAX, "log path %s: Permission denied", path);
		return -13;
	}
	return 0;
}

/* The devices' runtime operations: an odd value is refused, as a device may. */
static int fake_dev(uint64_t v, char err[VMM_ERR_MAX])
{
	if (v & 1) {
		snprintf(err, VMM_ERR_MAX, "the device refused %llu", (unsigned long long)v);
		return -22;
	}
	return 0;
}

static int fake_balloon_target(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(mib, err);
}

static int fake_balloon_stats(struct controller *ctl, struct balloon_stats *out,
			      char err[VMM_ERR_MAX])
{
	out->target_mib = ctl->cfg.balloon.amount_mib;
	out->target_pages = out->target_mib * 256;
	out->present = 0xffff;
	for (unsigned int i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		out->val[i] = i;
	return fake_dev(ctl->cfg.balloon.stats_polling_interval_s, err);
}

static int fake_drive_update(struct controller *ctl, const char *id, const char *path,
			     const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)id;
	return fake_dev((path ? strlen(path) : 0) + (rl ? rl->has_ops : 0), err);
}

static int fake_net_update(struct controller *ctl, const char *id,
			   const struct rate_limiter_config *rx,
			   const struct rate_limiter_config *tx, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(strlen(id) + rx->has_ops + tx->has_ops, err);
}

static int fake_pmem_update(struct controller *ctl, const char *id,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(strlen(id) + rl->has_ops, err);
}

static int fake_hotplug_request(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(mib, err);
}

static int fake_hotplug_sizes(struct controller *ctl, uint64_t *plugged, uint64_t *requested,
			      char err[VMM_ERR_MAX])
{
	*plugged = *requested = ctl->cfg.memory_hotplug.total_size_mib;
	return fake_dev(0, err);
}

static int fake_hint_start(struct controller *ctl, bool ack, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(!ack * 2, err);
}

static int fake_hint_stop(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return fake_dev(0, err);
}

static int fake_hint_status(struct controller *ctl, uint32_t *host, uint32_t *guest,
			    bool *has_guest, char err[VMM_ERR_MAX])
{
	*host = ctl->cfg.balloon.amount_mib;
	*guest = 0;
	*has_guest = ctl->cfg.balloon.deflate_on_oom;
	return fake_dev(0, err);
}

static const struct vm_backend_ops fake_ops = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_ok,
    .resume = fake_ok,
    .ctrl_alt_del = fake_ok,
    .set_log_path = fake_set_log_path,
    .balloon_set_target = fake_balloon_target,
    .balloon_set_stats_interval = fake_balloon_target,
    .balloon_stats = fake_balloon_stats,
    .drive_update = fake_drive_update,
    .net_update = fake_net_update,
    .balloon_hint_start = fake_hint_start,
    .balloon_hint_stop = fake_hint_stop,
    .balloon_hint_status = fake_hint_status,
    .pmem_update = fake_pmem_update,
    .memory_hotplug_request = fake_hotplug_request,
    .memory_hotplug_sizes = fake_hotplug_sizes,
};

/* The API's promise: 204 without a body, 200 with JSON, 400 with {"fault_message": text}. */
static void check_answer(const struct http_response *r)
{
	json_t *j;

	if (r->status == 204) {
		if (r->body)
			abort();
		return;
	}
	if (r->status != 200 && r->status != 400)
		abort();
	if (!r->body)
		abort();
	j = json_loads(r->body, 0, NULL);
	if (!j)
		abort();
	if (r->status == 400 &&
	    (json_object_size(j) != 1 || !json_is_string(json_object_get(j, "fault_message"))))
		abort();
	json_decref(j);
}

static bool same_template(const struct cpu_template *a, const struct cpu_template *b)
{
	if (a->nr_cpuid != b->nr_cpuid || a->nr_msrs != b->nr_msrs || a->nr_caps != b->nr_caps)
		return false;
	for (unsigned int i = 0; i < a->nr_cpuid; i++) {
		const struct cpuid_leaf_mod *x = &a->cpuid[i], *y = &b->cpuid[i];

		if (x->leaf != y->leaf || x->subleaf != y->subleaf || x->flags != y->flags ||
		    x->regs != y->regs || memcmp(x->filter, y->filter, sizeof(x->filter)) ||
		    memcmp(x->value, y->value, sizeof(x->value)))
			return false;
	}
	for (unsigned int i = 0; i < a->nr_msrs; i++)
		if (a->msrs[i].addr != b->msrs[i].addr || a->msrs[i].filter != b->msrs[i].filter ||
		    a->msrs[i].value != b->msrs[i].value)
			return false;
	for (unsigned int i = 0; i < a->nr_caps; i++)
		if (a->caps[i].cap != b->caps[i].cap || a->caps[i].remove != b->caps[i].remove)
			return false;
	return true;
}

/* The configuration GET /vm/config writes reads back to the same CPU template. */
static void check_cpu_round_trip(const struct vm_config *cfg)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config back;
	char *json;

	if (!cfg->cpu.present)
		return;
	json = config_to_json(cfg);
	if (!json)
		return; /* out of memory */
	config_init(&back);
	if (config_parse_string(&back, json, err) || !back.cpu.present ||
	    !same_template(back.cpu.tmpl, cfg->cpu.tmpl))
		abort();
	config_free(&back);
	free(json);
}

static void checked_handler(void *opaque, const struct http_request *req,
			    struct http_response *resp)
{
	api_handle(opaque, req, resp);
	check_answer(resp);
}

static void boot(struct controller *ctl)
{
	static const char bs[] = "{\"kernel_image_path\": \"/k\"}";
	static const char start[] = "{\"action_type\": \"InstanceStart\"}";
	struct http_request a = {"PUT", "/boot-source", bs, sizeof(bs) - 1};
	struct http_request b = {"PUT", "/actions", start, sizeof(start) - 1};
	struct http_response r;

	api_handle(ctl, &a, &r);
	free(r.body);
	api_handle(ctl, &b, &r);
	free(r.body);
	if (ctl->state != CTRL_RUNNING)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE", "POST", "HEAD"};
	static struct logger lg = {.level = LOG_OFF};
	struct controller ctl;
	uint8_t mode;

	if (!size)
		return 0;
	log_set(&lg);
	lg.level = LOG_OFF;
	mode = data[0];
	data++;
	size--;
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	if (mode & 2)
		boot(&ctl);

	if (!(mode & 1)) {
		struct http_service svc;
		struct http_conn *c;
		size_t len, half = size / 2;
		const char *out;

		http_service_init(&svc, 512, checked_handler, &ctl);
		c = http_conn_new(&svc, 1);
		if (c) {
			/* In two pieces: requests split across reads. */
			http_conn_input(c, (const char *)data, half);
			http_conn_input(c, (const char *)data + half, size - half);
			out = http_conn_output(c, &len);
			if (len && (len < 9 || memcmp(out, "HTTP/1.1 ", 9)))
				abort();
			http_conn_free(c);
		}
	} else if (size) {
		const char *method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
		const uint8_t *nl;
		char path[HTTP_MAX_TARGET + 1];
		size_t plen;
		struct http_request req;
		struct http_response resp;

		data++;
		size--;
		nl = memchr(data, '\n', size);
		plen = nl ? (size_t)(nl - data) : size;
		if (plen > HTTP_MAX_TARGET)
			plen = HTTP_MAX_TARGET;
		memcpy(path, data, plen);
		path[plen] = '\0';
		req.method = method;
		req.path = path;
		req.body = nl ? (const char *)nl + 1 : NULL;
		req.body_len = nl ? size - plen - 1 : 0;
		api_handle(&ctl, &req, &resp);
		check_answer(&resp);
		free(resp.body);
	}
	check_cpu_round_trip(&ctl.cfg);
	ctrl_destroy(&ctl);
	return 0;
}
