/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A guest's side of MMDS's network endpoint, for the unit tests: crafted
 * ARP/IPv4/TCP frames (virtio-net header first) in, parsed answers out.
 */
#ifndef EMBER_TESTS_UNIT_MMDS_FRAMES_H
#define EMBER_TESTS_UNIT_MMDS_FRAMES_H

#include "devices/mmds/stack.h"

#include <stdint.h>
#include <string.h>

#define G_IP 0xa9fe0002U /* 169.254.0.2 */
#define G_MAC                          \
	{                              \
		0x02, 0, 0, 0, 0, 0x02 \
	}
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10
#define HDR   MMDS_STACK_HDR

static inline void f_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void f_put32(uint8_t *p, uint32_t v)
{
	f_put16(p, (uint16_t)(v >> 16));
	f_put16(p + 2, (uint16_t)v);
}

static inline uint16_t f_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t f_be32(const uint8_t *p)
{
	return (uint32_t)f_be16(p) << 16 | f_be16(p + 2);
}

static inline uint16_t f_csum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += f_be16(p + i);
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An ARP request from the guest for @target: the frame's length. */
static inline size_t f_arp(uint8_t *f, uint32_t target)
{
	static const uint8_t mac[6] = G_MAC;
	uint8_t *e = f + HDR, *a = e + 14;

	memset(f, 0, HDR + 14 + 28);
	memset(e, 0xff, 6);
	memcpy(e + 6, mac, 6);
	f_put16(e + 12, 0x0806);
	f_put16(a, 1);
	f_put16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	f_put16(a + 6, 1);
	memcpy(a + 8, mac, 6);
	f_put32(a + 14, G_IP);
	f_put32(a + 24, target);
	return HDR + 14 + 28;
}

/* A TCP segment from the guest (port @sport) to @dst:@dport: the frame's length. */
static inline size_t f_tcp(uint8_t *f, uint32_t dst, uint16_t sport, uint16_t dport, uint32_t seq,
			   uint32_t ack, uint8_t flags, uint16_t win, const void *data, size_t len)
{
	static const uint8_t mac[6] = G_MAC;
	static const uint8_t mmds_mac[6] = MMDS_STACK_MAC;
	uint8_t *e = f + HDR, *ip = e + 14, *t = ip + 20;
	size_t tl = 20 + len;
	uint32_t ps;

	memset(f, 0, HDR + 14 + 20 + 20);
	memcpy(e, mmds_mac, 6);
	memcpy(e + 6, mac, 6);
	f_put16(e + 12, 0x0800);
	ip[0] = 0x45;
	f_put16(ip + 2, (uint16_t)(20 + tl));
	ip[8] = 64;
	ip[9] = 6;
	f_put32(ip + 12, G_IP);
	f_put32(ip + 16, dst);
	f_put16(ip + 10, f_csum(0, ip, 20));
	f_put16(t, sport);
	f_put16(t + 2, dport);
	f_put32(t + 4, seq);
	f_put32(t + 8, ack);
	t[12] = 5 << 4;
	t[13] = flags;
	f_put16(t + 14, win);
	if (len)
		memcpy(t + 20, data, len);
	ps = (G_IP >> 16) + (G_IP & 0xffff) + (dst >> 16) + (dst & 0xffff) + 6 + (uint32_t)tl;
	f_put16(t + 16, f_csum(ps, t, tl));
	return HDR + 14 + 20 + tl;
}

/* What MMDS sent, parsed. */
struct f_reply {
	size_t len;
	uint16_t type;
	uint8_t flags;
	uint16_t sport, dport, win;
	uint32_t seq, ack;
	const uint8_t *data;
	size_t dlen;
	bool csum_ok;
};

static inline struct f_reply f_parse(const uint8_t *f, size_t len)
{
	struct f_reply r = {.len = len};
	const uint8_t *e = f + HDR, *ip = e + 14, *t;
	size_t ihl, tot, tl;
	uint32_t ps;

	if (!len)
		return r;
	r.type = f_be16(e + 12);
	if (r.type != 0x0800)
		return r;
	ihl = (size_t)(ip[0] & 0xf) * 4;
	tot = f_be16(ip + 2);
	t = ip + ihl;
	tl = tot - ihl;
	r.sport = f_be16(t);
	r.dport = f_be16(t + 2);
	r.seq = f_be32(t + 4);
	r.ack = f_be32(t + 8);
	r.flags = t[13];
	r.win = f_be16(t + 14);
	r.data = t + (t[12] >> 4) * 4;
	r.dlen = tl - (size_t)(t[12] >> 4) * 4;
	ps = (f_be32(ip + 12) >> 16) + (f_be32(ip + 12) & 0xffff) + (f_be32(ip + 16) >> 16) +
	     (f_be32(ip + 16) & 0xffff) + 6 + (uint32_t)tl;
	r.csum_ok = f_csum(0, ip, ihl) == 0 && f_csum(ps, t, tl) == 0;
	return r;
}

#endif
