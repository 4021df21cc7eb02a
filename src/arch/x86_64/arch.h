/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86_64 specifics: the VM's interrupt controllers, vCPU registers, CPUID,
 * boot tables (e820, MP table, zero page, PVH start info) and the completions
 * for instructions kvm_pvm's emulator cannot run.
 */
#ifndef EMBER_ARCH_X86_64_ARCH_H
#define EMBER_ARCH_X86_64_ARCH_H

#include "arch/x86_64/acpi.h"
#include "arch/x86_64/cpu_template.h"
#include "core/guest_mem.h"
#include "core/state.h"

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * VM-wide, right after KVM_CREATE_VM: TSS and identity-map addresses, in-kernel
 * IRQ chip, PIT. Runs on the start-up thread, so it does not log: on failure it
 * returns -errno with one line in @msg.
 */
int arch_vm_prep(int vm_fd, char *msg, size_t len);
/*
 * VM-wide set-up that may run beside the guest, on a thread of its own: the
 * PIT's lost-tick reinjection off (vcpu_setup.c says why). Best effort.
 */
void arch_vm_prep_late(int vm_fd);
/* KVM's default GSI routing set again: an expedited grace period on the VM's irq SRCU. */
void arch_vm_hurry_irq_srcu(int vm_fd);

/* How the boot vCPU enters the kernel (the loader chose it from the image). */
enum arch_boot_proto {
	ARCH_BOOT_PVH,	   /* 32-bit protected mode, %ebx = hvm_start_info */
	ARCH_BOOT_LINUX64, /* long mode, %rsi = the zero page */
};

/* What vCPU set-up needs of the VM, and nothing more (the VM builds it). */
struct arch_vcpu_info {
	const struct kvm_cpuid2 *supported_cpuid; /* KVM_GET_SUPPORTED_CPUID */
	unsigned int nr_vcpus;
	bool smt;
	/* The boot vCPU (id 0) only: its GDT and, for Linux64, page tables go into @mem. */
	const struct guest_mem *mem;
	enum arch_boot_proto proto;
	uint64_t entry; /* guest-physical entry point */
	/* A CPU template over the normalized CPUID and boot MSRs, or NULL; named in errors. */
	const struct cpu_template *tmpl;
	const char *tmpl_name; /* "cpu-config", "machine-config.cpu_template \"T2A\"" */
};

/*
 * Per vCPU (@vcpu_fd, KVM's vCPU @id): CPUID, MSRs, FPU, LAPIC; on vCPU 0 also
 * the boot registers. 0, or -errno after logging what failed.
 */
int arch_vcpu_init(int vcpu_fd, unsigned int id, const struct arch_vcpu_info *info);

/*
 * One KVM ioctl; on failure logs "[vcpu ID: ]NAME: error" (no vCPU when
 * @vcpu_id < 0) and returns -errno, saved before logging can change it.
 */
int arch_kvm_ioctl(int fd, unsigned long req, void *arg, const char *name, int vcpu_id);

/* What the guest reads at boot, and nothing more of the VM (the VM builds it). */
struct arch_boot_info {
	const struct guest_mem *mem;
	unsigned int nr_vcpus;
	enum arch_boot_proto proto;
	const char *cmdline; /* NUL-terminated, shorter than LAYOUT_CMDLINE_MAX */
	/* A bzImage's setup header (from file offset 0x1f1) for the zero page; 0 for an ELF. */
	const uint8_t *setup_hdr;
	size_t setup_hdr_len;
	uint64_t initrd_addr;
	uint64_t initrd_size;		  /* 0: no initrd */
	const struct acpi_mmio_dev *devs; /* the virtio-mmio devices: window and GSI */
	unsigned int nr_devs;
};

/*
 * Writes the command line, e820 map, MP table, ACPI tables and either the PVH
 * start info or the Linux zero page (by @bi->proto). 0, or -errno (logged):
 * -E2BIG for a line too long, -EINVAL for a setup header too long, or what the
 * table writers return.
 */
int arch_boot_tables(const struct arch_boot_info *bi);

/* The e820 map of guest RAM. */
#define E820_RAM      1
#define E820_RESERVED 2
struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
};
#define E820_MAX 8
/* Fills @tbl (at most @max) and returns the number of entries, or -ENOSPC. */
int e820_build(const struct guest_mem *gm, struct e820_entry *tbl, unsigned int max);

/* Writes the Intel MP table for @nr_cpus CPUs in the EBDA. 0 or -errno. */
int mptable_write(const struct guest_mem *gm, unsigned int nr_cpus);

