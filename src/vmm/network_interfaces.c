// SPDX-License-Identifier: Apache-2.0
/* virtio-net in the VM: the TAP and retry-timer handlers on the loop. See network_interfaces.h */
#include "vmm/network_interfaces.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct vm_net {
	struct virtio_net net; /* first */
	struct vm *vm;
	struct virtio_slot *slot; /* the retry timer is slot->timer_h */
	struct ev_handler tap_h;
	bool tap_registered; /* in the epoll set (events 0 or EPOLLIN) */
	bool tap_watched;    /* EPOLLIN */
	bool timer_armed;
	uint64_t timer_deadline; /* CLOCK_MONOTONIC ns */
	struct vm_net *next;	 /* vm->nets, in the order they were added */
};

/* dev.lock held for everything below that touches a device. */

static void tap_watch(struct vm_net *nd, bool on)
{
	if (!nd->tap_registered || on == nd->tap_watched)
		return;
	if (ev_mod(nd->vm->loop, &nd->tap_h, on ? EPOLLIN : 0) == 0)
		nd->tap_watched = on;
	else
		log_error("virtio-net %s: watching its TAP: %s", nd->net.iface_id, strerror(errno));
}

/* virtio_net_retry() in @wait_ns: the earliest of the pending requests wins. */
static void timer_arm(struct vm_net *nd, uint64_t wait_ns)
{
	uint64_t at = rl_now_ns() + wait_ns;
	struct itimerspec its = {{0, 0}, {0, 0}};

	if (!nd->slot || nd->slot->timer_h.fd < 0)
		return;
	if (nd->timer_armed && nd->timer_deadline <= at)
		return;
	its.it_value.tv_sec = (time_t)(at / 1000000000ULL);
	its.it_value.tv_nsec = (long)(at % 1000000000ULL);
	if (timerfd_settime(nd->slot->timer_h.fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
		nd->timer_armed = true;
		nd->timer_deadline = at;
	} else {
		log_error("virtio-net %s: retry timer: %s", nd->net.iface_id, strerror(errno));
	}
}

static void hook_rx_interest(struct virtio_net *n, bool on)
{
	tap_watch(n->hooks_opaque, on);
}

static void hook_retry(struct virtio_net *n, uint64_t wait_ns)
{
	timer_arm(n->hooks_opaque, wait_ns);
}

static const struct virtio_net_hooks hooks = {
    .rx_interest = hook_rx_interest,
    .retry = hook_retry,
};

static void tap_ready(struct ev_handler *h, uint32_t events)
{
	struct vm_net *nd = h->opaque;
	struct virtio_net *n = &nd->net;

	pthread_mutex_lock(&n->dev.lock);
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The TAP went away (deleted): it would report this forever. */
		log_error("virtio-net %s: its TAP failed (deleted?): no more frames from it",
			  n->iface_id);
		ev_del(nd->vm->loop, &nd->tap_h);
		nd->tap_registered = nd->tap_watched = false;
		n->m.tap_read_fails++;
	} else if (nd->vm->pause.paused) {
		/* No device work while paused: the timer, held by the pause, resumes. */
		tap_watch(nd, false);
		timer_arm(nd, 0);
	} else {
		n->m.rx_tap_event_count++;
		virtio_net_rx(n);
	}
	pthread_mutex_unlock(&n->dev.lock);
}

