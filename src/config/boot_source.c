// SPDX-License-Identifier: Apache-2.0
/* BootSource: the kernel, the initrd and the kernel command line (PUT /boot-source). */
#include "config/json.h"

#include "arch/x86_64/layout.h"

#include <stdlib.h>
#include <string.h>

static void boot_source_free(struct boot_source_config *bs)
{
	free(bs->kernel_image_path);
	free(bs->initrd_path);
	free(bs->boot_args);
	memset(bs, 0, sizeof(*bs));
}

/* BootSource into a zeroed @bs: the whole section is replaced. */
static int parse(json_t *o, const char *p, struct boot_source_config *bs, char *err)
{
	static const char *const keys[] = {"kernel_image_path", "initrd_path", "boot_args", NULL};
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_string(o, p, "kernel_image_path", true, &bs->kernel_image_path, err)) ||
	    (ret = cfg_get_string(o, p, "initrd_path", false, &bs->initrd_path, err)) ||
	    (ret = cfg_get_string(o, p, "boot_args", false, &bs->boot_args, err)))
		return ret;
	if (!bs->kernel_image_path[0])
		return cfg_fail(err, "%s.kernel_image_path: the path is empty", p);
	/* Refused at the PUT, as Firecracker does (the start checks again with what it adds). */
	if (bs->boot_args && strlen(bs->boot_args) >= LAYOUT_CMDLINE_MAX)
		return cfg_fail(err,
				"%s.boot_args: %zu bytes, longer than the %llu-byte limit of the "
				"kernel command line",
				p, strlen(bs->boot_args), LAYOUT_CMDLINE_MAX - 1);
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct boot_source_config bs = {0};
	int ret = parse(o, how->path, &bs, err);

	if (ret) {
		boot_source_free(&bs);
		return ret;
	}
	boot_source_free(&cfg->boot);
	cfg->boot = bs;
	cfg->has_boot_source = true;
	return 0;
}

static int validate(const struct vm_config *cfg, char *err)
{
	if (!cfg->has_boot_source)
		return cfg_fail(err,
				"boot-source: missing; the VM needs a kernel (kernel_image_path)");
	return 0;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->boot.kernel_image_path = cfg_dup(src->boot.kernel_image_path, oom);
	dst->boot.initrd_path = cfg_dup(src->boot.initrd_path, oom);
	dst->boot.boot_args = cfg_dup(src->boot.boot_args, oom);
}

static void release(struct vm_config *cfg)
{
	boot_source_free(&cfg->boot);
	cfg->has_boot_source = false;
}

/* Absent (null) before PUT /boot-source. */
static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	json_t *o;

	if (!cfg->has_boot_source)
		return json_null();
	o = cfg_object(bad);
	cfg_put(o, "kernel_image_path", json_string(cfg->boot.kernel_image_path), bad);
	cfg_put(o, "initrd_path", cfg_string_opt(cfg->boot.initrd_path), bad);
	cfg_put(o, "boot_args", cfg_string_opt(cfg->boot.boot_args), bad);
	return o;
}

const struct config_section_ops config_boot_source_section = {
    .key = "boot-source",
    .name = "boot-source",
    .apply = apply,
    .validate = validate,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};
