/*
 * net.h - the virtio-net exchange the net payloads share (virtio_net.c, net_wait.c): bring
 * the device up with VERSION_1 and MAC only (no offloads, no MRG_RXBUF: every receive
 * buffer holds a whole frame), post NET_RX receive buffers, send one frame and wait for
 * one. Frames carry ethertype 0x88B5 and a text ("ember virtio-net guest->host" out,
 * "ember virtio-net host->guest" in). Polling only.
 */
#ifndef EMBER_GUEST_NET_H
#define EMBER_GUEST_NET_H

#include "virtio.h"

#define NET_F_MAC     (1u << 5) /* feature word 0 */
#define NET_RX	      4
#define NET_HDR	      12   /* struct virtio_net_hdr_v1 */
#define NET_RX_BUF    1536 /* >= 1526: header + a 1514-byte frame */
#define NET_FRAME_LEN 60   /* the Ethernet minimum without FCS */

struct net_guest {
	uint8_t mac[6]; /* the device's, or 06:00:00:00:00:01 if it has none */
	struct virtq rxq, txq;
	uint8_t rx_buf[NET_RX][NET_RX_BUF];
	uint8_t tx_buf[NET_HDR + NET_FRAME_LEN];
};

/* Finds the device among @slots windows, negotiates, posts every receive buffer, DRIVER_OK. */
void net_up(struct net_guest *n, uint32_t slots);
/* Sends one broadcast frame from our MAC with @text; waits for the transmit buffer back. */
void net_send(struct net_guest *n, const char *text, uint64_t cycles);
/*
 * Waits for a frame with ethertype 0x88B5 and @text (and, with @to_us, addressed to our
 * MAC), re-posting every other frame (at most 64, then fails with @what's context).
 * Returns the receive buffer's index; *len is the used length, *skipped the frames passed.
 */
uint32_t net_receive(struct net_guest *n, const char *text, bool to_us, uint64_t cycles,
		     const char *what, uint32_t *len, uint32_t *skipped);

#endif
