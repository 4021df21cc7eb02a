// SPDX-License-Identifier: Apache-2.0
/*
 * firstbyte - ember's benchmark driver: time a VMM to its guest's first UART byte, and
 * measure its resident memory overhead while the guest idles.
 *
 *   firstbyte [options] -- VMM-COMMAND [ARG...]
 *
 * Startup mode (default): for each run, take CLOCK_MONOTONIC, spawn the command with its
 * stdout on a pipe (stdin and stderr on /dev/null), note when the first byte comes out of
 * the pipe, drain it to EOF, reap the child (its exit status must be the -x one) and note
 * the total wall time and the child's CPU time. With -e STRING, every run's output must
 * contain STRING (a payload that says what it did, not only that it ended). With -p CMD,
 * CMD runs (sh -c, untimed) before every run: e.g. removing what the jailer left in a jail.
 *
 * Memory mode (-m STRING): for each run, spawn the command, wait until STRING appears on
 * its stdout (the guest then idles for good), let it settle, read /proc/PID/smaps_rollup
 * and /proc/PID/smaps, then SIGTERM it and reap it. Guest-touched memory is the Rss of the
 * anonymous mapping whose size is the guest RAM size (-r MiB); the overhead is the total
 * Rss minus that.
 *
 * Output: one line per metric, "name min median max", after a '#' comment line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS	10000
#define RUN_TIMEOUT_MS	20000 /* a run (or the wait for the ready string) */
#define EXIT_TIMEOUT_MS 5000  /* from SIGTERM to EOF + exit, memory mode */
#define READY_BUF	8192
#define OUTPUT_BUF	65536 /* -e: the output searched (its first bytes) */
#define MAX_BREAKDOWN	64
#define MAX_MAPPINGS	4096

struct opts {
	int runs;
	int warmup;
	int expect_status;
	const char *label;
	const char *ready;     /* memory mode when set */
	const char *expect;    /* startup mode: every run's output must contain it */
	unsigned long ram_mib; /* memory mode: guest RAM size */
	int settle_ms;
	int breakdown; /* memory mode: top N mappings of the last run */
	const char *stderr_path;
	const char *prepare; /* -p: a shell command before each run, untimed */
	const char *raw;     /* -o: each kept startup run's figures appended here */
	char **argv;
};

/* One metric's samples. */
struct series {
	const char *name;
	double v[MAX_RUNS];
	int n;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void add(struct series *s, double v)
{
	if (s->n < MAX_RUNS)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_series(struct series *s)
{
	double med;

	if (!s->n)
		return;
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_double);
	med = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
	printf("%-20s %12.2f %12.2f %12.2f\n", s->name, s->v[0], med, s->v[s->n - 1]);
}

static void describe_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else
		snprintf(buf, len, "wait status 0x%x", status);
}

/* Spawns o->argv with stdout on a pipe; returns the pid, *out_fd is the read end. */
static pid_t spawn(const struct opts *o, int *out_fd)
{
	posix_spawn_file_actions_t fa;
	int p[2], err;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "firstbyte: pipe: %s\n", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, o->stderr_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err = posix_spawnp(&pid, o->argv[0], &fa, NULL, o->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (err) {
		fprintf(stderr, "firstbyte: cannot run %s: %s\n", o->argv[0], strerror(err));
		close(p[0]);
		return -1;
	}
	*out_fd = p[0];
	return pid;
}

/*
 * Waits until fd is readable or deadline (ms, CLOCK_MONOTONIC) passes.
 * Returns 1 when readable (or hung up), 0 on timeout, -1 on error.
 */
static int wait_readable(int fd, double deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		double left = deadline - now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&pfd, 1, (int)left + 1);
		if (r > 0)
			return 1;
		if (r == 0)
			continue; /* re-check the deadline */
		if (errno != EINTR) {
			fprintf(stderr, "firstbyte: poll: %s\n", strerror(errno));
			return -1;
		}
	}
}

/* Kills and reaps a child that has gone wrong. */
static void abandon(pid_t pid, int fd)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (fd >= 0)
		close(fd);
}

