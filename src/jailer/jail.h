/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail: what ember-jailer checks, creates and enters, in Firecracker's order
 * (main.c runs the steps). Every step that fails fills @err with "<step>: <what>"
 * and returns -errno; jail_undo then removes what the steps created (files, the
 * chroot directories, cgroups), back in the caller's mount namespace if the jail
 * had entered its own.
 */
#ifndef EMBER_JAILER_JAIL_H
#define EMBER_JAILER_JAIL_H

#include "jailer/args.h"
#include "jailer/cgroup.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* At most 15 are made: 3 directories, the copy, 6 in the jail, 4 nodes, the pid file. */
#define JAIL_UNDO_MAX 24

struct jail {
	const struct jail_args *a;
	char exec_path[PATH_MAX];     /* --exec-file, canonical */
	char exec_name[NAME_MAX + 1]; /* its last component: the jail's directory and binary */
	char base[PATH_MAX];	      /* --chroot-base-dir, canonical */
	char root[PATH_MAX];	      /* <base>/<exec_name>/<id>/root */
	int uffd_minor;		      /* -1: the host has no /dev/userfaultfd */
	bool kvm_pvm;		      /* the host's KVM is kvm_pvm (/sys/module/kvm_pvm) */
	struct cg_plan cg;
	/* Timing handed to ember (microseconds). */
	unsigned long long start_us;	 /* CLOCK_MONOTONIC when the jailer started */
	unsigned long long cpu_base_us;	 /* this process's CPU time when it started */
	unsigned long long cpu_spent_us; /* CPU time of the jailer's processes that forked */
	/* Undo: what the steps created, host paths, oldest first. */
	size_t n_undo;
	struct {
		char path[PATH_MAX];
		bool dir;
	} undo[JAIL_UNDO_MAX];
	int mntns_fd;	/* the caller's mount namespace, once the jail has its own; or -1 */
	int devnull_fd; /* --daemonize: /dev/null, opened before the chroot; or -1 */
	bool dropped;	/* privileges are gone: jail_undo can no longer undo anything */
};

/* Host files the checks read (tests point them elsewhere). */
struct jail_host {
	const char *mounts;	 /* /proc/mounts */
	const char *misc;	 /* /proc/misc: the minor of /dev/userfaultfd */
	const char *proc_cgroup; /* /proc/self/cgroup */
	const char *kvm_pvm;	 /* /sys/module/kvm_pvm */
};
extern const struct jail_host jail_host_default;

/*
 * Checks every input that names something on the host, before anything is created:
 * the exec file (a regular, executable file), the chroot base (a directory), the
 * netns (a network namespace), the cgroup controllers (cg_plan). -EINVAL with one line.
 */
int jail_check(struct jail *j, const struct jail_args *a, const struct jail_host *host, char *err,
	       size_t errlen);

/* Closes every fd above 2 and empties the environment. */
void jail_sanitize(void);

/* Creates <base>/<exec_name>/<id>/root (the parts that are missing) and copies the exec file in. */
int jail_make_root(struct jail *j, char *err, size_t errlen);

int jail_join_netns(struct jail *j, char *err, size_t errlen);
int jail_set_rlimits(struct jail *j, char *err, size_t errlen);
int jail_join_cgroups(struct jail *j, char *err, size_t errlen);

/*
 * A new mount namespace with the jail's root as "/": make "/" private, bind the root
 * on itself, pivot_root, detach and remove the old root, chroot("."). Then the
 * directories ember uses (/, /dev, /dev/net, /run: 0700, owned by uid:gid; on a
 * kvm_pvm host /sys/module/kvm_pvm, which ember looks for) and the device nodes
 * (/dev/kvm, /dev/net/tun, /dev/urandom, /dev/userfaultfd if the host has it), owned
 * by uid:gid.
 */
int jail_enter(struct jail *j, char *err, size_t errlen);
int jail_make_devices(struct jail *j, char *err, size_t errlen);

/*
 * --daemonize (double fork, setsid, stdio on /dev/null) and --new-pid-ns (ember is
 * pid 1 of a new PID namespace); the process that goes on writes ember's pid (as the
 * host sees it) to /<exec_name>.pid. The processes that stop here exit 0.
 */
int jail_detach(struct jail *j, char *err, size_t errlen);

/*
 * Drops to uid:gid with no supplementary groups, no capabilities (bounding set
 * included) and no-new-privs, then execs /<exec_name> with --id, the start times
 * and the arguments after "--". Returns only on failure (nothing can be undone then).
 */
int jail_exec(struct jail *j, char *err, size_t errlen);

/* Removes what the steps created (cgroups, files, directories), newest first. */
void jail_undo(struct jail *j);

/* Writes the message into @err (@len bytes) and returns @ret: every step's failure path. */
__attribute__((format(printf, 4, 5))) int jail_fail(int ret, char *err, size_t len, const char *fmt,
						    ...);

/* Records @path (a host path) for jail_undo. */
int jail_created(struct jail *j, const char *path, bool dir);

#endif
