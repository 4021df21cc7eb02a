// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock over host Unix sockets (Firecracker's hybrid design). See vsock.h.
 *
 * A connection's life:
 *
 *   host client accepted ---------------------------> HOST_LINE (not keyed yet)
 *   HOST_LINE  + "CONNECT <port>\n"                 -> HOST_REQ   (REQUEST pending)
 *   HOST_REQ   + guest RESPONSE ("OK <port>\n")     -> ESTABLISHED
 *   guest REQUEST + connect("<uds>_P") succeeded    -> ESTABLISHED (RESPONSE pending)
 *   ESTABLISHED + host closed both ways (we sent SHUTDOWN RCV|SEND) -> CLOSING
 *   CLOSING    + guest RST or VSOCK_CLOSE_TIMEOUT_MS -> free
 *   any        + guest RST -> free;  any error -> free and RST to the guest (kill)
 *
 * What goes to the guest waits in two places: the RST ring (RSTs with no
 * connection left) and the rx queue of connections (rxq), each with pending
 * control packets (bits) and/or readable host data. The rx loop takes one
 * packet from the head per rx buffer and puts the connection back at the tail
 * while it has more (round robin). A freed connection may stay on the rxq; the
 * loop drops it when it gets there (a reused slot is simply served).
 *
 * The host may deliver an event it fetched before the connection's unwatch (in
 * the same turn of its loop): a slot, and its dev_watch, is never freed before
 * destroy, so such an event finds a free (ignored) or reused slot, and
 * readiness is only a hint: every read and write finds out the truth itself.
 */
#include "devices/virtio/vsock.h"

#include "core/iov.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum conn_state {
	CONN_FREE,
	CONN_HOST_LINE,	  /* host client accepted, its "CONNECT <port>\n" not read yet */
	CONN_HOST_REQ,	  /* our REQUEST is (to be) with the guest */
	CONN_ESTABLISHED, /* bytes flow */
	CONN_CLOSING,	  /* we sent SHUTDOWN(RCV|SEND): waiting for the guest's RST */
};

/* Control packets a connection owes the guest. */
#define PEND_REQUEST	    1u
#define PEND_RESPONSE	    2u
#define PEND_CREDIT_UPDATE  4u
#define PEND_CREDIT_REQUEST 8u
#define PEND_SHUTDOWN	    16u

struct vsock_conn {
	struct dev_watch w; /* w.fd: the host socket, -1 while free */
	struct virtio_vsock *v;
	enum conn_state state;
	uint32_t local_port, peer_port; /* host side, guest side */
	bool keyed;			/* in v->hash */
	struct vsock_conn *hnext;
	struct vsock_conn *rxq_next;
	bool in_rxq;
	struct vsock_conn *free_next;

	uint32_t pending;      /* PEND_* */
	uint32_t shut_pending; /* flags of the SHUTDOWN we owe */
	uint32_t shut_sent;    /* SHUTDOWN flags we sent */
	uint32_t guest_shut;   /* SHUTDOWN flags the guest sent */
	bool host_wr_shut;     /* shutdown(SHUT_WR) done on the host socket */
	bool close_when_flushed;
	bool readable, writable; /* remembered readiness (edge-triggered) */
	bool host_eof;
	bool request_sent;
	bool credit_requested;

	/* host -> guest */
	uint32_t sent_cnt; /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc, peer_fwd_cnt;
	/* guest -> host */
	uint32_t recv_cnt;	/* payload bytes received from the guest */
	uint32_t fwd_cnt;	/* ... of which written to the host socket */
	uint32_t last_fwd_sent; /* fwd_cnt in our last packet to the guest */
	uint8_t *buf;		/* VSOCK_CONN_BUF_SIZE ring, NULL until needed */
	uint32_t buf_head, buf_len;

	uint64_t deadline_ns; /* 0: none */
};

static void process_rx(struct virtio_vsock *v);
static void process_tx(struct virtio_vsock *v);

/* --- small helpers --- */

