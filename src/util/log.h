/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging: leveled, printf-checked, in Firecracker's line format, which its
 * clients read:
 *   2024-05-01T12:00:00.123456789 [anonymous-instance:main:INFO:src/main.c:42] message
 * the local time, the instance id (--id), the thread (main, fc_api, fc_vcpu N),
 * the level in capitals if show_level, the origin if show_log_origin. Each
 * line goes out with one write, whole or not at all (util/line_out.h: the log
 * may be a FIFO nobody reads yet). The logger is a value owned by the caller
 * (main owns one); the only process-wide thing is a pointer to the logger the
 * current process writes to, set once at start-up.
 */
#ifndef EMBER_UTIL_LOG_H
#define EMBER_UTIL_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
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

#define LOG_MODULE_MAX 64

struct logger {
	/* Where lines go: a descriptor from line_out_open() (>= 3); 0: stderr. */
	_Atomic int fd;
	_Atomic bool fd_is_pipe;
	enum log_level level;
	bool show_level;
	bool show_origin;
	char id[64]; /* instance id (--id) */
	/*
	 * The module filter (PUT /logger's "module"), as a path under src/:
	 * "vmm/vcpu". Set by log_set_module(), which fills the slot not in use
	 * and then publishes it, so threads logging meanwhile read a whole one.
	 */
	char module[2][LOG_MODULE_MAX];
	_Atomic int module_slot; /* -1 (or 0 when zeroed, with module[0] ""): every line */
	_Atomic unsigned long long missed; /* lines dropped: a full FIFO, a failed write */
};

/* Parses "Error", "warning", "INFO", ... (case-insensitive). -EINVAL if unknown. */
int log_level_parse(const char *name, enum log_level *out);

/*
 * A module filter: only lines logged from files under src/@module go out.
 * Names are separated by "::" (Firecracker's Rust paths) or "/", e.g. "vmm",
 * "vmm::vcpu", "devices/virtio"; Firecracker's "api_server" means "api".
 * "" logs every module again. 0, or -EINVAL for a malformed path.
 */
int log_module_check(const char *module);
int log_set_module(struct logger *lg, const char *module);

/* Installs @lg as the process's logger; NULL restores the default (stderr, Info). */
void log_set(struct logger *lg);
struct logger *log_get(void);

void log_write(enum log_level lvl, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Firecracker's line when it ends on a signal it catches, at Error level:
 * "Shutting down VM after intercepting signal N, code C." Async-signal-safe,
 * for a fault handler: no lock, no allocation, no stdio; the time is UTC
 * (localtime_r is not safe there, and Firecracker does the same).
 */
void log_fatal_signal(int signo, int code);

/*
 * The same for a syscall a seccomp filter trapped (SIGSYS): "Shutting down VM
 * after intercepting a bad syscall: NAME (NR), ..." from the thread that made
 * it, named in the line's head. @name NULL: "unknown".
 */
void log_fatal_bad_syscall(long nr, const char *name);

/*
 * The name the calling thread's lines carry instead of its own (NULL: its
 * own; the process's first thread is "main"). Returns the previous one. The
 * API server, which runs on the main thread, logs as Firecracker's API
 * thread does: "fc_api".
 */
const char *log_set_thread_name(const char *name);

/*
 * Error capture, per thread: between log_capture_start() and log_capture_end()
 * the first Error-level message the calling thread logs is kept (even when the
 * logger's level hides it), so a caller can hand it on, e.g. as an API fault
 * message. log_capture_end() returns it, or "" if nothing failed.
 */
void log_capture_start(void);
const char *log_capture_end(void);

/*
 * Rate limiting for lines a guest can trigger at will (a register write, a bad
 * descriptor): at most LOG_RL_BURST lines per LOG_RL_WINDOW_MS per call site;
 * the next line that gets through says how many were suppressed. The state is
 * per call site (a function-local static, as the kernel's printk_ratelimited):
 * logging infrastructure, not VM state.
 */
#define LOG_RL_BURST	 10
#define LOG_RL_WINDOW_MS 5000
struct log_ratelimit {
	_Atomic unsigned long long window_start_ms;
	_Atomic unsigned int printed;
	_Atomic unsigned int suppressed;
};
/* Whether this line may go out; *suppressed gets the count to report with it. */
bool log_ratelimit_pass(struct log_ratelimit *rl, unsigned int *suppressed);

#define log_ratelimited(lvl, fmt, ...)                                                  \
	do {                                                                            \
		static struct log_ratelimit rl_;                                        \
		unsigned int sup_;                                                      \
		if (log_ratelimit_pass(&rl_, &sup_)) {                                  \
			if (sup_)                                                       \
				log_write(lvl, __FILE__, __LINE__,                      \
					  "(%u similar lines suppressed) " fmt, sup_,   \
					  ##__VA_ARGS__);                               \
			else                                                            \
				log_write(lvl, __FILE__, __LINE__, fmt, ##__VA_ARGS__); \
		}                                                                       \
	} while (0)
#define log_warn_rl(...) log_ratelimited(LOG_WARN, __VA_ARGS__)

#define log_error(...) log_write(LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define log_info(...)  log_write(LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define log_debug(...) log_write(LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

#endif
