// SPDX-License-Identifier: Apache-2.0
/*
 * The API router without sockets: request (method, path, body) -> status and
 * body, for every endpoint, against a controller whose VM is a fake (struct
 * vm_backend_ops), so the "after boot" rules run without KVM. Every answer is also
 * checked for its shape: 204 without a body, 200 with JSON, errors with
 * exactly {"fault_message": "..."}.
 */
#include "api/api.h"
#include "test.h"
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct fake_vm {
	int starts, stops, pauses, resumes, cads, exits;
	int start_ret; /* what start returns (0: the VM runs) */
	int log_ret;   /* what set_log_path returns */
	char log_path[256];
	unsigned int started_vcpus;
	/* The devices' runtime operations: what they were asked, what they answer. */
	int dev_ret; /* what the device ops return (0: done) */
	int balloon_targets, balloon_intervals, balloon_stats_calls;
	uint32_t balloon_target, balloon_interval;
	int drive_updates, net_updates;
	char drive_id[64], drive_path[256];
	bool drive_rl_given;
	struct rate_limiter_config drive_rl, net_rx, net_tx;
	int snapshot_creates, snapshot_loads;
	int pmem_updates, hotplug_requests;
	int hint_starts, hint_stops;
	bool hint_ack;
	struct rate_limiter_config pmem_rl;
	uint32_t hotplug_requested;
	struct snapshot_load_params load; /* the last load's parameters (paths not kept) */
};

static struct fake_vm fake;

static int fake_start(struct controller *ctl, char err[VMM_ERR_MAX])
{
	fake.starts++;
	if (fake.start_ret) {
		snprintf(err, VMM_ERR_MAX, "kernel: /no/vmlinux: No such file or directory");
		ctl->start_bad_input = true;
		return fake.start_ret;
	}
	fake.started_vcpus = ctl->cfg.machine.vcpu_count;
	return 0;
}

static int fake_stop(struct controller *ctl)
{
	(void)ctl;
	fake.stops++;
	return 0;
}

static void fake_request_exit(struct controller *ctl, int code)
{
	(void)ctl;
	(void)code;
	fake.exits++;
}

static int fake_pause(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	fake.pauses++;
	return 0;
}

static int fake_resume(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	fake.resumes++;
	return 0;
}

static int fake_cad(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	fake.cads++;
	return 0;
}

static int fake_set_log_path(struct controller *ctl, const char *path, char err[VMM_ERR_MAX])
{
	(void)ctl;
	if (fake.log_ret) {
		snprintf(err, VMM_ERR_MAX, "log path %s: Permission denied", path);
		return fake.log_ret;
	}
	snprintf(fake.log_path, sizeof(fake.log_path), "%s", path);
	return 0;
}

static int fake_dev_result(char err[VMM_ERR_MAX], const char *what)
{
	if (fake.dev_ret)
		snprintf(err, VMM_ERR_MAX, "%s: the device refused", what);
	return fake.dev_ret;
}

static int fake_balloon_set_target(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.balloon_targets++;
	fake.balloon_target = mib;
	return fake_dev_result(err, "balloon.amount_mib");
}

static int fake_balloon_set_interval(struct controller *ctl, uint32_t s, char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.balloon_intervals++;
	fake.balloon_interval = s;
	return fake_dev_result(err, "balloon.stats_polling_interval_s");
}

static int fake_balloon_stats(struct controller *ctl, struct balloon_stats *out,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.balloon_stats_calls++;
	out->target_pages = 1024;
	out->target_mib = 4;
	out->actual_pages = 512;
	out->actual_mib = 2;
	out->present = 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_SWAP_IN;
	out->val[VIRTIO_BALLOON_S_MEMFREE] = 123456;
	out->val[VIRTIO_BALLOON_S_SWAP_IN] = 7;
	out->val[VIRTIO_BALLOON_S_MEMTOT] = 999; /* not present: not shown */
	return fake_dev_result(err, "balloon statistics");
}

static int fake_drive_update(struct controller *ctl, const char *id, const char *path,
			     const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.drive_updates++;
	snprintf(fake.drive_id, sizeof(fake.drive_id), "%s", id);
	snprintf(fake.drive_path, sizeof(fake.drive_path), "%s", path ? path : "");
	fake.drive_rl_given = rl != NULL;
	if (rl)
		fake.drive_rl = *rl;
	return fake_dev_result(err, "drive");
}

static int fake_net_update(struct controller *ctl, const char *id,
			   const struct rate_limiter_config *rx,
			   const struct rate_limiter_config *tx, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)id;
	fake.net_updates++;
	fake.net_rx = *rx;
	fake.net_tx = *tx;
	return fake_dev_result(err, "network interface");
}

static int fake_snapshot_create(struct controller *ctl, const struct snapshot_create_params *p,
				char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)p;
	fake.snapshot_creates++;
	return fake_dev_result(err, "snapshot");
}

static int fake_snapshot_load(struct controller *ctl, const struct snapshot_load_params *p,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.snapshot_loads++;
	fake.load = *p;
	fake.load.snapshot_path = fake.load.mem_path = NULL;
	fake.load.net_overrides = NULL;
	fake.load.vsock_uds_path = NULL;
	return fake_dev_result(err, "snapshot_path /s: checksum mismatch: the file is corrupt");
}

static int fake_hint_start(struct controller *ctl, bool ack, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	fake.hint_starts++;
	fake.hint_ack = ack;
	return 0;
}

static int fake_hint_stop(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	fake.hint_stops++;
	return 0;
}

static int fake_hint_status(struct controller *ctl, uint32_t *host, uint32_t *guest,
			    bool *has_guest, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	*host = fake.hint_stops ? 1 : 1 + (uint32_t)fake.hint_starts;
	*guest = 0;
	*has_guest = fake.hint_starts > 1;
	return 0;
}

static int fake_pmem_update(struct controller *ctl, const char *id,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.pmem_updates++;
	fake.pmem_rl = *rl;
	if (fake.dev_ret)
		snprintf(err, VMM_ERR_MAX, "pmem %s: refused", id);
	return fake.dev_ret;
}

static int fake_hotplug_request(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	fake.hotplug_requests++;
	if (mib % 2) {
		snprintf(err, VMM_ERR_MAX, "memory-hotplug.requested_size_mib: %u is odd", mib);
		return -EINVAL;
	}
	fake.hotplug_requested = mib;
	return 0;
}

static int fake_hotplug_sizes(struct controller *ctl, uint64_t *plugged, uint64_t *requested,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)err;
	*plugged = fake.hotplug_requested / 2;
	*requested = fake.hotplug_requested;
	return 0;
}

static const struct vm_backend_ops fake_ops = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_cad,
    .set_log_path = fake_set_log_path,
    .balloon_set_target = fake_balloon_set_target,
    .balloon_set_stats_interval = fake_balloon_set_interval,
    .balloon_stats = fake_balloon_stats,
    .drive_update = fake_drive_update,
    .net_update = fake_net_update,
    .balloon_hint_start = fake_hint_start,
    .balloon_hint_stop = fake_hint_stop,
    .balloon_hint_status = fake_hint_status,
    .pmem_update = fake_pmem_update,
    .memory_hotplug_request = fake_hotplug_request,
    .memory_hotplug_sizes = fake_hotplug_sizes,
    .snapshot_create = fake_snapshot_create,
    .snapshot_load = fake_snapshot_load,
};

/* A VM without the after-boot device operations. */
static const struct vm_backend_ops fake_ops_no_devices = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_cad,
    .set_log_path = fake_set_log_path,
};

static struct controller ctl;
static struct logger lg;
static char body[8192];	   /* the last answer's body ("" for none) */
static char message[1024]; /* ... its fault_message, if an error */

