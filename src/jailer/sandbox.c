// SPDX-License-Identifier: Apache-2.0
/*
 * The jail's inside (jail.h): the mount namespace and pivot_root, the directories and
 * device nodes ember needs, daemonizing and the PID namespace, the pid file, and the
 * last step: dropping every privilege and exec'ing ember.
 */
#include "jailer/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OLD_ROOT "old_root"

static unsigned long long cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

/* Records /@inside (a path in the jail) for jail_undo by its host path. */
static int created_inside(struct jail *j, const char *inside, bool dir)
{
	char host[PATH_MAX];

	if ((size_t)snprintf(host, sizeof(host), "%s%s", j->root, inside) >= sizeof(host))
		return -ENAMETOOLONG;
	return jail_created(j, host, dir);
}

int jail_enter(struct jail *j, char *err, size_t errlen)
{
	static const char *const dirs[] = {"/", "/dev", "/dev/net", "/run"};
	static const char *const pvm_dirs[] = {"/sys", "/sys/module", "/sys/module/kvm_pvm"};
	int ns;

	/* Opened outside the jail: /dev/null for --daemonize, the way back for jail_undo. */
	if (j->a->daemonize) {
		j->devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (j->devnull_fd < 0)
			return jail_fail(-errno, err, errlen, "daemonize: opening /dev/null: %s",
					 strerror(errno));
	}
	ns = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return jail_fail(-errno, err, errlen,
				 "mount namespace: opening /proc/self/ns/mnt: %s", strerror(errno));
	if (unshare(CLONE_NEWNS)) {
		close(ns);
		return jail_fail(-errno, err, errlen, "mount namespace: unshare: %s",
				 strerror(errno));
	}
	j->mntns_fd = ns;
	/* Nothing of what follows may propagate back to the host's mounts. */
	if (mount(NULL, "/", NULL, MS_PRIVATE | MS_REC, NULL))
		return jail_fail(-errno, err, errlen, "mount namespace: making / private: %s",
				 strerror(errno));
	/* pivot_root wants the new root to be a mount point. */
	if (mount(j->root, j->root, NULL, MS_BIND, NULL))
		return jail_fail(-errno, err, errlen, "jail: binding %s on itself: %s", j->root,
				 strerror(errno));
	if (chdir(j->root))
		return jail_fail(-errno, err, errlen, "jail: chdir %s: %s", j->root,
				 strerror(errno));
	if (mkdir(OLD_ROOT, 0700))
		return jail_fail(-errno, err, errlen, "jail: creating %s/" OLD_ROOT ": %s", j->root,
				 strerror(errno));
	if (created_inside(j, "/" OLD_ROOT, true)) {
		rmdir(OLD_ROOT);
		return jail_fail(-E2BIG, err, errlen, "jail: too many paths to undo");
	}
	if (syscall(SYS_pivot_root, ".", OLD_ROOT))
		return jail_fail(-errno, err, errlen, "jail: pivot_root to %s: %s", j->root,
				 strerror(errno));
	if (umount2(OLD_ROOT, MNT_DETACH))
		return jail_fail(-errno, err, errlen, "jail: detaching the old root: %s",
				 strerror(errno));
	if (rmdir(OLD_ROOT))
		return jail_fail(-errno, err, errlen, "jail: removing /" OLD_ROOT ": %s",
				 strerror(errno));
	j->n_undo--; /* old_root is gone */
	if (chroot(".") || chdir("/"))
		return jail_fail(-errno, err, errlen, "jail: chroot: %s", strerror(errno));

	/* ember's API socket goes in /run by default; its devices in /dev. */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (mkdir(dirs[i], 0700) == 0)
			created_inside(j, dirs[i], true);
		else if (errno != EEXIST)
			return jail_fail(-errno, err, errlen, "jail: creating %s: %s", dirs[i],
					 strerror(errno));
		if (chmod(dirs[i], 0700) || chown(dirs[i], j->a->uid, j->a->gid))
			return jail_fail(-errno, err, errlen, "jail: giving %s to %u:%u: %s",
					 dirs[i], j->a->uid, j->a->gid, strerror(errno));
	}
	/*
	 * ember tells kvm_pvm from hardware KVM by /sys/module/kvm_pvm (vmm/kvm.c) and then
	 * completes what PVM's emulator cannot run: the jail shows it the same, as
	 * Firecracker's jailer copies the sysfs files its VMM reads on aarch64.
	 */
	for (size_t i = 0; j->kvm_pvm && i < sizeof(pvm_dirs) / sizeof(pvm_dirs[0]); i++) {
		if (mkdir(pvm_dirs[i], 0755) == 0)
			created_inside(j, pvm_dirs[i], true);
		else if (errno != EEXIST)
			return jail_fail(-errno, err, errlen, "jail: creating %s: %s", pvm_dirs[i],
					 strerror(errno));
	}
	return 0;
}

