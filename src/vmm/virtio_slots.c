// SPDX-License-Identifier: Apache-2.0
/*
 * Placing virtio-mmio devices in the VM: Firecracker's layout (4 KiB windows
 * from 0xc0001000, GSIs from 5), the kernel command line entries the guest's
 * virtio_mmio driver reads, and the KVM plumbing: an ioeventfd per queue on
 * QueueNotify (the guest's notification never leaves the kernel for the vCPU
 * thread; the event loop picks it up) and an irqfd per device for interrupts.
 */
#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define VIRTIO_FIRST_GSI 5

/* Called with the device lock held, from the loop or a vCPU thread: must not block. */
static void virtio_interrupt(struct virtio_dev *d)
{
	struct virtio_slot *s = d->host_data;
	uint64_t one = 1;

	/* An irqfd write is an edge on the device's GSI; a full counter is one already. */
	if (write(s->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("virtio %s: irqfd write: %s", d->ops->name, strerror(errno));
}

static const struct virtio_host_ops host_ops = {.interrupt = virtio_interrupt};

const struct virtio_host_ops *vm_virtio_host_ops(void)
{
	return &host_ops;
}

/* The guest wrote QueueNotify: KVM signalled the queue's ioeventfd. */
static void queue_notified(struct ev_handler *h, uint32_t events)
{
	struct virtio_notify *n = h->opaque;
	uint64_t v;

	(void)events;
	if (read(h->fd, &v, sizeof(v)) != sizeof(v))
		return;
	/* Takes the device lock; ignored unless the device is active and the queue ready. */
	virtio_dev_notify(n->slot->dev, n->queue);
}

int vm_virtio_place(struct vm *vm, struct virtio_dev *d)
{
	struct virtio_slot *s;
	char arg[64];
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO) {
		log_error("virtio %s: at most %d virtio devices", d->ops->name, VM_MAX_VIRTIO);
		return -ENOSPC;
	}
	s = &vm->virtio[vm->nr_virtio];
	memset(s, 0, sizeof(*s));
	s->dev = d;
	s->irqfd = -1;
	s->timer_h.fd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		s->notify[q].h.fd = -1;
	d->host_data = s;
	d->mmio_base = LAYOUT_VIRTIO_MMIO_START + vm->nr_virtio * (uint64_t)VIRTIO_MMIO_WINDOW;
	d->gsi = VIRTIO_FIRST_GSI + vm->nr_virtio;

	ret = bus_register(&vm->mmio, d->mmio_base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, d,
			   d->ops->name);
	if (ret) {
		log_error("virtio %s: registering MMIO 0x%llx: %s", d->ops->name,
			  (unsigned long long)d->mmio_base, strerror(-ret));
		return ret;
	}
	/* What the guest's virtio_mmio driver parses: size@base:irq. */
	snprintf(arg, sizeof(arg), "virtio_mmio.device=4K@0x%llx:%u",
		 (unsigned long long)d->mmio_base, d->gsi);
	ret = cmdline_append(&vm->cmdline, arg);
	if (ret) {
		log_error("virtio %s: the kernel command line has no room for \"%s\"", d->ops->name,
			  arg);
		return ret;
	}
	vm->nr_virtio++;
	return 0;
}

static int connect_slot(struct vm *vm, struct virtio_slot *s)
{
	struct virtio_dev *d = s->dev;
	struct kvm_irqfd irqfd = {.gsi = d->gsi};
	int ret;

	s->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->irqfd < 0)
		return -errno;
	irqfd.fd = (uint32_t)s->irqfd;
	ret = KVM_CALL(vm->vm_fd, KVM_IRQFD, &irqfd, NULL);
	if (ret)
		return ret;
	for (unsigned int q = 0; q < d->ops->nr_queues; q++) {
		struct virtio_notify *n = &s->notify[q];
		struct kvm_ioeventfd io = {
		    .datamatch = q,
		    .addr = d->mmio_base + VIRTIO_MMIO_QUEUE_NOTIFY,
		    .len = 4,
		    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH,
		};

		n->slot = s;
		n->queue = q;
		n->h =
		    (struct ev_handler){eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), queue_notified, n};
		if (n->h.fd < 0)
			return -errno;
		io.fd = n->h.fd;
		ret = KVM_CALL(vm->vm_fd, KVM_IOEVENTFD, &io, NULL);
		if (ret)
			return ret;
		n->registered = true;
		ret = ev_add(vm->loop, &n->h, EPOLLIN);
		if (ret)
			return ret;
		n->watched = true;
	}
	return 0;
}

