/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /dev/kvm: the VM's KVM set-up, prepared in parallel (kvm.c), and the one
 * ioctl wrapper every KVM call goes through.
 */
#ifndef EMBER_VMM_KVM_H
#define EMBER_VMM_KVM_H

#include "core/event_loop.h"
#include "core/guest_mem.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

struct vcpu;
struct seccomp_prog;

/*
 * The VM's late thread: PIT reinjection off (arch_vm_prep_late), which waits
 * in the host kernel for SRCU grace periods (up to ~20 ms here) holding the
 * PIT's lock, which vCPU 0 takes whenever it enters the guest on another host
 * CPU. It is the prep thread going on once the VM is handed over; it waits for
 * vCPU 0's first exit (the guest has entered and its first console byte is
 * out), so the wait overlaps the guest's life and neither its start nor, mostly,
 * the VM's teardown pays it. It installs its own seccomp filter first.
 */
enum { KVM_LATE_WAITING, KVM_LATE_BUSY, KVM_LATE_DONE };
struct kvm_late {
	pthread_t thread;
	bool threaded;
	/* The VMM thread's loop, which hurries the grace periods (NULL: it cannot) */
	struct event_loop *hurry_loop;
	struct ev_handler hurry_h; /* a timer the late thread arms as it starts its ioctl */
	sem_t go;		   /* vCPU 0 has exited once, or the VM ends */
	atomic_bool cancel;	   /* the VM ends: no reinjection if it has not started */
	atomic_bool posted;
	atomic_int state; /* KVM_LATE_* */
	int vm_fd;
	const struct seccomp_prog *filter; /* NULL: seccomp is off */
};
/*
 * @hurry_loop: the loop of the thread that calls kvm_late_stop, if its filter
 * is off or ember's own (a --seccomp-filter file's may not allow
 * KVM_SET_GSI_ROUTING); else NULL.
 */
void kvm_late_init(struct kvm_late *l, const struct seccomp_prog *filter,
		   struct event_loop *hurry_loop);
/* vCPU 0 after a KVM_RUN that entered the guest: the thread may go (once). */
void kvm_late_go(struct kvm_late *l);
/*
 * Before the VM fd closes: cancels the work if it has not started, hurries it
 * if it has (@hurry_loop), waits for the thread.
 */
void kvm_late_stop(struct kvm_late *l);

/*
 * kvm.c: what the VM needs from /dev/kvm, prepared while vm_create() checks its
 * inputs, because KVM's own set-up dominates ember's start-up time: a thread
 * opens /dev/kvm, creates the VM, registers guest RAM, and creates the IRQ chip
 * and PIT, while the caller fetches KVM_GET_SUPPORTED_CPUID in
 * kvm_prep_finish(); then it goes on as the VM's late thread (struct kvm_late).
 */
#define KVM_PREP_CPUID_MAX 256
struct kvm_prep {
	const struct guest_mem *mem; /* mapped before the thread starts, slots 0.. */
	bool dirty_log;
	bool prewarmed; /* kvm_fd and vm_fd came from a kvm_prewarm: only the slots to add */
	pthread_t thread;
	bool threaded;
	sem_t ready;	       /* the thread's work is done: the fields below are set */
	bool stays;	       /* the thread goes on as @late's */
	struct kvm_late *late; /* the VM's (NULL: none) */
	int kvm_fd;
	int vm_fd;
	int max_vcpus; /* KVM_CAP_MAX_VCPUS, <= 0 if unknown */
	bool pvm;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	int err;		  /* 0, or -errno with msg set */
	char msg[256];
};

/*
 * A VM made while the process idles (API mode, before any request): a thread
 * opens /dev/kvm and creates the VM with its TSS, IRQ chip and PIT, which is
 * most of KVM's set-up time (KVM_CREATE_PIT2 alone starts a kernel thread:
 * ~1 ms here). Guest RAM is not known yet, so its slots come later, which is
 * cheap only once KVM's SRCU grace periods after the IRQ chip's creation are
 * over (measured here: a slot costs ~5 ms right after, ~0.25 ms from 10 ms
 * on): kvm_prep_start takes the VM only if it has been ready that long.
 */
#define KVM_PREWARM_SETTLE_NS (15 * 1000000LL)
struct kvm_prewarm {
	pthread_t thread;
	bool started;
	atomic_bool done;	 /* the thread is finished: prep and done_at are set */
	struct kvm_prep prep;	 /* kvm_fd, vm_fd, max_vcpus, err */
	struct timespec done_at; /* CLOCK_MONOTONIC */
};
/* Starts the thread (nothing if it cannot). */
void kvm_prewarm_start(struct kvm_prewarm *w);
/* Waits for the thread and closes what no VM took. */
void kvm_prewarm_release(struct kvm_prewarm *w);

/*
 * Starts preparing a VM for @mem: from @w's VM when it is ready and settled
 * (@w may be NULL), else from scratch, whose set-up thread is @late.
 */
int kvm_prep_start(struct kvm_prep *p, const struct guest_mem *mem, bool dirty_log,
		   struct kvm_prewarm *w, struct kvm_late *late);
/* Fetches the CPUID list, waits for the thread; 0, or -errno with p->msg set. */
int kvm_prep_finish(struct kvm_prep *p);
/* Waits, then closes and frees whatever the VM did not take over. */
void kvm_prep_release(struct kvm_prep *p);
bool kvm_host_is_pvm(void);

/*
 * One KVM ioctl; on failure logs "[vcpu N: ]NAME: error" and returns -errno
 * (saved before logging can change it). KVM_CALL names the request itself.
 */
int kvm_call(int fd, unsigned long req, void *arg, const char *name, const struct vcpu *vcpu);
#define KVM_CALL(fd, req, arg, vcpu) kvm_call((fd), (req), (arg), #req, (vcpu))

#endif