/* Reads fd to EOF before deadline. Returns 0, or -1 on timeout or error. */
static int drain(int fd, double deadline)
{
	char buf[4096];

	for (;;) {
		ssize_t n;
		int r = wait_readable(fd, deadline);

		if (r <= 0)
			return -1;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

static int check_status(const struct opts *o, const char *run, int status)
{
	char what[96];

	if (o->expect_status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == o->expect_status)
		return 0;
	if (o->expect_status < 0 && WIFSIGNALED(status) && WTERMSIG(status) == -o->expect_status)
		return 0;
	describe_status(status, what, sizeof(what));
	if (o->expect_status < 0)
		fprintf(
		    stderr,
		    "firstbyte: error: %s %s: the VMM ended (%s); expected killed by signal %d\n",
		    o->label, run, what, -o->expect_status);
	else
		fprintf(stderr,
			"firstbyte: error: %s %s: the VMM ended (%s); expected exit status %d\n",
			o->label, run, what, o->expect_status);
	return -1;
}

static double cpu_ms(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec * 1e3 + (double)ru->ru_utime.tv_usec / 1e3 +
	       (double)ru->ru_stime.tv_sec * 1e3 + (double)ru->ru_stime.tv_usec / 1e3;
}

/* --- startup mode --- */

struct startup_stats {
	struct series first, total, cpu, maxrss;
};

/* -e: @out (@len bytes of the run's output) contains o->expect, or says what it has instead. */
static int check_output(const struct opts *o, const char *run, const char *out, size_t len)
{
	size_t from = len > 300 ? len - 300 : 0;

	if (!o->expect || memmem(out, len, o->expect, strlen(o->expect)))
		return 0;
	fprintf(stderr, "firstbyte: error: %s %s: the output lacks \"%s\"; it ends:\n%.*s\n",
		o->label, run, o->expect, (int)(len - from), out + from);
	return -1;
}

static int startup_run(const struct opts *o, const char *run, struct startup_stats *st, bool keep)
{
	static char out[OUTPUT_BUF];
	double t0, t_first = -1, t_end;
	size_t out_len = 0;
	struct rusage ru;
	char buf[4096];
	int fd, status;
	pid_t pid;

	t0 = now_ms();
	pid = spawn(o, &fd);
	if (pid < 0)
		return -1;
	for (;;) {
		ssize_t n;
		int r = wait_readable(fd, t0 + RUN_TIMEOUT_MS);

		if (r <= 0) {
			fprintf(stderr, "firstbyte: error: %s %s: %s\n", o->label, run,
				r ? "reading the VMM's output failed"
				  : "no exit within the time limit");
			abandon(pid, fd);
			return -1;
		}
		n = read(fd, buf, sizeof(buf));
		if (n > 0 && t_first < 0)
			t_first = now_ms();
		if (n > 0 && out_len < sizeof(out)) {
			size_t k =
			    (size_t)n < sizeof(out) - out_len ? (size_t)n : sizeof(out) - out_len;

			memcpy(out + out_len, buf, k);
			out_len += k;
		}
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, "firstbyte: read: %s\n", strerror(errno));
			abandon(pid, fd);
			return -1;
		}
	}
	close(fd);
	if (wait4(pid, &status, 0, &ru) < 0) {
		fprintf(stderr, "firstbyte: wait4: %s\n", strerror(errno));
		return -1;
	}
	t_end = now_ms();
	if (check_status(o, run, status))
		return -1;
	if (t_first < 0) {
		fprintf(stderr, "firstbyte: error: %s %s: the guest printed nothing\n", o->label,
			run);
		return -1;
	}
	if (check_output(o, run, out, out_len))
		return -1;
	if (keep && o->raw) {
		FILE *f = fopen(o->raw, "a");

		if (!f ||
		    fprintf(f, "%.3f %.3f %.3f %ld\n", t_first - t0, t_end - t0, cpu_ms(&ru),
			    ru.ru_maxrss) < 0 ||
		    fclose(f)) {
			fprintf(stderr, "firstbyte: -o %s: cannot append: %s\n", o->raw,
				strerror(errno));
			return -1;
		}
	}
	if (keep) {
		add(&st->first, t_first - t0);
		add(&st->total, t_end - t0);
		add(&st->cpu, cpu_ms(&ru));
		add(&st->maxrss, (double)ru.ru_maxrss); /* KiB: the whole process's peak */
	}
	return 0;
}

/* --- memory mode --- */

struct mapping {
	char desc[160]; /* perms and path */
	unsigned long size_kb, rss_kb, pss_kb, anon_kb;
	bool anon_unnamed;
};

struct smaps {
	struct mapping *m;
	int n;
};

/* "Key:   123 kB" -> 123 when line starts with key. */
static bool field(const char *line, const char *key, unsigned long *out)
{
	size_t k = strlen(key);

	if (strncmp(line, key, k) || line[k] != ':')
		return false;
	*out = strtoul(line + k + 1, NULL, 10);
	return true;
}

