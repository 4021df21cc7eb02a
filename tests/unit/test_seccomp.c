// SPDX-License-Identifier: Apache-2.0
/*
 * seccomp/: the filter file's parser (every kind of error names its key), the
 * compiler, the built-in allowlists and their BPF compiled at build time. The
 * filters at work, in forked children, are test_seccomp_install.c.
 */
#include "test.h"
#include "seccomp/rules.h"
#include "seccomp/seccomp.h"

#include <errno.h>
#include <linux/futex.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Three filters; @vcpu replaces the vcpu one. */
static char *doc(const char *vcpu)
{
	static const char fmt[] =
	    "{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[{\"syscall\": \"read\"}]},"
	    " \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	    "[]},"
	    " \"vcpu\": %s}";
	char *s = malloc(sizeof(fmt) + strlen(vcpu));

	CHECK(s);
	sprintf(s, fmt, vcpu);
	return s;
}

/* Parses @text; returns the error ("" when it parsed). */
static const char *parse_err(const char *text)
{
	static char err[SECCOMP_ERR_MAX];
	struct seccomp_filters f;

	err[0] = '\0';
	if (!seccomp_parse(text, strlen(text), &f, err))
		seccomp_filters_free(&f);
	return err;
}

/* The vcpu filter @vcpu, in a whole document: its error. */
static const char *vcpu_err(const char *vcpu)
{
	char *s = doc(vcpu);
	const char *e = parse_err(s);

	free(s);
	return e;
}

TEST(parses_firecrackers_format)
{
	char *s = doc(
	    "{\"default_action\": {\"errno\": 1}, \"filter_action\": \"allow\", \"comment\": \"c\","
	    " \"filter\": ["
	    "  {\"syscall\": \"ioctl\", \"comment\": \"KVM_RUN\", \"args\": [{\"index\": 1, "
	    "   \"type\": \"dword\", \"op\": \"eq\", \"val\": 44672, \"comment\": \"KVM_RUN\"}]},"
	    "  {\"syscall\": \"mmap\", \"args\": [{\"index\": 2, \"type\": \"dword\","
	    "   \"op\": {\"masked_eq\": 4}, \"val\": 0}, {\"index\": 5, \"type\": \"qword\","
	    "   \"op\": \"ge\", \"val\": 18446744073709551}]},"
	    "  {\"syscall\": \"exit_group\"}]}");
	struct seccomp_filters f;
	char err[SECCOMP_ERR_MAX];
	const struct seccomp_rule *r;

	CHECK_EQ(seccomp_parse(s, strlen(s), &f, err), 0);
	free(s);
	CHECK_EQ(f.f[SECCOMP_VMM].nrules, 1);
	CHECK_STR(f.f[SECCOMP_VMM].rules[0].syscall, "read");
	CHECK_EQ(f.f[SECCOMP_VMM].default_action, SCMP_ACT_TRAP);
	CHECK_EQ(f.f[SECCOMP_API].nrules, 0);
	CHECK_EQ(f.f[SECCOMP_VCPU].default_action, SCMP_ACT_ERRNO(1));
	CHECK_EQ(f.f[SECCOMP_VCPU].filter_action, SCMP_ACT_ALLOW);
	CHECK_EQ(f.f[SECCOMP_VCPU].nrules, 3);
	r = f.f[SECCOMP_VCPU].rules;
	CHECK_STR(r[0].syscall, "ioctl");
	CHECK_STR(r[0].why, "KVM_RUN");
	CHECK_EQ(r[0].nconds, 1);
	CHECK_EQ(r[0].conds[0].index, 1);
	CHECK(!r[0].conds[0].qword);
	CHECK_EQ(r[0].conds[0].op, SECCOMP_OP_EQ);
	CHECK_EQ(r[0].conds[0].val, 44672);
	CHECK_EQ(r[1].nconds, 2);
	CHECK_EQ(r[1].conds[0].op, SECCOMP_OP_MASKED_EQ);
	CHECK_EQ(r[1].conds[0].mask, 4);
	CHECK(r[1].conds[1].qword);
	CHECK_EQ(r[1].conds[1].op, SECCOMP_OP_GE);
	CHECK_EQ(r[1].conds[1].val, 18446744073709551ULL);
	CHECK_EQ(r[2].nconds, 0);
	CHECK(!r[2].why);
	/* What parses compiles. */
	for (int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct seccomp_prog p;

		CHECK_EQ(seccomp_compile(&f.f[t], seccomp_thread_key(t), &p, err), 0);
		CHECK(p.len > 0);
		seccomp_prog_free(&p);
	}
	seccomp_filters_free(&f);
}

