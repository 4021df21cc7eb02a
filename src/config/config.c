// SPDX-License-Identifier: Apache-2.0
/*
 * FullVmConfiguration, the document: parse (file and API bodies), validate,
 * copy, free and serialize, each a loop over the table of sections below.
 * Each object's own rules are in its file (boot_source.c, drives.c, ...).
 */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by enum config_section, in GET /vm/config's order; API-only bodies last. */
static const struct config_section_ops *const sections[] = {
    [CONFIG_BOOT_SOURCE] = &config_boot_source_section,
    [CONFIG_MACHINE] = &config_machine_section,
    [CONFIG_LOGGER] = &config_logger_section,
    [CONFIG_ENTROPY] = &config_entropy_section,
    [CONFIG_DRIVE] = &config_drives_section,
    [CONFIG_NET] = &config_network_interfaces_section,
    [CONFIG_BALLOON] = &config_balloon_section,
    [CONFIG_VSOCK] = &config_vsock_section,
    [CONFIG_METRICS] = &config_metrics_section,
    [CONFIG_PMEM] = &config_pmem_section,
    [CONFIG_MEMORY_HOTPLUG] = &config_memory_hotplug_section,
    [CONFIG_BALLOON_UPDATE] = &config_balloon_update_section,
    [CONFIG_BALLOON_STATS] = &config_balloon_stats_section,
    [CONFIG_CPU_CONFIG] = &config_cpu_config_section,
    [CONFIG_SERIAL] = &config_serial_section,
    [CONFIG_MMDS] = &config_mmds_section,
};
#define NR_SECTIONS (sizeof(sections) / sizeof(sections[0]))

void config_init(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg_machine_defaults(&cfg->machine);
	cfg->logger.level = LOG_INFO;
}

void config_free(struct vm_config *cfg)
{
	for (size_t i = 0; i < NR_SECTIONS; i++)
		if (sections[i]->free)
			sections[i]->free(cfg);
	memset(cfg, 0, sizeof(*cfg));
}

int config_copy(struct vm_config *dst, const struct vm_config *src)
{
	bool oom = false;

	/* Every section gives @dst its own strings, even after one ran out of memory. */
	*dst = *src;
	for (size_t i = 0; i < NR_SECTIONS; i++)
		if (sections[i]->copy)
			sections[i]->copy(dst, src, &oom);
	if (oom) {
		config_free(dst);
		return -ENOMEM;
	}
	return 0;
}

/* A section's value in the file: an object, or an array of them (null: none). */
static int parse_file_section(struct vm_config *cfg, const struct config_section_ops *s, json_t *v,
			      char *err)
{
	struct config_apply how = {.path = s->key};
	size_t i;
	json_t *e;

	if (json_is_null(v) && !s->not_null)
		return 0;
	if (!s->list)
		return s->apply(cfg, v, &how, err);
	if (!json_is_array(v))
		return cfg_fail(err, "%s: expected an array, got %s", s->key, config_type_name(v));
	json_array_foreach(v, i, e)
	{
		char p[48];
		int ret;

		snprintf(p, sizeof(p), "%s[%zu]", s->key, i);
		how.path = p;
		ret = s->apply(cfg, e, &how, err);
		if (ret)
			return ret;
	}
	return 0;
}

/* Keys of FullVmConfiguration that ember does not serve yet. */
static int parse_not_yet(const char *key, json_t *v, bool *known, char *err)
{
	static const char *const later[] = {NULL};

	for (const char *const *l = later; *l; l++) {
		if (strcmp(*l, key))
			continue;
		*known = true;
		if (!json_is_null(v))
			return cfg_fail(err, "%s: not supported yet by ember", key);
		return 0;
	}
	return 0;
}

static int parse_document(json_t *root, struct vm_config *cfg, char *err)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return cfg_fail(err, "the configuration must be a JSON object, got %s",
				config_type_name(root));
	/* In the document's order: the first bad key is the one reported. */
	json_object_foreach(root, key, v)
	{
		const struct config_section_ops *s = NULL;
		bool known = false;
		int ret;

		for (size_t i = 0; i < NR_SECTIONS && !s; i++)
			if (sections[i]->key && !strcmp(sections[i]->key, key))
				s = sections[i];
		if (s) {
			ret = parse_file_section(cfg, s, v, err);
		} else {
			ret = parse_not_yet(key, v, &known, err);
			if (!ret && !known)
				ret = cfg_fail(err, "unknown key \"%s\"", key);
		}
		if (ret)
			return ret;
	}
	return 0;
}

int config_parse_string(struct vm_config *cfg, const char *json, char err[CONFIG_ERR_MAX])
{
	json_error_t jerr;
	json_t *root;
	int ret;

	root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return cfg_fail(err, "invalid JSON at line %d, column %d: %s", jerr.line,
				jerr.column, jerr.text);
	ret = parse_document(root, cfg, err);
	json_decref(root);
	return ret;
}

int config_parse_file(struct vm_config *cfg, const char *path, char err[CONFIG_ERR_MAX])
{
	char inner[CONFIG_ERR_MAX];
	json_error_t jerr;
	json_t *root;
	FILE *f;
	int ret;

	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, CONFIG_ERR_MAX, "%s: %s", path, strerror(errno));
		return ret;
	}
	root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
	fclose(f);
	if (!root)
		return cfg_fail(err, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line,
				jerr.column, jerr.text);
	ret = parse_document(root, cfg, inner);
	json_decref(root);
	if (ret)
		snprintf(err, CONFIG_ERR_MAX, "%.120s: %.380s", path, inner);
	return ret;
}

int config_validate(const struct vm_config *cfg, char err[CONFIG_ERR_MAX])
{
	unsigned int devices = 0;
	int ret;

	for (size_t i = 0; i < NR_SECTIONS; i++) {
		const struct config_section_ops *s = sections[i];

		if (s->validate && (ret = s->validate(cfg, err)))
			return ret;
		if (s->virtio_devices)
			devices += s->virtio_devices(cfg);
	}
	/* Each virtio device takes one of the VM's virtio-mmio slots. */
	if (devices > CONFIG_MAX_VIRTIO)
		return cfg_fail(err,
				"%u virtio devices (drives, network interfaces, vsock, balloon, "
				"entropy, pmem, memory-hotplug): a VM has at most %d",
				devices, CONFIG_MAX_VIRTIO);
	return 0;
}

int config_update(struct vm_config *cfg, enum config_section section, const char *json, size_t len,
		  bool patch, char err[CONFIG_ERR_MAX])
{
	const struct config_section_ops *s;
	struct config_apply how = {.api = true, .patch = patch};
	json_error_t jerr;
	json_t *root;
	int ret;

	if ((unsigned int)section >= NR_SECTIONS)
		return cfg_fail(err, "unknown configuration section %d", (int)section);
	s = sections[section];
	how.path = s->name;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root)
		return cfg_fail(err, "%s: invalid JSON at line %d, column %d: %s", s->name,
				jerr.line, jerr.column, jerr.text);
	ret = s->apply(cfg, root, &how, err);
	json_decref(root);
	return ret;
}

char *config_to_json(const struct vm_config *cfg)
{
	bool bad = false;
	json_t *root = cfg_object(&bad);

	for (size_t i = 0; i < NR_SECTIONS; i++)
		if (sections[i]->to_json)
			cfg_put(root, sections[i]->key, sections[i]->to_json(cfg, &bad), &bad);
	return cfg_dump(root, bad);
}
