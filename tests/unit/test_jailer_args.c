// SPDX-License-Identifier: Apache-2.0
/* ember-jailer's command line (src/jailer/args.c): Firecracker's flags and every refusal. */
#include "test.h"
#include "jailer/args.h"
#include "vmm/controller.h" /* EMBER_VERSION only: the jailer reports the same version */

#include <errno.h>

#define MAX_ARGS 64

static struct jail_args args;
static char err[JAIL_ERR_MAX];

/* Parses the NULL-terminated words after "ember-jailer". */
static int parse_words(const char *const *words)
{
	static char store[MAX_ARGS][128], *argv[MAX_ARGS];
	int argc = 0;

	for (const char *w = "ember-jailer"; w && argc < MAX_ARGS - 1; w = *words++) {
		snprintf(store[argc], sizeof(store[argc]), "%s", w);
		argv[argc] = store[argc];
		argc++;
	}
	argv[argc] = NULL;
	err[0] = '\0';
	return jail_args_parse(argc, argv, &args, err, sizeof(err));
}
#define PARSE(...) parse_words((const char *const[]){__VA_ARGS__, NULL})

/* The four required flags, then @...: must parse. */
#define BASE "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "123", "--gid", "100"

/* Must be refused with a line containing @want. */
#define REFUSED(want, ...)                             \
	do {                                           \
		CHECK_EQ(PARSE(__VA_ARGS__), -EINVAL); \
		CHECK_CONTAINS(err, want);             \
		CHECK(!strchr(err, '\n'));             \
	} while (0)

TEST(required_flags_and_defaults)
{
	CHECK_EQ(PARSE(BASE), JAIL_PARSE_RUN);
	CHECK_STR(args.id, "vm-1");
	CHECK_STR(args.exec_file, "/usr/bin/ember");
	CHECK_EQ(args.uid, 123);
	CHECK_EQ(args.gid, 100);
	CHECK_STR(args.chroot_base, "/srv/jailer");
	CHECK(!args.netns);
	CHECK(!args.parent_cgroup);
	CHECK_EQ(args.cgroup_version, 1);
	CHECK(!args.daemonize && !args.new_pid_ns);
	CHECK_EQ(args.n_cgroups, 0);
	CHECK_EQ(args.nofile, 2048);
	CHECK(!args.has_fsize);
	CHECK_EQ(args.n_extra, 0);
}

TEST(every_flag)
{
	CHECK_EQ(PARSE(BASE, "--chroot-base-dir", "/jails", "--netns", "/var/run/netns/x",
		       "--daemonize", "--new-pid-ns", "--cgroup", "cpu.shares=512", "--cgroup",
		       "cpuset.cpus=0-1", "--cgroup-version=2", "--parent-cgroup", "a/b",
		       "--resource-limit", "fsize=1000", "--resource-limit=no-file=64", "--",
		       "--api-sock", "/run/api.sock", "--level", "Debug"),
		 JAIL_PARSE_RUN);
	CHECK_STR(args.chroot_base, "/jails");
	CHECK_STR(args.netns, "/var/run/netns/x");
	CHECK(args.daemonize && args.new_pid_ns);
	CHECK_EQ(args.cgroup_version, 2);
	CHECK_STR(args.parent_cgroup, "a/b");
	CHECK_EQ(args.n_cgroups, 2);
	CHECK_STR(args.cgroups[0].file, "cpu.shares");
	CHECK_STR(args.cgroups[0].controller, "cpu");
	CHECK_STR(args.cgroups[0].value, "512");
	CHECK_STR(args.cgroups[1].controller, "cpuset");
	CHECK_STR(args.cgroups[1].value, "0-1");
	CHECK(args.has_fsize);
	CHECK_EQ(args.fsize, 1000);
	CHECK_EQ(args.nofile, 64);
	CHECK_EQ(args.n_extra, 4);
	CHECK_STR(args.extra[0], "--api-sock");
	CHECK_STR(args.extra[3], "Debug");
}

TEST(help_and_version)
{
	CHECK_EQ(PARSE("--help"), JAIL_PARSE_HELP);
	CHECK_EQ(PARSE("--version"), JAIL_PARSE_VERSION);
	CHECK_EQ(PARSE("--id", "x", "--version"), JAIL_PARSE_VERSION);
	CHECK_CONTAINS(jail_usage(), "--resource-limit");
	CHECK_STR(JAIL_VERSION, EMBER_VERSION);
}

TEST(missing_required)
{
	REFUSED("--id is required", "--exec-file", "/e", "--uid", "1", "--gid", "1");
	REFUSED("--exec-file is required", "--id", "a", "--uid", "1", "--gid", "1");
	REFUSED("--uid is required", "--id", "a", "--exec-file", "/e", "--gid", "1");
	REFUSED("--gid is required", "--id", "a", "--exec-file", "/e", "--uid", "1");
	REFUSED("--id: missing its value", "--id");
	REFUSED("--uid: missing its value", "--id", "a", "--uid", "--gid", "1");
}

TEST(bad_id)
{
	char long_id[JAIL_ID_MAX + 2];

	REFUSED("--id \"a/b\": '/' is not allowed", "--id", "a/b", "--exec-file", "/e", "--uid",
		"1", "--gid", "1");
	REFUSED("--id \"..\": '.' is not allowed", "--id", "..", "--exec-file", "/e", "--uid", "1",
		"--gid", "1");
	REFUSED("--id \"\": empty", "--id=", "--exec-file", "/e", "--uid", "1", "--gid", "1");
	memset(long_id, 'a', JAIL_ID_MAX + 1);
	long_id[JAIL_ID_MAX + 1] = '\0';
	REFUSED("65 characters, at most 64", "--id", long_id, "--exec-file", "/e", "--uid", "1",
		"--gid", "1");
	long_id[JAIL_ID_MAX] = '\0';
	CHECK_EQ(PARSE("--id", long_id, "--exec-file", "/e", "--uid", "1", "--gid", "1"), 0);
	CHECK_EQ(jail_check_id("551e7604-e35c-42b3-b825-416853441234", err, sizeof(err)), 0);
}

