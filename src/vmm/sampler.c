// SPDX-License-Identifier: Apache-2.0
/* --sample-rip: where the guest's vCPUs are, every period (see struct rip_sampler). */
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void sample_tick(struct ev_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;

	(void)events;
	if (!ev_timer_consume(h))
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
	uint64_t period_ns = period_ms * 1000000ULL;
	int ret;

	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (s->fd < 0) {
		ret = -errno;
		log_error("--sample-rip %s: %s", path, strerror(errno));
		return ret;
	}
	clock_gettime(CLOCK_MONOTONIC, &s->start);
	ret = ev_timer_create(vm->loop, &s->timer_h, sample_tick, vm);
	if (!ret)
		ret = ev_timer_arm(&s->timer_h, period_ns, period_ns);
	if (ret) {
		log_error("--sample-rip: cannot arm its timer: %s", strerror(-ret));
		vm_sampler_stop(vm);
		return ret;
	}
	log_info("sampling the vCPUs' rip every %u ms into %s", period_ms, path);
	return 0;
}

void vm_sampler_stop(struct vm *vm)
{
	struct rip_sampler *s = &vm->sampler;

	ev_timer_destroy(vm->loop, &s->timer_h);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = s->timer_h.fd = -1;
}
