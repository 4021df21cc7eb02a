// SPDX-License-Identifier: Apache-2.0
/*
 * CPU templates (see cpu_template.h): applying modifiers to CPUID and MSRs,
 * and Firecracker's static templates as data. What each static template
 * masks follows Firecracker's definitions (the Intel SDM and AMD APM bits
 * they name): the family/model/stepping of leaf 1 set to a fixed CPU, and
 * the features the target instance type lacks (AVX-512, MPX, PKU, TSX, SGX,
 * XSAVEC/XSAVES, 1 GiB pages, ...) cleared; T2S and T2CL also clear bits of
 * IA32_ARCH_CAPABILITIES.
 */
#include "arch/x86_64/cpu_template.h"

#include <cpuid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

/* One register of a leaf: its filter and value. */
#define REG(r, f, v) .filter[r] = (f), .value[r] = (v)
#define BIT(r)	     (1u << (r))

/* Leaf 1: family 6 model 0x3f stepping 2 (Haswell-EP, C3: model 0x3e stepping 4). */
#define LEAF1(eax_v, ecx_f, edx_f)                                                     \
	{                                                                              \
		.leaf = 0x1, .regs = BIT(CPUID_EAX) | BIT(CPUID_ECX) | BIT(CPUID_EDX), \
		REG(CPUID_EAX, 0x0fff3fff, eax_v), REG(CPUID_ECX, ecx_f, 0),           \
		REG(CPUID_EDX, edx_f, 0x1080)                                          \
	}
/* Leaf 7.0: structured extended features (EBX keeps enhanced REP MOVSB where given). */
#define LEAF7(ebx_f, ebx_v, ecx_f, edx_f)                                                        \
	{                                                                                        \
		.leaf = 0x7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,                           \
		.regs = BIT(CPUID_EBX) | BIT(CPUID_ECX) | BIT(CPUID_EDX),                        \
		REG(CPUID_EBX, ebx_f, ebx_v), REG(CPUID_ECX, ecx_f, 0), REG(CPUID_EDX, edx_f, 0) \
	}
/* Leaf 0xd: no MPX, AVX-512 or PKRU state; no XSAVEC, XGETBV ext. or XSAVES. */
#define LEAFD                                                                        \
	{.leaf = 0xd,                                                                \
	 .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,                                   \
	 .regs = BIT(CPUID_EAX),                                                     \
	 REG(CPUID_EAX, 0x2f8, 0)},                                                  \
	{                                                                            \
		.leaf = 0xd, .subleaf = 1, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, \
		.regs = BIT(CPUID_EAX), REG(CPUID_EAX, 0xe, 0)                       \
	}
/* Leaf 0x80000001: extended features (PREFETCHW, MONITORX, 1 GiB pages, AMD's MMX ext.). */
#define LEAF81(ecx_f, edx_f)                                                 \
	{                                                                    \
		.leaf = 0x80000001, .regs = BIT(CPUID_ECX) | BIT(CPUID_EDX), \
		REG(CPUID_ECX, ecx_f, 0), REG(CPUID_EDX, edx_f, 0)           \
	}
/* Leaf 0x80000008 EBX: WBNOINVD (and on AMD CLZERO, RstrFpErrPtrs, IBRS hints). */
#define LEAF88(ebx_f, ebx_v)                                                             \
	{                                                                                \
		.leaf = 0x80000008, .regs = BIT(CPUID_EBX), REG(CPUID_EBX, ebx_f, ebx_v) \
	}

#define MSR_IA32_ARCH_CAPABILITIES 0x10a

static const struct cpu_template tmpl_c3 = {
    .nr_cpuid = 5,
    .cpuid = {LEAF1(0x306e4, 0x40dd3c, 0xa8641080), LEAF7(0xffafdd3c, 0, 0x4041481e, 0xc), LEAFD,
	      LEAF81(0x120, 0x4000000)},
};

static const struct cpu_template tmpl_t2 = {
    .nr_cpuid = 6,
    .cpuid = {LEAF1(0x306f2, 0x4cdfc, 0xe8641080), LEAF7(0xffeffa54, 0x200, 0x40415f5e, 0x11c),
	      LEAFD, LEAF81(0x20000100, 0x4000000), LEAF88(0x200, 0)},
};

/* T2 for migrations between Skylake and Cascade Lake: ARCH_CAPABILITIES fixed too. */
static const struct cpu_template tmpl_t2s = {
    .nr_cpuid = 6,
    .cpuid = {LEAF1(0x306f2, 0x4cdfc, 0xe8641080), LEAF7(0xffefda14, 0x200, 0x40415f5e, 0x11c),
	      LEAFD, LEAF81(0x20000100, 0x4000000), LEAF88(0x200, 0)},
    .nr_msrs = 1,
    .msrs = {{MSR_IA32_ARCH_CAPABILITIES, ~0ULL, 0xc4c}},
};

