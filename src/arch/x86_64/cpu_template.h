/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CPU templates: Firecracker's CpuConfig (custom templates) and its static
 * templates, as plain data applied to a vCPU's CPUID list and MSRs before it
 * first runs. A register modifier keeps the bits outside @filter and takes
 * @value's bits inside it. config/ parses the JSON into these structs; the VM
 * hands them to arch_vcpu_init().
 */
#ifndef EMBER_ARCH_X86_64_CPU_TEMPLATE_H
#define EMBER_ARCH_X86_64_CPU_TEMPLATE_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CPU_TMPL_MAX_CPUID 128 /* leaf modifiers: a whole dumped CPUID fits */
#define CPU_TMPL_MAX_MSRS  64
#define CPU_TMPL_MAX_CAPS  32
#define CPU_TMPL_ERR_MAX   256

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX, CPUID_NR_REGS };

struct cpuid_leaf_mod {
	uint32_t leaf, subleaf;
	uint32_t flags;	    /* the template's KVM flags; KVM's own are kept (see .c) */
	uint8_t regs;	    /* bit r: a modifier for register r was given */
	uint32_t filter[4]; /* by enum cpuid_reg: the bits set */
	uint32_t value[4];
};

struct msr_mod {
	uint32_t addr;
	uint64_t filter, value;
};

struct kvm_cap_mod {
	uint32_t cap;
	bool remove; /* "!N": ember does not require it */
};

struct cpu_template {
	unsigned int nr_cpuid, nr_msrs, nr_caps;
	struct cpuid_leaf_mod cpuid[CPU_TMPL_MAX_CPUID];
	struct msr_mod msrs[CPU_TMPL_MAX_MSRS];
	struct kvm_cap_mod caps[CPU_TMPL_MAX_CAPS];
};

/* Firecracker's static templates, in the swagger's CpuTemplate order after None. */
enum cpu_static_template {
	CPU_STATIC_NONE,
	CPU_STATIC_C3,
	CPU_STATIC_T2,
	CPU_STATIC_T2S,
	CPU_STATIC_T2CL,
	CPU_STATIC_T2A,
	CPU_STATIC_V1N1,
	CPU_STATIC_NR,
};

const char *cpu_static_name(enum cpu_static_template t);

/* A host CPU: its vendor string (CPUID leaf 0, NUL-terminated) and leaf 1's EAX. */
struct cpu_host {
	char vendor[13];
	uint32_t signature; /* family, model, stepping */
};
void cpu_host_id(struct cpu_host *h);

/*
 * The static template @t for host @h, or NULL with the reason in @why when the
 * host's CPU vendor is not the one it was written for (T2A: AMD; C3, T2, T2S,
 * T2CL: Intel; V1N1: aarch64), or, for T2CL, the CPU is older than Cascade
 * Lake (as Firecracker: its IA32_ARCH_CAPABILITIES bits would tell the guest
 * of mitigations an older CPU does not have). CPU_STATIC_NONE: NULL, no reason.
 */
const struct cpu_template *cpu_static_template_for(enum cpu_static_template t,
						   const struct cpu_host *h,
						   char why[CPU_TMPL_ERR_MAX]);
/* The same for this host. */
const struct cpu_template *cpu_static_template(enum cpu_static_template t,
					       char why[CPU_TMPL_ERR_MAX]);

/* The host CPU's vendor string (CPUID leaf 0), NUL-terminated. */
void cpu_host_vendor(char vendor[13]);

/*
 * Applies @t's CPUID modifiers to @c (a vCPU's list, as KVM gives it). A leaf
 * and subleaf that @c does not hold is one the host cannot offer: -ENOENT with
 * "cpuid_modifiers[N]: leaf 0x.. subleaf 0x..: ..." in @why.
 */
int cpu_template_apply_cpuid(struct kvm_cpuid2 *c, const struct cpu_template *t,
			     char why[CPU_TMPL_ERR_MAX]);

/* The value of MSR modifier @m over @cur. */
uint64_t cpu_template_msr_value(const struct msr_mod *m, uint64_t cur);

/*
 * After KVM_SET_CPUID2 and KVM_GET_CPUID2 (@got): 0 if KVM holds the bits of
 * @t's leaf modifier @i, else -EIO naming each register that differs.
 */
int cpu_template_check_leaf(const struct kvm_cpuid2 *got, const struct cpu_template *t,
			    unsigned int i, char why[CPU_TMPL_ERR_MAX]);

/*
 * On vCPU @id (@fd): @t applied to @cpuid (@size bytes, normalized), set with
 * KVM_SET_CPUID2 and read back with KVM_GET_CPUID2. A register KVM did not
 * keep as set (kvm_pvm reports some of the host's bits back) is logged as a
 * warning on vCPU 0, since the guest gets what KVM holds. 0, or -errno after
 * logging why, naming @name.
 */
int cpu_template_set_cpuid(int fd, unsigned int id, struct kvm_cpuid2 *cpuid, size_t size,
			   const struct cpu_template *t, const char *name);
/* @t's MSR modifiers over the vCPU's values (KVM_GET_MSRS, KVM_SET_MSRS); logs why not. */
int cpu_template_set_msrs(int fd, unsigned int id, const struct cpu_template *t, const char *name);

#endif
