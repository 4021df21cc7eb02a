/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The event loop: one epoll set, one thread. Devices, timers, host input and
 * the API register an fd with a handler; handlers run on the loop's thread, one
 * at a time, so state touched only from handlers needs no lock.
 */
#ifndef EMBER_VMM_EVENT_LOOP_H
#define EMBER_VMM_EVENT_LOOP_H

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

#endif
