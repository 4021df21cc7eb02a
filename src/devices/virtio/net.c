// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net over a TAP device. See net.h for the design. A little over 700
 * lines: its snapshot save and restore sit beside the receive state they
 * drop and the activation they redo.
 */
#include "devices/virtio/net.h"

#include "core/iov.h"
#include "util/log.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define ETH_HEADER_LEN	  14
#define MIN_FRAME	  (VIRTIO_NET_HDR_LEN + ETH_HEADER_LEN)
#define RX_ERROR_RETRY_NS (100ULL * 1000 * 1000) /* a failing backend read: try again later */

#define OFFERED_FEATURES                                                         \
	((1ULL << VIRTIO_NET_F_CSUM) | (1ULL << VIRTIO_NET_F_GUEST_CSUM) |       \
	 (1ULL << VIRTIO_NET_F_GUEST_TSO4) | (1ULL << VIRTIO_NET_F_GUEST_TSO6) | \
	 (1ULL << VIRTIO_NET_F_GUEST_UFO) | (1ULL << VIRTIO_NET_F_HOST_TSO4) |   \
	 (1ULL << VIRTIO_NET_F_HOST_TSO6) | (1ULL << VIRTIO_NET_F_HOST_UFO) |    \
	 (1ULL << VIRTIO_NET_F_MRG_RXBUF))

static struct virtio_net *to_net(struct virtio_dev *d)
{
	return d->opaque;
}

static bool negotiated(const struct virtio_net *n, unsigned int bit)
{
	return virtio_dev_has_feature(&n->dev, bit);
}

static bool running(const struct virtio_net *n)
{
	return n->dev.activated && !(n->dev.status & VIRTIO_STATUS_NEEDS_RESET);
}

static void set_rx_want(struct virtio_net *n, bool on)
{
	int ret;

	if (n->rx_want == on)
		return;
	n->rx_want = on;
	if (!n->tap_w.watched)
		return; /* the backend failed: nothing to read any more */
	ret = virtio_dev_watch_set(&n->dev, &n->tap_w, on ? EPOLLIN : 0);
	if (ret)
		log_error("virtio-net %s: watching its TAP: %s", n->iface_id, strerror(-ret));
}

static void ask_retry(struct virtio_net *n, uint64_t wait_ns)
{
	virtio_dev_schedule(&n->dev, wait_ns);
}

/* A queue's ring is corrupt (virtio_queue_pop set DEVICE_NEEDS_RESET): receive no more. */
static void ring_broken(struct virtio_net *n)
{
	n->rx.active = false;
	set_rx_want(n, false);
}

/* The intercept's next timer: a run of the device then (host.h: the earliest ask wins). */
static void icpt_arm(struct virtio_net *n)
{
	uint64_t d = n->icpt ? n->icpt->deadline(n->icpt->opaque) : 0, now;

	if (!d)
		return;
	now = virtio_dev_now_ns(&n->dev);
	ask_retry(n, d > now ? d - now : 0);
}

/* The intercept's due timers, then its frames for the guest (if there are buffers). */
static void icpt_run(struct virtio_net *n)
{
	if (!n->icpt)
		return;
	if (n->icpt->pending(n->icpt->opaque, virtio_dev_now_ns(&n->dev)))
		virtio_net_rx(n); /* arms the next timer */
	else
		icpt_arm(n);
}

/* --- transmit --- */

/* One popped chain (virtio_queue_serve): stops when the rate limiter deferred it. */
static enum virtio_chain_done tx_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				     void *arg)
{
	struct virtio_net *n = to_net(d);
	struct virtqueue *vq = &d->vqs[q];
	uint64_t bytes, wait_ns;
	ssize_t w;

	(void)arg;

