/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Token buckets and the rate limiter built from two of them (bytes and
 * operations), with Firecracker's semantics (its swagger TokenBucket):
 *   size            tokens the bucket holds when full
 *   refill_time     milliseconds to refill from empty to full (rate = size / refill_time)
 *   one_time_burst  extra tokens spent first, never refilled
 * A bucket with size 0 or refill_time 0 does not limit. A request larger than
 * the bucket is let through once the bucket is full and leaves a debt that the
 * refill pays first, so a big request is throttled rather than refused forever.
 *
 * Time is passed in (nanoseconds, CLOCK_MONOTONIC in the VMM) so tests are exact.
 */
#ifndef EMBER_UTIL_RATE_LIMITER_H
#define EMBER_UTIL_RATE_LIMITER_H

#include <stdbool.h>
#include <stdint.h>

struct token_bucket_config {
	uint64_t size;
	uint64_t one_time_burst;
	uint64_t refill_time_ms;
};

/* Firecracker's RateLimiter object: optional bandwidth (bytes) and ops token buckets. */
struct rate_limiter_config {
	bool has_bandwidth;
	bool has_ops;
	struct token_bucket_config bandwidth;
	struct token_bucket_config ops;
};

struct token_bucket {
	uint64_t size;
	uint64_t refill_time_ns;
	uint64_t budget;	 /* tokens available now */
	uint64_t one_time_burst; /* left of the initial burst */
	uint64_t debt;		 /* tokens over-consumed by a request larger than size */
	uint64_t last_ns;	 /* when the budget was last brought up to date */
	uint64_t remainder;	 /* sub-token progress: (elapsed * size) % refill_time */
};

enum rl_kind { RL_BYTES, RL_OPS };

struct rate_limiter {
	bool limit[2];		   /* per kind: whether its bucket limits */
	struct token_bucket tb[2]; /* [RL_BYTES], [RL_OPS] */
};

/* A bucket that starts full (plus its one-time burst) at @now_ns. */
void tb_init(struct token_bucket *b, const struct token_bucket_config *c, uint64_t now_ns);

/*
 * Takes @tokens if available (burst first, then the budget). A request larger
 * than size succeeds only with a full bucket and leaves a debt. False: nothing
 * taken, try again after tb_wait_ns().
 */
bool tb_reduce(struct token_bucket *b, uint64_t tokens, uint64_t now_ns);

/* Gives back tokens taken for a request that then failed (bounded by size). */
void tb_replenish(struct token_bucket *b, uint64_t tokens);

/* Nanoseconds until @tokens could be taken (0: now). */
uint64_t tb_wait_ns(struct token_bucket *b, uint64_t tokens, uint64_t now_ns);

/* @bw / @ops may be NULL (no limit of that kind). */
void rl_init(struct rate_limiter *rl, const struct token_bucket_config *bw,
	     const struct token_bucket_config *ops, uint64_t now_ns);

/* Whether any bucket limits at all (a device skips the bookkeeping otherwise). */
bool rl_active(const struct rate_limiter *rl);

/*
 * One request of @bytes bytes: takes one op and @bytes bytes, or nothing (false).
 * On false, *wait_ns says when to retry (a device arms its timerfd with it).
 */
bool rl_consume(struct rate_limiter *rl, uint64_t bytes, uint64_t now_ns, uint64_t *wait_ns);

#endif