/* Cascade Lake with the instruction set of AMD Milan (T2A's twin). */
static const struct cpu_template tmpl_t2cl = {
    .nr_cpuid = 6,
    .cpuid = {LEAF1(0x306f2, 0x4cdfc, 0xe8641080), LEAF7(0xffefda14, 0x200, 0x40415f5e, 0x11c),
	      LEAFD, LEAF81(0x200001c0, 0x7c00000), LEAF88(0x200, 0)},
    .nr_msrs = 1,
    /* The reserved and control bits cleared; the mitigation bits KVM passes kept. */
    .msrs = {{MSR_IA32_ARCH_CAPABILITIES, 0xfffffffff2f51e00ULL, 0}},
};

/* AMD Milan with the instruction set of Cascade Lake (T2CL's twin). */
static const struct cpu_template tmpl_t2a = {
    .nr_cpuid = 6,
    .cpuid = {LEAF1(0x306f2, 0x4cdfc, 0xe8641080), LEAF7(0xffefda14, 0x200, 0x40415f5e, 0x11c),
	      LEAFD, LEAF81(0x200001c0, 0x7c00000), LEAF88(0xc0205, 0xc0000)},
};

static const char *const static_names[CPU_STATIC_NR] = {
    [CPU_STATIC_NONE] = "None", [CPU_STATIC_C3] = "C3",	    [CPU_STATIC_T2] = "T2",
    [CPU_STATIC_T2S] = "T2S",	[CPU_STATIC_T2CL] = "T2CL", [CPU_STATIC_T2A] = "T2A",
    [CPU_STATIC_V1N1] = "V1N1",
};

const char *cpu_static_name(enum cpu_static_template t)
{
	return (unsigned int)t < CPU_STATIC_NR ? static_names[t] : "?";
}

void cpu_host_vendor(char vendor[13])
{
	unsigned int max, regs[3];

	memset(vendor, 0, 13);
	__cpuid(0, max, regs[0], regs[2], regs[1]); /* EBX, EDX, ECX spell it */
	memcpy(vendor, regs, 12);
}

void cpu_host_id(struct cpu_host *h)
{
	unsigned int ebx, ecx, edx;

	cpu_host_vendor(h->vendor);
	__cpuid(1, h->signature, ebx, ecx, edx);
}

/*
 * Leaf 1's signature as Firecracker orders CPU models: extended family,
 * extended model, family, model, stepping, compared in that order.
 */
static uint32_t model_key(uint32_t sig)
{
	return ((sig >> 20) & 0xff) << 16 | ((sig >> 16) & 0xf) << 12 | ((sig >> 8) & 0xf) << 8 |
	       ((sig >> 4) & 0xf) << 4 | (sig & 0xf);
}

#define CASCADE_LAKE_SIGNATURE 0x50657 /* family 6, model 0x55, stepping 7 */

const struct cpu_template *cpu_static_template(enum cpu_static_template t,
					       char why[CPU_TMPL_ERR_MAX])
{
	struct cpu_host h;

	cpu_host_id(&h);
	return cpu_static_template_for(t, &h, why);
}

const struct cpu_template *cpu_static_template_for(enum cpu_static_template t,
						   const struct cpu_host *h,
						   char why[CPU_TMPL_ERR_MAX])
{
	static const struct {
		const struct cpu_template *tmpl;
		const char *vendor, *cpu;
	} table[CPU_STATIC_NR] = {
	    [CPU_STATIC_C3] = {&tmpl_c3, "GenuineIntel", "Intel"},
	    [CPU_STATIC_T2] = {&tmpl_t2, "GenuineIntel", "Intel"},
	    [CPU_STATIC_T2S] = {&tmpl_t2s, "GenuineIntel", "Intel"},
	    [CPU_STATIC_T2CL] = {&tmpl_t2cl, "GenuineIntel", "Intel"},
	    [CPU_STATIC_T2A] = {&tmpl_t2a, "AuthenticAMD", "AMD"},
	};
	const char *vendor = h->vendor;

	why[0] = '\0';
	if (t == CPU_STATIC_NONE || (unsigned int)t >= CPU_STATIC_NR)
		return NULL;
	if (t == CPU_STATIC_V1N1) {
		snprintf(why, CPU_TMPL_ERR_MAX, "\"V1N1\" is for aarch64 (Neoverse V1) hosts");
		return NULL;
	}
	if (strcmp(vendor, table[t].vendor)) {
		snprintf(why, CPU_TMPL_ERR_MAX, "\"%s\" is for %s CPUs; this host's CPU is %s (%s)",
			 static_names[t], table[t].cpu, vendor[0] ? vendor : "unknown",
			 !strcmp(vendor, "AuthenticAMD") ? "use \"T2A\""
							 : "use \"T2\", \"T2S\", "
							   "\"T2CL\" or \"C3\"");
		return NULL;
	}
	if (t == CPU_STATIC_T2CL && model_key(h->signature) < model_key(CASCADE_LAKE_SIGNATURE)) {
		snprintf(why, CPU_TMPL_ERR_MAX,
			 "\"T2CL\" is for Intel Cascade Lake or newer CPUs; this host's CPU "
			 "(family %u, model 0x%x, stepping %u) is older (use \"T2S\" or \"T2\")",
			 ((h->signature >> 8) & 0xf) + ((h->signature >> 20) & 0xff),
			 ((h->signature >> 4) & 0xf) | ((h->signature >> 12) & 0xf0),
			 h->signature & 0xf);
		return NULL;
	}
	return table[t].tmpl;
}