static void setup(void)
{
	static bool initialized;
	static int devnull = -1;

	if (initialized)
		ctrl_destroy(&ctl); /* the previous case's */
	if (devnull < 0)
		devnull = open("/dev/null", O_WRONLY | O_CLOEXEC); /* >= 3: 0 means stderr */
	memset(&fake, 0, sizeof(fake));
	/* Log lines (the cases turn levels up) must not mix with PASS/FAIL lines. */
	lg = (struct logger){.fd = devnull, .level = LOG_OFF};
	log_set(&lg);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	initialized = true;
}

/* Sends one request; returns the status after checking the answer's shape. */
static int call(const char *method, const char *path, const char *req_body)
{
	struct http_request req = {method, path, req_body, req_body ? strlen(req_body) : 0};
	struct http_response resp;
	int status;

	api_handle(&ctl, &req, &resp);
	status = resp.status;
	snprintf(body, sizeof(body), "%s", resp.body ? resp.body : "");
	free(resp.body);
	message[0] = '\0';
	if (status == 204) {
		if (body[0])
			FAIL_AT("%s %s: 204 with a body: %s", method, path, body);
	} else if (status == 200) {
		json_t *j = json_loads(body, 0, NULL);

		if (!j)
			FAIL_AT("%s %s: 200 without JSON: %s", method, path, body);
		json_decref(j);
	} else {
		json_t *j = json_loads(body, 0, NULL);
		json_t *m = j ? json_object_get(j, "fault_message") : NULL;

		if (!m || !json_is_string(m) || json_object_size(j) != 1)
			FAIL_AT("%s %s: %d without a lone fault_message: %s", method, path, status,
				body);
		snprintf(message, sizeof(message), "%s", json_string_value(m));
		if (!message[0])
			FAIL_AT("%s %s: empty fault_message", method, path);
		json_decref(j);
	}
	return status;
}

/* Sends one request and checks its status and that @text is in its body or fault_message. */
static void expect(const char *file, int line, const char *method, const char *path,
		   const char *req_body, int want_status, const char *text)
{
	int status = call(method, path, req_body);
	const char *got = status >= 400 ? message : body;

	if (status != want_status)
		test_fail(file, line, "%s %s: status %d, expected %d: %s", method, path, status,
			  want_status, body);
	if (text && !strstr(got, text))
		test_fail(file, line, "%s %s: \"%s\" does not contain \"%s\"", method, path, got,
			  text);
}

#define EXPECT(method, path, req_body, status, text) \
	expect(__FILE__, __LINE__, method, path, req_body, status, text)
#define OK204(method, path, req_body)	  EXPECT(method, path, req_body, 204, NULL)
#define BAD(method, path, req_body, text) EXPECT(method, path, req_body, 400, text)

static const char *const after_boot =
    "The requested operation is not supported after starting the microVM.";
static const char *const before_boot =
    "The requested operation is not supported before starting the microVM.";

/* A configured VM started through the API (the fake VM "runs"). */
static void boot(void)
{
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}");
	OK204("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	CHECK_EQ(ctl.state, CTRL_RUNNING);
}

TEST(instance_info_and_version)
{
	setup();
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Not started\"");
	CHECK_CONTAINS(body, "\"id\":\"anonymous-instance\"");
	CHECK_CONTAINS(body, "\"vmm_version\":\"" FIRECRACKER_VERSION "\"");
	CHECK_CONTAINS(body, "\"app_name\":\"" EMBER_APP_NAME "\"");
	snprintf(lg.id, sizeof(lg.id), "vm-7");
	EXPECT("GET", "/", NULL, 200, "\"id\":\"vm-7\"");
	EXPECT("GET", "/version", NULL, 200,
	       "{\"firecracker_version\":\"" FIRECRACKER_VERSION "\"}");
	boot();
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Running\"");
}

TEST(unknown_paths_and_methods)
{
	setup();
	BAD("GET", "/nope", NULL, "Invalid request method and/or path: GET /nope.");
	BAD("GET", "/actions", NULL, "Invalid request method and/or path: GET /actions.");
	BAD("DELETE", "/", NULL, "Invalid request method and/or path: DELETE /.");
	BAD("POST", "/actions", "{}", "Invalid request method and/or path: POST /actions.");
	BAD("PUT", "/", "{}", "Invalid request method and/or path: PUT /.");
	BAD("PATCH", "/logger", "{}", "Invalid request method and/or path");
	BAD("GET", "/vm", NULL, "Invalid request method and/or path: GET /vm.");
	BAD("GET", "/machine-config/extra", NULL, "Invalid request method and/or path");
	BAD("GET", "", NULL, "Invalid request method and/or path");
	/* One trailing slash is the same path. */
	EXPECT("GET", "/machine-config/", NULL, 200, "\"vcpu_count\":1");
}

TEST(body_rules)
{
	setup();
	BAD("GET", "/", "{}", "GET request cannot have a body.");
	BAD("PUT", "/boot-source", NULL, "Empty PUT request.");
	BAD("PATCH", "/machine-config", NULL, "Empty PATCH request.");
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": ", "boot-source: invalid JSON");
	BAD("PUT", "/boot-source", "[]", "boot-source: expected an object, got an array");
	BAD("PUT", "/actions", "\"InstanceStart\"", "actions: expected an object, got a string");
	BAD("PUT", "/actions", "{\"action_type\": \"InstanceStart\", \"action_type\": \"x\"}",
	    "duplicate");
}

TEST(boot_source)
{
	setup();
	OK204("PUT", "/boot-source",
	      "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", \"boot_args\": \"a=b\"}");
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k");
	CHECK_STR(ctl.cfg.boot.initrd_path, "/i");
	CHECK_STR(ctl.cfg.boot.boot_args, "a=b");
	/* A PUT replaces the whole boot source: absent keys are gone. */
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k2\"}");
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k2");
	CHECK(ctl.cfg.boot.initrd_path == NULL);
	CHECK(ctl.cfg.boot.boot_args == NULL);
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": 7}",
	    "boot-source.kernel_image_path: expected a string, got an integer 7");
	BAD("PUT", "/boot-source", "{\"initrd_path\": \"/i\"}",
	    "boot-source: missing required key \"kernel_image_path\"");
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"kernel\": \"/x\"}",
	    "boot-source: unknown key \"kernel\"");
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"\"}", "the path is empty");
	/* A refused body changes nothing. */
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k2");
	boot();
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"/k3\"}", after_boot);
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k");
}

