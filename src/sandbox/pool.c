// SPDX-License-Identifier: Apache-2.0
/* The service's pool of paused clones and its statistics (serve.h). */
#include "serve.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *pool_main(void *arg)
{
	struct sb_server *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->stopping && s->pool_len >= (size_t)s->pool_k)
			pthread_cond_wait(&s->pool_cond, &s->lock);
		if (s->stopping)
			break;
		pthread_mutex_unlock(&s->lock);
		struct sb_clone c;
		char err[1024];
		int ret = sb_clone_start(&c, &s->t, s->ember, s->jailed ? &s->jail : NULL, false,
					 err, sizeof(err));
		pthread_mutex_lock(&s->lock);
		if (ret < 0) {
			s->pool_failures++;
			pthread_mutex_unlock(&s->lock);
			fprintf(stderr, "ember-sandbox: pool: %s\n", err);
			sleep(1); /* a broken template should not spin */
			pthread_mutex_lock(&s->lock);
			continue;
		}
		if (s->stopping) {
			sb_clone_destroy(&c);
			break;
		}
		s->pool[s->pool_len++] = c;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int sb_pool_start(struct sb_server *s)
{
	if (s->pool_k <= 0)
		return 0;
	if (pthread_create(&s->pool_thread, NULL, pool_main, s) != 0)
		return -1;
	s->pool_thread_started = true;
	return 0;
}

void sb_pool_stop(struct sb_server *s)
{
	if (s->pool_thread_started)
		pthread_join(s->pool_thread, NULL);
	while (s->pool_len > 0)
		sb_clone_destroy(&s->pool[--s->pool_len]);
}

bool sb_pool_take(struct sb_server *s, struct sb_clone *c)
{
	bool got = false;
	pthread_mutex_lock(&s->lock);
	if (s->pool_len > 0) {
		*c = s->pool[--s->pool_len];
		got = true;
		pthread_cond_signal(&s->pool_cond);
	}
	pthread_mutex_unlock(&s->lock);
	/* A pooled ember whose VM died meanwhile is no use: restore a fresh one. */
	if (got && !sb_clone_alive(c)) {
		sb_clone_destroy(c);
		got = false;
	}
	return got;
}

void sb_stats_count(struct sb_server *s, enum sb_stat what)
{
	pthread_mutex_lock(&s->lock);
	switch (what) {
	case SB_STAT_BAD:
		s->stats.bad++;
		break;
	case SB_STAT_FAILED:
		s->stats.failed++;
		break;
	case SB_STAT_CANCELLED:
		s->stats.cancelled++;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

void sb_stats_done(struct sb_server *s, bool timed_out, double restore_ms, double total_ms)
{
	pthread_mutex_lock(&s->lock);
	s->stats.completed++;
	s->stats.timed_out += timed_out;
	s->stats.total_ms[s->stats.next] = total_ms;
	s->stats.restore_ms[s->stats.next] = restore_ms;
	s->stats.next = (s->stats.next + 1) % SB_LATENCIES;
	if (s->stats.n < SB_LATENCIES)
		s->stats.n++;
	pthread_mutex_unlock(&s->lock);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* {"p50": .., "p90": .., "p99": .., "max": ..} of the N values in V (sorted here). */
static json_t *percentiles(double *v, size_t n)
{
	if (n == 0)
		return json_null();
	qsort(v, n, sizeof(*v), cmp_double);
	json_t *o = json_object();
	static const struct {
		const char *name;
		double q;
	} qs[] = {{"p50", 0.50}, {"p90", 0.90}, {"p99", 0.99}, {"max", 1.0}};
	for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
		size_t k = (size_t)(qs[i].q * (double)(n - 1) + 0.5);
		json_object_set_new(o, qs[i].name,
				    json_real((double)(long long)(v[k] * 1000) / 1000));
	}
	return o;
}

char *sb_stats_json(struct sb_server *s)
{
	static double total[SB_LATENCIES], restore[SB_LATENCIES];
	pthread_mutex_lock(&s->lock);
	size_t n = s->stats.n;
	memcpy(total, s->stats.total_ms, n * sizeof(double));
	memcpy(restore, s->stats.restore_ms, n * sizeof(double));
	json_t *o = json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "completed",
	    (json_int_t)s->stats.completed, "timed_out", (json_int_t)s->stats.timed_out,
	    "bad_requests", (json_int_t)s->stats.bad, "failed", (json_int_t)s->stats.failed,
	    "cancelled", (json_int_t)s->stats.cancelled, "rejected", (json_int_t)s->stats.rejected,
	    "running", (json_int_t)s->running, "queued", (json_int_t)s->waiting, "pool_ready",
	    (json_int_t)s->pool_len, "max_concurrent", (json_int_t)s->max_concurrent,
	    "pool_failures", (json_int_t)s->pool_failures, "uptime_s",
	    (sb_now_ms() - s->started_ms) / 1000);
	/* total/restore are static: sorted under the lock, one stats answer at a time */
	json_object_set_new(o, "total_ms", percentiles(total, n));
	json_object_set_new(o, "restore_ms", percentiles(restore, n));
	pthread_mutex_unlock(&s->lock);
	char *str = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(o);
	return str;
}
