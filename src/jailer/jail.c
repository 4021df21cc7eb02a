// SPDX-License-Identifier: Apache-2.0
/*
 * The jail's host side (jail.h): checking the inputs that name host files, the
 * process's clean slate, the chroot directory and its copy of ember, the network
 * namespace, the resource limits, the cgroups, and the undo of all of it.
 */
#include "jailer/jail.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

const struct jail_host jail_host_default = {
    .mounts = "/proc/mounts",
    .misc = "/proc/misc",
    .proc_cgroup = "/proc/self/cgroup",
    .kvm_pvm = "/sys/module/kvm_pvm",
};

int jail_fail(int ret, char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return ret;
}

int jail_created(struct jail *j, const char *path, bool dir)
{
	if (j->n_undo == JAIL_UNDO_MAX)
		return -E2BIG;
	snprintf(j->undo[j->n_undo].path, sizeof(j->undo[0].path), "%s", path);
	j->undo[j->n_undo].dir = dir;
	j->n_undo++;
	return 0;
}

/* The minor of the misc device "userfaultfd" in @misc ("257 userfaultfd"), or -1. */
static int uffd_minor(const char *misc)
{
	FILE *f = fopen(misc, "re");
	char name[64];
	int minor, ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%d %63s", &minor, name) == 2) {
		if (!strcmp(name, "userfaultfd")) {
			ret = minor;
			break;
		}
	}
	fclose(f);
	return ret;
}

static int check_netns(const char *path, char *err, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct statfs sfs;
	bool ok;

	if (fd < 0)
		return jail_fail(-EINVAL, err, len, "--netns \"%s\": %s", path, strerror(errno));
	ok = !fstatfs(fd, &sfs) && sfs.f_type == NSFS_MAGIC &&
	     ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
	close(fd);
	if (!ok)
		return jail_fail(
		    -EINVAL, err, len,
		    "--netns \"%s\": not a network namespace (e.g. /var/run/netns/NAME)", path);
	return 0;
}

int jail_check(struct jail *j, const struct jail_args *a, const struct jail_host *host, char *err,
	       size_t errlen)
{
	struct stat st;
	int ret;

	memset(j, 0, sizeof(*j));
	j->a = a;
	j->mntns_fd = j->devnull_fd = -1;
	if (!realpath(a->exec_file, j->exec_path))
		return jail_fail(-EINVAL, err, errlen, "--exec-file \"%s\": %s", a->exec_file,
				 strerror(errno));
	if (stat(j->exec_path, &st))
		return jail_fail(-EINVAL, err, errlen, "--exec-file \"%s\": %s", a->exec_file,
				 strerror(errno));
	if (!S_ISREG(st.st_mode))
		return jail_fail(-EINVAL, err, errlen, "--exec-file \"%s\": not a regular file",
				 a->exec_file);
	if (!(st.st_mode & 0111))
		return jail_fail(-EINVAL, err, errlen, "--exec-file \"%s\": not executable",
				 a->exec_file);
	snprintf(j->exec_name, sizeof(j->exec_name), "%s", strrchr(j->exec_path, '/') + 1);

	if (!realpath(a->chroot_base, j->base))
		return jail_fail(-EINVAL, err, errlen, "--chroot-base-dir \"%s\": %s",
				 a->chroot_base, strerror(errno));
	if (stat(j->base, &st) || !S_ISDIR(st.st_mode))
		return jail_fail(-EINVAL, err, errlen, "--chroot-base-dir \"%s\": not a directory",
				 a->chroot_base);
	ret = snprintf(j->root, sizeof(j->root), "%s/%s/%s/root",
		       strcmp(j->base, "/") ? j->base : "", j->exec_name, a->id);
	if (ret < 0 || (size_t)ret >= sizeof(j->root))
		return jail_fail(-EINVAL, err, errlen,
				 "--chroot-base-dir \"%s\": the jail's path is too long",
				 a->chroot_base);

	if (a->netns) {
		ret = check_netns(a->netns, err, errlen);
		if (ret)
			return ret;
	}
	ret = cg_plan(&j->cg, a, j->exec_name, host->mounts, err, errlen);
	if (ret)
		return ret;
	j->cg.proc_cgroup = host->proc_cgroup;
	j->uffd_minor = uffd_minor(host->misc);
	j->kvm_pvm = access(host->kvm_pvm, F_OK) == 0;
	return 0;
}

