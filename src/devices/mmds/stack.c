// SPDX-License-Identifier: Apache-2.0
/* MMDS's ARP, IPv4 and TCP endpoint on one interface. See stack.h. */
#include "devices/mmds/stack.h"

#include "core/iov.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ETH_LEN		 14
#define ETH_P_IP	 0x0800
#define ETH_P_ARP	 0x0806
#define IP_LEN		 20
#define TCP_LEN		 20
#define IPPROTO_TCP_	 6
#define HTTP_PORT	 80
#define HDR_F_NEEDS_CSUM 1

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* Where the frame starts after the virtio-net header, and the IPv4 header. */
#define OFF_ETH MMDS_STACK_HDR
#define OFF_IP	(MMDS_STACK_HDR + ETH_LEN)
#define OUT_MAX (OFF_IP + IP_LEN + TCP_LEN + 4 + MMDS_STACK_MSS)

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum's pseudo-header sum. */
static uint32_t pseudo(uint32_t src, uint32_t dst, size_t tcp_len)
{
	return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + IPPROTO_TCP_ +
	       (uint32_t)tcp_len;
}

int mmds_stack_init(struct mmds_stack *st, struct mmds *svc)
{
	static const uint8_t mac[6] = MMDS_STACK_MAC;

	memset(st, 0, sizeof(*st));
	st->svc = svc;
	memcpy(st->mac, mac, sizeof(mac));
	st->in = malloc(MMDS_STACK_IN_MAX);
	return st->in ? 0 : -ENOMEM;
}

static void conn_free(struct mmds_stack *st, struct mmds_tcp_conn *c)
{
	free(c->resp);
	memset(c, 0, sizeof(*c));
	MMDS_COUNT(&st->svc->m, connections_destroyed, 1);
}

void mmds_stack_destroy(struct mmds_stack *st)
{
	for (unsigned int i = 0; i < MMDS_STACK_CONNS; i++)
		if (st->conns[i].used)
			conn_free(st, &st->conns[i]);
	free(st->in);
	st->in = NULL;
}

/* --- output --- */

/* A TCP segment into @f (header of zeros, Ethernet, IPv4, TCP): its length. */
static size_t build(struct mmds_stack *st, uint8_t *f, const uint8_t mac[6], uint32_t ip,
		    uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		    uint16_t win, const char *data, size_t dlen)
{
	size_t opt = (flags & TCP_SYN) ? 4 : 0, tcp_len = TCP_LEN + opt + dlen;
	uint8_t *e = f + OFF_ETH, *iph = f + OFF_IP, *t = iph + IP_LEN;
	uint32_t src = st->svc->ipv4;

	memset(f, 0, OFF_IP + IP_LEN + TCP_LEN + opt);
	memcpy(e, mac, 6);
	memcpy(e + 6, st->mac, 6);
	put16(e + 12, ETH_P_IP);
	iph[0] = 0x45;
	put16(iph + 2, (uint16_t)(IP_LEN + tcp_len));
	put16(iph + 4, st->ip_id++);
	put16(iph + 6, 0x4000); /* don't fragment */
	iph[8] = 64;
	iph[9] = IPPROTO_TCP_;
	put32(iph + 12, src);
	put32(iph + 16, ip);
	put16(iph + 10, fold(sum16(0, iph, IP_LEN)));
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)(((TCP_LEN + opt) / 4) << 4);
	t[13] = flags;
	put16(t + 14, win);
	if (opt) {
		t[20] = 2; /* MSS */
		t[21] = 4;
		put16(t + 22, MMDS_STACK_MSS);
	}
	if (dlen)
		memcpy(t + TCP_LEN + opt, data, dlen);
	put16(t + 16, fold(sum16(pseudo(src, ip, tcp_len), t, tcp_len)));
	return OFF_IP + IP_LEN + tcp_len;
}

static uint16_t rcv_wnd(const struct mmds_tcp_conn *c)
{
	return (uint16_t)(MMDS_STACK_REQ_MAX - c->req_len);
}

