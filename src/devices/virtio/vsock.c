// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock over host Unix sockets (Firecracker's hybrid design), the
 * device: its queues and packets, the RST ring, deadlines and the transport's
 * ops. The connections are vsock_conn.c's, the host sockets vsock_host.c's
 * (vsock_internal.h). See vsock.h.
 *
 * What goes to the guest waits in two places: the RST ring (RSTs with no
 * connection left) and the rx queue of connections (rxq), each with pending
 * control packets (bits) and/or readable host data. The rx loop takes one
 * packet from the head per rx buffer and puts the connection back at the tail
 * while it has more (round robin). A freed connection may stay on the rxq; the
 * loop drops it when it gets there (a reused slot is simply served).
 */
#include "devices/virtio/vsock_internal.h"

#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

static bool dev_usable(const struct virtio_vsock *v)
{
	return v->dev.activated && !(v->dev.status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Deferred work (a budget ran out, activation): the host runs us again soon. */
void vsock_kick(struct virtio_vsock *v)
{
	virtio_dev_schedule(&v->dev, 0);
}

/* An RST for a packet without a connection (@reserve: leave room for the connections'). */
void vsock_rst_enqueue(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port,
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

/* --- the guest's packets (tx queue) --- */

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
	c = vsock_conn_find(v, h.dst_port, h.src_port);
	if (bad) {
		log_debug("vsock: guest packet (op %u, %u -> %u, len %u) refused: %s", h.op,
			  h.src_port, h.dst_port, h.len, bad);
		v->pkt_fails++;
		if (h.op == VSOCK_OP_RST)
			return;
		if (c)
			vsock_conn_kill(c);
		else
			vsock_rst_enqueue(v, h.dst_port, h.src_port, true);
		return;
	}
	if (!c) {
		if (h.op == VSOCK_OP_REQUEST)
			vsock_host_connect(v, &h);
		else if (h.op != VSOCK_OP_RST) {
			v->pkt_fails++;
			vsock_rst_enqueue(v, h.dst_port, h.src_port, true);
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
		vsock_conn_release(c);
		return;
	case VSOCK_OP_RESPONSE:
		if (c->state != CONN_HOST_REQ || !c->request_sent)
			goto misplaced;
		vsock_host_established(c);
		break;
	case VSOCK_OP_RW:
		if (c->state == CONN_CLOSING)
			return; /* the host is gone: the guest will hear our RST */
		if (c->state != CONN_ESTABLISHED)
			goto misplaced;
		vsock_conn_recv(c, ch, h.len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		if (c->state == CONN_ESTABLISHED)
			c->pending |= PEND_CREDIT_UPDATE;
		break;
	case VSOCK_OP_SHUTDOWN:
		vsock_conn_guest_shutdown(c, h.flags);
		break;
	default: /* a REQUEST on a connection that exists */
		goto misplaced;
	}
	if (c->state != CONN_FREE)
		vsock_conn_update(c);
	return;
misplaced:
	log_debug("vsock: guest op %u out of place on %u:%u", h.op, c->local_port, c->peer_port);
	v->pkt_fails++;
	vsock_conn_kill(c);
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

void vsock_fill_hdr(struct virtio_vsock *v, struct virtio_vsock_hdr *h, uint32_t src_port,
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

/* Whether anything waits for an rx buffer (drops stale rxq entries on the way). */
static bool rx_has_work(struct virtio_vsock *v)
{
	if (v->rst_len)
		return true;
	while (v->rxq_head && !vsock_conn_rx_ready(v->rxq_head))
		vsock_rxq_pop(v);
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

			vsock_fill_hdr(v, &h, v->rst_ring[v->rst_head].src_port,
				       v->rst_ring[v->rst_head].dst_port, VSOCK_OP_RST);
			v->rst_head = (v->rst_head + 1) % VSOCK_RST_RING;
			v->rst_len--;
			iov_from_buf(ch->in, ch->nr_in, 0, &h, VSOCK_HDR_SIZE);
			return VSOCK_HDR_SIZE;
		}
		c = vsock_rxq_pop(v);
		if (!c)
			return 0;
		if (!vsock_conn_rx_ready(c))
			continue;
		n = vsock_conn_fill(c, ch);
		if (c->state != CONN_FREE)
			vsock_conn_update(c); /* back at the tail if it has more */
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
void vsock_process_rx(struct virtio_vsock *v)
{
	const struct virtio_queue_loop loop = {
	    .q = VSOCK_QUEUE_RX,
	    .chain = &v->rx_chain,
	    .budget = VSOCK_RX_BUDGET,
	    .serve = rx_serve,
	    .more = rx_more,
	    .malformed = &v->rx_queue_event_fails,
	};

	if (!dev_usable(v) || !v->dev.vqs[VSOCK_QUEUE_RX].ready || v->reset_hold)
		return;
	if (virtio_queue_serve(&v->dev, &loop) == VIRTIO_QUEUE_BROKEN)
		v->rx_queue_event_fails++;
}

/* --- the device: ops, deferred work, deadlines --- */

void virtio_vsock_process(struct virtio_vsock *v)
{
	if (v->listen_ready && v->listen_w.fd >= 0)
		vsock_host_accept(v);
	if (v->tx_more)
		process_tx(v);
	vsock_process_rx(v);
}

void virtio_vsock_expire(struct virtio_vsock *v)
{
	uint64_t now = virtio_dev_now_ns(&v->dev), next = 0;

	if (v->reset_hold && now >= v->reset_hold_until_ns) {
		log_debug("vsock: the driver did not take the transport reset event in %u ms",
			  VSOCK_RESET_HOLD_MS);
		v->reset_hold = false;
	} else if (v->reset_hold) {
		next = v->reset_hold_until_ns;
	}
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
		vsock_conn_kill(c);
	}
	/* The next deadline: a run no later than that (the host keeps the earliest asked for). */
	if (next)
		virtio_dev_schedule(&v->dev, next - now);
}

static void release_all(struct virtio_vsock *v)
{
	for (unsigned int i = 0; i < v->nr_slots; i++)
		vsock_conn_release(v->slots[i]);
	while (vsock_rxq_pop(v))
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

	virtio_config_copy(data, len, off, &cid, sizeof(cid));
}

static int vsock_activate(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	if (!d->vqs[VSOCK_QUEUE_RX].ready || !d->vqs[VSOCK_QUEUE_TX].ready) {
		log_warn_rl("vsock: DRIVER_OK without the rx and tx queues ready");
		return -EINVAL;
	}
	vsock_kick(v); /* requests from host clients may be waiting already */
	return 0;
}

static void vsock_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_vsock *v = to_vsock(d);

	switch (q) {
	case VSOCK_QUEUE_RX:
		v->rx_queue_event_count++;
		vsock_process_rx(v);
		break;
	case VSOCK_QUEUE_TX:
		v->tx_queue_event_count++;
		process_tx(v);
		vsock_process_rx(v);
		break;
	default:
		v->ev_queue_event_count++; /* the event queue's buffers stay with us, unused */
		if (v->reset_hold) {
			/* The driver took the reset event: what waits may go to the guest now. */
			v->reset_hold = false;
			vsock_process_rx(v);
		}
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

	while (vsock_rxq_pop(v))
		;
	v->rst_head = v->rst_len = 0;
	v->tx_more = false;
	v->reset_hold = false;
	for (unsigned int i = 0; i < v->nr_slots; i++) {
		struct vsock_conn *c = v->slots[i];

		if (c->state == CONN_HOST_LINE)
			continue;
		if (c->state == CONN_HOST_REQ && !c->request_sent) {
			vsock_rxq_push(c);
			continue;
		}
		vsock_conn_release(c);
	}
}

/* The run the device asked for (a deadline, deferred work): dev.lock held. */
static void vsock_run(struct virtio_dev *d)
{
	struct virtio_vsock *v = to_vsock(d);

	virtio_vsock_expire(v);
	virtio_vsock_process(v);
}

/* --- snapshots --- */

#define VIRTIO_VSOCK_EVENT_TRANSPORT_RESET 0

/*
 * As Firecracker: no connection survives a snapshot. The restored device has
 * none (its host clients were the old process's); the guest is told with a
 * TRANSPORT_RESET event on the event queue, so that its sockets reset too.
 * Then the rx queue waits for the driver to take it (reset_hold). Nothing of
 * the device's own is saved.
 */
static int vsock_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_vsock *v = to_vsock(d);
	struct virtqueue *vq = &d->vqs[VSOCK_QUEUE_EVENT];
	uint32_t ev = htole32(VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	int ret;

	(void)r;
	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return 0;
	ret = vq->ready ? vq_pop(vq, &v->rx_chain) : 0;
	if (ret == 1 && v->rx_chain.in_len >= sizeof(ev) && !v->rx_chain.nr_out) {
		iov_from_buf(v->rx_chain.in, v->rx_chain.nr_in, 0, &ev, sizeof(ev));
		vq_push(vq, v->rx_chain.head, sizeof(ev));
		virtio_dev_signal_used(d, VSOCK_QUEUE_EVENT);
		v->reset_hold = true;
		v->reset_hold_until_ns = virtio_dev_now_ns(d) + VSOCK_RESET_HOLD_MS * 1000000ULL;
	} else {
		if (ret == 1)
			vq_push(vq, v->rx_chain.head, 0);
		log_warn("vsock: no usable event buffer after restore: the guest's sockets are not "
			 "told of the reset");
	}
	virtio_dev_schedule(d, 0); /* packets the guest posted before the snapshot */
	return 0;
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
    .restore = vsock_restore,
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
	return vsock_host_listen(v);
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
	vsock_host_close(v);
	virtio_dev_destroy(&v->dev);
}