TEST(machine_config)
{
	setup();
	EXPECT("GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,\"track_dirty_pages\":false,"
	       "\"huge_pages\":\"None\"}");
	OK204("PUT", "/machine-config",
	      "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true, \"track_dirty_pages\": "
	      "true, \"huge_pages\": \"Transparent\", \"cpu_template\": \"None\"}");
	EXPECT("GET", "/machine-config", NULL, 200,
	       "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":true,\"track_dirty_pages\":true,"
	       "\"huge_pages\":\"Transparent\"}");
	/* PUT: absent optional keys go back to their defaults. */
	OK204("PUT", "/machine-config", "{\"vcpu_count\": 4, \"mem_size_mib\": 64}");
	CHECK(!ctl.cfg.machine.smt);
	CHECK(!ctl.cfg.machine.track_dirty_pages);
	CHECK_EQ(ctl.cfg.machine.huge_pages, HUGE_PAGES_NONE);
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 2}",
	    "machine-config: missing required key \"mem_size_mib\"");
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 64}",
	    "machine-config.vcpu_count: 33 is out of range (1 to 32)");
	BAD("PUT", "/machine-config", "{\"vcpu_count\": \"2\", \"mem_size_mib\": 64}",
	    "machine-config.vcpu_count: expected an integer, got a string \"2\"");
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 0}",
	    "machine-config.mem_size_mib: 0 is out of range");
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"turbo\": 1}",
	    "machine-config: unknown key \"turbo\"");
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true}",
	    "machine-config.vcpu_count: 3 is odd");
	BAD("PUT", "/machine-config",
	    "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"cpu_template\": \"V1N1\"}",
	    "cpu_template: \"V1N1\" is for aarch64");
	BAD("PUT", "/machine-config",
	    "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"huge_pages\": \"1G\"}",
	    "huge_pages: \"1G\" is not one of \"None\", \"Transparent\", \"2M\"");
	/* All or nothing: nothing above changed the configuration. */
	CHECK_EQ(ctl.cfg.machine.vcpu_count, 4);
	CHECK_EQ(ctl.cfg.machine.mem_size_mib, 64);

	/* PATCH: only the keys given, none required. */
	OK204("PATCH", "/machine-config", "{\"mem_size_mib\": 512}");
	CHECK_EQ(ctl.cfg.machine.vcpu_count, 4);
	CHECK_EQ(ctl.cfg.machine.mem_size_mib, 512);
	OK204("PATCH", "/machine-config", "{\"smt\": true}");
	CHECK(ctl.cfg.machine.smt);
	BAD("PATCH", "/machine-config", "{\"vcpu_count\": 5}", "vcpu_count: 5 is odd");
	BAD("PATCH", "/machine-config", "{\"vcpu_count\": 2, \"bogus\": 1}",
	    "machine-config: unknown key \"bogus\"");
	BAD("PATCH", "/machine-config", "{\"track_dirty_pages\": \"yes\"}",
	    "machine-config.track_dirty_pages: expected a boolean, got a string \"yes\"");
	BAD("PATCH", "/machine-config", "{}", "machine-config: the PATCH body sets no key");
	CHECK_EQ(ctl.cfg.machine.vcpu_count, 4);
	CHECK(!ctl.cfg.machine.track_dirty_pages);

	boot();
	CHECK_EQ(fake.started_vcpus, 4);
	BAD("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 64}", after_boot);
	BAD("PATCH", "/machine-config", "{\"vcpu_count\": 2}", after_boot);
	EXPECT("GET", "/machine-config", NULL, 200, "\"vcpu_count\":4");
}

TEST(logger)
{
	setup();
	lg.level = LOG_INFO;
	OK204("PUT", "/logger", "{\"level\": \"debug\", \"show_level\": true}");
	CHECK_EQ(lg.level, LOG_DEBUG);
	CHECK(lg.show_level);
	CHECK(!lg.show_origin);
	/* Only the keys given change (Firecracker's logger). */
	OK204("PUT", "/logger", "{\"show_log_origin\": true}");
	CHECK_EQ(lg.level, LOG_DEBUG);
	CHECK(lg.show_level);
	CHECK(lg.show_origin);
	OK204("PUT", "/logger", "{\"log_path\": \"/tmp/ember.log\", \"level\": \"Warning\"}");
	CHECK_STR(fake.log_path, "/tmp/ember.log");
	CHECK_EQ(lg.level, LOG_WARN);
	CHECK_STR(ctl.cfg.logger.log_path, "/tmp/ember.log");
	CHECK(ctl.cfg.logger.present);
	BAD("PUT", "/logger", "{\"level\": \"Loud\"}", "logger.level: \"Loud\" is not one of");
	BAD("PUT", "/logger", "{\"colour\": true}", "logger: unknown key \"colour\"");
	BAD("PUT", "/logger", "{\"module\": \"api server\"}",
	    "logger.module: \"api server\" is not a module path");
	OK204("PUT", "/logger", "{\"module\": \"api_server\"}");
	CHECK_STR(ctl.cfg.logger.module, "api_server");
	CHECK_STR(lg.module[lg.module_slot], "api");
	OK204("PUT", "/logger", "{\"module\": \"\"}");
	CHECK_EQ(lg.module_slot, -1);
	BAD("PUT", "/logger", "{\"show_level\": 1}", "logger.show_level: expected a boolean");
	fake.log_ret = -EACCES;
	BAD("PUT", "/logger", "{\"log_path\": \"/root/x.log\", \"level\": \"Error\"}",
	    "log path /root/x.log: Permission denied");
	/* Nothing of a refused body is applied. */
	CHECK_EQ(lg.level, LOG_WARN);
	CHECK_STR(ctl.cfg.logger.log_path, "/tmp/ember.log");
	fake.log_ret = 0;
	lg.level = LOG_OFF;
	boot();
	/* The logger can be changed at any time. */
	OK204("PUT", "/logger", "{\"level\": \"Off\"}");
}

TEST(entropy)
{
	setup();
	OK204("PUT", "/entropy", "{}");
	CHECK(ctl.cfg.entropy.present);
	CHECK(!ctl.cfg.entropy.rate_limiter.has_bandwidth);
	OK204("PUT", "/entropy",
	      "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}");
	CHECK(ctl.cfg.entropy.rate_limiter.has_bandwidth);
	CHECK_EQ(ctl.cfg.entropy.rate_limiter.bandwidth.size, 1000);
	BAD("PUT", "/entropy", "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1000}}}",
	    "entropy.rate_limiter.bandwidth: missing required key \"refill_time\"");
	BAD("PUT", "/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
	    "entropy.rate_limiter.ops.size: -1 is out of range");
	BAD("PUT", "/entropy", "{\"rng\": 1}", "entropy: unknown key \"rng\"");
	CHECK(ctl.cfg.entropy.rate_limiter.has_bandwidth);
	boot();
	BAD("PUT", "/entropy", "{}", after_boot);
}

TEST(actions)
{
	setup();
	BAD("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	    "InstanceStart failed: boot-source: missing");
	CHECK_EQ(fake.starts, 0);
	BAD("PUT", "/actions", "{\"action_type\": \"Reboot\"}",
	    "actions.action_type: \"Reboot\" is not one of \"FlushMetrics\", \"InstanceStart\", "
	    "\"SendCtrlAltDel\"");
	BAD("PUT", "/actions", "{\"action_type\": 1}", "actions.action_type: 1 is not one of");
	BAD("PUT", "/actions", "{}", "actions: missing required key \"action_type\"");
	BAD("PUT", "/actions", "{\"action_type\": \"InstanceStart\", \"payload\": \"x\"}",
	    "actions: unknown key \"payload\"");
	BAD("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", "metrics not configured");
	BAD("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}", before_boot);
	CHECK_EQ(fake.cads, 0);

	/* The VM fails to build: 400 with vm_create's reason, still Not started. */
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/no/vmlinux\"}");
	fake.start_ret = -ENOENT;
	BAD("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}",
	    "InstanceStart failed: kernel: /no/vmlinux: No such file or directory");
	CHECK_EQ(ctl.state, CTRL_NOT_STARTED);
	/* ... and the configuration can be fixed and the start tried again. */
	fake.start_ret = 0;
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}");
	OK204("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	CHECK_EQ(fake.starts, 2);
	CHECK_EQ(ctl.state, CTRL_RUNNING);
	BAD("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}", after_boot);
	CHECK_EQ(fake.starts, 2);
	OK204("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}");
	CHECK_EQ(fake.cads, 1);
	BAD("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}", "metrics not configured");
}

TEST(pause_resume)
{
	setup();
	BAD("PATCH", "/vm", "{\"state\": \"Paused\"}", before_boot);
	boot();
	BAD("PATCH", "/vm", "{\"state\": \"Stopped\"}",
	    "vm.state: \"Stopped\" is not one of \"Paused\", \"Resumed\"");
	BAD("PATCH", "/vm", "{\"state\": \"Paused\", \"now\": true}", "vm: unknown key \"now\"");
	BAD("PATCH", "/vm", "{}", "vm: missing required key \"state\"");
	BAD("PUT", "/vm", "{\"state\": \"Paused\"}", "Invalid request method and/or path");
	OK204("PATCH", "/vm", "{\"state\": \"Paused\"}");
	CHECK_EQ(ctl.state, CTRL_PAUSED);
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Paused\"");
	OK204("PATCH", "/vm", "{\"state\": \"Paused\"}");
	CHECK_EQ(fake.pauses, 1); /* already paused: nothing more to do */
	OK204("PATCH", "/vm", "{\"state\": \"Resumed\"}");
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Running\"");
	OK204("PATCH", "/vm", "{\"state\": \"Resumed\"}");
	CHECK_EQ(fake.resumes, 1);
	CHECK_EQ(fake.pauses, 1);
}

