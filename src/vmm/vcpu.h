/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A vCPU: one thread each, a tight KVM_RUN loop (vcpu.c); exits go to the VM's
 * buses. Its counters feed the "vcpu" metrics.
 */
#ifndef EMBER_VMM_VCPU_H
#define EMBER_VMM_VCPU_H

#include "arch/x86_64/arch.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/*
 * Per-vCPU counters; each written only by its vCPU thread. The metrics read
 * them from the event loop while the vCPU runs: aligned 64-bit loads cannot
 * tear on x86-64, and a count a few exits old is all a metric needs.
 */
struct vcpu_stats {
	uint64_t exits;
	uint64_t exit_io;
	uint64_t exit_io_in, exit_io_out; /* items: a rep string instruction counts each */
	uint64_t exit_mmio;
	uint64_t exit_mmio_read, exit_mmio_write;
	uint64_t io_unhandled;
	uint64_t mmio_unhandled;
	uint64_t failures;
	uint64_t pvm_completions[PVM_COMPLETIONS_MAX]; /* indexed like the table (arch's pvm.c) */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	atomic_bool sample_pending; /* --sample-rip: record rip at the next exit */
	bool entered;		    /* a KVM_RUN has entered the guest (vCPU 0: kvm_late_go) */
	struct vcpu_stats stats;
};

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
void vcpu_dump_state(struct vcpu *vcpu);

#endif
