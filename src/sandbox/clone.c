// SPDX-License-Identifier: Apache-2.0
/* Starting, resuming and destroying a sandbox clone (clone.h). */
#include "clone.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define API_WAIT_MS 5000 /* from ember's start to its API socket answering */

double sb_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

struct response {
	int status;
	char *body;
	size_t len, cap;
	int done;
};

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct response *r = p->data;
	size_t n = len < r->cap - 1 - r->len ? len : r->cap - 1 - r->len;
	memcpy(r->body + r->len, at, n);
	r->len += n;
	return 0;
}

static int on_complete(http_parser *p)
{
	struct response *r = p->data;
	r->status = (int)p->status_code;
	r->done = 1;
	return 0;
}

int sb_api(const char *sock, const char *method, const char *path, const char *json, char *body,
	   size_t bodylen)
{
	int fd = unix_connect(sock);
	if (fd < 0)
		return fd;
	char head[256];
	size_t blen = json ? strlen(json) : 0;
	int hlen = snprintf(head, sizeof(head),
			    "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			    method, path, blen);
	struct iovec iov[2] = {{head, (size_t)hlen}, {(void *)(uintptr_t)json, blen}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = json ? 2 : 1};
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)(hlen + blen)) {
		int e = errno ? errno : EIO;
		close(fd);
		return -e;
	}
	struct response r = {.body = body, .cap = bodylen};
	body[0] = 0;
	http_parser p;
	http_parser_init(&p, HTTP_RESPONSE);
	p.data = &r;
	http_parser_settings s = {.on_body = on_body, .on_message_complete = on_complete};
	char buf[4096];
	ssize_t n;
	while (!r.done && (n = read(fd, buf, sizeof(buf))) > 0)
		if (http_parser_execute(&p, &s, buf, (size_t)n) != (size_t)n)
			break;
	if (!r.done)
		http_parser_execute(&p, &s, buf, 0);
	close(fd);
	body[r.len] = 0;
	return r.done ? r.status : -EPROTO;
}

/* ember's {"fault_message": ...} out of BODY, or BODY itself. */
static void fault_of(const char *body, char *out, size_t len)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *m = j ? json_string_value(json_object_get(j, "fault_message")) : NULL;
	snprintf(out, len, "%s", m ? m : body);
	json_decref(j);
}

static void remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

bool sb_clone_alive(struct sb_clone *c)
{
	if (c->pid <= 0)
		return false;
	if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
		c->pid = 0;
		return false;
	}
	return true;
}

void sb_clone_destroy(struct sb_clone *c)
{
	if (c->pid > 0) {
		kill(c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
		c->pid = 0;
	}
	if (c->dir[0])
		remove_dir(c->dir);
	c->dir[0] = 0;
}

static pid_t spawn_ember(const char *ember, const struct sb_clone *c)
{
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	/* No VM outlives ember-sandbox, however it ends. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	char log[128];
	snprintf(log, sizeof(log), "%s/console.log", c->dir);
	int in = open("/dev/null", O_RDONLY);
	int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0)
		_exit(1);
	dup2(in, 0);
	dup2(out, 1);
	dup2(out, 2);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execl(ember, ember, "--api-sock", c->api, (char *)NULL);
	_exit(127);
}

int sb_clone_start(struct sb_clone *c, const struct sb_template *t, const char *ember, bool resume,
		   char *err, size_t errlen)
{
	double t0 = sb_now_ms();
	memset(c, 0, sizeof(*c));
	const char *tmp = getenv("TMPDIR");
	snprintf(c->dir, sizeof(c->dir), "%s/ember-sb.XXXXXX",
		 tmp && strlen(tmp) < 40 ? tmp : "/tmp");
	if (!mkdtemp(c->dir)) {
		int e = errno;
		snprintf(err, errlen, "mkdtemp %s: %s", c->dir, strerror(e));
		c->dir[0] = 0;
		return -e;
	}
	snprintf(c->api, sizeof(c->api), "%s/api.sock", c->dir);
	snprintf(c->vsock, sizeof(c->vsock), "%s/v.sock", c->dir);
	c->pid = spawn_ember(ember, c);
	if (c->pid < 0) {
		int e = errno;
		c->pid = 0;
		snprintf(err, errlen, "cannot start %s: %s", ember, strerror(e));
		sb_clone_destroy(c);
		return -e;
	}
	/* ember's socket answers within a few ms of its start. */
	for (double limit = t0 + API_WAIT_MS;;) {
		int fd = unix_connect(c->api);
		if (fd >= 0) {
			close(fd);
			break;
		}
		if (!sb_clone_alive(c) || sb_now_ms() > limit) {
			snprintf(err, errlen, "%s did not open its API socket %s", ember, c->api);
			sb_clone_destroy(c);
			return -ETIMEDOUT;
		}
		usleep(200);
	}
	json_t *req = json_pack("{s:s, s:{s:s, s:s}, s:b, s:{s:s}}", "snapshot_path", t->state,
				"mem_backend", "backend_type", "File", "backend_path", t->memory,
				"resume_vm", resume, "vsock_override", "uds_path", c->vsock);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		sb_clone_destroy(c);
		return -ENOMEM;
	}
	char resp[1024];
	int status = sb_api(c->api, "PUT", "/snapshot/load", body, resp, sizeof(resp));
	free(body);
	if (status != 204) {
		char fault[768];
		fault_of(resp, fault, sizeof(fault));
		if (status < 0)
			snprintf(err, errlen, "template %s: restoring it: %s", t->dir,
				 strerror(-status));
		else
			snprintf(err, errlen, "template %s: ember refused it (HTTP %d): %s", t->dir,
				 status, fault);
		sb_clone_destroy(c);
		return -EINVAL;
	}
	c->restore_ms = sb_now_ms() - t0;
	return 0;
}

int sb_clone_resume(struct sb_clone *c, char *err, size_t errlen)
{
	char resp[512];
	int status = sb_api(c->api, "PATCH", "/vm", "{\"state\": \"Resumed\"}", resp, sizeof(resp));
	if (status == 204)
		return 0;
	char fault[400];
	fault_of(resp, fault, sizeof(fault));
	snprintf(err, errlen, "resuming the clone: HTTP %d: %s", status, fault);
	return -EIO;
}