static void retry_timer(struct ev_handler *h, uint32_t events)
{
	struct vm_net *nd = h->opaque;
	struct virtio_net *n = &nd->net;
	uint64_t expirations;

	(void)events;
	if (read(h->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	pthread_mutex_lock(&n->dev.lock);
	nd->timer_armed = false;
	if (nd->vm->pause.paused) {
		/* Paused within this epoll batch: out of the loop now, fires on resume. */
		timer_arm(nd, 0);
	} else {
		tap_watch(nd, n->rx_want); /* back after a pause */
		virtio_net_retry(n);
	}
	pthread_mutex_unlock(&n->dev.lock);
}

struct virtio_net *vm_net_find(struct vm *vm, const char *iface_id)
{
	for (struct vm_net *nd = vm->nets; nd; nd = nd->next)
		if (!strcmp(nd->net.iface_id, iface_id))
			return &nd->net;
	return NULL;
}

int vm_add_net(struct vm *vm, const struct net_config *cfg)
{
	const char *id = cfg->iface_id && *cfg->iface_id ? cfg->iface_id : "(no iface_id)";
	char err[256];
	struct vm_net *nd, **tail;
	struct virtio_slot *s;
	int fd, ret;

	if (!cfg->iface_id || !*cfg->iface_id ||
	    strlen(cfg->iface_id) >= sizeof(nd->net.iface_id)) {
		log_error("network-interfaces: iface_id \"%s\" must be 1 to %zu bytes",
			  cfg->iface_id ? cfg->iface_id : "", sizeof(nd->net.iface_id) - 1);
		return -EINVAL;
	}
	if (vm_net_find(vm, cfg->iface_id)) {
		log_error("network-interfaces: iface_id \"%s\" is used twice", id);
		return -EINVAL;
	}
	ret = net_tap_open(cfg->host_dev_name, &fd, err, sizeof(err));
	if (ret) {
		log_error("network-interfaces: %s: %s", id, err);
		return ret;
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd) {
		close(fd);
		return -ENOMEM;
	}
	ret = virtio_net_init(&nd->net, cfg, fd, true, vm_virtio_host_ops(), &vm->mem);
	if (ret) { /* fd closed */
		free(nd);
		return ret;
	}
	nd->vm = vm;
	nd->tap_h = (struct ev_handler){nd->net.fd, tap_ready, nd};
	nd->net.hooks = &hooks;
	nd->net.hooks_opaque = nd;
	for (tail = &vm->nets; *tail; tail = &(*tail)->next)
		;
	*tail = nd; /* from here on vm_net_teardown() frees it */

	ret = vm_virtio_place(vm, &nd->net.dev);
	if (ret)
		return ret;
	s = nd->net.dev.host_data;
	nd->slot = s;
	s->timer_h = (struct ev_handler){
	    timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), retry_timer, nd};
	if (s->timer_h.fd < 0) {
		ret = -errno;
		log_error("network-interfaces: %s: cannot create its timer: %s", id,
			  strerror(-ret));
		return ret;
	}
	ret = ev_add(vm->loop, &s->timer_h, EPOLLIN);
	if (!ret) {
		/* Registered without events: EPOLLIN is on while the device wants frames. */
		ret = ev_add(vm->loop, &nd->tap_h, 0);
		nd->tap_registered = !ret;
	}
	if (ret) {
		log_error("network-interfaces: %s: event loop: %s", id, strerror(-ret));
		return ret;
	}
	log_debug("virtio-net %s: TAP %s, MMIO 0x%llx, GSI %u", id, cfg->host_dev_name,
		  (unsigned long long)nd->net.dev.mmio_base, nd->net.dev.gsi);
	return 0;
}

static void log_counters(const struct virtio_net *n)
{
	const struct net_metrics *m = &n->m;

	log_debug("virtio-net %s: rx %llu frames %llu bytes (%llu fails, %llu no buffer, %llu "
		  "throttled); tx %llu frames %llu bytes (%llu fails, %llu malformed, %llu "
		  "throttled); %llu bad chains",
		  n->iface_id, (unsigned long long)m->rx_packets_count,
		  (unsigned long long)m->rx_bytes_count, (unsigned long long)m->rx_fails,
		  (unsigned long long)m->no_rx_avail_buffer,
		  (unsigned long long)m->rx_rate_limiter_throttled,
		  (unsigned long long)m->tx_packets_count, (unsigned long long)m->tx_bytes_count,
		  (unsigned long long)m->tx_fails, (unsigned long long)m->tx_malformed_frames,
		  (unsigned long long)m->tx_rate_limiter_throttled,
		  (unsigned long long)n->dev.event_fails);
}

void vm_net_teardown(struct vm *vm)
{
	struct vm_net *next = vm->nets;

	vm->nets = NULL;
	while (next) {
		struct vm_net *nd = next;
		struct virtio_slot *s = nd->slot;

		next = nd->next;
		log_counters(&nd->net);
		if (nd->tap_registered)
			ev_del(vm->loop, &nd->tap_h);
		/* vm_virtio_disconnect() closes the timer too; whichever runs first does. */
		if (s && s->dev == &nd->net.dev && s->timer_h.fd >= 0) {
			ev_del(vm->loop, &s->timer_h);
			close(s->timer_h.fd);
			s->timer_h.fd = -1;
		}
		virtio_net_destroy(&nd->net);
		free(nd);
	}
}
