/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The sandbox agent's wire protocol, shared by ember-sandbox (the host) and
 * ember-agent (linux-guest/sandbox/agent.c, in the guest): one vsock stream per
 * request, in frames of a type byte, a 4-byte little-endian length and that many
 * bytes. Header-only and libc-only so that both sides build it.
 *
 * Host -> agent, in this order:
 *   R entropy bytes (mixed in with RNDADDENTROPY, then RNDRESEEDCRNG)
 *   T clock: 8-byte seconds, 8-byte nanoseconds (CLOCK_REALTIME)
 *   A one argv word (at least one), E one "KEY=VALUE", C the working directory
 *   G run: the command starts
 *   I stdin bytes, any number; an empty I closes the command's stdin. The host sends
 *     the next I only once the agent acknowledged the previous one (a below): at most
 *     one frame is ever in flight, so the guest's vsock buffer never fills (with it
 *     full, a Linux 6.1 guest under ember lost 64 KiB of a stream here)
 * or P alone: the agent answers P and closes (readiness probe).
 * Agent -> host:
 *   B the command started; O stdout bytes; e stderr bytes; a one I frame consumed
 *   F a failure before the command ran (its text), followed by X 126 or 127
 *   X exit status (4 bytes) or S the signal that ended it (4 bytes): the last frame
 */
#ifndef EMBER_SANDBOX_PROTO_H
#define EMBER_SANDBOX_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SB_AGENT_PORT_NUM 5252
#define SB_AGENT_PORT	  5252u
#define SB_FRAME_HDR	  5u
#define SB_FRAME_MAX	  (1u << 20) /* the largest payload either side accepts */
#define SB_ENTROPY_MAX	  512u
#define SB_STDIN_CHUNK	  32768u /* an I frame's largest payload */
#define SB_ARGS_MAX	  4096u	 /* argv words plus environment entries */

enum sb_frame {
	SB_ENTROPY = 'R',
	SB_CLOCK = 'T',
	SB_ARG = 'A',
	SB_ENV = 'E',
	SB_CWD = 'C',
	SB_RUN = 'G',
	SB_STDIN = 'I',
	SB_PING = 'P',
	SB_STDIN_ACK = 'a',
	SB_STARTED = 'B',
	SB_STDOUT = 'O',
	SB_STDERR = 'e',
	SB_FAIL = 'F',
	SB_EXIT = 'X',
	SB_SIGNAL = 'S',
};

static inline void sb_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t sb_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void sb_put64(uint8_t *p, uint64_t v)
{
	sb_put32(p, (uint32_t)v);
	sb_put32(p + 4, (uint32_t)(v >> 32));
}

static inline uint64_t sb_get64(const uint8_t *p)
{
	return (uint64_t)sb_get32(p) | (uint64_t)sb_get32(p + 4) << 32;
}

/* Writes a frame header for TYPE and LEN bytes at HDR (SB_FRAME_HDR bytes). */
static inline void sb_header(uint8_t *hdr, enum sb_frame type, uint32_t len)
{
	hdr[0] = (uint8_t)type;
	sb_put32(hdr + 1, len);
}

/*
 * An incremental frame reader: feed it bytes as they come, take whole frames
 * out. buf holds at most one frame (SB_FRAME_HDR + SB_FRAME_MAX bytes).
 */
struct sb_reader {
	uint8_t *buf;
	size_t have;
};

/*
 * After bytes were appended to r->buf (r->have grown): 1 when a whole frame is
 * there (*type, *data, *len set; call sb_reader_consume next), 0 when more bytes
 * are needed, -1 when the frame is larger than SB_FRAME_MAX.
 */
static inline int sb_reader_frame(const struct sb_reader *r, int *type, const uint8_t **data,
				  uint32_t *len)
{
	if (r->have < SB_FRAME_HDR)
		return 0;
	uint32_t n = sb_get32(r->buf + 1);
	if (n > SB_FRAME_MAX)
		return -1;
	if (r->have < SB_FRAME_HDR + n)
		return 0;
	*type = r->buf[0];
	*data = r->buf + SB_FRAME_HDR;
	*len = n;
	return 1;
}

/* Drops the frame sb_reader_frame returned, keeping what follows it. */
static inline void sb_reader_consume(struct sb_reader *r)
{
	size_t n = SB_FRAME_HDR + sb_get32(r->buf + 1);
	memmove(r->buf, r->buf + n, r->have - n);
	r->have -= n;
}

/* How many bytes may be appended to r->buf now. */
static inline size_t sb_reader_room(const struct sb_reader *r)
{
	return SB_FRAME_HDR + SB_FRAME_MAX - r->have;
}

#endif
