// SPDX-License-Identifier: Apache-2.0
/*
 * apibench - ember's API benchmark: how soon the API socket accepts connections after
 * the process starts, and the request latency on one keep-alive connection.
 *
 *   apibench [options] -- EMBER [ARG...]      (the command must serve -s PATH)
 *
 * Start-up (-n runs, after -w warm-up runs): remove the socket path, take
 * CLOCK_MONOTONIC, spawn the command (stdin and stdout on /dev/null, stderr to -2 PATH),
 * then connect() to the path in a tight loop: the first successful connect is
 * "connect-ms" (the path is bound and listen() done). On that connection, one GET / and
 * its full response: "first-response-ms". Then SIGTERM; the exit status must be 0.
 *
 * Floor (-F "CMD ARG...", repeatable): the same spawn, timed to the command's first byte
 * on a stdout pipe, as bench/firstbyte.c does: what exec and process start-up cost alone.
 *
 * Latency (-r requests per endpoint): one more spawn, one connection kept alive, a warm-up
 * of -r / 10 requests per endpoint, then -r GET / (200) and -r PUT /machine-config (204),
 * each written whole and its response (status line, headers, Content-Length body) read
 * whole before the next: per-request wall time, in microseconds.
 *
 * Output: "name min median max" (ms) and "name min p50 p99 max" (us) lines, after '#'
 * comment lines.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_RUNS	 10000
#define MAX_REQS	 1000000
#define MAX_FLOORS	 4
#define MAX_FLOOR_ARGS	 16
#define START_TIMEOUT_MS 20000 /* spawn to connect */
#define IO_TIMEOUT_MS	 5000  /* one request, one read */
#define EXIT_TIMEOUT_MS	 5000  /* SIGTERM to exit */
#define RESP_BUF	 65536

struct opts {
	int runs, warmup, reqs, nfloors;
	bool pin;
	const char *sock;
	const char *stderr_path;
	char *floor_argv[MAX_FLOORS][MAX_FLOOR_ARGS + 1];
	char **argv;
};

struct series {
	const char *name;
	double *v;
	int n, cap;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int series_init(struct series *s, const char *name, int cap)
{
	s->name = name;
	s->n = 0;
	s->cap = cap;
	s->v = calloc((size_t)cap, sizeof(*s->v));
	if (!s->v) {
		fprintf(stderr, "apibench: out of memory\n");
		return -1;
	}
	return 0;
}

static void add(struct series *s, double v)
{
	if (s->n < s->cap)
		s->v[s->n++] = v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void sort_series(struct series *s)
{
	qsort(s->v, (size_t)s->n, sizeof(s->v[0]), cmp_double);
}

/* min median max */
static void print_series(struct series *s)
{
	double med;

	if (!s->n)
		return;
	sort_series(s);
	med = s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
	printf("%-20s %12.3f %12.3f %12.3f\n", s->name, s->v[0], med, s->v[s->n - 1]);
}

/* Nearest-rank percentile (P in 1..100) of a sorted series. */
static double pct(const struct series *s, int p)
{
	int k = (int)(((long)p * s->n + 99) / 100);

	return s->v[k < 1 ? 0 : k - 1];
}

/* min p50 p99 max */
static void print_latency(struct series *s)
{
	if (!s->n)
		return;
	sort_series(s);
	printf("%-20s %12.1f %12.1f %12.1f %12.1f\n", s->name, s->v[0], pct(s, 50), pct(s, 99),
	       s->v[s->n - 1]);
}

/*
 * CPU pinning: a connect() loop spinning on the CPU where the child was placed delays it by
 * a scheduler time slice (milliseconds). With two CPUs or more, apibench stays on the first
 * and spawns every child on the second (the child inherits the mask in place at spawn).
 */
static int cpu_self = -1, cpu_child = -1;

static void pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void pin_init(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (cpu_self < 0)
			cpu_self = c;
		else if (cpu_child < 0)
			cpu_child = c;
	}
	if (cpu_child < 0)
		cpu_self = -1;
	pin_self(cpu_self);
}

/* Spawns argv: stdin /dev/null, stdout on out_fd (or /dev/null when -1), stderr to path. */
static pid_t spawn(char **argv, int out_fd, const char *stderr_path)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	pin_self(cpu_child);
	err = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	pin_self(cpu_self);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "apibench: spawning %s: %s\n", argv[0], strerror(err));
		return -1;
	}
	return pid;
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