static int make_node(struct jail *j, const char *path, unsigned int major, unsigned int minor,
		     char *err, size_t errlen)
{
	if (mknod(path, S_IFCHR | S_IRUSR | S_IWUSR, makedev(major, minor)))
		return jail_fail(-errno, err, errlen, "devices: mknod %s (%u, %u): %s", path, major,
				 minor, strerror(errno));
	created_inside(j, path, false);
	if (chown(path, j->a->uid, j->a->gid))
		return jail_fail(-errno, err, errlen, "devices: giving %s to %u:%u: %s", path,
				 j->a->uid, j->a->gid, strerror(errno));
	return 0;
}

int jail_make_devices(struct jail *j, char *err, size_t errlen)
{
	int ret;

	ret = make_node(j, "/dev/kvm", 10, 232, err, errlen);
	if (!ret)
		ret = make_node(j, "/dev/net/tun", 10, 200, err, errlen);
	if (ret)
		return ret;
	/* As Firecracker: without /dev/urandom only MMDS tokens are missing; go on. */
	if (make_node(j, "/dev/urandom", 1, 9, err, errlen))
		fprintf(stderr, "ember-jailer: warning: %s\n", err);
	/* A misc device with a dynamic minor: only where the host has it (/proc/misc). */
	if (j->uffd_minor >= 0)
		return make_node(j, "/dev/userfaultfd", 10, (unsigned int)j->uffd_minor, err,
				 errlen);
	return 0;
}

/* Writes @pid to /<exec_name>.pid, a new file. */
static int write_pid_file(struct jail *j, int pid, char *err, size_t errlen)
{
	char path[NAME_MAX + 8], num[16];
	int fd, n, ret = 0;

	snprintf(path, sizeof(path), "/%s.pid", j->exec_name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return jail_fail(-errno, err, errlen, "pid file: creating %s: %s", path,
				 strerror(errno));
	created_inside(j, path, false);
	n = snprintf(num, sizeof(num), "%d", pid);
	if (write(fd, num, (size_t)n) != n)
		ret = errno ? -errno : -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		return jail_fail(ret, err, errlen, "pid file: writing %s: %s", path,
				 strerror(-ret));
	return 0;
}

int jail_detach(struct jail *j, char *err, size_t errlen)
{
	pid_t pid;
	int ret;

	if (j->a->daemonize) {
		/* setsid fails in a process group leader: fork first; the first child is not. */
		j->cpu_spent_us += cpu_us() - j->cpu_base_us;
		j->cpu_base_us = 0;
		pid = fork();
		if (pid < 0)
			return jail_fail(-errno, err, errlen, "daemonize: fork: %s",
					 strerror(errno));
		if (pid > 0)
			_exit(0);
		if (setsid() < 0)
			return jail_fail(-errno, err, errlen, "daemonize: setsid: %s",
					 strerror(errno));
		/* Not a session leader: it can never acquire a controlling terminal. */
		j->cpu_spent_us += cpu_us();
		pid = fork();
		if (pid < 0)
			return jail_fail(-errno, err, errlen, "daemonize: fork: %s",
					 strerror(errno));
		if (pid > 0)
			_exit(0);
		if (dup2(j->devnull_fd, STDIN_FILENO) < 0 ||
		    dup2(j->devnull_fd, STDOUT_FILENO) < 0 ||
		    dup2(j->devnull_fd, STDERR_FILENO) < 0)
			return jail_fail(-errno, err, errlen, "daemonize: stdio to /dev/null: %s",
					 strerror(errno));
		close(j->devnull_fd);
		j->devnull_fd = -1;
	}
	if (!j->a->new_pid_ns)
		return write_pid_file(j, getpid(), err, errlen);

	/* The next child is pid 1 of a new PID namespace: it becomes ember. */
	j->cpu_spent_us += cpu_us() - j->cpu_base_us;
	j->cpu_base_us = 0;
	if (unshare(CLONE_NEWPID))
		return jail_fail(-errno, err, errlen, "PID namespace: unshare: %s",
				 strerror(errno));
	pid = fork();
	if (pid < 0)
		return jail_fail(-errno, err, errlen, "PID namespace: fork: %s", strerror(errno));
	if (pid == 0)
		return 0;
	ret = write_pid_file(j, pid, err, errlen);
	if (ret) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return ret;
	}
	_exit(0);
}

