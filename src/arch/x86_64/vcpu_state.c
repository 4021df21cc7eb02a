// SPDX-License-Identifier: Apache-2.0
/*
 * Snapshots: a vCPU's and the VM's KVM state, saved into and restored from
 * the state file's sections (core/state.h). Each KVM structure is one
 * length-prefixed blob (KVM's x86 UAPI structs are little-endian and fixed
 * in size; the reader checks every length before using a byte); the MSRs are
 * (index, value) pairs and CPUID a list of entries, both bounded.
 *
 * The order of the ioctls is KVM's and Firecracker's (vstate/vcpu, arch/x86_64):
 * save reads MP_STATE first (it may change the LAPIC), VCPU_EVENTS last; restore
 * sets CPUID first (the other SETs check against it), then MP_STATE, REGS
 * (which clears pending exceptions: before VCPU_EVENTS), SREGS (it carries the
 * APIC base: before LAPIC), XSAVE, XCRS, DEBUGREGS, LAPIC (before the MSRs: the
 * TSC deadline only takes with the LAPIC set up), the MSRs (IA32_TSC before
 * IA32_TSC_DEADLINE) and the events last. The FPU goes through XSAVE, never
 * KVM_GET/SET_FPU: a probe on kvm_pvm lost FPU state through those in 4 of 20
 * restores and never through XSAVE.
 */
#include "arch/x86_64/arch.h"
#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define MSR_IA32_TSC	      0x10
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_CHUNK	      128  /* entries per KVM_GET/SET_MSRS (KVM takes < 256) */
#define MSR_LIST_MAX	      1024 /* bound on KVM_GET_MSR_INDEX_LIST and a saved list */
#define XSAVE_LEGACY_SIZE     4096 /* struct kvm_xsave */
#define XSAVE_MAX	      (64 * 1024)
#define CPUID_MAX	      256
/* Firecracker's (and QEMU's) tolerance before scaling the TSC: 250 parts per million. */
#define TSC_KHZ_TOL_PPM 250

int arch_snapshot_caps_init(struct arch_snapshot_caps *c, int kvm_fd, int vm_fd, bool pvm)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	struct kvm_msr_list *list;
	int size;

	memset(c, 0, sizeof(*c));
	c->pvm = pvm;
	/* The first call fails with E2BIG and says how many there are. */
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG) {
		log_error("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return -errno;
	}
	if (probe.nmsrs > MSR_LIST_MAX)
		probe.nmsrs = MSR_LIST_MAX;
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	if (!list)
		return -ENOMEM;
	list->nmsrs = probe.nmsrs;
	if (ioctl(kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		int err = -errno;

		log_error("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		free(list);
		return err;
	}
	c->msrs = malloc((list->nmsrs ? list->nmsrs : 1) * sizeof(c->msrs[0]));
	if (!c->msrs) {
		free(list);
		return -ENOMEM;
	}
	memcpy(c->msrs, list->indices, list->nmsrs * sizeof(c->msrs[0]));
	c->nr_msrs = list->nmsrs;
	free(list);
	/* KVM_CAP_XSAVE2 (a VM capability): the buffer size XSAVE2 needs; 0 without it. */
	size = ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	c->xsave_size = size > XSAVE_LEGACY_SIZE ? (size_t)size : XSAVE_LEGACY_SIZE;
	c->xsave2 = size > 0;
	if (c->xsave_size > XSAVE_MAX) {
		log_error("KVM_CAP_XSAVE2: %d bytes of XSAVE state, more than ember saves (%d)",
			  size, XSAVE_MAX);
		arch_snapshot_caps_free(c);
		return -ENOTSUP;
	}
	return 0;
}

void arch_snapshot_caps_free(struct arch_snapshot_caps *c)
{
	free(c->msrs);
	c->msrs = NULL;
	c->nr_msrs = 0;
}

/* One ioctl on vCPU @id, logged by name on failure. */
#define VCPU_IOCTL(fd, id, req, arg) arch_kvm_ioctl((fd), (req), (arg), #req, (int)(id))
#define VM_IOCTL(fd, req, arg)	     arch_kvm_ioctl((fd), (req), (arg), #req, -1)

/* --- the MSRs --- */

/*
 * Reads every MSR of @idx that KVM lets this vCPU read: a refused one
 * (KVM_GET_MSRS stops at it) is left out. Fills @out; returns the count or -errno.
 */
static int read_msrs(int fd, unsigned int id, const uint32_t *idx, uint32_t n,
		     struct kvm_msr_entry *out)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} req;
	uint32_t pos = 0, got = 0;

	while (pos < n) {
		uint32_t k = n - pos < MSR_CHUNK ? n - pos : MSR_CHUNK;
		int r;

		memset(&req, 0, sizeof(req));
		req.hdr.nmsrs = k;
		for (uint32_t i = 0; i < k; i++)
			req.e[i].index = idx[pos + i];
		r = ioctl(fd, KVM_GET_MSRS, &req);
		if (r < 0) {
			log_error("vcpu %u: KVM_GET_MSRS: %s", id, strerror(errno));
			return -errno;
		}
		memcpy(out + got, req.e, (size_t)r * sizeof(req.e[0]));
		got += (uint32_t)r;
		/* KVM stopped at entry r: that MSR cannot be read here; go on after it. */
		pos += (uint32_t)r + ((uint32_t)r < k ? 1 : 0);
	}
	return (int)got;
}

