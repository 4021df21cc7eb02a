// SPDX-License-Identifier: Apache-2.0
/*
 * CpuConfig: Firecracker's custom CPU template (PUT /cpu-config, "cpu-config"
 * in the configuration file). Numbers are strings in hex ("0x1"), binary
 * ("0b1") or decimal, or plain JSON integers; a register bitmap is "0b" and
 * one character per bit, most significant first: 0 clears it, 1 sets it, x
 * keeps the host's ('_' may group them). A custom template replaces a static
 * one (machine-config.cpu_template) and the other way round.
 */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const reg_names[] = {"eax", "ebx", "ecx", "edx", NULL};

/* A number as the template writes it, at most @max, into *out. */
static int get_number(const json_t *v, const char *p, uint64_t max, uint64_t *out, char *err)
{
	char val[64];
	const char *s, *digits;
	char *end;
	int base = 10;

	if (json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) <= max) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	config_show_value(v, val, sizeof(val));
	if (!json_is_string(v))
		return cfg_fail(err, "%s: %s is not a number (\"0x1f\", \"0b101\" or \"31\")", p,
				val);
	s = digits = json_string_value(v);
	if (!strncmp(s, "0x", 2) || !strncmp(s, "0X", 2)) {
		base = 16;
		digits = s + 2;
	} else if (!strncmp(s, "0b", 2) || !strncmp(s, "0B", 2)) {
		base = 2;
		digits = s + 2;
	}
	errno = 0;
	*out = strtoull(digits, &end, base);
	if (!*digits || *end || *digits == '-' || *digits == '+' || *digits == ' ' || errno)
		return cfg_fail(err, "%s: %s is not a number (\"0x1f\", \"0b101\" or \"31\")", p,
				val);
	if (*out > max)
		return cfg_fail(err, "%s: %s is out of range (at most 0x%llx)", p, val,
				(unsigned long long)max);
	return 0;
}

/* A bitmap of @bits bits ("0b" then 0, 1 or x per bit) into *filter and *value. */
static int get_bitmap(const json_t *o, const char *p, unsigned int bits, uint64_t *filter,
		      uint64_t *value, char *err)
{
	const json_t *v = json_object_get(o, "bitmap");
	unsigned int n = 0;
	char val[64];
	const char *s;

	if (!v)
		return cfg_fail(err, "%s: missing required key \"bitmap\"", p);
	config_show_value(v, val, sizeof(val));
	if (!json_is_string(v) || strncmp(json_string_value(v), "0b", 2))
		return cfg_fail(
		    err, "%s.bitmap: %s is not a bitmap (\"0b\" and %u characters 0, 1 or x)", p,
		    val, bits);
	*filter = *value = 0;
	for (s = json_string_value(v) + 2; *s; s++) {
		if (*s == '_')
			continue;
		if (*s != '0' && *s != '1' && *s != 'x')
			return cfg_fail(err, "%s.bitmap: %s: '%c' is not 0, 1 or x", p, val, *s);
		if (++n > bits)
			break;
		*filter <<= 1;
		*value <<= 1;
		if (*s != 'x') {
			*filter |= 1;
			*value |= (uint64_t)(*s == '1');
		}
	}
	if (n != bits)
		return cfg_fail(err, "%s.bitmap: %s has %s%u bits; it must have %u", p, val,
				n > bits ? "more than " : "", n > bits ? bits : n, bits);
	return 0;
}

/* The elements of array @key of @o (absent or null: none), at most @max. */
static int get_array(json_t *o, const char *p, const char *key, unsigned int max, json_t **arr,
		     char *err)
{
	*arr = json_object_get(o, key);
	if (!*arr || json_is_null(*arr)) {
		*arr = NULL;
		return 0;
	}
	if (!json_is_array(*arr))
		return cfg_fail(err, "%s.%s: expected an array, got %s", p, key,
				config_type_name(*arr));
	if (json_array_size(*arr) > max)
		return cfg_fail(err, "%s.%s: %zu entries; ember takes at most %u", p, key,
				json_array_size(*arr), max);
	return 0;
}

