// SPDX-License-Identifier: Apache-2.0
/*
 * The API router without sockets: request (method, path, body) -> status and
 * body, for every endpoint, against a controller whose VM is a fake (struct
 * vmm_ops), so the "after boot" rules run without KVM. Every answer is also
 * checked for its shape: 204 without a body, 200 with JSON, errors with
 * exactly {"fault_message": "..."}.
 */
#include "api/api.h"
#include "test.h"
#include "vmm/config.h"

#include <errno.h>
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
};

static struct fake_vm fake;

static int fake_start(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	fake.starts++;
	if (fake.start_ret) {
		snprintf(err, VMM_ERR_MAX, "kernel: /no/vmlinux: No such file or directory");
		vmm->start_bad_input = true;
		return fake.start_ret;
	}
	fake.started_vcpus = vmm->cfg.machine.vcpu_count;
	return 0;
}

static int fake_stop(struct vmm *vmm)
{
	(void)vmm;
	fake.stops++;
	return 0;
}

static void fake_request_exit(struct vmm *vmm, int code)
{
	(void)vmm;
	(void)code;
	fake.exits++;
}

static int fake_pause(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	(void)vmm;
	(void)err;
	fake.pauses++;
	return 0;
}

static int fake_resume(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	(void)vmm;
	(void)err;
	fake.resumes++;
	return 0;
}

static int fake_cad(struct vmm *vmm, char err[VMM_ERR_MAX])
{
	(void)vmm;
	(void)err;
	fake.cads++;
	return 0;
}

static int fake_set_log_path(struct vmm *vmm, const char *path, char err[VMM_ERR_MAX])
{
	(void)vmm;
	if (fake.log_ret) {
		snprintf(err, VMM_ERR_MAX, "log path %s: Permission denied", path);
		return fake.log_ret;
	}
	snprintf(fake.log_path, sizeof(fake.log_path), "%s", path);
	return 0;
}

static const struct vmm_ops fake_ops = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_cad,
    .set_log_path = fake_set_log_path,
};

static struct vmm vmm;
static struct logger lg;
static char body[8192];	   /* the last answer's body ("" for none) */
static char message[1024]; /* ... its fault_message, if an error */

static void setup(void)
{
	static bool initialized;
	static FILE *devnull;

	if (initialized)
		vmm_destroy(&vmm); /* the previous case's */
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	memset(&fake, 0, sizeof(fake));
	/* Log lines (the cases turn levels up) must not mix with PASS/FAIL lines. */
	lg = (struct logger){.out = devnull, .level = LOG_OFF};
	log_set(&lg);
	vmm_init(&vmm, NULL, &lg, &fake_ops);
	initialized = true;
}

/* Sends one request; returns the status after checking the answer's shape. */
static int call(const char *method, const char *path, const char *req_body)
{
	struct http_request req = {method, path, req_body, req_body ? strlen(req_body) : 0};
	struct http_response resp;
	int status;

	api_handle(&vmm, &req, &resp);
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
	CHECK_EQ(vmm.state, VMM_RUNNING);
}