unsigned int arch_msrs_for_restore(struct kvm_msr_entry *e, unsigned int n)
{
	uint64_t tsc = 0;
	bool have_tsc = false;
	unsigned int deferred = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (e[i].index == MSR_IA32_TSC) {
			tsc = e[i].data;
			have_tsc = true;
		}
	}
	/*
	 * IA32_TSC_DEADLINE last: KVM arms the deadline timer against the TSC, so
	 * it must see the TSC restored first, or a timer in flight is lost.
	 * Firecracker also replaces a deadline of 0 (seen cleared at a snapshot
	 * with its interrupt not yet delivered) with the TSC value, so that the
	 * vCPU keeps getting timer interrupts.
	 */
	for (unsigned int i = 0; i < n - deferred;) {
		if (e[i].index != MSR_IA32_TSC_DEADLINE) {
			i++;
			continue;
		}
		struct kvm_msr_entry d = e[i];

		if (!d.data && have_tsc)
			d.data = tsc;
		memmove(&e[i], &e[i + 1], (n - i - 1) * sizeof(e[0]));
		e[n - 1] = d;
		deferred++;
	}
	return n - deferred;
}

static int write_msrs(int fd, unsigned int id, const struct kvm_msr_entry *e, unsigned int n)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[MSR_CHUNK];
	} req;

	for (unsigned int pos = 0; pos < n;) {
		unsigned int k = n - pos < MSR_CHUNK ? n - pos : MSR_CHUNK;
		int r;

		memset(&req, 0, sizeof(req));
		req.hdr.nmsrs = k;
		memcpy(req.e, e + pos, k * sizeof(e[0]));
		r = ioctl(fd, KVM_SET_MSRS, &req);
		if (r < 0) {
			log_error("vcpu %u: KVM_SET_MSRS: %s", id, strerror(errno));
			return -errno;
		}
		if ((unsigned int)r < k) {
			log_error("vcpu %u: KVM_SET_MSRS refused MSR 0x%x (value 0x%llx)", id,
				  req.e[r].index, (unsigned long long)req.e[r].data);
			return -EINVAL;
		}
		pos += k;
	}
	return 0;
}

/* --- one vCPU --- */

/* Everything a vCPU section holds, read in full before any of it goes to KVM. */
struct vcpu_state {
	uint32_t tsc_khz; /* 0: KVM did not say */
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	uint8_t *xsave; /* xsave_len bytes */
	uint32_t xsave_len;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs dregs;
	struct kvm_lapic_state lapic;
	struct kvm_cpuid2 *cpuid; /* CPUID_MAX entries of room */
	struct kvm_msr_entry *msrs;
	uint32_t nr_msrs;
	struct kvm_vcpu_events events;
};

static void vcpu_state_free(struct vcpu_state *s)
{
	free(s->xsave);
	free(s->cpuid);
	free(s->msrs);
}

