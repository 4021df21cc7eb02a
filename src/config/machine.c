// SPDX-License-Identifier: Apache-2.0
/* MachineConfiguration: vCPUs, memory, SMT, huge pages (PUT and PATCH /machine-config). */
#include "config/json.h"

/* Largest guest RAM ember maps: 64 TiB, well past any microVM. */
#define CONFIG_MAX_MEM_MIB (64ULL << 20)

static const char *const huge_names[] = {"None", "Transparent", "2M", NULL};

/* MachineConfiguration into @mc: defaults plus the body (PUT), or @mc plus the body (PATCH). */
static int parse(json_t *o, const char *p, struct machine_config *mc, bool patch, char *err)
{
	static const char *const keys[] = {"vcpu_count", "mem_size_mib", "smt", "track_dirty_pages",
					   "huge_pages", "cpu_template", NULL};
	/* By enum cpu_static_template. */
	static const char *const templates[] = {"None", "C3",  "T2",   "T2S",
						"T2CL", "T2A", "V1N1", NULL};
	uint64_t vcpus = mc->vcpu_count, mem = mc->mem_size_mib;
	int hp = (int)mc->huge_pages, tmpl = -1;
	char why[CPU_TMPL_ERR_MAX];
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_uint(o, p, "vcpu_count", !patch, 1, CONFIG_MAX_VCPUS, &vcpus, err)) ||
	    (ret = cfg_get_uint(o, p, "mem_size_mib", !patch, 1, CONFIG_MAX_MEM_MIB, &mem, err)) ||
	    (ret = cfg_get_bool(o, p, "smt", &mc->smt, err)) ||
	    (ret = cfg_get_bool(o, p, "track_dirty_pages", &mc->track_dirty_pages, err)) ||
	    (ret = cfg_get_enum(o, p, "huge_pages", huge_names, &hp, err)) ||
	    (ret = cfg_get_enum(o, p, "cpu_template", templates, &tmpl, err)))
		return ret;
	/* A static template is written for one CPU vendor: refused on the others. */
	if (tmpl > 0 && !cpu_static_template((enum cpu_static_template)tmpl, why))
		return cfg_fail(err, "%s.cpu_template: %s", p, why);
	if (patch && !json_object_size(o))
		return cfg_fail(err,
				"%s: the PATCH body sets no key (vcpu_count, mem_size_mib, smt, "
				"track_dirty_pages, huge_pages, cpu_template)",
				p);
	if (hp == HUGE_PAGES_2M && mem % 2)
		return cfg_fail(err,
				"%s.mem_size_mib: %llu is odd; with huge_pages \"2M\" it must be a "
				"multiple of 2",
				p, (unsigned long long)mem);
	/* Absent: the template set so far stays (PUT /cpu-config may have set one). */
	if (tmpl >= 0)
		mc->cpu_template = (enum cpu_static_template)tmpl;
	mc->vcpu_count = (unsigned int)vcpus;
	mc->mem_size_mib = mem;
	mc->huge_pages = (enum huge_pages)hp;
	return 0;
}

void cfg_machine_defaults(struct machine_config *mc)
{
	*mc = (struct machine_config){.vcpu_count = 1, .mem_size_mib = 128};
}

int config_validate_machine(const struct machine_config *mc, char err[CONFIG_ERR_MAX])
{
	if (mc->smt && mc->vcpu_count > 1 && mc->vcpu_count % 2)
		return cfg_fail(err,
				"machine-config.vcpu_count: %u is odd; with smt enabled it must be "
				"1 or an even number",
				mc->vcpu_count);
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct machine_config mc;
	int ret;

	if (how->patch) {
		mc = cfg->machine;
	} else {
		cfg_machine_defaults(&mc);
		mc.cpu_template = cfg->machine.cpu_template;
	}
	ret = parse(o, how->path, &mc, how->patch, err);
	/* The API checks the section as a whole now; a file, once fully read. */
	if (!ret && how->api)
		ret = config_validate_machine(&mc, err);
	if (ret)
		return ret;
	/* "None" drops any template; a static one replaces a custom one. */
	if (json_object_get(o, "cpu_template"))
		cfg_cpu_config_drop(&cfg->cpu);
	cfg->machine = mc;
	cfg->has_machine_config = true;
	return 0;
}

static int validate(const struct vm_config *cfg, char *err)
{
	/* The balloon frees 4 KiB pages (MADV_DONTNEED), which hugetlbfs memory cannot. */
	if (cfg->machine.huge_pages == HUGE_PAGES_2M && cfg->has_balloon)
		return cfg_fail(err,
				"balloon: cannot give back guest memory backed by 2M huge pages "
				"(machine-config.huge_pages \"2M\"); use \"None\" or "
				"\"Transparent\", or no balloon");
	return config_validate_machine(&cfg->machine, err);
}

json_t *cfg_machine_json(const struct machine_config *mc, bool *bad)
{
	json_t *o = cfg_object(bad);

	cfg_put(o, "vcpu_count", json_integer(mc->vcpu_count), bad);
	cfg_put(o, "mem_size_mib", json_integer((json_int_t)mc->mem_size_mib), bad);
	cfg_put(o, "smt", json_boolean(mc->smt), bad);
	cfg_put(o, "track_dirty_pages", json_boolean(mc->track_dirty_pages), bad);
	cfg_put(o, "huge_pages", json_string(huge_names[mc->huge_pages]), bad);
	if (mc->cpu_template != CPU_STATIC_NONE)
		cfg_put(o, "cpu_template", json_string(cpu_static_name(mc->cpu_template)), bad);
	return o;
}

char *config_machine_to_json(const struct machine_config *mc)
{
	bool bad = false;

	return cfg_dump(cfg_machine_json(mc, &bad), bad);
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	return cfg_machine_json(&cfg->machine, bad);
}

/* Plain data: nothing to copy or free. */
const struct config_section_ops config_machine_section = {
    .key = "machine-config",
    .name = "machine-config",
    .not_null = true,
    .apply = apply,
    .validate = validate,
    .to_json = to_json,
};
