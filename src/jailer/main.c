// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer: Firecracker's jailer for ember. Checks every input, then builds the
 * jail in Firecracker's order and execs ember inside it (jail.h has the steps). Bad
 * input: one line naming the flag and the value, exit 1, nothing created. A step that
 * fails: one line naming the step, what the earlier steps created is removed, exit 1.
 */
#include "jailer/args.h"
#include "jailer/jail.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long clock_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000;
}

int main(int argc, char **argv)
{
	/* Firecracker's start times: ember's boot timer counts from the jailer's start. */
	unsigned long long start_us = clock_us(CLOCK_MONOTONIC);
	unsigned long long start_cpu_us = clock_us(CLOCK_PROCESS_CPUTIME_ID);
	/* Firecracker's order. */
	static int (*const steps[])(struct jail *, char *, size_t) = {
	    jail_make_root,    /* <base>/<exec name>/<id>/root, a copy of ember */
	    jail_join_netns,   /* --netns */
	    jail_set_rlimits,  /* --resource-limit */
	    jail_join_cgroups, /* --cgroup */
	    jail_enter,	       /* mount namespace, pivot_root, chroot */
	    jail_make_devices, /* /dev/kvm, /dev/net/tun, ... */
	    jail_detach,       /* --daemonize, --new-pid-ns, the pid file */
	    jail_exec,	       /* uid, gid, no capabilities, no-new-privs, exec */
	};
	char err[JAIL_ERR_MAX];
	struct jail_args args;
	struct jail *j;
	int ret;

	ret = jail_args_parse(argc, argv, &args, err, sizeof(err));
	if (ret < 0) {
		fprintf(stderr, "ember-jailer: %s\n", err);
		return 1;
	}
	if (ret == JAIL_PARSE_HELP) {
		fputs(jail_usage(), stdout);
		return 0;
	}
	if (ret == JAIL_PARSE_VERSION) {
		printf("ember-jailer v%s\n", JAIL_VERSION);
		return 0;
	}
	j = malloc(sizeof(*j));
	if (!j) {
		fputs("ember-jailer: out of memory\n", stderr);
		return 1;
	}
	ret = jail_check(j, &args, &jail_host_default, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "ember-jailer: %s\n", err);
		free(j);
		return 1;
	}
	jail_sanitize();
	j->start_us = start_us;
	j->cpu_base_us = start_cpu_us;
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		ret = steps[i](j, err, sizeof(err));
		if (ret)
			break;
	}
	/* Only a failure comes back: jail_exec does not return otherwise. */
	if (j->dropped)
		fprintf(stderr,
			"ember-jailer: %s (after dropping privileges: %s is left as it is)\n", err,
			j->root);
	else
		fprintf(stderr, "ember-jailer: %s (what the jailer created is removed)\n", err);
	jail_undo(j);
	free(j);
	return 1;
}
