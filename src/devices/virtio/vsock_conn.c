// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock's connections: slots (allocated once, reused FIFO), keys, the
 * rx queue of connections, the state machine (vsock_internal.h has its
 * picture), credit both ways and the per-connection ring of guest bytes the
 * host socket has not taken yet. See vsock.h for the flow-control rules.
 */
#include "devices/virtio/vsock_internal.h"

#include "core/iov.h"
#include "util/log.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

/* --- slots, keys and the rx queue --- */

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

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer)
{
	for (struct vsock_conn *c = v->hash[hash_of(local, peer)]; c; c = c->hnext)
		if (c->local_port == local && c->peer_port == peer)
			return c;
	return NULL;
}

void vsock_conn_key(struct vsock_conn *c, uint32_t local, uint32_t peer)
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

void vsock_rxq_push(struct vsock_conn *c)
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

struct vsock_conn *vsock_rxq_pop(struct virtio_vsock *v)
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

/* A slot for a new connection in @state, or NULL at the limit (or out of memory). */
struct vsock_conn *vsock_conn_alloc(struct virtio_vsock *v, enum conn_state state)
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

/* --- a connection's end --- */

static void conn_drop_buf(struct vsock_conn *c)
{
	c->v->buffered_bytes -= c->buf_len;
	free(c->buf);
	c->buf = NULL;
	c->buf_head = c->buf_len = 0;
}

/* Forgets @c: no packet to the guest. */
void vsock_conn_release(struct vsock_conn *c)
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
void vsock_conn_kill(struct vsock_conn *c)
{
	struct virtio_vsock *v = c->v;

	if (c->state == CONN_FREE)
		return;
	if (c->state != CONN_HOST_LINE && (c->state != CONN_HOST_REQ || c->request_sent))
		vsock_rst_enqueue(v, c->local_port, c->peer_port, false);
	v->conns_killed++;
	vsock_conn_release(c);
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

bool vsock_conn_rx_ready(const struct vsock_conn *c)
{
	if (c->state == CONN_FREE)
		return false;
	return c->pending || conn_can_send_data(c);
}

/*
 * After anything changed on @c: owes the guest a credit update or request?
 * Then on the rxq if it has something to send.
 */
void vsock_conn_update(struct vsock_conn *c)
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
	if (vsock_conn_rx_ready(c))
		vsock_rxq_push(c);
}

/* --- guest bytes to the host socket --- */

static void conn_shut_host_wr(struct vsock_conn *c)
{
	if (c->host_wr_shut)
		return;
	shutdown(c->w.fd, SHUT_WR);
	c->host_wr_shut = true;
}

/* Writes the buffered guest bytes to the host socket (at most one ring's worth). */
void vsock_conn_flush(struct vsock_conn *c)
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
			vsock_conn_kill(c);
			return;
		}
		c->buf_head = (c->buf_head + (uint32_t)n) % VSOCK_CONN_BUF_SIZE;
		c->buf_len -= (uint32_t)n;
		v->buffered_bytes -= (uint64_t)n;
		c->fwd_cnt += (uint32_t)n;
	}
	if (!c->buf_len) {
		if (c->close_when_flushed) {
			vsock_conn_kill(c); /* the guest closed both ways: RST is its answer */
			return;
		}
		if (c->guest_shut & VSOCK_SHUTDOWN_SEND)
			conn_shut_host_wr(c);
	}
}

/* The guest's RW payload (@len bytes at VSOCK_HDR_SIZE in @ch) for the host socket. */
void vsock_conn_recv(struct vsock_conn *c, const struct vq_chain *ch, uint32_t len)
{
	struct virtio_vsock *v = c->v;
	size_t off = VSOCK_HDR_SIZE;

	if (c->guest_shut & VSOCK_SHUTDOWN_SEND) {
		log_debug("vsock: %u:%u: data after the guest's SHUTDOWN(SEND)", c->local_port,
			  c->peer_port);
		v->pkt_fails++;
		vsock_conn_kill(c);
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
				vsock_conn_kill(c);
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
		vsock_conn_kill(c);
		return;
	}
	if (!c->buf) {
		c->buf = malloc(VSOCK_CONN_BUF_SIZE);
		if (!c->buf) {
			log_warn_rl("vsock: out of memory for a connection buffer");
			vsock_conn_kill(c);
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

void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags)
{
	c->guest_shut |= flags & VSOCK_SHUTDOWN_BOTH;
	if (c->state == CONN_CLOSING && (c->guest_shut & VSOCK_SHUTDOWN_BOTH)) {
		/* Both sides are done: the guest's close waits for our RST. */
		vsock_conn_kill(c);
		return;
	}
	if (c->state != CONN_ESTABLISHED)
		return;
	if ((c->guest_shut & VSOCK_SHUTDOWN_BOTH) == VSOCK_SHUTDOWN_BOTH) {
		/* The guest closed: the RST it waits for comes once its data is written. */
		c->close_when_flushed = true;
		c->pending &= ~(PEND_CREDIT_REQUEST | PEND_CREDIT_UPDATE);
		if (!c->buf_len) {
			vsock_conn_kill(c);
			return;
		}
		conn_set_deadline(c, VSOCK_CLOSE_TIMEOUT_MS);
		return;
	}
	if ((c->guest_shut & VSOCK_SHUTDOWN_SEND) && !c->buf_len)
		conn_shut_host_wr(c);
}

/* --- packets for the guest --- */

/* A header for @c: our credit goes with every packet. */
static void conn_hdr(struct vsock_conn *c, struct virtio_vsock_hdr *h, uint16_t op)
{
	vsock_fill_hdr(c->v, h, c->local_port, c->peer_port, op);
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
uint32_t vsock_conn_fill(struct vsock_conn *c, const struct vq_chain *ch)
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
				vsock_conn_kill(c);
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
