// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "util/line_out.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char out_buf[65536];

/* A logger writing to a memory file; captured() reads what it wrote. */
static struct logger *capture(void)
{
	static struct logger lg;
	int fd = memfd_create("ember-log", MFD_CLOEXEC);

	CHECK(fd >= 3);
	lg = (struct logger){.fd = fd, .level = LOG_INFO};
	log_set(&lg);
	return &lg;
}

static const char *captured(struct logger *lg)
{
	ssize_t n = pread(lg->fd, out_buf, sizeof(out_buf) - 1, 0);

	out_buf[n > 0 ? n : 0] = '\0';
	return out_buf;
}

static void release(struct logger *lg)
{
	log_set(NULL);
	close(lg->fd);
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static bool matches(const char *s, const char *re)
{
	regex_t r;
	bool ok;

	if (regcomp(&r, re, REG_EXTENDED | REG_NEWLINE | REG_NOSUB))
		return false;
	ok = !regexec(&r, s, 0, NULL, 0);
	regfree(&r);
	return ok;
}

static void spam(int n)
{
	for (int i = 0; i < n; i++)
		log_warn_rl("guest wrote register %d", i);
}

TEST(burst_then_suppressed_then_reported)
{
	struct logger *lg = capture();
	struct log_ratelimit rl = {0};
	unsigned int sup;

	spam(25); /* one call site: LOG_RL_BURST lines get through */
	CHECK_EQ(count_lines(captured(lg)), LOG_RL_BURST);
	CHECK_CONTAINS(out_buf, "guest wrote register 9");
	CHECK(!strstr(out_buf, "guest wrote register 10"));

	/* The limiter itself: a window's overflow is reported when the next one opens. */
	for (int i = 0; i < LOG_RL_BURST; i++)
		CHECK(log_ratelimit_pass(&rl, &sup));
	CHECK(!log_ratelimit_pass(&rl, &sup));
	CHECK(!log_ratelimit_pass(&rl, &sup));
	atomic_store(&rl.window_start_ms, atomic_load(&rl.window_start_ms) - LOG_RL_WINDOW_MS);
	CHECK(log_ratelimit_pass(&rl, &sup));
	CHECK_EQ(sup, 2);
	release(lg);
}

static void *named_thread(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "fc_vcpu 3");
	log_warn("from a vCPU");
	return NULL;
}

/* Firecracker's line: [id:thread(:LEVEL)(:file:line)] message, with its thread names. */
TEST(firecracker_line_format)
{
	struct logger *lg = capture();
	const char *prev;
	pthread_t t;

	log_info("plain");
	snprintf(lg->id, sizeof(lg->id), "vm-1");
	lg->show_level = true;
	log_error("with the level");
	lg->show_origin = true;
	log_warn("with the origin");
	lg->show_level = lg->show_origin = false;
	prev = log_set_thread_name("fc_api");
	log_info("as the API server");
	CHECK(log_set_thread_name(prev) != NULL);
	CHECK_EQ(pthread_create(&t, NULL, named_thread, NULL), 0);
	pthread_join(t, NULL);
	lg->level = LOG_WARN;
	log_info("hidden");
	captured(lg);
	if (!matches(out_buf, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{9} "
			      "\\[anonymous-instance:main\\] plain$") ||
	    !matches(out_buf, " \\[vm-1:main:ERROR\\] with the level$") ||
	    !matches(out_buf,
		     " \\[vm-1:main:WARN:tests/unit/test_log\\.c:[0-9]+\\] with the origin$") ||
	    !matches(out_buf, " \\[vm-1:fc_api\\] as the API server$") ||
	    !matches(out_buf, " \\[vm-1:fc_vcpu 3\\] from a vCPU$") || strstr(out_buf, "hidden"))
		FAIL_AT("got:\n%s", out_buf);
	CHECK_EQ(count_lines(out_buf), 5);
	release(lg);
}

/* A message longer than the stack buffer goes out whole, as one line. */
TEST(long_line_whole)
{
	struct logger *lg = capture();
	static char big[6000];

	memset(big, 'x', sizeof(big) - 1);
	log_info("%s", big);
	CHECK_EQ(count_lines(captured(lg)), 1);
	CHECK_CONTAINS(out_buf, big);
	release(lg);
}

/*
 * A FIFO nobody reads: it opens (read-write, non-blocking), lines go in until
 * it is full, then whole lines are dropped and counted; a reader that comes
 * later reads whole lines only.
 */
TEST(fifo_without_reader)
{
	static struct logger lg;
	char path[64], *buf;
	bool pipe;
	int fd, rd;
	ssize_t n;

	snprintf(path, sizeof(path), "/tmp/ember-log-fifo.%d", (int)getpid());
	unlink(path);
	CHECK_EQ(mkfifo(path, 0600), 0);
	CHECK_EQ(line_out_open(path, &fd, &pipe), 0);
	CHECK(pipe && fd >= 3);
	lg = (struct logger){.fd = fd, .fd_is_pipe = true, .level = LOG_INFO};
	log_set(&lg);
	for (int i = 0; i < 3000; i++)
		log_info("line %04d of a log nobody reads yet, long enough to fill the pipe", i);
	CHECK(atomic_load(&lg.missed) > 0);
	/* A write larger than PIPE_BUF is dropped whole too, not cut. */
	buf = calloc(1, 2 * PIPE_BUF);
	CHECK(buf);
	memset(buf, 'y', 2 * PIPE_BUF - 1);
	buf[2 * PIPE_BUF - 1] = '\n';
	CHECK_EQ(line_out_write(fd, true, buf, 2 * PIPE_BUF), -EAGAIN);
	log_set(NULL);
	/* The reader: everything in the pipe is whole lines, the first ones first. */
	rd = open(path, O_RDONLY | O_NONBLOCK);
	CHECK(rd >= 0);
	n = read(rd, out_buf, sizeof(out_buf) - 1);
	CHECK(n > 0 && out_buf[n - 1] == '\n');
	out_buf[n] = '\0';
	CHECK_CONTAINS(out_buf, "] line 0000 of a log");
	CHECK(!strstr(out_buf, "yyyy"));
	/* With room again, a long write goes out whole. */
	while (read(rd, out_buf, sizeof(out_buf)) > 0)
		;
	CHECK_EQ(line_out_write(fd, true, buf, 2 * PIPE_BUF), 0);
	CHECK_EQ(read(rd, out_buf, sizeof(out_buf)), 2 * PIPE_BUF);
	free(buf);
	close(rd);
	close(fd);
	unlink(path);
}

TEST_MAIN(TEST_ENTRY(burst_then_suppressed_then_reported), TEST_ENTRY(firecracker_line_format),
	  TEST_ENTRY(long_line_whole), TEST_ENTRY(fifo_without_reader))
