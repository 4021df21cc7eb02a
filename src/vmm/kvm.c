// SPDX-License-Identifier: Apache-2.0
/* Opening /dev/kvm and checking what ember needs of it. */
#include "arch/x86_64/arch.h"
#include "seccomp/seccomp.h"
#include "vmm/vm.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS"},
};

bool kvm_host_is_pvm(void)
{
	/* kvm_pvm registers itself as a module; hardware KVM is kvm_intel / kvm_amd. */
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

#define KVM_LATE_HURRY_NS (500 * 1000) /* see late_hurry */

/*
 * The reinjection's second synchronize_srcu is expedited only if it comes 25
 * us or more after the first one's end (SRCU's holdoff); else it waits a
 * normal grace period (a jiffy's delay to start, one more to wake the waiter:
 * ~16 ms here). What sits between them is mostly this thread's wake-up, which
 * on a small host's SRCU comes from a worker on the boot CPU: woken there, the
 * thread is back within the holdoff; woken from another CPU, an IPI later, it
 * mostly is not. Measured here (hello.elf, 25 runs): 5-8 fast reinjections
 * on any CPU, 21-22 off CPU 0. A hint for this thread alone: it only waits.
 */
static void late_off_boot_cpu(void)
{
	cpu_set_t set;

	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 1 && CPU_ISSET(0, &set)) {
		CPU_CLR(0, &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
}

/*
 * The prep thread's second life, once the VM it made is handed over (its own
 * filter is in already): vCPU 0's first exit, then reinjection off. @l->state
 * is BUSY from before it looks at @l->cancel a second time until the ioctl has
 * returned: a teardown that sets cancel and then sees it not BUSY knows no
 * reinjection will start.
 */
static void late_run(struct kvm_late *l)
{
	while (sem_wait(&l->go) && errno == EINTR)
		;
	if (!atomic_load(&l->cancel)) {
		atomic_store(&l->state, KVM_LATE_BUSY);
		if (!atomic_load(&l->cancel)) {
			/* The VMM thread hurries the grace periods while this one waits. */
			if (l->hurry_h.fd >= 0)
				ev_timer_arm(&l->hurry_h, KVM_LATE_HURRY_NS, 0);
			arch_vm_prep_late(l->vm_fd);
		}
	}
	atomic_store(&l->state, KVM_LATE_DONE);
}

void kvm_late_init(struct kvm_late *l, const struct seccomp_prog *filter,
		   struct event_loop *hurry_loop)
{
	memset(l, 0, sizeof(*l));
	l->vm_fd = -1;
	l->filter = filter;
	l->hurry_loop = hurry_loop;
	l->hurry_h.fd = -1;
}

/* In the prep thread, which goes on as @l's thread; false: it cannot. */
static bool kvm_late_arm(struct kvm_late *l, int vm_fd)
{
	if (sem_init(&l->go, 0, 0))
		return false;
	l->vm_fd = vm_fd;
	atomic_init(&l->cancel, false);
	atomic_init(&l->posted, false);
	atomic_init(&l->state, KVM_LATE_WAITING);
	l->thread = pthread_self();
	l->threaded = true;
	return true;
}

void kvm_late_go(struct kvm_late *l)
{
	if (l->threaded && !atomic_exchange(&l->posted, true))
		sem_post(&l->go);
}

/*
 * When the reinjection's second synchronize_srcu comes too soon after its first
 * (SRCU's expedited holdoff; see late_off_boot_cpu) it waits a normal grace
 * period, ~16 ms here, which a VM shorter than that would wait for at its end; an
 * expedited grace period requested meanwhile on the same SRCU
 * (arch_vm_hurry_irq_srcu) drives it without the delays: 4.7-7.5 ms measured.
 * The VMM thread asks for one 0.5 ms into the reinjection (past its first,
 * quick grace period), and at the VM's end while it still waits; each blocks
 * that thread until a grace period ends (ms, once, early in the guest's life,
 * when its event loop has little to do).
 */
#define KVM_LATE_END_HURRIES 4
static void late_hurry(struct kvm_late *l, int times)
{
	for (int i = 0; l->hurry_loop && i < times && atomic_load(&l->state) == KVM_LATE_BUSY; i++)
		arch_vm_hurry_irq_srcu(l->vm_fd);
}

static void late_hurry_due(struct ev_handler *h, uint32_t events)
{
	(void)events;
	if (ev_timer_consume(h))
		late_hurry(h->opaque, 1);
}

/* The VMM thread, once the prep thread stays as @l's: its hurry, if allowed. */
static void kvm_late_watch(struct kvm_late *l)
{
	if (l->hurry_loop && ev_timer_create(l->hurry_loop, &l->hurry_h, late_hurry_due, l))
		l->hurry_h.fd = -1; /* the end's hurry is left */
}

void kvm_late_stop(struct kvm_late *l)
{
	if (!l->threaded)
		return;
	atomic_store(&l->cancel, true);
	if (!atomic_exchange(&l->posted, true))
		sem_post(&l->go);
	late_hurry(l, KVM_LATE_END_HURRIES);
	pthread_join(l->thread, NULL);
	sem_destroy(&l->go);
	ev_timer_destroy(l->hurry_loop, &l->hurry_h);
	l->threaded = false;
}

/* Formats the one-line failure for the caller to log (the thread itself does not log). */
__attribute__((format(printf, 2, 3))) static int prep_fail(struct kvm_prep *p, const char *fmt, ...)
{
	int err = errno ? -errno : -ENOTSUP;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->msg, sizeof(p->msg), fmt, ap);
	va_end(ap);
	p->err = err;
	return err;
}

static int kvm_add_slots(struct kvm_prep *p)
{
	for (unsigned int i = 0; i < p->mem->nr_regions; i++) {
		const struct guest_region *r = &p->mem->regions[i];
		struct kvm_userspace_memory_region region = {
		    .slot = i,
		    .flags = p->dirty_log ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uintptr_t)r->hva,
		};

		errno = 0;
		if (ioctl(p->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
			return prep_fail(
			    p, "KVM_SET_USER_MEMORY_REGION slot %u (gpa 0x%llx, %llu MiB): %s", i,
			    (unsigned long long)r->gpa, (unsigned long long)(r->size >> 20),
			    strerror(errno));
	}
	return 0;
}

/* /dev/kvm opened and checked, the VM created: kvm_prepare's first half. */
static int kvm_open_vm(struct kvm_prep *p)
{
	int ret;

	errno = 0;
	p->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (p->kvm_fd < 0) {
		if (errno == ENOENT)
			return prep_fail(p, "/dev/kvm does not exist: this host has no KVM (load "
					    "kvm_intel, kvm_amd or kvm_pvm, or run on a host with "
					    "virtualization)");
		if (errno == EACCES || errno == EPERM)
			return prep_fail(p,
					 "/dev/kvm: permission denied: run as a user with "
					 "read-write access to /dev/kvm (e.g. in the kvm group)");
		return prep_fail(p, "/dev/kvm: cannot open: %s", strerror(errno));
	}
	ret = ioctl(p->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		errno = ENOTSUP;
		return prep_fail(p, "/dev/kvm: KVM API version %d, ember needs %d", ret,
				 KVM_API_VERSION);
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(p->kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			errno = ENOTSUP;
			return prep_fail(p, "/dev/kvm: missing required capability %s",
					 required_caps[i].name);
		}
	}
	p->max_vcpus = ioctl(p->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	p->vm_fd = ioctl(p->kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm_fd < 0)
		return prep_fail(p, "KVM_CREATE_VM: %s", strerror(errno));
	return 0;
}

static int kvm_prepare(struct kvm_prep *p)
{
	int ret;

	/* A prewarmed VM has its IRQ chip, settled: only guest RAM to add. */
	if (p->prewarmed)
		return kvm_add_slots(p);
	ret = kvm_open_vm(p);
	/*
	 * Memory slots before the IRQ chip: right after the irqchip's creation,
	 * a memslot change waits for KVM's SRCU grace periods (milliseconds).
	 */
	if (!ret)
		ret = kvm_add_slots(p);
	if (ret)
		return ret;
	ret = arch_vm_prep(p->vm_fd, p->msg, sizeof(p->msg));
	if (ret)
		p->err = ret;
	return ret;
}

/* The supported CPUID list: a system ioctl, run by the caller while the thread works. */
static int kvm_fetch_cpuid(struct kvm_prep *p)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	p->cpuid = calloc(1, sizeof(*p->cpuid) + KVM_PREP_CPUID_MAX * sizeof(p->cpuid->entries[0]));
	if (fd < 0 || !p->cpuid) {
		if (fd >= 0)
			close(fd);
		return prep_fail(p, "/dev/kvm: cannot fetch the supported CPUID: %s",
				 strerror(errno ? errno : ENOMEM));
	}
	p->cpuid->nent = KVM_PREP_CPUID_MAX;
	if (ioctl(fd, KVM_GET_SUPPORTED_CPUID, p->cpuid) < 0) {
		prep_fail(p, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		close(fd);
		return p->err;
	}
	close(fd);
	return 0;
}

/*
 * The VM is handed over with p->ready, not by ending: the thread goes on as the
 * VM's late thread (a prewarmed VM's reinjection is off already), which saves
 * the process a thread's creation, stack and filter per VM.
 */
static void *prep_thread(void *arg)
{
	struct kvm_prep *p = arg;
	struct kvm_late *late = NULL;

	kvm_prepare(p);
	p->pvm = kvm_host_is_pvm();
	/*
	 * Staying on: its filter before the handover, so that it never runs
	 * unfiltered while the guest does (failing, it ends: reinjection stays on
	 * and the VM's teardown waits instead).
	 */
	if (!p->err && !p->prewarmed && p->late) {
		late_off_boot_cpu();
		if (!seccomp_install(p->late->filter) && kvm_late_arm(p->late, p->vm_fd))
			late = p->late;
	}
	p->stays = late != NULL;
	sem_post(&p->ready); /* @p is the caller's again: not to be touched */
	if (late)
		late_run(late);
	return NULL;
}

static void *prewarm_thread(void *arg)
{
	struct kvm_prewarm *w = arg;

	if (!kvm_open_vm(&w->prep)) {
		int ret = arch_vm_prep(w->prep.vm_fd, w->prep.msg, sizeof(w->prep.msg));

		if (ret)
			w->prep.err = ret;
		else /* no vCPU yet to wait for: the process idles */
			arch_vm_prep_late(w->prep.vm_fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &w->done_at);
	atomic_store_explicit(&w->done, true, memory_order_release);
	return NULL;
}

void kvm_prewarm_start(struct kvm_prewarm *w)
{
	memset(w, 0, sizeof(*w));
	w->prep.kvm_fd = w->prep.vm_fd = -1;
	atomic_init(&w->done, false);
	w->started = !pthread_create(&w->thread, NULL, prewarm_thread, w);
}

void kvm_prewarm_release(struct kvm_prewarm *w)
{
	if (!w->started)
		return;
	pthread_join(w->thread, NULL);
	w->started = false;
	if (w->prep.vm_fd >= 0)
		close(w->prep.vm_fd);
	if (w->prep.kvm_fd >= 0)
		close(w->prep.kvm_fd);
	w->prep.vm_fd = w->prep.kvm_fd = -1;
}

/* Takes @w's VM if it is ready, sound and settled; never waits for it. */
static bool take_prewarmed(struct kvm_prep *p, struct kvm_prewarm *w)
{
	struct timespec now;

	if (!w || !w->started || !atomic_load_explicit(&w->done, memory_order_acquire) ||
	    w->prep.err || w->prep.vm_fd < 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - w->done_at.tv_sec) * 1000000000LL + (now.tv_nsec - w->done_at.tv_nsec) <
	    KVM_PREWARM_SETTLE_NS)
		return false;
	p->kvm_fd = w->prep.kvm_fd;
	p->vm_fd = w->prep.vm_fd;
	p->max_vcpus = w->prep.max_vcpus;
	w->prep.kvm_fd = w->prep.vm_fd = -1;
	p->prewarmed = true;
	return true;
}

int kvm_prep_start(struct kvm_prep *p, const struct guest_mem *mem, bool dirty_log,
		   struct kvm_prewarm *w, struct kvm_late *late)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->kvm_fd = p->vm_fd = -1;
	p->mem = mem;
	p->dirty_log = dirty_log;
	p->late = late;
	take_prewarmed(p, w);
	ret = sem_init(&p->ready, 0, 0);
	if (!ret) {
		ret = pthread_create(&p->thread, NULL, prep_thread, p);
		if (ret)
			sem_destroy(&p->ready);
	}
	if (ret) {
		/* No thread: do the work here, serially; nothing turns reinjection off. */
		kvm_prepare(p);
		p->pvm = kvm_host_is_pvm();
		return 0;
	}
	p->threaded = true;
	return 0;
}

int kvm_prep_finish(struct kvm_prep *p)
{
	struct kvm_prep mine = {.err = 0};
	bool fetch = p->threaded && !p->cpuid;

	/* The CPUID fetch runs here, in parallel with the thread's VM creation. */
	if (fetch)
		kvm_fetch_cpuid(&mine);
	if (p->threaded) {
		while (sem_wait(&p->ready) && errno == EINTR)
			;
		if (!p->stays) /* else kvm_late_stop joins it */
			pthread_join(p->thread, NULL);
		else
			kvm_late_watch(p->late);
		sem_destroy(&p->ready);
		p->threaded = false;
	}
	if (fetch) {
		p->cpuid = mine.cpuid;
		if (!p->err && mine.err) {
			p->err = mine.err;
			memcpy(p->msg, mine.msg, sizeof(p->msg));
		}
	} else if (!p->err && !p->cpuid) {
		kvm_fetch_cpuid(p);
	}
	return p->err;
}

void kvm_prep_release(struct kvm_prep *p)
{
	kvm_prep_finish(p);
	if (p->late && p->vm_fd >= 0)
		kvm_late_stop(p->late);
	if (p->vm_fd >= 0)
		close(p->vm_fd);
	if (p->kvm_fd >= 0)
		close(p->kvm_fd);
	free(p->cpuid);
	p->vm_fd = p->kvm_fd = -1;
	p->cpuid = NULL;
}

int kvm_call(int fd, unsigned long req, void *arg, const char *name, const struct vcpu *vcpu)
{
	return arch_kvm_ioctl(fd, req, arg, name, vcpu ? (int)vcpu->id : -1);
}