void jail_sanitize(void)
{
	DIR *d;

	/* Nothing the caller opened may reach ember. */
	if (close_range(3, ~0U, 0)) {
		d = opendir("/proc/self/fd");
		if (d) {
			int self = dirfd(d);
			struct dirent *e;

			while ((e = readdir(d))) {
				int fd = atoi(e->d_name);

				if (fd > 2 && fd != self)
					close(fd);
			}
			closedir(d);
		}
	}
	clearenv();
}

static int copy_file(int in, int out)
{
	for (;;) {
		ssize_t n = sendfile(out, in, NULL, 1 << 20);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
	}
}

int jail_make_root(struct jail *j, char *err, size_t errlen)
{
	const char *parts[] = {j->exec_name, j->a->id, "root"};
	char path[PATH_MAX];
	struct stat st;
	size_t n = strcmp(j->base, "/") ? strlen(j->base) : 0;
	int in, out, ret;

	memcpy(path, j->base, n);
	path[n] = '\0';
	/* Like Firecracker: parts that already exist are used as they are. */
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		n += (size_t)snprintf(path + n, sizeof(path) - n, "/%s", parts[i]);
		if (mkdir(path, 0755) == 0) {
			ret = jail_created(j, path, true);
			if (ret)
				return jail_fail(ret, err, errlen,
						 "chroot directory: too many paths");
		} else if (errno != EEXIST) {
			return jail_fail(-errno, err, errlen, "chroot directory: creating %s: %s",
					 path, strerror(errno));
		} else if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
			return jail_fail(-ENOTDIR, err, errlen,
					 "chroot directory: %s is not a directory", path);
		}
	}

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", j->root, j->exec_name) >= sizeof(path))
		return jail_fail(-ENAMETOOLONG, err, errlen,
				 "copying the exec file: %s/%s: too long", j->root, j->exec_name);
	in = open(j->exec_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return jail_fail(-errno, err, errlen, "copying the exec file: opening %s: %s",
				 j->exec_path, strerror(errno));
	if (fstat(in, &st)) {
		ret = -errno;
		close(in);
		return jail_fail(ret, err, errlen, "copying the exec file: %s: %s", j->exec_path,
				 strerror(-ret));
	}
	out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (out >= 0) {
		ret = jail_created(j, path, false);
	} else if (errno == EEXIST) {
		out = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		ret = 0;
	} else {
		ret = 0;
	}
	if (out < 0) {
		ret = -errno;
		close(in);
		return jail_fail(ret, err, errlen, "copying the exec file: creating %s: %s", path,
				 strerror(-ret));
	}
	/* A copy, not a link: two jailed embers share no pages of their binary. */
	if (!ret)
		ret = copy_file(in, out);
	if (!ret && fchmod(out, st.st_mode & 0777))
		ret = -errno;
	close(in);
	if (close(out) && !ret)
		ret = -errno;
	if (ret)
		return jail_fail(ret, err, errlen, "copying the exec file to %s: %s", path,
				 strerror(-ret));
	return 0;
}

int jail_join_netns(struct jail *j, char *err, size_t errlen)
{
	int fd, ret = 0;

	if (!j->a->netns)
		return 0;
	fd = open(j->a->netns, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	if (ret)
		return jail_fail(ret, err, errlen, "netns: joining %s: %s", j->a->netns,
				 strerror(-ret));
	return 0;
}

int jail_set_rlimits(struct jail *j, char *err, size_t errlen)
{
	struct rlimit r = {j->a->nofile, j->a->nofile};

	if (setrlimit(RLIMIT_NOFILE, &r))
		return jail_fail(-errno, err, errlen, "resource limits: no-file=%llu: %s",
				 j->a->nofile, strerror(errno));
	if (j->a->has_fsize) {
		r = (struct rlimit){j->a->fsize, j->a->fsize};
		if (setrlimit(RLIMIT_FSIZE, &r))
			return jail_fail(-errno, err, errlen, "resource limits: fsize=%llu: %s",
					 j->a->fsize, strerror(errno));
	}
	return 0;
}

int jail_join_cgroups(struct jail *j, char *err, size_t errlen)
{
	return cg_apply(&j->cg, getpid(), err, errlen);
}

void jail_undo(struct jail *j)
{
	if (j->dropped)
		return;
	/* Back to the caller's mount namespace (and its root): the host paths work again. */
	if (j->mntns_fd >= 0) {
		setns(j->mntns_fd, CLONE_NEWNS);
		close(j->mntns_fd);
		j->mntns_fd = -1;
	}
	cg_undo(&j->cg, getpid());
	while (j->n_undo > 0) {
		j->n_undo--;
		if (j->undo[j->n_undo].dir)
			rmdir(j->undo[j->n_undo].path);
		else
			unlink(j->undo[j->n_undo].path);
	}
}