static uint32_t fin_seq(const struct mmds_tcp_conn *c)
{
	return c->iss + 1 + (uint32_t)c->resp_len;
}

static uint32_t send_window(const struct mmds_tcp_conn *c)
{
	uint32_t inflight = c->snd_nxt - c->snd_una;

	return c->snd_wnd > inflight ? c->snd_wnd - inflight : 0;
}

static bool conn_wants(const struct mmds_tcp_conn *c)
{
	if (!c->used)
		return false;
	if (c->send_syn || c->need_ack)
		return true;
	if (!c->established || !c->resp_ready)
		return false;
	if (seq_lt(c->snd_nxt, fin_seq(c)))
		return send_window(c) > 0;
	return c->snd_nxt == fin_seq(c);
}

/* Our FIN is acknowledged and the guest's too: nothing more to say. */
static bool conn_done(const struct mmds_tcp_conn *c)
{
	return c->resp_ready && c->fin_rcvd && !c->need_ack && c->snd_una == fin_seq(c) + 1;
}

/* What is sent goes again at rto_at unless acknowledged first. */
static void arm(struct mmds_tcp_conn *c, uint64_t now_ns)
{
	if (!c->rto_at)
		c->rto_at = now_ns + (MMDS_STACK_RTO_NS << c->retries);
}

static size_t conn_output(struct mmds_stack *st, struct mmds_tcp_conn *c, uint8_t *f,
			  uint64_t now_ns)
{
	uint32_t seq = c->snd_nxt, n;
	uint8_t flags = TCP_ACK;
	const char *data = NULL;
	size_t len;

	if (c->send_syn) {
		c->send_syn = false;
		c->need_ack = false;
		c->snd_nxt = c->iss + 1;
		arm(c, now_ns);
		return build(st, f, c->peer_mac, c->peer_ip, HTTP_PORT, c->peer_port, c->iss,
			     c->rcv_nxt, TCP_SYN | TCP_ACK, rcv_wnd(c), NULL, 0);
	}
	n = 0;
	if (c->established && c->resp_ready && seq_lt(c->snd_nxt, fin_seq(c))) {
		n = fin_seq(c) - c->snd_nxt;
		if (n > c->mss)
			n = c->mss;
		if (n > send_window(c))
			n = send_window(c);
		data = c->resp + (c->snd_nxt - c->iss - 1);
		flags |= n ? TCP_PSH : 0;
	} else if (c->established && c->resp_ready && c->snd_nxt == fin_seq(c)) {
		flags |= TCP_FIN;
	}
	if (!n && !(flags & TCP_FIN) && !c->need_ack)
		return 0;
	c->need_ack = false;
	c->snd_nxt += n + ((flags & TCP_FIN) ? 1 : 0);
	if (c->snd_nxt != c->snd_una)
		arm(c, now_ns);
	len = build(st, f, c->peer_mac, c->peer_ip, HTTP_PORT, c->peer_port, seq, c->rcv_nxt, flags,
		    rcv_wnd(c), data, n);
	return len;
}

static size_t arp_output(struct mmds_stack *st, uint8_t *f)
{
	unsigned int i = st->arp_head;
	uint8_t *e = f + OFF_ETH, *a = e + ETH_LEN;

	st->arp_head = (st->arp_head + 1) % MMDS_STACK_ARPQ;
	st->arp_len--;
	memset(f, 0, OFF_ETH);
	memcpy(e, st->arpq[i].mac, 6);
	memcpy(e + 6, st->mac, 6);
	put16(e + 12, ETH_P_ARP);
	put16(a, 1);
	put16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 2); /* reply */
	memcpy(a + 8, st->mac, 6);
	put32(a + 14, st->svc->ipv4);
	memcpy(a + 18, st->arpq[i].mac, 6);
	put32(a + 24, st->arpq[i].ip);
	return OFF_ETH + ETH_LEN + 28;
}

