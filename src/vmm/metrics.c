// SPDX-License-Identifier: Apache-2.0
#include "vmm/metrics.h"

#include "util/line_out.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Values that are levels, not counts: written as they are (Firecracker's store metrics). */
static const char *const store_keys[] = {
    "process_startup_time_us",
    "process_startup_time_cpu_us",
    NULL,
};

static bool is_store_key(const char *key)
{
	for (const char *const *k = store_keys; *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

json_t *metrics_delta(const json_t *cur, const json_t *prev)
{
	json_t *out = json_object();
	const char *key;
	json_t *v;

	if (!out)
		return NULL;
	json_object_foreach((json_t *)(uintptr_t)cur, key, v)
	{
		const json_t *p = prev ? json_object_get(prev, key) : NULL;
		json_t *d;

		if (json_is_object(v)) {
			d = metrics_delta(v, json_is_object(p) ? p : NULL);
		} else if (json_is_integer(v) && !is_store_key(key)) {
			json_int_t now = json_integer_value(v);
			json_int_t before = json_is_integer(p) ? json_integer_value(p) : 0;

			/* A counter that went back (a device was reset) restarts from itself. */
			d = json_integer(now >= before ? now - before : now);
		} else {
			d = json_deep_copy(v);
		}
		if (!d || json_object_set_new(out, key, d)) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

static void timer_fired(struct ev_handler *h, uint32_t events)
{
	struct metrics *m = h->opaque;

	(void)events;
	if (!ev_timer_consume(h))
		return;
	if (metrics_flush(m) < 0)
		log_warn("metrics: periodic flush failed");
}

void metrics_init(struct metrics *m, metrics_collect_fn collect, void *opaque)
{
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	m->timer_h.fd = -1;
	m->collect = collect;
	m->opaque = opaque;
}

int metrics_open(struct metrics *m, struct event_loop *loop, const char *path, bool emit_id,
		 const char *id, const char *properties_json, char *err, size_t errlen)
{
	const uint64_t period_ns = METRICS_PERIOD_S * 1000000000ULL;
	json_t *props = NULL;
	int fd, ret;

	if (properties_json) {
		props = json_loads(properties_json, 0, NULL);
		if (!json_is_object(props)) {
			json_decref(props);
			snprintf(err, errlen, "metrics.properties: not an object");
			return -EINVAL;
		}
	}
	/* A FIFO nobody reads yet opens too, and never stalls the event loop. */
	ret = line_out_open(path, &fd, &m->fd_is_pipe);
	if (ret) {
		snprintf(err, errlen, "metrics_path %s: %s", path, strerror(-ret));
		json_decref(props);
		return ret;
	}
	/* No loop (a unit test's controller): no periodic lines, flushes still work. */
	m->timer_h = (struct ev_handler){.fd = -1, .fn = timer_fired, .opaque = m};
	if (loop) {
		ret = ev_timer_create(loop, &m->timer_h, timer_fired, m);
		if (!ret)
			ret = ev_timer_arm(&m->timer_h, period_ns, period_ns);
		if (ret)
			goto err_timer;
	}
	m->loop = loop;
	m->fd = fd;
	m->emit_id = emit_id;
	snprintf(m->id, sizeof(m->id), "%s", id ? id : "");
	m->properties = props;
	m->active = true;
	return 0;

err_timer:
	snprintf(err, errlen, "metrics: cannot arm the %d s timer: %s", METRICS_PERIOD_S,
		 strerror(-ret));
	ev_timer_destroy(loop, &m->timer_h);
	close(fd);
	json_decref(props);
	return ret;
}

int metrics_flush(struct metrics *m)
{
	json_t *cur, *line;
	struct timespec ts;
	char *text;
	size_t len;
	int ret = 0;

	if (!m->active)
		return -ENODEV;
	cur = json_object();
	if (!cur)
		return -ENOMEM;
	m->collect(m->opaque, cur);
	line = metrics_delta(cur, m->prev);
	if (!line) {
		json_decref(cur);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_set_new(line, "utc_timestamp_ms",
			    json_integer((json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000));
	if (m->emit_id)
		json_object_set_new(line, "id", json_string(m->id));
	if (m->properties)
		json_object_set(line, "properties", m->properties);
	text = json_dumps(line, JSON_COMPACT);
	json_decref(line);
	if (!text) {
		json_decref(cur);
		return -ENOMEM;
	}
	len = strlen(text);
	text[len++] = '\n'; /* json_dumps leaves room: the NUL becomes the newline */
	/* Whole or not at all: a FIFO with no room drops the line (counted). */
	ret = line_out_write(m->fd, m->fd_is_pipe, text, len);
	if (ret == -EAGAIN)
		m->missed++;
	else if (ret)
		m->fails++;
	free(text);
	/* The baseline moves only when the line went out: nothing is lost on a failed write. */
	if (!ret) {
		json_decref(m->prev);
		m->prev = cur;
		m->lines++;
	} else {
		json_decref(cur);
	}
	return ret;
}

void metrics_close(struct metrics *m)
{
	if (m->active && metrics_flush(m) < 0)
		log_warn("metrics: the last flush failed");
	ev_timer_destroy(m->loop, &m->timer_h);
	if (m->fd >= 0)
		close(m->fd);
	json_decref(m->prev);
	json_decref(m->properties);
	m->fd = m->timer_h.fd = -1;
	m->prev = m->properties = NULL;
	m->active = false;
}