TEST(every_action)
{
	static const struct {
		const char *json;
		uint32_t act;
	} acts[] = {
	    {"\"allow\"", SCMP_ACT_ALLOW},
	    {"\"trap\"", SCMP_ACT_TRAP},
	    {"\"kill_thread\"", SCMP_ACT_KILL_THREAD},
	    {"\"kill_process\"", SCMP_ACT_KILL_PROCESS},
	    {"\"log\"", SCMP_ACT_LOG},
	    {"{\"errno\": 13}", SCMP_ACT_ERRNO(13)},
	    {"{\"trace\": 7}", SCMP_ACT_TRACE(7)},
	};

	for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		char vcpu[256], *s;
		struct seccomp_filters f;
		char err[SECCOMP_ERR_MAX];

		snprintf(vcpu, sizeof(vcpu),
			 "{\"default_action\": %s, \"filter_action\": %s, \"filter\": []}",
			 acts[i].json, acts[i].json);
		s = doc(vcpu);
		CHECK_EQ(seccomp_parse(s, strlen(s), &f, err), 0);
		free(s);
		CHECK_EQ(f.f[SECCOMP_VCPU].default_action, acts[i].act);
		seccomp_filters_free(&f);
	}
}

TEST(document_errors_name_the_key)
{
	CHECK_CONTAINS(parse_err("{\"vmm\": "), "invalid JSON at line 1");
	CHECK_CONTAINS(parse_err("[]"), "an array, not an object of filters");
	CHECK_CONTAINS(parse_err("{\"vmm\": {}, \"vmm\": {}}"), "duplicate");
	CHECK_CONTAINS(parse_err("{\"fc\": {}}"), "\"fc\": not a thread category");
	CHECK_CONTAINS(parse_err("{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": "
				 "\"allow\", \"filter\": []}}"),
		       "api: missing");
	CHECK_CONTAINS(vcpu_err("\"x\""), "vcpu: a string, not an object");
	CHECK_CONTAINS(vcpu_err("{\"filter_action\": \"allow\", \"filter\": []}"),
		       "vcpu.default_action: missing");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				"\"filter\": [], \"rules\": 1}"),
		       "vcpu: unknown key \"rules\"");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				"\"filter\": [], \"comment\": 1}"),
		       "vcpu.comment: an integer, not a string");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": \"deny\", \"filter_action\": \"allow\", "
				"\"filter\": []}"),
		       "vcpu.default_action: \"deny\" is not an action");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": 1, \"filter_action\": \"allow\", "
				"\"filter\": []}"),
		       "vcpu.default_action: an integer: an action is a string");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": {\"errno\": -1}, \"filter_action\": "
				"\"allow\", \"filter\": []}"),
		       "vcpu.default_action.errno: -1 is out of range (0 to 65535)");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": {\"errno\": 1, \"trace\": 1}, "
				"\"filter_action\": \"allow\", \"filter\": []}"),
		       "vcpu.default_action: an object with other than one key");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": {\"kill\": 1}, \"filter_action\": "
				"\"allow\", \"filter\": []}"),
		       "vcpu.default_action: \"kill\" is not an action with a value");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": \"trap\", \"filter_action\": \"allow\", "
				"\"filter\": {}}"),
		       "vcpu.filter: an object, not an array");
	CHECK_CONTAINS(vcpu_err("{\"default_action\": \"allow\", \"filter_action\": \"allow\", "
				"\"filter\": [{\"syscall\": \"read\"}]}"),
		       "vcpu.filter_action: the same as default_action");
}

/* A vcpu filter with @rule as its second rule. */
static const char *rule_err(const char *rule)
{
	char vcpu[1024];

	snprintf(vcpu, sizeof(vcpu),
		 "{\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
		 "[{\"syscall\": \"read\"}, %s]}",
		 rule);
	return vcpu_err(vcpu);
}

/* The second rule is ioctl with @cond as its only condition. */
static const char *cond_err(const char *cond)
{
	char rule[512];

	snprintf(rule, sizeof(rule), "{\"syscall\": \"ioctl\", \"args\": [%s]}", cond);
	return rule_err(rule);
}

TEST(rule_errors_name_the_key)
{
	CHECK_STR(rule_err("{\"syscall\": \"write\"}"), "");
	CHECK_CONTAINS(rule_err("7"), "vcpu.filter[1]: an integer, not an object");
	CHECK_CONTAINS(rule_err("{\"args\": []}"), "vcpu.filter[1].syscall: missing");
	CHECK_CONTAINS(rule_err("{\"syscall\": 41}"), "vcpu.filter[1].syscall: an integer");
	CHECK_CONTAINS(rule_err("{\"syscall\": \"frobnicate\"}"),
		       "vcpu.filter[1].syscall: \"frobnicate\" is not a system call on x86_64");
	/* libseccomp's pseudo-syscall for another architecture. */
	CHECK_CONTAINS(rule_err("{\"syscall\": \"socketcall\"}"), "is not a system call");
	CHECK_CONTAINS(rule_err("{\"syscall\": \"read\", \"arg\": []}"),
		       "vcpu.filter[1]: unknown key \"arg\"");
	CHECK_CONTAINS(rule_err("{\"syscall\": \"read\", \"args\": {}}"),
		       "vcpu.filter[1].args: an object, not an array");
	CHECK_CONTAINS(rule_err("{\"syscall\": \"read\", \"args\": [1, 2, 3, 4, 5, 6, 7]}"),
		       "vcpu.filter[1].args: 7 conditions; at most 6");
}