static size_t rst_output(struct mmds_stack *st, uint8_t *f)
{
	const struct mmds_stack_rst *r = &st->rstq[st->rst_head];

	st->rst_head = (st->rst_head + 1) % MMDS_STACK_RSTQ;
	st->rst_len--;
	return build(st, f, r->mac, r->ip, r->our_port, r->port, r->seq, r->ack, r->flags, 0, NULL,
		     0);
}

static void queue_rst(struct mmds_stack *st, const uint8_t mac[6], uint32_t ip, uint16_t port,
		      uint16_t our_port, uint32_t seq, uint32_t ack, uint8_t flags);

/* A timer due: send again from the first unacknowledged byte, or give up with a reset. */
static void expire(struct mmds_stack *st, struct mmds_tcp_conn *c)
{
	c->rto_at = 0;
	if (c->retries == MMDS_STACK_RETRIES) {
		queue_rst(st, c->peer_mac, c->peer_ip, c->peer_port, HTTP_PORT, c->snd_una,
			  c->rcv_nxt, TCP_RST | TCP_ACK);
		conn_free(st, c);
		return;
	}
	c->retries++;
	if (!c->established)
		c->send_syn = true;
	else
		c->snd_nxt = c->snd_una;
}

uint64_t mmds_stack_deadline(const struct mmds_stack *st)
{
	uint64_t d = 0;

	for (unsigned int i = 0; i < MMDS_STACK_CONNS; i++) {
		const struct mmds_tcp_conn *c = &st->conns[i];

		if (c->used && c->rto_at && (!d || c->rto_at < d))
			d = c->rto_at;
	}
	return d;
}

bool mmds_stack_pending(struct mmds_stack *st, uint64_t now_ns)
{
	for (unsigned int i = 0; i < MMDS_STACK_CONNS; i++) {
		struct mmds_tcp_conn *c = &st->conns[i];

		if (c->used && c->rto_at && now_ns >= c->rto_at)
			expire(st, c);
	}
	if (st->arp_len || st->rst_len)
		return true;
	for (unsigned int i = 0; i < MMDS_STACK_CONNS; i++)
		if (conn_wants(&st->conns[i]))
			return true;
	return false;
}

size_t mmds_stack_rx(struct mmds_stack *st, const struct iovec *iov, unsigned int nr,
		     uint64_t now_ns)
{
	uint8_t f[OUT_MAX];
	size_t len = 0;

	if (st->arp_len) {
		len = arp_output(st, f);
	} else if (st->rst_len) {
		len = rst_output(st, f);
	} else {
		for (unsigned int k = 0; k < MMDS_STACK_CONNS && !len; k++) {
			struct mmds_tcp_conn *c =
			    &st->conns[(st->next_conn + k) % MMDS_STACK_CONNS];

			if (!conn_wants(c))
				continue;
			len = conn_output(st, c, f, now_ns);
			st->next_conn = (st->next_conn + k + 1) % MMDS_STACK_CONNS;
			if (conn_done(c))
				conn_free(st, c);
		}
	}
	if (!len)
		return 0;
	if (iov_size(iov, nr) < len) {
		MMDS_COUNT(&st->svc->m, tx_errors, 1);
		return 0;
	}
	iov_from_buf(iov, nr, 0, f, len);
	MMDS_COUNT(&st->svc->m, tx_frames, 1);
	MMDS_COUNT(&st->svc->m, tx_bytes, len - MMDS_STACK_HDR);
	return len;
}

/* --- input --- */

static void queue_rst(struct mmds_stack *st, const uint8_t mac[6], uint32_t ip, uint16_t port,
		      uint16_t our_port, uint32_t seq, uint32_t ack, uint8_t flags)
{
	struct mmds_stack_rst *r;

	if (st->rst_len == MMDS_STACK_RSTQ) {
		MMDS_COUNT(&st->svc->m, tx_errors, 1);
		return;
	}
	r = &st->rstq[(st->rst_head + st->rst_len++) % MMDS_STACK_RSTQ];
	memcpy(r->mac, mac, 6);
	r->ip = ip;
	r->port = port;
	r->our_port = our_port;
	r->seq = seq;
	r->ack = ack;
	r->flags = flags;
}

