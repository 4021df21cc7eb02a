/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MMDS's network endpoint on one interface: the smallest IPv4 host that can
 * serve HTTP. It answers ARP requests for the MMDS address, and TCP to port
 * 80 (a reset to any other port); everything else sent to that address is
 * dropped; frames for other hosts are not its business (the device passes
 * them to the TAP).
 *
 * Frames come with the 12-byte virtio-net header in front (virtio_net_hdr_v1):
 * a frame whose checksum the guest left to the device (NEEDS_CSUM) is not
 * checked. Frames out carry a header of zeros and complete checksums.
 *
 * TCP, enough for one request and one response per connection: at most
 * MMDS_STACK_CONNS connections (a new one evicts, with a reset, the one idle
 * longest), in-order data only (out-of-order and out-of-window segments get
 * a duplicate ACK), a request of at most MMDS_STACK_REQ_MAX bytes (the
 * window offered), the response sent within the guest's window (no window
 * scaling) and MSS, then FIN. A duplicate ACK while data is in flight sends
 * again from the first unacknowledged byte, and so does the retransmission
 * timer (MMDS_STACK_RTO_NS, doubled each time; after MMDS_STACK_RETRIES the
 * connection is reset). A guest that never reads keeps its connection until
 * evicted.
 *
 * Output is made on demand (mmds_stack_rx): what each connection owes the
 * guest (SYN-ACK, data, FIN, an ACK) is state, not a queue, so nothing is
 * lost while the guest has no receive buffers. Only ARP replies and resets
 * for unknown connections are queued, in small rings (dropped when full:
 * the guest asks again).
 */
#ifndef EMBER_DEVICES_MMDS_STACK_H
#define EMBER_DEVICES_MMDS_STACK_H

#include "devices/mmds/mmds.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MMDS_STACK_CONNS   30
#define MMDS_STACK_REQ_MAX 4096
#define MMDS_STACK_MSS	   1460
#define MMDS_STACK_IN_MAX  (12 + 14 + 65535) /* the largest frame read in */
#define MMDS_STACK_ARPQ	   4
#define MMDS_STACK_RSTQ	   16
#define MMDS_STACK_RTO_NS  1000000000ULL
#define MMDS_STACK_RETRIES 6
#define MMDS_STACK_HDR	   12 /* the virtio-net header before each frame */
/* Firecracker's MMDS MAC address. */
#define MMDS_STACK_MAC                             \
	{                                          \
		0x06, 0x01, 0x23, 0x45, 0x67, 0x01 \
	}

struct mmds_tcp_conn {
	bool used;
	bool established; /* the guest acknowledged our SYN */
	bool send_syn;	  /* a SYN-ACK is owed */
	bool need_ack;	  /* an ACK is owed */
	bool fin_rcvd;
	bool resp_ready; /* resp holds the whole response */
	uint8_t peer_mac[6];
	uint32_t peer_ip;
	uint16_t peer_port;
	uint16_t mss;
	uint32_t iss, snd_una, snd_nxt, snd_wnd;
	uint32_t rcv_nxt;
	uint64_t last_ns; /* last segment from the guest */
	uint64_t rto_at;  /* when what is in flight is sent again (0: nothing is) */
	unsigned int retries;
	char req[MMDS_STACK_REQ_MAX];
	size_t req_len;
	char *resp;
	size_t resp_len;
};

struct mmds_stack_rst {
	uint8_t mac[6];
	uint32_t ip;
	uint16_t port, our_port;
	uint32_t seq, ack;
	uint8_t flags;
};

struct mmds_stack {
	struct mmds *svc;
	uint8_t mac[6];
	struct mmds_tcp_conn conns[MMDS_STACK_CONNS];
	unsigned int next_conn; /* round robin over connections' output */
	struct {
		uint8_t mac[6];
		uint32_t ip;
	} arpq[MMDS_STACK_ARPQ];
	unsigned int arp_head, arp_len;
	struct mmds_stack_rst rstq[MMDS_STACK_RSTQ];
	unsigned int rst_head, rst_len;
	uint16_t ip_id;
	uint64_t isn_serial;
	uint8_t *in; /* MMDS_STACK_IN_MAX bytes: the frame being read */
};

/* 0 or -ENOMEM. The stack serves @svc's address and store. */
int mmds_stack_init(struct mmds_stack *st, struct mmds *svc);
void mmds_stack_destroy(struct mmds_stack *st);

/*
 * A frame the guest sent (header + frame in @iov): true if it was for MMDS
 * (consumed: it must not reach the TAP), false to pass it on. @now_ns: the
 * device clock.
 */
bool mmds_stack_tx(struct mmds_stack *st, const struct iovec *iov, unsigned int nr,
		   uint64_t now_ns);
/* Writes the next frame for the guest (header + frame) into @iov: its length, 0 if none. */
size_t mmds_stack_rx(struct mmds_stack *st, const struct iovec *iov, unsigned int nr,
		     uint64_t now_ns);
/* Runs the retransmission timers due at @now_ns; whether mmds_stack_rx has a frame to give. */
bool mmds_stack_pending(struct mmds_stack *st, uint64_t now_ns);
/* When the next retransmission timer is due (0: none runs). */
uint64_t mmds_stack_deadline(const struct mmds_stack *st);

#endif