static bool dev_usable(const struct virtio_vsock *v)
{
	return v->dev.activated && !(v->dev.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Deferred work (a budget ran out, activation): the host runs us again soon. */
static void kick(struct virtio_vsock *v)
{
	virtio_dev_schedule(&v->dev, 0);
}

/* The connection ends in @ms unless something happens first: run no later than that. */
static void conn_set_deadline(struct vsock_conn *c, unsigned int ms)
{
	c->deadline_ns = virtio_dev_now_ns(&c->v->dev) + ms * 1000000ULL;
	virtio_dev_schedule(&c->v->dev, ms * 1000000ULL);
}

static unsigned int hash_of(uint32_t local, uint32_t peer)
{
	return (local * 2654435761u ^ peer * 40503u) % VSOCK_HASH_SIZE;
}

static struct vsock_conn *conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = v->hash[hash_of(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return NULL;
}

static void conn_key(struct vsock_conn *c, uint32_t local, uint32_t peer)
{
	struct vsock_conn **b = &c->v->hash[hash_of(local, peer)];

	c->local_port = local;
	c->peer_port = peer;
	c->hnext = *b;
	*b = c;
	c->keyed = true;
}

static void conn_unkey(struct vsock_conn *c)
{
	struct vsock_conn **p = &c->v->hash[hash_of(c->local_port, c->peer_port)];

	if (!c->keyed)
		return;
	for (; *p; p = &(*p)->hnext) {
		if (*p == c) {
			*p = c->hnext;
			break;
		}
	}
	c->keyed = false;
	c->hnext = NULL;
}

static void rxq_push(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	if (c->in_rxq)
		return;
	c->in_rxq = true;
	c->rxq_next = NULL;
	if (v->rxq_tail)
		v->rxq_tail->rxq_next = c;
	else
		v->rxq_head = c;
	v->rxq_tail = c;
}

static struct vsock_conn *rxq_pop(struct virtio_vsock *v)
{
	struct vsock_conn *c = v->rxq_head;

	if (!c)
		return NULL;
	v->rxq_head = c->rxq_next;
	if (!v->rxq_head)
		v->rxq_tail = NULL;
	c->rxq_next = NULL;
	c->in_rxq = false;
	return c;
}

/* An RST for a packet without a connection (@reserve: leave room for the connections'). */
static void rst_enqueue(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port,
			bool reserve)
{
	unsigned int cap = reserve ? VSOCK_RST_RING / 2 : VSOCK_RST_RING;

	if (v->rst_len >= cap) {
		v->rst_dropped++;
		return;
	}
	unsigned int i = (v->rst_head + v->rst_len) % VSOCK_RST_RING;

	v->rst_ring[i].src_port = host_port;
	v->rst_ring[i].dst_port = guest_port;
	v->rst_len++;
}

/* --- connection slots --- */

/* A slot for a new connection in @state, or NULL at the limit (or out of memory). */
static struct vsock_conn *conn_alloc(struct virtio_vsock *v, enum conn_state state)
{
	unsigned int nr_free = v->nr_slots - v->nr_conns;
	struct vsock_conn *c, *rxq_next;
	bool in_rxq;

	if (v->nr_conns >= v->max_conns)
		return NULL;
	if (v->free_head && (nr_free >= 8 || v->nr_slots >= v->max_conns)) {
		/* Reuse the slot freed longest ago. */
		c = v->free_head;
		v->free_head = c->free_next;
		if (!v->free_head)
			v->free_tail = NULL;
	} else if (v->nr_slots < VSOCK_MAX_CONNS) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		v->slots[v->nr_slots++] = c;
	} else {
		return NULL;
	}
	/* A slot may still sit on the rxq from its previous life: keep those links. */
	in_rxq = c->in_rxq;
	rxq_next = c->rxq_next;
	memset(c, 0, sizeof(*c));
	c->in_rxq = in_rxq;
	c->rxq_next = rxq_next;
	c->v = v;
	c->w.fd = -1;
	c->state = state;
	v->nr_conns++;
	return c;
}

static void conn_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events);

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

static void conn_drop_buf(struct vsock_conn *c)
{
	c->v->buffered_bytes -= c->buf_len;
	free(c->buf);
	c->buf = NULL;
	c->buf_head = c->buf_len = 0;
}

/* Forgets @c: no packet to the guest. */
static void conn_release(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	if (c->state == CONN_FREE)
		return;
	conn_unkey(c);
	if (c->w.fd >= 0) {
		virtio_dev_unwatch(&v->dev, &c->w);
		close(c->w.fd);
		c->w.fd = -1;
	}
	conn_drop_buf(c);
	c->state = CONN_FREE;
	c->pending = 0;
	c->deadline_ns = 0;
	c->free_next = NULL;
	if (v->free_tail)
		v->free_tail->free_next = c;
	else
		v->free_head = c;
	v->free_tail = c;
	v->nr_conns--;
	v->conns_removed++;
}

/* Ends @c; the guest gets an RST if it knows the connection. */
static void conn_kill(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	if (c->state == CONN_FREE)
		return;
	if (c->state != CONN_HOST_LINE && (c->state != CONN_HOST_REQ || c->request_sent))
		rst_enqueue(v, c->local_port, c->peer_port, false);
	v->conns_killed++;
	conn_release(c);
}

/* --- credit --- */

/* How many bytes the guest can take from us now. */
static uint32_t conn_peer_credit(const struct vsock_conn *c)
{
	uint32_t used = c->sent_cnt - c->peer_fwd_cnt;

	return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

static bool conn_can_send_data(const struct vsock_conn *c)
{
	return c->state == CONN_ESTABLISHED && c->readable && !c->host_eof &&
	       !(c->guest_shut & VSOCK_SHUTDOWN_RCV) && conn_peer_credit(c) > 0;
}

static bool conn_rx_ready(const struct vsock_conn *c)
{
	if (c->state == CONN_FREE)
		return false;
	return c->pending || conn_can_send_data(c);
}

/*
 * After anything changed on @c: owes the guest a credit update or request?
 * Then on the rxq if it has something to send.
 */
static void conn_update(struct vsock_conn *c)
{
	if (c->state == CONN_ESTABLISHED) {
		uint32_t in_flight = c->recv_cnt - c->last_fwd_sent; /* as the guest sees it */
		uint32_t seen_free =
		    in_flight >= VSOCK_CONN_BUF_SIZE ? 0 : VSOCK_CONN_BUF_SIZE - in_flight;
		uint32_t freed = c->fwd_cnt - c->last_fwd_sent;

		/* The guest thinks we are nearly full, and we have room it does not know of. */
		if (seen_free < VSOCK_CREDIT_THRESHOLD && freed &&
		    (freed >= VSOCK_CREDIT_THRESHOLD || !c->buf_len))
			c->pending |= PEND_CREDIT_UPDATE;
		/* The host has data and the guest no room: ask it (once per credit change). */
		if (c->readable && !c->host_eof && !(c->guest_shut & VSOCK_SHUTDOWN_RCV) &&
		    !conn_peer_credit(c) && !c->credit_requested) {
			c->pending |= PEND_CREDIT_REQUEST;
			c->credit_requested = true;
		}
	}
	if (conn_rx_ready(c))
		rxq_push(c);
}

/* --- host socket I/O --- */

static void conn_shut_host_wr(struct vsock_conn *c)
{
	if (c->host_wr_shut)
		return;
	shutdown(c->w.fd, SHUT_WR);
	c->host_wr_shut = true;
}

/* Writes the buffered guest bytes to the host socket (at most one ring's worth). */
static void conn_flush(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	while (c->buf_len && c->writable) {
		struct iovec iov[2];
		uint32_t first = VSOCK_CONN_BUF_SIZE - c->buf_head;
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 1};
		ssize_t n;

		if (first > c->buf_len)
			first = c->buf_len;
		iov[0] = (struct iovec){c->buf + c->buf_head, first};
		if (first < c->buf_len) {
			iov[1] = (struct iovec){c->buf, c->buf_len - first};
			msg.msg_iovlen = 2;
		}
		n = sendmsg(c->w.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->writable = false;
				break;
			}
			log_debug("vsock: host socket of %u:%u: write: %s", c->local_port,
				  c->peer_port, strerror(errno));
			v->tx_write_fails++;
			conn_kill(c);
			return;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_CONN_BUF_SIZE;
		c->buf_len -= (uint32_t)n;
		v->buffered_bytes -= (uint64_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (!c->buf_len) {
		if (c->close_when_flushed) {
			conn_kill(c); /* the guest closed both ways: RST is its answer */
			return;
		}
		if (c->guest_shut & VSOCK_SHUTDOWN_SEND)
			conn_shut_host_wr(c);
	}
}

/* The guest's RW payload (@len bytes at VSOCK_HDR_SIZE in @ch) for the host socket. */
static void conn_recv(struct vsock_conn *c, const struct vq_chain *ch, uint32_t len)
{
	struct virtio_vsock *v = c->v;
	size_t off = VSOCK_HDR_SIZE;

	if (c->guest_shut & VSOCK_SHUTDOWN_SEND) {
		log_debug("vsock: %u:%u: data after the guest's SHUTDOWN(SEND)", c->local_port,
			  c->peer_port);
		v->pkt_fails++;
		conn_kill(c);
		return;
	}
	if (!len)
		return;
	c->recv_cnt += len;
	v->tx_bytes_count += len;
	if (!c->buf_len && c->writable) {
		unsigned int k = iov_slice(ch->out, ch->nr_out, off, len, v->iov_tmp, VQ_MAX_SEGS);
		struct msghdr msg = {.msg_iov = v->iov_tmp, .msg_iovlen = k};
		ssize_t n;

		do
			n = sendmsg(c->w.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_debug("vsock: host socket of %u:%u: write: %s", c->local_port,
					  c->peer_port, strerror(errno));
				v->tx_write_fails++;
				conn_kill(c);
				return;
			}
			c->writable = false;
			n = 0;
		}
		c->fwd_cnt += (uint32_t)n;
		off += (size_t)n;
		len -= (uint32_t)n;
		if (len)
			c->writable = false; /* the socket is full: its EPOLLOUT edge resumes us */
	}
	if (!len)
		return;
	if (len > VSOCK_CONN_BUF_SIZE - c->buf_len) {
		log_debug("vsock: %u:%u: the guest sent beyond its credit", c->local_port,
			  c->peer_port);
		v->credit_overruns++;
		conn_kill(c);
		return;
	}
	if (!c->buf) {
		c->buf = malloc(VSOCK_CONN_BUF_SIZE);
		if (!c->buf) {
			log_warn_rl("vsock: out of memory for a connection buffer");
			conn_kill(c);
			return;
		}
	}
	/* Into the ring, in at most two pieces. */
	uint32_t tail = (c->buf_head + c->buf_len) % VSOCK_CONN_BUF_SIZE;
	uint32_t first = VSOCK_CONN_BUF_SIZE - tail < len ? VSOCK_CONN_BUF_SIZE - tail : len;

	iov_to_buf(ch->out, ch->nr_out, off, c->buf + tail, first);
	iov_to_buf(ch->out, ch->nr_out, off + first, c->buf, len - first);
	c->buf_len += len;
	v->buffered_bytes += len;
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
		conn_release(c); /* gone before its line (or an error): nothing to tell anyone */
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
		conn_release(c);
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
		if (!conn_find(v, p, (uint32_t)port)) {
			conn_key(c, p, (uint32_t)port);
			break;
		}
	}
	if (!c->keyed) {
		conn_release(c);
		return;
	}
	c->state = CONN_HOST_REQ;
	c->pending = PEND_REQUEST;
	c->readable = true; /* bytes after the line wait for the connection */
	log_debug("vsock: host client connects to guest port %u from host port %u", c->peer_port,
		  c->local_port);
	rxq_push(c);
	return;
bad:
	log_debug("vsock: host client's connect line refused: %s", why);
	v->bad_connect_lines++;
	conn_release(c);
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
		conn_flush(c);
	if (c->state != CONN_FREE)
		conn_update(c);
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
	process_rx(d->opaque);
}

/* --- the listener: host-initiated connections --- */

static void accept_some(struct virtio_vsock *v)
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
		c = conn_alloc(v, CONN_HOST_LINE);
		if (!c) {
			log_debug("vsock: connection limit (%u) reached: host client refused",
				  v->max_conns);
			v->conns_refused++;
			close(fd);
			continue;
		}
		if (conn_attach(c, fd)) {
			conn_release(c);
			continue;
		}
		c->readable = true;
		c->writable = true;
		v->conns_added++;
		conn_read_line(c);
	}
	kick(v); /* more may wait: come back after the loop served the others */
}

