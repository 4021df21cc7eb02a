// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer over MMDS's network endpoint (devices/mmds/stack.c) and, behind
 * it, its HTTP side (imds.c): the input is a guest's script of frames. Each
 * step is a raw frame (any bytes), a well-formed TCP segment to MMDS with the
 * fields taken from the input (checksums right, so segments reach the TCP
 * logic; sequence numbers relative to what MMDS last sent, so connections
 * get established), an ARP request, draining MMDS's answers, or time passing.
 */
#include "../unit/mmds_frames.h"

#include <stdlib.h>

static struct mmds svc;
static bool ready;
static uint8_t frame[MMDS_STACK_IN_MAX], out[2048];

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned int take(struct in *in, unsigned int bytes)
{
	unsigned int v = 0;

	for (unsigned int i = 0; i < bytes && in->n; i++, in->p++, in->n--)
		v = v << 8 | *in->p;
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char store[] = "{\"latest\": {\"meta-data\": {\"id\": \"i-1\", \"n\": 1, "
				    "\"sub\": {\"k\": \"v\"}}}}";
	struct in in = {data, size};
	struct mmds_stack st;
	uint32_t seq[4] = {0}, ack[4] = {0};
	uint64_t now = 1;
	char err[MMDS_ERR_MAX];

	if (!ready) {
		if (mmds_init(&svc, 0) || mmds_put(&svc, store, sizeof(store) - 1, err))
			abort();
		ready = true;
	}
	mmds_set_config(&svc, size & 1 ? MMDS_V2 : MMDS_V1, false, MMDS_DEFAULT_IPV4);
	if (mmds_stack_init(&st, &svc))
		abort();
	for (unsigned int steps = 0; in.n && steps < 256; steps++) {
		unsigned int op = take(&in, 1), len, c;
		struct iovec iov = {frame, 0};
		struct f_reply r;

		switch (op % 5) {
		case 0: /* raw bytes, header included */
			len = take(&in, 2) % 1600;
			if (len > in.n)
				len = (unsigned int)in.n;
			memcpy(frame, in.p, len);
			in.p += len;
			in.n -= len;
			iov.iov_len = len;
			mmds_stack_tx(&st, &iov, 1, now);
			break;
		case 1: { /* a TCP segment from one of four ports */
			uint8_t flags = (uint8_t)take(&in, 1);
			uint32_t dseq = take(&in, 1), dack = take(&in, 1);
			uint16_t win = (uint16_t)take(&in, 2);

			c = (op >> 3) & 3;
			len = take(&in, 1) % 200;
			if (len > in.n)
				len = (unsigned int)in.n;
			iov.iov_len = f_tcp(frame, MMDS_DEFAULT_IPV4, (uint16_t)(40000 + c),
					    op & 0x80 ? 81 : 80, seq[c] + dseq - 8,
					    ack[c] + dack - 8, flags, win, in.p, len);
			frame[0] = (op & 0x40) ? 1 : 0; /* NEEDS_CSUM */
			in.p += len;
			in.n -= len;
			mmds_stack_tx(&st, &iov, 1, now);
			if (flags & F_SYN)
				seq[c] = ack[c] = 0;
			break;
		}
		case 2: /* ARP */
			iov.iov_len = f_arp(frame, op & 0x80 ? 0x0a000001 : MMDS_DEFAULT_IPV4);
			mmds_stack_tx(&st, &iov, 1, now);
			break;
		case 3: /* MMDS's timers, then its answers, into a buffer of the size a guest posts
			 */
			mmds_stack_pending(&st, now);
			if (mmds_stack_deadline(&st) && mmds_stack_deadline(&st) <= now)
				abort(); /* every timer due has run */
			for (unsigned int k = 0; k < 64; k++) {
				struct iovec o = {out, sizeof(out)};
				size_t n = mmds_stack_rx(&st, &o, 1, now);

				if (!n)
					break;
				r = f_parse(out, n);
				if (r.type == 0x0800 && !r.csum_ok)
					abort(); /* MMDS's own frames are always right */
				c = (r.dport - 40000) & 3;
				seq[c] = r.ack; /* the guest's next sequence number */
				ack[c] = r.seq + (uint32_t)r.dlen + !!(r.flags & (F_SYN | F_FIN));
			}
			break;
		default:
			now += (uint64_t)take(&in, 2) * 1000000ULL;
			break;
		}
	}
	mmds_stack_destroy(&st);
	return 0;
}
