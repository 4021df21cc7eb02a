/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API thread, fc_api as Firecracker names it: the HTTP server (its socket
 * and connections) on an event loop of its own, behind the "api" seccomp
 * filter, which it installs before it serves anything. Each parsed request
 * crosses to the VMM thread (the main thread's event loop), which routes and
 * answers it while the API thread waits, as Firecracker's API thread waits on
 * its channel: the controller and the VM stay on one thread.
 */
#ifndef EMBER_API_API_THREAD_H
#define EMBER_API_API_THREAD_H

#include "api/http_server.h"
#include "core/event_loop.h"
#include "seccomp/seccomp.h"

#include <pthread.h>
#include <stdbool.h>

struct api_thread {
	struct http_server *srv;
	struct event_loop loop;	     /* the API thread's: the socket and its connections */
	struct event_loop *vmm_loop; /* the VMM thread's: where requests are answered */
	http_handler fn;	     /* the router (srv's handler), run on the VMM thread */
	void *opaque;
	const struct seccomp_prog *filter; /* NULL: none (--no-seccomp) */
	pthread_t thread;
	bool started;

	/* One request at a time crosses; all below under @lock. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ev_handler req_h; /* eventfd on vmm_loop: a request waits */
	const struct http_request *req;
	struct http_response *resp;
	bool answered;
	bool closed;   /* the VMM thread answers nothing more */
	int start_err; /* the thread's start: 0, -errno, or 1 while it is starting */
};

/*
 * Takes @srv (listening, not started) over: starts the thread, which installs
 * @filter (NULL: none) and serves @srv's requests through @vmm_loop's thread.
 * Returns once the thread serves, 0, or -errno (then nothing runs).
 */
int api_thread_start(struct api_thread *t, struct http_server *srv, struct event_loop *vmm_loop,
		     const struct seccomp_prog *filter);

/*
 * On the VMM thread: answers no more requests (one waiting gets a 500), stops
 * the thread, which closes @srv (connections, socket file), and joins it.
 * Safe when api_thread_start() was not called or failed (t zeroed).
 */
void api_thread_stop(struct api_thread *t);

#endif
