// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock's host-side muxer: the Unix listener at uds_path and its host
 * clients' "CONNECT <port>\n" lines, the guest's connects to
 * "<uds_path>_<port>", and the watches of every host socket (edge-triggered:
 * the readiness is remembered per connection). See vsock.h.
 */
#include "devices/virtio/vsock_internal.h"

#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static void conn_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events);

/* --- host sockets --- */

/* Watches @fd (nonblocking) for @c, edge-triggered. Closes @fd on failure. */
static int conn_attach(struct vsock_conn *c, int fd)
{
	int ret;

	c->w = (struct dev_watch){.fd = fd, .fn = conn_event, .opaque = c};
	ret = virtio_dev_watch(&c->v->dev, &c->w, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	if (ret) {
		log_warn_rl("vsock: cannot watch a host socket: %s", strerror(-ret));
		close(fd);
		c->w.fd = -1;
	}
	return ret;
}

/* Reads the client's "CONNECT <port>\n" (without reading past it). */
static void conn_read_line(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;
	char line[VSOCK_CONNECT_LINE_MAX + 1];
	const char *why = NULL;
	unsigned long long port = 0;
	ssize_t n;
	char *nl;
	size_t len, i;

	n = recv(c->w.fd, line, VSOCK_CONNECT_LINE_MAX, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->readable = false;
		return;
	}
	if (n <= 0) {
		/* Gone before its line (or an error): nothing to tell anyone. */
		vsock_conn_release(c);
		return;
	}
	nl = memchr(line, '\n', (size_t)n);
	if (!nl) {
		struct pollfd p = {.fd = c->w.fd, .events = POLLRDHUP};

		if (n >= VSOCK_CONNECT_LINE_MAX) {
			why = "too long";
			goto bad;
		}
		if (poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			why = "the client stopped sending before its end";
			goto bad;
		}
		c->readable = false; /* the rest of the line will come with a new edge */
		return;
	}
	len = (size_t)(nl - line) + 1;
	if (recv(c->w.fd, line, len, MSG_DONTWAIT) != (ssize_t)len) {
		vsock_conn_release(c);
		return;
	}
	line[len - 1] = '\0';
	if (strncmp(line, "CONNECT ", 8) || len - 1 == 8 || len - 1 > 8 + 10) {
		why = "not \"CONNECT <port>\"";
		goto bad;
	}
	for (i = 8; line[i]; i++) {
		if (line[i] < '0' || line[i] > '9') {
			why = "the port is not a decimal number";
			goto bad;
		}
		port = port * 10 + (unsigned long long)(line[i] - '0');
	}
	if (port > UINT32_MAX) {
		why = "the port is out of range";
		goto bad;
	}

	/* A host port of ours for the pair; at most max_conns pairs exist, so one is free. */
	for (unsigned int tries = 0; tries <= v->max_conns; tries++) {
		uint32_t p = v->next_host_port++;

		if (v->next_host_port < VSOCK_HOST_PORT_FIRST)
			v->next_host_port = VSOCK_HOST_PORT_FIRST;
		if (!vsock_conn_find(v, p, (uint32_t)port)) {
			vsock_conn_key(c, p, (uint32_t)port);
			break;
		}
	}
	if (!c->keyed) {
		vsock_conn_release(c);
		return;
	}
	c->state = CONN_HOST_REQ;
	c->pending = PEND_REQUEST;
	c->readable = true; /* bytes after the line wait for the connection */
	log_debug("vsock: host client connects to guest port %u from host port %u", c->peer_port,
		  c->local_port);
	vsock_rxq_push(c);
	return;
bad:
	log_debug("vsock: host client's connect line refused: %s", why);
	v->bad_connect_lines++;
	vsock_conn_release(c);
}

/* Serves @c's remembered readiness (event loop, lock held). */
static void conn_service(struct vsock_conn *c)
{
	if (c->state == CONN_HOST_LINE) {
		if (c->readable)
			conn_read_line(c);
		return;
	}
	if (c->state == CONN_FREE)
		return;
	if (c->writable && c->buf_len)
		vsock_conn_flush(c);
	if (c->state != CONN_FREE)
		vsock_conn_update(c);
}

/* A host socket's readiness (the host's watch, dev.lock held). */
static void conn_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct vsock_conn *c = w->opaque;

	if (c->state == CONN_FREE || c->w.fd < 0)
		return;
	/* Hints only: errors and hang-ups show up in the next read or write. */
	if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
		c->readable = true;
	if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
		c->writable = true;
	conn_service(c);
	vsock_process_rx(d->opaque);
}

/* --- the listener: host-initiated connections --- */