static bool is_header(const char *line)
{
	const char *p = line;

	while ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))
		p++;
	return p != line && *p == '-';
}

static int read_smaps(pid_t pid, struct smaps *sm)
{
	char path[64], *line = NULL;
	struct mapping *cur = NULL;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "firstbyte: %s: %s\n", path, strerror(errno));
		return -1;
	}
	sm->n = 0;
	while (getline(&line, &cap, f) > 0) {
		unsigned long v;

		if (is_header(line)) {
			char perms[8] = "", name[PATH_MAX] = "";
			unsigned long inode = 0;

			if (sm->n == MAX_MAPPINGS) {
				cur = NULL;
				continue;
			}
			cur = &sm->m[sm->n++];
			memset(cur, 0, sizeof(*cur));
			/* start-end perms offset dev inode [name] */
			if (sscanf(line, "%*s %7s %*s %*s %lu %4095[^\n]", perms, &inode, name) < 2)
				continue;
			cur->anon_unnamed = inode == 0 && name[0] == '\0';
			snprintf(cur->desc, sizeof(cur->desc), "%.7s %.150s", perms,
				 name[0] ? name : "[anon]");
			continue;
		}
		if (!cur)
			continue;
		if (field(line, "Size", &v))
			cur->size_kb = v;
		else if (field(line, "Rss", &v))
			cur->rss_kb = v;
		else if (field(line, "Pss", &v))
			cur->pss_kb = v;
		else if (field(line, "Anonymous", &v))
			cur->anon_kb = v;
	}
	free(line);
	fclose(f);
	return 0;
}

struct rollup {
	unsigned long rss_kb, pss_kb, anon_kb;
};

static int read_rollup(pid_t pid, struct rollup *r)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int got = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "firstbyte: %s: %s\n", path, strerror(errno));
		return -1;
	}
	memset(r, 0, sizeof(*r));
	while (getline(&line, &cap, f) > 0) {
		if (field(line, "Rss", &r->rss_kb) || field(line, "Pss", &r->pss_kb) ||
		    field(line, "Anonymous", &r->anon_kb))
			got++;
	}
	free(line);
	fclose(f);
	if (got < 3) {
		fprintf(stderr, "firstbyte: %s: no Rss/Pss/Anonymous lines\n", path);
		return -1;
	}
	return 0;
}

static int cmp_rss_desc(const void *a, const void *b)
{
	const struct mapping *x = a, *y = b;

	return x->rss_kb < y->rss_kb ? 1 : x->rss_kb > y->rss_kb ? -1 : 0;
}

struct mem_stats {
	struct series first, guest, over, over_anon, over_file, over_pss;
};

static int mem_sample(const struct opts *o, const char *run, pid_t pid, struct mem_stats *st,
		      bool keep, bool last)
{
	const unsigned long ram_kb = o->ram_mib * 1024;
	const struct mapping *guest = NULL;
	struct smaps sm = {0};
	struct rollup r;
	int matches = 0;

	sm.m = calloc(MAX_MAPPINGS, sizeof(*sm.m));
	if (!sm.m || read_rollup(pid, &r) || read_smaps(pid, &sm)) {
		free(sm.m);
		return -1;
	}
	for (int i = 0; i < sm.n; i++) {
		if (sm.m[i].anon_unnamed && sm.m[i].size_kb == ram_kb) {
			matches++;
			if (!guest || sm.m[i].rss_kb > guest->rss_kb)
				guest = &sm.m[i];
		}
	}
	if (!guest) {
		fprintf(stderr,
			"firstbyte: error: %s %s: no anonymous mapping of %lu KiB (the guest "
			"RAM) in /proc/%d/smaps\n",
			o->label, run, ram_kb, (int)pid);
		free(sm.m);
		return -1;
	}
	if (matches > 1 && last)
		fprintf(stderr,
			"firstbyte: warning: %s: %d anonymous mappings of %lu KiB; took the most "
			"resident one as the guest RAM\n",
			o->label, matches, ram_kb);
	if (keep) {
		double over = (double)r.rss_kb - (double)guest->rss_kb;
		double anon = (double)r.anon_kb - (double)guest->anon_kb;

		add(&st->guest, (double)guest->rss_kb);
		add(&st->over, over);
		add(&st->over_anon, anon);
		add(&st->over_file, over - anon);
		add(&st->over_pss, (double)r.pss_kb - (double)guest->pss_kb);
	}
	if (last && o->breakdown > 0) {
		int shown = 0;

		printf("# %s: where the resident memory is (last run; KiB; the guest RAM mapping "
		       "excluded)\n",
		       o->label);
		printf("#   %8s %8s %10s  %s\n", "Rss", "Pss", "Size", "mapping");
		qsort(sm.m, (size_t)sm.n, sizeof(sm.m[0]), cmp_rss_desc);
		for (int i = 0; i < sm.n && shown < o->breakdown; i++) {
			if (sm.m[i].anon_unnamed && sm.m[i].size_kb == ram_kb)
				continue;
			if (!sm.m[i].rss_kb)
				break;
			printf("#   %8lu %8lu %10lu  %s\n", sm.m[i].rss_kb, sm.m[i].pss_kb,
			       sm.m[i].size_kb, sm.m[i].desc);
			shown++;
		}
	}
	free(sm.m);
	return 0;
}