static int parse_leaf(json_t *o, const char *p, struct cpuid_leaf_mod *m, char *err)
{
	static const char *const keys[] = {"leaf", "subleaf", "flags", "modifiers", NULL};
	uint64_t leaf, subleaf, flags;
	json_t *mods, *e;
	char q[96];
	size_t j;
	int ret;

	memset(m, 0, sizeof(*m));
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)))
		return ret;
	for (const char *const *k = keys; *k; k++)
		if (!json_object_get(o, *k))
			return cfg_fail(err, "%s: missing required key \"%s\"", p, *k);
	snprintf(q, sizeof(q), "%s.leaf", p);
	if ((ret = get_number(json_object_get(o, "leaf"), q, UINT32_MAX, &leaf, err)))
		return ret;
	snprintf(q, sizeof(q), "%s.subleaf", p);
	if ((ret = get_number(json_object_get(o, "subleaf"), q, UINT32_MAX, &subleaf, err)) ||
	    (ret = cfg_get_uint(o, p, "flags", true, 0, INT32_MAX, &flags, err)) ||
	    (ret = get_array(o, p, "modifiers", CPUID_NR_REGS * 4, &mods, err)))
		return ret;
	m->leaf = (uint32_t)leaf;
	m->subleaf = (uint32_t)subleaf;
	m->flags = (uint32_t)flags;
	json_array_foreach(mods, j, e)
	{
		static const char *const mkeys[] = {"register", "bitmap", NULL};
		uint64_t f, v;
		int r = 0;

		snprintf(q, sizeof(q), "%s.modifiers[%zu]", p, j);
		if ((ret = cfg_want_object(e, q, err)) || (ret = cfg_check_keys(e, q, mkeys, err)))
			return ret;
		if (!json_object_get(e, "register"))
			return cfg_fail(err, "%s: missing required key \"register\"", q);
		if ((ret = cfg_get_enum(e, q, "register", reg_names, &r, err)) ||
		    (ret = get_bitmap(e, q, 32, &f, &v, err)))
			return ret;
		if (m->regs & (1u << r))
			return cfg_fail(err, "%s.register: \"%s\" is modified twice in this leaf",
					q, reg_names[r]);
		m->regs |= (uint8_t)(1u << r);
		m->filter[r] = (uint32_t)f;
		m->value[r] = (uint32_t)v;
	}
	return 0;
}

static int parse_msr(json_t *o, const char *p, struct msr_mod *m, char *err)
{
	static const char *const keys[] = {"addr", "bitmap", NULL};
	uint64_t addr;
	char q[96];
	int ret;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)))
		return ret;
	if (!json_object_get(o, "addr"))
		return cfg_fail(err, "%s: missing required key \"addr\"", p);
	snprintf(q, sizeof(q), "%s.addr", p);
	if ((ret = get_number(json_object_get(o, "addr"), q, UINT32_MAX, &addr, err)) ||
	    (ret = get_bitmap(o, p, 64, &m->filter, &m->value, err)))
		return ret;
	m->addr = (uint32_t)addr;
	return 0;
}

static int parse_cap(const json_t *v, const char *p, struct kvm_cap_mod *c, char *err)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	json_t *num;
	uint64_t cap;
	int ret;

	if (!s) {
		char val[64];

		config_show_value(v, val, sizeof(val));
		return cfg_fail(err, "%s: %s is not a capability (\"121\", or \"!121\" to remove)",
				p, val);
	}
	c->remove = s[0] == '!';
	num = json_string(s + c->remove);
	if (!num)
		return cfg_fail(err, "%s: out of memory", p);
	ret = get_number(num, p, INT32_MAX, &cap, err);
	json_decref(num);
	c->cap = (uint32_t)cap;
	return ret;
}

/* Two modifiers of one leaf and subleaf, or of one MSR, would silently shadow each other. */
static int check_unique(const struct cpu_template *t, const char *p, char *err)
{
	for (unsigned int i = 0; i < t->nr_cpuid; i++)
		for (unsigned int j = 0; j < i; j++)
			if (t->cpuid[i].leaf == t->cpuid[j].leaf &&
			    t->cpuid[i].subleaf == t->cpuid[j].subleaf)
				return cfg_fail(err,
						"%s.cpuid_modifiers[%u]: leaf 0x%x subleaf 0x%x is "
						"already modified by cpuid_modifiers[%u]",
						p, i, t->cpuid[i].leaf, t->cpuid[i].subleaf, j);
	for (unsigned int i = 0; i < t->nr_msrs; i++)
		for (unsigned int j = 0; j < i; j++)
			if (t->msrs[i].addr == t->msrs[j].addr)
				return cfg_fail(
				    err,
				    "%s.msr_modifiers[%u]: MSR 0x%x is already modified "
				    "by msr_modifiers[%u]",
				    p, i, t->msrs[i].addr, j);
	return 0;
}

static int parse(json_t *o, const char *p, struct cpu_template *t, char *err)
{
	static const char *const keys[] = {"kvm_capabilities", "cpuid_modifiers", "msr_modifiers",
					   "reg_modifiers",    "vcpu_features",	  NULL};
	static const char *const arm[] = {"reg_modifiers", "vcpu_features", NULL};
	json_t *leaves, *msrs, *caps, *e;
	char q[64];
	size_t i;
	int ret;

	memset(t, 0, sizeof(*t));
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = get_array(o, p, "cpuid_modifiers", CPU_TMPL_MAX_CPUID, &leaves, err)) ||
	    (ret = get_array(o, p, "msr_modifiers", CPU_TMPL_MAX_MSRS, &msrs, err)) ||
	    (ret = get_array(o, p, "kvm_capabilities", CPU_TMPL_MAX_CAPS, &caps, err)))
		return ret;
	for (const char *const *k = arm; *k; k++) {
		if ((ret = get_array(o, p, *k, UINT32_MAX, &e, err)))
			return ret;
		if (json_array_size(e))
			return cfg_fail(err, "%s.%s: aarch64 only; this is an x86_64 host", p, *k);
	}
	json_array_foreach(leaves, i, e)
	{
		snprintf(q, sizeof(q), "%s.cpuid_modifiers[%zu]", p, i);
		if ((ret = parse_leaf(e, q, &t->cpuid[i], err)))
			return ret;
		t->nr_cpuid++;
	}
	json_array_foreach(msrs, i, e)
	{
		snprintf(q, sizeof(q), "%s.msr_modifiers[%zu]", p, i);
		if ((ret = parse_msr(e, q, &t->msrs[i], err)))
			return ret;
		t->nr_msrs++;
	}
	json_array_foreach(caps, i, e)
	{
		snprintf(q, sizeof(q), "%s.kvm_capabilities[%zu]", p, i);
		if ((ret = parse_cap(e, q, &t->caps[i], err)))
			return ret;
		t->nr_caps++;
	}
	return check_unique(t, p, err);
}