/* The entry's index in @c, or -1. */
static long find_entry(const struct kvm_cpuid2 *c, uint32_t leaf, uint32_t subleaf)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == leaf && c->entries[i].index == subleaf)
			return (long)i;
	return -1;
}

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, unsigned int r)
{
	switch (r) {
	case CPUID_EAX:
		return &e->eax;
	case CPUID_EBX:
		return &e->ebx;
	case CPUID_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

static uint32_t reg_value(const struct kvm_cpuid_entry2 *e, unsigned int r)
{
	const uint32_t v[CPUID_NR_REGS] = {e->eax, e->ebx, e->ecx, e->edx};

	return v[r];
}

static const char *const reg_names[CPUID_NR_REGS] = {"eax", "ebx", "ecx", "edx"};

int cpu_template_apply_cpuid(struct kvm_cpuid2 *c, const struct cpu_template *t,
			     char why[CPU_TMPL_ERR_MAX])
{
	for (unsigned int i = 0; i < t->nr_cpuid; i++) {
		const struct cpuid_leaf_mod *m = &t->cpuid[i];
		long at = find_entry(c, m->leaf, m->subleaf);
		struct kvm_cpuid_entry2 *e;

		if (at < 0) {
			snprintf(why, CPU_TMPL_ERR_MAX,
				 "cpuid_modifiers[%u]: leaf 0x%x subleaf 0x%x: the host's KVM does "
				 "not offer this leaf",
				 i, m->leaf, m->subleaf);
			return -ENOENT;
		}
		e = &c->entries[at];
		/* KVM's flags (whether the subleaf matters) describe its own entry: kept. */
		for (unsigned int r = 0; r < CPUID_NR_REGS; r++) {
			uint32_t *reg = reg_of(e, r);

			if (m->regs & BIT(r))
				*reg = (*reg & ~m->filter[r]) | (m->value[r] & m->filter[r]);
		}
	}
	return 0;
}

uint64_t cpu_template_msr_value(const struct msr_mod *m, uint64_t cur)
{
	return (cur & ~m->filter) | (m->value & m->filter);
}

int cpu_template_check_leaf(const struct kvm_cpuid2 *got, const struct cpu_template *t,
			    unsigned int i, char why[CPU_TMPL_ERR_MAX])
{
	const struct cpuid_leaf_mod *m = &t->cpuid[i];
	long at = find_entry(got, m->leaf, m->subleaf);
	size_t n = 0;

	if (at < 0) {
		snprintf(why, CPU_TMPL_ERR_MAX,
			 "leaf 0x%x subleaf 0x%x: missing from KVM_GET_CPUID2", m->leaf,
			 m->subleaf);
		return -EIO;
	}
	why[0] = '\0';
	for (unsigned int r = 0; r < CPUID_NR_REGS; r++) {
		uint32_t v = reg_value(&got->entries[at], r), want = m->value[r] & m->filter[r];

		if (!(m->regs & BIT(r)) || (v & m->filter[r]) == want || n >= CPU_TMPL_ERR_MAX)
			continue;
		n += (size_t)snprintf(why + n, CPU_TMPL_ERR_MAX - n,
				      "%sleaf 0x%x subleaf 0x%x %s: KVM holds 0x%08x, the template "
				      "sets 0x%08x under 0x%08x (bits 0x%08x differ)",
				      n ? "; " : "", m->leaf, m->subleaf, reg_names[r], v, want,
				      m->filter[r], (v & m->filter[r]) ^ want);
	}
	return n ? -EIO : 0;
}