	if (c->nr_in || c->out_len < MIN_FRAME || c->out_len > VIRTIO_NET_MAX_BUFFER) {
		log_debug("virtio-net %s: tx chain %u malformed (%s, %llu bytes): dropped",
			  n->iface_id, c->head,
			  c->nr_in ? "a device-writable buffer" : "readable buffers only",
			  (unsigned long long)c->out_len);
		n->m.tx_malformed_frames++;
		vq_push(vq, c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	bytes = c->out_len - VIRTIO_NET_HDR_LEN;
	if (rl_active(&n->tx_rl) &&
	    !rl_consume(&n->tx_rl, bytes, virtio_dev_now_ns(&n->dev), &wait_ns)) {
		vq_undo_pop(vq); /* the same chain comes back on the retry */
		n->m.tx_rate_limiter_throttled++;
		n->tx_throttled = true;
		ask_retry(n, wait_ns);
		return VIRTIO_CHAIN_STOP;
	}
	/* A frame for the VMM itself (MMDS) never reaches the TAP. */
	if (n->icpt && n->icpt->tx(n->icpt->opaque, c->out, c->nr_out, virtio_dev_now_ns(d))) {
		vq_push(vq, c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	/* Header and frame straight from guest memory, in one call: the TAP takes a whole frame. */
	do
		w = writev(n->fd, c->out, (int)c->nr_out);
	while (w < 0 && errno == EINTR);
	if (w < 0) {
		if (!n->m.tap_write_fails)
			log_warn_rl(
			    "virtio-net %s: writing a frame to the TAP: %s (frames are dropped "
			    "and counted in tap_write_fails)",
			    n->iface_id, strerror(errno));
		n->m.tap_write_fails++;
		n->m.tx_fails++;
	} else {
		n->m.tx_count++;
		n->m.tx_packets_count++;
		n->m.tx_bytes_count += bytes;
	}
	vq_push(vq, c->head, 0);
	return VIRTIO_CHAIN_NEXT;
}

void virtio_net_tx(struct virtio_net *n)
{
	const struct virtio_queue_loop loop = {
	    .q = VIRTIO_NET_TXQ,
	    .chain = &n->tx_chain,
	    .budget = VIRTIO_NET_TX_BUDGET,
	    .serve = tx_one,
	};

	if (!running(n) || n->tx_throttled)
		return;
	switch (virtio_queue_serve(&n->dev, &loop)) {
	case VIRTIO_QUEUE_BUDGET: /* the rest after the loop served others */
		n->m.tx_remaining_reqs_count++;
		break;
	case VIRTIO_QUEUE_BROKEN:
		ring_broken(n);
		break;
	default:
		break;
	}
	icpt_run(n);
}

/* --- receive --- */

enum rx_status {
	RX_CHAIN,     /* rx_pop(): a usable chain is in n->rx_chain */
	RX_NEXT,      /* progress (a frame read, delivered or dropped, a chain refused): go on */
	RX_EMPTY,     /* the backend has no frame */
	RX_NO_BUFFER, /* the guest has no (more) receive buffer */
	RX_THROTTLED, /* the rx limiter holds the frame */
	RX_BUDGET,    /* this call's work is done */
	RX_STOP,      /* the ring is broken, or the backend failed */
};

/* Drops the frame being received: its chains go back to the guest empty. */
static void rx_drop(struct virtio_net *n, struct virtqueue *vq, bool *pushed)
{
	for (unsigned int i = 0; i < n->rx.nr; i++)
		vq_push(vq, n->rx.used[i].head, 0);
	*pushed = *pushed || n->rx.nr;
	n->rx.active = false;
	n->m.rx_fails++;
}

/*
 * Pops the next receive chain: RX_CHAIN with n->rx_chain filled, or why not
 * (budget taken). Receive is not virtio_queue_serve()'s loop: one frame spans
 * several chains, popped in two places (rx_read its first, rx_finish the rest
 * with MRG_RXBUF), given back together (vq_push_many) once the frame is
 * whole, and what stops the loop is the backend (no frame) as much as the
 * ring. virtio_queue_pop() is the step both loops share.
 */
static int rx_pop(struct virtio_net *n, struct virtqueue *vq, unsigned int *budget, bool *pushed)
{
	struct vq_chain *c = &n->rx_chain;
	int ret;

	if (!*budget)
		return RX_BUDGET;
	ret = virtio_queue_pop(&n->dev, VIRTIO_NET_RXQ, c, NULL);
	if (ret == 0)
		return RX_NO_BUFFER;
	if (ret == -EIO) {
		ring_broken(n);
		return RX_STOP;
	}
	(*budget)--;
	if (ret < 0) {
		*pushed = true; /* given back with len 0 already, and counted */
		return RX_NEXT;
	}
	if (c->nr_out || !c->in_len) {
		log_debug("virtio-net %s: rx chain %u has %s: refused", n->iface_id, c->head,
			  c->nr_out ? "a device-readable buffer" : "no writable byte");
		n->dev.event_fails++;
		vq_push(vq, c->head, 0);
		*pushed = true;
		return RX_NEXT;
	}
	return RX_CHAIN;
}

/*
 * Reads one frame from the backend into the next chain (its overflow into the
 * bounce buffer): on RX_NEXT with n->rx.active, the frame is pending.
 */
static int rx_read(struct virtio_net *n, struct virtqueue *vq, unsigned int *budget, bool *pushed)
{
	struct vq_chain *c = &n->rx_chain;
	struct net_rx_frame *f = &n->rx;
	int ret = rx_pop(n, vq, budget, pushed);
	ssize_t r;

	if (ret != RX_CHAIN)
		return ret;
	if (c->in_len < VIRTIO_NET_HDR_LEN) {
		log_debug("virtio-net %s: rx chain %u of %llu bytes is shorter than the header",
			  n->iface_id, c->head, (unsigned long long)c->in_len);
		n->dev.event_fails++;
		vq_push(vq, c->head, 0);
		*pushed = true;
		return RX_NEXT;
	}
	memcpy(n->rx_iov, c->in, c->nr_in * sizeof(c->in[0]));
	n->rx_iov[c->nr_in] = (struct iovec){n->bounce, VIRTIO_NET_RX_BOUNCE};
	/* The VMM's own frames (MMDS) first, then the TAP's. */
	r = n->icpt ? (ssize_t)n->icpt->rx(n->icpt->opaque, n->rx_iov, c->nr_in + 1,
					   virtio_dev_now_ns(&n->dev))
		    : 0;
	if (!r) {
		do
			r = readv(n->fd, n->rx_iov, (int)c->nr_in + 1);
		while (r < 0 && errno == EINTR);
	}
	if (r < 0) {
		vq_undo_pop(vq);
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return RX_EMPTY;
		if (!n->m.tap_read_fails)
			log_warn_rl("virtio-net %s: reading from the TAP: %s", n->iface_id,
				    strerror(errno));
		n->m.tap_read_fails++;
		n->rx_throttled = true;
		ask_retry(n, RX_ERROR_RETRY_NS);
		return RX_STOP;
	}
	n->m.rx_count++;
	if (r < MIN_FRAME) {
		log_debug("virtio-net %s: a %zd-byte frame from the TAP: dropped", n->iface_id, r);
		vq_undo_pop(vq); /* the chain serves the next frame */
		n->m.rx_fails++;
		return RX_NEXT;
	}
	if ((uint64_t)r > c->in_len && !negotiated(n, VIRTIO_NET_F_MRG_RXBUF)) {
		log_debug("virtio-net %s: a %zd-byte frame does not fit the guest's %llu-byte "
			  "buffer: dropped",
			  n->iface_id, r, (unsigned long long)c->in_len);
		vq_undo_pop(vq);
		n->m.rx_fails++;
		return RX_NEXT;
	}
	f->active = true;
	f->charged = false;
	f->len = (uint32_t)r;
	f->placed = (uint64_t)r < c->in_len ? (uint32_t)r : (uint32_t)c->in_len;
	f->bounce_off = 0; /* the bounce buffer starts with byte f->placed of the frame */
	f->nr = 1;
	f->used[0].head = c->head;
	f->used[0].len = f->placed;
	f->num_bufs[0] = iov_byte(c->in, c->nr_in, VIRTIO_NET_HDR_NUM_BUFS_OFF);
	f->num_bufs[1] = iov_byte(c->in, c->nr_in, VIRTIO_NET_HDR_NUM_BUFS_OFF + 1);
	if (!negotiated(n, VIRTIO_NET_F_GUEST_CSUM)) {
		/* DATA_VALID means nothing to a driver without GUEST_CSUM: the spec wants it clear.
		 */
		uint8_t *flags = c->in[0].iov_base; /* byte 0: in[0] holds at least one byte */

		flags[VIRTIO_NET_HDR_FLAGS_OFF] &= (uint8_t)~VIRTIO_NET_HDR_F_DATA_VALID;
	}
	return RX_NEXT;
}

/*
 * Completes the pending frame: the rx limiter's tokens, the rest of the frame
 * into further chains (MRG_RXBUF), num_buffers, and all chains to the guest.
 */
static int rx_finish(struct virtio_net *n, struct virtqueue *vq, unsigned int *budget, bool *pushed)
{
	struct vq_chain *c = &n->rx_chain;
	struct net_rx_frame *f = &n->rx;
	uint64_t wait_ns;

	if (!f->charged && rl_active(&n->rx_rl)) {
		if (!rl_consume(&n->rx_rl, f->len - VIRTIO_NET_HDR_LEN, virtio_dev_now_ns(&n->dev),
				&wait_ns)) {
			n->m.rx_rate_limiter_throttled++;
			n->rx_throttled = true;
			ask_retry(n, wait_ns);
			return RX_THROTTLED;
		}
	}
	f->charged = true;
	while (f->placed < f->len) {
		int ret = rx_pop(n, vq, budget, pushed);
		size_t k;

		if (ret == RX_NEXT)
			continue;
		if (ret != RX_CHAIN)
			return ret;
		if (f->nr == vq->size) {
			/* More chains than the ring holds: only a driver re-posting heads gets
			 * here. */
			vq_push(vq, c->head, 0);
			rx_drop(n, vq, pushed);
			return RX_NEXT;
		}
		k = iov_from_buf(c->in, c->nr_in, 0, n->bounce + f->bounce_off, f->len - f->placed);
		f->used[f->nr].head = c->head;
		f->used[f->nr].len = (uint32_t)k;
		f->nr++;
		f->placed += (uint32_t)k;
		f->bounce_off += (uint32_t)k;
	}
	if (f->num_bufs[0] && f->num_bufs[1]) { /* always: the first chain holds the header */
		*f->num_bufs[0] = (uint8_t)f->nr;
		*f->num_bufs[1] = (uint8_t)(f->nr >> 8);
	}
	vq_push_many(vq, f->used, f->nr);
	*pushed = true;
	f->active = false;
	n->m.rx_packets_count++;
	n->m.rx_bytes_count += f->len - VIRTIO_NET_HDR_LEN;
	return RX_NEXT;
}

void virtio_net_rx(struct virtio_net *n)
{
	struct virtqueue *vq = &n->dev.vqs[VIRTIO_NET_RXQ];
	unsigned int budget = VIRTIO_NET_RX_BUDGET;
	bool pushed = false, want = false;

	if (!running(n) || n->rx_throttled) {
		set_rx_want(n, false);
		return;
	}
	for (;;) {
		int st = n->rx.active ? rx_finish(n, vq, &budget, &pushed)
				      : rx_read(n, vq, &budget, &pushed);

		if (st == RX_NEXT)
			continue;
		if (st == RX_EMPTY) {
			want = true; /* wait for the next frame */
		} else if (st == RX_NO_BUFFER) {
			n->m.no_rx_avail_buffer++; /* the guest's rx notification resumes */
		} else if (st == RX_BUDGET) {
			want = true; /* the backend stays readable: the loop calls again */
			if (n->rx.active)
				ask_retry(n, 0); /* a frame half placed: come back for it */
		}
		/* RX_THROTTLED, RX_STOP: virtio_net_retry() (or a reset) resumes. */
		break;
	}
	set_rx_want(n, want);
	if (pushed)
		virtio_dev_signal_used(&n->dev, VIRTIO_NET_RXQ);
	icpt_arm(n);
}

void virtio_net_retry(struct virtio_net *n)
{
	if (n->tx_throttled) {
		n->tx_throttled = false;
		n->m.tx_rate_limiter_event_count++;
	}
	if (n->rx_throttled) {
		n->rx_throttled = false;
		n->m.rx_event_rate_limiter_count++;
	}
	virtio_net_tx(n);
	virtio_net_rx(n);
	icpt_run(n); /* the intercept's timers (retransmissions) */
}

/* The backend fd (the host's watch, dev.lock held). */
static void tap_event(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct virtio_net *n = d->opaque;

	if (events & (EPOLLERR | EPOLLHUP)) {
		/* The TAP went away (deleted): it would report this forever. */
		log_error("virtio-net %s: its TAP failed (deleted?): no more frames from it",
			  n->iface_id);
		virtio_dev_unwatch(d, w);
		n->m.tap_read_fails++;
		return;
	}
	n->m.rx_tap_event_count++;
	virtio_net_rx(n);
}

/* --- transport ops --- */

static void net_run(struct virtio_dev *d)
{
	virtio_net_retry(d->opaque);
}

static void net_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_net *n = to_net(d);

	if (q == VIRTIO_NET_RXQ) {
		n->m.rx_queue_event_count++;
		virtio_net_rx(n); /* buffers again: read the backend (again) */
	} else if (q == VIRTIO_NET_TXQ) {
		n->m.tx_queue_event_count++;
		virtio_net_tx(n);
	}
}

/* The TAP may hand the guest what the guest said it can take. */
static unsigned int tap_offloads(const struct virtio_net *n)
{
	unsigned int o = 0;

	/* TSO and UFO need checksum offload (the spec's dependency, and TUNSETOFFLOAD's). */
	if (!negotiated(n, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	o |= TUN_F_CSUM;
	if (negotiated(n, VIRTIO_NET_F_GUEST_TSO4))
		o |= TUN_F_TSO4;
	if (negotiated(n, VIRTIO_NET_F_GUEST_TSO6))
		o |= TUN_F_TSO6;
	if (negotiated(n, VIRTIO_NET_F_GUEST_UFO))
		o |= TUN_F_UFO;
	return o;
}

static int net_activate(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	unsigned int o = tap_offloads(n);

	if (!d->vqs[VIRTIO_NET_RXQ].ready || !d->vqs[VIRTIO_NET_TXQ].ready) {
		log_warn_rl("virtio-net %s: DRIVER_OK without both the receive and transmit queues",
			    n->iface_id);
		return -EINVAL;
	}
	if (n->fd_is_tap && ioctl(n->fd, TUNSETOFFLOAD, (unsigned long)o) < 0) {
		int err = errno;

		log_warn_rl("virtio-net %s: the TAP refuses offloads 0x%x (TUNSETOFFLOAD): %s",
			    n->iface_id, o, strerror(err));
		return -err;
	}
	n->tap_offloads = o;
	n->rx.active = false;
	n->rx_throttled = n->tx_throttled = false;
	set_rx_want(n, true); /* frames waiting in the TAP come in once there are buffers */
	return 0;
}

static void net_reset(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);

	/* A frame held in the old rings is lost with them. */
	n->rx.active = false;
	n->rx_throttled = n->tx_throttled = false;
	set_rx_want(n, false);
}

static void net_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_net *n = to_net(d);

	virtio_config_copy(data, len, off, n->config, sizeof(n->config));
}

static void net_config_write(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	(void)data;
	/* virtio 1.x: the configuration space of a net device is read-only for the driver. */
	log_debug("virtio-net %s: %u-byte configuration write at %llu ignored", to_net(d)->iface_id,
		  len, (unsigned long long)off);
	d->cfg_fails++;
}

/* --- snapshots --- */

/*
 * A frame half placed in receive buffers cannot be saved (its bytes are in the
 * bounce buffer): it is dropped, its chains given back empty, as a reset
 * would. Frames still in the TAP stay there for the restored device (or
 * the running one).
 */
static void net_quiesce(struct virtio_dev *d)
{
	struct virtio_net *n = to_net(d);
	bool pushed = false;

	if (!n->rx.active)
		return;
	rx_drop(n, &d->vqs[VIRTIO_NET_RXQ], &pushed);
	virtio_dev_signal_used(d, VIRTIO_NET_RXQ);
	if (running(n))
		ask_retry(n, 0); /* the running VM reads the TAP on */
}

/* The rate limiters; the throttled flags need no saving: a run after restore retries. */
static void net_save(struct virtio_dev *d, struct state_writer *w)
{
	struct virtio_net *n = to_net(d);

	virtio_rl_save(d, &n->rx_rl, w);
	virtio_rl_save(d, &n->tx_rl, w);
}

static int net_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_net *n = to_net(d);
	unsigned int o;

	virtio_rl_restore(d, &n->rx_rl, r);
	virtio_rl_restore(d, &n->tx_rl, r);
	if (!sr_ok(r) || !d->activated)
		return 0;
	/* What activate set up on the host: the (new) TAP's offloads, EPOLLIN. */
	o = tap_offloads(n);
	if (n->fd_is_tap && ioctl(n->fd, TUNSETOFFLOAD, (unsigned long)o) < 0) {
		int err = errno;

		log_error("virtio-net %s: the TAP refuses offloads 0x%x (TUNSETOFFLOAD): %s",
			  n->iface_id, o, strerror(err));
		return -err;
	}
	n->tap_offloads = o;
	set_rx_want(n, true);
	ask_retry(n, 0); /* frames to send the guest posted before the snapshot */
	return 0;
}

/* --- set-up --- */

static void rl_from_config(struct rate_limiter *rl, const struct rate_limiter_config *c,
			   uint64_t now)
{
	rl_init(rl, c && c->has_bandwidth ? &c->bandwidth : NULL, c && c->has_ops ? &c->ops : NULL,
		now);
}

void virtio_net_set_rate_limiters(struct virtio_net *n, const struct rate_limiter_config *rx,
				  const struct rate_limiter_config *tx)
{
	uint64_t now = virtio_dev_now_ns(&n->dev);

	rl_from_config(&n->rx_rl, rx, now);
	rl_from_config(&n->tx_rl, tx, now);
	if (n->rx_throttled || n->tx_throttled)
		ask_retry(n, 0); /* what the old limiters held back */
}

int virtio_net_init(struct virtio_net *n, const struct net_config *cfg, int fd, bool fd_is_tap,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem)
{
	uint64_t features = OFFERED_FEATURES;
	int ret;

	memset(n, 0, sizeof(*n));
	n->fd = fd;
	n->fd_is_tap = fd_is_tap;
	snprintf(n->iface_id, sizeof(n->iface_id), "%s",
		 cfg->iface_id && *cfg->iface_id ? cfg->iface_id : "net");
	if (cfg->has_mtu && cfg->mtu < VIRTIO_NET_MTU_MIN) {
		log_error("network-interfaces: %s: mtu %u is out of range (%u to %u)", n->iface_id,
			  cfg->mtu, VIRTIO_NET_MTU_MIN, VIRTIO_NET_MTU_MAX);
		goto fail_inval;
	}
	n->bounce = malloc(VIRTIO_NET_RX_BOUNCE);
	if (!n->bounce) {
		close(fd);
		n->fd = -1;
		return -ENOMEM;
	}

	if (cfg->has_guest_mac) {
		features |= 1ULL << VIRTIO_NET_F_MAC;
		memcpy(n->config + VIRTIO_NET_CFG_MAC, cfg->guest_mac, VIRTIO_NET_ETH_ALEN);
	}
	if (cfg->has_mtu) {
		features |= 1ULL << VIRTIO_NET_F_MTU;
		n->config[VIRTIO_NET_CFG_MTU] = (uint8_t)cfg->mtu;
		n->config[VIRTIO_NET_CFG_MTU + 1] = (uint8_t)(cfg->mtu >> 8);
	}
	/* Without VIRTIO_NET_F_STATUS (not offered) the driver assumes the link is up. */
	n->config[VIRTIO_NET_CFG_STATUS] = VIRTIO_NET_S_LINK_UP;
	n->config[VIRTIO_NET_CFG_MAX_PAIRS] = 1;

	n->ops = (struct virtio_dev_ops){
	    .name = "net",
	    .device_id = VIRTIO_ID_NET,
	    .nr_queues = 2,
	    .queue_max = VIRTIO_NET_QUEUE_SIZE,
	    .features = features,
	    .config_read = net_config_read,
	    .config_write = net_config_write,
	    .activate = net_activate,
	    .queue_notify = net_queue_notify,
	    .reset = net_reset,
	    .run = net_run,
	    .save = net_save,
	    .restore = net_restore,
	    .quiesce = net_quiesce,
	};
	virtio_dev_init(&n->dev, &n->ops, host, host_data, n, mem);
	virtio_net_set_rate_limiters(n, &cfg->rx_rate_limiter, &cfg->tx_rate_limiter);
	/* Registered without events: EPOLLIN is on while the device wants frames. */
	n->tap_w = (struct dev_watch){.fd = fd, .fn = tap_event};
	ret = virtio_dev_watch(&n->dev, &n->tap_w, 0);
	if (ret) {
		log_error("network-interfaces: %s: watching its TAP: %s", n->iface_id,
			  strerror(-ret));
		virtio_net_destroy(n);
		return ret;
	}
	return 0;

fail_inval:
	close(fd);
	n->fd = -1;
	return -EINVAL;
}

void virtio_net_destroy(struct virtio_net *n)
{
	if (n->dev.ops)
		virtio_dev_unwatch(&n->dev, &n->tap_w);
	virtio_dev_destroy(&n->dev);
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	free(n->bounce);
	n->bounce = NULL;
}
