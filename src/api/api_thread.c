// SPDX-License-Identifier: Apache-2.0
/* The API thread (see api_thread.h). */
#include "api/api_thread.h"

#include "util/log.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* On the API thread: the server's handler. Hands the request over and waits for the answer. */
static void cross(void *opaque, const struct http_request *req, struct http_response *resp)
{
	struct api_thread *t = opaque;
	uint64_t one = 1;

	pthread_mutex_lock(&t->lock);
	t->answered = false;
	/* A full counter (EAGAIN) is a wake-up already pending. */
	if (!t->closed &&
	    (write(t->req_h.fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN)) {
		t->req = req;
		t->resp = resp;
		while (!t->answered && !t->closed)
			pthread_cond_wait(&t->cond, &t->lock);
	} else if (!t->closed) {
		log_error("API thread: waking the VMM thread: %s", strerror(errno));
	}
	if (!t->answered) {
		resp->status = 500;
		resp->body = http_fault_json("%s: the request was not carried out",
					     t->closed ? "ember is shutting down"
						       : "the VMM thread could not be woken");
	}
	t->req = NULL;
	t->resp = NULL;
	pthread_mutex_unlock(&t->lock);
}

/* On the VMM thread: the waiting request, answered by the router. */
static void answer(struct ev_handler *h, uint32_t events)
{
	struct api_thread *t = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->req && !t->answered) {
		t->fn(t->opaque, t->req, t->resp);
		t->answered = true;
		pthread_cond_signal(&t->cond);
	}
	pthread_mutex_unlock(&t->lock);
}

static void started(struct api_thread *t, int err)
{
	pthread_mutex_lock(&t->lock);
	t->start_err = err;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
}

static void *api_thread_main(void *arg)
{
	struct api_thread *t = arg;
	sigset_t all;
	int ret;

	/* Firecracker's name for it. Signals are the main thread's (signalfd), not this one's. */
	pthread_setname_np(pthread_self(), "fc_api");
	sigfillset(&all);
	sigdelset(&all, SIGSYS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	/* Before anything from a client is read, as Firecracker's API thread does. */
	ret = seccomp_install(t->filter);
	if (!ret)
		ret = http_server_start(t->srv, &t->loop);
	started(t, ret);
	if (ret)
		return NULL;
	ret = ev_run(&t->loop);
	if (ret)
		log_error("API thread: event loop: %s", strerror(-ret));
	/* Here, within the api filter: the connections, the socket and its file. */
	http_server_close(t->srv);
	return NULL;
}

int api_thread_start(struct api_thread *t, struct http_server *srv, struct event_loop *vmm_loop,
		     const struct seccomp_prog *filter)
{
	int ret, fd;

	memset(t, 0, sizeof(*t));
	t->req_h.fd = -1;
	t->srv = srv;
	t->vmm_loop = vmm_loop;
	t->filter = filter;
	t->fn = srv->service.handler;
	t->opaque = srv->service.opaque;
	srv->service.handler = cross;
	srv->service.opaque = t;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	ret = ev_init(&t->loop);
	if (ret)
		goto err;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	t->req_h = (struct ev_handler){fd, answer, t};
	ret = ev_add(vmm_loop, &t->req_h, EPOLLIN);
	if (ret)
		goto err;
	t->start_err = 1;
	ret = -pthread_create(&t->thread, NULL, api_thread_main, t);
	if (ret)
		goto err;
	pthread_mutex_lock(&t->lock);
	while (t->start_err == 1)
		pthread_cond_wait(&t->cond, &t->lock);
	ret = t->start_err;
	pthread_mutex_unlock(&t->lock);
	if (ret) {
		pthread_join(t->thread, NULL);
		goto err;
	}
	t->started = true;
	return 0;
err:
	if (t->req_h.fd >= 0) {
		ev_del(vmm_loop, &t->req_h);
		close(t->req_h.fd);
	}
	ev_destroy(&t->loop);
	srv->service.handler = t->fn;
	srv->service.opaque = t->opaque;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
	return ret;
}

void api_thread_stop(struct api_thread *t)
{
	if (!t->started)
		return;
	pthread_mutex_lock(&t->lock);
	t->closed = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	ev_stop(&t->loop);
	pthread_join(t->thread, NULL);
	ev_del(t->vmm_loop, &t->req_h);
	close(t->req_h.fd);
	ev_destroy(&t->loop);
	t->srv->service.handler = t->fn;
	t->srv->service.opaque = t->opaque;
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	t->started = false;
}
