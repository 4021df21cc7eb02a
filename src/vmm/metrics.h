/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Metrics as Firecracker writes them: one JSON object per line to
 * metrics_path (a file or a named pipe), with groups of counters (api_server,
 * vcpu, uart, i8042, entropy, ...). Counters are reported as deltas since the
 * previous line; a few values (start-up times) are reported as they are. A line
 * goes out every 60 s, on FlushMetrics and at exit.
 *
 * The collector builds the cumulative document; this module turns it into
 * deltas, so devices only keep plain running counters.
 */
#ifndef EMBER_VMM_METRICS_H
#define EMBER_VMM_METRICS_H

#include "core/event_loop.h"

#include <jansson.h>
#include <stdbool.h>

#define METRICS_PERIOD_S 60

/* Fills @root with the cumulative counters, one object per group. */
typedef void (*metrics_collect_fn)(void *opaque, json_t *root);

struct metrics {
	bool active;
	int fd;
	bool fd_is_pipe;
	/* Lines not written: no room in the FIFO (dropped), or a write error. */
	unsigned long long missed, fails;
	bool emit_id;
	char id[64];
	json_t *properties; /* operator's key-value pairs, or NULL */
	json_t *prev;	    /* the cumulative document of the last line */
	metrics_collect_fn collect;
	void *opaque;
	struct event_loop *loop;
	struct ev_handler timer_h;
	unsigned long long lines;
};

/* Inactive metrics: flushing does nothing until metrics_open(). */
void metrics_init(struct metrics *m, metrics_collect_fn collect, void *opaque);

/*
 * Opens @path (appending; a named pipe works, read or not: util/line_out.h)
 * and arms the 60 s timer on @loop. @properties_json: an object of strings,
 * or NULL. -errno with @err set.
 */
int metrics_open(struct metrics *m, struct event_loop *loop, const char *path, bool emit_id,
		 const char *id, const char *properties_json, char *err, size_t errlen);

/*
 * Writes one line now. 0, -ENODEV when not configured, -EAGAIN when a FIFO
 * has no room (the line is dropped; the next one carries its counts), or -errno.
 */
int metrics_flush(struct metrics *m);

/* Writes the last line (if active) and closes. */
void metrics_close(struct metrics *m);

/*
 * The delta document: for each integer in @cur, its value minus the same key's
 * in @prev (missing: itself; never negative); objects recurse; keys named in
 * METRICS_STORE_KEYS and non-integers are copied as they are. For tests.
 */
json_t *metrics_delta(const json_t *cur, const json_t *prev);

#endif
