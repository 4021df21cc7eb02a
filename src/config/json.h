/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config/'s own header, for its .c files only: the strict JSON readers every
 * object's parser uses, the writers of GET's JSON, the rate limiter (a part of
 * several objects) and the table of sections the document level loops over.
 * The one header that brings jansson in; config.h stays plain data.
 */
#ifndef EMBER_CONFIG_JSON_H
#define EMBER_CONFIG_JSON_H

#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Formats @fmt into @err (CONFIG_ERR_MAX bytes); returns -EINVAL. */
__attribute__((format(printf, 2, 3))) int cfg_fail(char *err, const char *fmt, ...);

/* For messages naming a value: a short rendering of it (40 characters at most) and its type. */
void config_show_value(const json_t *v, char *buf, size_t len);
const char *config_type_name(const json_t *v);

/*
 * The readers. @path names the object in messages ("drives[0]"); each refuses
 * a wrong type or range with a message naming the key and the value. An
 * absent key leaves *out as it was, unless it is @required.
 */
int cfg_want_object(const json_t *v, const char *path, char *err);
/* Refuses any key of @obj that is not in @allowed (NULL-terminated). */
int cfg_check_keys(json_t *obj, const char *path, const char *const *allowed, char *err);
/* A string (null counts as absent); a new one replaces and frees *out. */
int cfg_get_string(const json_t *obj, const char *path, const char *key, bool required, char **out,
		   char *err);
int cfg_get_uint(const json_t *obj, const char *path, const char *key, bool required, uint64_t min,
		 uint64_t max, uint64_t *out, char *err);
int cfg_get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *err);
int cfg_get_bool_required(const json_t *obj, const char *path, const char *key, bool *out,
			  char *err);
/* One of @names (NULL-terminated); its index in *out. */
int cfg_get_enum(const json_t *obj, const char *path, const char *key, const char *const *names,
		 int *out, char *err);
/* A resource id (drive_id, iface_id), required. */
int cfg_get_id(const json_t *obj, const char *path, const char *key, char **out, char *err);
/* A key ember does not implement: refused (saying @why) unless absent or null. */
int cfg_refuse_key(const json_t *obj, const char *path, const char *key, const char *why,
		   char *err);
/* An API body as one JSON object; NULL with @err set. json_decref() it. */
json_t *cfg_load_body(const char *json, size_t len, const char *path, char *err);

/* strdup(), NULL for NULL; sets *oom when out of memory. */
char *cfg_dup(const char *s, bool *oom);

/*
 * A list section's array (drives, network interfaces): a shallow copy of @n
 * elements of @size, whose strings the caller then duplicates; NULL when @n
 * is 0, or out of memory (*oom set).
 */
void *cfg_dup_array(const void *src, unsigned int n, size_t size, bool *oom);

/*
 * The writers: each remembers any failure (out of memory) in *bad, so a
 * whole document is built and checked once. What is not configured is left
 * out, never written as null: the swagger file has no null, and Firecracker
 * leaves absent optional objects and fields out. So a to_json() or an _opt
 * writer returns JSON null for "absent" and cfg_put() drops the key.
 */
json_t *cfg_object(bool *bad);
void cfg_put(json_t *obj, const char *key, json_t *v, bool *bad);
/* @s, or null (absent) for NULL. */
json_t *cfg_string_opt(const char *s);
/* A JSON array of @n elements of @size, each written by @elem. */
json_t *cfg_array_json(const void *arr, unsigned int n, size_t size,
		       json_t *(*elem)(const void *e, bool *bad), bool *bad);
/* Compact JSON text of @o (which it releases); NULL if *bad or out of memory. */
char *cfg_dump(json_t *o, bool bad);

/* --- RateLimiter, a part of entropy, drives and network interfaces (rate_limiter.c) --- */

