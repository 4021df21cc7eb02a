/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ember-jailer's command line, Firecracker's jailer's flags and rules: parsed and
 * checked here without touching the filesystem (jail.c checks the paths, cgroup.c
 * the hierarchies), so the unit tests cover every refusal.
 */
#ifndef EMBER_JAILER_ARGS_H
#define EMBER_JAILER_ARGS_H

#include <stdbool.h>
#include <stddef.h>

/* ember's version (EMBER_VERSION, vmm/controller.h; test_jailer_args checks they agree). */
#define JAIL_VERSION "0.1.0"

#define JAIL_ERR_MAX	    512
#define JAIL_ID_MAX	    64 /* Firecracker's limit on --id */
#define JAIL_CGROUPS_MAX    32
#define JAIL_CG_FILE_MAX    128
#define JAIL_DEFAULT_BASE   "/srv/jailer"
#define JAIL_DEFAULT_NOFILE 2048ULL /* Firecracker's default no-file limit */

/* One --cgroup FILE=VALUE: FILE is <controller>.<property>. */
struct jail_cgroup_arg {
	const char *arg; /* as given, for messages */
	char file[JAIL_CG_FILE_MAX];
	char controller[JAIL_CG_FILE_MAX];
	const char *value; /* points into argv */
};

struct jail_args {
	const char *id;
	const char *exec_file;
	const char *chroot_base;   /* JAIL_DEFAULT_BASE unless given */
	const char *netns;	   /* NULL: stay in the caller's network namespace */
	const char *parent_cgroup; /* NULL: the exec file's name */
	unsigned int uid, gid;
	int cgroup_version; /* 1 (default) or 2 */
	bool daemonize;
	bool new_pid_ns;
	size_t n_cgroups;
	struct jail_cgroup_arg cgroups[JAIL_CGROUPS_MAX];
	bool has_fsize;
	unsigned long long fsize;  /* RLIMIT_FSIZE, bytes */
	unsigned long long nofile; /* RLIMIT_NOFILE */
	char **extra;		   /* everything after "--": ember's own arguments */
	int n_extra;
};

enum jail_parse_result {
	JAIL_PARSE_RUN = 0,
	JAIL_PARSE_HELP,
	JAIL_PARSE_VERSION,
};

/*
 * Parses argv (argv[0] is the program) into @a. Returns a jail_parse_result, or
 * -EINVAL with one line in @err naming the flag and the value. Values point into argv.
 */
int jail_args_parse(int argc, char **argv, struct jail_args *a, char *err, size_t errlen);

/* Firecracker's instance id rule: 1 to 64 letters, digits and '-'. 0 or -EINVAL. */
int jail_check_id(const char *id, char *err, size_t errlen);

/* The usage text (--help). */
const char *jail_usage(void);

#endif
