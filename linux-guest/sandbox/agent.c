// SPDX-License-Identifier: Apache-2.0
/*
 * ember-agent: the sandbox's guest agent (PID 1 of the sandbox template, started by
 * linux-guest/sandbox/init). It listens on vsock port SB_AGENT_PORT and serves each
 * connection in a child process: one command per connection, in the framed protocol
 * of src/sandbox/proto.h. Before the command runs it mixes in the entropy the host
 * sent and reseeds the kernel's CRNG (clones of one snapshot share the pool they were
 * saved with, so without this they would draw the same random numbers), and sets the
 * clock (a clone's clock stands where the template's stopped).
 *
 * Static (glibc), built by linux-guest/sandbox/build.sh. As PID 1 it reaps orphans;
 * if it dies the kernel panics and the VM resets (panic=-1), which the host sees as
 * the end of the VM.
 */
#include "proto.h"

#define SB_STR(x)   #x
#define SB_XSTR(x)  SB_STR(x)
#define SB_PORT_STR SB_XSTR(SB_AGENT_PORT_NUM)

#include <errno.h>
#include <fcntl.h>
#include <linux/random.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <spawn.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void say(const char *fmt, const char *arg, int err)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		fd = 2;
	dprintf(fd, "ember-agent: ");
	dprintf(fd, fmt, arg);
	if (err)
		dprintf(fd, ": %s", strerror(err));
	dprintf(fd, "\n");
	if (fd != 2)
		close(fd);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_frame(int fd, enum sb_frame type, const void *data, uint32_t len)
{
	uint8_t hdr[SB_FRAME_HDR];
	sb_header(hdr, type, len);
	if (write_all(fd, hdr, sizeof(hdr)) < 0)
		return -1;
	return len ? write_all(fd, data, len) : 0;
}

static int send_u32(int fd, enum sb_frame type, uint32_t v)
{
	uint8_t b[4];
	sb_put32(b, v);
	return send_frame(fd, type, b, 4);
}

static void fail(int fd, const char *what, const char *arg, int err, uint32_t status)
{
	char msg[512];
	snprintf(msg, sizeof(msg), "ember-agent: %s %s: %s", what, arg, strerror(err));
	send_frame(fd, SB_FAIL, msg, (uint32_t)strlen(msg));
	send_u32(fd, SB_EXIT, status);
}

/* What a request asked for, gathered from its frames before G. */
struct request {
	char *argv[SB_ARGS_MAX + 1];
	char *envp[SB_ARGS_MAX + 8];
	size_t argc, envc;
	char *cwd;
};

static void add_entropy(const uint8_t *data, uint32_t len)
{
#ifdef AGENT_HOST_TEST
	(void)data;
	(void)len;
	return; /* the host's pool and clock stay as they are */
#endif
	struct {
		struct rand_pool_info info;
		uint8_t buf[SB_ENTROPY_MAX];
	} e;
	if (len > SB_ENTROPY_MAX)
		len = SB_ENTROPY_MAX;
	e.info.entropy_count = (int)len * 8;
	e.info.buf_size = (int)len;
	memcpy(e.buf, data, len);
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &e.info) < 0 || ioctl(fd, RNDRESEEDCRNG) < 0)
		say("%s", "cannot reseed the CRNG", errno);
	if (fd >= 0)
		close(fd);
}

static void set_clock(const uint8_t *data, uint32_t len)
{
#ifdef AGENT_HOST_TEST
	(void)data;
	(void)len;
	return; /* the host's pool and clock stay as they are */
#endif
	if (len != 16)
		return;
	struct timespec ts = {.tv_sec = (time_t)sb_get64(data),
			      .tv_nsec = (long)sb_get64(data + 8)};
	if (clock_settime(CLOCK_REALTIME, &ts) < 0)
		say("%s", "cannot set the clock", errno);
}

static char *dup_str(const uint8_t *data, uint32_t len)
{
	char *s = malloc(len + 1);
	if (!s)
		exit(1);
	memcpy(s, data, len);
	s[len] = 0;
	return s;
}

static void request_free(struct request *req)
{
	for (size_t i = 0; i < req->argc; i++)
		free(req->argv[i]);
	for (size_t i = 0; i < req->envc; i++)
		free(req->envp[i]);
	free(req->cwd);
	memset(req, 0, sizeof(*req));
}