static int memory_run(const struct opts *o, const char *run, struct mem_stats *st, bool keep,
		      bool last)
{
	char buf[READY_BUF];
	size_t have = 0;
	double t0, t_first = -1;
	int fd, status;
	pid_t pid;

	t0 = now_ms();
	pid = spawn(o, &fd);
	if (pid < 0)
		return -1;
	for (;;) {
		ssize_t n;
		int r = wait_readable(fd, t0 + RUN_TIMEOUT_MS);

		if (r <= 0) {
			fprintf(stderr, "firstbyte: error: %s %s: %s\n", o->label, run,
				r ? "reading the VMM's output failed"
				  : "the guest did not print the ready string in time");
			abandon(pid, fd);
			return -1;
		}
		if (have == sizeof(buf) - 1) { /* keep the tail: the string may straddle */
			memmove(buf, buf + have / 2, have - have / 2);
			have -= have / 2;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n == 0) {
			close(fd);
			waitpid(pid, &status, 0);
			describe_status(status, buf, sizeof(buf));
			fprintf(stderr,
				"firstbyte: error: %s %s: the VMM ended (%s) before the guest "
				"printed \"%s\"\n",
				o->label, run, buf, o->ready);
			return -1;
		}
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "firstbyte: read: %s\n", strerror(errno));
			abandon(pid, fd);
			return -1;
		}
		if (t_first < 0)
			t_first = now_ms();
		have += (size_t)n;
		buf[have] = '\0';
		if (strstr(buf, o->ready))
			break;
	}
	if (o->settle_ms > 0) {
		struct timespec ts = {o->settle_ms / 1000, (long)(o->settle_ms % 1000) * 1000000L};

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	if (mem_sample(o, run, pid, st, keep, last)) {
		abandon(pid, fd);
		return -1;
	}
	kill(pid, SIGTERM);
	if (drain(fd, now_ms() + EXIT_TIMEOUT_MS)) {
		fprintf(stderr, "firstbyte: error: %s %s: the VMM did not exit on SIGTERM\n",
			o->label, run);
		abandon(pid, fd);
		return -1;
	}
	close(fd);
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "firstbyte: waitpid: %s\n", strerror(errno));
		return -1;
	}
	if (check_status(o, run, status))
		return -1;
	if (keep)
		add(&st->first, t_first - t0);
	return 0;
}

/* --- command line --- */

static void usage(FILE *out)
{
	fputs("usage: firstbyte [options] -- VMM-COMMAND [ARG...]\n"
	      "  -n RUNS      measured runs (default 20)\n"
	      "  -w RUNS      warm-up runs, not counted (default 1)\n"
	      "  -x STATUS    the exit status every run must end with (default 0); -N: killed\n"
	      "               by signal N (ember on SIGTERM, as Firecracker)\n"
	      "  -l LABEL     name for messages (default: the command)\n"
	      "  -e STRING    every run's output must contain STRING (startup mode)\n"
	      "  -m STRING    memory mode: measure once STRING appears on the output, then\n"
	      "               SIGTERM the VMM\n"
	      "  -r MIB       memory mode: guest RAM size, to find its mapping (default 128)\n"
	      "  -s MS        memory mode: settle time after STRING (default 20)\n"
	      "  -b N         memory mode: print the last run's N largest mappings\n"
	      "  -2 PATH      the VMM's stderr (default /dev/null)\n"
	      "  -p CMD       run CMD (sh -c) before each run, untimed; it must exit 0\n"
	      "  -o PATH      startup mode: append each run's \"first-byte total cpu peak-rss\"\n"
	      "               to PATH (one line a run), for runs interleaved across calls\n"
	      "Prints \"metric min median max\" lines (ms, or KiB for memory).\n",
	      out);
}

