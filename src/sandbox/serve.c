// SPDX-License-Identifier: Apache-2.0
/*
 * ember-sandbox serve: HTTP/1.1 JSON on a Unix socket (http-parser, jansson).
 *   POST /v1/run   one command in a fresh clone (job.h for the bodies)
 *   GET /v1/stats  counters and latency percentiles
 * One thread per connection, one request per connection (answered with Connection:
 * close). At most --max-concurrent clones run; up to --queue more requests wait for a
 * slot, and any beyond get 503. --pool K keeps K clones restored and paused ahead of
 * demand (a thread of its own, alive as long as the service: ember's parent-death
 * signal follows the thread that started it). SIGTERM or SIGINT: stop accepting,
 * answer queued requests 503, let running ones finish, destroy the pool, exit 0.
 */
#include "sandbox.h"

#include "clone.h"
#include "job.h"
#include "proto.h"
#include "serve.h"
#include "session.h"

#include <errno.h>
#include <getopt.h>
#include <http_parser.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define BODY_MAX     (16u << 20) /* a request's body: its stdin travels in it */
#define READ_TIMEOUT 30		 /* seconds for a client to send its request */

struct conn {
	struct sb_server *srv;
	int fd;
	char url[256];
	size_t url_len;
	char *body;
	size_t body_len;
	bool too_big, done;
	char field[16], value[32]; /* the header being read, enough to see an Expect */
	size_t field_len, value_len;
	bool in_value, expect_continue;
};

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	size_t n = len < sizeof(c->url) - 1 - c->url_len ? len : sizeof(c->url) - 1 - c->url_len;
	memcpy(c->url + c->url_len, at, n);
	c->url_len += n;
	c->url[c->url_len] = 0;
	return 0;
}

/* Keeps the start of a header's name or value (at most cap - 1 bytes, NUL-ended). */
static void keep(char *buf, size_t cap, size_t *used, const char *at, size_t len)
{
	size_t n = len < cap - 1 - *used ? len : cap - 1 - *used;
	memcpy(buf + *used, at, n);
	*used += n;
	buf[*used] = 0;
}

static void header_done(struct conn *c)
{
	if (c->in_value && strcasecmp(c->field, "expect") == 0 &&
	    strncasecmp(c->value, "100-continue", 12) == 0)
		c->expect_continue = true;
	c->field_len = c->value_len = 0;
	c->field[0] = c->value[0] = 0;
	c->in_value = false;
}

static int on_field(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	if (c->in_value)
		header_done(c);
	keep(c->field, sizeof(c->field), &c->field_len, at, len);
	return 0;
}

static int on_value(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	c->in_value = true;
	keep(c->value, sizeof(c->value), &c->value_len, at, len);
	return 0;
}

/* curl sends a body over 1 KiB only after "100 Continue" (or a second's wait). */
static int on_headers(http_parser *p)
{
	struct conn *c = p->data;
	header_done(c);
	if (c->expect_continue)
		send(c->fd, "HTTP/1.1 100 Continue\r\n\r\n", 25, MSG_NOSIGNAL);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	if (c->body_len + len > BODY_MAX) {
		c->too_big = true;
		return 1;
	}
	char *b = realloc(c->body, c->body_len + len + 1);
	if (!b)
		return 1;
	c->body = b;
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	c->body[c->body_len] = 0;
	return 0;
}

static int on_complete(http_parser *p)
{
	((struct conn *)p->data)->done = true;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	default:
		return "Internal Server Error";
	}
}

static void respond(int fd, int status, const char *body)
{
	char head[256];
	size_t blen = strlen(body);
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nServer: ember-sandbox\r\nContent-Type: application/json"
			 "\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, reason(status), blen + 1);
	struct iovec iov[3] = {{head, (size_t)n}, {(void *)(uintptr_t)body, blen}, {"\n", 1}};
	struct msghdr m = {.msg_iov = iov, .msg_iovlen = 3};
	size_t left = (size_t)n + blen + 1;
	while (left) {
		ssize_t w = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		left -= (size_t)w;
		while (m.msg_iovlen && (size_t)w >= m.msg_iov->iov_len) {
			w -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (char *)m.msg_iov->iov_base + w;
			m.msg_iov->iov_len -= (size_t)w;
		}
	}
}

static void respond_fault(int fd, int status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "fault_message", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	respond(fd, status, s ? s : "{}");
	free(s);
	json_decref(j);
}

/* Waits for a slot to run in; false (503 sent) when the queue is full or we stop. */
static bool admit(struct sb_server *s, int fd)
{
	pthread_mutex_lock(&s->lock);
	if (!s->stopping && s->running >= s->max_concurrent && s->waiting >= s->queue_cap) {
		s->stats.rejected++;
		pthread_mutex_unlock(&s->lock);
		respond_fault(fd, 503, "the queue is full: try again later");
		return false;
	}
	s->waiting++;
	while (!s->stopping && s->running >= s->max_concurrent)
		pthread_cond_wait(&s->cond, &s->lock);
	s->waiting--;
	if (s->stopping) {
		s->stats.rejected++;
		pthread_mutex_unlock(&s->lock);
		respond_fault(fd, 503, "the service is shutting down");
		return false;
	}
	s->running++;
	pthread_mutex_unlock(&s->lock);
	return true;
}

