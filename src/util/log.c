// SPDX-License-Identifier: Apache-2.0
#include "util/log.h"

#include "util/line_out.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/*
 * A line up to this long is built on the stack; a longer one on the heap. Most are
 * far shorter, and the main stack's pages a VM's start touches stay resident.
 */
#define LOG_LINE_SMALL 512

/* As Firecracker prints them (Rust's log::Level). */
static const char *const level_names[] = {
    [LOG_OFF] = "OFF",	 [LOG_ERROR] = "ERROR", [LOG_WARN] = "WARN",
    [LOG_INFO] = "INFO", [LOG_DEBUG] = "DEBUG", [LOG_TRACE] = "TRACE",
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

/* log_set_thread_name(): what this thread's lines say instead of its own name. */
static _Thread_local const char *thread_name;

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

const char *log_set_thread_name(const char *name)
{
	const char *prev = thread_name;

	thread_name = name;
	return prev;
}

static void get_thread_name(char *buf, size_t len)
{
	if (thread_name)
		snprintf(buf, len, "%s", thread_name);
	else if (gettid() == getpid())
		snprintf(buf, len, "main"); /* not the process's name: Rust's main thread */
	else if (pthread_getname_np(pthread_self(), buf, len))
		snprintf(buf, len, "-");
}

/* @module ("vmm::vcpu") as a path under src/ ("vmm/vcpu") in @out; -EINVAL if malformed. */
static int module_path(const char *module, char out[LOG_MODULE_MAX])
{
	size_t n = 0;
	bool name = false; /* inside a name: a separator may follow */

	if (!strncmp(module, "api_server", 10) && (!module[10] || module[10] == ':')) {
		memcpy(out, "api", 3);
		n = 3;
		module += 10;
		name = true;
	}
	for (const char *s = module; *s; s++) {
		if (n + 1 >= LOG_MODULE_MAX)
			return -EINVAL;
		if (isalnum((unsigned char)*s) || *s == '_') {
			out[n++] = *s;
			name = true;
		} else if (name && (*s == '/' || (s[0] == ':' && s[1] == ':' && s[2] != ':'))) {
			out[n++] = '/';
			s += *s == ':';
			name = false;
		} else {
			return -EINVAL;
		}
	}
	if (n && !name)
		return -EINVAL; /* a trailing separator */
	out[n] = '\0';
	return 0;
}

int log_module_check(const char *module)
{
	char path[LOG_MODULE_MAX];

	return module_path(module, path);
}

int log_set_module(struct logger *lg, const char *module)
{
	int next = atomic_load(&lg->module_slot) == 0 ? 1 : 0;

	if (module_path(module, lg->module[next]))
		return -EINVAL;
	atomic_store(&lg->module_slot, lg->module[next][0] ? next : -1);
	return 0;
}

/* Whether a line from @file ("src/vmm/vcpu.c") passes @lg's module filter. */
static bool module_passes(struct logger *lg, const char *file)
{
	int slot = lg ? atomic_load(&lg->module_slot) : -1;
	const char *m;
	size_t n;

	if (slot < 0 || !lg->module[slot][0])
		return true;
	m = lg->module[slot];
	n = strlen(m);
	if (!strncmp(file, "src/", 4))
		file += 4;
	/* A whole name: "vmm" passes src/vmm/..., "vmm/vcpu" passes vcpu.c, not vcpu_x.c. */
	return !strncmp(file, m, n) && (file[n] == '/' || file[n] == '.' || !file[n]);
}

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
{
	struct logger *lg = current;
	enum log_level max = lg ? lg->level : LOG_INFO;
	char thread[16], stamp[32], small[LOG_LINE_SMALL], *buf = small;
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int head, msg, fd;
	size_t len;

	if (lvl == LOG_ERROR && capturing && !captured) {
		va_start(ap, fmt);
		vsnprintf(capture_buf, sizeof(capture_buf), fmt, ap);
		va_end(ap);
		captured = true;
	}
	if (lvl == LOG_OFF || lvl > max || !module_passes(lg, file))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm); /* Firecracker's LocalTime */
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	get_thread_name(thread, sizeof(thread));

	/* The head, then the message; a message too long for the stack buffer gets the heap. */
	head =
	    snprintf(small, sizeof(small), "%s.%09ld [%s:%s%s%s", stamp, ts.tv_nsec,
		     lg && lg->id[0] ? lg->id : "anonymous-instance", thread,
		     lg && lg->show_level ? ":" : "", lg && lg->show_level ? level_names[lvl] : "");
	if (lg && lg->show_origin && head > 0 && (size_t)head < sizeof(small))
		head += snprintf(small + head, sizeof(small) - (size_t)head, ":%s:%d", file, line);
	if (head < 0 || (size_t)head + 3 > sizeof(small))
		return;
	memcpy(small + head, "] ", 2);
	head += 2;
	va_start(ap, fmt);
	msg = vsnprintf(small + head, sizeof(small) - (size_t)head, fmt, ap);
	va_end(ap);
	if (msg < 0)
		return;
	len = (size_t)head + (size_t)msg;
	if (len + 1 >= sizeof(small)) {
		buf = malloc(len + 2);
		if (buf) {
			memcpy(buf, small, (size_t)head);
			va_start(ap, fmt);
			vsnprintf(buf + head, (size_t)msg + 1, fmt, ap);
			va_end(ap);
		} else {
			buf = small; /* out of memory: the line cut short */
			len = sizeof(small) - 2;
		}
	}
	buf[len++] = '\n';
	fd = lg ? atomic_load(&lg->fd) : 0;
	if (line_out_write(fd ? fd : STDERR_FILENO, fd && lg && atomic_load(&lg->fd_is_pipe), buf,
			   len) &&
	    lg)
		atomic_fetch_add(&lg->missed, 1);
	if (buf != small)
		free(buf);
}

