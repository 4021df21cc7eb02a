/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's configuration: Firecracker's FullVmConfiguration (the swagger file's
 * schema), parsed strictly. Unknown keys, wrong types and out-of-range values
 * are refused with a message naming the key and the value; a schema key that
 * ember does not support yet is refused saying so.
 */
#ifndef EMBER_VMM_CONFIG_H
#define EMBER_VMM_CONFIG_H

#include "util/log.h"
#include "util/rate_limiter.h"

#include <stdbool.h>
#include <stdint.h>

#define CONFIG_ERR_MAX	 512
#define CONFIG_MAX_VCPUS 32

enum huge_pages {
	HUGE_PAGES_NONE,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

struct boot_source_config {
	char *kernel_image_path; /* required */
	char *initrd_path;	 /* NULL: none */
	char *boot_args;	 /* NULL: Firecracker's default command line */
};

struct machine_config {
	unsigned int vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
};

struct logger_config {
	bool present;
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_log_origin;
};

/* RateLimiter: optional bandwidth (bytes) and ops token buckets. */
struct rate_limiter_config {
	bool has_bandwidth;
	bool has_ops;
	struct token_bucket_config bandwidth;
	struct token_bucket_config ops;
};

struct entropy_config {
	bool present;
	struct rate_limiter_config rate_limiter;
};

/* Metrics: where the lines go, whether they carry the instance id, extra properties. */
struct metrics_config {
	bool present;
	char *metrics_path;
	bool emit_id;
	char *properties_json; /* an object of strings, compact JSON; NULL: none */
};

struct vm_config {
	bool has_boot_source;
	struct boot_source_config boot;
	bool has_machine_config;
	struct machine_config machine;
	struct logger_config logger;
	struct entropy_config entropy;
	struct metrics_config metrics;
};

/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, no huge pages. */
void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/*
 * Parses a FullVmConfiguration document. On error returns -EINVAL (or
 * -ENOENT / -EIO for the file variant) with one line in @err, e.g.
 * "machine-config.vcpu_count: 33 is out of range (1 to 32)".
 */
int config_parse_string(struct vm_config *cfg, const char *json, char err[CONFIG_ERR_MAX]);
int config_parse_file(struct vm_config *cfg, const char *path, char err[CONFIG_ERR_MAX]);

/* Cross-field checks before boot (a kernel is set, SMT with an even count, ...). */
int config_validate(const struct vm_config *cfg, char err[CONFIG_ERR_MAX]);
/* The machine-config section's own cross-field checks (SMT with an even count). */
int config_validate_machine(const struct machine_config *mc, char err[CONFIG_ERR_MAX]);

/* The sections the API's PUT and PATCH bodies update. */
enum config_section {
	CONFIG_BOOT_SOURCE, /* PUT /boot-source: BootSource */
	CONFIG_MACHINE,	    /* PUT, PATCH /machine-config: MachineConfiguration */
	CONFIG_LOGGER,	    /* PUT /logger: Logger */
	CONFIG_ENTROPY,	    /* PUT /entropy: EntropyDevice */
	CONFIG_METRICS,	    /* PUT /metrics: Metrics */
};

/*
 * Parses @json (@len bytes, one JSON object) as @section with the same parser,
 * rules and messages as the configuration file, and applies it to @cfg, all or
 * nothing. Without @patch the object replaces the section: its required keys
 * must be there and absent optional keys take their defaults (PUT). With
 * @patch only the keys given change and none is required, but the object must
 * set at least one (PATCH /machine-config). The logger section always works
 * like a patch, as Firecracker's logger does. The section's cross-field rules
 * are checked too (config_validate_machine). -EINVAL with one line in @err.
 */
int config_update(struct vm_config *cfg, enum config_section section, const char *json, size_t len,
		  bool patch, char err[CONFIG_ERR_MAX]);

/* A deep copy (strings duplicated); 0 or -ENOMEM. Free both with config_free(). */
int config_copy(struct vm_config *dst, const struct vm_config *src);

/*
 * FullVmConfiguration (GET /vm/config) as compact JSON, which
 * config_parse_string() reads back to the same configuration; NULL when out of
 * memory. config_machine_to_json: MachineConfiguration (GET /machine-config).
 * free() the result.
 */
char *config_to_json(const struct vm_config *cfg);
char *config_machine_to_json(const struct machine_config *mc);

#endif