/* A RateLimiter at @path ("entropy.rate_limiter") into @rl; null or absent: no limit. */
int cfg_parse_rate_limiter(json_t *o, const char *path, struct rate_limiter_config *rl, char *err);
/* The TokenBucket @key of @o, if given (not null): *has set. */
int cfg_parse_bucket_key(json_t *o, const char *p, const char *key, struct token_bucket_config *tb,
			 bool *has, char *err);
json_t *cfg_token_bucket_json(const struct token_bucket_config *tb, bool *bad);
/* An update's @key of @obj: which buckets it gives (*has: the key is there; null: none). */
int cfg_parse_limiter_update(json_t *obj, const char *key, const char *path, bool *has,
			     struct rate_limiter_config *rl, char *err);
/* @cur with the buckets of @upd laid over it. */
void cfg_merge_limiter(const struct rate_limiter_config *cur, const struct rate_limiter_config *upd,
		       struct rate_limiter_config *out);
json_t *cfg_rate_limiter_json(const struct rate_limiter_config *rl, bool *bad);
/* The same, or null (absent) when it has no bucket. */
json_t *cfg_limiter_opt(const struct rate_limiter_config *rl, bool *bad);

/* --- the sections: one row per object, in config.c's table --- */

/* How an object is applied to the configuration. */
struct config_apply {
	const char *path; /* the object in messages: "boot-source", "drives[2]", "drive" */
	/*
	 * An API body: checked against the rest of the configuration at once, and
	 * a list element replaces the one with its id. The file's objects are
	 * checked when it is fully read (config_validate), and ids are unique.
	 */
	bool api;
	bool patch; /* PATCH: only the keys given change, none is required */
};

struct config_section_ops {
	const char *key;  /* FullVmConfiguration's key; NULL: an API body only */
	const char *name; /* one API body in messages: "drive" for "drives" */
	bool list;	  /* the document holds an array of them */
	bool not_null;	  /* the document may not say null (machine-config) */
	/* Parses @o and commits it to @cfg only if it is valid (all or nothing). */
	int (*apply)(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err);
	/* Optional from here on. */
	int (*validate)(const struct vm_config *cfg, char *err);     /* cross-field, before boot */
	unsigned int (*virtio_devices)(const struct vm_config *cfg); /* slots it takes */
	/* @dst is a shallow copy of @src: give it its own strings (NULL where out of memory). */
	void (*copy)(struct vm_config *dst, const struct vm_config *src, bool *oom);
	void (*free)(struct vm_config *cfg);
	json_t *(*to_json)(const struct vm_config *cfg, bool *bad); /* its value; null: left out */
};

extern const struct config_section_ops config_boot_source_section;
extern const struct config_section_ops config_machine_section;
extern const struct config_section_ops config_logger_section;
extern const struct config_section_ops config_entropy_section;
extern const struct config_section_ops config_drives_section;
extern const struct config_section_ops config_network_interfaces_section;
extern const struct config_section_ops config_balloon_section;
extern const struct config_section_ops config_balloon_update_section;
extern const struct config_section_ops config_balloon_stats_section;
extern const struct config_section_ops config_vsock_section;
extern const struct config_section_ops config_metrics_section;
extern const struct config_section_ops config_cpu_config_section;
extern const struct config_section_ops config_serial_section;
extern const struct config_section_ops config_mmds_section;
extern const struct config_section_ops config_pmem_section;
extern const struct config_section_ops config_memory_hotplug_section;

/* MachineConfiguration (machine.c), for config_machine_to_json; Firecracker's defaults. */
json_t *cfg_machine_json(const struct machine_config *mc, bool *bad);
void cfg_machine_defaults(struct machine_config *mc);
/* CpuConfig (cpu_config.c); cfg_cpu_config_drop: none any more (a static one replaces it). */
json_t *cfg_cpu_config_json(const struct cpu_template *t, bool *bad);
void cfg_cpu_config_drop(struct cpu_config *cc);
/* Balloon (balloon.c), for config_balloon_to_json. */
json_t *cfg_balloon_json(const struct balloon_config *b, bool *bad);

#endif
