// SPDX-License-Identifier: Apache-2.0
/* The API's HTTP server: the Unix socket and its connections on the event loop (see http_server.h).
 */
#include "api/http_server.h"

#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Reading stops while this much output waits for the client (pipelined floods). */
#define OUT_HIGH_WATER	(256 * 1024)
#define READ_CHUNK	16384
#define READS_PER_EVENT 4

struct http_client {
	struct http_server *srv;
	struct http_client *next, **pprev;
	struct ev_handler h; /* the socket */
	uint32_t events;     /* what it is registered for; 0 before registration */
	unsigned long id;
	struct http_conn *conn;
};

/* --- connections on the event loop --- */

static void client_close(struct http_client *cl)
{
	struct http_server *srv = cl->srv;

	log_debug("API connection %lu closed", cl->id);
	if (cl->events)
		ev_del(srv->loop, &cl->h);
	close(cl->h.fd);
	*cl->pprev = cl->next;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	srv->nr_clients--;
	http_conn_free(cl->conn);
	free(cl);
}

/* Writes what it can; false if the connection broke. */
static bool client_flush(struct http_client *cl)
{
	size_t len;
	const char *buf;

	while ((buf = http_conn_output(cl->conn, &len)), len) {
		ssize_t n = send(cl->h.fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			http_conn_consume(cl->conn, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
	return true;
}

static void client_io(struct ev_handler *h, uint32_t events)
{
	struct http_client *cl = h->opaque;
	struct http_conn *c = cl->conn;
	size_t pending;
	uint32_t want;

	if (events & EPOLLERR) {
		client_close(cl);
		return;
	}
	for (int i = 0; i < READS_PER_EVENT && !http_conn_closing(c); i++) {
		char buf[READ_CHUNK];
		ssize_t n;

		http_conn_output(c, &pending);
		if (pending > OUT_HIGH_WATER)
			break;
		n = recv(cl->h.fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			http_conn_input(c, buf, (size_t)n);
			continue;
		}
		if (n == 0) {
			/* The client is done sending; what it asked for is still answered. */
			http_conn_end_input(c);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			client_close(cl);
			return;
		}
		break;
	}
	if (!client_flush(cl)) {
		client_close(cl);
		return;
	}
	http_conn_output(c, &pending);
	if (http_conn_closing(c) && !pending) {
		client_close(cl);
		return;
	}
	want = (http_conn_closing(c) || pending > OUT_HIGH_WATER ? 0 : EPOLLIN) |
	       (pending ? EPOLLOUT : 0);
	if (want != cl->events) {
		if (ev_mod(cl->srv->loop, &cl->h, want) < 0) {
			client_close(cl);
			return;
		}
		cl->events = want;
	}
}

/* The API server's own lines carry the name of Firecracker's API thread. */
static void client_event(struct ev_handler *h, uint32_t events)
{
	const char *prev = log_set_thread_name("fc_api");

	client_io(h, events);
	log_set_thread_name(prev);
}

static void accept_all(struct ev_handler *h, uint32_t events)
{
	struct http_server *srv = h->opaque;

	(void)events;
	for (int i = 0; i < 16; i++) {
		int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct http_client *cl;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn("API socket %s: accept: %s", srv->path, strerror(errno));
			return;
		}
		if (srv->nr_clients >= HTTP_MAX_CONNS) {
			if (!srv->refused_logged)
				log_warn("API socket %s: %d connections open; closing new ones",
					 srv->path, HTTP_MAX_CONNS);
			srv->refused_logged = true;
			close(fd);
			continue;
		}
		srv->refused_logged = false;
		cl = calloc(1, sizeof(*cl));
		if (cl) {
			cl->id = ++srv->next_id;
			cl->conn = http_conn_new(&srv->service, cl->id);
		}
		if (!cl || !cl->conn) {
			free(cl);
			close(fd);
			continue;
		}
		cl->srv = srv;
		cl->h = (struct ev_handler){fd, client_event, cl};
		if (ev_add(srv->loop, &cl->h, EPOLLIN) < 0) {
			http_conn_free(cl->conn);
			free(cl);
			close(fd);
			continue;
		}
		cl->events = EPOLLIN;
		cl->next = srv->clients;
		if (cl->next)
			cl->next->pprev = &cl->next;
		cl->pprev = &srv->clients;
		srv->clients = cl;
		srv->nr_clients++;
		log_debug("API connection %lu opened", cl->id);
	}
}

static void accept_ready(struct ev_handler *h, uint32_t events)
{
	const char *prev = log_set_thread_name("fc_api");

	accept_all(h, events);
	log_set_thread_name(prev);
}

/* --- the server --- */

void http_server_init(struct http_server *srv, size_t max_body, http_handler fn, void *opaque)
{
	memset(srv, 0, sizeof(*srv));
	srv->listen_fd = -1;
	http_service_init(&srv->service, max_body, fn, opaque);
}

/* 1 if something accepts connections on @addr, 0 if nothing does, -errno if unknown. */
static int socket_alive(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int ret;

	if (fd < 0)
		return -errno;
	if (!connect(fd, (const struct sockaddr *)addr, sizeof(*addr)))
		ret = 1;
	else if (errno == EAGAIN || errno == EINPROGRESS)
		ret = 1; /* a full backlog: alive, just busy */
	else if (errno == ECONNREFUSED || errno == ENOENT)
		ret = 0;
	else
		ret = -errno;
	close(fd);
	return ret;
}

int http_server_listen(struct http_server *srv, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (!path[0] || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "API socket \"%s\": the path must be 1 to %zu bytes long",
			 path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (!lstat(path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen,
				 "API socket %s: the path exists and is not a socket; remove it "
				 "or choose another --api-sock",
				 path);
			return -EEXIST;
		}
		ret = socket_alive(&addr);
		if (ret > 0) {
			snprintf(err, errlen,
				 "API socket %s: another process is serving it; stop it or choose "
				 "another --api-sock",
				 path);
			return -EADDRINUSE;
		}
		if (ret < 0) {
			snprintf(err, errlen, "API socket %s: %s", path, strerror(-ret));
			return ret;
		}
		/* Stale: left by a process that is gone. */
		if (unlink(path) && errno != ENOENT) {
			ret = -errno;
			snprintf(err, errlen, "API socket %s: removing the stale socket: %s", path,
				 strerror(errno));
			return ret;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "API socket %s: socket: %s", path, strerror(errno));
		return ret;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128) ||
	    lstat(path, &st)) {
		ret = -errno;
		snprintf(err, errlen, "API socket %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	srv->path = strdup(path);
	if (!srv->path) {
		snprintf(err, errlen, "API socket %s: out of memory", path);
		unlink(path);
		close(fd);
		return -ENOMEM;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	srv->listen_fd = fd;
	return 0;
}

int http_server_start(struct http_server *srv, struct event_loop *loop)
{
	srv->loop = loop;
	srv->listen_h = (struct ev_handler){srv->listen_fd, accept_ready, srv};
	return ev_add(loop, &srv->listen_h, EPOLLIN);
}

void http_server_close(struct http_server *srv)
{
	struct stat st;

	while (srv->clients) {
		/* A last try for answers already queued (InstanceStart's, ...). */
		client_flush(srv->clients);
		client_close(srv->clients);
	}
	if (srv->listen_fd >= 0) {
		if (srv->loop)
			ev_del(srv->loop, &srv->listen_h);
		close(srv->listen_fd);
		/* Remove the file only if it is still the socket this server made. */
		if (srv->path && !lstat(srv->path, &st) && st.st_dev == srv->dev &&
		    st.st_ino == srv->ino)
			unlink(srv->path);
	}
	srv->listen_fd = -1;
	free(srv->path);
	srv->path = NULL;
}
