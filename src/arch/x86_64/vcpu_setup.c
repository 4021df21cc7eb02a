// SPDX-License-Identifier: Apache-2.0
/*
 * VM-wide interrupt controllers and per-vCPU state at power-on: CPUID, boot
 * MSRs, FPU, LAPIC LINT pins, and for the boot vCPU the registers its boot
 * protocol expects. Secondary vCPUs wait for INIT/SIPI in the in-kernel LAPIC.
 */
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

/* Where KVM may put its real-mode TSS and identity map: 3 pages under the BIOS. */
#define KVM_TSS_ADDR	      0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR 0xfffbc000ULL
#define CPUID_MAX_ENTRIES     256

int arch_vm_prep(int vm_fd, char *msg, size_t len)
{
	struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	int err;

	if (ioctl(vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR) < 0) {
		err = errno;
		snprintf(msg, len, "KVM_SET_TSS_ADDR: %s", strerror(err));
		return -err;
	}
	/* Only Intel without unrestricted guest uses it; a refusal elsewhere is harmless. */
	ioctl(vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	/* The in-kernel LAPICs, IOAPIC and PICs: they must exist before any vCPU. */
	if (ioctl(vm_fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		err = errno;
		snprintf(msg, len, "KVM_CREATE_IRQCHIP: %s", strerror(err));
		return -err;
	}
	if (ioctl(vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		err = errno;
		snprintf(msg, len, "KVM_CREATE_PIT2: %s", strerror(err));
		return -err;
	}
	return 0;
}

/*
 * KVM creates the PIT reinjecting lost ticks; turning that off waits for an
 * SRCU grace period (kvm_pit_set_reinject -> synchronize_srcu), and so does
 * the VM's teardown if it is still on: 10-25 ms asleep on kvm_pvm, which every
 * run paid between the guest's end and the process exit. Off on a thread
 * once vCPU 0 has entered the guest (vmm/kvm.c: the wait holds the PIT's
 * lock, which vCPU 0 takes when it enters on another host CPU, so done
 * earlier it delayed the guest's first instruction), the wait overlaps the
 * guest's life and the teardown skips it (its own wait for the grace period
 * the set-up left pending is over by then too). Lost ticks are dropped instead of queued (the
 * "discard" policy); Linux calibrates with the PIT and then leaves it, and the
 * reinjection mode is also what inhibits APICv/AVIC on hardware KVM.
 */
void arch_vm_prep_late(int vm_fd)
{
	struct kvm_reinject_control rc = {.pit_reinject = 0};

	ioctl(vm_fd, KVM_REINJECT_CONTROL, &rc); /* failing only costs the wait at exit */
}

/*
 * The table KVM installs with the in-kernel IRQ chip (default_routing in
 * arch/x86/kvm/irq_comm.c): GSI n to IOAPIC pin n for n < 24 and to PIC pin
 * n % 8 for n < 16. ember never changes it (acpi.c's MADT relies on it), so
 * setting it again changes nothing the guest sees; KVM_SET_GSI_ROUTING ends
 * in synchronize_srcu_expedited() on the VM's irq SRCU, which expedites a
 * normal grace period pending there (vmm/kvm.c's kvm_late_stop).
 */
void arch_vm_hurry_irq_srcu(int vm_fd)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[24 + 16];
	} t;
	unsigned int n = 0;

	memset(&t, 0, sizeof(t));
	for (unsigned int gsi = 0; gsi < 24; gsi++) {
		t.e[n].gsi = gsi;
		t.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		t.e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		t.e[n++].u.irqchip.pin = gsi;
		if (gsi >= 16)
			continue;
		t.e[n].gsi = gsi;
		t.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		t.e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		t.e[n++].u.irqchip.pin = gsi % 8;
	}
	t.r.nr = n;
	ioctl(vm_fd, KVM_SET_GSI_ROUTING, &t); /* failing only leaves the wait as it was */
}

int arch_kvm_ioctl(int fd, unsigned long req, void *arg, const char *name, int vcpu_id)
{
	int err;

	if (ioctl(fd, req, arg) >= 0)
		return 0;
	err = errno;
	if (vcpu_id >= 0)
		log_error("vcpu %d: %s: %s", vcpu_id, name, strerror(err));
	else
		log_error("%s: %s", name, strerror(err));
	return -err;
}

/* One ioctl on this vCPU, named in the log line if it fails. */
#define VCPU_IOCTL(fd, id, req, arg) arch_kvm_ioctl((fd), (req), (arg), #req, (int)(id))

int arch_tsc_khz(int vcpu_fd)
{
	int khz = ioctl(vcpu_fd, KVM_GET_TSC_KHZ, 0);

	return khz < 0 ? -errno : khz;
}

static int setup_cpuid(int fd, unsigned int id, const struct arch_vcpu_info *info)
{
	const struct kvm_cpuid2 *supported = info->supported_cpuid;
	size_t size = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *cpuid = malloc(size);
	char brand[48];
	int ret;

	if (!cpuid)
		return -ENOMEM;
	memcpy(cpuid, supported, size);
	cpuid_host_brand(brand);
	cpuid_normalize(cpuid, id, info->nr_vcpus, info->smt, brand);
	ret = info->tmpl ? cpu_template_set_cpuid(fd, id, cpuid, size, info->tmpl, info->tmpl_name)
			 : VCPU_IOCTL(fd, id, KVM_SET_CPUID2, cpuid);
	free(cpuid);
	return ret;
}

static int setup_msrs(int fd, unsigned int id)
{
	/* What a CPU holds at reset plus fast strings and write-back MTRR default. */
	static const struct {
		uint32_t index;
		uint64_t data;
	} boot_msrs[] = {
	    {0x174, 0},		     /* IA32_SYSENTER_CS */
	    {0x175, 0},		     /* IA32_SYSENTER_ESP */
	    {0x176, 0},		     /* IA32_SYSENTER_EIP */
	    {0xc0000081, 0},	     /* STAR */
	    {0xc0000082, 0},	     /* LSTAR */
	    {0xc0000083, 0},	     /* CSTAR */
	    {0xc0000084, 0},	     /* SYSCALL_MASK */
	    {0xc0000102, 0},	     /* KERNEL_GS_BASE */
	    {0x10, 0},		     /* IA32_TSC */
	    {0x1a0, 1},		     /* IA32_MISC_ENABLE: fast strings */
	    {0x2ff, (1u << 11) | 6}, /* MTRRdefType: enabled, write-back */
	};
	const size_t n = sizeof(boot_msrs) / sizeof(boot_msrs[0]);
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[sizeof(boot_msrs) / sizeof(boot_msrs[0])];
	} msrs;
	int ret;

	memset(&msrs, 0, sizeof(msrs));
	msrs.hdr.nmsrs = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		msrs.e[i].index = boot_msrs[i].index;
		msrs.e[i].data = boot_msrs[i].data;
	}
	/* KVM_SET_MSRS returns how many it set: it stops at the first refused one. */
	ret = ioctl(fd, KVM_SET_MSRS, &msrs);
	if (ret < 0) {
		ret = -errno;
		log_error("vcpu %u: KVM_SET_MSRS: %s", id, strerror(-ret));
		return ret;
	}
	if ((size_t)ret < n) {
		log_error("vcpu %u: KVM_SET_MSRS refused MSR 0x%x", id, boot_msrs[ret].index);
		return -EINVAL;
	}
	return 0;
}

