// SPDX-License-Identifier: Apache-2.0
/*
 * density - many idle VMs at once: how long they take to start, what each costs.
 *
 *   density [-c COUNT] [-m READY] [-t SECONDS] [-s MS] [-x STATUS] [-2 PATH] -- VMM-COMMAND...
 *
 * Spawns COUNT copies of the command (default 100), each with its stdout on a pipe, and
 * waits until every one has printed READY (the idle payload's line) or ended. Then, after
 * -s MS (default 200) for things to settle, reads each VMM's /proc/PID/smaps_rollup (Rss,
 * Pss: the whole process, the guest's few touched pages included) and /proc/meminfo's
 * change since before the first spawn, divided by the VMs running: the host kernel's own
 * memory per VM (slab, page tables, kernel stacks, KVM's secondary page tables) and
 * MemAvailable's drop (everything, user memory included). Then SIGTERM to each; every one
 * must end with -x's status (-N: killed by signal N; default -15, ember's).
 *
 * Whatever stops a VM from starting (a spawn error, a VMM that ends before READY, the -t
 * time limit, default 120 s) is reported with the count reached, and exits 1: that is the
 * finding, not a crash. Progress goes to stderr every 10% of COUNT. The VMMs' stderr is
 * appended to -2's file (default /dev/null).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_VMS	  100000
#define LINE_BUF  256
#define NR_FIELDS 6

struct vmm {
	pid_t pid;
	int fd; /* stdout's read end; -1 once READY was seen or it ended */
	int ready;
	size_t len;
	char buf[LINE_BUF];
};

static const char *const fields[NR_FIELDS] = {
    "Slab:", "PageTables:", "SecPageTables:", "KernelStack:", "Percpu:", "MemAvailable:"};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static long number(const char *flag, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "density: -%s %s: expected a number from %ld to %ld\n", flag, s,
			min, max);
		exit(2);
	}
	return v;
}

/* /proc/meminfo's fields (KiB); -1 for a field this kernel lacks. */
static void meminfo(long *out)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];

	for (int i = 0; i < NR_FIELDS; i++)
		out[i] = -1;
	while (f && fgets(line, sizeof(line), f)) {
		for (int i = 0; i < NR_FIELDS; i++) {
			size_t n = strlen(fields[i]);

			if (!strncmp(line, fields[i], n))
				out[i] = strtol(line + n, NULL, 10);
		}
	}
	if (f)
		fclose(f);
}

/* Rss and Pss (KiB) of @pid from smaps_rollup; -1 if unreadable. */
static int rollup(pid_t pid, long *rss, long *pss)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "r");
	*rss = *pss = -1;
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "Rss:", 4))
			*rss = strtol(line + 4, NULL, 10);
		else if (!strncmp(line, "Pss:", 4))
			*pss = strtol(line + 4, NULL, 10);
	}
	if (f)
		fclose(f);
	return *rss < 0 || *pss < 0 ? -1 : 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static void print_stat(const char *name, long *v, int n)
{
	if (n <= 0)
		return;
	qsort(v, (size_t)n, sizeof(*v), cmp_long);
	printf("%-26s %12ld %12ld %12ld\n", name, v[0], v[n / 2], v[n - 1]);
}