static void abandon(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* SIGTERM, then the exit status must be 0 within EXIT_TIMEOUT_MS. */
static int stop(pid_t pid, const char *what)
{
	double deadline = now_ms() + EXIT_TIMEOUT_MS;
	char desc[96];
	int status;

	kill(pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0) {
			fprintf(stderr, "apibench: waitpid: %s\n", strerror(errno));
			return -1;
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "apibench: error: %s: ember did not exit on SIGTERM\n",
				what);
			abandon(pid);
			return -1;
		}
		usleep(200);
	}
	/* Killed by it, as Firecracker is (ember's c06864e). */
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) {
		describe_status(status, desc, sizeof(desc));
		fprintf(
		    stderr,
		    "apibench: error: %s: ember ended with %s after SIGTERM, not killed by it\n",
		    what, desc);
		return -1;
	}
	return 0;
}

/*
 * Spawns the command and connect()s to the socket in a tight loop. Returns the connected
 * fd (and *pid, *t_conn: ms since *t0), or -1.
 */
static int spawn_and_connect(const struct opts *o, const char *what, pid_t *pid, double *t0,
			     double *t_conn)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	unsigned long tries = 0;
	int fd;

	memcpy(addr.sun_path, o->sock, strlen(o->sock) + 1);
	if (unlink(o->sock) && errno != ENOENT) {
		fprintf(stderr, "apibench: removing %s: %s\n", o->sock, strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "apibench: socket: %s\n", strerror(errno));
		return -1;
	}
	*t0 = now_ms();
	*pid = spawn(o->argv, -1, o->stderr_path);
	if (*pid < 0) {
		close(fd);
		return -1;
	}
	for (;;) {
		int status;

		if (!connect(fd, (const struct sockaddr *)&addr, sizeof(addr))) {
			*t_conn = now_ms() - *t0;
			return fd;
		}
		if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR) {
			fprintf(stderr, "apibench: error: %s: connect %s: %s\n", what, o->sock,
				strerror(errno));
			break;
		}
		if (++tries % 256)
			continue;
		if (waitpid(*pid, &status, WNOHANG) == *pid) {
			char desc[96];

			describe_status(status, desc, sizeof(desc));
			fprintf(stderr,
				"apibench: error: %s: ember ended (%s) before accepting a "
				"connection on %s\n",
				what, desc, o->sock);
			close(fd);
			return -1;
		}
		if (now_ms() - *t0 > START_TIMEOUT_MS) {
			fprintf(stderr, "apibench: error: %s: no connection on %s within %d ms\n",
				what, o->sock, START_TIMEOUT_MS);
			break;
		}
	}
	close(fd);
	abandon(*pid);
	return -1;
}

static int wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};
	int r;

	do
		r = poll(&p, 1, IO_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		fprintf(stderr, "apibench: %s\n", r ? strerror(errno) : "no answer in time");
		return -1;
	}
	return 0;
}

/*
 * One request, written whole, and its response read whole: the status line, headers up to
 * the blank line, then Content-Length bytes of body. The status must be want.
 */
static int roundtrip(int fd, const char *req, size_t len, int want)
{
	static char buf[RESP_BUF];
	size_t have = 0, need = 0;
	char *hdr_end = NULL;

	while (len) {
		ssize_t n = write(fd, req, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && !wait_fd(fd, POLLOUT))
				continue;
			fprintf(stderr, "apibench: write: %s\n", strerror(errno));
			return -1;
		}
		req += n;
		len -= (size_t)n;
	}
	for (;;) {
		ssize_t n;

		if (hdr_end && have >= need)
			break;
		if (have == sizeof(buf) - 1) {
			fprintf(stderr, "apibench: response larger than %d bytes\n", RESP_BUF - 1);
			return -1;
		}
		n = read(fd, buf + have, sizeof(buf) - 1 - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && !wait_fd(fd, POLLIN))
				continue;
			fprintf(stderr, "apibench: read: %s\n", strerror(errno));
			return -1;
		}
		if (n == 0) {
			fprintf(stderr, "apibench: ember closed the connection mid-response\n");
			return -1;
		}
		have += (size_t)n;
		buf[have] = '\0';
		if (!hdr_end && (hdr_end = strstr(buf, "\r\n\r\n"))) {
			unsigned long clen = 0;
			int status = 0;

			if (sscanf(buf, "HTTP/1.1 %d", &status) != 1 || status != want) {
				fprintf(stderr, "apibench: status %d, expected %d: %.200s\n",
					status, want, buf);
				return -1;
			}
			for (char *l = strstr(buf, "\r\n"); l && l < hdr_end;
			     l = strstr(l + 2, "\r\n")) {
				if (!strncasecmp(l + 2, "Content-Length:", 15))
					clen = strtoul(l + 2 + 15, NULL, 10);
				else if (!strncasecmp(l + 2, "Connection: close", 17)) {
					fprintf(stderr, "apibench: ember closes the connection\n");
					return -1;
				}
			}
			need = (size_t)(hdr_end + 4 - buf) + clen;
		}
	}
	if (have != need) {
		fprintf(stderr, "apibench: %zu bytes after the response\n", have - need);
		return -1;
	}
	return 0;
}

