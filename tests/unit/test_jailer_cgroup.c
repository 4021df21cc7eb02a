// SPDX-License-Identifier: Apache-2.0
/*
 * The jailer's cgroups (src/jailer/cgroup.c) on a fake /proc/mounts and a fake
 * hierarchy of plain files: which hierarchy each --cgroup lands in, the refusals,
 * what cg_apply writes (cpuset inheritance, v2 subtree_control) and what cg_undo undoes.
 */
#include "test.h"
#include "jailer_fs.h"
#include "jailer/args.h"
#include "jailer/cgroup.h"

#include <errno.h>

static struct jail_args args;
static struct cg_plan plan;
static char err[JAIL_ERR_MAX];

/* A host with v1 cpu,cpuacct and cpuset, pids under a path with a blank, and cgroup2. */
static const char *fake_mounts(bool v2)
{
	static char mounts[PATH_MAX];
	char text[4096];

	snprintf(mounts, sizeof(mounts), "%s/mounts", fs_root);

	snprintf(text, sizeof(text),
		 "/dev/vda / ext4 rw,relatime 0 0\n"
		 "tmpfs %s tmpfs rw 0 0\n"
		 "cgroup %s/cpu cgroup rw,nosuid,relatime,cpu,cpuacct 0 0\n"
		 "cgroup %s/cpuset cgroup rw,relatime,cpuset 0 0\n"
		 "cgroup %s/with\\040blank cgroup rw,pids 0 0\n"
		 "cgroup %s/systemd cgroup rw,name=systemd 0 0\n"
		 "%s%s%s",
		 fs_root, fs_root, fs_root, fs_root, fs_root, v2 ? "cgroup2 " : "",
		 v2 ? fs_root : "", v2 ? "/unified cgroup2 rw,nsdelegate 0 0\n" : "");
	fs_write(mounts, text, 0644);
	return mounts;
}

/* Parses the jailer's flags for id vm-1 of /usr/bin/ember, then @...; must parse. */
static void flags(const char *const *extra)
{
	static char store[32][128], *argv[32];
	const char *base[] = {
	    "ember-jailer", "--id", "vm-1", "--exec-file", "/usr/bin/ember", "--uid", "1",
	    "--gid",	    "1"};
	int argc = 0;

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		snprintf(store[argc++], sizeof(store[0]), "%s", base[i]);
	for (; *extra; extra++)
		snprintf(store[argc++], sizeof(store[0]), "%s", *extra);
	for (int i = 0; i < argc; i++)
		argv[i] = store[i];
	argv[argc] = NULL;
	CHECK_EQ(jail_args_parse(argc, argv, &args, err, sizeof(err)), JAIL_PARSE_RUN);
}
#define FLAGS(...) flags((const char *const[]){__VA_ARGS__, NULL})

TEST(find_mount)
{
	char out[PATH_MAX];
	const char *m;

	fs_setup();
	m = fake_mounts(true);
	CHECK_EQ(cg_find_mount(m, "cpu", out, sizeof(out)), 0);
	CHECK_STR(out, fs_path("cpu"));
	CHECK_EQ(cg_find_mount(m, "cpuacct", out, sizeof(out)), 0);
	CHECK_STR(out, fs_path("cpu"));
	CHECK_EQ(cg_find_mount(m, "cpuset", out, sizeof(out)), 0);
	CHECK_STR(out, fs_path("cpuset"));
	CHECK_EQ(cg_find_mount(m, "pids", out, sizeof(out)), 0);
	CHECK_STR(out, fs_path("with blank"));
	CHECK_EQ(cg_find_mount(m, "memory", out, sizeof(out)), -ENOENT);
	CHECK_EQ(cg_find_mount(m, "systemd", out, sizeof(out)), -ENOENT); /* name=systemd */
	CHECK_EQ(cg_find_mount(m, NULL, out, sizeof(out)), 0);
	CHECK_STR(out, fs_path("unified"));
	CHECK_EQ(cg_find_mount(fake_mounts(false), NULL, out, sizeof(out)), -ENOENT);
	CHECK_EQ(cg_find_mount(fs_path("none"), "cpu", out, sizeof(out)), -ENOENT);
	fs_teardown();
}

TEST(plan_v1)
{
	fs_setup();
	FLAGS("--cgroup", "cpu.shares=5", "--cgroup", "cpuacct.x=1", "--cgroup", "cpuset.cpus=1",
	      "--parent-cgroup", "a//b/");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	CHECK_EQ(plan.version, 1);
	CHECK_STR(plan.rel, "a/b/vm-1");
	CHECK_EQ(plan.levels, 3);
	CHECK_EQ(plan.n_dirs, 2); /* cpu and cpuacct share a hierarchy */
	CHECK_STR(plan.dirs[0].path, fs_path("cpu/a/b/vm-1"));
	CHECK(!plan.dirs[0].cpuset);
	CHECK_STR(plan.dirs[1].path, fs_path("cpuset/a/b/vm-1"));
	CHECK(plan.dirs[1].cpuset);
	CHECK_EQ(plan.n_writes, 3);
	CHECK_EQ(plan.writes[1].dir, 0);
	CHECK_EQ(plan.writes[2].dir, 1);

	/* The default parent is the exec file's name; no --cgroup, nothing to do. */
	FLAGS("--cgroup", "pids.max=10");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	CHECK_STR(plan.dirs[0].path, fs_path("with blank/ember/vm-1"));
	FLAGS("--daemonize");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	CHECK_EQ(plan.version, 0);
	CHECK_EQ(plan.n_dirs, 0);
	fs_teardown();
}

