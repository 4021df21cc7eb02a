/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pause and resume (pause.c): every vCPU parked at a consistent point, the
 * event loop's device work held, the device clock stopped.
 */
#ifndef EMBER_VMM_PAUSE_H
#define EMBER_VMM_PAUSE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

/*
 * Pause state. lock guards requested, nr_parked and nr_exited; vCPU threads
 * wait on resume_cv while requested, and vm_pause() waits on parked_cv until
 * every vCPU is parked or gone. `paused` is the event loop's own flag (no
 * device work while set); paused_ns and paused_at make the device clock
 * (vm_clock_ns), changed only while every vCPU is parked.
 */
struct vm_pause {
	pthread_mutex_t lock;
	pthread_cond_t resume_cv;
	pthread_cond_t parked_cv;
	bool ready; /* the lock and conditions are initialized */
	bool requested;
	unsigned int nr_parked;
	unsigned int nr_exited;
	bool paused;
	uint64_t paused_ns; /* CLOCK_MONOTONIC time spent paused, up to the last resume */
	uint64_t paused_at; /* CLOCK_MONOTONIC when the current pause began */
};

/*
 * pause.c: pause and resume, from the event loop's thread, on a started VM.
 * vm_pause() kicks every vCPU out of KVM_RUN (immediate_exit + signal) and
 * returns once each one is parked between two KVM_RUNs (an exit it was
 * handling is finished first) or has ended; the event loop then stops serving
 * console input and every virtio slot (vm_virtio_hold: queue notifications,
 * the devices' runs and watched fds), so no device work happens until
 * vm_resume(). Pausing a paused VM, or resuming a running one, does nothing.
 * 0, or -ESHUTDOWN if the VM is ending.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/*
 * A restored VM (snapshot.c): starts the vCPU threads already paused, each
 * parked before its first KVM_RUN, the loop's device work held; vm_resume()
 * runs them. 0, or -errno (the VM is then asked to end).
 */
int vm_start_paused(struct vm *vm);
/*
 * The device clock (host.h's now_ns), in nanoseconds: CLOCK_MONOTONIC less the
 * time the VM spent paused; it stands still while the VM is paused. Any thread.
 */
uint64_t vm_clock_ns(const struct vm *vm);
/* For vm_create/vm_stop/vm_destroy: set up, wake every parked vCPU (stop), tear down. */
void vm_pause_init(struct vm *vm);
void vm_pause_wake_all(struct vm *vm);
void vm_pause_destroy(struct vm *vm);
/*
 * For vCPU threads: after KVM_RUN returned EINTR/EAGAIN (a kick), parks while a
 * pause is requested, then re-arms KVM_RUN (clears immediate_exit) unless the VM
 * is stopping. vm_vcpu_exiting(): the thread leaves its run loop for good.
 */
void vm_vcpu_kicked(struct vcpu *vcpu);
void vm_vcpu_exiting(struct vcpu *vcpu);

#endif