/* The listener's readiness (the host's watch, dev.lock held). */
static void listen_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct virtio_vsock *v = d->opaque;

	(void)w;
	(void)events;
	v->listen_ready = true;
	accept_some(v);
	process_rx(v);
}

static int listen_on(struct virtio_vsock *v)
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

/* --- the guest's packets (tx queue) --- */

/* A guest REQUEST for host port h->dst_port: connect to "<uds_path>_<port>". */
static void guest_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h)
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
	c = conn_alloc(v, CONN_ESTABLISHED);
	if (!c) {
		close(fd);
		goto refuse;
	}
	if (conn_attach(c, fd)) {
		conn_release(c);
		goto refuse;
	}
	conn_key(c, h->dst_port, h->src_port);
	c->pending = PEND_RESPONSE;
	c->readable = c->writable = true; /* the edge may come later: try */
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	v->conns_added++;
	log_debug("vsock: guest port %u connected to %s", h->src_port, sa.sun_path);
	rxq_push(c);
	return;
refuse:
	v->conns_refused++;
	rst_enqueue(v, h->dst_port, h->src_port, true);
}

static void conn_guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	c->guest_shut |= flags & VSOCK_SHUTDOWN_BOTH;
	if (c->state == CONN_CLOSING && (c->guest_shut & VSOCK_SHUTDOWN_BOTH)) {
		/* Both sides are done: the guest's close waits for our RST. */
		conn_kill(c);
		return;
	}
	if (c->state != CONN_ESTABLISHED)
		return;
	if ((c->guest_shut & VSOCK_SHUTDOWN_BOTH) == VSOCK_SHUTDOWN_BOTH) {
		/* The guest closed: the RST it waits for comes once its data is written. */
		c->close_when_flushed = true;
		c->pending &= ~(PEND_CREDIT_REQUEST | PEND_CREDIT_UPDATE);
		if (!c->buf_len) {
			conn_kill(c);
			return;
		}
		conn_set_deadline(c, VSOCK_CLOSE_TIMEOUT_MS);
		return;
	}
	if ((c->guest_shut & VSOCK_SHUTDOWN_SEND) && !c->buf_len)
		conn_shut_host_wr(c);
}

