// SPDX-License-Identifier: Apache-2.0
#include "core/event_loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static void wake_handler(struct ev_handler *h, uint32_t events)
{
	uint64_t v;

	(void)events;
	while (read(h->fd, &v, sizeof(v)) == sizeof(v))
		;
}

int ev_init(struct event_loop *loop)
{
	int ret;

	atomic_init(&loop->stop, false);
	loop->wake_fd = -1;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->wake_fd < 0) {
		ret = -errno;
		goto err;
	}
	loop->wake = (struct ev_handler){.fd = loop->wake_fd, .fn = wake_handler};
	ret = ev_add(loop, &loop->wake, EPOLLIN);
	if (ret)
		goto err;
	return 0;
err:
	ev_destroy(loop);
	return ret;
}

void ev_destroy(struct event_loop *loop)
{
	if (loop->wake_fd >= 0)
		close(loop->wake_fd);
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->wake_fd = loop->epfd = -1;
}

int ev_add(struct event_loop *loop, struct ev_handler *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0 ? -errno : 0;
}

int ev_mod(struct event_loop *loop, struct ev_handler *h, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = h};

	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, h->fd, &ev) < 0 ? -errno : 0;
}

void ev_del(struct event_loop *loop, struct ev_handler *h)
{
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
}

int ev_run(struct event_loop *loop)
{
	while (!atomic_load(&loop->stop)) {
		struct epoll_event evs[16];
		int n = epoll_wait(loop->epfd, evs, 16, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !atomic_load(&loop->stop); i++) {
			struct ev_handler *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
	}
	return 0;
}

void ev_stop(struct event_loop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stop, true);
	/* The eventfd wakes epoll_wait; a full counter (EAGAIN) is already a wake-up. */
	if (write(loop->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return;
}

/* --- timers: a timerfd on the loop --- */

int ev_timer_create(struct event_loop *loop, struct ev_handler *h, ev_fn fn, void *opaque)
{
	int ret;

	*h = (struct ev_handler){timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), fn,
				 opaque};
	if (h->fd < 0)
		return -errno;
	ret = ev_add(loop, h, EPOLLIN);
	if (ret) {
		close(h->fd);
		h->fd = -1;
	}
	return ret;
}

static struct timespec ns_to_ts(uint64_t ns)
{
	return (struct timespec){.tv_sec = (time_t)(ns / 1000000000ULL),
				 .tv_nsec = (long)(ns % 1000000000ULL)};
}

int ev_timer_arm(struct ev_handler *h, uint64_t ns, uint64_t interval_ns)
{
	/* An it_value of 0 would disarm: "at once" is the next nanosecond. */
	struct itimerspec its = {.it_interval = ns_to_ts(interval_ns),
				 .it_value = ns_to_ts(ns ? ns : 1)};

	return timerfd_settime(h->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int ev_timer_disarm(struct ev_handler *h)
{
	struct itimerspec its = {0};

	return timerfd_settime(h->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

uint64_t ev_timer_consume(struct ev_handler *h)
{
	uint64_t n;

	return read(h->fd, &n, sizeof(n)) == sizeof(n) ? n : 0;
}

void ev_timer_destroy(struct event_loop *loop, struct ev_handler *h)
{
	if (h->fd < 0)
		return;
	if (loop)
		ev_del(loop, h);
	close(h->fd);
	h->fd = -1;
}
