// SPDX-License-Identifier: Apache-2.0
/*
 * The jailer's host-side checks and its chroot directory (src/jailer/jail.c): every
 * input naming a host file refused with one line before anything exists; the jail's
 * root made and the exec file copied in; jail_undo removing exactly what was made.
 */
#include "test.h"
#include "jailer_fs.h"
#include "jailer/args.h"
#include "jailer/jail.h"

#include <errno.h>

static struct jail_args args;
static struct jail jail;
static char err[JAIL_ERR_MAX];
static struct jail_host host;

/* Parses: --id vm-1 --exec-file EXEC --uid 1 --gid 2 --chroot-base-dir BASE @extra... */
static void flags(const char *exec, const char *base, const char *const *extra)
{
	static char store[32][PATH_MAX], *argv[32];
	const char *words[] = {
	    "ember-jailer",	 "--id", "vm-1", "--exec-file", exec, "--uid", "1", "--gid", "2",
	    "--chroot-base-dir", base};
	int argc = 0;

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		snprintf(store[argc++], sizeof(store[0]), "%s", words[i]);
	for (; *extra; extra++)
		snprintf(store[argc++], sizeof(store[0]), "%s", *extra);
	for (int i = 0; i < argc; i++)
		argv[i] = store[i];
	argv[argc] = NULL;
	CHECK_EQ(jail_args_parse(argc, argv, &args, err, sizeof(err)), JAIL_PARSE_RUN);
}
#define FLAGS(exec, base, ...) flags(exec, base, (const char *const[]){__VA_ARGS__ NULL})

/* A scratch host: an executable "vmm", a base directory, no cgroups, a /proc/misc. */
static void host_setup(void)
{
	static char mounts[PATH_MAX], misc[PATH_MAX];

	fs_setup();
	fs_write(fs_path("vmm"), "#!/bin/sh\necho binary\n", 0755);
	fs_mkdir(fs_path("base"));
	snprintf(mounts, sizeof(mounts), "%s/mounts", fs_root);
	snprintf(misc, sizeof(misc), "%s/misc", fs_root);
	fs_write(mounts, "/dev/vda / ext4 rw 0 0\n", 0644);
	fs_write(misc, "200 tun\n257 userfaultfd\n", 0644);
	host = (struct jail_host){
	    .mounts = mounts, .misc = misc, .proc_cgroup = "/dev/null", .kvm_pvm = fs_root};
}

static int check(void)
{
	err[0] = '\0';
	return jail_check(&jail, &args, &host, err, sizeof(err));
}

TEST(good_inputs)
{
	char path[PATH_MAX];

	host_setup();
	FLAGS(fs_path("vmm"), fs_path("base/"), );
	CHECK_EQ(check(), 0);
	CHECK_STR(jail.exec_path, fs_path("vmm"));
	CHECK_STR(jail.exec_name, "vmm");
	CHECK_STR(jail.base, fs_path("base"));
	CHECK_STR(jail.root, fs_path("base/vmm/vm-1/root"));
	CHECK_EQ(jail.uffd_minor, 257);
	CHECK(jail.kvm_pvm); /* host.kvm_pvm is a directory that exists */
	CHECK_EQ(jail.n_undo, 0);

	/* The exec file's name is its real one: a link's target names the jail. */
	CHECK_EQ(symlink(fs_path("vmm"), fs_path("link")), 0);
	FLAGS(fs_path("link"), fs_path("base"), "--netns", "/proc/self/ns/net", );
	CHECK_EQ(check(), 0);
	CHECK_STR(jail.exec_name, "vmm");

	/* No userfaultfd on the host: no /dev/userfaultfd in the jail. */
	snprintf(path, sizeof(path), "%s/nomisc", fs_root);
	host.misc = path;
	host.kvm_pvm = path;
	CHECK_EQ(check(), 0);
	CHECK_EQ(jail.uffd_minor, -1);
	CHECK(!jail.kvm_pvm);
	fs_teardown();
}