static int parse_int(const char *flag, const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "firstbyte: -%s: \"%s\" is not a number in [%ld, %ld]\n", flag, s,
			min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	long v;
	int c;

	*o = (struct opts){
	    .runs = 20, .warmup = 1, .ram_mib = 128, .settle_ms = 20, .stderr_path = "/dev/null"};
	while ((c = getopt(argc, argv, "+n:w:x:l:e:m:r:s:b:2:p:o:h")) != -1) {
		switch (c) {
		case 'n':
			if (parse_int("n", optarg, 1, MAX_RUNS, &v))
				return -1;
			o->runs = (int)v;
			break;
		case 'w':
			if (parse_int("w", optarg, 0, 100, &v))
				return -1;
			o->warmup = (int)v;
			break;
		case 'x':
			if (parse_int("x", optarg, -64, 255, &v))
				return -1;
			o->expect_status = (int)v;
			break;
		case 'l':
			o->label = optarg;
			break;
		case 'e':
			o->expect = optarg;
			break;
		case 'm':
			if (!*optarg) {
				fprintf(stderr, "firstbyte: -m: empty string\n");
				return -1;
			}
			o->ready = optarg;
			break;
		case 'r':
			if (parse_int("r", optarg, 1, 1L << 30, &v))
				return -1;
			o->ram_mib = (unsigned long)v;
			break;
		case 's':
			if (parse_int("s", optarg, 0, 10000, &v))
				return -1;
			o->settle_ms = (int)v;
			break;
		case 'b':
			if (parse_int("b", optarg, 0, MAX_BREAKDOWN, &v))
				return -1;
			o->breakdown = (int)v;
			break;
		case '2':
			o->stderr_path = optarg;
			break;
		case 'p':
			o->prepare = optarg;
			break;
		case 'o':
			o->raw = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return -1;
	}
	o->argv = argv + optind;
	if (!o->label)
		o->label = o->argv[0];
	return 0;
}

int main(int argc, char **argv)
{
	static struct startup_stats ss = {
	    .first = {.name = "first-byte-ms"},
	    .total = {.name = "total-ms"},
	    .cpu = {.name = "cpu-ms"},
	    .maxrss = {.name = "peak-rss-kib"},
	};
	static struct mem_stats ms = {
	    .first = {.name = "first-byte-ms"},
	    .guest = {.name = "guest-rss-kib"},
	    .over = {.name = "overhead-rss-kib"},
	    .over_anon = {.name = "overhead-anon-kib"},
	    .over_file = {.name = "overhead-file-kib"},
	    .over_pss = {.name = "overhead-pss-kib"},
	};
	struct opts o;

	if (parse_opts(argc, argv, &o))
		return 2;
	for (int i = 0; i < o.warmup + o.runs; i++) {
		bool keep = i >= o.warmup;
		char run[32];
		int ret;

		if (keep)
			snprintf(run, sizeof(run), "run %d", i - o.warmup + 1);
		else
			snprintf(run, sizeof(run), "warm-up run");
		if (o.prepare && system(o.prepare) != 0) {
			fprintf(stderr, "firstbyte: %s: -p \"%s\" failed\n", run, o.prepare);
			return 1;
		}
		ret = o.ready ? memory_run(&o, run, &ms, keep, i == o.warmup + o.runs - 1)
			      : startup_run(&o, run, &ss, keep);
		if (ret)
			return 1;
	}

	if (o.ready) {
		printf("# %s: %d runs, memory at \"%s\" + %d ms (KiB), then SIGTERM -> exit "
		       "status %d\n",
		       o.label, o.runs, o.ready, o.settle_ms, o.expect_status);
		printf("%-20s %12s %12s %12s\n", "# metric", "min", "median", "max");
		print_series(&ms.guest);
		print_series(&ms.over);
		print_series(&ms.over_anon);
		print_series(&ms.over_file);
		print_series(&ms.over_pss);
		print_series(&ms.first);
	} else {
		printf("# %s: %d runs, each exit status %d (ms; peak RSS in KiB)\n", o.label,
		       o.runs, o.expect_status);
		printf("%-20s %12s %12s %12s\n", "# metric", "min", "median", "max");
		print_series(&ss.first);
		print_series(&ss.total);
		print_series(&ss.cpu);
		print_series(&ss.maxrss);
	}
	return 0;
}
