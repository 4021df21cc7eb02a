// SPDX-License-Identifier: Apache-2.0
/*
 * The VM's virtio-mmio slots: Firecracker's layout (4 KiB windows from
 * 0xc0001000, GSIs from 5), the kernel command line entries the guest's
 * virtio_mmio driver reads, the KVM plumbing (an ioeventfd per queue on
 * QueueNotify, so the guest's notification never leaves the kernel for the
 * vCPU thread, and an irqfd per device for interrupts), and the VM's one
 * implementation of the device interface (devices/virtio/host.h). See
 * virtio_slots.h.
 */
#include "vmm/virtio_slots.h"

#include "arch/x86_64/layout.h"
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define VIRTIO_FIRST_GSI 5

static struct virtio_slot *to_slot(struct virtio_dev *d)
{
	return d->host_data;
}

static const char *slot_name(const struct virtio_slot *s)
{
	return s->dev ? s->dev->ops->name : "virtio";
}

/* --- the device interface (host.h) --- */

/* Called with the device lock held, from the loop or a vCPU thread: must not block. */
static void host_interrupt(struct virtio_dev *d)
{
	struct virtio_slot *s = to_slot(d);
	uint64_t one = 1;

	if (s->irqfd < 0)
		return; /* not connected yet (or any more): nobody to tell */
	/* An irqfd write is an edge on the device's GSI; a full counter is one already. */
	if (write(s->irqfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("virtio %s: irqfd write: %s", d->ops->name, strerror(errno));
}

static uint64_t host_now_ns(struct virtio_dev *d)
{
	return vm_clock_ns(to_slot(d)->vm);
}

/* The timer for a run at s->run_at (device clock). dev->lock held. */
static void timer_arm(struct virtio_slot *s)
{
	uint64_t now = vm_clock_ns(s->vm);
	int ret;

	if (s->timer_h.fd < 0)
		return;
	ret = ev_timer_arm(&s->timer_h, s->run_at > now ? s->run_at - now : 0, 0);
	if (ret)
		log_error("virtio %s: arming its timer: %s", slot_name(s), strerror(-ret));
}

static void host_schedule(struct virtio_dev *d, uint64_t delay_ns)
{
	struct virtio_slot *s = to_slot(d);
	uint64_t at = vm_clock_ns(s->vm) + delay_ns;

	/* One pending run: the earliest deadline wins. */
	if (s->run_pending && s->run_at <= at)
		return;
	s->run_pending = true;
	s->run_at = at;
	if (!s->held)
		timer_arm(s); /* held: vm_virtio_release() arms it */
}

/* The slot's timerfd: the device's run, if it is due. */
static void slot_timer(struct ev_handler *h, uint32_t events)
{
	struct virtio_slot *s = h->opaque;
	struct virtio_dev *d = s->dev;

	(void)events;
	if (!ev_timer_consume(h) || !d)
		return;
	pthread_mutex_lock(&d->lock);
	if (s->run_pending && vm_clock_ns(s->vm) < s->run_at) {
		timer_arm(s); /* a pause moved the deadline on */
	} else if (s->run_pending) {
		s->run_pending = false;
		if (d->ops->run)
			d->ops->run(d);
	}
	pthread_mutex_unlock(&d->lock);
}

/* A watched fd is ready: the device's handler, unless it was unwatched meanwhile. */
static void watch_event(struct ev_handler *h, uint32_t events)
{
	struct dev_watch *w = h->opaque;
	struct virtio_dev *d = w->host_priv; /* the watch's device; NULL: never watched */

	if (!d)
		return;
	pthread_mutex_lock(&d->lock);
	/* An event fetched before an unwatch in the same batch is dropped. */
	if (w->watched && w->on_loop)
		w->fn(d, w, events);
	pthread_mutex_unlock(&d->lock);
}

static int watch_add(struct virtio_slot *s, struct dev_watch *w)
{
	int ret = ev_add(s->vm->loop, &w->h, w->events);

	w->on_loop = !ret;
	return ret;
}

static int host_watch(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct virtio_slot *s = to_slot(d);
	int ret;

	w->events = events;
	w->h = (struct ev_handler){w->fd, watch_event, w};
	w->host_priv = d;
	w->on_loop = false;
	if (!s->held) {
		ret = watch_add(s, w);
		if (ret)
			return ret;
	}
	w->watched = true;
	w->next = s->watches;
	s->watches = w;
	return 0;
}

static int host_watch_set(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct virtio_slot *s = to_slot(d);

	if (!w->watched)
		return -ENOENT;
	w->events = events;
	return w->on_loop ? ev_mod(s->vm->loop, &w->h, events) : 0;
}

static void host_unwatch(struct virtio_dev *d, struct dev_watch *w)
{
	struct virtio_slot *s = to_slot(d);

	if (!w->watched)
		return;
	for (struct dev_watch **p = &s->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	if (w->on_loop)
		ev_del(s->vm->loop, &w->h);
	w->next = NULL;
	w->watched = w->on_loop = false;
}

static const struct virtio_host_ops host_ops = {
    .interrupt = host_interrupt,
    .schedule = host_schedule,
    .watch = host_watch,
    .watch_set = host_watch_set,
    .unwatch = host_unwatch,
    .now_ns = host_now_ns,
};

const struct virtio_host_ops *vm_virtio_host_ops(void)
{
	return &host_ops;
}

/* --- slots --- */

int vm_virtio_slot_new(struct vm *vm, const struct vm_device_type *type, const char *what,
		       struct virtio_slot **out)
{
	struct virtio_slot *s;
	int ret;

	if (vm->nr_virtio == VM_MAX_VIRTIO) {
		log_error("%s: at most %d virtio devices", what, VM_MAX_VIRTIO);
		return -ENOSPC;
	}
	s = &vm->virtio[vm->nr_virtio];
	memset(s, 0, sizeof(*s));
	s->type = type;
	s->vm = vm;
	s->index = vm->nr_virtio;
	s->irqfd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		s->notify[q].h.fd = -1;
	ret = ev_timer_create(vm->loop, &s->timer_h, slot_timer, s);
	if (ret) {
		log_error("%s: cannot create its timer: %s", what, strerror(-ret));
		return ret;
	}
	vm->nr_virtio++; /* from here on vm_destroy() tears the slot down */
	*out = s;
	return 0;
}

int vm_virtio_place(struct vm *vm, struct virtio_slot *s, struct virtio_dev *d)
{
	char arg[64];
	int ret;

	d->mmio_base = LAYOUT_VIRTIO_MMIO_START + s->index * (uint64_t)VIRTIO_MMIO_WINDOW;
	d->gsi = VIRTIO_FIRST_GSI + s->index;
	ret = bus_register(&vm->mmio, d->mmio_base, VIRTIO_MMIO_WINDOW, virtio_mmio_io, d,
			   d->ops->name);
	if (ret) {
		log_error("virtio %s: registering MMIO 0x%llx: %s", d->ops->name,
			  (unsigned long long)d->mmio_base, strerror(-ret));
		return ret;
	}
	s->dev = d;
	/* What the guest's virtio_mmio driver parses: size@base:irq. */
	snprintf(arg, sizeof(arg), "virtio_mmio.device=4K@0x%llx:%u",
		 (unsigned long long)d->mmio_base, d->gsi);
	ret = cmdline_append(&vm->cmdline, arg);
	if (ret)
		log_error("virtio %s: the kernel command line has no room for \"%s\"", d->ops->name,
			  arg);
	return ret;
}

struct virtio_slot *vm_virtio_next(struct vm *vm, const struct vm_device_type *type,
				   struct virtio_slot *prev)
{
	for (unsigned int i = prev ? prev->index + 1 : 0; i < vm->nr_virtio; i++)
		if (vm->virtio[i].type == type && vm->virtio[i].state)
			return &vm->virtio[i];
	return NULL;
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
		struct virtio_slot *s = &vm->virtio[i];
		int ret;

		if (!s->dev)
			continue;
		ret = connect_slot(vm, s);
		if (ret) {
			log_error("virtio %s: connecting its irqfd and ioeventfds: %s",
				  slot_name(s), strerror(-ret));
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
		/* Held (a paused VM): the timer is off the loop already. */
		ev_timer_destroy(s->held ? NULL : vm->loop, &s->timer_h);
		s->run_pending = false;
	}
}

/* --- pause: one loop over the slots --- */

void vm_virtio_hold(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_slot *s = &vm->virtio[i];

		if (!s->dev || s->held)
			continue;
		pthread_mutex_lock(&s->dev->lock);
		for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			if (s->notify[q].watched) {
				ev_del(vm->loop, &s->notify[q].h);
				s->notify[q].watched = false;
			}
		}
		if (s->timer_h.fd >= 0)
			ev_del(vm->loop, &s->timer_h);
		for (struct dev_watch *w = s->watches; w; w = w->next) {
			if (w->on_loop)
				ev_del(vm->loop, &w->h);
			w->on_loop = false;
		}
		s->held = true;
		pthread_mutex_unlock(&s->dev->lock);
	}
}

void vm_virtio_release(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		struct virtio_slot *s = &vm->virtio[i];

		if (!s->dev || !s->held)
			continue;
		pthread_mutex_lock(&s->dev->lock);
		s->held = false;
		for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++) {
			struct virtio_notify *n = &s->notify[q];

			if (n->registered && !n->watched && n->h.fd >= 0)
				n->watched = !ev_add(vm->loop, &n->h, EPOLLIN);
		}
		if (s->timer_h.fd >= 0 && ev_add(vm->loop, &s->timer_h, EPOLLIN))
			log_error("virtio %s: resuming its timer failed", slot_name(s));
		if (s->run_pending)
			timer_arm(s); /* the rest of its delay: the device clock stood still */
		/* What arrived meanwhile waits in the fds: epoll reports it on the re-add. */
		for (struct dev_watch *w = s->watches; w; w = w->next)
			if (watch_add(s, w))
				log_error("virtio %s: resuming a watched fd failed", slot_name(s));
		pthread_mutex_unlock(&s->dev->lock);
	}
}
