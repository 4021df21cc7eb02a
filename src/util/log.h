/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: leveled, printf-checked, Firecracker's line shape
 * ("<time> [<id>:<thread>:<level>] message"). The logger is a value owned by
 * the caller (struct vm owns one); the only process-wide thing is a pointer to
 * the logger the current process writes to, set once at start-up.
 */
#ifndef EMBER_UTIL_LOG_H
#define EMBER_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

enum log_level {
	LOG_OFF = 0,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE,
};

struct logger {
	FILE *out; /* stderr unless --log-path */
	enum log_level level;
	bool show_level;
	bool show_origin;
	char id[64]; /* instance id (--id) */
};

/* Parses "Error", "warning", "INFO", ... (case-insensitive). -EINVAL if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/* Installs @lg as the process's logger; NULL restores the default (stderr, Info). */
void log_set(struct logger *lg);
struct logger *log_get(void);

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Error capture, per thread: between log_capture_start() and log_capture_end()
 * the first Error-level message the calling thread logs is kept (even when the
 * logger's level hides it), so a caller can hand it on, e.g. as an API fault
 * message. log_capture_end() returns it, or "" if nothing failed.
 */
void log_capture_start(void);
const char *log_capture_end(void);

#define log_error(...) log_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