static int vcpu_state_alloc(struct vcpu_state *s, size_t xsave, uint32_t msrs)
{
	memset(s, 0, sizeof(*s));
	s->xsave = calloc(1, xsave);
	s->cpuid = calloc(1, sizeof(*s->cpuid) + CPUID_MAX * sizeof(s->cpuid->entries[0]));
	s->msrs = calloc(msrs ? msrs : 1, sizeof(s->msrs[0]));
	if (!s->xsave || !s->cpuid || !s->msrs) {
		vcpu_state_free(s);
		return -ENOMEM;
	}
	return 0;
}

/* KVM_GET_CPUID2 without the empty entries it may leave at the end (Firecracker does this too). */
static int get_cpuid(int fd, unsigned int id, struct kvm_cpuid2 *c)
{
	int ret;

	c->nent = CPUID_MAX;
	ret = VCPU_IOCTL(fd, id, KVM_GET_CPUID2, c);
	if (ret)
		return ret;
	while (c->nent) {
		const struct kvm_cpuid_entry2 *e = &c->entries[c->nent - 1];

		if (e->function || e->index || e->flags || e->eax)
			break;
		c->nent--;
	}
	return 0;
}

int arch_vcpu_save(int vcpu_fd, unsigned int id, const struct arch_snapshot_caps *c,
		   struct state_writer *w)
{
	struct vcpu_state s;
	int khz, n, ret;

	ret = vcpu_state_alloc(&s, c->xsave_size, c->nr_msrs);
	if (ret)
		return ret;
	/* MP_STATE first: reading it runs KVM's pending APIC events, which may change the rest. */
	ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_MP_STATE, &s.mp);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_REGS, &s.regs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_SREGS, &s.sregs);
	if (!ret)
		ret = c->xsave2 ? VCPU_IOCTL(vcpu_fd, id, KVM_GET_XSAVE2, s.xsave)
				: VCPU_IOCTL(vcpu_fd, id, KVM_GET_XSAVE, s.xsave);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_XCRS, &s.xcrs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_DEBUGREGS, &s.dregs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_LAPIC, &s.lapic);
	if (!ret)
		ret = get_cpuid(vcpu_fd, id, s.cpuid);
	if (!ret) {
		n = read_msrs(vcpu_fd, id, c->msrs, c->nr_msrs, s.msrs);
		ret = n < 0 ? n : 0;
		s.nr_msrs = n < 0 ? 0 : (uint32_t)n;
	}
	/* The events last: the GETs above may have changed what is pending. */
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_GET_VCPU_EVENTS, &s.events);
	if (ret) {
		vcpu_state_free(&s);
		return ret;
	}
	/* Without a TSC rate the snapshot still loads, on a host with the same rate. */
	khz = arch_tsc_khz(vcpu_fd);
	s.tsc_khz = khz > 0 ? (uint32_t)khz : 0;

	state_section_begin(w, "vcpu", id);
	sw_u32(w, s.tsc_khz);
	sw_blob(w, &s.mp, sizeof(s.mp));
	sw_blob(w, &s.regs, sizeof(s.regs));
	sw_blob(w, &s.sregs, sizeof(s.sregs));
	sw_blob(w, s.xsave, (uint32_t)c->xsave_size);
	sw_blob(w, &s.xcrs, sizeof(s.xcrs));
	sw_blob(w, &s.dregs, sizeof(s.dregs));
	sw_blob(w, &s.lapic, sizeof(s.lapic));
	sw_u32(w, s.cpuid->nent);
	sw_bytes(w, s.cpuid->entries, s.cpuid->nent * sizeof(s.cpuid->entries[0]));
	sw_u32(w, s.nr_msrs);
	for (uint32_t i = 0; i < s.nr_msrs; i++) {
		sw_u32(w, s.msrs[i].index);
		sw_u64(w, s.msrs[i].data);
	}
	sw_blob(w, &s.events, sizeof(s.events));
	state_section_end(w);
	vcpu_state_free(&s);
	return 0;
}

/* A KVM struct of exactly @n bytes. */
static void get_struct(struct state_reader *r, void *p, size_t n)
{
	if (sr_blob(r, p, (uint32_t)n) != n)
		sr_fail(r);
}