/* PUT /cpu-config replaces the template, and a static one with it. */
static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct cpu_template *t = malloc(sizeof(*t));
	int ret;

	if (!t)
		return cfg_fail(err, "%s: out of memory", how->path);
	ret = parse(o, how->path, t, err);
	if (ret) {
		free(t);
		return ret;
	}
	cfg_cpu_config_drop(&cfg->cpu);
	cfg->cpu.present = true;
	cfg->cpu.tmpl = t;
	cfg->machine.cpu_template = CPU_STATIC_NONE;
	return 0;
}

void cfg_cpu_config_drop(struct cpu_config *cc)
{
	free(cc->tmpl);
	cc->tmpl = NULL;
	cc->present = false;
}

static json_t *bitmap_json(uint64_t filter, uint64_t value, unsigned int bits)
{
	char s[2 + 64 + 1] = "0b";

	for (unsigned int i = 0; i < bits; i++) {
		uint64_t bit = 1ULL << (bits - 1 - i);

		s[2 + i] = !(filter & bit) ? 'x' : (value & bit) ? '1' : '0';
	}
	s[2 + bits] = '\0';
	return json_string(s);
}

static json_t *hex_json(uint32_t v)
{
	char s[16];

	snprintf(s, sizeof(s), "0x%x", v);
	return json_string(s);
}

json_t *cfg_cpu_config_json(const struct cpu_template *t, bool *bad)
{
	json_t *o = cfg_object(bad), *leaves = json_array(), *msrs = json_array(),
	       *caps = json_array();

	for (unsigned int i = 0; leaves && i < t->nr_cpuid; i++) {
		const struct cpuid_leaf_mod *m = &t->cpuid[i];
		json_t *l = cfg_object(bad), *mods = json_array();

		cfg_put(l, "leaf", hex_json(m->leaf), bad);
		cfg_put(l, "subleaf", hex_json(m->subleaf), bad);
		cfg_put(l, "flags", json_integer(m->flags), bad);
		for (unsigned int r = 0; mods && r < CPUID_NR_REGS; r++) {
			json_t *rm;

			if (!(m->regs & (1u << r)))
				continue;
			rm = cfg_object(bad);
			cfg_put(rm, "register", json_string(reg_names[r]), bad);
			cfg_put(rm, "bitmap", bitmap_json(m->filter[r], m->value[r], 32), bad);
			if (!rm || json_array_append_new(mods, rm))
				*bad = true;
		}
		cfg_put(l, "modifiers", mods, bad);
		if (!l || json_array_append_new(leaves, l))
			*bad = true;
	}
	for (unsigned int i = 0; msrs && i < t->nr_msrs; i++) {
		json_t *m = cfg_object(bad);

		cfg_put(m, "addr", hex_json(t->msrs[i].addr), bad);
		cfg_put(m, "bitmap", bitmap_json(t->msrs[i].filter, t->msrs[i].value, 64), bad);
		if (!m || json_array_append_new(msrs, m))
			*bad = true;
	}
	for (unsigned int i = 0; caps && i < t->nr_caps; i++) {
		char s[16];

		snprintf(s, sizeof(s), "%s%u", t->caps[i].remove ? "!" : "", t->caps[i].cap);
		if (json_array_append_new(caps, json_string(s)))
			*bad = true;
	}
	cfg_put(o, "kvm_capabilities", caps, bad);
	cfg_put(o, "cpuid_modifiers", leaves, bad);
	cfg_put(o, "msr_modifiers", msrs, bad);
	return o;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	return cfg->cpu.present ? cfg_cpu_config_json(cfg->cpu.tmpl, bad) : json_null();
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	if (!src->cpu.present)
		return;
	dst->cpu.tmpl = malloc(sizeof(*dst->cpu.tmpl));
	if (dst->cpu.tmpl) {
		*dst->cpu.tmpl = *src->cpu.tmpl;
	} else {
		dst->cpu.present = false;
		*oom = true;
	}
}

static void release(struct vm_config *cfg)
{
	cfg_cpu_config_drop(&cfg->cpu);
}

const struct config_section_ops config_cpu_config_section = {
    .key = "cpu-config",
    .name = "cpu-config",
    .apply = apply,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};