/* --- the async-signal-safe line --- */

struct safe_line {
	char buf[512];
	size_t len;
};

static void safe_str(struct safe_line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = *s++;
}

/* @v in decimal, at least @width digits. */
static void safe_uint(struct safe_line *l, unsigned long long v, int width)
{
	char d[24];
	int n = 0;

	do {
		d[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v || n < width);
	while (n && l->len < sizeof(l->buf) - 1)
		l->buf[l->len++] = d[--n];
}

static void safe_int(struct safe_line *l, long long v)
{
	if (v < 0) {
		safe_str(l, "-");
		safe_uint(l, 0ULL - (unsigned long long)v, 1);
	} else {
		safe_uint(l, (unsigned long long)v, 1);
	}
}

/* The UTC date of @days since 1970-01-01 (Howard Hinnant's civil_from_days). */
static void civil_from_days(long long days, long long *y, unsigned int *m, unsigned int *d)
{
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned long long doe = (unsigned long long)(z - era * 146097);
	unsigned long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;

	*d = (unsigned int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (long long)yoe + era * 400 + (*m <= 2);
}

/* The line's head, "<time> [<id>:<thread>(:ERROR)] ", or false when errors are not logged. */
static bool safe_head(struct safe_line *l)
{
	struct logger *lg = current;
	struct timespec ts;
	long long y, secs;
	unsigned int mo, d;
	char comm[16] = "-";

	if (lg && (lg->level == LOG_OFF || lg->level < LOG_ERROR))
		return false;
	clock_gettime(CLOCK_REALTIME, &ts);
	secs = ts.tv_sec % 86400;
	civil_from_days(ts.tv_sec / 86400, &y, &mo, &d);
	safe_uint(l, (unsigned long long)y, 4);
	safe_str(l, "-");
	safe_uint(l, mo, 2);
	safe_str(l, "-");
	safe_uint(l, d, 2);
	safe_str(l, "T");
	safe_uint(l, (unsigned long long)(secs / 3600), 2);
	safe_str(l, ":");
	safe_uint(l, (unsigned long long)(secs / 60 % 60), 2);
	safe_str(l, ":");
	safe_uint(l, (unsigned long long)(secs % 60), 2);
	safe_str(l, ".");
	safe_uint(l, (unsigned long long)ts.tv_nsec, 9);
	safe_str(l, " [");
	safe_str(l, lg && lg->id[0] ? lg->id : "anonymous-instance");
	safe_str(l, ":");
	if (thread_name)
		safe_str(l, thread_name);
	else if (gettid() == getpid())
		safe_str(l, "main");
	else if (!prctl(PR_GET_NAME, comm, 0, 0, 0))
		safe_str(l, comm);
	if (lg && lg->show_level)
		safe_str(l, ":ERROR");
	safe_str(l, "] ");
	return true;
}

static void safe_write(struct safe_line *l)
{
	struct logger *lg = current;
	int fd;

	if (l->buf[l->len - 1] != '\n')
		l->buf[l->len++] = '\n';
	fd = lg ? atomic_load(&lg->fd) : 0;
	if (write(fd ? fd : STDERR_FILENO, l->buf, l->len) < 0 && lg)
		atomic_fetch_add(&lg->missed, 1);
}

void log_fatal_signal(int signo, int code)
{
	struct safe_line l = {.len = 0};

	if (!safe_head(&l))
		return;
	safe_str(&l, "Shutting down VM after intercepting signal ");
	safe_int(&l, signo);
	safe_str(&l, ", code ");
	safe_int(&l, code);
	safe_str(&l, ".\n");
	safe_write(&l);
}

void log_fatal_bad_syscall(long nr, const char *name)
{
	struct safe_line l = {.len = 0};

	if (!safe_head(&l))
		return;
	safe_str(&l, "Shutting down VM after intercepting a bad syscall: ");
	safe_str(&l, name ? name : "unknown");
	safe_str(&l, " (");
	safe_int(&l, nr);
	safe_str(&l, "), which this thread's seccomp filter does not allow.\n");
	safe_write(&l);
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