#define GET_ROOT "GET / HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n\r\n"
#define MC_BODY	 "{\"vcpu_count\": 1, \"mem_size_mib\": 128}"

static int startup_run(const struct opts *o, const char *what, struct series *conn,
		       struct series *resp, bool keep)
{
	double t0, t_conn;
	pid_t pid;
	int fd = spawn_and_connect(o, what, &pid, &t0, &t_conn);

	if (fd < 0)
		return -1;
	if (roundtrip(fd, GET_ROOT, strlen(GET_ROOT), 200)) {
		fprintf(stderr, "apibench: error: %s: the first GET / failed\n", what);
		close(fd);
		abandon(pid);
		return -1;
	}
	if (keep) {
		add(conn, t_conn);
		add(resp, now_ms() - t0);
	}
	close(fd);
	return stop(pid, what);
}

/* Spawn to the first byte on a stdout pipe, as bench/firstbyte.c times /bin/echo. */
static int floor_run(const struct opts *o, char **argv, struct series *s, bool keep)
{
	double t0, t_first = -1;
	char buf[4096];
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "apibench: pipe: %s\n", strerror(errno));
		return -1;
	}
	t0 = now_ms();
	pid = spawn(argv, p[1], o->stderr_path);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -1;
	}
	for (;;) {
		ssize_t n = read(p[0], buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (t_first < 0)
			t_first = now_ms();
	}
	close(p[0]);
	waitpid(pid, &status, 0);
	if (t_first < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "apibench: error: floor %s: no output, or a non-zero status\n",
			argv[0]);
		return -1;
	}
	if (keep)
		add(s, t_first - t0);
	return 0;
}