/* Reads frames into REQ until G (0), or P answered (1), or a broken stream (-1). */
static int read_request(int fd, struct sb_reader *r, struct request *req)
{
	for (;;) {
		int type;
		const uint8_t *d;
		uint32_t len;
		int got = sb_reader_frame(r, &type, &d, &len);
		if (got < 0)
			return -1;
		if (got == 0) {
			ssize_t n = read(fd, r->buf + r->have, sb_reader_room(r));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return -1;
			r->have += (size_t)n;
			continue;
		}
		switch (type) {
		case SB_PING:
			send_frame(fd, SB_PING, NULL, 0);
			return 1;
		case SB_ENTROPY:
			add_entropy(d, len);
			break;
		case SB_CLOCK:
			set_clock(d, len);
			break;
		case SB_ARG:
			if (req->argc < SB_ARGS_MAX)
				req->argv[req->argc++] = dup_str(d, len);
			break;
		case SB_ENV:
			if (req->envc < SB_ARGS_MAX)
				req->envp[req->envc++] = dup_str(d, len);
			break;
		case SB_CWD:
			free(req->cwd);
			req->cwd = dup_str(d, len);
			break;
		case SB_RUN:
			sb_reader_consume(r);
			return 0;
		default:
			break;
		}
		sb_reader_consume(r);
	}
}

/*
 * The command's stdin: frames buffered in R are written to *IN without blocking (the
 * command may be busy writing its own output, which this process must keep reading).
 * *OFF is how much of the first frame is written. Returns 1 while a frame waits for
 * the pipe to take more (poll it for POLLOUT, read no more from the host), else 0.
 */
static int drain_stdin(int fd, struct sb_reader *r, int *in, uint32_t *off)
{
	int type;
	const uint8_t *d;
	uint32_t len;
	while (sb_reader_frame(r, &type, &d, &len) == 1) {
		if (type == SB_STDIN && *in >= 0 && len > *off) {
			ssize_t n = write(*in, d + *off, len - *off);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 1;
			if (n > 0 && (*off += (uint32_t)n) < len)
				continue;
			if (n < 0) { /* the command closed its stdin: drop the rest */
				close(*in);
				*in = -1;
			}
		} else if (type == SB_STDIN && len == 0 && *in >= 0) {
			close(*in);
			*in = -1;
		}
		if (type == SB_STDIN && len > 0)
			send_frame(fd, SB_STDIN_ACK, NULL, 0); /* the host may send the next */
		*off = 0;
		sb_reader_consume(r);
	}
	return 0;
}

/* More bytes from the host into R; -1 when it went away (or sent a bad frame). */
static int read_host(int fd, struct sb_reader *r)
{
	int type;
	const uint8_t *d;
	uint32_t len;
	if (sb_reader_frame(r, &type, &d, &len) < 0)
		return -1;
	ssize_t n = read(fd, r->buf + r->have, sb_reader_room(r));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	r->have += (size_t)n;
	return 0;
}

/* Relays one pipe's bytes as frames of TYPE; closes it at EOF. */
static int pump_out(int fd, int *pipefd, enum sb_frame type)
{
	static uint8_t buf[65536];
	ssize_t n = read(*pipefd, buf, sizeof(buf));
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0) {
		close(*pipefd);
		*pipefd = -1;
		return 0;
	}
	return send_frame(fd, type, buf, (uint32_t)n);
}

