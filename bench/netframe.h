/*
 * netframe.h - the frames of the net-throughput benchmark (bench/devices.sh), shared by the
 * guest payload (bench/netbench.c, freestanding) and the host tool (bench/nethost.c), so both
 * send byte-identical frames: a 12-byte struct virtio_net_hdr_v1, then the Ethernet frame.
 *
 *   MTU frame: 1514 bytes (a 1500-byte MTU's largest), ethertype 0x88B5 (local experimental),
 *              no offloads (a zero header);
 *   GSO frame: one 64 KiB TCP/IPv4 super-frame (header + frame = 65536 bytes) the host
 *              segments into NETFRAME_GSO_MSS-byte segments if it forwards it: header with
 *              NEEDS_CSUM and GSO_TCPV4 (the driver negotiated CSUM and HOST_TSO4).
 *
 * Both go to NETFRAME_DST, a unicast MAC nobody has, so the host's stack drops them right after
 * the TAP counted them (rx_bytes, rx_packets): the benchmark measures the VMM's path to the TAP,
 * not a consumer. The payload bytes are left as they are (zero in a fresh guest).
 */
#ifndef EMBER_BENCH_NETFRAME_H
#define EMBER_BENCH_NETFRAME_H

#include <stdbool.h>
#include <stdint.h>

#define NETFRAME_HDR	   12	 /* struct virtio_net_hdr_v1 */
#define NETFRAME_MTU_LEN   1514	 /* Ethernet header + 1500 */
#define NETFRAME_GSO_LEN   65524 /* header + frame = 64 KiB */
#define NETFRAME_GSO_MSS   1448
#define NETFRAME_ETHERTYPE 0x88B5
#define NETFRAME_GUEST_MAC                         \
	{                                          \
		0x06, 0x00, 0x0a, 0x00, 0x02, 0x02 \
	} /* the guest's (and QEMU's mac=) */
#define NETFRAME_DST                               \
	{                                          \
		0x02, 0x00, 0x00, 0x00, 0x00, 0xb5 \
	} /* nobody's */

/* The frame lengths (without the header). */
static inline uint32_t netframe_len(bool gso)
{
	return gso ? NETFRAME_GSO_LEN : NETFRAME_MTU_LEN;
}

static inline void netframe_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void netframe_le16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* One's-complement sum of @n bytes (n even) folded to 16 bits, not inverted. */
static inline uint32_t netframe_sum(const uint8_t *p, uint32_t n, uint32_t sum)
{
	for (uint32_t i = 0; i < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * Writes the header and the frame's protocol headers at @b (NETFRAME_HDR + netframe_len(gso)
 * bytes, zero beyond what is written here: the caller's buffer is zeroed) with source MAC
 * @src. The header is little-endian (virtio 1.x).
 */
static inline void netframe_build(uint8_t *b, bool gso, const uint8_t src[6])
{
	static const uint8_t dst[6] = NETFRAME_DST;
	static const uint8_t saddr[4] = {10, 0, 2, 2}, daddr[4] = {10, 0, 2, 1};
	uint8_t *f = b + NETFRAME_HDR, *ip = f + 14, *tcp = ip + 20;
	uint32_t ip_len = NETFRAME_GSO_LEN - 14, sum;

	for (int i = 0; i < 6; i++) {
		f[i] = dst[i];
		f[6 + i] = src[i];
	}
	if (!gso) {
		netframe_be16(f + 12, NETFRAME_ETHERTYPE);
		f[14] = 'e'; /* a mark for a capture */
		f[15] = 'n';
		f[16] = 'b';
		return;
	}
	b[0] = 1;		       /* flags: NEEDS_CSUM */
	b[1] = 1;		       /* gso_type: TCPV4 */
	netframe_le16(b + 2, 14 + 40); /* hdr_len: Ethernet + IPv4 + TCP headers */
	netframe_le16(b + 4, NETFRAME_GSO_MSS);
	netframe_le16(b + 6, 14 + 20); /* csum_start: the TCP header */
	netframe_le16(b + 8, 16);      /* csum_offset: its checksum field */
	netframe_be16(f + 12, 0x0800); /* IPv4 */
	ip[0] = 0x45;
	netframe_be16(ip + 2, ip_len);
	ip[6] = 0x40; /* DF */
	ip[8] = 64;   /* TTL */
	ip[9] = 6;    /* TCP */
	for (int i = 0; i < 4; i++) {
		ip[12 + i] = saddr[i];
		ip[16 + i] = daddr[i];
	}
	netframe_be16(ip + 10, ~netframe_sum(ip, 20, 0) & 0xffff);
	netframe_be16(tcp, 40000);    /* source port */
	netframe_be16(tcp + 2, 5201); /* destination port */
	tcp[7] = 1;		      /* seq 1 */
	tcp[11] = 1;		      /* ack 1 */
	tcp[12] = 5 << 4;	      /* data offset: 20 bytes */
	tcp[13] = 0x18;		      /* PSH, ACK */
	netframe_be16(tcp + 14, 0xffff);
	/* NEEDS_CSUM: the checksum field holds the pseudo-header's sum, the host finishes it. */
	sum = netframe_sum(ip + 12, 8, 6 + ip_len - 20);
	netframe_be16(tcp + 16, sum);
}

#endif
