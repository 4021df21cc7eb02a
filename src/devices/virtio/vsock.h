/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-vsock (virtio 1.x, section 5.10, "socket device"): device id 19, with
 * Firecracker's hybrid design: guest AF_VSOCK stream connections are carried to
 * host AF_UNIX sockets (Firecracker's docs/vsock.md).
 *
 *  - Host-initiated: ember listens on `uds_path`. A host client connects and
 *    writes "CONNECT <port>\n"; ember sends the guest a REQUEST to that port from
 *    a host port of its own (counting up from 2^30); on the guest's RESPONSE it
 *    writes "OK <host port>\n" to the client and from then on forwards bytes both
 *    ways. The guest's RST (nobody listens) closes the client. A malformed, too
 *    long (> VSOCK_CONNECT_LINE_MAX bytes) or missing line closes the client.
 *  - Guest-initiated: a REQUEST from the guest to host port P connects to the
 *    Unix socket "<uds_path>_P" (nonblocking); success answers RESPONSE, failure
 *    (no such socket, nobody listening, backlog full, path too long) RST.
 *
 * Queues: rx (0, device -> guest), tx (1, guest -> device), event (2: only
 * TRANSPORT_RESET after a snapshot restore; the rx queue then waits until the
 * driver took it). Configuration space: le64 guest_cid. No
 * device-specific feature bits: stream sockets only (what VIRTIO_VSOCK_F_STREAM
 * means, and what a driver assumes when no bit is offered).
 *
 * Flow control, per connection (spec 5.10.6.3): every packet to the guest
 * carries our buf_alloc (VSOCK_CONN_BUF_SIZE) and fwd_cnt (bytes of the guest's
 * data written to the host socket). Guest data the host socket does not take
 * at once waits in a per-connection ring of VSOCK_CONN_BUF_SIZE bytes
 * (allocated on first need); a guest that sends beyond that credit gets an RST.
 * In the other direction ember never sends more than the guest's last
 * buf_alloc - (bytes sent - its fwd_cnt), nor more than the rx buffer it reads
 * into, nor more than VSOCK_MAX_PKT_PAYLOAD per packet; a host socket is only
 * read when there is a guest rx buffer and credit (otherwise its data waits in
 * the kernel and the host writer blocks). CREDIT_UPDATE goes to the guest when
 * its view of our free space falls below VSOCK_CREDIT_THRESHOLD and we have
 * freed some; CREDIT_REQUEST when the guest's credit is 0 and the host has data.
 *
 * Shutdown: the host's EOF sends SHUTDOWN(SEND), plus RCV when the host closed
 * both ways (POLLHUP); with both, ember waits VSOCK_CLOSE_TIMEOUT_MS for the
 * guest's RST, then sends its own and forgets the connection. The guest's
 * SHUTDOWN(SEND) becomes shutdown(SHUT_WR) on the host socket once its buffered
 * data is written; SHUTDOWN(RCV|SEND) closes the host socket (after the flush,
 * within VSOCK_CLOSE_TIMEOUT_MS) and answers RST. A REQUEST the guest leaves
 * unanswered for VSOCK_REQUEST_TIMEOUT_MS closes the client (and sends RST).
 *
 * The guest is hostile. Malformed tx chains (no room for a header) are returned
 * and counted; a packet with a wrong src_cid or dst_cid, a type other than
 * STREAM, an unknown op, len > VSOCK_MAX_PKT_PAYLOAD or longer than its chain,
 * for an unknown connection, or out of place in the connection's state (RW
 * before RESPONSE, RW after the guest's SHUTDOWN(SEND), a duplicate REQUEST)
 * is answered with RST (never an RST to an RST), which ends the connection if
 * there is one. Connections are keyed by (host port, guest port) and bounded
 * (max_conns, at most VSOCK_MAX_CONNS, host clients waiting for their CONNECT
 * line included); RSTs without a connection wait in a bounded ring
 * (VSOCK_RST_RING; dropped and counted when full).
 *
 * Work per event is bounded: VSOCK_TX_BUDGET tx packets and VSOCK_RX_BUDGET rx
 * packets per run, VSOCK_ACCEPT_BUDGET accepts per listener event, one buffer's
 * worth of writes per socket event; more work left is picked up by a run the
 * device asks its host for (schedule, 0 ns), so the loop serves its other fds
 * in between. The request and close deadlines are the device's own (on the
 * host's device clock); it asks for a run no later than the next one.
 *
 * Threads: every fd (listener, host sockets) is watched through the host,
 * which calls their handlers and the device's run with dev.lock held, and
 * holds them all while the VM is paused. Register accesses (vCPU threads)
 * reach the device through the transport with dev.lock held: reset closes
 * every connection the guest knows of (host clients whose REQUEST was not
 * delivered yet wait for the driver). Host sockets are watched edge-triggered
 * and the readiness is remembered per connection, so a socket the device
 * cannot serve now (no credit, no rx buffer) does not make the loop spin.
 *
 * The header fields are little-endian; ember runs on x86-64 only.
 *
 * Files: vsock.c (the device: queues, packets, ops), vsock_conn.c (the
 * connections: state machine, credit, buffers), vsock_host.c (the host-side
 * muxer: listener, "CONNECT <port>", host sockets); vsock_internal.h between them.
 */
#ifndef EMBER_DEVICES_VIRTIO_VSOCK_H
#define EMBER_DEVICES_VIRTIO_VSOCK_H

#include "devices/virtio/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

/* Firecracker's Vsock object (swagger: guest_cid >= 3, uds_path, vsock_id deprecated). */
struct vsock_config {
	bool present;
	uint32_t guest_cid; /* 3 .. 0xfffffffe (0xffffffff is VMADDR_CID_ANY) */
	char *uds_path;	    /* required; < 108 bytes (sockaddr_un) */
	char *vsock_id;	    /* deprecated in the swagger: accepted and ignored; NULL if absent */
};

#define VSOCK_HOST_CID 2 /* VMADDR_CID_HOST */

#define VSOCK_QUEUE_RX		0
#define VSOCK_QUEUE_TX		1
#define VSOCK_QUEUE_EVENT	2
#define VIRTIO_VSOCK_QUEUE_SIZE 256

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive no more / send no more. */
#define VSOCK_SHUTDOWN_RCV  1u
#define VSOCK_SHUTDOWN_SEND 2u
#define VSOCK_SHUTDOWN_BOTH (VSOCK_SHUTDOWN_RCV | VSOCK_SHUTDOWN_SEND)

struct virtio_vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len; /* payload bytes after the header */
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

#define VSOCK_HDR_SIZE 44
_Static_assert(sizeof(struct virtio_vsock_hdr) == VSOCK_HDR_SIZE, "virtio_vsock_hdr is 44 bytes");

/* Limits. */
#define VSOCK_MAX_PKT_PAYLOAD	 (64 * 1024)  /* per packet, both ways (Linux's max) */
#define VSOCK_CONN_BUF_SIZE	 (128 * 1024) /* our buf_alloc: guest bytes buffered per conn */
#define VSOCK_CREDIT_THRESHOLD	 (32 * 1024)
#define VSOCK_MAX_CONNS		 1024
#define VSOCK_RST_RING		 512	    /* RSTs waiting for an rx buffer */
#define VSOCK_HOST_PORT_FIRST	 (1u << 30) /* host ports of host-initiated connections */
#define VSOCK_CONNECT_LINE_MAX	 32	    /* "CONNECT 4294967295\n" is 19 */
#define VSOCK_REQUEST_TIMEOUT_MS 5000	    /* the guest's answer to our REQUEST */
#define VSOCK_CLOSE_TIMEOUT_MS	 2000	    /* a closing connection's last words */
#define VSOCK_RESET_HOLD_MS	 1000	    /* rx held after a restore's TRANSPORT_RESET */
#define VSOCK_TX_BUDGET		 128
#define VSOCK_RX_BUDGET		 128
#define VSOCK_ACCEPT_BUDGET	 16
#define VSOCK_HASH_SIZE		 256

/* Firecracker's VsockDeviceMetrics, then ember's own counters (virtio_mmio.h: T, C). */
#define VIRTIO_VSOCK_METRICS(T, C)                                                             \
	T(activate_fails, activate_fails)                                                      \
	T(cfg_fails, cfg_fails)                                                                \
	C(rx_queue_event_fails)	    /* unusable rx chains (readable, < 44 bytes, malformed) */ \
	C(tx_queue_event_fails)	    /* malformed tx chains, chains without a header */         \
	T(event_fails, event_fails) /* the transport's, all queues */                          \
	C(rx_queue_event_count)                                                                \
	C(tx_queue_event_count)                                                                \
	C(rx_bytes_count) /* to the guest (payload bytes) */                                   \
	C(tx_bytes_count) /* from the guest */                                                 \
	C(rx_packets_count)                                                                    \
	C(tx_packets_count)                                                                    \
	C(conns_added)                                                                         \
	C(conns_killed)                                                                        \
	C(conns_removed)                                                                       \
	C(tx_write_fails) /* writing a host socket failed (connection reset) */                \
	C(rx_read_fails)  /* reading a host socket failed */                                   \
	C(ev_queue_event_count)                                                                \
	C(conns_refused)   /* limit reached, or the guest's connect failed */                  \
	C(pkt_fails)	   /* malformed or misplaced guest packets (answered RST) */           \
	C(credit_overruns) /* the guest sent beyond our buf_alloc (RST) */                     \
	C(bad_connect_lines)                                                                   \
	C(rst_dropped)	  /* the RST ring was full */                                          \
	C(buffered_bytes) /* guest bytes waiting in connection buffers now */                  \
	C(timeouts)

struct vsock_conn; /* one connection (vsock_internal.h) */

struct virtio_vsock {
	struct virtio_dev dev; /* first: dev.opaque points back here */
	uint64_t guest_cid;
	char uds_path[108];

	struct dev_watch listen_w; /* the listening socket at uds_path */
	bool listen_ready;	   /* connections may wait in its backlog */
	bool unlink_path;	   /* we created uds_path: remove it at destroy */

	unsigned int max_conns; /* <= VSOCK_MAX_CONNS (tests lower it) */

	/* Connections: slots are allocated once and reused, never freed before destroy. */
	struct vsock_conn *slots[VSOCK_MAX_CONNS];
	unsigned int nr_slots;
	struct vsock_conn *free_head, *free_tail; /* FIFO: a freed slot is reused last */
	unsigned int nr_conns;
	struct vsock_conn *hash[VSOCK_HASH_SIZE];
	struct vsock_conn *rxq_head, *rxq_tail; /* connections with something for the guest */
	uint32_t next_host_port;

	struct {
		uint32_t src_port, dst_port; /* host port, guest port */
	} rst_ring[VSOCK_RST_RING];
	unsigned int rst_head, rst_len;

	bool tx_more; /* the tx budget ran out with chains left */
	/*
	 * After a restore's TRANSPORT_RESET: nothing goes on the rx queue until the
	 * driver took the event (it posts the event buffer again: a notification),
	 * or until reset_hold_until_ns. A Linux guest serves its rx queue before its
	 * event queue in one interrupt, so it would reset a connection it just got.
	 */
	bool reset_hold;
	uint64_t reset_hold_until_ns;
	struct vq_chain tx_chain, rx_chain;
	struct iovec iov_tmp[VQ_MAX_SEGS];

	/* Counters: Firecracker's vsock metrics, then ember's own (all in the metrics). */
	VIRTIO_VSOCK_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
};

/*
 * Checks @cfg as the configuration parser should: guest_cid 3 .. 0xfffffffe, a
 * non-empty uds_path shorter than 108 bytes. 0, or -EINVAL with one line in
 * @err (e.g. "vsock.guest_cid: 2 is out of range (3 to 4294967294)").
 */
int virtio_vsock_check_config(const struct vsock_config *cfg, char *err, size_t err_len);

/*
 * Sets up the device in the reset state and starts listening on cfg->uds_path
 * (a stale socket file there is replaced; a live listener or a non-socket
 * file is an error), watched through @host. Returns 0, or a negative errno
 * after logging one line naming the path and the problem;
 * virtio_vsock_destroy() is safe either way.
 */
int virtio_vsock_init(struct virtio_vsock *v, const struct vsock_config *cfg,
		      const struct virtio_host_ops *host, void *host_data,
		      const struct guest_mem *mem);
/* Closes every connection and fd, removes uds_path. After the loop stopped serving it. */
void virtio_vsock_destroy(struct virtio_vsock *v);

/* Runs whatever can run now: accepts, tx, rx. dev.lock held. (The device's run; tests.) */
void virtio_vsock_process(struct virtio_vsock *v);

/*
 * Ends the connections whose deadline passed on the device clock and asks the
 * host for a run at the next one. dev.lock held. (The device's run; tests.)
 */
void virtio_vsock_expire(struct virtio_vsock *v);

#endif