static int setup_fpu(int fd, unsigned int id)
{
	struct kvm_fpu fpu;
	int ret;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 default: all exceptions masked, 64-bit precision */
	fpu.mxcsr = 0x1f80; /* SSE default: all exceptions masked */
	ret = VCPU_IOCTL(fd, id, KVM_SET_FPU, &fpu);
	if (ret)
		return ret;
	return 0;
}

#define APIC_LVT_LINT0	 0x350
#define APIC_LVT_LINT1	 0x360
#define APIC_MODE_NMI	 0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_mode(struct kvm_lapic_state *la, unsigned int reg, uint32_t mode)
{
	uint32_t v;

	memcpy(&v, &la->regs[reg], 4);
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&la->regs[reg], &v, 4);
}

static int setup_lapic(int fd, unsigned int id)
{
	struct kvm_lapic_state la;
	int ret;

	ret = VCPU_IOCTL(fd, id, KVM_GET_LAPIC, &la);
	if (ret)
		return ret;
	/* Virtual-wire mode: the 8259's output on LINT0, NMI on LINT1 (the MP table says so). */
	lapic_set_mode(&la, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_mode(&la, APIC_LVT_LINT1, APIC_MODE_NMI);
	ret = VCPU_IOCTL(fd, id, KVM_SET_LAPIC, &la);
	if (ret)
		return ret;
	return 0;
}

/* A GDT entry from (flags, base, limit), in the CPU's scattered encoding. */
static uint64_t gdt_entry(uint16_t flags, uint32_t base, uint32_t limit)
{
	return ((uint64_t)(base & 0xff000000u) << 32) | ((uint64_t)(flags & 0xf0ffu) << 40) |
	       ((uint64_t)(limit & 0x000f0000u) << 32) | ((uint64_t)(base & 0x00ffffffu) << 16) |
	       (uint64_t)(limit & 0x0000ffffu);
}

static struct kvm_segment segment_from_gdt(uint64_t e, uint16_t index)
{
	uint32_t limit = (uint32_t)(((e >> 32) & 0x000f0000) | (e & 0xffff));
	bool g = (e >> 55) & 1;

	return (struct kvm_segment){
	    .base = ((e >> 16) & 0x00ffffff) | ((e >> 32) & 0xff000000),
	    .limit = g ? (limit << 12) | 0xfff : limit,
	    .selector = (uint16_t)(index * 8),
	    .type = (e >> 40) & 0xf,
	    .present = (e >> 47) & 1,
	    .dpl = (e >> 45) & 3,
	    .db = (e >> 54) & 1,
	    .s = (e >> 44) & 1,
	    .l = (e >> 53) & 1,
	    .g = g,
	    .avl = (e >> 52) & 1,
	    .unusable = !((e >> 47) & 1),
	};
}

#define X86_CR0_PE  0x1ULL
#define X86_CR0_ET  0x10ULL
#define X86_CR0_PG  0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME    0x100ULL
#define EFER_LMA    0x400ULL

/* Identity-map the first GiB with 2 MiB pages: the 64-bit boot protocol needs paging. */
static int write_page_tables(const struct guest_mem *gm)
{
	uint64_t pml4 = LAYOUT_PDPT_START | 0x3, pdpt = LAYOUT_PD_START | 0x3;
	uint64_t *pd = gm_ptr(gm, LAYOUT_PD_START, 512 * 8);

	if (!pd || gm_write(gm, LAYOUT_PML4_START, &pml4, 8) ||
	    gm_write(gm, LAYOUT_PDPT_START, &pdpt, 8))
		return -EFAULT;
	for (uint64_t i = 0; i < 512; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB page */
	return 0;
}

static int setup_boot_regs(int fd, const struct arch_vcpu_info *info)
{
	const bool pvh = info->proto == ARCH_BOOT_PVH;
	/* Null, code, data, TSS; PVH enters 32-bit protected mode, Linux64 long mode. */
	const uint64_t gdt[4] = {
	    0,
	    gdt_entry(pvh ? 0xc09b : 0xa09b, 0, 0xfffff),
	    gdt_entry(0xc093, 0, 0xfffff),
	    gdt_entry(pvh ? 0x008b : 0x808b, 0, 0xfffff),
	};
	const uint64_t idt = 0;
	struct kvm_segment code = segment_from_gdt(gdt[1], 1);
	struct kvm_segment data = segment_from_gdt(gdt[2], 2);
	struct kvm_segment tss = segment_from_gdt(gdt[3], 3);
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int ret;

	if (gm_write(info->mem, LAYOUT_GDT_START, gdt, sizeof(gdt)) ||
	    gm_write(info->mem, LAYOUT_IDT_START, &idt, sizeof(idt)))
		return -EFAULT;
	ret = VCPU_IOCTL(fd, 0, KVM_GET_SREGS, &sregs);
	if (ret)
		return ret;
	sregs.gdt.base = LAYOUT_GDT_START;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.idt.base = LAYOUT_IDT_START;
	sregs.idt.limit = sizeof(idt) - 1;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.tr = tss;
	if (pvh) {
		/* PVH: flat 32-bit protected mode, paging off (Xen's PVH boot ABI). */
		sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
	} else {
		ret = write_page_tables(info->mem);

		if (ret)
			return ret;
		sregs.cr3 = LAYOUT_PML4_START;
		sregs.cr4 |= X86_CR4_PAE;
		sregs.cr0 |= X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
		sregs.efer |= EFER_LME | EFER_LMA;
	}
	ret = VCPU_IOCTL(fd, 0, KVM_SET_SREGS, &sregs);
	if (ret)
		return ret;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2; /* bit 1 is reserved as one; interrupts off */
	regs.rip = info->entry;
	if (pvh) {
		regs.rbx = LAYOUT_PVH_INFO_START;
	} else {
		regs.rsp = regs.rbp = LAYOUT_BOOT_STACK;
		regs.rsi = LAYOUT_ZERO_PAGE_START;
	}
	ret = VCPU_IOCTL(fd, 0, KVM_SET_REGS, &regs);
	if (ret)
		return ret;
	return 0;
}

int arch_vcpu_init(int vcpu_fd, unsigned int id, const struct arch_vcpu_info *info)
{
	int ret = setup_cpuid(vcpu_fd, id, info);

	if (!ret)
		ret = setup_msrs(vcpu_fd, id);
	if (!ret && info->tmpl)
		ret = cpu_template_set_msrs(vcpu_fd, id, info->tmpl, info->tmpl_name);
	if (!ret)
		ret = setup_fpu(vcpu_fd, id);
	if (!ret)
		ret = setup_lapic(vcpu_fd, id);
	if (!ret && id == 0)
		ret = setup_boot_regs(vcpu_fd, info);
	return ret;
}
