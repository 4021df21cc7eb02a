// SPDX-License-Identifier: Apache-2.0
/* Starting, resuming and destroying a sandbox clone (clone.h). */
#include "clone.h"

#include <ftw.h>
#include <errno.h>
#include <fcntl.h>
#include <http_parser.h>
#include <jansson.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* DIR and everything under it (a jail holds directories, device nodes, sockets). */
static void remove_dir(const char *dir)
{
	nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
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
	if (c->jail[0])
		remove_dir(c->jail);
	c->jail[0] = 0;
}

int sb_jail_init(struct sb_jail *j, const struct sb_template *t, const char *ember, char *err,
		 size_t errlen)
{
	memset(j, 0, sizeof(*j));
	if (geteuid() != 0) {
		snprintf(err, errlen, "--jail: ember-jailer needs root");
		return -EPERM;
	}
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof(tmp), "%s", ember);
	snprintf(j->jailer, sizeof(j->jailer), "%s/ember-jailer", dirname(tmp));
	if (access(j->jailer, X_OK) < 0) {
		int e = errno;
		snprintf(err, errlen, "--jail: %s: %s", j->jailer, strerror(e));
		return -e;
	}
	snprintf(j->base, sizeof(j->base), "%.4000s.jail", t->dir);
	if (mkdir(j->base, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		snprintf(err, errlen, "--jail: mkdir %s: %s", j->base, strerror(e));
		return -e;
	}
	const char *files[] = {t->state, t->memory};
	for (size_t i = 0; i < 2; i++) {
		struct stat st;
		if (stat(files[i], &st) < 0 || (st.st_mode & 0044) != 0044) {
			snprintf(err, errlen,
				 "--jail: %s must be readable by the jail's uid (chmod 0644; "
				 "make sandbox-template makes it so)",
				 files[i]);
			return -EACCES;
		}
	}
	j->first_uid = 100000;
	return 0;
}

/* The jail's root with the template's files hard-linked in; the paths ember gets. */
static int jail_prepare(struct sb_clone *c, const struct sb_template *t, struct sb_jail *j,
			char *id, size_t idlen, unsigned *uid, char *err, size_t errlen)
{
	unsigned n = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
	*uid = j->first_uid + n % 50000;
	snprintf(id, idlen, "sb-%d-%u", (int)getpid(), n);
	char root[PATH_MAX + 64], path[PATH_MAX + 96];
	snprintf(c->jail, sizeof(c->jail), "%.3900s/ember/%s", j->base, id);
	snprintf(root, sizeof(root), "%s/root", c->jail);
	snprintf(path, sizeof(path), "%s/ember", j->base);
	mkdir(path, 0755);
	if (mkdir(c->jail, 0755) < 0 || mkdir(root, 0755) < 0) {
		int e = errno;
		snprintf(err, errlen, "--jail: mkdir %s: %s", root, strerror(e));
		return -e;
	}
	const char *from[] = {t->state, t->memory}, *to[] = {"state", "memory"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", root, to[i]);
		if (link(from[i], path) < 0) {
			int e = errno;
			snprintf(err, errlen, "--jail: link %s %s: %s", from[i], path, strerror(e));
			return -e;
		}
	}
	snprintf(c->api, sizeof(c->api), "%.4000s/run/api.sock", root);
	snprintf(c->vsock, sizeof(c->vsock), "%.4000s/v.sock", root);
	return 0;
}

static pid_t spawn_ember(const char *ember, const struct sb_clone *c, const struct sb_jail *j,
			 const char *id, unsigned uid)
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
	if (j) {
		char u[16];
		snprintf(u, sizeof(u), "%u", uid);
		execl(j->jailer, j->jailer, "--id", id, "--exec-file", ember, "--uid", u, "--gid",
		      u, "--chroot-base-dir", j->base, "--", "--api-sock", "/run/api.sock",
		      (char *)NULL);
	} else {
		execl(ember, ember, "--api-sock", c->api, (char *)NULL);
	}
	_exit(127);
}

int sb_clone_start(struct sb_clone *c, const struct sb_template *t, const char *ember,
		   struct sb_jail *jail, bool resume, char *err, size_t errlen)
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
	char id[64] = "";
	unsigned uid = 0;
	if (jail) {
		int ret = jail_prepare(c, t, jail, id, sizeof(id), &uid, err, errlen);
		if (ret < 0) {
			sb_clone_destroy(c);
			return ret;
		}
	}
	c->pid = spawn_ember(ember, c, jail, id, uid);
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
	/* In a jail every path is the jail's: the files were linked in at its root. */
	json_t *req = json_pack("{s:s, s:{s:s, s:s}, s:b, s:{s:s}}", "snapshot_path",
				jail ? "/state" : t->state, "mem_backend", "backend_type", "File",
				"backend_path", jail ? "/memory" : t->memory, "resume_vm", resume,
				"vsock_override", "uds_path", jail ? "/v.sock" : c->vsock);
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
