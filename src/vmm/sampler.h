/* SPDX-License-Identifier: Apache-2.0 */
/*
 * --sample-rip (sampler.c): where an interpreted guest kernel spends its time.
 */
#ifndef EMBER_VMM_SAMPLER_H
#define EMBER_VMM_SAMPLER_H

#include "core/event_loop.h"

#include <time.h>

struct vm;
struct vcpu;

/*
 * --sample-rip: a timer on the event loop pokes every vCPU out of KVM_RUN every
 * period; each records "<vcpu> <ms since start> 0x<rip> <cpl>" in the file
 * (scripts/guest-profile.py symbolizes it with the guest's System.map). Where
 * an interpreted guest kernel spends its time, found from the outside.
 */
struct rip_sampler {
	int fd; /* the samples file, -1: off */
	struct ev_handler timer_h;
	struct timespec start;
};

int vm_sampler_start(struct vm *vm, const char *path, unsigned int period_ms);
void vm_sampler_stop(struct vm *vm);
void vcpu_sample(struct vcpu *vcpu);
void vcpu_poke(struct vcpu *vcpu);

#endif
