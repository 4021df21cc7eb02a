// SPDX-License-Identifier: Apache-2.0
/*
 * Wiring the balloon into the VM: vm->balloon, one per VM. The stats timer is
 * the slot's timerfd (timer_h), so pause/resume and vm_virtio_disconnect()
 * treat it like the rate limiters' timers. The device's kick hook re-signals a
 * queue's ioeventfd when one event had more work than the device does at once.
 */
#include "vmm/balloon.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct virtio_balloon *vm_balloon(const struct vm *vm)
{
	return vm->balloon;
}

/* Device lock held; on the loop (queue work) or a vCPU thread (DRIVER_OK, reset). */
static void balloon_arm_timer(struct virtio_balloon *b, uint32_t seconds)
{
	struct virtio_slot *s = b->dev.host_data;
	struct itimerspec its = {.it_interval = {.tv_sec = seconds},
				 .it_value = {.tv_sec = seconds}};

	if (!s || s->timer_h.fd < 0)
		return;
	if (timerfd_settime(s->timer_h.fd, 0, &its, NULL) < 0)
		log_error("balloon: statistics timer: %s", strerror(errno));
}

/* Device lock held: serve queue @q again on a later turn of the loop. */
static void balloon_kick(struct virtio_balloon *b, unsigned int q)
{
	struct virtio_slot *s = b->dev.host_data;
	uint64_t one = 1;

	if (!s || q >= VIRTIO_MAX_QUEUES || s->notify[q].h.fd < 0)
		return;
	if (write(s->notify[q].h.fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("balloon: re-notifying queue %u: %s", q, strerror(errno));
}

static void balloon_timer(struct ev_handler *h, uint32_t events)
{
	struct virtio_slot *s = h->opaque;
	uint64_t expirations;

	(void)events;
	if (read(h->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	virtio_balloon_stats_tick(s->dev->opaque); /* takes the device lock */
}

int vm_add_balloon(struct vm *vm, const struct balloon_config *cfg)
{
	struct virtio_balloon *b;
	struct virtio_slot *s;
	int ret;

	if (vm->balloon) {
		log_error("balloon: the VM already has a balloon device");
		return -EEXIST;
	}
	b = calloc(1, sizeof(*b));
	if (!b) {
		log_error("balloon: out of memory");
		return -ENOMEM;
	}
	ret = virtio_balloon_init(b, cfg, vm_virtio_host_ops(), &vm->mem);
	if (ret) {
		free(b);
		return ret;
	}
	vm->balloon = b; /* from here on vm_balloon_teardown() frees it */
	b->kick = balloon_kick;
	ret = vm_virtio_place(vm, &b->dev);
	if (ret)
		return ret;
	if (!b->stats_enabled)
		return 0;
	s = b->dev.host_data;
	s->timer_h = (struct ev_handler){
	    timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), balloon_timer, s};
	if (s->timer_h.fd < 0) {
		ret = -errno;
		log_error("balloon: cannot create the statistics timer: %s", strerror(errno));
		return ret;
	}
	ret = ev_add(vm->loop, &s->timer_h, EPOLLIN);
	if (ret) {
		log_error("balloon: cannot watch the statistics timer: %s", strerror(-ret));
		close(s->timer_h.fd);
		s->timer_h.fd = -1;
		return ret;
	}
	b->arm_timer = balloon_arm_timer; /* armed at DRIVER_OK */
	return 0;
}

void vm_balloon_teardown(struct vm *vm)
{
	struct virtio_balloon *b = vm->balloon;
	struct virtio_slot *s;

	if (!b)
		return;
	s = b->dev.host_data;
	/* Normally vm_virtio_disconnect() closed it already. */
	if (s && s->dev == &b->dev && s->timer_h.fd >= 0) {
		ev_del(vm->loop, &s->timer_h);
		close(s->timer_h.fd);
		s->timer_h.fd = -1;
	}
	virtio_balloon_destroy(b);
	free(b);
	vm->balloon = NULL;
}
