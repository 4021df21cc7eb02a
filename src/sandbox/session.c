// SPDX-License-Identifier: Apache-2.0
/* The host's side of the agent protocol (session.h, proto.h). */
#include "session.h"

#include "clone.h"
#include "proto.h"

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* A growable byte buffer of frames waiting to be sent. */
struct outbuf {
	uint8_t *p;
	size_t len, cap, off;
};

static int out_frame(struct outbuf *o, enum sb_frame type, const void *data, size_t len)
{
	if (o->len + SB_FRAME_HDR + len > o->cap) {
		size_t cap = (o->len + SB_FRAME_HDR + len) * 2;
		uint8_t *p = realloc(o->p, cap);
		if (!p)
			return -ENOMEM;
		o->p = p;
		o->cap = cap;
	}
	sb_header(o->p + o->len, type, (uint32_t)len);
	if (len)
		memcpy(o->p + o->len + SB_FRAME_HDR, data, len);
	o->len += SB_FRAME_HDR + len;
	return 0;
}

static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - sb_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left + 1);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Connects to the agent through the hybrid vsock: "CONNECT <port>\n" answered by
 * "OK <n>\n". Right after a restore the guest may not listen yet (its transport was
 * just reset), and ember then closes the connection: try again until DEADLINE.
 */
static int agent_connect(const char *uds, unsigned port, double deadline)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(uds) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, uds);
	int ret = -ETIMEDOUT;
	while (sb_now_ms() < deadline) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		char line[32];
		int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
		size_t have = 0;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
		    send(fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
			ret = -errno;
			goto retry;
		}
		while (have < sizeof(line) - 1 && (!have || line[have - 1] != '\n')) {
			if ((ret = wait_fd(fd, POLLIN, deadline)))
				goto retry;
			ssize_t got = read(fd, line + have, 1);
			if (got <= 0) {
				ret = -ECONNREFUSED;
				goto retry;
			}
			have += (size_t)got;
		}
		line[have] = 0;
		if (strncmp(line, "OK ", 3) == 0)
			return fd;
		ret = -EPROTO;
	retry:
		close(fd);
		usleep(500);
	}
	return ret;
}

