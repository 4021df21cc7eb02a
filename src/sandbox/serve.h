/* SPDX-License-Identifier: Apache-2.0 */
/* The service's shared state (serve.c), its clone pool and its statistics (pool.c). */
#ifndef EMBER_SANDBOX_SERVE_H
#define EMBER_SANDBOX_SERVE_H

#include "clone.h"
#include "template.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define SB_LATENCIES 1024 /* the last this many requests feed the percentiles */
#define SB_POOL_MAX  64

enum sb_stat { SB_STAT_BAD, SB_STAT_FAILED, SB_STAT_CANCELLED };

struct sb_stats {
	unsigned long completed, timed_out, bad, failed, cancelled, rejected;
	double total_ms[SB_LATENCIES], restore_ms[SB_LATENCIES];
	size_t n; /* how many of the rings hold values */
	size_t next;
};

struct sb_server {
	struct sb_template t;
	const char *ember;
	struct sb_jail jail;
	bool jailed; /* --jail: clones under ember-jailer */
	long max_concurrent, queue_cap, pool_k, default_timeout, max_timeout;
	size_t max_output;
	pthread_mutex_t lock; /* everything below */
	pthread_cond_t cond;  /* running, waiting, connections changed */
	long running, waiting, connections;
	bool stopping;
	double started_ms;
	struct sb_stats stats;
	/* the pool: clones restored paused, filled by its own thread */
	pthread_cond_t pool_cond;
	pthread_t pool_thread;
	bool pool_thread_started;
	struct sb_clone pool[SB_POOL_MAX];
	size_t pool_len;
	unsigned long pool_failures;
};

int sb_pool_start(struct sb_server *s);
/* Joins the pool thread and destroys the clones it holds (after stopping is set). */
void sb_pool_stop(struct sb_server *s);
/* A paused clone into *C if the pool has one (true), else false. */
bool sb_pool_take(struct sb_server *s, struct sb_clone *c);

void sb_stats_count(struct sb_server *s, enum sb_stat what);
void sb_stats_done(struct sb_server *s, bool timed_out, double restore_ms, double total_ms);
/* GET /v1/stats's body (malloc'd). */
char *sb_stats_json(struct sb_server *s);

#endif
