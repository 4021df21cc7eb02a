// SPDX-License-Identifier: Apache-2.0
#include "util/rate_limiter.h"

#include <string.h>

#define NS_PER_MS 1000000ULL

void tb_init(struct token_bucket *b, const struct token_bucket_config *c, uint64_t now_ns)
{
	memset(b, 0, sizeof(*b));
	b->size = c->size;
	b->refill_time_ns = c->refill_time_ms * NS_PER_MS;
	b->budget = c->size;
	b->one_time_burst = c->one_time_burst;
	b->last_ns = now_ns;
}

/* tokens = elapsed * size / refill_time, in 128 bits, remainder carried. */
static void refill(struct token_bucket *b, uint64_t now_ns)
{
	unsigned __int128 progress;
	uint64_t tokens;

	if (now_ns <= b->last_ns)
		return;
	progress = (unsigned __int128)(now_ns - b->last_ns) * b->size + b->remainder;
	b->last_ns = now_ns;
	b->remainder = (uint64_t)(progress % b->refill_time_ns);
	tokens = progress / b->refill_time_ns > UINT64_MAX
		     ? UINT64_MAX
		     : (uint64_t)(progress / b->refill_time_ns);
	/* The refill pays an over-consumption first. */
	if (b->debt) {
		uint64_t paid = tokens < b->debt ? tokens : b->debt;

		b->debt -= paid;
		tokens -= paid;
	}
	b->budget = tokens >= b->size - b->budget ? b->size : b->budget + tokens;
	if (b->budget == b->size)
		b->remainder = 0; /* a full bucket does not bank progress */
}

bool tb_reduce(struct token_bucket *b, uint64_t tokens, uint64_t now_ns)
{
	refill(b, now_ns);
	if (b->one_time_burst) {
		uint64_t from_burst = tokens < b->one_time_burst ? tokens : b->one_time_burst;

		/* The burst is spent only when the rest of the request can be served too. */
		if (tokens - from_burst <= b->budget && !b->debt) {
			b->one_time_burst -= from_burst;
			b->budget -= tokens - from_burst;
			return true;
		}
	}
	if (b->debt)
		return false;
	if (tokens <= b->budget) {
		b->budget -= tokens;
		return true;
	}
	if (tokens > b->size && b->budget == b->size) {
		/* Larger than the bucket: let it through once, pay for it afterwards. */
		b->debt = tokens - b->budget;
		b->budget = 0;
		return true;
	}
	return false;
}

void tb_replenish(struct token_bucket *b, uint64_t tokens)
{
	b->budget = tokens >= b->size - b->budget ? b->size : b->budget + tokens;
}

uint64_t tb_wait_ns(struct token_bucket *b, uint64_t tokens, uint64_t now_ns)
{
	uint64_t have, need;
	unsigned __int128 ns;

	refill(b, now_ns);
	/* A request larger than the bucket waits for a full bucket. */
	if (tokens > b->size)
		tokens = b->size;
	have = b->budget + b->one_time_burst;
	if (!b->debt && have >= tokens)
		return 0;
	need = b->debt + (tokens > b->budget ? tokens - b->budget : 0);
	if (!b->size)
		return 0;
	ns = ((unsigned __int128)need * b->refill_time_ns - b->remainder + b->size - 1) / b->size;
	return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

void rl_init(struct rate_limiter *rl, const struct token_bucket_config *bw,
	     const struct token_bucket_config *ops, uint64_t now_ns)
{
	const struct token_bucket_config *c[2] = {bw, ops};

	memset(rl, 0, sizeof(*rl));
	for (int k = 0; k < 2; k++) {
		/* Firecracker: a bucket with size 0 or refill_time 0 does not exist. */
		rl->limit[k] = c[k] && c[k]->size && c[k]->refill_time_ms;
		if (rl->limit[k])
			tb_init(&rl->tb[k], c[k], now_ns);
	}
}

bool rl_active(const struct rate_limiter *rl)
{
	return rl->limit[RL_BYTES] || rl->limit[RL_OPS];
}

bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns, uint64_t *wait_ns)
{
	uint64_t w = 0;

	if (rl->limit[RL_OPS] && !tb_reduce(&rl->tb[RL_OPS], 1, now_ns)) {
		w = tb_wait_ns(&rl->tb[RL_OPS], 1, now_ns);
		goto blocked;
	}
	if (rl->limit[RL_BYTES] && bytes && !tb_reduce(&rl->tb[RL_BYTES], bytes, now_ns)) {
		/* Both or nothing: give the op back. */
		if (rl->limit[RL_OPS])
			tb_replenish(&rl->tb[RL_OPS], 1);
		w = tb_wait_ns(&rl->tb[RL_BYTES], bytes, now_ns);
		goto blocked;
	}
	return true;
blocked:
	if (wait_ns)
		*wait_ns = w ? w : 1;
	return false;
}