/* Reads what @m wrote; marks it ready on @ready, or gone on EOF. */
static void drain(struct vmm *m, const char *ready)
{
	for (;;) {
		ssize_t n = read(m->fd, m->buf + m->len, sizeof(m->buf) - 1 - m->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return; /* EAGAIN: more later */
		if (n == 0) {
			close(m->fd);
			m->fd = -1;
			return;
		}
		m->len += (size_t)n;
		m->buf[m->len] = '\0';
		if (strstr(m->buf, ready)) {
			m->ready = 1;
			return; /* the pipe stays open: the VMM may write more */
		}
		if (m->len > sizeof(m->buf) / 2) { /* keep the tail: READY may straddle */
			memmove(m->buf, m->buf + m->len - 32, 32);
			m->len = 32;
		}
	}
}

int main(int argc, char **argv)
{
	int count = 100, timeout_s = 120, settle_ms = 200, expect = -SIGTERM, opt;
	const char *ready = "READY", *err_path = "/dev/null";

	while ((opt = getopt(argc, argv, "+c:m:t:s:x:2:")) != -1) {
		if (opt == 'c')
			count = (int)number("c", optarg, 1, MAX_VMS);
		else if (opt == 'm')
			ready = optarg;
		else if (opt == 't')
			timeout_s = (int)number("t", optarg, 1, 3600);
		else if (opt == 's')
			settle_ms = (int)number("s", optarg, 0, 60000);
		else if (opt == 'x')
			expect = (int)number("x", optarg, -64, 255);
		else if (opt == '2')
			err_path = optarg;
		else
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: density [-c COUNT] [-m READY] [-t SECONDS] [-s MS] [-x "
				"STATUS] [-2 PATH] -- VMM-COMMAND [ARG...]\n");
		return 2;
	}
	char **cmd = argv + optind;
	struct rlimit rl;

	/* One pipe per VM here: the soft fd limit (often 1024) is the first wall. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct vmm *vms = calloc((size_t)count, sizeof(*vms));
	struct pollfd *pfd = calloc((size_t)count, sizeof(*pfd));
	int *slot = calloc((size_t)count, sizeof(*slot));
	long before[NR_FIELDS], after[NR_FIELDS];
	int started = 0, nready = 0, ended = 0, failed = 0, step = count / 10 ? count / 10 : 1;
	const char *why = NULL;
	char why_buf[256];

	if (!vms || !pfd || !slot)
		return 1;
	meminfo(before);
	double t0 = now_ms(), t_ready = 0;

	for (int i = 0; i < count; i++) {
		posix_spawn_file_actions_t fa;
		int p[2], err;

		if (pipe2(p, O_CLOEXEC)) {
			snprintf(why_buf, sizeof(why_buf), "pipe after %d VMMs: %s", i,
				 strerror(errno));
			why = why_buf;
			break;
		}
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
		posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_APPEND,
						 0644);
		err = posix_spawn(&vms[i].pid, cmd[0], &fa, NULL, cmd, environ);
		posix_spawn_file_actions_destroy(&fa);
		close(p[1]);
		if (err) {
			close(p[0]);
			snprintf(why_buf, sizeof(why_buf), "spawn after %d VMMs: %s", i,
				 strerror(err));
			why = why_buf;
			break;
		}
		vms[i].fd = p[0];
		started++;
		if (started % step == 0)
			fprintf(stderr, "density: %d/%d spawned, %.0f ms\n", started, count,
				now_ms() - t0);
	}
	/* Every VMM started: wait for each one's READY (or its end). */
	for (;;) {
		int n = 0;

		for (int i = 0; i < started; i++) {
			if (vms[i].fd >= 0 && !vms[i].ready) {
				pfd[n] = (struct pollfd){.fd = vms[i].fd, .events = POLLIN};
				slot[n++] = i;
			}
		}
		if (!n)
			break;
		if (now_ms() - t0 > timeout_s * 1e3) {
			snprintf(why_buf, sizeof(why_buf), "%d VMMs not READY after %d s", n,
				 timeout_s);
			why = why_buf;
			break;
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			struct vmm *m = &vms[slot[k]];

			if (!pfd[k].revents)
				continue;
			drain(m, ready);
			if (m->ready && ++nready % step == 0)
				fprintf(stderr, "density: %d/%d READY, %.0f ms\n", nready, count,
					now_ms() - t0);
			else if (!m->ready && m->fd < 0)
				ended++;
		}
	}
	t_ready = now_ms() - t0;
	if (ended && !why) {
		snprintf(why_buf, sizeof(why_buf), "%d VMMs ended before %s (their stderr: %s)",
			 ended, ready, err_path);
		why = why_buf;
	}
	usleep((useconds_t)settle_ms * 1000);
	meminfo(after);

	long *rss = calloc((size_t)started + 1, sizeof(long)),
	     *pss = calloc((size_t)started + 1, sizeof(long));
	int nmem = 0;

	for (int i = 0; rss && pss && i < started; i++) {
		if (vms[i].ready && !rollup(vms[i].pid, &rss[nmem], &pss[nmem]))
			nmem++;
	}
	for (int i = 0; i < started; i++)
		kill(vms[i].pid, SIGTERM);
	for (int i = 0; i < started; i++) {
		int status;

		if (waitpid(vms[i].pid, &status, 0) < 0)
			continue;
		if (expect >= 0 ? !(WIFEXITED(status) && WEXITSTATUS(status) == expect)
				: !(WIFSIGNALED(status) && WTERMSIG(status) == -expect))
			failed++;
		if (vms[i].fd >= 0)
			close(vms[i].fd);
	}

	printf("# %s: %d VMMs asked, %d started, %d READY; memory at READY + %d ms\n", cmd[0],
	       count, started, nready, settle_ms);
	printf("# metric                        min       median          max\n");
	printf("%-26s %12d %12d %12d\n", "ready-count", nready, nready, nready);
	printf("%-26s %12.0f %12.0f %12.0f\n", "all-ready-ms", t_ready, t_ready, t_ready);
	print_stat("pss-kib", pss, nmem);
	print_stat("rss-kib", rss, nmem);
	for (int i = 0; i < NR_FIELDS && nready; i++) {
		char name[64];
		long d;

		if (before[i] < 0 || after[i] < 0)
			continue;
		/* MemAvailable falls as memory is used: its drop is the cost. */
		d = i == NR_FIELDS - 1 ? before[i] - after[i] : after[i] - before[i];
		snprintf(name, sizeof(name), "host-%.*s-kib-per-vm", (int)strlen(fields[i]) - 1,
			 fields[i]);
		printf("%-26s %12.1f %12.1f %12.1f\n", name, (double)d / nready, (double)d / nready,
		       (double)d / nready);
	}
	if (failed)
		fprintf(stderr, "density: %d VMMs did not end as expected after SIGTERM\n", failed);
	if (why)
		fprintf(stderr, "density: stopped: %s\n", why);
	free(rss);
	free(pss);
	return why || failed ? 1 : 0;
}