/* Methods a path does not have: Firecracker's words, never 204. */
TEST(unknown_methods)
{
	setup();
	BAD("DELETE", "/drives/rootfs", NULL, "Invalid request method and/or path");
	BAD("GET", "/drives/rootfs", NULL, "Invalid request method and/or path");
}

/* The snapshot routes: each reaches its action with Firecracker's rules and messages. */
TEST(snapshots)
{
	static const char *const create = "{\"mem_file_path\": \"/m\", \"snapshot_path\": \"/s\"}";
	static const char *const load =
	    "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"File\", "
	    "\"backend_path\": \"/m\"}, \"track_dirty_pages\": true, \"clock_realtime\": true, "
	    "\"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap9\"}], "
	    "\"vsock_override\": {\"uds_path\": \"/v.sock\"}}";

	setup();
	BAD("PUT", "/snapshot/create", create, before_boot);
	BAD("GET", "/snapshot/create", NULL, "Invalid request method and/or path");
	BAD("PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}",
	    "either `mem_backend` or `mem_file_path` is required");
	BAD("PUT", "/snapshot/load",
	    "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"mem_backend\": "
	    "{\"backend_type\": \"File\", \"backend_path\": \"/m\"}}",
	    "either `mem_backend` or `mem_file_path` exclusively is required");
	BAD("PUT", "/snapshot/load",
	    "{\"snapshot_path\": \"/s\", \"mem_backend\": {\"backend_type\": \"Disk\", "
	    "\"backend_path\": \"/m\"}}",
	    "snapshot/load.mem_backend.backend_type: \"Disk\" is not one of \"File\", \"Uffd\"");
	BAD("PUT", "/snapshot/load",
	    "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"x\": 1}",
	    "snapshot/load: unknown key \"x\"");
	CHECK_EQ(fake.snapshot_loads, 0);
	fake.dev_ret = -EINVAL;
	BAD("PUT", "/snapshot/load", load,
	    "Load snapshot error: snapshot_path /s: checksum mismatch: the file is corrupt");
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Not started\"");
	fake.dev_ret = 0;
	OK204("PUT", "/snapshot/load", load);
	CHECK_EQ(fake.snapshot_loads, 2);
	CHECK(fake.load.track_dirty_pages && fake.load.clock_realtime && !fake.load.resume_vm);
	CHECK_EQ(fake.load.nr_net_overrides, 1);
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Paused\"");
	BAD("PUT", "/snapshot/load", load, after_boot);
	OK204("PUT", "/snapshot/create", create);
	OK204("PATCH", "/vm", "{\"state\": \"Resumed\"}");
	BAD("PUT", "/snapshot/create", create, "save/restore unavailable while running");
	CHECK_EQ(fake.snapshot_creates, 1);

	/* Not on a process that was configured: Firecracker's message. */
	setup();
	OK204("PUT", "/machine-config", "{\"vcpu_count\": 1, \"mem_size_mib\": 64}");
	BAD("PUT", "/snapshot/load", load,
	    "Load snapshot error: Loading a microVM snapshot not allowed after configuring "
	    "boot-specific resources.");
	CHECK_EQ(fake.snapshot_loads, 0);
}

TEST(metrics)
{
	char path[] = "/tmp/ember-api-metrics-XXXXXX", req[128];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	setup();
	BAD("PUT", "/metrics", "{\"metrics_path\": 1}", "metrics.metrics_path: expected a string");
	BAD("PUT", "/metrics", "{}", "metrics: missing required key \"metrics_path\"");
	BAD("PUT", "/metrics", "{\"metrics_path\": \"/nonexistent/d/m\"}",
	    "metrics_path /nonexistent/d/m: No such file");
	snprintf(req, sizeof(req), "{\"metrics_path\": \"%s\", \"emit_id\": true}", path);
	OK204("PUT", "/metrics", req);
	BAD("PUT", "/metrics", req, "already configured");
	OK204("PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}");
	CHECK(lseek(fd, 0, SEEK_END) > 0);
	close(fd);
	unlink(path);
	setup();
	boot();
	BAD("PUT", "/metrics", "{\"metrics_path\": \"/m\"}", "after starting");
}

TEST(path_ids)
{
	setup();
	BAD("PUT", "/drives/rootfs", "{\"drive_id\": \"other\", \"is_root_device\": true}",
	    "/drives/rootfs: the body's drive_id \"other\" does not match the id in the path");
	BAD("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth1\"}",
	    "the body's iface_id \"eth1\" does not match");
	BAD("PUT", "/network-interfaces/eth0", "{\"iface_id\": 7}",
	    "the body's iface_id 7 does not match");
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p1\"}", "the body's id \"p1\" does not match");
	BAD("PUT", "/drives/root-fs", "{\"drive_id\": \"root-fs\"}",
	    "can only contain alphanumeric characters and underscores");
	BAD("PUT", "/drives/a/b", "{}", "can only contain alphanumeric characters");
	BAD("PUT", "/drives", "{\"drive_id\": \"x\"}", "/drives: the path needs an id");
	BAD("PUT", "/drives/ok_1", "{\"drive_id\": \"ok_1\"", "invalid JSON");
	BAD("PUT", "/drives/ok_1", "{\"drive_id\": \"ok_1\"}",
	    "drive: missing required key \"is_root_device\"");
}