static void release(struct sb_server *s)
{
	pthread_mutex_lock(&s->lock);
	s->running--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void handle_run(struct conn *c)
{
	struct sb_server *s = c->srv;
	struct sb_job job = {.max_output = s->max_output};
	char err[1024];
	double t0 = sb_now_ms();
	if (sb_job_parse(&job, c->body ? c->body : "", c->body_len, s->default_timeout,
			 s->max_timeout, err, sizeof(err)) < 0) {
		sb_stats_count(s, SB_STAT_BAD);
		respond_fault(c->fd, 400, err);
		return;
	}
	if (!admit(s, c->fd)) {
		sb_job_free(&job);
		return;
	}
	double t1 = sb_now_ms();
	struct sb_clone clone;
	bool pooled = sb_pool_take(s, &clone);
	double restore_ms;
	int ret = 0;
	if (pooled) {
		ret = sb_clone_resume(&clone, err, sizeof(err));
		restore_ms = sb_now_ms() - t1;
	} else {
		ret = sb_clone_start(&clone, &s->t, s->ember, s->jailed ? &s->jail : NULL, true,
				     err, sizeof(err));
		restore_ms = clone.restore_ms;
	}
	if (ret < 0) {
		sb_clone_destroy(&clone);
		release(s);
		sb_stats_count(s, SB_STAT_FAILED);
		respond_fault(c->fd, 500, err);
		sb_job_free(&job);
		return;
	}
	struct sb_request req = {.argv = (const char *const *)job.argv,
				 .env = (const char *const *)job.env,
				 .cwd = job.cwd,
				 .stdin_data = job.stdin_data,
				 .stdin_len = job.stdin_len};
	struct sb_sink sink = {.ctx = &job, .output = sb_job_output, .cancel_fd = c->fd};
	struct sb_result res;
	double t2 = sb_now_ms();
	ret =
	    sb_session_run(clone.vsock, s->t.port, &req, &sink, t2 + (double)job.timeout_ms, &res);
	sb_clone_destroy(&clone);
	release(s);
	double end = sb_now_ms();
	if (ret < 0) {
		sb_stats_count(s, SB_STAT_FAILED);
		respond_fault(c->fd, 500, strerror(-ret));
	} else if (res.outcome == SB_CANCELLED) {
		sb_stats_count(s, SB_STAT_CANCELLED); /* the client is gone: nobody to answer */
	} else if (res.outcome == SB_AGENT_LOST) {
		sb_stats_count(s, SB_STAT_FAILED);
		respond_fault(c->fd, 502, res.message);
	} else {
		double agent = res.started_ms ? res.started_ms - t2 : 0;
		double exec =
		    res.started_ms && res.finished_ms ? res.finished_ms - res.started_ms : 0;
		char *answer =
		    sb_job_answer(&job, &res, restore_ms, agent, exec, end - t1, t1 - t0, pooled);
		sb_stats_done(s, res.outcome == SB_TIMED_OUT, restore_ms, end - t1);
		respond(c->fd, 200, answer ? answer : "{}");
		free(answer);
	}
	sb_job_free(&job);
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	struct sb_server *s = c->srv;
	struct timeval tv = {.tv_sec = READ_TIMEOUT};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	http_parser p;
	http_parser_init(&p, HTTP_REQUEST);
	p.data = c;
	http_parser_settings hs = {.on_url = on_url,
				   .on_header_field = on_field,
				   .on_header_value = on_value,
				   .on_headers_complete = on_headers,
				   .on_body = on_body,
				   .on_message_complete = on_complete};
	char buf[65536];
	while (!c->done) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (http_parser_execute(&p, &hs, buf, (size_t)n) != (size_t)n && !c->done)
			break;
	}
	if (c->too_big) {
		respond_fault(c->fd, 413, "the body is over 16 MiB");
	} else if (!c->done) {
		if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
			respond_fault(c->fd, 400, http_errno_description(HTTP_PARSER_ERRNO(&p)));
	} else if (strcmp(c->url, "/v1/run") == 0) {
		if (p.method == HTTP_POST)
			handle_run(c);
		else
			respond_fault(c->fd, 405, "/v1/run takes POST");
	} else if (strcmp(c->url, "/v1/stats") == 0) {
		if (p.method == HTTP_GET) {
			char *st = sb_stats_json(s);
			respond(c->fd, 200, st ? st : "{}");
			free(st);
		} else {
			respond_fault(c->fd, 405, "/v1/stats takes GET");
		}
	} else {
		respond_fault(c->fd, 404, "no such path: POST /v1/run, GET /v1/stats");
	}
	close(c->fd);
	free(c->body);
	free(c);
	pthread_mutex_lock(&s->lock);
	s->connections--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int listen_unix(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path)) {
		snprintf(err, errlen, "--socket %s: longer than a Unix socket path may be", path);
		return -ENAMETOOLONG;
	}
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 128) < 0) {
		int e = errno;
		snprintf(err, errlen, "--socket %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

static void accept_one(struct sb_server *s, int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	pthread_mutex_lock(&s->lock);
	/* Past this many connections even the queue has no room: answer at once. */
	bool full = s->connections >= s->max_concurrent + s->queue_cap + 8;
	if (!full)
		s->connections++;
	else
		s->stats.rejected++;
	pthread_mutex_unlock(&s->lock);
	if (full) {
		respond_fault(fd, 503, "too many connections: try again later");
		close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	pthread_t th;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (!c || (c->srv = s, c->fd = fd, pthread_create(&th, &attr, conn_main, c) != 0)) {
		free(c);
		close(fd);
		pthread_mutex_lock(&s->lock);
		s->connections--;
		pthread_mutex_unlock(&s->lock);
	}
	pthread_attr_destroy(&attr);
}

static long num_arg(const char *opt, const char *v, long lo, long hi, bool *ok)
{
	char *end;
	long n = strtol(v, &end, 10);
	if (*end || end == v || n < lo || n > hi) {
		fprintf(stderr, "ember-sandbox serve: %s %s: not %ld..%ld\n", opt, v, lo, hi);
		*ok = false;
	}
	return n;
}

int sb_serve_main(int argc, char **argv, const char *ember)
{
	static const struct option opts[] = {{"template", required_argument, NULL, 't'},
					     {"socket", required_argument, NULL, 's'},
					     {"max-concurrent", required_argument, NULL, 'c'},
					     {"queue", required_argument, NULL, 'q'},
					     {"pool", required_argument, NULL, 'p'},
					     {"max-output", required_argument, NULL, 'o'},
					     {"timeout-ms", required_argument, NULL, 'T'},
					     {"jail", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	static struct sb_server s = {.max_concurrent = 2,
				     .queue_cap = 16,
				     .max_output = 1 << 20,
				     .default_timeout = 30000,
				     .max_timeout = 600000};
	const char *tdir = NULL, *sock = NULL;
	bool ok = true;
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tdir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'c':
			s.max_concurrent = num_arg("--max-concurrent", optarg, 1, 256, &ok);
			break;
		case 'q':
			s.queue_cap = num_arg("--queue", optarg, 0, 4096, &ok);
			break;
		case 'p':
			s.pool_k = num_arg("--pool", optarg, 0, 64, &ok);
			break;
		case 'o':
			s.max_output = (size_t)num_arg("--max-output", optarg, 0, 1L << 30, &ok);
			break;
		case 'T':
			s.default_timeout = num_arg("--timeout-ms", optarg, 1, s.max_timeout, &ok);
			break;
		case 'j':
			s.jailed = true;
			break;
		default:
			ok = false;
		}
	}
	if (!ok || !tdir || !sock || optind != argc) {
		fprintf(stderr, "usage: ember-sandbox serve --template DIR --socket PATH "
				"[--max-concurrent N] [--queue N] [--pool K] [--max-output BYTES] "
				"[--timeout-ms N] [--jail]\n");
		return SB_EXIT_USAGE;
	}
	char err[1024];
	s.ember = ember;
	if (sb_template_load(&s.t, tdir, ember, err, sizeof(err)) < 0 ||
	    (s.jailed && sb_jail_init(&s.jail, &s.t, ember, err, sizeof(err)) < 0)) {
		fprintf(stderr, "ember-sandbox: %s\n", err);
		return SB_EXIT_FAIL;
	}
	/* Every thread inherits this mask; the main thread takes the signals via signalfd. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigdelset(&sigs, SIGPIPE);
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	int lfd = listen_unix(sock, err, sizeof(err));
	if (lfd < 0 || sfd < 0) {
		fprintf(stderr, "ember-sandbox: %s\n", lfd < 0 ? err : strerror(errno));
		return SB_EXIT_FAIL;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	pthread_cond_init(&s.pool_cond, NULL);
	s.started_ms = sb_now_ms();
	if (sb_pool_start(&s) < 0) {
		fprintf(stderr, "ember-sandbox: cannot start the pool thread\n");
		return SB_EXIT_FAIL;
	}
	fprintf(stderr,
		"ember-sandbox: serving %s on %s (max %ld concurrent, queue %ld, pool %ld%s)\n",
		s.t.dir, sock, s.max_concurrent, s.queue_cap, s.pool_k, s.jailed ? ", jailed" : "");
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents)
			accept_one(&s, lfd);
	}
	fprintf(stderr, "ember-sandbox: stopping: draining running requests\n");
	close(lfd);
	unlink(sock);
	pthread_mutex_lock(&s.lock);
	s.stopping = true;
	pthread_cond_broadcast(&s.cond);
	pthread_cond_broadcast(&s.pool_cond);
	while (s.connections > 0)
		pthread_cond_wait(&s.cond, &s.lock);
	pthread_mutex_unlock(&s.lock);
	sb_pool_stop(&s);
	fprintf(stderr, "ember-sandbox: stopped\n");
	return 0;
}