TEST(plan_refusals)
{
	fs_setup();
	FLAGS("--cgroup", "cpu.shares=5", "--cgroup", "memory.limit_in_bytes=1");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--cgroup \"memory.limit_in_bytes=1\": no cgroup v1 hierarchy has the "
			    "\"memory\" controller");

	fs_mkdir(fs_path("unified"));
	fs_write(fs_path("unified/cgroup.controllers"), "cpu hugetlb\n", 0644);
	FLAGS("--cgroup-version", "2", "--cgroup", "pids.max=10");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--cgroup \"pids.max=10\": the cgroup2 hierarchy at ");
	CHECK_CONTAINS(err, "has no \"pids\" controller (it has: cpu hugetlb)");

	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "--cgroup-version 2: no cgroup2 hierarchy in ");
	fs_teardown();
}

TEST(plan_v2)
{
	fs_setup();
	fs_mkdir(fs_path("unified"));
	fs_write(fs_path("unified/cgroup.controllers"), "cpu hugetlb\n", 0644);
	FLAGS("--cgroup-version", "2", "--cgroup", "hugetlb.2MB.max=0", "--cgroup", "cpu.weight=5",
	      "--cgroup", "hugetlb.1GB.max=0");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), 0);
	CHECK_EQ(plan.version, 2);
	CHECK_EQ(plan.n_dirs, 1);
	CHECK_STR(plan.dirs[0].path, fs_path("unified/ember/vm-1"));
	CHECK_STR(plan.v2_controllers, "hugetlb cpu");

	/* v2 with no --cgroup: join the parent cgroup if it exists (Firecracker's rule). */
	FLAGS("--cgroup-version", "2", "--parent-cgroup", "pool");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), 0);
	CHECK_EQ(plan.n_dirs, 0);
	fs_mkdir(fs_path("unified/pool"));
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), 0);
	CHECK_EQ(plan.n_dirs, 1);
	CHECK(plan.dirs[0].existing);
	CHECK_STR(plan.dirs[0].path, fs_path("unified/pool"));
	fs_teardown();
}

/* A fake v1 tree: the cgroup files exist (cgroupfs would make them). */
static void fake_v1_tree(void)
{
	fs_mkdir(fs_path("cpu/ember/vm-1"));
	fs_mkdir(fs_path("cpu/orig"));
	fs_write(fs_path("cpu/orig/cgroup.procs"), "", 0644);
	fs_write(fs_path("cpu/ember/vm-1/cpu.shares"), "1024\n", 0644);
	fs_write(fs_path("cpu/ember/vm-1/cgroup.procs"), "", 0644);
	fs_mkdir(fs_path("cpuset/ember/vm-1"));
	fs_write(fs_path("cpuset/cgroup.procs"), "", 0644);
	fs_write(fs_path("cpuset/cpuset.cpus"), "0-3\n", 0644);
	fs_write(fs_path("cpuset/cpuset.mems"), "0\n", 0644);
	fs_write(fs_path("cpuset/ember/cpuset.cpus"), "", 0644);
	fs_write(fs_path("cpuset/ember/cpuset.mems"), "", 0644);
	fs_write(fs_path("cpuset/ember/vm-1/cpuset.cpus"), "", 0644);
	fs_write(fs_path("cpuset/ember/vm-1/cpuset.mems"), "", 0644);
	fs_write(fs_path("cpuset/ember/vm-1/cgroup.procs"), "", 0644);
	fs_write(fs_path("self_cgroup"), "3:cpuset:/\n1:cpu,cpuacct:/orig\n0::/\n", 0644);
}