/* The guest's RESPONSE to our REQUEST: tell the host client, then bytes flow. */
static void conn_established(struct vsock_conn *c)
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
		conn_kill(c);
		return;
	}
	log_debug("vsock: guest port %u accepted host port %u", c->peer_port, c->local_port);
}

static void handle_tx_packet(struct virtio_vsock *v, const struct vq_chain *ch)
{
	struct virtio_vsock_hdr h;
	struct vsock_conn *c;
	const char *bad = NULL;

	if (ch->out_len < VSOCK_HDR_SIZE) {
		log_debug("vsock: tx chain of %llu readable bytes: no header",
			  (unsigned long long)ch->out_len);
		v->tx_queue_event_fails++;
		v->dev.event_fails++;
		return;
	}
	iov_to_buf(ch->out, ch->nr_out, 0, &h, VSOCK_HDR_SIZE);
	v->tx_packets_count++;
	if (h.src_cid != v->guest_cid)
		bad = "src_cid is not the guest's";
	else if (h.dst_cid != VSOCK_HOST_CID)
		bad = "dst_cid is not the host";
	else if (h.type != VSOCK_TYPE_STREAM)
		bad = "type is not STREAM";
	else if (h.len > VSOCK_MAX_PKT_PAYLOAD || h.len > ch->out_len - VSOCK_HDR_SIZE)
		bad = "len is larger than the packet";
	else if (h.op == VSOCK_OP_INVALID || h.op > VSOCK_OP_CREDIT_REQUEST)
		bad = "unknown op";
	c = conn_find(v, h.dst_port, h.src_port);
	if (bad) {
		log_debug("vsock: guest packet (op %u, %u -> %u, len %u) refused: %s", h.op,
			  h.src_port, h.dst_port, h.len, bad);
		v->pkt_fails++;
		if (h.op == VSOCK_OP_RST)
			return;
		if (c)
			conn_kill(c);
		else
			rst_enqueue(v, h.dst_port, h.src_port, true);
		return;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			guest_connect(v, &h);
		else if (h.op != VSOCK_OP_RST) {
			v->pkt_fails++;
			rst_enqueue(v, h.dst_port, h.src_port, true);
		}
		return;
	}

	/* Every packet carries the guest's credit. */
	if (h.buf_alloc != c->peer_buf_alloc || h.fwd_cnt != c->peer_fwd_cnt) {
		c->peer_buf_alloc = h.buf_alloc;
		c->peer_fwd_cnt = h.fwd_cnt;
		c->credit_requested = false;
	}
	switch (h.op) {
	case VSOCK_OP_RST:
		log_debug("vsock: guest reset %u:%u", c->local_port, c->peer_port);
		conn_release(c);
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_HOST_REQ || !c->request_sent)
			goto misplaced;
		conn_established(c);
		break;
	case VSOCK_OP_RW:
		if (c->state == CONN_CLOSING)
			return; /* the host is gone: the guest will hear our RST */
		if (c->state != CONN_ESTABLISHED)
			goto misplaced;
		conn_recv(c, ch, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == CONN_ESTABLISHED)
			c->pending |= PEND_CREDIT_UPDATE;
		break;
	case VSOCK_OP_SHUTDOWN:
		conn_guest_shutdown(c, h.flags);
		break;
	default: /* a REQUEST on a connection that exists */
		goto misplaced;
	}
	if (c->state != CONN_FREE)
		conn_update(c);
	return;
