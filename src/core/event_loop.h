/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: one epoll set, one thread. Devices, timers, host input and
 * the API register an fd with a handler (timers through the ev_timer_* helpers); handlers run on
 * the loop's thread, one at a time, so state touched only from handlers needs no lock.
 */
#ifndef EMBER_CORE_EVENT_LOOP_H
#define EMBER_CORE_EVENT_LOOP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct ev_handler;
typedef void (*ev_fn)(struct ev_handler *h, uint32_t events);

/* Embedded in the owner's state; lives as long as the registration. */
struct ev_handler {
	int fd;
	ev_fn fn;
	void *opaque;
};

struct event_loop {
	int epfd;
	atomic_bool stop;
	int wake_fd; /* eventfd: ev_stop() from any thread */
	struct ev_handler wake;
};

int ev_init(struct event_loop *loop);
void ev_destroy(struct event_loop *loop);

/* Registers @h (fd, fn and opaque set by the caller) for @events (EPOLLIN, ...). */
__attribute__((warn_unused_result)) int ev_add(struct event_loop *loop, struct ev_handler *h,
					       uint32_t events);
int ev_mod(struct event_loop *loop, struct ev_handler *h, uint32_t events);
void ev_del(struct event_loop *loop, struct ev_handler *h);

/* Runs handlers until ev_stop(). Returns 0, or -errno if epoll fails. */
int ev_run(struct event_loop *loop);

/* Makes ev_run() return after the current handler. Any thread. */
void ev_stop(struct event_loop *loop);

/*
 * Timers: a CLOCK_MONOTONIC timerfd as an ev_handler. ev_timer_create() makes
 * one on @loop (EPOLLIN), not armed; h->fd is -1 if it fails. ev_timer_arm()
 * fires it @ns nanoseconds from now (0: at once), then every @interval_ns (0:
 * once); arming again replaces the previous setting. The handler calls
 * ev_timer_consume(), which returns the expirations since the last call (0: a
 * stale wake-up, nothing to do). ev_timer_destroy() takes it off @loop (NULL:
 * it is not on one) and closes it; safe on h->fd == -1. All return 0 or -errno.
 */
__attribute__((warn_unused_result)) int
ev_timer_create(struct event_loop *loop, struct ev_handler *h, ev_fn fn, void *opaque);
int ev_timer_arm(struct ev_handler *h, uint64_t ns, uint64_t interval_ns);
int ev_timer_disarm(struct ev_handler *h);
uint64_t ev_timer_consume(struct ev_handler *h);
void ev_timer_destroy(struct event_loop *loop, struct ev_handler *h);

#endif
