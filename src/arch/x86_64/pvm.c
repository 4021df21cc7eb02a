// SPDX-License-Identifier: Apache-2.0
/*
 * kvm_pvm support. On PVM hosts the guest kernel's code runs through KVM's
 * instruction emulator, which gives up (KVM_EXIT_INTERNAL_ERROR, emulation
 * failure) on a few instructions a stock kernel executes. Those whose effect
 * the VMM can reproduce exactly are completed here, from one table; anything
 * else stops the VM with the instruction bytes and the vCPU state. On hardware
 * KVM this file never runs (the VM calls it only on kvm_pvm).
 */
#include "arch/x86_64/arch.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#define X86_MAX_INSN  15
#define X86_EFLAGS_AC (1ULL << 18)
#define X86_VEC_BP    3

static int complete_int3(int fd, struct kvm_regs *regs)
{
	struct kvm_vcpu_events ev;

	/*
	 * #BP is a trap: the guest's handler must see the address after the int3.
	 * Advance rip first, then inject the exception as already delivered-pending.
	 */
	regs->rip += 1;
	if (ioctl(fd, KVM_SET_REGS, regs) < 0)
		return -errno;
	if (ioctl(fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -errno;
	ev.exception.injected = 1;
	ev.exception.nr = X86_VEC_BP;
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.flags = 0;
	return ioctl(fd, KVM_SET_VCPU_EVENTS, &ev) < 0 ? -errno : 0;
}

static int complete_clac(int fd, struct kvm_regs *regs)
{
	regs->rflags &= ~X86_EFLAGS_AC;
	regs->rip += 3;
	return ioctl(fd, KVM_SET_REGS, regs) < 0 ? -errno : 0;
}

static int complete_stac(int fd, struct kvm_regs *regs)
{
	regs->rflags |= X86_EFLAGS_AC;
	regs->rip += 3;
	return ioctl(fd, KVM_SET_REGS, regs) < 0 ? -errno : 0;
}

/* fwait with no pending unmasked x87 exception does nothing: the guest masks them all. */
static int complete_fwait(int fd, struct kvm_regs *regs)
{
	regs->rip += 1;
	return ioctl(fd, KVM_SET_REGS, regs) < 0 ? -errno : 0;
}

/* The table: exact opcode bytes (no prefixes) and how to complete them. */
static const struct pvm_completion {
	const char *name;
	uint8_t len;
	uint8_t bytes[3];
	int (*complete)(int fd, struct kvm_regs *regs);
} completions[] = {
    {"int3", 1, {0xcc}, complete_int3},
    {"clac", 3, {0x0f, 0x01, 0xca}, complete_clac},
    {"stac", 3, {0x0f, 0x01, 0xcb}, complete_stac},
    {"fwait", 1, {0x9b}, complete_fwait},
};

_Static_assert(sizeof(completions) / sizeof(completions[0]) <= PVM_COMPLETIONS_MAX,
	       "PVM_COMPLETIONS_MAX is too small for the table");

unsigned int pvm_completion_count(void)
{
	return sizeof(completions) / sizeof(completions[0]);
}

const char *pvm_completion_name(unsigned int i)
{
	return i < pvm_completion_count() ? completions[i].name : NULL;
}

/* Reads up to X86_MAX_INSN bytes at linear address @la, page by page; returns the count. */
static size_t read_insn(int fd, const struct guest_mem *gm, uint64_t la, uint8_t *buf)
{
	size_t got = 0;

	while (got < X86_MAX_INSN) {
		struct kvm_translation tr = {.linear_address = la + got};
		size_t chunk = 4096 - ((la + got) & 0xfff);
		const uint8_t *src;

		if (chunk > X86_MAX_INSN - got)
			chunk = X86_MAX_INSN - got;
		if (ioctl(fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
			break;
		src = gm_ptr(gm, tr.physical_address, chunk);
		if (!src)
			break;
		memcpy(buf + got, src, chunk);
		got += chunk;
	}
	return got;
}

int pvm_complete(int vcpu_fd, unsigned int id, const struct guest_mem *gm)
{
	uint8_t insn[X86_MAX_INSN];
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	char hex[X86_MAX_INSN * 3 + 1] = "";
	uint64_t la;
	size_t n;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &regs) < 0 || ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	/* In 64-bit mode CS's base is ignored; in 32-bit mode it is part of the address. */
	la = regs.rip + (sregs.cs.l ? 0 : sregs.cs.base);
	n = read_insn(vcpu_fd, gm, la, insn);

	for (unsigned int i = 0; i < pvm_completion_count(); i++) {
		const struct pvm_completion *c = &completions[i];
		int ret;

		if (n < c->len || memcmp(insn, c->bytes, c->len))
			continue;
		ret = c->complete(vcpu_fd, &regs);
		if (ret) {
			log_error("vcpu %u: completing %s at rip 0x%llx: %s", id, c->name,
				  (unsigned long long)regs.rip, strerror(-ret));
			return ret;
		}
		return (int)i;
	}

	for (size_t i = 0; i < n; i++)
		snprintf(hex + i * 3, sizeof(hex) - i * 3, "%02x ", insn[i]);
	log_error("vcpu %u: the PVM emulator cannot run the instruction at rip 0x%llx "
		  "(linear 0x%llx): bytes %s%s",
		  id, (unsigned long long)regs.rip, (unsigned long long)la,
		  n ? hex : "(unreadable)", n ? "" : "");
	return -ENOTSUP;
}