TEST(drives)
{
	setup();
	OK204("PUT", "/drives/data",
	      "{\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": false, "
	      "\"is_read_only\": true, \"io_engine\": \"Async\"}");
	OK204("PUT", "/drives/rootfs",
	      "{\"drive_id\": \"rootfs\", \"path_on_host\": \"/r\", \"is_root_device\": true}");
	CHECK_EQ(ctl.cfg.nr_drives, 2);
	CHECK_STR(ctl.cfg.drives[0].drive_id, "rootfs");
	/* PUT with an existing id replaces the drive. */
	OK204("PUT", "/drives/data",
	      "{\"drive_id\": \"data\", \"path_on_host\": \"/d2\", \"is_root_device\": false}");
	CHECK_EQ(ctl.cfg.nr_drives, 2);
	CHECK_STR(ctl.cfg.drives[1].path_on_host, "/d2");
	CHECK(!ctl.cfg.drives[1].is_read_only);
	BAD("PUT", "/drives/other",
	    "{\"drive_id\": \"other\", \"path_on_host\": \"/o\", \"is_root_device\": true}",
	    "a root block device already exists (\"rootfs\")");
	BAD("PUT", "/drives/data",
	    "{\"drive_id\": \"data\", \"path_on_host\": \"/d\", \"is_root_device\": false, "
	    "\"cache_type\": \"Fast\"}",
	    "drive.cache_type: \"Fast\" is not one of \"Unsafe\", \"Writeback\"");
	BAD("PUT", "/drives/data", "{\"drive_id\": \"data\", \"is_root_device\": false}",
	    "drive: missing required key \"path_on_host\"");
	BAD("PUT", "/drives/data",
	    "{\"path_on_host\": \"/d\", \"is_root_device\": false, \"drive_id\": \"data\", "
	    "\"x\": 1}",
	    "drive: unknown key \"x\"");
	BAD("PUT", "/drives/v",
	    "{\"drive_id\": \"v\", \"is_root_device\": false, \"socket\": \"/vhost.sock\"}",
	    "vhost-user block devices are not supported yet");
	CHECK_STR(ctl.cfg.drives[1].path_on_host, "/d2");
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"/d3\"}",
	    before_boot);
	EXPECT("GET", "/vm/config", NULL, 200, "\"drives\":[{\"drive_id\":\"rootfs\"");
	CHECK_EQ(fake.drive_updates, 0);

	boot();
	BAD("PUT", "/drives/late",
	    "{\"drive_id\": \"late\", \"path_on_host\": \"/l\", \"is_root_device\": false}",
	    after_boot);
	/* PATCH: a new backing file, a new rate limiter. */
	OK204("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"/d3\"}");
	CHECK_EQ(fake.drive_updates, 1);
	CHECK_STR(fake.drive_id, "data");
	CHECK_STR(fake.drive_path, "/d3");
	CHECK(!fake.drive_rl_given);
	CHECK_STR(ctl.cfg.drives[1].path_on_host, "/d3");
	OK204("PATCH", "/drives/data",
	      "{\"drive_id\": \"data\", \"rate_limiter\": {\"ops\": {\"size\": 100, "
	      "\"refill_time\": 1000}}}");
	CHECK(fake.drive_rl_given);
	CHECK(fake.drive_rl.has_ops);
	CHECK_EQ(fake.drive_rl.ops.size, 100);
	CHECK_STR(fake.drive_path, "");
	CHECK(ctl.cfg.drives[1].rate_limiter.has_ops);
	/* A bucket given replaces that bucket only. */
	OK204("PATCH", "/drives/data",
	      "{\"drive_id\": \"data\", \"rate_limiter\": {\"bandwidth\": {\"size\": 5, "
	      "\"refill_time\": 10}}}");
	CHECK(fake.drive_rl.has_ops && fake.drive_rl.has_bandwidth);
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"rate_limiter\":{\"bandwidth\":{\"size\":5,\"one_time_burst\":0,"
	       "\"refill_time\":10},\"ops\":{\"size\":100");
	BAD("PATCH", "/drives/nope", "{\"drive_id\": \"nope\", \"path_on_host\": \"/n\"}",
	    "drive nope: no such drive.");
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"data\"}", "the PATCH body changes nothing");
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"is_read_only\": true}",
	    "drive: unknown key \"is_read_only\"");
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": 3}",
	    "drive.path_on_host: expected a string, got an integer 3");
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"other\", \"path_on_host\": \"/x\"}",
	    "does not match the id in the path");
	/* The device refuses: 400 with its reason, the configuration unchanged. */
	fake.dev_ret = -ENOENT;
	BAD("PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"/gone\"}",
	    "drive: the device refused");
	CHECK_STR(ctl.cfg.drives[1].path_on_host, "/d3");
	fake.dev_ret = 0;
	CHECK_EQ(fake.drive_updates, 4);
}

/* MMDS: its configuration before boot only, its data store at any time. */
TEST(mmds)
{
	static const char *const cfg = "{\"network_interfaces\": [\"eth0\"], \"version\": \"V2\"}";

	setup();
	BAD("PUT", "/mmds/config", cfg, "no network interface \"eth0\"");
	OK204("PUT", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\"}");
	BAD("PUT", "/mmds/config", "{\"network_interfaces\": []}", "is empty");
	BAD("PUT", "/mmds/config", "{\"version\": \"V2\"}", "\"network_interfaces\"");
	BAD("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"], \"x\": 1}",
	    "mmds-config: unknown key \"x\"");
	BAD("PUT", "/mmds/config", "{\"network_interfaces\": [\"eth0\"], \"version\": \"V3\"}",
	    "version");
	BAD("PUT", "/mmds/config",
	    "{\"network_interfaces\": [\"eth0\"], \"ipv4_address\": \"10.0.0.1\"}",
	    "not a link-local address");
	OK204("PUT", "/mmds/config", cfg);
	CHECK_EQ(ctl.cfg.mmds.version, MMDS_V2);
	CHECK_EQ(ctl.cfg.mmds.ipv4, MMDS_DEFAULT_IPV4);
	EXPECT("GET", "/vm/config", NULL, 200, "\"mmds-config\":{\"version\":\"V2\"");
	EXPECT("GET", "/mmds", NULL, 200, "{}");
	BAD("PATCH", "/mmds", "{\"a\": 1}", "not initialized");
	OK204("PUT", "/mmds", "{\"a\": {\"b\": \"c\"}}");
	BAD("PUT", "/mmds", "{bad", "invalid JSON");
	boot();
	BAD("PUT", "/mmds/config", cfg, after_boot);
	OK204("PATCH", "/mmds", "{\"a\": {\"d\": \"e\"}}");
	EXPECT("GET", "/mmds", NULL, 200, "{\"a\":{\"b\":\"c\",\"d\":\"e\"}}");
	OK204("PUT", "/mmds", "{\"z\": 1}");
	EXPECT("GET", "/mmds", NULL, 200, "{\"z\":1}");
}

TEST(network_interfaces)
{
	setup();
	OK204("PUT", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
	      "\"06:00:0a:00:02:02\", \"mtu\": 1500}");
	OK204("PUT", "/network-interfaces/eth1",
	      "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\"}");
	OK204("PUT", "/network-interfaces/eth1",
	      "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap2\"}");
	CHECK_EQ(ctl.cfg.nr_nets, 2);
	CHECK_STR(ctl.cfg.nets[1].host_dev_name, "tap2");
	BAD("PUT", "/network-interfaces/eth2",
	    "{\"iface_id\": \"eth2\", \"host_dev_name\": \"tap0\"}",
	    "\"tap0\" is in use by interface \"eth0\"");
	BAD("PUT", "/network-interfaces/eth2",
	    "{\"iface_id\": \"eth2\", \"host_dev_name\": \"tap3\", \"guest_mac\": \"zz\"}",
	    "network-interface.guest_mac: \"zz\" is not a MAC address");
	BAD("PUT", "/network-interfaces/eth2", "{\"iface_id\": \"eth2\"}",
	    "network-interface: missing required key \"host_dev_name\"");
	BAD("PUT", "/network-interfaces/eth2",
	    "{\"iface_id\": \"eth2\", \"host_dev_name\": \"tap3\", \"mtu\": 70000}",
	    "network-interface.mtu: 70000 is out of range (68 to 65535)");
	BAD("PATCH", "/network-interfaces/eth0",
	    "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, "
	    "\"refill_time\": "
	    "1}}}",
	    before_boot);
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
	       "\"guest_mac\":\"06:00:0a:00:02:02\",\"mtu\":1500");

	boot();
	BAD("PUT", "/network-interfaces/eth3",
	    "{\"iface_id\": \"eth3\", \"host_dev_name\": \"tap3\"}", after_boot);
	OK204("PATCH", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, "
	      "\"refill_time\": "
	      "1}}}");
	CHECK_EQ(fake.net_updates, 1);
	CHECK(fake.net_rx.has_ops);
	CHECK(!fake.net_tx.has_ops && !fake.net_tx.has_bandwidth);
	CHECK(ctl.cfg.nets[0].rx_rate_limiter.has_ops);
	OK204("PATCH", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 9, "
	      "\"refill_time\": 9}}}");
	/* The rx limiter set before stays. */
	CHECK(fake.net_rx.has_ops);
	CHECK(fake.net_tx.has_bandwidth);
	BAD("PATCH", "/network-interfaces/eth9",
	    "{\"iface_id\": \"eth9\", \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 9, "
	    "\"refill_time\": 9}}}",
	    "network interface eth9: no such interface.");
	BAD("PATCH", "/network-interfaces/eth0",
	    "{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}",
	    "network-interface: unknown key \"host_dev_name\"");
	BAD("PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}",
	    "the PATCH body changes nothing");
	fake.dev_ret = -EINVAL;
	BAD("PATCH", "/network-interfaces/eth0",
	    "{\"iface_id\": \"eth0\", \"tx_rate_limiter\": {\"ops\": {\"size\": 2, "
	    "\"refill_time\": "
	    "2}}}",
	    "network interface: the device refused");
	CHECK(!ctl.cfg.nets[0].tx_rate_limiter.has_ops);
	fake.dev_ret = 0;
}