static int latency(const struct opts *o, struct series *get, struct series *put)
{
	char put_req[256];
	int warm = o->reqs / 10 > 0 ? o->reqs / 10 : 1;
	double t0, t_conn;
	pid_t pid;
	int fd, len;

	len = snprintf(put_req, sizeof(put_req),
		       "PUT /machine-config HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
		       "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		       strlen(MC_BODY), MC_BODY);
	fd = spawn_and_connect(o, "latency", &pid, &t0, &t_conn);
	if (fd < 0)
		return -1;
	for (int i = 0; i < warm + o->reqs; i++) {
		double t = now_ms();

		if (roundtrip(fd, GET_ROOT, strlen(GET_ROOT), 200))
			goto fail;
		if (i >= warm)
			add(get, (now_ms() - t) * 1e3);
	}
	for (int i = 0; i < warm + o->reqs; i++) {
		double t = now_ms();

		if (roundtrip(fd, put_req, (size_t)len, 204))
			goto fail;
		if (i >= warm)
			add(put, (now_ms() - t) * 1e3);
	}
	close(fd);
	return stop(pid, "latency");
fail:
	fprintf(stderr, "apibench: error: latency: a request failed\n");
	close(fd);
	abandon(pid);
	return -1;
}

static void usage(FILE *out)
{
	fputs(
	    "usage: apibench [options] -- EMBER [ARG...]   (it must serve -s PATH)\n"
	    "  -s PATH      the API socket path (required)\n"
	    "  -n RUNS      start-up runs (default 20)\n"
	    "  -w RUNS      warm-up start-up runs, not counted (default 1)\n"
	    "  -r N         requests per endpoint, latency (default 2000; 0: skip)\n"
	    "  -F \"CMD ARG\" floor: spawn to first stdout byte of CMD (repeatable, space-split)\n"
	    "  -2 PATH      ember's stderr (default /dev/null)\n"
	    "  -P           no CPU pinning (default: apibench on its first allowed CPU, the\n"
	    "               spawned commands on the second)\n"
	    "Prints \"metric min median max\" (ms) and \"metric min p50 p99 max\" (us).\n",
	    out);
}

static int parse_int(const char *flag, const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "apibench: -%s: \"%s\" is not a number in [%ld, %ld]\n", flag, s,
			min, max);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int add_floor(struct opts *o, char *cmd)
{
	int n = 0;

	if (o->nfloors == MAX_FLOORS) {
		fprintf(stderr, "apibench: -F: at most %d floors\n", MAX_FLOORS);
		return -1;
	}
	for (char *save = NULL, *w = strtok_r(cmd, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		if (n == MAX_FLOOR_ARGS) {
			fprintf(stderr, "apibench: -F: at most %d words\n", MAX_FLOOR_ARGS);
			return -1;
		}
		o->floor_argv[o->nfloors][n++] = w;
	}
	if (!n) {
		fprintf(stderr, "apibench: -F: empty command\n");
		return -1;
	}
	o->floor_argv[o->nfloors++][n] = NULL;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){
	    .runs = 20, .warmup = 1, .reqs = 2000, .stderr_path = "/dev/null", .pin = true};
	while ((c = getopt(argc, argv, "+s:n:w:r:F:2:Ph")) != -1) {
		switch (c) {
		case 's':
			o->sock = optarg;
			break;
		case 'n':
			if (parse_int("n", optarg, 1, MAX_RUNS, &o->runs))
				return -1;
			break;
		case 'w':
			if (parse_int("w", optarg, 0, 100, &o->warmup))
				return -1;
			break;
		case 'r':
			if (parse_int("r", optarg, 0, MAX_REQS, &o->reqs))
				return -1;
			break;
		case 'F':
			if (add_floor(o, optarg))
				return -1;
			break;
		case '2':
			o->stderr_path = optarg;
			break;
		case 'P':
			o->pin = false;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (!o->sock || optind >= argc) {
		usage(stderr);
		return -1;
	}
	if (!o->sock[0] || strlen(o->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		fprintf(stderr, "apibench: -s: the path must be 1 to %zu bytes long\n",
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		return -1;
	}
	o->argv = argv + optind;
	return 0;
}

int main(int argc, char **argv)
{
	static char names[MAX_FLOORS][24];
	struct series conn, resp, floors[MAX_FLOORS], get, put;
	struct opts o;

	if (parse_opts(argc, argv, &o))
		return 2;
	if (o.pin)
		pin_init();
	if (series_init(&conn, "connect-ms", o.runs) ||
	    series_init(&resp, "first-response-ms", o.runs) ||
	    series_init(&get, "get-root-us", o.reqs + 1) ||
	    series_init(&put, "put-machine-config-us", o.reqs + 1))
		return 1;
	for (int f = 0; f < o.nfloors; f++) {
		snprintf(names[f], sizeof(names[f]), "floor%d-ms", f + 1);
		if (series_init(&floors[f], names[f], o.runs))
			return 1;
	}
	/* Take turns, so that a busy spell on the host hits every series alike. */
	for (int i = 0; i < o.warmup + o.runs; i++) {
		bool keep = i >= o.warmup;
		char what[32];

		if (keep)
			snprintf(what, sizeof(what), "run %d", i - o.warmup + 1);
		else
			snprintf(what, sizeof(what), "warm-up run");
		if (startup_run(&o, what, &conn, &resp, keep))
			return 1;
		for (int f = 0; f < o.nfloors; f++)
			if (floor_run(&o, o.floor_argv[f], &floors[f], keep))
				return 1;
	}
	if (o.reqs && latency(&o, &get, &put))
		return 1;

	printf("# %s: %d start-up runs (ms): spawn to the first connect() on %s, and to the "
	       "first GET / response\n",
	       o.argv[0], o.runs, o.sock);
	for (int f = 0; f < o.nfloors; f++) {
		printf("# floor%d: %s", f + 1, o.floor_argv[f][0]);
		for (int a = 1; o.floor_argv[f][a]; a++)
			printf(" %s", o.floor_argv[f][a]);
		printf(": spawn to its first stdout byte\n");
	}
	if (cpu_self >= 0)
		printf("# pinned: apibench on CPU %d, the spawned commands on CPU %d\n", cpu_self,
		       cpu_child);
	printf("%-20s %12s %12s %12s\n", "# metric", "min", "median", "max");
	print_series(&conn);
	print_series(&resp);
	for (int f = 0; f < o.nfloors; f++)
		print_series(&floors[f]);
	if (o.reqs) {
		printf("# latency: %d requests per endpoint on one keep-alive connection (us)\n",
		       o.reqs);
		printf("%-20s %12s %12s %12s %12s\n", "# metric", "min", "p50", "p99", "max");
		print_latency(&get);
		print_latency(&put);
	}
	return 0;
}
