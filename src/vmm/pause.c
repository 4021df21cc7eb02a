// SPDX-License-Identifier: Apache-2.0
/*
 * Pause and resume (PATCH /vm). Every vCPU stops at a consistent point: out of
 * KVM_RUN, between two exits, with the exit it was handling finished. The
 * event loop's thread asks (vm_pause), kicks each vCPU with vcpu_kick()
 * (immediate_exit + signal, vcpu.c) and waits until all are parked; the vCPU
 * threads park in vm_vcpu_kicked() on a condition variable until vm_resume().
 * A kick sets immediate_exit for good; the vCPU clears it here before its next
 * KVM_RUN unless the VM is stopping, whose kick must stay in force.
 */
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <sys/epoll.h>
#include <time.h>

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t vm_clock_ns(const struct vm *vm)
{
	uint64_t now = mono_ns();

	return now - vm->pause.paused_ns - (vm->pause.paused ? now - vm->pause.paused_at : 0);
}

void vm_pause_init(struct vm *vm)
{
	pthread_mutex_init(&vm->pause.lock, NULL);
	pthread_cond_init(&vm->pause.resume_cv, NULL);
	pthread_cond_init(&vm->pause.parked_cv, NULL);
	vm->pause.requested = false;
	vm->pause.nr_parked = vm->pause.nr_exited = 0;
	vm->pause.paused = false;
	vm->pause.paused_ns = vm->pause.paused_at = 0;
	vm->pause.ready = true;
}

void vm_pause_wake_all(struct vm *vm)
{
	if (!vm->pause.ready)
		return;
	/* `stopping` is already set: parked vCPUs wake, see it and leave. */
	pthread_mutex_lock(&vm->pause.lock);
	pthread_cond_broadcast(&vm->pause.resume_cv);
	pthread_mutex_unlock(&vm->pause.lock);
}

void vm_pause_destroy(struct vm *vm)
{
	if (!vm->pause.ready)
		return;
	pthread_cond_destroy(&vm->pause.parked_cv);
	pthread_cond_destroy(&vm->pause.resume_cv);
	pthread_mutex_destroy(&vm->pause.lock);
	vm->pause.ready = false;
}

void vm_vcpu_kicked(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause.lock);
	if (vm->pause.requested && !atomic_load(&vm->stopping)) {
		vm->pause.nr_parked++;
		pthread_cond_broadcast(&vm->pause.parked_cv);
		while (vm->pause.requested && !atomic_load(&vm->stopping))
			pthread_cond_wait(&vm->pause.resume_cv, &vm->pause.lock);
		vm->pause.nr_parked--;
	}
	/*
	 * Re-arm KVM_RUN. Under the lock, so a pause requested after this point
	 * kicks again (its immediate_exit store comes after ours); a stop sets
	 * `stopping` before its kick, so the loop's next check sees it.
	 */
	if (!atomic_load(&vm->stopping))
		__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause.lock);
}

void vm_vcpu_exiting(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.nr_exited++;
	pthread_cond_broadcast(&vm->pause.parked_cv);
	pthread_mutex_unlock(&vm->pause.lock);
}

/*
 * The device work the event loop does for the VM: host console input and
 * every virtio slot (its queue notifications, its device's deferred run and
 * the fds the device watches: vm_virtio_hold). Held while paused; what
 * arrived meanwhile waits in its fd and is served on resume.
 */
static void loop_work_hold(struct vm *vm)
{
	if (vm->console.in_watched) {
		ev_del(vm->loop, &vm->console.in_h);
		vm->console.in_watched = false;
	}
	vm_virtio_hold(vm);
}

static void loop_work_release(struct vm *vm)
{
	if (vm->console.in_fd >= 0 && !vm->console.in_watched)
		vm->console.in_watched = !ev_add(vm->loop, &vm->console.in_h, EPOLLIN);
	vm_virtio_release(vm);
}

static unsigned int started_vcpus(const struct vm *vm)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		n += vm->vcpus[i].started;
	return n;
}

/* Waits until each of the @n started vCPUs is parked or gone; false if the VM is ending. */
static bool wait_parked(struct vm *vm, unsigned int n)
{
	pthread_mutex_lock(&vm->pause.lock);
	while (vm->pause.nr_parked + vm->pause.nr_exited < n && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->pause.parked_cv, &vm->pause.lock);
	pthread_mutex_unlock(&vm->pause.lock);
	return !atomic_load(&vm->stopping);
}

int vm_pause(struct vm *vm)
{
	unsigned int n = started_vcpus(vm);

	if (vm->pause.paused)
		return 0;
	if (atomic_load(&vm->stopping))
		return -ESHUTDOWN;
	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.requested = true;
	pthread_mutex_unlock(&vm->pause.lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	if (!wait_parked(vm, n))
		return -ESHUTDOWN;

	vm->pause.paused_at = mono_ns();
	vm->pause.paused = true;
	loop_work_hold(vm);
	log_info("VM paused (%u vCPUs parked)", n);
	return 0;
}

int vm_start_paused(struct vm *vm)
{
	int ret;

	/* Each thread's first KVM_RUN returns at once (immediate_exit) and parks. */
	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.requested = true;
	pthread_mutex_unlock(&vm->pause.lock);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		__atomic_store_n(&vm->vcpus[i].run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	vm->pause.paused_at = mono_ns();
	vm->pause.paused = true;
	loop_work_hold(vm);
	ret = vm_start(vm);
	if (ret)
		return ret;
	return wait_parked(vm, started_vcpus(vm)) ? 0 : -ESHUTDOWN;
}

int vm_resume(struct vm *vm)
{
	if (!vm->pause.paused)
		return 0;
	vm->pause.paused_ns += mono_ns() - vm->pause.paused_at;
	vm->pause.paused = false;
	loop_work_release(vm);
	pthread_mutex_lock(&vm->pause.lock);
	vm->pause.requested = false;
	pthread_cond_broadcast(&vm->pause.resume_cv);
	pthread_mutex_unlock(&vm->pause.lock);
	log_info("VM resumed");
	return 0;
}