TEST(vsock)
{
	setup();
	OK204("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}");
	CHECK(ctl.cfg.vsock.present);
	OK204("PUT", "/vsock",
	      "{\"guest_cid\": 52, \"uds_path\": \"/tmp/w.sock\", \"vsock_id\": \"v\"}");
	CHECK_EQ(ctl.cfg.vsock.guest_cid, 52);
	CHECK_STR(ctl.cfg.vsock.uds_path, "/tmp/w.sock");
	BAD("PUT", "/vsock", "{\"guest_cid\": 2, \"uds_path\": \"/v\"}",
	    "vsock.guest_cid: 2 is out of range (3 to 4294967294)");
	BAD("PUT", "/vsock", "{\"guest_cid\": 3}", "vsock: missing required key \"uds_path\"");
	BAD("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\", \"cid\": 3}",
	    "vsock: unknown key \"cid\"");
	CHECK_EQ(ctl.cfg.vsock.guest_cid, 52);
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"/tmp/w.sock\",\"vsock_id\":\"v\"}");
	boot();
	BAD("PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}", after_boot);
	BAD("GET", "/vsock", NULL, "Invalid request method and/or path");
}

TEST(balloon)
{
	setup();
	BAD("GET", "/balloon", NULL, "balloon: the balloon device is not configured");
	BAD("PATCH", "/balloon", "{\"amount_mib\": 1}", "not configured");
	BAD("GET", "/balloon/statistics", NULL, "not configured");
	BAD("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}", "not configured");
	BAD("PUT", "/balloon", "{\"amount_mib\": 1}",
	    "balloon: missing required key \"deflate_on_oom\"");
	BAD("PUT", "/balloon", "{\"amount_mib\": 200, \"deflate_on_oom\": true}",
	    "balloon.amount_mib: Amount of pages requested is too large.");
	BAD("PUT", "/balloon",
	    "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"free_page_hinting\": \"yes\"}",
	    "balloon.free_page_hinting");
	BAD("PUT", "/balloon",
	    "{\"amount_mib\": 1, \"deflate_on_oom\": true, \"stats_polling_interval_s\": -1}",
	    "balloon.stats_polling_interval_s: -1 is out of range (0 to 65535)");
	OK204("PUT", "/balloon", "{\"amount_mib\": 8, \"deflate_on_oom\": true}");
	EXPECT("GET", "/balloon", NULL, 200,
	       "{\"amount_mib\":8,\"deflate_on_oom\":true,\"stats_polling_interval_s\":0,"
	       "\"free_page_hinting\":false,\"free_page_reporting\":false}");
	/* Before boot PATCH updates the configuration (the swagger: before or after boot). */
	OK204("PATCH", "/balloon", "{\"amount_mib\": 16}");
	CHECK_EQ(ctl.cfg.balloon.amount_mib, 16);
	BAD("PATCH", "/balloon", "{\"amount_mib\": 16, \"deflate_on_oom\": false}",
	    "balloon: unknown key \"deflate_on_oom\"");
	BAD("PATCH", "/balloon", "{\"amount_mib\": 129}", "Amount of pages requested is too large");
	BAD("GET", "/balloon/statistics", NULL, "statistics are not enabled");
	OK204("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 2}");
	CHECK_EQ(ctl.cfg.balloon.stats_polling_interval_s, 2);
	BAD("GET", "/balloon/statistics", NULL, before_boot);
	BAD("PATCH", "/balloon/hinting/start", NULL, "free page hinting is not enabled");
	BAD("GET", "/balloon/hinting/status", NULL, "free page hinting is not enabled");
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"balloon\":{\"amount_mib\":16,\"deflate_on_oom\":true,"
	       "\"stats_polling_interval_s\":2");
	CHECK_EQ(fake.balloon_targets, 0);

	boot();
	BAD("PUT", "/balloon", "{\"amount_mib\": 8, \"deflate_on_oom\": true}", after_boot);
	OK204("PATCH", "/balloon", "{\"amount_mib\": 4}");
	CHECK_EQ(fake.balloon_targets, 1);
	CHECK_EQ(fake.balloon_target, 4);
	EXPECT("GET", "/balloon", NULL, 200, "\"amount_mib\":4");
	BAD("PATCH", "/balloon", "{\"amount_mib\": \"4\"}",
	    "balloon.amount_mib: expected an integer");
	BAD("PATCH", "/balloon", "{}", "balloon: missing required key \"amount_mib\"");
	fake.dev_ret = -EINVAL;
	BAD("PATCH", "/balloon", "{\"amount_mib\": 100}", "balloon.amount_mib: the device refused");
	EXPECT("GET", "/balloon", NULL, 200, "\"amount_mib\":4");
	fake.dev_ret = 0;
	EXPECT("GET", "/balloon/statistics", NULL, 200,
	       "{\"target_pages\":1024,\"actual_pages\":512,\"target_mib\":4,\"actual_mib\":2,"
	       "\"swap_in\":7,\"free_memory\":123456}");
	OK204("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 5}");
	CHECK_EQ(fake.balloon_interval, 5);
	CHECK_EQ(ctl.cfg.balloon.stats_polling_interval_s, 5);
	BAD("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 70000}",
	    "out of range (0 to 65535)");
	BAD("PATCH", "/balloon/statistics", "{\"interval\": 1}",
	    "balloon.statistics: unknown key \"interval\"");
	fake.dev_ret = -EINVAL;
	BAD("PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 0}",
	    "balloon.stats_polling_interval_s: the device refused");
	CHECK_EQ(ctl.cfg.balloon.stats_polling_interval_s, 5);
	fake.dev_ret = 0;
	BAD("PATCH", "/balloon/hinting/stop", NULL, "free page hinting is not enabled");
	BAD("DELETE", "/balloon", NULL, "Invalid request method and/or path");
}

/* PUT /pmem/{id} before boot, PATCH (rate limiter) after: every schema error, both states. */
TEST(pmem)
{
	setup();
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p0\"}", before_boot);
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\"}", "pmem: missing required key \"path_on_host\"");
	BAD("PUT", "/pmem/p0", "{\"path_on_host\": \"/x\"}", "pmem: missing required key \"id\"");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p1\", \"path_on_host\": \"/x\"}", "p1");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": 3}", "path_on_host");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"\"}", "the path is empty");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"/x\", \"root_device\": 1}",
	    "root_device");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"/x\", \"read_only\": \"y\"}",
	    "read_only");
	BAD("PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"/x\", \"size\": 1}",
	    "pmem: unknown key \"size\"");
	BAD("PUT", "/pmem/p0",
	    "{\"id\": \"p0\", \"path_on_host\": \"/x\", \"rate_limiter\": {\"ops\": 1}}",
	    "pmem.rate_limiter.ops");
	BAD("PUT", "/pmem/a-b", "{\"id\": \"a-b\", \"path_on_host\": \"/x\"}", "a-b");
	OK204("PUT", "/pmem/p0",
	      "{\"id\": \"p0\", \"path_on_host\": \"/x\", \"root_device\": true}");
	OK204("PUT", "/pmem/p1", "{\"id\": \"p1\", \"path_on_host\": \"/y\", \"read_only\": true}");
	BAD("PUT", "/pmem/p1", "{\"id\": \"p1\", \"path_on_host\": \"/y\", \"root_device\": true}",
	    "a root device already exists (\"p0\")");
	BAD("PUT", "/drives/r",
	    "{\"drive_id\": \"r\", \"path_on_host\": \"/r\", \"is_root_device\": true}",
	    "a root device already exists (pmem \"p0\")");
	/* Replacing a device keeps its place (/dev/pmem1). */
	OK204("PUT", "/pmem/p1", "{\"id\": \"p1\", \"path_on_host\": \"/z\"}");
	CHECK_EQ(ctl.cfg.nr_pmems, 2);
	CHECK_STR(ctl.cfg.pmems[1].path_on_host, "/z");
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"pmem\":[{\"id\":\"p0\",\"path_on_host\":\"/x\",\"root_device\":true,"
	       "\"read_only\":false},{\"id\":\"p1\"");
	boot();
	BAD("PUT", "/pmem/p2", "{\"id\": \"p2\", \"path_on_host\": \"/x\"}", after_boot);
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p0\"}", "changes nothing");
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"/q\"}",
	    "unknown key \"path_on_host\"");
	BAD("PATCH", "/pmem/p9", "{\"id\": \"p9\", \"rate_limiter\": {}}", "no such pmem device");
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p1\", \"rate_limiter\": {}}", "p1");
	OK204("PATCH", "/pmem/p0",
	      "{\"id\": \"p0\", \"rate_limiter\": {\"ops\": {\"size\": 5, \"refill_time\": 100}}}");
	CHECK_EQ(fake.pmem_updates, 1);
	CHECK(fake.pmem_rl.has_ops);
	CHECK_EQ(fake.pmem_rl.ops.size, 5);
	CHECK(ctl.cfg.pmems[0].rate_limiter.has_ops);
}