/* The handler process of one request, read by main(): runs the command, never returns. */
static void serve(int fd, struct sb_reader *rp, struct request *req)
{
	struct sb_reader r = *rp;
	if (req->argc == 0) {
		fail(fd, "no command", "(argv)", EINVAL, 127);
		exit(1);
	}
	bool has_path = false, has_home = false;
	for (size_t i = 0; i < req->envc; i++) {
		has_path |= strncmp(req->envp[i], "PATH=", 5) == 0;
		has_home |= strncmp(req->envp[i], "HOME=", 5) == 0;
	}
	if (!has_path)
		req->envp[req->envc++] = "PATH=/sbin:/bin:/usr/sbin:/usr/bin";
	if (!has_home)
		req->envp[req->envc++] = "HOME=/root";
	/* posix_spawnp searches our PATH: make it the command's. */
	for (size_t i = 0; i < req->envc; i++)
		if (strncmp(req->envp[i], "PATH=", 5) == 0)
			setenv("PATH", req->envp[i] + 5, 1);

	/* Checked here: posix_spawn's chdir and exec failures would look the same. */
	struct stat st;
	int cwd_err = 0;
	if (req->cwd && stat(req->cwd, &st) < 0)
		cwd_err = errno;
	else if (req->cwd && !S_ISDIR(st.st_mode))
		cwd_err = ENOTDIR;
	else if (req->cwd && access(req->cwd, X_OK) < 0)
		cwd_err = errno;
	if (cwd_err) {
		fail(fd, "cannot enter the working directory", req->cwd, cwd_err, 126);
		exit(0);
	}
	int in[2], out[2], err[2];
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		fail(fd, "pipe", "", errno, 126);
		exit(1);
	}
	/*
	 * posix_spawn (a vfork-style clone): no copy of this process's page tables, which
	 * the interpreted guest kernel of a kvm_pvm host makes expensive.
	 */
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t all, none;
	sigfillset(&all);
	sigemptyset(&none);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (req->cwd)
		posix_spawn_file_actions_addchdir_np(&fa, req->cwd);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setsigdefault(&attr, &all); /* SIGPIPE is ignored here */
	posix_spawnattr_setsigmask(&attr, &none);
	pid_t pid;
	int e = posix_spawnp(&pid, req->argv[0], &fa, &attr, req->argv, req->envp);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (e) {
		fail(fd, "cannot run", req->argv[0], e, e == ENOENT ? 127 : 126);
		exit(0);
	}
	send_frame(fd, SB_STARTED, NULL, 0);

	int stdin_fd = in[1], outfd = out[0], errfd = err[0];
	uint32_t stdin_off = 0;
	fcntl(stdin_fd, F_SETFL, O_NONBLOCK);
	int stdin_blocked = drain_stdin(fd, &r, &stdin_fd, &stdin_off);
	while (outfd >= 0 || errfd >= 0) {
		struct pollfd p[4] = {{.fd = stdin_blocked ? -1 : fd, .events = POLLIN},
				      {.fd = outfd, .events = POLLIN},
				      {.fd = errfd, .events = POLLIN},
				      {.fd = stdin_blocked ? stdin_fd : -1, .events = POLLOUT}};
		if (poll(p, 4, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents && read_host(fd, &r) < 0) {
			/* The host went away: nobody is left to read the output. */
			kill(-pid, SIGKILL);
			exit(1);
		}
		if (p[0].revents || p[3].revents)
			stdin_blocked = drain_stdin(fd, &r, &stdin_fd, &stdin_off);
		if (p[1].revents && pump_out(fd, &outfd, SB_STDOUT) < 0)
			break;
		if (p[2].revents && pump_out(fd, &errfd, SB_STDERR) < 0)
			break;
	}
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		send_u32(fd, SB_SIGNAL, (uint32_t)WTERMSIG(status));
	else
		send_u32(fd, SB_EXIT, (uint32_t)WEXITSTATUS(status));
	exit(0);
}

#ifdef AGENT_HOST_TEST
/*
 * A build for trying the agent on the host without a VM (tests/sandbox.sh): it listens
 * on the Unix socket argv[1] and answers the hybrid vsock's "CONNECT" line itself, as
 * ember would; it leaves the host's entropy and clock alone.
 */
#include <sys/un.h>
static int agent_listen(char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", argv[1]);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 64) < 0
		   ? -1
		   : l;
}
static void hybrid_handshake(int c)
{
	char ch;
	while (read(c, &ch, 1) == 1 && ch != '\n')
		;
	write_all(c, "OK 1\n", 5);
}
#else
static int agent_listen(char **argv)
{
	(void)argv;
	int l = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_vm addr = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = SB_AGENT_PORT};
	return l < 0 || bind(l, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l, 64) < 0
		   ? -1
		   : l;
}
static void hybrid_handshake(int c)
{
	(void)c;
}
#endif

int main(int argc, char **argv)
{
	(void)argc;
	signal(SIGPIPE, SIG_IGN);
	int l = agent_listen(argv);
	if (l < 0) {
		say("%s", "cannot listen", errno);
		return 1;
	}
	say("ready on vsock port %s", SB_PORT_STR, 0);
	static struct request req;
	struct sb_reader r = {.buf = malloc(SB_FRAME_HDR + SB_FRAME_MAX)};
	if (!r.buf)
		return 1;
	for (;;) {
		struct pollfd p = {.fd = l, .events = POLLIN};
		int n = poll(&p, 1, 1000);
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (n <= 0)
			continue;
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/*
		 * The request is read here and a probe answered here: only a command costs a
		 * fork. A host that stalls mid-request is given up after a few seconds.
		 */
		struct timeval tv = {.tv_sec = 5};
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		hybrid_handshake(c);
		r.have = 0;
		if (read_request(c, &r, &req) == 0) {
			tv.tv_sec = 0;
			setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
			if (fork() == 0) {
				close(l);
				serve(c, &r, &req);
			}
		}
		close(c);
		request_free(&req);
	}
}