TEST(apply_and_undo_v1)
{
	fs_setup();
	fake_v1_tree();
	FLAGS("--cgroup", "cpu.shares=5", "--cgroup", "cpuset.cpus=1");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	plan.proc_cgroup = fs_path("self_cgroup");
	CHECK_EQ(cg_apply(&plan, 4242, err, sizeof(err)), 0);
	CHECK_STR(fs_read(fs_path("cpu/ember/vm-1/cpu.shares")), "5\n");
	/* Empty cpus and mems come down from the parents, then the value is written. */
	CHECK_STR(fs_read(fs_path("cpuset/ember/cpuset.cpus")), "0-3\n");
	CHECK_STR(fs_read(fs_path("cpuset/ember/cpuset.mems")), "0\n");
	CHECK_STR(fs_read(fs_path("cpuset/ember/vm-1/cpuset.mems")), "0\n");
	CHECK_STR(fs_read(fs_path("cpuset/ember/vm-1/cpuset.cpus")), "1\n");
	CHECK_STR(fs_read(fs_path("cpu/ember/vm-1/cgroup.procs")), "4242\n");
	CHECK_STR(fs_read(fs_path("cpuset/ember/vm-1/cgroup.procs")), "4242\n");
	CHECK_STR(plan.dirs[0].orig, "/orig");

	/* Back where it was; the directories were there before, so they stay. */
	cg_undo(&plan, 4242);
	CHECK_STR(fs_read(fs_path("cpu/orig/cgroup.procs")), "4242\n");
	CHECK_STR(fs_read(fs_path("cpuset/cgroup.procs")), "4242\n");
	CHECK(fs_exists(fs_path("cpu/ember/vm-1")));
	fs_teardown();
}

TEST(failure_removes_what_it_created)
{
	fs_setup();
	fs_mkdir(fs_path("cpu"));
	FLAGS("--cgroup", "cpu.shares=5", "--parent-cgroup", "x/y");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	/* A plain directory has no cpu.shares: the write fails after three mkdirs. */
	CHECK_EQ(cg_apply(&plan, 4242, err, sizeof(err)), -ENOENT);
	CHECK_CONTAINS(err, "cgroups: --cgroup \"cpu.shares=5\": writing \"5\" to ");
	CHECK_CONTAINS(err, "cpu/x/y/vm-1/cpu.shares: No such file or directory");
	CHECK(fs_exists(fs_path("cpu/x/y/vm-1")));
	CHECK_EQ(plan.dirs[0].first_created, 1);
	cg_undo(&plan, 4242);
	CHECK(!fs_exists(fs_path("cpu/x")));
	CHECK(fs_exists(fs_path("cpu")));

	/* Only the levels it made: an existing parent stays. */
	fs_mkdir(fs_path("cpu/x"));
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(false), err, sizeof(err)), 0);
	CHECK_EQ(cg_apply(&plan, 4242, err, sizeof(err)), -ENOENT);
	CHECK_EQ(plan.dirs[0].first_created, 2);
	cg_undo(&plan, 4242);
	CHECK(fs_exists(fs_path("cpu/x")));
	CHECK(!fs_exists(fs_path("cpu/x/y")));
	fs_teardown();
}

TEST(apply_and_undo_v2)
{
	fs_setup();
	fs_mkdir(fs_path("unified/ember/vm-1"));
	fs_write(fs_path("unified/cgroup.controllers"), "hugetlb\n", 0644);
	fs_write(fs_path("unified/cgroup.subtree_control"), "", 0644);
	fs_write(fs_path("unified/cgroup.procs"), "", 0644);
	fs_write(fs_path("unified/ember/cgroup.subtree_control"), "hugetlb\n", 0644);
	fs_write(fs_path("unified/ember/vm-1/hugetlb.2MB.max"), "max\n", 0644);
	fs_write(fs_path("unified/ember/vm-1/cgroup.procs"), "", 0644);
	fs_write(fs_path("self_cgroup"), "1:cpu:/\n0::/\n", 0644);
	FLAGS("--cgroup-version", "2", "--cgroup", "hugetlb.2MB.max=0");
	CHECK_EQ(cg_plan(&plan, &args, "ember", fake_mounts(true), err, sizeof(err)), 0);
	plan.proc_cgroup = fs_path("self_cgroup");
	CHECK_EQ(cg_apply(&plan, 7, err, sizeof(err)), 0);
	/* Enabled where it was not; the parent that had it is left alone. */
	CHECK_STR(fs_read(fs_path("unified/cgroup.subtree_control")), "+hugetlb\n");
	CHECK_STR(fs_read(fs_path("unified/ember/cgroup.subtree_control")), "hugetlb\n");
	CHECK_STR(fs_read(fs_path("unified/ember/vm-1/hugetlb.2MB.max")), "0\n");
	CHECK_STR(fs_read(fs_path("unified/ember/vm-1/cgroup.procs")), "7\n");
	cg_undo(&plan, 7);
	CHECK_STR(fs_read(fs_path("unified/cgroup.procs")), "7\n");
	CHECK_STR(fs_read(fs_path("unified/cgroup.subtree_control")), "-hugetlb\n");
	CHECK_STR(fs_read(fs_path("unified/ember/cgroup.subtree_control")), "hugetlb\n");
	fs_teardown();
}

TEST_MAIN(TEST_ENTRY(find_mount), TEST_ENTRY(plan_v1), TEST_ENTRY(plan_refusals),
	  TEST_ENTRY(plan_v2), TEST_ENTRY(apply_and_undo_v1),
	  TEST_ENTRY(failure_removes_what_it_created), TEST_ENTRY(apply_and_undo_v2))