/* Free page hinting (start, status, stop): after boot, on a balloon with free_page_hinting. */
TEST(balloon_hinting)
{
	setup();
	OK204("PUT", "/balloon",
	      "{\"amount_mib\": 0, \"deflate_on_oom\": false, \"free_page_hinting\": true}");
	EXPECT("GET", "/balloon", NULL, 200, "\"free_page_hinting\":true");
	BAD("PATCH", "/balloon/hinting/start", NULL, before_boot);
	BAD("GET", "/balloon/hinting/status", NULL, before_boot);
	BAD("PATCH", "/balloon/hinting/stop", NULL, before_boot);
	boot();
	OK204("PATCH", "/balloon/hinting/start", NULL);
	CHECK(fake.hint_ack); /* acknowledge_on_stop defaults to true */
	EXPECT("GET", "/balloon/hinting/status", NULL, 200, "{\"host_cmd\":2}");
	OK204("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": false}");
	CHECK(!fake.hint_ack);
	EXPECT("GET", "/balloon/hinting/status", NULL, 200, "{\"host_cmd\":3,\"guest_cmd\":0}");
	BAD("PATCH", "/balloon/hinting/start", "{\"acknowledge_on_stop\": 1}",
	    "acknowledge_on_stop");
	BAD("PATCH", "/balloon/hinting/start", "{\"ack\": true}", "unknown key \"ack\"");
	BAD("PATCH", "/balloon/hinting/start", "[]", "balloon hinting start");
	BAD("GET", "/balloon/hinting/status", "{}", "GET request cannot have a body");
	OK204("PATCH", "/balloon/hinting/stop", NULL);
	CHECK_EQ(fake.hint_starts, 2);
	CHECK_EQ(fake.hint_stops, 1);
	EXPECT("GET", "/balloon/hinting/status", NULL, 200, "\"host_cmd\":1");
}

/* /hotplug/memory: PUT before boot, PATCH after, GET once configured. */
TEST(memory_hotplug)
{
	setup();
	BAD("GET", "/hotplug/memory", NULL, "hotpluggable memory is not configured");
	BAD("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 0}", "not configured");
	BAD("PUT", "/hotplug/memory", "{}", "missing required key \"total_size_mib\"");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": -1}",
	    "total_size_mib: -1 is out of range");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 4294967296}", "out of range");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 0}", "not a non-zero multiple");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 100}", "not a non-zero multiple");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 256, \"slot_size_mib\": 64}",
	    "slot_size_mib: 64 is out of range");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 256, \"block_size_mib\": 1}",
	    "block_size_mib: 1 is out of range");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 256, \"block_size_mib\": 6}",
	    "block_size_mib: 6 is not a power of 2");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 256, \"block_size_mib\": 256}",
	    "slot_size_mib: 128 is not a multiple of block_size_mib (256)");
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 256, \"size\": 1}",
	    "unknown key \"size\"");
	BAD("PUT", "/hotplug/memory", "[]", "memory-hotplug");
	OK204("PUT", "/hotplug/memory", "{\"total_size_mib\": 512, \"slot_size_mib\": 256}");
	EXPECT("GET", "/hotplug/memory", NULL, 200,
	       "{\"total_size_mib\":512,\"slot_size_mib\":256,\"block_size_mib\":2,"
	       "\"plugged_size_mib\":0,\"requested_size_mib\":0}");
	BAD("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 2}", before_boot);
	EXPECT("GET", "/vm/config", NULL, 200,
	       "\"memory-hotplug\":{\"total_size_mib\":512,\"slot_size_mib\":256,"
	       "\"block_size_mib\":2}");
	boot();
	BAD("PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}", after_boot);
	BAD("PATCH", "/hotplug/memory", "{}", "missing required key \"requested_size_mib\"");
	BAD("PATCH", "/hotplug/memory", "{\"requested_size_mib\": -2}", "out of range");
	BAD("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 2, \"x\": 1}",
	    "unknown key \"x\"");
	BAD("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 3}", "3 is odd");
	OK204("PATCH", "/hotplug/memory", "{\"requested_size_mib\": 256}");
	CHECK_EQ(fake.hotplug_requested, 256);
	EXPECT("GET", "/hotplug/memory", NULL, 200,
	       "\"plugged_size_mib\":128,\"requested_size_mib\":256}");
}

TEST(balloon_stats_disabled_after_boot)
{
	setup();
	OK204("PUT", "/balloon", "{\"amount_mib\": 0, \"deflate_on_oom\": false}");
	boot();
	BAD("GET", "/balloon/statistics", NULL, "statistics are not enabled");
	CHECK_EQ(fake.balloon_stats_calls, 0);
}

TEST(device_ops_missing)
{
	setup();
	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops_no_devices);
	OK204("PUT", "/balloon", "{\"amount_mib\": 0, \"deflate_on_oom\": false}");
	OK204("PUT", "/drives/d",
	      "{\"drive_id\": \"d\", \"path_on_host\": \"/d\", \"is_root_device\": false}");
	OK204("PUT", "/network-interfaces/e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}");
	boot();
	BAD("PATCH", "/balloon", "{\"amount_mib\": 1}", "PATCH /balloon: not supported by ember");
	BAD("PATCH", "/drives/d", "{\"drive_id\": \"d\", \"path_on_host\": \"/e\"}",
	    "PATCH /drives: not supported by ember on a running microVM");
	BAD("PATCH", "/network-interfaces/e",
	    "{\"iface_id\": \"e\", \"rx_rate_limiter\": {\"ops\": {\"size\": 1, \"refill_time\": "
	    "1}}}",
	    "PATCH /network-interfaces: not supported");
	CHECK_STR(ctl.cfg.drives[0].path_on_host, "/d");
}

