/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A fake of the device interface (src/devices/virtio/host.h) for the device
 * unit tests and the virtio fuzzer: a device initialized with fh_ops() and a
 * struct fake_host as its host_data reaches this instead of a VM.
 *
 *  - interrupts are counted (interrupts);
 *  - schedule() is recorded (schedules, last_delay) and keeps one pending run
 *    at run_at on the fake clock, the earliest asked for; fh_run() runs it now,
 *    fh_run_due() only once the clock got there;
 *  - watches are real: the watched fds are in an epoll set of the fake's own,
 *    with the interest the device asked for (w->events), and fh_pump() waits
 *    for them and calls their handlers, then the run if it is due;
 *  - the clock (now) moves only by hand, or by `tick` at every reading;
 *  - fh_pause()/fh_resume() hold and release every watch and the run, as the
 *    VM's host does while the VM is paused.
 * Every call into the device takes dev->lock, as the host contract says.
 * Self-contained (no test.h): the fuzzer includes it too.
 */
#ifndef EMBER_TESTS_UNIT_VIRTIO_FAKE_HOST_H
#define EMBER_TESTS_UNIT_VIRTIO_FAKE_HOST_H

#include "devices/virtio/virtio_mmio.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

struct fake_host {
	struct virtio_dev *dev; /* set by the first call from the device, or fh_attach() */
	uint64_t now;		/* the device clock, in ns */
	uint64_t tick;		/* added to now at every reading (0: still) */
	int interrupts;
	int schedules;	     /* schedule() calls */
	uint64_t last_delay; /* the delay of the last one */
	bool run_pending;
	uint64_t run_at; /* when the pending run is due, on now */
	int runs;	 /* runs done */
	struct dev_watch *watches;
	int nr_watches;
	int epfd; /* the watched fds (fh_pump) */
	bool paused;
};

static inline struct fake_host *fh_of(struct virtio_dev *d)
{
	struct fake_host *h = d->host_data;

	h->dev = d;
	return h;
}

static inline void fh_interrupt(struct virtio_dev *d)
{
	if (d->host_data)
		fh_of(d)->interrupts++;
}

static inline uint64_t fh_now_ns(struct virtio_dev *d)
{
	struct fake_host *h = fh_of(d);

	h->now += h->tick;
	return h->now;
}

static inline void fh_schedule(struct virtio_dev *d, uint64_t delay_ns)
{
	struct fake_host *h = fh_of(d);
	uint64_t at = h->now + delay_ns;

	h->schedules++;
	h->last_delay = delay_ns;
	if (h->run_pending && h->run_at <= at)
		return; /* the earliest deadline wins */
	h->run_pending = true;
	h->run_at = at;
}

static inline int fh_epoll(struct fake_host *h, int op, struct dev_watch *w)
{
	struct epoll_event ev = {.events = w->events, .data.ptr = w};

	return epoll_ctl(h->epfd, op, w->fd, op == EPOLL_CTL_DEL ? NULL : &ev) < 0 ? -1 : 0;
}

static inline int fh_watch(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct fake_host *h = fh_of(d);

	w->events = events;
	w->on_loop = false;
	if (!h->paused) {
		if (fh_epoll(h, EPOLL_CTL_ADD, w))
			return -1;
		w->on_loop = true;
	}
	w->watched = true;
	w->host_priv = h;
	w->next = h->watches;
	h->watches = w;
	h->nr_watches++;
	return 0;
}

static inline int fh_watch_set(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct fake_host *h = fh_of(d);

	w->events = events;
	return w->on_loop ? fh_epoll(h, EPOLL_CTL_MOD, w) : 0;
}

static inline void fh_unwatch(struct virtio_dev *d, struct dev_watch *w)
{
	struct fake_host *h = fh_of(d);

	for (struct dev_watch **p = &h->watches; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			h->nr_watches--;
			break;
		}
	}
	if (w->on_loop)
		fh_epoll(h, EPOLL_CTL_DEL, w);
	w->watched = w->on_loop = false;
	w->next = NULL;
}

/* The host ops for the device's init; its host_data is the struct fake_host. */
static inline const struct virtio_host_ops *fh_ops(void)
{
	static const struct virtio_host_ops ops = {
	    .interrupt = fh_interrupt,
	    .schedule = fh_schedule,
	    .watch = fh_watch,
	    .watch_set = fh_watch_set,
	    .unwatch = fh_unwatch,
	    .now_ns = fh_now_ns,
	};

	return &ops;
}

/* A fake with an empty epoll set and the clock at 1 s. 0, or -1 if epoll fails. */
static inline int fh_init(struct fake_host *h)
{
	memset(h, 0, sizeof(*h));
	h->now = 1000000000ULL;
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	return h->epfd < 0 ? -1 : 0;
}

/* After the device is destroyed (its watches are gone). */
static inline void fh_destroy(struct fake_host *h)
{
	if (h->epfd >= 0)
		close(h->epfd);
	h->epfd = -1;
}

static inline void fh_attach(struct fake_host *h, struct virtio_dev *d)
{
	h->dev = d;
}

/* The pending run, whenever it is due. Returns whether there was one. */
static inline bool fh_run(struct fake_host *h)
{
	struct virtio_dev *d = h->dev;

	if (!h->run_pending || h->paused || !d)
		return false;
	h->run_pending = false;
	h->runs++;
	pthread_mutex_lock(&d->lock);
	if (d->ops->run)
		d->ops->run(d);
	pthread_mutex_unlock(&d->lock);
	return true;
}

/* The pending run if the clock reached it. */
static inline bool fh_run_due(struct fake_host *h)
{
	return h->run_pending && h->now >= h->run_at && fh_run(h);
}

/*
 * Waits up to @ms for the watched fds, calls the handlers of those ready, then
 * the run if it is due. Returns the number of handlers called.
 */
static inline int fh_pump(struct fake_host *h, int ms)
{
	struct epoll_event evs[16];
	int n = h->paused ? 0 : epoll_wait(h->epfd, evs, 16, ms);

	if (h->paused && ms > 0)
		usleep((useconds_t)ms * 1000);
	for (int i = 0; i < n; i++) {
		struct dev_watch *w = evs[i].data.ptr;
		struct virtio_dev *d = h->dev;

		pthread_mutex_lock(&d->lock);
		if (w->watched && w->on_loop) /* not unwatched earlier in this batch */
			w->fn(d, w, evs[i].events);
		pthread_mutex_unlock(&d->lock);
	}
	fh_run_due(h);
	return n < 0 ? 0 : n;
}

/* As the VM's host while paused: no watch served, no run; fh_resume() re-adds them. */
static inline void fh_pause(struct fake_host *h)
{
	for (struct dev_watch *w = h->watches; w; w = w->next) {
		if (w->on_loop)
			fh_epoll(h, EPOLL_CTL_DEL, w);
		w->on_loop = false;
	}
	h->paused = true;
}

static inline void fh_resume(struct fake_host *h)
{
	h->paused = false;
	for (struct dev_watch *w = h->watches; w; w = w->next)
		w->on_loop = !fh_epoll(h, EPOLL_CTL_ADD, w);
}

#endif
