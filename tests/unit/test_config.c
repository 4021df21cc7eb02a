// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "vmm/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char err[CONFIG_ERR_MAX];

/* Parses @json into a fresh config; returns the parser's result. */
static int parse(struct vm_config *cfg, const char *json)
{
	config_init(cfg);
	err[0] = '\0';
	return config_parse_string(cfg, json, err);
}

/* Expects @json to be refused with a message containing @msg. */
#define REFUSED(json, msg)                           \
	do {                                         \
		struct vm_config c_;                 \
		CHECK_EQ(parse(&c_, json), -EINVAL); \
		CHECK_CONTAINS(err, msg);            \
		config_free(&c_);                    \
	} while (0)

TEST(full_document)
{
	struct vm_config cfg;

	CHECK_EQ(parse(&cfg, "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": "
			     "\"/i\", \"boot_args\": \"console=ttyS0\"}, \"machine-config\": "
			     "{\"vcpu_count\": 4, \"mem_size_mib\": 256, \"smt\": false, "
			     "\"track_dirty_pages\": true, \"huge_pages\": \"Transparent\", "
			     "\"cpu_template\": \"None\"}, \"logger\": {\"level\": \"debug\", "
			     "\"show_level\": true}}"),
		 0);
	CHECK_STR(cfg.boot.kernel_image_path, "/k");
	CHECK_STR(cfg.boot.initrd_path, "/i");
	CHECK_STR(cfg.boot.boot_args, "console=ttyS0");
	CHECK_EQ(cfg.machine.vcpu_count, 4);
	CHECK_EQ(cfg.machine.mem_size_mib, 256);
	CHECK(cfg.machine.track_dirty_pages);
	CHECK_EQ(cfg.machine.huge_pages, HUGE_PAGES_TRANSPARENT);
	CHECK(cfg.logger.present);
	CHECK_EQ(cfg.logger.level, LOG_DEBUG);
	CHECK(cfg.logger.show_level);
	CHECK_EQ(config_validate(&cfg, err), 0);
	config_free(&cfg);
}

TEST(defaults)
{
	struct vm_config cfg;

	CHECK_EQ(parse(&cfg, "{\"boot-source\": {\"kernel_image_path\": \"/k\"}}"), 0);
	CHECK_EQ(cfg.machine.vcpu_count, 1);
	CHECK_EQ(cfg.machine.mem_size_mib, 128);
	CHECK(cfg.boot.boot_args == NULL);
	CHECK(cfg.boot.initrd_path == NULL);
	CHECK_EQ(config_validate(&cfg, err), 0);
	config_free(&cfg);
}

TEST(empty_device_lists_and_nulls_accepted)
{
	struct vm_config cfg;

	/* What GET /vm/config returns for a VM without devices must load back. */
	CHECK_EQ(parse(&cfg,
		       "{\"boot-source\": {\"kernel_image_path\": \"/k\", \"initrd_path\": "
		       "null}, \"drives\": [], \"network-interfaces\": [], \"balloon\": null, "
		       "\"vsock\": null, \"logger\": null, \"metrics\": null, "
		       "\"mmds-config\": null, \"entropy\": null}"),
		 0);
	CHECK(cfg.boot.initrd_path == NULL);
	config_free(&cfg);
}

TEST(unknown_keys_refused)
{
	REFUSED("{\"boot_source\": {}}", "unknown key \"boot_source\"");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 8, \"x\": 1}}",
		"machine-config: unknown key \"x\"");
	REFUSED("{\"boot-source\": {\"kernel_image_path\": \"/k\", \"cmdline\": \"\"}}",
		"boot-source: unknown key \"cmdline\"");
	REFUSED("{\"logger\": {\"colour\": true}}", "logger: unknown key \"colour\"");
}

TEST(types_refused_with_value)
{
	REFUSED("{\"machine-config\": {\"vcpu_count\": \"2\", \"mem_size_mib\": 8}}",
		"machine-config.vcpu_count: expected an integer, got a string \"2\"");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1.5, \"mem_size_mib\": 8}}",
		"machine-config.vcpu_count: expected an integer, got a number with a fraction 1.5");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 8, \"smt\": 1}}",
		"machine-config.smt: expected a boolean, got an integer 1");
	REFUSED("{\"boot-source\": {\"kernel_image_path\": 7}}",
		"boot-source.kernel_image_path: expected a string, got an integer 7");
	REFUSED("{\"boot-source\": []}", "boot-source: expected an object, got an array");
	REFUSED("{\"drives\": {}}", "drives: expected an array, got an object");
	REFUSED("[1]", "must be a JSON object");
	/* jansson refuses embedded NULs (JSON_ALLOW_NUL is not set): paths stay C strings. */
	REFUSED("{\"boot-source\": {\"kernel_image_path\": \"a\\u0000b\"}}", "is not allowed");
}

TEST(ranges_refused_with_value)
{
	REFUSED("{\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 8}}",
		"machine-config.vcpu_count: 0 is out of range (1 to 32)");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 33, \"mem_size_mib\": 8}}",
		"machine-config.vcpu_count: 33 is out of range (1 to 32)");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": -1}}",
		"machine-config.mem_size_mib: -1 is out of range");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 0}}",
		"machine-config.mem_size_mib: 0 is out of range");
	REFUSED(
	    "{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 8, \"huge_pages\": "
	    "\"1G\"}}",
	    "machine-config.huge_pages: \"1G\" is not one of \"None\", \"Transparent\", \"2M\"");
	REFUSED("{\"logger\": {\"level\": \"Loud\"}}", "logger.level: \"Loud\" is not one of");
}

