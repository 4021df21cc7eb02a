/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inside virtio-vsock (vsock.h): what its three parts share.
 *   vsock.c       the device: the virtio side (tx and rx queues, the packets,
 *                 the RST ring, the transport's ops, deadlines);
 *   vsock_conn.c  the connections: slots, keys, the rx queue of connections,
 *                 the state machine, credit and the per-connection buffer;
 *   vsock_host.c  the host-side muxer: the Unix listener at uds_path,
 *                 Firecracker's hybrid "CONNECT <port>" protocol, the guest's
 *                 connects to "<uds_path>_<port>", and the host sockets' watches.
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
 * The host may deliver an event it fetched before the connection's unwatch (in
 * the same turn of its loop): a slot, and its dev_watch, is never freed before
 * destroy, so such an event finds a free (ignored) or reused slot, and
 * readiness is only a hint: every read and write finds out the truth itself.
 *
 * Everything here runs with dev.lock held.
 */
#ifndef EMBER_DEVICES_VIRTIO_VSOCK_INTERNAL_H
#define EMBER_DEVICES_VIRTIO_VSOCK_INTERNAL_H

#include "devices/virtio/vsock.h"

#include <stdbool.h>
#include <stdint.h>

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

/* --- the device (vsock.c) --- */

/* Deferred work (a budget ran out, activation): the host runs us again soon. */
void vsock_kick(struct virtio_vsock *v);
/* An RST for a packet without a connection (@reserve: leave room for the connections'). */
void vsock_rst_enqueue(struct virtio_vsock *v, uint32_t host_port, uint32_t guest_port,
		       bool reserve);
/* A header from the host to the guest: ports, STREAM, @op; the rest 0. */
void vsock_fill_hdr(struct virtio_vsock *v, struct virtio_vsock_hdr *h, uint32_t src_port,
		    uint32_t dst_port, uint16_t op);
/* Fills the guest's rx buffers with what waits (bounded): after any host event. */
void vsock_process_rx(struct virtio_vsock *v);

/* --- the connections (vsock_conn.c) --- */

struct vsock_conn *vsock_conn_find(struct virtio_vsock *v, uint32_t local, uint32_t peer);
/* Keys @c by (@local host port, @peer guest port) in v->hash. */
void vsock_conn_key(struct vsock_conn *c, uint32_t local, uint32_t peer);
/* The rx queue of connections with something for the guest (FIFO; once each). */
void vsock_rxq_push(struct vsock_conn *c);
struct vsock_conn *vsock_rxq_pop(struct virtio_vsock *v);
/* A slot for a new connection in @state, or NULL at the limit (or out of memory). */
struct vsock_conn *vsock_conn_alloc(struct virtio_vsock *v, enum conn_state state);
/* Forgets @c (closes its host socket): no packet to the guest. */
void vsock_conn_release(struct vsock_conn *c);
/* Ends @c; the guest gets an RST if it knows the connection. */
void vsock_conn_kill(struct vsock_conn *c);
/* Whether @c has a packet for the guest (a control packet, or host data it may send). */
bool vsock_conn_rx_ready(const struct vsock_conn *c);
/* After anything changed on @c: credit packets owed, then on the rx queue if it has any. */
void vsock_conn_update(struct vsock_conn *c);
/* Writes the buffered guest bytes to the host socket (at most one ring's worth). */
void vsock_conn_flush(struct vsock_conn *c);
/* The guest's RW payload (@len bytes at VSOCK_HDR_SIZE in @ch) for the host socket. */
void vsock_conn_recv(struct vsock_conn *c, const struct vq_chain *ch, uint32_t len);
/* The guest's SHUTDOWN with @flags. */
void vsock_conn_guest_shutdown(struct vsock_conn *c, uint32_t flags);
/* One packet from @c into @ch's writable buffers; returns its length, 0 if none. */
uint32_t vsock_conn_fill(struct vsock_conn *c, const struct vq_chain *ch);

/* --- the host-side muxer (vsock_host.c) --- */

/*
 * Listens on v->uds_path (a stale socket file there is replaced), watched
 * through the host. 0, or -errno after logging one line.
 */
int vsock_host_listen(struct virtio_vsock *v);
/* Stops listening and removes uds_path if we created it. */
void vsock_host_close(struct virtio_vsock *v);
/* Accepts waiting host clients (bounded: VSOCK_ACCEPT_BUDGET, then a run). */
void vsock_host_accept(struct virtio_vsock *v);
/* A guest REQUEST for host port h->dst_port: connect to "<uds_path>_<port>", or RST. */
void vsock_host_connect(struct virtio_vsock *v, const struct virtio_vsock_hdr *h);
/* The guest's RESPONSE to our REQUEST: tell the host client "OK <port>", then bytes flow. */
void vsock_host_established(struct vsock_conn *c);

#endif