int vm_virtio_connect(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		int ret = connect_slot(vm, &vm->virtio[i]);

		if (ret) {
			log_error("virtio %s: connecting its irqfd and ioeventfds: %s",
				  vm->virtio[i].dev->ops->name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void vm_virtio_disconnect(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_slot *s = &vm->virtio[i];

		for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			struct virtio_notify *n = &s->notify[q];

			if (n->watched)
				ev_del(vm->loop, &n->h);
			if (n->h.fd >= 0)
				close(n->h.fd);
			n->watched = n->registered = false;
			n->h.fd = -1;
		}
		if (s->irqfd >= 0)
			close(s->irqfd);
		s->irqfd = -1;
		if (s->timer_h.fd >= 0) {
			ev_del(vm->loop, &s->timer_h);
			close(s->timer_h.fd);
			s->timer_h.fd = -1;
		}
	}
}

/* --- rate limiting: a device that ran out of tokens retries on its slot's timerfd --- */

static void rate_limiter_block(struct virtio_slot *s, uint64_t wait_ns)
{
	struct itimerspec its = {.it_value = {.tv_sec = (time_t)(wait_ns / 1000000000ULL),
					      .tv_nsec = (long)(wait_ns % 1000000000ULL)}};

	/* One pending retry is enough: the timer re-runs the whole queue. */
	if (s->timer_armed)
		return;
	if (timerfd_settime(s->timer_h.fd, 0, &its, NULL) == 0)
		s->timer_armed = true;
	else
		log_error("virtio %s: rate limiter timer: %s", s->dev->ops->name, strerror(errno));
}

static int rate_limiter_timer_init(struct vm *vm, struct virtio_slot *s, ev_fn fn)
{
	s->timer_h =
	    (struct ev_handler){timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), fn, s};
	if (s->timer_h.fd < 0)
		return -errno;
	return ev_add(vm->loop, &s->timer_h, EPOLLIN);
}

/* --- virtio-rng --- */

static bool rng_rate_limit(struct virtio_rng *r, uint64_t bytes)
{
	struct virtio_slot *s = r->dev.host_data;
	uint64_t wait_ns;

	if (rl_consume(&s->rl, bytes, rl_now_ns(), &wait_ns))
		return true;
	rate_limiter_block(s, wait_ns);
	return false;
}

static void rng_timer(struct ev_handler *h, uint32_t events)
{
	struct virtio_slot *s = h->opaque;
	struct virtio_rng *r = s->dev->opaque;
	uint64_t expirations;

	(void)events;
	if (read(h->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	s->timer_armed = false;
	pthread_mutex_lock(&r->dev.lock);
	virtio_rng_process(r);
	pthread_mutex_unlock(&r->dev.lock);
}

int vm_add_rng(struct vm *vm)
{
	const struct rate_limiter_config *rc = &vm->cfg.entropy.rate_limiter;
	struct virtio_rng *r = &vm->rng;
	struct virtio_slot *s;
	int ret;

	virtio_rng_init(r, &host_ops, &vm->mem);
	vm->has_rng = true;
	ret = vm_virtio_place(vm, &r->dev);
	if (ret)
		return ret;
	s = r->dev.host_data;
	rl_init(&s->rl, rc->has_bandwidth ? &rc->bandwidth : NULL, rc->has_ops ? &rc->ops : NULL,
		rl_now_ns());
	if (!rl_active(&s->rl))
		return 0;
	ret = rate_limiter_timer_init(vm, s, rng_timer);
	if (ret) {
		log_error("entropy.rate_limiter: cannot create its timer: %s", strerror(-ret));
		return ret;
	}
	r->rate_limit = rng_rate_limit;
	return 0;
}
