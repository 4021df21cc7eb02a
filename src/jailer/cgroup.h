/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The microVM's cgroups, as Firecracker's jailer makes them: <hierarchy>/<parent>/<id>
 * in every cgroup v1 hierarchy a --cgroup names (found from /proc/mounts), or one
 * directory of the cgroup2 hierarchy with the controllers enabled down its parents'
 * cgroup.subtree_control. cg_plan checks everything it can before anything exists;
 * cg_apply creates, writes and joins; cg_undo removes what cg_apply made.
 */
#ifndef EMBER_JAILER_CGROUP_H
#define EMBER_JAILER_CGROUP_H

#include "jailer/args.h"

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define CG_DIRS_MAX   16 /* v1 hierarchies one jail may use */
#define CG_LEVELS_MAX 32 /* components of <parent>/<id> */
#define CG_NAMES_MAX  256

struct cg_dir {
	char mount[PATH_MAX];		   /* the hierarchy's mount point */
	char path[PATH_MAX];		   /* <mount>/<parent>/<id> */
	char controller[JAIL_CG_FILE_MAX]; /* v1: one controller of it (finds /proc/self/cgroup) */
	bool cpuset;			   /* v1 cpuset: cpus and mems inherited down the path */
	bool existing;			   /* join an existing directory, create nothing */
	/* What cg_apply did, for cg_undo. */
	int first_created; /* the first level cg_apply made (1-based), 0: none */
	bool joined;
	char orig[PATH_MAX]; /* the cgroup (relative to mount) the process was in */
};

struct cg_plan {
	int version;	    /* 1 or 2; 0: nothing to do */
	int levels;	    /* components of rel */
	char rel[PATH_MAX]; /* <parent>/<id>, single slashes */
	size_t n_dirs;
	struct cg_dir dirs[CG_DIRS_MAX];
	size_t n_writes;
	struct {
		size_t dir;
		const struct jail_cgroup_arg *cg;
	} writes[JAIL_CGROUPS_MAX];
	char v2_controllers[CG_NAMES_MAX]; /* v2: to enable, space-separated */
	/* v2, for cg_undo: the controllers cg_apply enabled at each level (0 = mount). */
	char v2_enabled[CG_LEVELS_MAX][CG_NAMES_MAX];
	const char *proc_cgroup; /* /proc/self/cgroup (tests: a file of theirs) */
};

/*
 * Plans @a's cgroups for the jail of @exec_name: reads @mounts (/proc/mounts) and,
 * for v2, the hierarchy's cgroup.controllers. -EINVAL (with one line in @err naming
 * the --cgroup and the reason) when a controller has no hierarchy.
 */
int cg_plan(struct cg_plan *p, const struct jail_args *a, const char *exec_name, const char *mounts,
	    char *err, size_t errlen);

/*
 * Creates the directories, enables the controllers (v2), writes every value, then
 * moves the process @pid in. On failure: -errno with the step in @err; what it did
 * stays recorded in @p for cg_undo.
 */
int cg_apply(struct cg_plan *p, int pid, char *err, size_t errlen);

/* Moves @pid back where it was and removes what cg_apply created. Best effort. */
void cg_undo(struct cg_plan *p, int pid);

/*
 * /proc/mounts helpers, for the tests too: the mount point of the cgroup v1
 * hierarchy with @controller, or of the cgroup2 hierarchy (@controller NULL) into
 * @out. -ENOENT if none, -errno if @mounts cannot be read.
 */
int cg_find_mount(const char *mounts, const char *controller, char *out, size_t outlen);

#endif
