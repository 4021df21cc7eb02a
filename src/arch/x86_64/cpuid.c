// SPDX-License-Identifier: Apache-2.0
/*
 * CPUID normalization. KVM reports what the host can virtualize; each vCPU
 * then gets its own APIC id and a topology that matches the VM (one socket,
 * nr vCPUs, two threads per core with SMT), so the guest's scheduler and its
 * count of CPUs agree with the MP/ACPI tables.
 */
#include "arch/x86_64/arch.h"

#include <cpuid.h>
#include <string.h>

#define CPUID_HYPERVISOR_BIT (1u << 31) /* leaf 1 ecx */
#define CPUID_HTT_BIT	     (1u << 28) /* leaf 1 edx */

/* Smallest n with (1 << n) >= v: the APIC-id bits one topology level takes. */
static unsigned int order(unsigned int v)
{
	unsigned int n = 0;

	while ((1u << n) < v)
		n++;
	return n;
}

static void set_brand(struct kvm_cpuid_entry2 *e, const char brand[48])
{
	unsigned int part = e->function - 0x80000002;
	uint32_t regs[4];

	memcpy(regs, brand + part * 16, 16);
	e->eax = regs[0];
	e->ebx = regs[1];
	e->ecx = regs[2];
	e->edx = regs[3];
}

void cpuid_normalize(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int nr, bool smt,
		     const char brand[48])
{
	unsigned int threads = smt && nr > 1 ? 2 : 1;
	unsigned int thread_bits = order(threads);
	unsigned int pkg_bits = order(nr);

	for (uint32_t i = 0; i < cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &cpuid->entries[i];

		switch (e->function) {
		case 0x1:
			/* EBX[31:24] initial APIC id, [23:16] logical processors per package. */
			e->ebx = (e->ebx & 0xffffu) | (id << 24) | ((nr & 0xffu) << 16);
			e->ecx |= CPUID_HYPERVISOR_BIT;
			if (nr > 1)
				e->edx |= CPUID_HTT_BIT;
			else
				e->edx &= ~CPUID_HTT_BIT;
			break;
		case 0x4:
			/* Deterministic cache parameters: cores per package, sharing per level. */
			if (!(e->eax & 0x1f))
				break;
			e->eax &= 0x3fff;
			e->eax |= ((nr / threads - 1) & 0x3fu) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= ((nr - 1) & 0xfffu) << 14; /* L3: the whole package */
			else
				e->eax |= ((threads - 1) & 0xfffu) << 14; /* L1/L2: one core */
			break;
		case 0x6:
			/* No thermal or power management to offer. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xa:
			/* No virtual PMU. */
			e->eax = e->ebx = e->ecx = e->edx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* Extended topology: level 0 threads, level 1 cores; x2APIC id in EDX. */
			e->edx = id;
			if (e->index == 0) {
				e->eax = thread_bits;
				e->ebx = threads;
				e->ecx = (1u << 8) | 0;
			} else if (e->index == 1) {
				e->eax = pkg_bits;
				e->ebx = nr;
				e->ecx = (2u << 8) | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index & 0xff;
			}
			break;
		case 0x80000002:
		case 0x80000003:
		case 0x80000004:
			set_brand(e, brand);
			break;
		case 0x80000008:
			/* AMD: NC = cores - 1 in ECX[7:0], APIC id size in ECX[15:12]. */
			e->ecx = (e->ecx & ~0xf0ffu) | ((nr - 1) & 0xffu) | (pkg_bits << 12);
			break;
		case 0x8000001e:
			/* AMD: extended APIC id, core id and threads per core, node 0. */
			e->eax = id;
			e->ebx = ((threads - 1) << 8) | (id >> thread_bits);
			e->ecx = 0;
			break;
		default:
			break;
		}
	}
}

void cpuid_host_brand(char brand[48])
{
	uint32_t regs[12] = {0};
	char raw[49];
	const char *start;
	size_t len;

	memset(brand, 0, 48);
	if (__get_cpuid_max(0x80000000, NULL) < 0x80000004)
		return;
	for (unsigned int i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, regs[i * 4], regs[i * 4 + 1], regs[i * 4 + 2],
			regs[i * 4 + 3]);
	memcpy(raw, regs, 48);
	raw[48] = '\0';
	/* Vendors pad with leading or trailing spaces; the guest sees it trimmed. */
	start = raw;
	while (*start == ' ')
		start++;
	len = strlen(start);
	while (len && start[len - 1] == ' ')
		len--;
	memcpy(brand, start, len);
}