TEST(bad_exec_file)
{
	host_setup();
	FLAGS(fs_path("nope"), fs_path("base"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--exec-file \"");
	CHECK_CONTAINS(err, "/nope\": No such file or directory");
	FLAGS(fs_path("base"), fs_path("base"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "/base\": not a regular file");
	FLAGS("/dev/null", fs_path("base"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--exec-file \"/dev/null\": not a regular file");
	fs_write(fs_path("plain"), "x", 0644);
	FLAGS(fs_path("plain"), fs_path("base"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "/plain\": not executable");
	fs_teardown();
}

TEST(bad_base_and_netns)
{
	host_setup();
	FLAGS(fs_path("vmm"), fs_path("missing"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--chroot-base-dir \"");
	CHECK_CONTAINS(err, "/missing\": No such file or directory");
	FLAGS(fs_path("vmm"), fs_path("vmm"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "/vmm\": not a directory");

	FLAGS(fs_path("vmm"), fs_path("base"), "--netns", fs_path("vmm"), );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "/vmm\": not a network namespace");
	FLAGS(fs_path("vmm"), fs_path("base"), "--netns", "/proc/self/ns/mnt", );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--netns \"/proc/self/ns/mnt\": not a network namespace");
	FLAGS(fs_path("vmm"), fs_path("base"), "--netns", "/var/run/netns/no-such-ns", );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--netns \"/var/run/netns/no-such-ns\": No such file or directory");

	/* A --cgroup whose controller no hierarchy has: refused at the check. */
	FLAGS(fs_path("vmm"), fs_path("base"), "--cgroup", "cpu.shares=1", );
	CHECK_EQ(check(), -EINVAL);
	CHECK_CONTAINS(err, "--cgroup \"cpu.shares=1\": no cgroup v1 hierarchy has the \"cpu\"");
	CHECK(!fs_exists(fs_path("base/vmm")));
	fs_teardown();
}

TEST(make_root_and_undo)
{
	struct stat st;

	host_setup();
	FLAGS(fs_path("vmm"), fs_path("base"), );
	CHECK_EQ(check(), 0);
	CHECK_EQ(jail_make_root(&jail, err, sizeof(err)), 0);
	CHECK_STR(fs_read(fs_path("base/vmm/vm-1/root/vmm")), "#!/bin/sh\necho binary\n");
	CHECK_EQ(stat(fs_path("base/vmm/vm-1/root/vmm"), &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0755);
	CHECK_EQ(jail.n_undo, 4); /* vmm/, vm-1/, root/, the copy */
	jail_undo(&jail);
	CHECK_EQ(jail.n_undo, 0);
	CHECK(!fs_exists(fs_path("base/vmm")));
	CHECK(fs_exists(fs_path("base")));

	/* A root made beforehand (with the guest's files) stays, with its files. */
	fs_mkdir(fs_path("base/vmm/vm-1/root"));
	fs_write(fs_path("base/vmm/vm-1/root/vm.json"), "{}", 0644);
	CHECK_EQ(check(), 0);
	CHECK_EQ(jail_make_root(&jail, err, sizeof(err)), 0);
	CHECK_EQ(jail.n_undo, 1);
	jail_undo(&jail);
	CHECK(!fs_exists(fs_path("base/vmm/vm-1/root/vmm")));
	CHECK_STR(fs_read(fs_path("base/vmm/vm-1/root/vm.json")), "{}");

	/* A part of the path that is a file: refused, and the parts made before are removed. */
	fs_write(fs_path("base/vmm/vm-2"), "", 0644);
	FLAGS(fs_path("vmm"), fs_path("base"), );
	args.id = "vm-2";
	CHECK_EQ(check(), 0);
	CHECK_EQ(jail_make_root(&jail, err, sizeof(err)), -ENOTDIR);
	CHECK_CONTAINS(err, "chroot directory: ");
	CHECK_CONTAINS(err, "/base/vmm/vm-2 is not a directory");
	fs_teardown();
}

TEST_MAIN(TEST_ENTRY(good_inputs), TEST_ENTRY(bad_exec_file), TEST_ENTRY(bad_base_and_netns),
	  TEST_ENTRY(make_root_and_undo))