static int send_some(int fd, struct outbuf *o)
{
	ssize_t n = send(fd, o->p + o->off, o->len - o->off, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	o->off += (size_t)n;
	return 0;
}

int sb_session_ping(const char *uds, unsigned port, double deadline)
{
	int fd = agent_connect(uds, port, deadline);
	if (fd < 0)
		return fd;
	uint8_t f[SB_FRAME_HDR];
	sb_header(f, SB_PING, 0);
	int ret = -EPROTO;
	if (send(fd, f, sizeof(f), MSG_NOSIGNAL) == (ssize_t)sizeof(f) &&
	    wait_fd(fd, POLLIN, deadline) == 0 && read(fd, f, sizeof(f)) == (ssize_t)sizeof(f) &&
	    f[0] == SB_PING)
		ret = 0;
	close(fd);
	return ret;
}

static int build_request(struct outbuf *o, const struct sb_request *req)
{
	uint8_t seed[64], clk[16];
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		return -EIO;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	sb_put64(clk, (uint64_t)now.tv_sec);
	sb_put64(clk + 8, (uint64_t)now.tv_nsec);
	int ret = out_frame(o, SB_ENTROPY, seed, sizeof(seed));
	ret = ret ?: out_frame(o, SB_CLOCK, clk, sizeof(clk));
	for (size_t i = 0; !ret && req->argv[i]; i++)
		ret = out_frame(o, SB_ARG, req->argv[i], strlen(req->argv[i]));
	for (size_t i = 0; !ret && req->env && req->env[i]; i++)
		ret = out_frame(o, SB_ENV, req->env[i], strlen(req->env[i]));
	if (!ret && req->cwd)
		ret = out_frame(o, SB_CWD, req->cwd, strlen(req->cwd));
	return ret ?: out_frame(o, SB_RUN, NULL, 0);
}

/*
 * The next stdin frame (or the empty one that closes stdin) once the agent has
 * acknowledged the last: one frame in flight at a time (proto.h).
 */
static int next_stdin(struct outbuf *o, const struct sb_request *req, size_t *off, bool *acked,
		      bool *closed)
{
	if (*closed || !*acked)
		return 0;
	if (*off == req->stdin_len) {
		*closed = true;
		return out_frame(o, SB_STDIN, NULL, 0);
	}
	size_t n = req->stdin_len - *off < SB_STDIN_CHUNK ? req->stdin_len - *off : SB_STDIN_CHUNK;
	int ret = out_frame(o, SB_STDIN, req->stdin_data + *off, n);
	*off += n;
	*acked = false;
	return ret;
}

/* One frame from the agent; 1 when it was the last (RES filled), <0 to stop. */
static int take_frame(int type, const uint8_t *d, uint32_t len, const struct sb_sink *sink,
		      struct sb_result *res, bool *acked)
{
	switch (type) {
	case SB_STDIN_ACK:
		*acked = true;
		return 0;
	case SB_STARTED:
		res->started_ms = sb_now_ms();
		return 0;
	case SB_STDOUT:
	case SB_STDERR:
		if (sink->output && sink->output(sink->ctx, type == SB_STDOUT ? 1 : 2, d, len)) {
			res->outcome = SB_CANCELLED;
			return -1;
		}
		return 0;
	case SB_FAIL:
		snprintf(res->message, sizeof(res->message), "%.*s", (int)len, (const char *)d);
		return 0;
	case SB_EXIT:
	case SB_SIGNAL:
		if (len != 4)
			return 0;
		res->outcome = type == SB_EXIT ? SB_EXITED : SB_SIGNALED;
		res->code = (int)sb_get32(d);
		res->finished_ms = sb_now_ms();
		return 1;
	default:
		return 0;
	}
}

int sb_session_run(const char *uds, unsigned port, const struct sb_request *req,
		   const struct sb_sink *sink, double deadline, struct sb_result *res)
{
	memset(res, 0, sizeof(*res));
	struct outbuf o = {0};
	struct sb_reader r = {.buf = malloc(SB_FRAME_HDR + SB_FRAME_MAX)};
	int ret = r.buf ? build_request(&o, req) : -ENOMEM;
	if (ret)
		goto out;
	/*
	 * A probe first, until one comes back whole: a restored guest handles the transport
	 * reset ember queued at the restore after the connection requests of the same
	 * interrupt, so the first connection may be accepted and then reset. A reset probe
	 * costs nothing; a reset request would leave unknown whether its command ran.
	 */
	int fd;
	while ((fd = sb_session_ping(uds, port, deadline)) < 0 && fd != -ETIMEDOUT &&
	       sb_now_ms() < deadline)
		usleep(500);
	if (fd == 0)
		fd = agent_connect(uds, port, deadline);
	if (fd < 0) {
		res->outcome = fd == -ETIMEDOUT ? SB_TIMED_OUT : SB_AGENT_LOST;
		snprintf(res->message, sizeof(res->message), "no answer from the guest agent: %s",
			 strerror(-fd));
		goto out;
	}
	res->connect_ms = sb_now_ms();
	size_t stdin_off = 0;
	bool acked = true, closed = false;
	for (;;) {
		if (o.off == o.len) {
			o.off = o.len = 0;
			if ((ret = next_stdin(&o, req, &stdin_off, &acked, &closed)) < 0)
				break;
		}
		if (sink->cancelled && sink->cancelled(sink->ctx)) {
			res->outcome = SB_CANCELLED;
			break;
		}
		double left = deadline - sb_now_ms();
		if (left <= 0) {
			res->outcome = SB_TIMED_OUT;
			break;
		}
		struct pollfd p[2] = {
		    {.fd = fd, .events = (short)(POLLIN | (o.off < o.len ? POLLOUT : 0))},
		    {.fd = sink->cancel_fd, .events = POLLIN | POLLRDHUP}};
		int n = poll(p, sink->cancel_fd >= 0 ? 2 : 1, left > 200 ? 200 : (int)left + 1);
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		if (n <= 0)
			continue;
		if (sink->cancel_fd >= 0 && (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			res->outcome = SB_CANCELLED;
			break;
		}
		if ((p[0].revents & POLLOUT) && send_some(fd, &o) < 0)
			o.off = o.len; /* the reader below sees why */
		if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t got = read(fd, r.buf + r.have, sb_reader_room(&r));
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			res->outcome = SB_AGENT_LOST;
			if (!res->message[0])
				snprintf(res->message, sizeof(res->message),
					 "the guest agent closed the connection before the "
					 "command's exit status (did the agent or the VM die?)");
			break;
		}
		r.have += (size_t)got;
		int type, last = 0;
		const uint8_t *d;
		uint32_t len;
		int fr;
		while (!last && (fr = sb_reader_frame(&r, &type, &d, &len)) == 1) {
			last = take_frame(type, d, len, sink, res, &acked);
			sb_reader_consume(&r);
		}
		if (last || fr < 0) {
			if (fr < 0) {
				res->outcome = SB_AGENT_LOST;
				snprintf(res->message, sizeof(res->message),
					 "the guest agent sent a frame over %u bytes",
					 SB_FRAME_MAX);
			}
			break;
		}
	}
	close(fd);
out:
	free(o.p);
	free(r.buf);
	return ret;
}