static void handle_arp(struct mmds_stack *st, const uint8_t *a, size_t len)
{
	unsigned int i;

	if (len < 28 || be16(a) != 1 || be16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 ||
	    be16(a + 6) != 1) {
		MMDS_COUNT(&st->svc->m, rx_accepted_unusual, 1);
		return;
	}
	if (st->arp_len == MMDS_STACK_ARPQ) {
		MMDS_COUNT(&st->svc->m, tx_errors, 1);
		return;
	}
	i = (st->arp_head + st->arp_len++) % MMDS_STACK_ARPQ;
	memcpy(st->arpq[i].mac, a + 8, 6);
	st->arpq[i].ip = be32(a + 14);
}

struct seg {
	const uint8_t *mac;
	uint32_t ip;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t win, mss;
	const uint8_t *data;
	size_t dlen;
};

static struct mmds_tcp_conn *conn_find(struct mmds_stack *st, const struct seg *s)
{
	for (unsigned int i = 0; i < MMDS_STACK_CONNS; i++) {
		struct mmds_tcp_conn *c = &st->conns[i];

		if (c->used && c->peer_ip == s->ip && c->peer_port == s->sport)
			return c;
	}
	return NULL;
}

/* A reset for a segment that belongs to no connection (RFC 793, "reset generation"). */
static void reset_for(struct mmds_stack *st, const struct seg *s)
{
	uint32_t len = (uint32_t)s->dlen + !!(s->flags & TCP_SYN) + !!(s->flags & TCP_FIN);

	if (s->flags & TCP_RST)
		return;
	if (s->flags & TCP_ACK)
		queue_rst(st, s->mac, s->ip, s->sport, s->dport, s->ack, 0, TCP_RST);
	else
		queue_rst(st, s->mac, s->ip, s->sport, s->dport, 0, s->seq + len,
			  TCP_RST | TCP_ACK);
}

static void conn_new(struct mmds_stack *st, const struct seg *s, uint64_t now_ns)
{
	struct mmds_tcp_conn *c = NULL, *old = NULL;
	struct {
		uint32_t ip;
		uint16_t port;
		uint64_t serial;
	} isn_in = {s->ip, s->sport, ++st->isn_serial};

	for (unsigned int i = 0; i < MMDS_STACK_CONNS && !c; i++) {
		if (!st->conns[i].used)
			c = &st->conns[i];
		else if (!old || st->conns[i].last_ns < old->last_ns)
			old = &st->conns[i];
	}
	if (!c) {
		/* The bound: the connection idle longest makes room, with a reset. */
		c = old;
		queue_rst(st, c->peer_mac, c->peer_ip, c->peer_port, HTTP_PORT, c->snd_nxt,
			  c->rcv_nxt, TCP_RST | TCP_ACK);
		conn_free(st, c);
	}
	c->used = true;
	memcpy(c->peer_mac, s->mac, 6);
	c->peer_ip = s->ip;
	c->peer_port = s->sport;
	c->mss = s->mss && s->mss < MMDS_STACK_MSS ? s->mss : MMDS_STACK_MSS;
	c->iss = (uint32_t)mmds_keyed_hash(st->svc, &isn_in, sizeof(isn_in));
	c->snd_una = c->snd_nxt = c->iss;
	c->snd_wnd = s->win;
	c->rcv_nxt = s->seq + 1;
	c->send_syn = true;
	c->last_ns = now_ns;
	MMDS_COUNT(&st->svc->m, connections_created, 1);
}