/* Reads and bounds the whole section: nothing reaches KVM from a section that does not parse. */
static int read_vcpu_section(struct state_reader *r, struct vcpu_state *s)
{
	uint32_t nent;

	s->tsc_khz = sr_u32(r);
	get_struct(r, &s->mp, sizeof(s->mp));
	get_struct(r, &s->regs, sizeof(s->regs));
	get_struct(r, &s->sregs, sizeof(s->sregs));
	s->xsave_len = sr_blob(r, s->xsave, XSAVE_MAX);
	if (s->xsave_len < XSAVE_LEGACY_SIZE)
		sr_fail(r);
	get_struct(r, &s->xcrs, sizeof(s->xcrs));
	get_struct(r, &s->dregs, sizeof(s->dregs));
	get_struct(r, &s->lapic, sizeof(s->lapic));
	nent = sr_u32(r);
	if (nent > CPUID_MAX)
		sr_fail(r);
	else
		sr_bytes(r, s->cpuid->entries, nent * sizeof(s->cpuid->entries[0]));
	s->cpuid->nent = nent;
	s->nr_msrs = sr_u32(r);
	if (s->nr_msrs > MSR_LIST_MAX) {
		sr_fail(r);
		s->nr_msrs = 0;
	}
	for (uint32_t i = 0; i < s->nr_msrs && sr_ok(r); i++) {
		s->msrs[i].index = sr_u32(r);
		s->msrs[i].data = sr_u64(r);
	}
	get_struct(r, &s->events, sizeof(s->events));
	return sr_ok(r) ? 0 : -EINVAL;
}

/*
 * The TSC rate, before anything else: scaled to the saved rate when this host's
 * differs by more than the tolerance (Firecracker's rule). On kvm_pvm nothing
 * can be done: the guest's user-mode rdtsc runs natively and reads the host's
 * TSC, whose rate and value no ioctl changes; IA32_TSC is still written back
 * with the other MSRs (KVM's own view of it), but a restored guest sees its
 * TSC jump by the time since the snapshot.
 */
static int restore_tsc_khz(int fd, unsigned int id, const struct arch_snapshot_caps *c,
			   uint32_t saved)
{
	int now = arch_tsc_khz(fd);
	long long diff;

	if (c->pvm || !saved || now <= 0)
		return 0;
	diff = (long long)now - (long long)saved;
	if (diff < 0)
		diff = -diff;
	if (diff * 1000000LL <= (long long)saved * TSC_KHZ_TOL_PPM)
		return 0;
	if (ioctl(fd, KVM_SET_TSC_KHZ, (unsigned long)saved) < 0) {
		log_error("vcpu %u: KVM_SET_TSC_KHZ %u (this host runs at %d kHz): %s", id, saved,
			  now, strerror(errno));
		return -errno;
	}
	return 0;
}

int arch_vcpu_restore(int vcpu_fd, unsigned int id, const struct arch_snapshot_caps *c,
		      const struct state_file *f)
{
	size_t xsave_room = c->xsave_size > XSAVE_MAX ? c->xsave_size : XSAVE_MAX;
	struct state_reader r;
	struct vcpu_state s;
	unsigned int regular;
	int ret;

	if (state_section_find(f, "vcpu", id, &r)) {
		log_error("vcpu %u: the state file has no state for it", id);
		return -EINVAL;
	}
	ret = vcpu_state_alloc(&s, xsave_room, MSR_LIST_MAX);
	if (ret)
		return ret;
	if (read_vcpu_section(&r, &s)) {
		log_error("vcpu %u: its state in the file is corrupt", id);
		vcpu_state_free(&s);
		return -EINVAL;
	}
	regular = arch_msrs_for_restore(s.msrs, s.nr_msrs);

	ret = restore_tsc_khz(vcpu_fd, id, c, s.tsc_khz);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_CPUID2, s.cpuid);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_MP_STATE, &s.mp);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_REGS, &s.regs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_SREGS, &s.sregs);
	/* KVM_SET_XSAVE takes as many bytes as KVM_CAP_XSAVE2 says: the buffer has that room. */
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_XSAVE, s.xsave);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_XCRS, &s.xcrs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_DEBUGREGS, &s.dregs);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_LAPIC, &s.lapic);
	if (!ret)
		ret = write_msrs(vcpu_fd, id, s.msrs, regular);
	if (!ret)
		ret = write_msrs(vcpu_fd, id, s.msrs + regular, s.nr_msrs - regular);
	if (!ret)
		ret = VCPU_IOCTL(vcpu_fd, id, KVM_SET_VCPU_EVENTS, &s.events);
	/*
	 * Tell a kvmclock guest it was stopped, so its soft-lockup watchdog does
	 * not fire; EINVAL when the guest has no kvmclock (kvm_pvm's profile
	 * boots Linux with nopv): not an error.
	 */
	if (!ret)
		ioctl(vcpu_fd, KVM_KVMCLOCK_CTRL, 0);
	vcpu_state_free(&s);
	return ret;
}

