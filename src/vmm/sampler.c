// SPDX-License-Identifier: Apache-2.0
/* --sample-rip: where the guest's vCPUs are, every period (see struct rip_sampler). */
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

static void sample_tick(struct ev_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	/* A vCPU still owing its last sample is asked again: no poke piles up. */
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		atomic_store(&vm->vcpus[i].sample_pending, true);
		vcpu_poke(&vm->vcpus[i]);
	}
}

int vm_sampler_start(struct vm *vm, const char *path, unsigned int period_ms)
{
	struct rip_sampler *s = &vm->sampler;
	struct itimerspec its = {
	    .it_interval = {period_ms / 1000, (long)(period_ms % 1000) * 1000000},
	    .it_value = {period_ms / 1000, (long)(period_ms % 1000) * 1000000},
	};
	int ret;

	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		ret = -errno;
		log_error("--sample-rip %s: %s", path, strerror(errno));
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	s->timer_h = (struct ev_handler){
	    timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), sample_tick, vm};
	if (s->timer_h.fd < 0 || timerfd_settime(s->timer_h.fd, 0, &its, NULL) < 0 ||
	    ev_add(vm->loop, &s->timer_h, EPOLLIN) < 0) {
		ret = -errno;
		log_error("--sample-rip: cannot arm its timer: %s", strerror(errno));
		vm_sampler_stop(vm);
		return ret;
	}
	log_info("sampling the vCPUs' rip every %u ms into %s", period_ms, path);
	return 0;
}

void vm_sampler_stop(struct vm *vm)
{
	struct rip_sampler *s = &vm->sampler;

	if (s->timer_h.fd >= 0) {
		ev_del(vm->loop, &s->timer_h);
		close(s->timer_h.fd);
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = s->timer_h.fd = -1;
}