void vsock_host_accept(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < VSOCK_ACCEPT_BUDGET; i++) {
		struct vsock_conn *c;
		int fd = accept4(v->listen_w.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				log_warn_rl("vsock: accept on %s: %s", v->uds_path,
					    strerror(errno));
			v->listen_ready = false;
			return;
		}
		c = vsock_conn_alloc(v, CONN_HOST_LINE);
		if (!c) {
			log_debug("vsock: connection limit (%u) reached: host client refused",
				  v->max_conns);
			v->conns_refused++;
			close(fd);
			continue;
		}
		if (conn_attach(c, fd)) {
			vsock_conn_release(c);
			continue;
		}
		c->readable = true;
		c->writable = true;
		v->conns_added++;
		conn_read_line(c);
	}
	vsock_kick(v); /* more may wait: come back after the loop served the others */
}

/* The listener's readiness (the host's watch, dev.lock held). */
static void listen_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct virtio_vsock *v = d->opaque;

	(void)w;
	(void)events;
	v->listen_ready = true;
	vsock_host_accept(v);
	vsock_process_rx(v);
}

int vsock_host_listen(struct virtio_vsock *v)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	memcpy(sa.sun_path, v->uds_path, strlen(v->uds_path) + 1);
	if (lstat(v->uds_path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_error("vsock.uds_path: %s exists and is not a socket", v->uds_path);
			return -EEXIST;
		}
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
		if (ret == 0) {
			log_error("vsock.uds_path: %s: something already listens there",
				  v->uds_path);
			return -EADDRINUSE;
		}
		unlink(v->uds_path); /* stale: nobody serves it */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 128) < 0) {
		ret = -errno;
		log_error("vsock.uds_path: %s: %s", v->uds_path, strerror(-ret));
		close(fd);
		return ret;
	}
	v->unlink_path = true;
	v->listen_w = (struct dev_watch){.fd = fd, .fn = listen_event};
	ret = virtio_dev_watch(&v->dev, &v->listen_w, EPOLLIN | EPOLLET);
	if (ret) {
		log_error("vsock.uds_path: %s: cannot watch it: %s", v->uds_path, strerror(-ret));
		return ret;
	}
	return 0;
}

/* --- guest-initiated connections --- */

/* A guest REQUEST for host port h->dst_port: connect to "<uds_path>_<port>". */
void vsock_host_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vsock_conn *c;
	int fd, n;

	n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", v->uds_path, h->dst_port);
	if (n < 0 || (size_t)n >= sizeof(sa.sun_path)) {
		log_debug("vsock: guest connect to port %u: path too long", h->dst_port);
		goto refuse;
	}
	if (v->nr_conns >= v->max_conns) {
		log_debug("vsock: connection limit (%u) reached: guest connect refused",
			  v->max_conns);
		goto refuse;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		log_debug("vsock: guest connect to %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto refuse;
	}
	c = vsock_conn_alloc(v, CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		goto refuse;
	}
	if (conn_attach(c, fd)) {
		vsock_conn_release(c);
		goto refuse;
	}
	vsock_conn_key(c, h->dst_port, h->src_port);
	c->pending = PEND_RESPONSE;
	c->readable = c->writable = true; /* the edge may come later: try */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	v->conns_added++;
	log_debug("vsock: guest port %u connected to %s", h->src_port, sa.sun_path);
	vsock_rxq_push(c);
	return;
refuse:
	v->conns_refused++;
	vsock_rst_enqueue(v, h->dst_port, h->src_port, true);
}

/* The guest's RESPONSE to our REQUEST: tell the host client, then bytes flow. */
void vsock_host_established(struct vsock_conn *c)
{
	char ok[32];
	int n = snprintf(ok, sizeof(ok), "OK %u\n", c->local_port);
	ssize_t w;

	c->state = CONN_ESTABLISHED;
	c->deadline_ns = 0;
	do
		w = send(c->w.fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (w < 0 && errno == EINTR);
	if (w != n) {
		/* A fresh socket takes a few bytes; anything else means the client is gone. */
		log_debug("vsock: host client of %u:%u: cannot write OK: %s", c->local_port,
			  c->peer_port, w < 0 ? strerror(errno) : "short write");
		c->v->tx_write_fails++;
		vsock_conn_kill(c);
		return;
	}
	log_debug("vsock: guest port %u accepted host port %u", c->peer_port, c->local_port);
}

void vsock_host_close(struct virtio_vsock *v)
{
	if (v->listen_w.fd >= 0) {
		virtio_dev_unwatch(&v->dev, &v->listen_w);
		close(v->listen_w.fd);
		v->listen_w.fd = -1;
	}
	if (v->unlink_path)
		unlink(v->uds_path);
	v->unlink_path = false;
}