misplaced:
	log_debug("vsock: guest op %u out of place on %u:%u", h.op, c->local_port, c->peer_port);
	v->pkt_fails++;
	conn_kill(c);
}

/* One guest packet (virtio_queue_serve): handled, then given back. */
static enum virtio_chain_done tx_serve(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				       void *arg)
{
	(void)arg;
	handle_tx_packet(d->opaque, c);
	vq_push(&d->vqs[q], c->head, 0);
	return VIRTIO_CHAIN_NEXT;
}

static void process_tx(struct virtio_vsock *v)
{
	const struct virtio_queue_loop loop = {
	    .q = VSOCK_QUEUE_TX,
	    .chain = &v->tx_chain,
	    .budget = VSOCK_TX_BUDGET,
	    .serve = tx_serve,
	    .malformed = &v->tx_queue_event_fails,
	};

	v->tx_more = false;
	if (!dev_usable(v) || !v->dev.vqs[VSOCK_QUEUE_TX].ready)
		return;
	switch (virtio_queue_serve(&v->dev, &loop)) {
	case VIRTIO_QUEUE_BUDGET:
		v->tx_more = true; /* the run it asked for comes back for the rest */
		break;
	case VIRTIO_QUEUE_BROKEN:
		v->tx_queue_event_fails++;
		break;
	default:
		break;
	}
}

/* --- packets for the guest (rx queue) --- */