TEST(instance_info_and_version)
{
	setup();
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Not started\"");
	CHECK_CONTAINS(body, "\"id\":\"anonymous-instance\"");
	CHECK_CONTAINS(body, "\"vmm_version\":\"" EMBER_VERSION "\"");
	CHECK_CONTAINS(body, "\"app_name\":\"" EMBER_APP_NAME "\"");
	snprintf(lg.id, sizeof(lg.id), "vm-7");
	EXPECT("GET", "/", NULL, 200, "\"id\":\"vm-7\"");
	EXPECT("GET", "/version", NULL, 200, "{\"firecracker_version\":\"" EMBER_VERSION "\"}");
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
	CHECK_STR(vmm.cfg.boot.kernel_image_path, "/k");
	CHECK_STR(vmm.cfg.boot.initrd_path, "/i");
	CHECK_STR(vmm.cfg.boot.boot_args, "a=b");
	/* A PUT replaces the whole boot source: absent keys are gone. */
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k2\"}");
	CHECK_STR(vmm.cfg.boot.kernel_image_path, "/k2");
	CHECK(vmm.cfg.boot.initrd_path == NULL);
	CHECK(vmm.cfg.boot.boot_args == NULL);
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": 7}",
	    "boot-source.kernel_image_path: expected a string, got an integer 7");
	BAD("PUT", "/boot-source", "{\"initrd_path\": \"/i\"}",
	    "boot-source: missing required key \"kernel_image_path\"");
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\", \"kernel\": \"/x\"}",
	    "boot-source: unknown key \"kernel\"");
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"\"}", "the path is empty");
	/* A refused body changes nothing. */
	CHECK_STR(vmm.cfg.boot.kernel_image_path, "/k2");
	boot();
	BAD("PUT", "/boot-source", "{\"kernel_image_path\": \"/k3\"}", after_boot);
	CHECK_STR(vmm.cfg.boot.kernel_image_path, "/k");
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
	CHECK(!vmm.cfg.machine.smt);
	CHECK(!vmm.cfg.machine.track_dirty_pages);
	CHECK_EQ(vmm.cfg.machine.huge_pages, HUGE_PAGES_NONE);
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
	    "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"cpu_template\": \"T2\"}",
	    "cpu_template: \"T2\" is not supported");
	BAD("PUT", "/machine-config",
	    "{\"vcpu_count\": 2, \"mem_size_mib\": 64, \"huge_pages\": \"1G\"}",
	    "huge_pages: \"1G\" is not one of \"None\", \"Transparent\", \"2M\"");
	/* All or nothing: nothing above changed the configuration. */
	CHECK_EQ(vmm.cfg.machine.vcpu_count, 4);
	CHECK_EQ(vmm.cfg.machine.mem_size_mib, 64);

	/* PATCH: only the keys given, none required. */
	OK204("PATCH", "/machine-config", "{\"mem_size_mib\": 512}");
	CHECK_EQ(vmm.cfg.machine.vcpu_count, 4);
	CHECK_EQ(vmm.cfg.machine.mem_size_mib, 512);
	OK204("PATCH", "/machine-config", "{\"smt\": true}");
	CHECK(vmm.cfg.machine.smt);
	BAD("PATCH", "/machine-config", "{\"vcpu_count\": 5}", "vcpu_count: 5 is odd");
	BAD("PATCH", "/machine-config", "{\"vcpu_count\": 2, \"bogus\": 1}",
	    "machine-config: unknown key \"bogus\"");
	BAD("PATCH", "/machine-config", "{\"track_dirty_pages\": \"yes\"}",
	    "machine-config.track_dirty_pages: expected a boolean, got a string \"yes\"");
	BAD("PATCH", "/machine-config", "{}", "machine-config: the PATCH body sets no key");
	CHECK_EQ(vmm.cfg.machine.vcpu_count, 4);
	CHECK(!vmm.cfg.machine.track_dirty_pages);

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
	CHECK_STR(vmm.cfg.logger.log_path, "/tmp/ember.log");
	CHECK(vmm.cfg.logger.present);
	BAD("PUT", "/logger", "{\"level\": \"Loud\"}", "logger.level: \"Loud\" is not one of");
	BAD("PUT", "/logger", "{\"colour\": true}", "logger: unknown key \"colour\"");
	BAD("PUT", "/logger", "{\"module\": \"api_server\"}", "logger.module");
	BAD("PUT", "/logger", "{\"show_level\": 1}", "logger.show_level: expected a boolean");
	fake.log_ret = -EACCES;
	BAD("PUT", "/logger", "{\"log_path\": \"/root/x.log\", \"level\": \"Error\"}",
	    "log path /root/x.log: Permission denied");
	/* Nothing of a refused body is applied. */
	CHECK_EQ(lg.level, LOG_WARN);
	CHECK_STR(vmm.cfg.logger.log_path, "/tmp/ember.log");
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
	CHECK(vmm.cfg.entropy.present);
	CHECK(!vmm.cfg.entropy.rate_limiter.has_bandwidth);
	OK204("PUT", "/entropy",
	      "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": 100}}}");
	CHECK(vmm.cfg.entropy.rate_limiter.has_bandwidth);
	CHECK_EQ(vmm.cfg.entropy.rate_limiter.bandwidth.size, 1000);
	BAD("PUT", "/entropy", "{\"rate_limiter\": {\"bandwidth\": {\"size\": 1000}}}",
	    "entropy.rate_limiter.bandwidth: missing required key \"refill_time\"");
	BAD("PUT", "/entropy", "{\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
	    "entropy.rate_limiter.ops.size: -1 is out of range");
	BAD("PUT", "/entropy", "{\"rng\": 1}", "entropy: unknown key \"rng\"");
	CHECK(vmm.cfg.entropy.rate_limiter.has_bandwidth);
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
	CHECK_EQ(vmm.state, VMM_NOT_STARTED);
	/* ... and the configuration can be fixed and the start tried again. */
	fake.start_ret = 0;
	OK204("PUT", "/boot-source", "{\"kernel_image_path\": \"/k\"}");
	OK204("PUT", "/actions", "{\"action_type\": \"InstanceStart\"}");
	CHECK_EQ(fake.starts, 2);
	CHECK_EQ(vmm.state, VMM_RUNNING);
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
	CHECK_EQ(vmm.state, VMM_PAUSED);
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Paused\"");
	OK204("PATCH", "/vm", "{\"state\": \"Paused\"}");
	CHECK_EQ(fake.pauses, 1); /* already paused: nothing more to do */
	OK204("PATCH", "/vm", "{\"state\": \"Resumed\"}");
	EXPECT("GET", "/", NULL, 200, "\"state\":\"Running\"");
	OK204("PATCH", "/vm", "{\"state\": \"Resumed\"}");
	CHECK_EQ(fake.resumes, 1);
	CHECK_EQ(fake.pauses, 1);
}