TEST(condition_errors_name_the_key)
{
	static const char ok[] = "{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}";

	CHECK_STR(cond_err(ok), "");
	CHECK_CONTAINS(cond_err("[]"), "vcpu.filter[1].args[0]: an array, not an object");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\"}"),
		       "vcpu.filter[1].args[0].val: missing");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1, "
				"\"arg_index\": 1}"),
		       "vcpu.filter[1].args[0]: unknown key \"arg_index\"");
	CHECK_CONTAINS(cond_err("{\"index\": 6, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}"),
		       "vcpu.filter[1].args[0].index: 6 is out of range (0 to 5)");
	CHECK_CONTAINS(cond_err("{\"index\": \"1\", \"type\": \"dword\", \"op\": \"eq\", "
				"\"val\": 1}"),
		       "vcpu.filter[1].args[0].index: a string, not an integer");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"word\", \"op\": \"eq\", \"val\": 1}"),
		       "vcpu.filter[1].args[0].type: \"word\" is not \"dword\" or \"qword\"");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"equals\", "
				"\"val\": 1}"),
		       "vcpu.filter[1].args[0].op: \"equals\" is not an operator");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": {\"masked_eq\": "
				"\"4\"}, \"val\": 0}"),
		       "vcpu.filter[1].args[0].op.masked_eq: a string, not an integer");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": {\"masked_eq\": "
				"4294967296}, \"val\": 0}"),
		       "op.masked_eq: 4294967296 is out of range (0 to 4294967295)");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", "
				"\"val\": 4294967296}"),
		       "vcpu.filter[1].args[0].val: 4294967296 is out of range (0 to 4294967295)");
	CHECK_STR(cond_err("{\"index\": 1, \"type\": \"qword\", \"op\": \"eq\", "
			   "\"val\": 4294967296}"),
		  "");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": "
				"1.5}"),
		       "vcpu.filter[1].args[0].val: a number with a fraction, not an integer");
	CHECK_CONTAINS(cond_err("{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 1}, "
				"{\"index\": 1, \"type\": \"dword\", \"op\": \"eq\", \"val\": 2}"),
		       "vcpu.filter[1].args[1].index: argument 1 is already compared by args[0]");
}

TEST(file_errors_name_the_file)
{
	char path[] = "/tmp/ember-seccomp-test.XXXXXX";
	struct seccomp_filters f;
	char err[SECCOMP_ERR_MAX];
	int fd = mkstemp(path);
	FILE *out;

	CHECK(fd >= 0);
	out = fdopen(fd, "w");
	CHECK(out);
	fputs("{\"vmm\": 1}", out);
	fclose(out);
	CHECK_EQ(seccomp_parse_file(path, &f, err), -EINVAL);
	CHECK_CONTAINS(err, path);
	CHECK_CONTAINS(err, ": vmm: an integer, not an object");
	/* Larger than the limit: refused before parsing. */
	CHECK(truncate(path, SECCOMP_FILE_MAX + 1) == 0);
	CHECK_EQ(seccomp_parse_file(path, &f, err), -EINVAL);
	CHECK_CONTAINS(err, "larger than");
	unlink(path);
	CHECK_EQ(seccomp_parse_file(path, &f, err), -ENOENT);
	CHECK_CONTAINS(err, "No such file");
}

TEST(builtin_filters_compile)
{
	struct seccomp_filters f;
	char err[SECCOMP_ERR_MAX];

	seccomp_builtin(&f);
	for (int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct seccomp_prog p;

		CHECK(f.f[t].nrules > 10);
		CHECK_EQ(f.f[t].default_action, SCMP_ACT_TRAP);
		CHECK_EQ(f.f[t].filter_action, SCMP_ACT_ALLOW);
		/* A reason for every rule. */
		for (size_t i = 0; i < f.f[t].nrules; i++)
			CHECK(f.f[t].rules[i].why && f.f[t].rules[i].why[0]);
		CHECK_EQ(seccomp_compile(&f.f[t], seccomp_thread_key(t), &p, err), 0);
		/* What ember links was compiled from these very lists (bpfgen, at build time). */
		CHECK_EQ(p.len, seccomp_builtin_progs[t].len);
		CHECK(!memcmp(p.insns, seccomp_builtin_progs[t].insns, p.len * sizeof(p.insns[0])));
		seccomp_prog_free(&p);
	}
}