TEST(bad_uid_gid)
{
	REFUSED("--uid \"abc\"", "--id", "a", "--exec-file", "/e", "--uid", "abc", "--gid", "1");
	REFUSED("--uid \"-1\"", "--id", "a", "--exec-file", "/e", "--uid=-1", "--gid", "1");
	REFUSED("--uid \"4294967295\"", "--id", "a", "--exec-file", "/e", "--uid", "4294967295",
		"--gid", "1");
	REFUSED("--gid \"1x\"", "--id", "a", "--exec-file", "/e", "--uid", "1", "--gid", "1x");
	REFUSED("--gid \" 1\"", "--id", "a", "--exec-file", "/e", "--uid", "1", "--gid", " 1");
	CHECK_EQ(PARSE("--id", "a", "--exec-file", "/e", "--uid", "0", "--gid", "4294967294"), 0);
	CHECK_EQ(args.gid, 4294967294U);
}

TEST(bad_cgroup)
{
	REFUSED("--cgroup \"cpu.shares\": expected FILE=VALUE", BASE, "--cgroup", "cpu.shares");
	REFUSED("--cgroup \"cpu.shares=\": expected FILE=VALUE", BASE, "--cgroup", "cpu.shares=");
	REFUSED("--cgroup \"=1\": expected FILE=VALUE", BASE, "--cgroup", "=1");
	REFUSED("not a controller's file", BASE, "--cgroup", "../../tasks=1");
	REFUSED("not a controller's file", BASE, "--cgroup", "cpu/../x.y=1");
	REFUSED("not a controller's file", BASE, "--cgroup", "tasks=1");
	REFUSED("not a controller's file", BASE, "--cgroup", ".shares=1");
	REFUSED("not a controller's file", BASE, "--cgroup", "cpu..x=1");
	REFUSED("the cgroup's own file", BASE, "--cgroup", "cgroup.procs=1");
	REFUSED("--cgroup-version \"3\": must be 1 or 2", BASE, "--cgroup-version", "3");
	REFUSED("--parent-cgroup \"/abs\"", BASE, "--parent-cgroup", "/abs");
	REFUSED("--parent-cgroup \"a/../b\"", BASE, "--parent-cgroup", "a/../b");
	REFUSED("--parent-cgroup \"./a\"", BASE, "--parent-cgroup", "./a");
	/* A value may hold '=' (only the first one splits). */
	CHECK_EQ(PARSE(BASE, "--cgroup", "hugetlb.2MB.max=1=2"), 0);
	CHECK_STR(args.cgroups[0].file, "hugetlb.2MB.max");
	CHECK_STR(args.cgroups[0].controller, "hugetlb");
	CHECK_STR(args.cgroups[0].value, "1=2");
}

TEST(bad_resource_limit)
{
	REFUSED("unknown resource \"nproc\"", BASE, "--resource-limit", "nproc=10");
	REFUSED("--resource-limit \"fsize\": expected RESOURCE=N", BASE, "--resource-limit",
		"fsize");
	REFUSED("\"ten\" is not a number", BASE, "--resource-limit", "no-file=ten");
	REFUSED("\"-1\" is not a number", BASE, "--resource-limit", "fsize=-1");
	CHECK_EQ(PARSE(BASE, "--resource-limit", "fsize=0"), 0);
	CHECK(args.has_fsize);
	CHECK_EQ(args.fsize, 0);
}

TEST(unknown_duplicate_and_stray)
{
	REFUSED("unknown flag \"--node\"", BASE, "--node", "0");
	REFUSED("unknown flag \"--nope\"", BASE, "--nope");
	REFUSED("unexpected argument \"stray\"", BASE, "stray");
	REFUSED("--id given twice", BASE, "--id", "other");
	REFUSED("--daemonize takes no value", BASE, "--daemonize=yes");
	REFUSED("--new-pid-ns given twice", BASE, "--new-pid-ns", "--new-pid-ns");
	REFUSED("--uid given twice (\"123\", then \"7\")", BASE, "--uid", "7");
	REFUSED("--netns \"\": empty path", BASE, "--netns=");
	REFUSED("--chroot-base-dir \"\": empty path", BASE, "--chroot-base-dir=");
	REFUSED("--exec-file \"\": empty path", "--id", "a", "--exec-file=", "--uid", "1", "--gid",
		"1");
	/* Repeatable flags repeat; flags after "--" are ember's. */
	CHECK_EQ(PARSE(BASE, "--cgroup", "a.b=1", "--cgroup", "a.c=2", "--", "--id", "x"), 0);
	CHECK_EQ(args.n_cgroups, 2);
	CHECK_EQ(args.n_extra, 2);
}

TEST_MAIN(TEST_ENTRY(required_flags_and_defaults), TEST_ENTRY(every_flag),
	  TEST_ENTRY(help_and_version), TEST_ENTRY(missing_required), TEST_ENTRY(bad_id),
	  TEST_ENTRY(bad_uid_gid), TEST_ENTRY(bad_cgroup), TEST_ENTRY(bad_resource_limit),
	  TEST_ENTRY(unknown_duplicate_and_stray))