TEST(not_supported_yet_never_204)
{
	static const char *const reqs[][3] = {
	    {"PUT", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true}"},
	    {"PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\"}"},
	    {"PUT", "/network-interfaces/eth0",
	     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"t\"}"},
	    {"PATCH", "/network-interfaces/eth0", "{\"iface_id\": \"eth0\"}"},
	    {"PUT", "/pmem/p0", "{\"id\": \"p0\", \"path_on_host\": \"/x\"}"},
	    {"PATCH", "/pmem/p0", "{\"id\": \"p0\"}"},
	    {"PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/v\"}"},
	    {"GET", "/balloon", NULL},
	    {"PUT", "/balloon", "{\"amount_mib\": 1, \"deflate_on_oom\": true}"},
	    {"PATCH", "/balloon", "{\"amount_mib\": 1}"},
	    {"GET", "/balloon/statistics", NULL},
	    {"PATCH", "/balloon/statistics", "{\"stats_polling_interval_s\": 1}"},
	    {"PATCH", "/balloon/hinting/start", NULL},
	    {"GET", "/balloon/hinting/status", NULL},
	    {"PATCH", "/balloon/hinting/stop", NULL},
	    {"GET", "/mmds", NULL},
	    {"PUT", "/mmds", "{}"},
	    {"PATCH", "/mmds", "{}"},
	    {"PUT", "/mmds/config", "{\"network_interfaces\": []}"},
	    {"PUT", "/snapshot/create", "{\"mem_file_path\": \"/m\", \"snapshot_path\": \"/s\"}"},
	    {"PUT", "/snapshot/load", "{\"snapshot_path\": \"/s\"}"},
	    {"PUT", "/cpu-config", "{}"},
	    {"PUT", "/serial", "{}"},
	    {"GET", "/hotplug/memory", NULL},
	    {"PUT", "/hotplug/memory", "{\"total_size_mib\": 1024}"},
	    {"PATCH", "/hotplug/memory", "{\"requested_size_mib\": 0}"},
	};

	for (int booted = 0; booted < 2; booted++) {
		setup();
		if (booted)
			boot();
		for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++)
			BAD(reqs[i][0], reqs[i][1], reqs[i][2], "not supported yet by ember");
	}
	BAD("DELETE", "/drives/rootfs", NULL, "Invalid request method and/or path");
	BAD("GET", "/drives/rootfs", NULL, "Invalid request method and/or path");
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
	BAD("PUT", "/network-interfaces/eth0", "{\"iface_id\": 7}",
	    "the body's iface_id 7 does not match");
	BAD("PATCH", "/pmem/p0", "{\"id\": \"p1\"}", "the body's id \"p1\" does not match");
	BAD("PUT", "/drives/root-fs", "{\"drive_id\": \"root-fs\"}",
	    "can only contain alphanumeric characters and underscores");
	BAD("PUT", "/drives/a/b", "{}", "can only contain alphanumeric characters");
	BAD("PUT", "/drives", "{\"drive_id\": \"x\"}", "/drives: the path needs an id");
	BAD("PUT", "/drives/ok_1", "{\"drive_id\": \"ok_1\"", "invalid JSON");
	BAD("PUT", "/drives/ok_1", "{\"drive_id\": \"ok_1\"}", "not supported yet by ember");
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
	lg.level = LOG_OFF; /* the test's output stays PASS/FAIL lines */
}

TEST(vm_config_round_trip)
{
	struct vm_config back;
	char err[CONFIG_ERR_MAX];
	char first[8192];
	char *again;

	setup();
	EXPECT("GET", "/vm/config", NULL, 200, "\"boot-source\":null");
	configure_all();
	EXPECT("GET", "/vm/config", NULL, 200, "\"boot-source\":{\"kernel_image_path\":\"/k\"");
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

		CHECK_EQ(config_copy(&copy, &vmm.cfg), 0);
		a = config_to_json(&copy);
		b = config_to_json(&vmm.cfg);
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
	/* vmm_destroy on a started fake VM stops it once. */
	setup();
	boot();
	vmm_destroy(&vmm);
	CHECK_EQ(fake.stops, 1);
	vmm_init(&vmm, NULL, &lg, &fake_ops);
	vmm_destroy(&vmm);
	CHECK_EQ(fake.stops, 1);
	vmm_init(&vmm, NULL, &lg, &fake_ops);
}

TEST_MAIN(TEST_ENTRY(instance_info_and_version), TEST_ENTRY(unknown_paths_and_methods),
	  TEST_ENTRY(body_rules), TEST_ENTRY(boot_source), TEST_ENTRY(machine_config),
	  TEST_ENTRY(logger), TEST_ENTRY(entropy), TEST_ENTRY(actions), TEST_ENTRY(pause_resume),
	  TEST_ENTRY(not_supported_yet_never_204), TEST_ENTRY(metrics), TEST_ENTRY(path_ids),
	  TEST_ENTRY(vm_config_round_trip), TEST_ENTRY(vm_config_as_config_file),
	  TEST_ENTRY(signals_and_run_without_vm))