/* Configures everything ember keeps through the API. */
static void configure_all(void)
{
	OK204("PUT", "/boot-source",
	      "{\"kernel_image_path\": \"/k\", \"initrd_path\": \"/i\", \"boot_args\": "
	      "\"console=ttyS0 \\\"quoted\\\"\"}");
	OK204("PUT", "/machine-config",
	      "{\"vcpu_count\": 2, \"mem_size_mib\": 300, \"smt\": true, \"track_dirty_pages\": "
	      "true, \"huge_pages\": \"Transparent\"}");
	OK204("PUT", "/logger",
	      "{\"level\": \"Trace\", \"log_path\": \"/tmp/l\", \"show_level\": true}");
	OK204("PUT", "/entropy",
	      "{\"rate_limiter\": {\"bandwidth\": {\"size\": 10, \"one_time_burst\": 5, "
	      "\"refill_time\": 100}, \"ops\": {\"size\": 3, \"refill_time\": 7}}}");
	OK204("PUT", "/drives/scratch",
	      "{\"drive_id\": \"scratch\", \"path_on_host\": \"/s\", \"is_root_device\": false, "
	      "\"cache_type\": \"Writeback\", \"rate_limiter\": {\"ops\": {\"size\": 1, "
	      "\"refill_time\": 2}}}");
	OK204("PUT", "/drives/root",
	      "{\"drive_id\": \"root\", \"path_on_host\": \"/r\", "
	      "\"is_root_device\": true, \"partuuid\": \"0eaa91a0-01\", "
	      "\"is_read_only\": true, \"io_engine\": \"Async\"}");
	OK204("PUT", "/network-interfaces/eth0",
	      "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
	      "\"AA:FC:00:00:00:01\", \"tx_rate_limiter\": {\"bandwidth\": {\"size\": 9, "
	      "\"refill_time\": 8}}}");
	OK204("PUT", "/network-interfaces/eth1",
	      "{\"iface_id\": \"eth1\", \"host_dev_name\": \"tap1\", "
	      "\"mtu\": 9000}");
	OK204("PUT", "/vsock", "{\"guest_cid\": 7, \"uds_path\": \"/tmp/vs\"}");
	OK204("PUT", "/balloon",
	      "{\"amount_mib\": 32, \"deflate_on_oom\": true, \"stats_polling_interval_s\": 1, "
	      "\"free_page_reporting\": true}");
	lg.level = LOG_OFF; /* the test's output stays PASS/FAIL lines */
}

TEST(vm_config_round_trip)
{
	struct vm_config back;
	char err[CONFIG_ERR_MAX];
	char first[8192];
	char *again;

	setup();
	/* Absent objects and fields are left out, never null (the swagger has no null). */
	EXPECT("GET", "/vm/config", NULL, 200, "{\"machine-config\":{");
	CHECK(!strstr(body, "boot-source") && !strstr(body, "null"));
	configure_all();
	EXPECT("GET", "/vm/config", NULL, 200, "\"boot-source\":{\"kernel_image_path\":\"/k\"");
	CHECK(!strstr(body, "null"));
	snprintf(first, sizeof(first), "%s", body);

	/* What GET /vm/config says is a configuration file that describes the same VM. */
	config_init(&back);
	CHECK_EQ(config_parse_string(&back, first, err), 0);
	CHECK_EQ(config_validate(&back, err), 0);
	CHECK_STR(back.boot.kernel_image_path, "/k");
	CHECK_STR(back.boot.initrd_path, "/i");
	CHECK_STR(back.boot.boot_args, "console=ttyS0 \"quoted\"");
	CHECK_EQ(back.machine.vcpu_count, 2);
	CHECK_EQ(back.machine.mem_size_mib, 300);
	CHECK(back.machine.smt);
	CHECK(back.machine.track_dirty_pages);
	CHECK_EQ(back.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	CHECK(back.logger.present);
	CHECK_EQ(back.logger.level, LOG_TRACE);
	CHECK_STR(back.logger.log_path, "/tmp/l");
	CHECK(back.logger.show_level);
	CHECK(back.entropy.present);
	CHECK(back.entropy.rate_limiter.has_bandwidth);
	CHECK_EQ(back.entropy.rate_limiter.bandwidth.one_time_burst, 5);
	CHECK(back.entropy.rate_limiter.has_ops);
	CHECK_EQ(back.entropy.rate_limiter.ops.refill_time_ms, 7);
	CHECK_EQ(back.nr_drives, 2);
	CHECK_STR(back.drives[0].drive_id, "root");
	CHECK_STR(back.drives[0].partuuid, "0eaa91a0-01");
	CHECK(back.drives[0].is_read_only);
	CHECK_EQ(back.drives[0].io_engine, BLOCK_ENGINE_ASYNC);
	CHECK_EQ(back.drives[1].cache_type, BLOCK_CACHE_WRITEBACK);
	CHECK_EQ(back.drives[1].rate_limiter.ops.refill_time_ms, 2);
	CHECK_EQ(back.nr_nets, 2);
	CHECK_EQ(back.nets[0].guest_mac[0], 0xaa);
	CHECK_EQ(back.nets[0].tx_rate_limiter.bandwidth.size, 9);
	CHECK_EQ(back.nets[1].mtu, 9000);
	CHECK(back.vsock.present);
	CHECK_EQ(back.vsock.guest_cid, 7);
	CHECK_STR(back.vsock.uds_path, "/tmp/vs");
	CHECK(back.has_balloon);
	CHECK_EQ(back.balloon.amount_mib, 32);
	CHECK(back.balloon.free_page_reporting);
	CHECK_EQ(back.balloon.stats_polling_interval_s, 1);
	/* ... and writes back the same text. */
	again = config_to_json(&back);
	CHECK(again != NULL);
	CHECK_STR(again, first);
	free(again);
	config_free(&back);

	/* After boot it still describes the VM, and a copy does too. */
	boot();
	EXPECT("GET", "/vm/config", NULL, 200, "\"vcpu_count\":2");
	{
		struct vm_config copy;
		char *a, *b;

		CHECK_EQ(config_copy(&copy, &ctl.cfg), 0);
		a = config_to_json(&copy);
		b = config_to_json(&ctl.cfg);
		CHECK(a && b);
		CHECK_STR(a, b);
		free(a);
		free(b);
		config_free(&copy);
	}
}

TEST(vm_config_as_config_file)
{
	char path[] = "/tmp/ember-vmconfig-XXXXXX";
	struct vm_config back;
	char err[CONFIG_ERR_MAX];
	int fd;

	setup();
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}");
	OK204("PATCH", "/machine-config", "{\"vcpu_count\": 3}");
	EXPECT("GET", "/vm/config", NULL, 200, "\"vcpu_count\":3");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, body, strlen(body)), (long long)strlen(body));
	close(fd);
	config_init(&back);
	CHECK_EQ(config_parse_file(&back, path, err), 0);
	unlink(path);
	CHECK_EQ(config_validate(&back, err), 0);
	CHECK_EQ(back.machine.vcpu_count, 3);
	CHECK(!back.logger.present);
	config_free(&back);
}

TEST(signals_and_run_without_vm)
{
	/* ctrl_destroy on a started fake VM stops it once. */
	setup();
	boot();
	ctrl_destroy(&ctl);
	CHECK_EQ(fake.stops, 1);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	ctrl_destroy(&ctl);
	CHECK_EQ(fake.stops, 1);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
}

TEST_MAIN(TEST_ENTRY(instance_info_and_version), TEST_ENTRY(unknown_paths_and_methods),
	  TEST_ENTRY(body_rules), TEST_ENTRY(boot_source), TEST_ENTRY(machine_config),
	  TEST_ENTRY(logger), TEST_ENTRY(entropy), TEST_ENTRY(actions), TEST_ENTRY(pause_resume),
	  TEST_ENTRY(unknown_methods), TEST_ENTRY(snapshots), TEST_ENTRY(metrics),
	  TEST_ENTRY(path_ids), TEST_ENTRY(drives), TEST_ENTRY(mmds), TEST_ENTRY(pmem),
	  TEST_ENTRY(memory_hotplug), TEST_ENTRY(balloon_hinting), TEST_ENTRY(network_interfaces),
	  TEST_ENTRY(vsock), TEST_ENTRY(balloon), TEST_ENTRY(balloon_stats_disabled_after_boot),
	  TEST_ENTRY(device_ops_missing), TEST_ENTRY(vm_config_round_trip),
	  TEST_ENTRY(vm_config_as_config_file), TEST_ENTRY(signals_and_run_without_vm))