static void fill_hdr(struct virtio_vsock *v, struct virtio_vsock_hdr *h, uint32_t src_port,
		     uint32_t dst_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = v->guest_cid;
	h->src_port = src_port;
	h->dst_port = dst_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
}

/* A header for @c: our credit goes with every packet. */
static void conn_hdr(struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	fill_hdr(c->v, h, c->local_port, c->peer_port, op);
	h->buf_alloc = VSOCK_CONN_BUF_SIZE;
	h->fwd_cnt = c->fwd_cnt;
	c->last_fwd_sent = c->fwd_cnt;
	c->pending &= ~PEND_CREDIT_UPDATE;
}

/*
 * The host closed its end (EOF): SHUTDOWN(SEND), plus RCV if it closed both
 * ways (POLLHUP; then its unwritten data is dropped and we wait for the RST).
 */
static void conn_host_eof(struct vsock_conn *c)
{
	struct pollfd p = {.fd = c->w.fd, .events = 0};

	c->host_eof = true;
	c->shut_pending |= VSOCK_SHUTDOWN_SEND;
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR)))
		c->shut_pending |= VSOCK_SHUTDOWN_RCV;
	c->pending |= PEND_SHUTDOWN;
}

/* One packet from @c into @ch's writable buffers; returns its length, 0 if none. */
static uint32_t conn_fill(struct vsock_conn *c, const struct vq_chain *ch)
{
	struct virtio_vsock *v = c->v;
	struct virtio_vsock_hdr h;
	uint16_t op = 0;

	if (c->pending & PEND_REQUEST) {
		c->pending &= ~PEND_REQUEST;
		op = VSOCK_OP_REQUEST;
		c->request_sent = true;
		conn_set_deadline(c, VSOCK_REQUEST_TIMEOUT_MS);
	} else if (c->pending & PEND_RESPONSE) {
		c->pending &= ~PEND_RESPONSE;
		op = VSOCK_OP_RESPONSE;
	} else if (c->pending & PEND_CREDIT_REQUEST) {
		c->pending &= ~PEND_CREDIT_REQUEST;
		op = VSOCK_OP_CREDIT_REQUEST;
	} else if (conn_can_send_data(c)) {
		uint64_t room = ch->in_len - VSOCK_HDR_SIZE;
		uint32_t max = conn_peer_credit(c);
		unsigned int k;
		ssize_t n;

		if (max > VSOCK_MAX_PKT_PAYLOAD)
			max = VSOCK_MAX_PKT_PAYLOAD;
		if (max > room)
			max = (uint32_t)room;
		if (max) {
			k = iov_slice(ch->in, ch->nr_in, VSOCK_HDR_SIZE, max, v->iov_tmp,
				      VQ_MAX_SEGS);
			do
				n = readv(c->w.fd, v->iov_tmp, (int)k);
			while (n < 0 && errno == EINTR);
			if (n > 0) {
				conn_hdr(c, &h, VSOCK_OP_RW);
				h.len = (uint32_t)n;
				iov_from_buf(ch->in, ch->nr_in, 0, &h, VSOCK_HDR_SIZE);
				c->sent_cnt += (uint32_t)n;
				v->rx_bytes_count += (uint64_t)n;
				return VSOCK_HDR_SIZE + (uint32_t)n;
			}
			if (n == 0) {
				conn_host_eof(c);
			} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
				c->readable = false;
			} else {
				log_debug("vsock: host socket of %u:%u: read: %s", c->local_port,
					  c->peer_port, strerror(errno));
				v->rx_read_fails++;
				conn_kill(c);
				return 0;
			}
		}
	}
	if (!op && (c->pending & PEND_SHUTDOWN)) {
		c->pending &= ~PEND_SHUTDOWN;
		op = VSOCK_OP_SHUTDOWN;
	}
	if (!op && (c->pending & PEND_CREDIT_UPDATE))
		op = VSOCK_OP_CREDIT_UPDATE;
	if (!op)
		return 0;
	conn_hdr(c, &h, op);
	if (op == VSOCK_OP_SHUTDOWN) {
		h.flags = c->shut_pending;
		c->shut_sent |= c->shut_pending;
		c->shut_pending = 0;
		if ((c->shut_sent & VSOCK_SHUTDOWN_BOTH) == VSOCK_SHUTDOWN_BOTH) {
			/* The host is gone both ways: wait for the guest's RST. */
			c->state = CONN_CLOSING;
			c->pending = 0;
			conn_drop_buf(c);
			conn_set_deadline(c, VSOCK_CLOSE_TIMEOUT_MS);
		}
	}
	iov_from_buf(ch->in, ch->nr_in, 0, &h, VSOCK_HDR_SIZE);
	return VSOCK_HDR_SIZE;
}