/* --- the VM: PIT, clock, interrupt controllers --- */

static const struct {
	uint32_t chip;
	const char *name;
} irqchips[] = {
    {KVM_IRQCHIP_PIC_MASTER, "PIC master"},
    {KVM_IRQCHIP_PIC_SLAVE, "PIC slave"},
    {KVM_IRQCHIP_IOAPIC, "IOAPIC"},
};

int arch_vm_save(int vm_fd, struct state_writer *w)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	int ret;

	memset(&pit, 0, sizeof(pit));
	memset(&clock, 0, sizeof(clock));
	memset(chips, 0, sizeof(chips));
	ret = VM_IOCTL(vm_fd, KVM_GET_PIT2, &pit);
	if (!ret)
		ret = VM_IOCTL(vm_fd, KVM_GET_CLOCK, &clock);
	for (size_t i = 0; !ret && i < 3; i++) {
		chips[i].chip_id = irqchips[i].chip;
		ret = VM_IOCTL(vm_fd, KVM_GET_IRQCHIP, &chips[i]);
	}
	if (ret)
		return ret;
	/* KVM_SET_CLOCK refuses this flag: it only describes the host. */
	clock.flags &= ~(uint32_t)KVM_CLOCK_TSC_STABLE;
	state_section_begin(w, "vm", 0);
	sw_blob(w, &pit, sizeof(pit));
	sw_blob(w, &clock, sizeof(clock));
	for (size_t i = 0; i < 3; i++)
		sw_blob(w, &chips[i], sizeof(chips[i]));
	state_section_end(w);
	return 0;
}

int arch_vm_restore(int vm_fd, const struct state_file *f, bool clock_realtime)
{
	struct kvm_irqchip chips[3];
	struct kvm_pit_state2 pit;
	struct kvm_clock_data clock;
	struct state_reader r;
	int ret;

	if (state_section_find(f, "vm", 0, &r)) {
		log_error("the state file has no VM state (PIT, clock, interrupt controllers)");
		return -EINVAL;
	}
	get_struct(&r, &pit, sizeof(pit));
	get_struct(&r, &clock, sizeof(clock));
	for (size_t i = 0; i < 3; i++) {
		get_struct(&r, &chips[i], sizeof(chips[i]));
		if (chips[i].chip_id != irqchips[i].chip)
			sr_fail(&r);
	}
	if (!sr_ok(&r)) {
		log_error(
		    "the VM's state in the file is corrupt (PIT, clock, interrupt controllers)");
		return -EINVAL;
	}
	/*
	 * kvmclock resumes where it stood at the snapshot, unless the load asked
	 * for KVM_CLOCK_REALTIME: then KVM moves it on by the wall-clock time
	 * since (only when the saved clock carries its realtime stamp, i.e. the
	 * host clock is TSC-based), as Firecracker's clock_realtime does.
	 */
	clock.flags = clock_realtime ? (clock.flags & KVM_CLOCK_REALTIME) : 0;
	ret = VM_IOCTL(vm_fd, KVM_SET_PIT2, &pit);
	if (!ret)
		ret = VM_IOCTL(vm_fd, KVM_SET_CLOCK, &clock);
	for (size_t i = 0; !ret && i < 3; i++) {
		ret = VM_IOCTL(vm_fd, KVM_SET_IRQCHIP, &chips[i]);
		if (ret)
			log_error("restoring the %s", irqchips[i].name);
	}
	return ret;
}