/*
 * Rewrites the supported-CPUID list for vCPU @id of @nr: APIC ids, topology
 * leaves (1, 4, 0xb, 0x1f, 0x80000008, 0x8000001e), the hypervisor bit, no
 * PMU, and the brand string @brand (48 bytes, NUL-padded).
 */
void cpuid_normalize(struct kvm_cpuid2 *cpuid, unsigned int id, unsigned int nr, bool smt,
		     const char brand[48]);

/* The host CPU's brand string, trimmed and NUL-padded to 48 bytes. */
void cpuid_host_brand(char brand[48]);

/*
 * kvm_pvm: called on KVM_EXIT_INTERNAL_ERROR / emulation failure of vCPU @id
 * (@vcpu_fd), whose code @gm holds. Completes the instruction at rip if the
 * table knows it and returns its index in the table (the caller counts it);
 * else logs rip and the instruction bytes and returns -ENOTSUP (-errno when
 * reading or setting the registers failed).
 */
int pvm_complete(int vcpu_fd, unsigned int id, const struct guest_mem *gm);

/*
 * The TSC rate KVM gives the vCPU on @vcpu_fd (KVM_GET_TSC_KHZ), in kHz: > 0,
 * 0 when KVM has none, or -errno. Does not log.
 */
int arch_tsc_khz(int vcpu_fd);

/*
 * Rewrites the command line in guest memory (and its length in the zero page,
 * for ARCH_BOOT_LINUX64) after arch_boot_tables(). 0, or -errno (logged).
 */
int arch_update_cmdline(const struct guest_mem *gm, enum arch_boot_proto proto,
			const char *cmdline);

/* The completion table's names, for statistics: at most PVM_COMPLETIONS_MAX. */
#define PVM_COMPLETIONS_MAX 8
unsigned int pvm_completion_count(void);
const char *pvm_completion_name(unsigned int i);

/*
 * --- snapshots (vcpu_state.c): the KVM state of a vCPU and of the VM, as
 * sections of the state file (core/state.h). Every function logs one line
 * saying what failed and returns -errno; restore reads and bounds a whole
 * section before the first KVM call. ---
 */

/* What saving needs to know of this KVM once per VM. */
struct arch_snapshot_caps {
	uint32_t *msrs; /* KVM_GET_MSR_INDEX_LIST: the MSRs saved (those that read back) */
	uint32_t nr_msrs;
	size_t xsave_size; /* KVM_CAP_XSAVE2's size, at least struct kvm_xsave's 4096 */
	bool xsave2;	   /* KVM_GET_XSAVE2 exists */
	bool pvm;	   /* kvm_pvm: the guest's TSC cannot be set back (vcpu_state.c) */
};
int arch_snapshot_caps_init(struct arch_snapshot_caps *c, int kvm_fd, int vm_fd, bool pvm);
void arch_snapshot_caps_free(struct arch_snapshot_caps *c);

/*
 * Section "vcpu"/@id: TSC rate, MP state, registers, special registers,
 * XSAVE, XCRs, debug registers, LAPIC, CPUID (KVM_GET_CPUID2), every MSR of
 * @c that reads back, pending events. The vCPU is out of KVM_RUN (paused).
 */
int arch_vcpu_save(int vcpu_fd, unsigned int id, const struct arch_snapshot_caps *c,
		   struct state_writer *w);
/*
 * Sets vCPU @id (created, never run) from its section of @f, in KVM's order
 * (vcpu_state.c says which and why); on hardware KVM also the TSC (rate and
 * IA32_TSC, as Firecracker); on kvm_pvm the TSC cannot be set back.
 */
int arch_vcpu_restore(int vcpu_fd, unsigned int id, const struct arch_snapshot_caps *c,
		      const struct state_file *f);

/* Section "vm"/0: PIT2, KVM clock, PIC master, PIC slave, IOAPIC. */
int arch_vm_save(int vm_fd, struct state_writer *w);
/* After the vCPUs; @clock_realtime: KVM_CLOCK_REALTIME (kvmclock moves on by the time since). */
int arch_vm_restore(int vm_fd, const struct state_file *f, bool clock_realtime);

/*
 * Orders @n saved MSRs for KVM_SET_MSRS: IA32_TSC_DEADLINE moved to the end
 * (after IA32_TSC), a zero deadline replaced by the TSC's value (Firecracker's
 * fix for a lost timer). Returns how many come before the deferred ones.
 */
unsigned int arch_msrs_for_restore(struct kvm_msr_entry *e, unsigned int n);

#endif