/* Whether anything waits for an rx buffer (drops stale rxq entries on the way). */
static bool rx_has_work(struct virtio_vsock *v)
{
	if (v->rst_len)
		return true;
	while (v->rxq_head && !conn_rx_ready(v->rxq_head))
		rxq_pop(v);
	return v->rxq_head != NULL;
}

/*
 * The next packet into @ch; returns its length, 0 if nothing could be produced
 * (every waiting connection found nothing to send, or only data and @ch has no
 * room past the header). Bounded: the rxq never holds more than nr_slots.
 */
static uint32_t rx_fill(struct virtio_vsock *v, const struct vq_chain *ch)
{
	for (unsigned int tries = v->nr_slots + 1; tries; tries--) {
		struct vsock_conn *c;
		uint32_t n;

		if (v->rst_len) {
			struct virtio_vsock_hdr h;

			fill_hdr(v, &h, v->rst_ring[v->rst_head].src_port,
				 v->rst_ring[v->rst_head].dst_port, VSOCK_OP_RST);
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
			v->rst_len--;
			iov_from_buf(ch->in, ch->nr_in, 0, &h, VSOCK_HDR_SIZE);
			return VSOCK_HDR_SIZE;
		}
		c = rxq_pop(v);
		if (!c)
			return 0;
		if (!conn_rx_ready(c))
			continue;
		n = conn_fill(c, ch);
		if (c->state != CONN_FREE)
			conn_update(c); /* back at the tail if it has more */
		if (n)
			return n;
	}
	return 0;
}

/* virtio_queue_serve's more(): pop an rx buffer only for something to put in it. */
static bool rx_more(struct virtio_dev *d, void *arg)
{
	(void)arg;
	return rx_has_work(d->opaque);
}

/* One rx buffer (virtio_queue_serve): the next packet into it, or back on the ring. */
static enum virtio_chain_done rx_serve(struct virtio_dev *d, unsigned int q, struct vq_chain *ch,
				       void *arg)
{
	struct virtio_vsock *v = d->opaque;
	struct virtqueue *vq = &d->vqs[q];
	uint32_t n;

	(void)arg;
	if (ch->nr_out || ch->in_len < VSOCK_HDR_SIZE) {
		log_debug("vsock: rx chain %u unusable (%s)", ch->head,
			  ch->nr_out ? "device-readable buffer" : "shorter than a header");
		v->rx_queue_event_fails++;
		d->event_fails++;
		vq_push(vq, ch->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	n = rx_fill(v, ch);
	if (!n) {
		/* Nothing fit (EAGAIN, or no payload room): keep the buffer, stop here. */
		vq_undo_pop(vq);
		return VIRTIO_CHAIN_STOP;
	}
	v->rx_packets_count++;
	vq_push(vq, ch->head, n);
	return VIRTIO_CHAIN_NEXT;
}

/* No buffer: the guest's notification brings us back (virtio_queue_serve re-arms it). */
static void process_rx(struct virtio_vsock *v)
{
	const struct virtio_queue_loop loop = {
	    .q = VSOCK_QUEUE_RX,
	    .chain = &v->rx_chain,
	    .budget = VSOCK_RX_BUDGET,
	    .serve = rx_serve,
	    .more = rx_more,
	    .malformed = &v->rx_queue_event_fails,
	};

	if (!dev_usable(v) || !v->dev.vqs[VSOCK_QUEUE_RX].ready)
		return;
	if (virtio_queue_serve(&v->dev, &loop) == VIRTIO_QUEUE_BROKEN)
		v->rx_queue_event_fails++;
}

/* --- the device: ops, deferred work, deadlines --- */

void virtio_vsock_process(struct virtio_vsock *v)
{
	if (v->listen_ready && v->listen_w.fd >= 0)
		accept_some(v);
	if (v->tx_more)
		process_tx(v);
	process_rx(v);
}

void virtio_vsock_expire(struct virtio_vsock *v)
{
	uint64_t now = virtio_dev_now_ns(&v->dev), next = 0;

	for (unsigned int i = 0; i < v->nr_slots; i++) {
		struct vsock_conn *c = v->slots[i];

		if (c->state == CONN_FREE || !c->deadline_ns)
			continue;
		if (now < c->deadline_ns) {
			if (!next || c->deadline_ns < next)
				next = c->deadline_ns;
			continue;
		}
		log_debug("vsock: %u:%u timed out (%s)", c->local_port, c->peer_port,
			  c->state == CONN_HOST_REQ ? "no answer to our REQUEST" : "closing");
		v->timeouts++;
		c->deadline_ns = 0;
		conn_kill(c);
	}
	/* The next deadline: a run no later than that (the host keeps the earliest asked for). */
	if (next)
		virtio_dev_schedule(&v->dev, next - now);
}

static void release_all(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < v->nr_slots; i++)
		conn_release(v->slots[i]);
	while (rxq_pop(v))
		;
	v->rst_head = v->rst_len = 0;
	v->tx_more = false;
}

static struct virtio_vsock *to_vsock(struct virtio_dev *d)
{
	return d->opaque;
}

static void vsock_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	uint64_t cid = to_vsock(d)->guest_cid; /* le64 guest_cid (x86: native order) */
	uint8_t space[8];

	memcpy(space, &cid, sizeof(space));
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(space) ? space[off + i] : 0;
}

