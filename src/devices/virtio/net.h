/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-net (virtio 1.x, section 5.1): device id 1, one receive queue (0) and
 * one transmit queue (1) of up to VIRTIO_NET_QUEUE_SIZE entries, backed by a
 * TAP device opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte vnet
 * header (struct virtio_net_hdr_v1: the guest's header goes to the TAP as is,
 * and the TAP's header lands in the guest's buffer as is).
 *
 * Features, as Firecracker offers them: CSUM, GUEST_CSUM, GUEST_TSO4/6,
 * GUEST_UFO, HOST_TSO4/6, HOST_UFO, MRG_RXBUF; MAC when a guest MAC is
 * configured; MTU when an MTU is configured; VERSION_1, EVENT_IDX and
 * INDIRECT_DESC from the transport. The TAP's offloads (TUNSETOFFLOAD) follow
 * the negotiated GUEST_* features, set at activation.
 *
 * Transmit: each chain is a vnet header and a frame in device-readable
 * buffers, written to the TAP with one writev() straight from guest memory,
 * then returned with length 0. A chain with a writable buffer, shorter than
 * the header or longer than VIRTIO_NET_MAX_BUFFER is malformed: dropped and
 * counted (tx_malformed_frames).
 *
 * Receive: one readv() per frame, into the first chain's writable buffers with
 * the device's bounce buffer appended behind them, so a frame that fits (the
 * usual case) lands in guest memory without a copy. With MRG_RXBUF, the part
 * that overflowed into the bounce buffer is copied into as many further
 * chains as needed and num_buffers says how many; without it, a frame larger
 * than the chain is dropped (rx_fails) and the chain reused. With no receive
 * buffer the device stops reading the backend (the frame waits in the TAP)
 * until the guest notifies the receive queue; a frame already read waits in
 * the buffers it got until the guest posts the rest. Nothing is dropped for
 * lack of buffers.
 *
 * Rate limiters (Firecracker's, bytes + ops, one per direction): a tx chain
 * that finds no tokens goes back on the ring (vq_undo_pop); a received frame
 * that finds no tokens is held, unpublished, in its buffers and the backend is
 * not read meanwhile. Either direction asks its host for a run
 * (host->schedule) and resumes from virtio_net_retry(), the device's run.
 *
 * Work per call is bounded: VIRTIO_NET_TX_BUDGET chains and
 * VIRTIO_NET_RX_BUDGET frames; leftover tx work asks for a run (wait 0), and
 * leftover rx work stays readable on the backend.
 *
 * The backend fd is watched through the host from init on: EPOLLIN only while
 * the device wants frames (registered without events otherwise). An error or
 * hang-up on it (the TAP was deleted) ends the watch: no more frames from it
 * (tap_read_fails).
 *
 * Locking: every entry point below runs with dev.lock held (queue_notify
 * already holds it; the host takes it around the others).
 */
#ifndef EMBER_DEVICES_VIRTIO_NET_H
#define EMBER_DEVICES_VIRTIO_NET_H

#include "devices/virtio/virtio_mmio.h"
#include "util/rate_limiter.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Feature bits (virtio 1.x, 5.1.3). */
#define VIRTIO_NET_F_CSUM	0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_UFO	10
#define VIRTIO_NET_F_HOST_TSO4	11
#define VIRTIO_NET_F_HOST_TSO6	12
#define VIRTIO_NET_F_HOST_UFO	14
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16

/* struct virtio_net_hdr_v1 (12 bytes): flags, gso_type, hdr_len, gso_size, csum_*, num_buffers. */
#define VIRTIO_NET_HDR_LEN	    12
#define VIRTIO_NET_HDR_FLAGS_OFF    0
#define VIRTIO_NET_HDR_NUM_BUFS_OFF 10
#define VIRTIO_NET_HDR_F_DATA_VALID 2

/* The configuration space (struct virtio_net_config, the fields up to mtu). */
#define VIRTIO_NET_CFG_MAC	 0  /* u8[6] */
#define VIRTIO_NET_CFG_STATUS	 6  /* le16: VIRTIO_NET_S_LINK_UP */
#define VIRTIO_NET_CFG_MAX_PAIRS 8  /* le16 */
#define VIRTIO_NET_CFG_MTU	 10 /* le16 */
#define VIRTIO_NET_CFG_SIZE	 12
#define VIRTIO_NET_S_LINK_UP	 1

#define VIRTIO_NET_RXQ	      0
#define VIRTIO_NET_TXQ	      1
#define VIRTIO_NET_QUEUE_SIZE 256
/* Header + the largest frame (the receive buffer size the spec asks of a GUEST_TSO driver). */
#define VIRTIO_NET_MAX_BUFFER 65562
/* The bounce buffer behind each receive: more than any frame a TAP delivers (64 KiB + headers). */
#define VIRTIO_NET_RX_BOUNCE (65536 + 1024)
#define VIRTIO_NET_TX_BUDGET 256 /* chains per call */
#define VIRTIO_NET_RX_BUDGET 128 /* frames per call */
#define VIRTIO_NET_MTU_MIN   68
#define VIRTIO_NET_MTU_MAX   65535
#define VIRTIO_NET_ETH_ALEN  6

/*
 * Firecracker's NetworkInterface (swagger): iface_id and host_dev_name are
 * required; guest_mac ("aa:bb:cc:dd:ee:ff", parsed by config/) and mtu
 * (68..65535) optional: without them VIRTIO_NET_F_MAC / VIRTIO_NET_F_MTU are
 * not offered. Strings belong to the configuration; the device copies what it
 * keeps.
 */
struct net_config {
	char *iface_id;
	char *host_dev_name; /* the TAP's name (fewer than IFNAMSIZ bytes); ember does not create it
			      */
	bool has_guest_mac;
	uint8_t guest_mac[VIRTIO_NET_ETH_ALEN];
	bool has_mtu;
	uint16_t mtu;
	struct rate_limiter_config rx_rate_limiter;
	struct rate_limiter_config tx_rate_limiter;
};

/* Firecracker's NetDeviceMetrics (virtio_mmio.h: T, C). */
#define VIRTIO_NET_METRICS(T, C)                                                             \
	T(activate_fails, activate_fails)                                                    \
	T(cfg_fails, cfg_fails)                                                              \
	T(event_fails, event_fails)                                                          \
	C(rx_queue_event_count)	       /* receive queue notifications */                     \
	C(rx_event_rate_limiter_count) /* retries run while rx was throttled */              \
	C(rx_tap_event_count)	       /* backend readable events */                         \
	C(rx_bytes_count)	       /* frame bytes given to the guest (without header) */ \
	C(rx_packets_count)	       /* frames given to the guest */                       \
	C(rx_fails)		       /* frames dropped: too big for the guest's buffers */ \
	C(rx_count)		       /* successful backend reads */                        \
	C(rx_rate_limiter_throttled)   /* frames held back by the rx limiter */              \
	C(no_rx_avail_buffer)	       /* rx stopped: no (or not enough) receive buffers */  \
	C(tap_read_fails)	       /* backend read errors */                             \
	C(tap_write_fails)	       /* backend write errors */                            \
	C(tx_bytes_count)	       /* frame bytes sent (without header) */               \
	C(tx_malformed_frames)	       /* chains refused: writable buffer, size */           \
	C(tx_fails)		       /* frames dropped: backend write errors */            \
	C(tx_count)		       /* successful backend writes */                       \
	C(tx_packets_count)	       /* frames sent */                                     \
	C(tx_queue_event_count)	       /* transmit queue notifications */                    \
	C(tx_rate_limiter_event_count) /* retries run while tx was throttled */              \
	C(tx_rate_limiter_throttled)   /* chains put back by the tx limiter */               \
	C(tx_remaining_reqs_count)     /* tx calls that hit the budget with work left */

/* Counters: Firecracker's net metrics (activate_fails, cfg_fails, event_fails: dev). */
struct net_metrics {
	VIRTIO_NET_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
};

/* A received frame read from the backend but not yet given to the guest. */
struct net_rx_frame {
	bool active;
	bool charged;	      /* the rx limiter took its tokens */
	uint32_t len;	      /* header + frame */
	uint32_t placed;      /* bytes already in guest buffers */
	uint32_t bounce_off;  /* where byte @placed sits in the bounce buffer */
	uint8_t *num_bufs[2]; /* the two bytes of the header's num_buffers (first chain) */
	unsigned int nr;      /* chains holding the frame, in order */
	struct vq_used used[VIRTIO_NET_QUEUE_SIZE];
};

/*
 * Something of the VMM that answers some of the guest's frames itself (MMDS,
 * devices/mmds/stack.h). Each frame the guest sends is offered to tx() first
 * (header + frame): true means it was taken and goes no further. rx() writes
 * its next frame for the guest (header + frame) into the receive buffers,
 * before anything from the TAP: the length, or 0 if it has none. pending()
 * runs its timers that are due and says whether it has a frame; deadline()
 * is when its next timer is due (0: none), for which the device asks its host
 * for a run. Times are the device clock's. Called with dev.lock held.
 */
struct net_intercept {
	bool (*tx)(void *opaque, const struct iovec *iov, unsigned int nr, uint64_t now_ns);
	size_t (*rx)(void *opaque, const struct iovec *iov, unsigned int nr, uint64_t now_ns);
	bool (*pending)(void *opaque, uint64_t now_ns);
	uint64_t (*deadline)(void *opaque);
	void *opaque;
};

struct virtio_net {
	struct virtio_dev dev;	   /* first: dev.opaque points back here */
	struct virtio_dev_ops ops; /* per device: the offered features depend on the config */
	char iface_id[64];	   /* logs */
	int fd;			   /* the backend (TAP), nonblocking; owned */
	bool fd_is_tap;		   /* TUNSETOFFLOAD applies (false: a test's socket) */
	uint8_t config[VIRTIO_NET_CFG_SIZE];
	unsigned int tap_offloads; /* TUN_F_* set at the last activation */

	struct dev_watch tap_w;		  /* the backend fd, through the host */
	struct rate_limiter rx_rl, tx_rl; /* on the host's device clock */

	bool rx_want;	   /* EPOLLIN on the backend: the device wants frames */
	bool rx_throttled; /* waiting for virtio_net_retry (rx limiter or backend error) */
	bool tx_throttled; /* waiting for virtio_net_retry (tx limiter) */
	struct net_rx_frame rx;
	uint8_t *bounce; /* VIRTIO_NET_RX_BOUNCE bytes */
	struct iovec rx_iov[VQ_MAX_SEGS + 1];
	struct vq_chain rx_chain, tx_chain; /* too big for the stack */

	struct net_metrics m;
	const struct net_intercept *icpt; /* NULL: every frame goes to the TAP */
};

/*
 * Sets up the device in the reset state over the backend @fd (nonblocking,
 * message-preserving: a TAP, or a SOCK_DGRAM/SOCK_SEQPACKET socket in tests;
 * the device owns it from here, even on failure) with @cfg's MAC, MTU and rate
 * limiters. @fd_is_tap: apply the negotiated offloads with TUNSETOFFLOAD. The
 * device watches @fd through @host; the host then places the device and
 * drives it. 0, -ENOMEM, -EINVAL or the watch's error.
 */
int virtio_net_init(struct virtio_net *n, const struct net_config *cfg, int fd, bool fd_is_tap,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem);
void virtio_net_destroy(struct virtio_net *n);

/*
 * Opens the existing TAP @name: IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte
 * vnet header, no offloads, O_NONBLOCK | O_CLOEXEC. Does not create it. On
 * error returns -errno with one line in @err naming the TAP and what to do.
 */
int net_tap_open(const char *name, int *fd, char *err, size_t err_len);

/* Replaces the limiters (NULL: no limit in that direction), e.g. PATCH /network-interfaces. */
void virtio_net_set_rate_limiters(struct virtio_net *n, const struct rate_limiter_config *rx,
				  const struct rate_limiter_config *tx);

/* The backend is readable: receive frames. */
void virtio_net_rx(struct virtio_net *n);
/* Transmit what the guest queued. */
void virtio_net_tx(struct virtio_net *n);
/* The device's run (the time it asked for came): resume what was throttled or left over. */
void virtio_net_retry(struct virtio_net *n);

#endif