/* The guest's bytes (and FIN) at s->seq: in order only. */
static void conn_data(struct mmds_stack *st, struct mmds_tcp_conn *c, const struct seg *s,
		      uint64_t now_ns)
{
	bool fin = s->flags & TCP_FIN, all = true, grew = false;
	uint32_t skip;
	int ret;

	if (!s->dlen && !fin)
		return;
	c->need_ack = true;
	if (seq_lt(c->rcv_nxt, s->seq) || c->fin_rcvd)
		return; /* a gap (out of order, out of window), or after the FIN: ACK again */
	skip = c->rcv_nxt - s->seq;
	if (skip < s->dlen) {
		size_t take = s->dlen - skip;

		if (!c->resp_ready) {
			size_t room = MMDS_STACK_REQ_MAX - c->req_len;

			if (take > room) {
				take = room;
				all = false;
			}
			memcpy(c->req + c->req_len, s->data + skip, take);
			c->req_len += take;
		}
		c->rcv_nxt += (uint32_t)take;
		grew = take > 0;
	} else if (skip > s->dlen) {
		return; /* all of it seen before, FIN included */
	}
	if (fin && all) {
		c->fin_rcvd = true;
		c->rcv_nxt++;
		grew = true;
	}
	if (!grew || c->resp_ready)
		return;
	if (c->fin_rcvd && !c->req_len) {
		c->resp_ready = true; /* closed without asking: our FIN only */
		return;
	}
	ret = mmds_http_serve(st->svc, c->req, c->req_len,
			      c->fin_rcvd || c->req_len == MMDS_STACK_REQ_MAX, now_ns, &c->resp,
			      &c->resp_len);
	if (ret == 1)
		c->resp_ready = true;
	else if (ret < 0) {
		queue_rst(st, c->peer_mac, c->peer_ip, c->peer_port, HTTP_PORT, c->snd_nxt,
			  c->rcv_nxt, TCP_RST | TCP_ACK);
		conn_free(st, c);
	}
}