TEST(required_keys)
{
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1}}",
		"machine-config: missing required key \"mem_size_mib\"");
	REFUSED("{\"machine-config\": {\"mem_size_mib\": 8}}",
		"machine-config: missing required key \"vcpu_count\"");
	REFUSED("{\"boot-source\": {}}", "boot-source: missing required key \"kernel_image_path\"");
	REFUSED("{\"boot-source\": {\"kernel_image_path\": \"\"}}", "the path is empty");
}

TEST(not_yet_supported_said_so)
{
	REFUSED("{\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"/v\"}}",
		"vsock: not supported yet");
	REFUSED("{\"drives\": [{\"drive_id\": \"root\"}]}",
		"drives: device type not supported yet");
	REFUSED("{\"balloon\": {}}", "balloon: not supported yet");
	REFUSED("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 8, \"cpu_template\": "
		"\"C3\"}}",
		"cpu_template: \"C3\" is not supported");
	REFUSED("{\"logger\": {\"module\": \"api\"}}", "logger.module: filtering");
}

TEST(malformed_json)
{
	REFUSED("{", "invalid JSON at line 1");
	REFUSED("{\"a\": 1, \"a\": 2}", "duplicate");
	REFUSED("", "invalid JSON");
}

TEST(validate_cross_field)
{
	struct vm_config cfg;

	CHECK_EQ(parse(&cfg, "{\"machine-config\": {\"vcpu_count\": 2, \"mem_size_mib\": 8}}"), 0);
	CHECK_EQ(config_validate(&cfg, err), -EINVAL);
	CHECK_CONTAINS(err, "boot-source: missing");
	config_free(&cfg);
	CHECK_EQ(parse(&cfg, "{\"boot-source\": {\"kernel_image_path\": \"/k\"}, "
			     "\"machine-config\": {\"vcpu_count\": 3, \"mem_size_mib\": 8, "
			     "\"smt\": true}}"),
		 0);
	CHECK_EQ(config_validate(&cfg, err), -EINVAL);
	CHECK_CONTAINS(err, "vcpu_count: 3 is odd");
	config_free(&cfg);
}

TEST(file_errors_name_the_file)
{
	char path[] = "/tmp/ember-config-XXXXXX";
	struct vm_config cfg;
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "{\n \"x\": 1\n}", 11), 11);
	close(fd);
	config_init(&cfg);
	CHECK_EQ(config_parse_file(&cfg, path, err), -EINVAL);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, "unknown key \"x\"");
	unlink(path);
	CHECK_EQ(config_parse_file(&cfg, path, err), -ENOENT);
	CHECK_CONTAINS(err, "No such file");
	config_free(&cfg);
}

TEST(entropy_and_rate_limiter)
{
	struct vm_config cfg;

	CHECK_EQ(parse(&cfg, "{\"entropy\": {}}"), 0);
	CHECK(cfg.entropy.present);
	CHECK(!cfg.entropy.rate_limiter.has_bandwidth);
	config_free(&cfg);
	CHECK_EQ(parse(&cfg, "{\"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, "
			     "\"refill_time\": 100, \"one_time_burst\": 50}, \"ops\": null}}}"),
		 0);
	CHECK(cfg.entropy.rate_limiter.has_bandwidth);
	CHECK(!cfg.entropy.rate_limiter.has_ops);
	CHECK_EQ(cfg.entropy.rate_limiter.bandwidth.size, 1000);
	CHECK_EQ(cfg.entropy.rate_limiter.bandwidth.refill_time_ms, 100);
	CHECK_EQ(cfg.entropy.rate_limiter.bandwidth.one_time_burst, 50);
	config_free(&cfg);
	REFUSED("{\"entropy\": {\"rate_limiter\": {\"bandwidth\": {\"size\": 10}}}}",
		"entropy.rate_limiter.bandwidth: missing required key \"refill_time\"");
	REFUSED("{\"entropy\": {\"rate_limiter\": {\"ops\": {\"size\": -1, \"refill_time\": 1}}}}",
		"entropy.rate_limiter.ops.size: -1 is out of range");
	REFUSED("{\"entropy\": {\"rate_limiter\": {\"iops\": {}}}}",
		"entropy.rate_limiter: unknown key \"iops\"");
	REFUSED("{\"entropy\": {\"rate\": 1}}", "entropy: unknown key \"rate\"");
}

TEST_MAIN(TEST_ENTRY(full_document), TEST_ENTRY(entropy_and_rate_limiter), TEST_ENTRY(defaults),
	  TEST_ENTRY(empty_device_lists_and_nulls_accepted), TEST_ENTRY(unknown_keys_refused),
	  TEST_ENTRY(types_refused_with_value), TEST_ENTRY(ranges_refused_with_value),
	  TEST_ENTRY(required_keys), TEST_ENTRY(not_yet_supported_said_so),
	  TEST_ENTRY(malformed_json), TEST_ENTRY(validate_cross_field),
	  TEST_ENTRY(file_errors_name_the_file))