/* Empties the bounding set, then every capability set of this process. */
static int drop_caps(bool bounding, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

	for (int cap = 0; bounding; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL) /* past the last capability this kernel has */
			break;
		return jail_fail(-errno, err, errlen, "privileges: dropping capability %d: %s", cap,
				 strerror(errno));
	}
	if (bounding)
		return 0;
	if (syscall(SYS_capset, &hdr, data))
		return jail_fail(-errno, err, errlen, "privileges: capset: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return jail_fail(-errno, err, errlen,
				 "privileges: clearing ambient capabilities: %s", strerror(errno));
	return 0;
}

int jail_exec(struct jail *j, char *err, size_t errlen)
{
	char path[NAME_MAX + 2], id[JAIL_ID_MAX + 1], start[24], parent_cpu[24];
	char *envp[] = {NULL};
	pid_t parent = getppid();
	int pdeath = 0;
	char **argv;
	int n = 0, ret;

	argv = calloc((size_t)j->a->n_extra + 10, sizeof(*argv));
	if (!argv)
		return jail_fail(-ENOMEM, err, errlen, "exec: out of memory");
	snprintf(path, sizeof(path), "/%s", j->exec_name);
	snprintf(id, sizeof(id), "%s", j->a->id);
	snprintf(start, sizeof(start), "%llu", j->start_us);
	/* ember counts its own CPU time from its start; the jailer's comes apart. */
	snprintf(parent_cpu, sizeof(parent_cpu), "%llu",
		 j->cpu_spent_us + cpu_us() - j->cpu_base_us);
	argv[n++] = path;
	argv[n++] = (char *)"--id";
	argv[n++] = id;
	argv[n++] = (char *)"--start-time-us";
	argv[n++] = start;
	argv[n++] = (char *)"--start-time-cpu-us";
	argv[n++] = (char *)"0";
	argv[n++] = (char *)"--parent-cpu-time-us";
	argv[n++] = parent_cpu;
	for (int i = 0; i < j->a->n_extra; i++)
		argv[n++] = j->a->extra[i];

	prctl(PR_GET_PDEATHSIG, &pdeath);
	ret = drop_caps(true, err, errlen);
	if (ret)
		goto out;
	if (setgroups(0, NULL) || setresgid(j->a->gid, j->a->gid, j->a->gid)) {
		ret = jail_fail(-errno, err, errlen, "privileges: to gid %u: %s", j->a->gid,
				strerror(errno));
		goto out;
	}
	if (setresuid(j->a->uid, j->a->uid, j->a->uid)) {
		ret = jail_fail(-errno, err, errlen, "privileges: to uid %u: %s", j->a->uid,
				strerror(errno));
		goto out;
	}
	j->dropped = true;
	/* uid 0 keeps its capabilities through setresuid: clear them all. */
	ret = drop_caps(false, err, errlen);
	if (ret)
		goto out;
	/*
	 * Changing ids clears the parent-death signal: a parent that asked for one
	 * (ember-sandbox: no VM outlives it) keeps it. A parent gone meanwhile
	 * sent nothing: end here as its signal would have.
	 */
	if (pdeath && (prctl(PR_SET_PDEATHSIG, pdeath) || getppid() != parent)) {
		ret = jail_fail(-ESRCH, err, errlen,
				"privileges: the parent that set a parent-death signal is gone");
		goto out;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		ret =
		    jail_fail(-errno, err, errlen, "privileges: no-new-privs: %s", strerror(errno));
		goto out;
	}
	execve(path, argv, envp);
	ret = jail_fail(-errno, err, errlen, "exec: %s (in the jail): %s", path, strerror(errno));
out:
	free(argv);
	return ret;
}