TEST(setup_filter_is_built_in_and_stays)
{
	const struct seccomp_filter *f = &seccomp_filter_setup;
	const char *path = "/tmp/ember-test-seccomp-setup.json";
	char err[SECCOMP_ERR_MAX];
	struct seccomp_progs progs;
	struct seccomp_prog p;
	FILE *out;

	CHECK_EQ(f->default_action, SCMP_ACT_TRAP);
	CHECK_EQ(f->filter_action, SCMP_ACT_ALLOW);
	for (size_t i = 0; i < f->nrules; i++)
		CHECK(f->rules[i].why && f->rules[i].why[0]);
	CHECK_STR(seccomp_thread_key(SECCOMP_SETUP), "setup");
	CHECK_EQ(seccomp_compile(f, "setup", &p, err), 0);
	CHECK_EQ(p.len, seccomp_builtin_progs[SECCOMP_SETUP].len);
	CHECK(!memcmp(p.insns, seccomp_builtin_progs[SECCOMP_SETUP].insns,
		      p.len * sizeof(p.insns[0])));
	seccomp_prog_free(&p);

	/* A filter file defines Firecracker's three threads; ember's set-up thread keeps its own.
	 */
	out = fopen(path, "w");
	CHECK(out);
	fputs("{\"vmm\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	      "[]},"
	      " \"api\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	      "[]},"
	      " \"vcpu\": {\"default_action\": \"trap\", \"filter_action\": \"allow\", \"filter\": "
	      "[]}}",
	      out);
	fclose(out);
	CHECK_EQ(seccomp_progs_load(&progs, path, err), 0);
	CHECK(seccomp_progs_get(&progs, SECCOMP_SETUP) == &progs.p[SECCOMP_SETUP]);
	CHECK_EQ(progs.p[SECCOMP_SETUP].insns, seccomp_builtin_progs[SECCOMP_SETUP].insns);
	CHECK(progs.p[SECCOMP_VMM].insns != seccomp_builtin_progs[SECCOMP_VMM].insns);
	seccomp_progs_free(&progs);
	unlink(path);
}

TEST(compile_errors)
{
	static const struct seccomp_rule bad[] = {ALLOW("frobnicate", "no such syscall")};
	static const struct seccomp_filter f = {SCMP_ACT_TRAP, SCMP_ACT_ALLOW, bad, 1};
	struct seccomp_prog p;
	char err[SECCOMP_ERR_MAX];

	CHECK(seccomp_compile(&f, "vcpu", &p, err) < 0);
	CHECK_CONTAINS(err, "vcpu.filter[0]: \"frobnicate\" is not a system call");
	CHECK(!p.insns);
}

TEST(kick_signal_is_glibcs_sigrtmin)
{
	/* vcpu.c kicks with SIGRTMIN; the vmm filter's tgkill rule names it as a constant. */
	CHECK_EQ(SIGRTMIN, KICK_SIGNAL);
}

TEST(syscall_names)
{
	CHECK_STR(seccomp_syscall_name(0), "read");
	CHECK_STR(seccomp_syscall_name(16), "ioctl");
	CHECK_STR(seccomp_syscall_name(41), "socket");
	CHECK_STR(seccomp_syscall_name(231), "exit_group");
	CHECK(!seccomp_syscall_name(-1));
	CHECK(!seccomp_syscall_name(100000));
	/* The table and libseccomp agree. */
	for (long nr = 0; nr < 450; nr++) {
		const char *name = seccomp_syscall_name(nr);

		if (name)
			CHECK_EQ(seccomp_syscall_resolve_name(name), nr);
	}
}

TEST(progs)
{
	struct seccomp_progs p = {0};

	CHECK(!seccomp_progs_get(NULL, SECCOMP_VCPU));
	CHECK(!seccomp_progs_get(&p, SECCOMP_VCPU)); /* off: --no-seccomp */
	CHECK_STR(seccomp_thread_key(SECCOMP_VMM), "vmm");
	CHECK_STR(seccomp_thread_key(SECCOMP_API), "api");
	CHECK_STR(seccomp_thread_key(SECCOMP_VCPU), "vcpu");
}

TEST_MAIN(TEST_ENTRY(parses_firecrackers_format), TEST_ENTRY(every_action),
	  TEST_ENTRY(document_errors_name_the_key), TEST_ENTRY(rule_errors_name_the_key),
	  TEST_ENTRY(condition_errors_name_the_key), TEST_ENTRY(file_errors_name_the_file),
	  TEST_ENTRY(builtin_filters_compile), TEST_ENTRY(setup_filter_is_built_in_and_stays),
	  TEST_ENTRY(compile_errors), TEST_ENTRY(kick_signal_is_glibcs_sigrtmin),
	  TEST_ENTRY(syscall_names), TEST_ENTRY(progs))
