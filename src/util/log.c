// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <strings.h>
#include <time.h>

static const char *const level_names[] = {
    [LOG_OFF] = "Off",	 [LOG_ERROR] = "Error", [LOG_WARN] = "Warn",
    [LOG_INFO] = "Info", [LOG_DEBUG] = "Debug", [LOG_TRACE] = "Trace",
};

/*
 * The one process-wide pointer: which logger log_write() uses. It is set once
 * before any thread starts, so reads need no lock.
 */
static struct logger *current;

/* log_capture_start()/end(): this thread's first Error message meanwhile. */
static _Thread_local bool capturing;
static _Thread_local bool captured;
static _Thread_local char capture_buf[512];

int log_level_parse(const char *name, enum log_level *out)
{
	static const struct {
		const char *name;
		enum log_level lvl;
	} names[] = {
	    {"off", LOG_OFF},	{"error", LOG_ERROR}, {"warning", LOG_WARN}, {"warn", LOG_WARN},
	    {"info", LOG_INFO}, {"debug", LOG_DEBUG}, {"trace", LOG_TRACE},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcasecmp(name, names[i].name)) {
			*out = names[i].lvl;
			return 0;
		}
	}
	return -EINVAL;
}

void log_set(struct logger *lg)
{
	current = lg;
}

struct logger *log_get(void)
{
	return current;
}

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	struct logger *lg = current;
	FILE *out = lg && lg->out ? lg->out : stderr;
	enum log_level max = lg ? lg->level : LOG_INFO;
	char thread[16] = "main";
	char stamp[48];
	struct timespec ts;
	struct tm tm;
	va_list ap;

	if (lvl == LOG_ERROR && capturing && !captured) {
		va_start(ap, fmt);
		vsnprintf(capture_buf, sizeof(capture_buf), fmt, ap);
		va_end(ap);
		captured = true;
	}
	if (lvl == LOG_OFF || lvl > max)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	pthread_getname_np(pthread_self(), thread, sizeof(thread));

	/* One fprintf per part, under the stream's lock, so lines never interleave. */
	flockfile(out);
	fprintf(out, "%s.%09ld [%s:%s", stamp, ts.tv_nsec,
		lg && lg->id[0] ? lg->id : "anonymous-instance", thread);
	if (lg && lg->show_level)
		fprintf(out, ":%s", level_names[lvl]);
	if (lg && lg->show_origin)
		fprintf(out, ":%s:%d", file, line);
	fputs("] ", out);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
	funlockfile(out);
}

void log_capture_start(void)
{
	capturing = true;
	captured = false;
	capture_buf[0] = '\0';
}

const char *log_capture_end(void)
{
	capturing = false;
	return captured ? capture_buf : "";
}

bool log_ratelimit_pass(struct log_ratelimit *rl, unsigned int *suppressed)
{
	struct timespec ts;
	unsigned long long now, start;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
	start = atomic_load(&rl->window_start_ms);
	*suppressed = 0;
	/* A new window: whoever wins the exchange resets the count and reports the old one. */
	if (now - start >= LOG_RL_WINDOW_MS &&
	    atomic_compare_exchange_strong(&rl->window_start_ms, &start, now)) {
		atomic_store(&rl->printed, 0);
		*suppressed = atomic_exchange(&rl->suppressed, 0);
	}
	if (atomic_fetch_add(&rl->printed, 1) < LOG_RL_BURST)
		return true;
	atomic_fetch_add(&rl->suppressed, 1);
	return false;
}