static int vsock_activate(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	if (!d->vqs[VSOCK_QUEUE_RX].ready || !d->vqs[VSOCK_QUEUE_TX].ready) {
		log_warn_rl("vsock: DRIVER_OK without the rx and tx queues ready");
		return -EINVAL;
	}
	kick(v); /* requests from host clients may be waiting already */
	return 0;
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_vsock *v = to_vsock(d);

	switch (q) {
	case VSOCK_QUEUE_RX:
		v->rx_queue_event_count++;
		process_rx(v);
		break;
	case VSOCK_QUEUE_TX:
		v->tx_queue_event_count++;
		process_tx(v);
		process_rx(v);
		break;
	default:
		v->ev_queue_event_count++; /* the event queue's buffers stay with us, unused */
		break;
	}
}

/*
 * The driver reset the device (vCPU thread, lock held): every connection the
 * guest knows of ends; host clients it has not heard of yet (their line not
 * read, or their REQUEST not delivered) wait for the driver to come back.
 */
static void vsock_reset(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	while (rxq_pop(v))
		;
	v->rst_head = v->rst_len = 0;
	v->tx_more = false;
	for (unsigned int i = 0; i < v->nr_slots; i++) {
		struct vsock_conn *c = v->slots[i];

		if (c->state == CONN_HOST_LINE)
			continue;
		if (c->state == CONN_HOST_REQ && !c->request_sent) {
			rxq_push(c);
			continue;
		}
		conn_release(c);
	}
}

/* The run the device asked for (a deadline, deferred work): dev.lock held. */
static void vsock_run(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	virtio_vsock_expire(v);
	virtio_vsock_process(v);
}

static const struct virtio_dev_ops vsock_ops = {
    .name = "vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .nr_queues = 3,
    .queue_max = VIRTIO_VSOCK_QUEUE_SIZE,
    .features = 0,
    .config_read = vsock_config_read,
    .activate = vsock_activate,
    .queue_notify = vsock_queue_notify,
    .reset = vsock_reset,
    .run = vsock_run,
};

int virtio_vsock_check_config(const struct vsock_config *cfg, char *err, size_t err_len)
{
	struct sockaddr_un sa;

	if (cfg->guest_cid < 3 || cfg->guest_cid == UINT32_MAX) {
		snprintf(err, err_len, "vsock.guest_cid: %u is out of range (3 to %u)",
			 cfg->guest_cid, UINT32_MAX - 1);
		return -EINVAL;
	}
	if (!cfg->uds_path || !cfg->uds_path[0]) {
		snprintf(err, err_len, "vsock.uds_path: must not be empty");
		return -EINVAL;
	}
	if (strlen(cfg->uds_path) >= sizeof(sa.sun_path)) {
		snprintf(err, err_len, "vsock.uds_path: longer than %zu bytes",
			 sizeof(sa.sun_path) - 1);
		return -EINVAL;
	}
	return 0;
}

int virtio_vsock_init(struct virtio_vsock *v, const struct vsock_config *cfg,
		      const struct virtio_host_ops *host, void *host_data,
		      const struct guest_mem *mem)
{
	char err[256];

	memset(v, 0, sizeof(*v));
	v->listen_w.fd = -1;
	v->max_conns = VSOCK_MAX_CONNS;
	v->next_host_port = VSOCK_HOST_PORT_FIRST;
	virtio_dev_init(&v->dev, &vsock_ops, host, host_data, v, mem);

	if (virtio_vsock_check_config(cfg, err, sizeof(err))) {
		log_error("%s", err);
		return -EINVAL;
	}
	v->guest_cid = cfg->guest_cid;
	memcpy(v->uds_path, cfg->uds_path, strlen(cfg->uds_path) + 1);
	return listen_on(v);
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
	pthread_mutex_lock(&v->dev.lock);
	release_all(v);
	pthread_mutex_unlock(&v->dev.lock);
	for (unsigned int i = 0; i < v->nr_slots; i++)
		free(v->slots[i]);
	v->nr_slots = 0;
	v->free_head = v->free_tail = NULL;
	if (v->listen_w.fd >= 0) {
		virtio_dev_unwatch(&v->dev, &v->listen_w);
		close(v->listen_w.fd);
		v->listen_w.fd = -1;
	}
	if (v->unlink_path)
		unlink(v->uds_path);
	v->unlink_path = false;
	virtio_dev_destroy(&v->dev);
}