static void handle_tcp(struct mmds_stack *st, const struct seg *s, uint64_t now_ns)
{
	struct mmds_tcp_conn *c = conn_find(st, s);
	uint32_t old_wnd;

	if (!c) {
		if ((s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && s->dport == HTTP_PORT)
			conn_new(st, s, now_ns);
		else
			reset_for(st, s);
		return;
	}
	c->last_ns = now_ns;
	if (s->flags & TCP_RST) {
		uint32_t off = s->seq - c->rcv_nxt;

		if (off <= rcv_wnd(c))
			conn_free(st, c);
		return;
	}
	if (s->flags & TCP_SYN) {
		if (!c->established && s->seq + 1 == c->rcv_nxt)
			c->send_syn = true; /* the guest did not get our SYN-ACK: again */
		else
			c->need_ack = true; /* a SYN in a live connection: a challenge ACK */
		return;
	}
	if (!(s->flags & TCP_ACK))
		return;
	if (!c->established) {
		/* It must acknowledge a SYN-ACK sent (one may be due again: the timer). */
		if (s->ack != c->iss + 1 || c->snd_nxt == c->iss) {
			queue_rst(st, s->mac, s->ip, s->sport, s->dport, s->ack, 0, TCP_RST);
			return;
		}
		c->established = true;
		c->send_syn = false;
		c->snd_una = s->ack;
		c->snd_wnd = s->win;
		c->rto_at = 0;
		c->retries = 0;
	} else {
		if (seq_lt(c->snd_nxt, s->ack)) {
			c->need_ack = true; /* acknowledges what we never sent */
			return;
		}
		old_wnd = c->snd_wnd;
		if (seq_lt(c->snd_una, s->ack)) {
			c->snd_una = s->ack;
			c->snd_wnd = s->win;
			c->retries = 0;
			c->rto_at = c->snd_una == c->snd_nxt ? 0 : now_ns + MMDS_STACK_RTO_NS;
		} else if (s->ack == c->snd_una) {
			c->snd_wnd = s->win;
			/* A duplicate ACK with data in flight: go back to what it asks for. */
			if (!s->dlen && !(s->flags & TCP_FIN) && s->win == old_wnd &&
			    c->snd_nxt != c->snd_una) {
				c->snd_nxt = c->snd_una;
				c->rto_at = 0; /* armed again as it goes */
			}
		}
	}
	conn_data(st, c, s, now_ns);
	if (c->used && conn_done(c))
		conn_free(st, c);
}

/* The IPv4 packet at @ip (@len bytes up to the frame's end), sent to MMDS's address. */
static void handle_ipv4(struct mmds_stack *st, const uint8_t *mac, const uint8_t *ip, size_t len,
			bool csum_partial, uint64_t now_ns)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4, tot, doff, tlen;
	struct mmds_metrics *m = &st->svc->m;
	struct seg s = {.mac = mac};
	const uint8_t *t;

	tot = be16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < IP_LEN || tot < ihl || tot > len ||
	    fold(sum16(0, ip, ihl)) != 0) {
		MMDS_COUNT(m, rx_accepted_err, 1);
		return;
	}
	if ((be16(ip + 6) & 0x3fff) || ip[9] != IPPROTO_TCP_) {
		MMDS_COUNT(m, rx_accepted_unusual, 1); /* a fragment, or not TCP */
		return;
	}
	t = ip + ihl;
	tlen = tot - ihl;
	doff = tlen >= TCP_LEN ? (size_t)(t[12] >> 4) * 4 : 0;
	s.ip = be32(ip + 12);
	if (doff < TCP_LEN || doff > tlen ||
	    (!csum_partial && fold(sum16(pseudo(s.ip, be32(ip + 16), tlen), t, tlen)) != 0)) {
		MMDS_COUNT(m, rx_accepted_err, 1);
		return;
	}
	s.sport = be16(t);
	s.dport = be16(t + 2);
	s.seq = be32(t + 4);
	s.ack = be32(t + 8);
	s.flags = t[13];
	s.win = be16(t + 14);
	s.data = t + doff;
	s.dlen = tlen - doff;
	for (size_t o = TCP_LEN; o < doff;) { /* the MSS option, in a SYN */
		if (t[o] == 0)
			break;
		if (t[o] == 1) {
			o++;
			continue;
		}
		if (o + 1 >= doff || t[o + 1] < 2 || o + t[o + 1] > doff)
			break;
		if (t[o] == 2 && t[o + 1] == 4)
			s.mss = be16(t + o + 2);
		o += t[o + 1];
	}
	if (s.mss && s.mss < 64)
		s.mss = 64;
	handle_tcp(st, &s, now_ns);
}

bool mmds_stack_tx(struct mmds_stack *st, const struct iovec *iov, unsigned int nr, uint64_t now_ns)
{
	uint8_t peek[OFF_IP + 28];
	size_t total = iov_size(iov, nr), n;
	uint16_t type;
	uint32_t addr = st->svc->ipv4;

	n = iov_to_buf(iov, nr, 0, peek, total < sizeof(peek) ? total : sizeof(peek));
	if (n < OFF_IP)
		return false;
	type = be16(peek + OFF_ETH + 12);
	if (type == ETH_P_ARP) {
		/* An ARP packet naming MMDS's address as its target. */
		if (n < OFF_IP + 28 || be32(peek + OFF_IP + 24) != addr)
			return false;
	} else if (type == ETH_P_IP) {
		if (n < OFF_IP + IP_LEN || be32(peek + OFF_IP + 16) != addr)
			return false;
	} else {
		return false;
	}
	MMDS_COUNT(&st->svc->m, rx_accepted, 1);
	if (total > MMDS_STACK_IN_MAX) {
		MMDS_COUNT(&st->svc->m, rx_bad_eth, 1);
		return true;
	}
	iov_to_buf(iov, nr, 0, st->in, total);
	if (type == ETH_P_ARP)
		handle_arp(st, st->in + OFF_IP, total - OFF_IP);
	else
		handle_ipv4(st, st->in + OFF_ETH + 6, st->in + OFF_IP, total - OFF_IP,
			    st->in[0] & HDR_F_NEEDS_CSUM, now_ns);
	return true;
}
