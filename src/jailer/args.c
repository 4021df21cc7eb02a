// SPDX-License-Identifier: Apache-2.0
/*
 * ember-jailer's command line. Flags are Firecracker's jailer's: "--flag VALUE" (or
 * "--flag=VALUE"), single-value flags at most once, --cgroup and --resource-limit
 * repeatable, everything after "--" handed to ember. Every refusal is one line naming
 * the flag and the value, before anything is created.
 */
#include "jailer/args.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum flag {
	F_ID,
	F_EXEC_FILE,
	F_UID,
	F_GID,
	F_CHROOT_BASE,
	F_NETNS,
	F_DAEMONIZE,
	F_NEW_PID_NS,
	F_CGROUP,
	F_CGROUP_VERSION,
	F_PARENT_CGROUP,
	F_RESOURCE_LIMIT,
	F_VERSION,
	F_HELP,
	F_COUNT,
};

static const struct {
	const char *name;
	bool value;
	bool repeat;
} flags[F_COUNT] = {
    [F_ID] = {"id", true, false},
    [F_EXEC_FILE] = {"exec-file", true, false},
    [F_UID] = {"uid", true, false},
    [F_GID] = {"gid", true, false},
    [F_CHROOT_BASE] = {"chroot-base-dir", true, false},
    [F_NETNS] = {"netns", true, false},
    [F_DAEMONIZE] = {"daemonize", false, false},
    [F_NEW_PID_NS] = {"new-pid-ns", false, false},
    [F_CGROUP] = {"cgroup", true, true},
    [F_CGROUP_VERSION] = {"cgroup-version", true, false},
    [F_PARENT_CGROUP] = {"parent-cgroup", true, false},
    [F_RESOURCE_LIMIT] = {"resource-limit", true, true},
    [F_VERSION] = {"version", false, false},
    [F_HELP] = {"help", false, false},
};

const char *jail_usage(void)
{
	return "usage: ember-jailer --id ID --exec-file PATH --uid UID --gid GID [options]\n"
	       "                    [-- EMBER-ARGUMENTS...]\n"
	       "\n"
	       "Builds Firecracker's jail around ember, then execs it inside as UID:GID:\n"
	       "<chroot-base-dir>/<exec-file name>/<ID>/root becomes its root directory.\n"
	       "\n"
	       "  --id ID                 the microVM's id: letters, digits and '-', at most 64\n"
	       "  --exec-file PATH        the ember binary (copied into the jail)\n"
	       "  --uid UID, --gid GID    who ember runs as (no supplementary groups, no\n"
	       "                          capabilities, no-new-privs)\n"
	       "  --chroot-base-dir DIR   where jails are made (default " JAIL_DEFAULT_BASE ")\n"
	       "  --netns PATH            join this network namespace (e.g. /var/run/netns/NAME)\n"
	       "  --daemonize             detach: double fork, setsid, stdio on /dev/null\n"
	       "  --new-pid-ns            run ember as pid 1 of a new PID namespace\n"
	       "  --cgroup FILE=VALUE     write VALUE to FILE (<controller>.<property>) of the\n"
	       "                          microVM's cgroup <parent>/<ID>; repeatable\n"
	       "  --cgroup-version 1|2    which cgroup hierarchy (default 1)\n"
	       "  --parent-cgroup PATH    the parent cgroup, relative (default: the exec file's "
	       "name)\n"
	       "  --resource-limit RES=N  fsize (bytes) or no-file (default 2048); repeatable\n"
	       "  --version               print the version and exit\n"
	       "  --help                  this text\n"
	       "\n"
	       "ember gets --id ID --start-time-us N --start-time-cpu-us N --parent-cpu-time-us "
	       "N,\n"
	       "then the arguments after --. Paths given to ember are inside the jail.\n"
	       "The pid of ember is written to <exec-file name>.pid in the jail's root.\n";
}

__attribute__((format(printf, 3, 4))) static int refuse(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int jail_check_id(const char *id, char *err, size_t errlen)
{
	size_t n = strlen(id);

	if (n == 0)
		return refuse(err, errlen, "--id \"\": empty (1 to %d letters, digits and '-')",
			      JAIL_ID_MAX);
	if (n > JAIL_ID_MAX)
		return refuse(err, errlen, "--id \"%s\": %zu characters, at most %d", id, n,
			      JAIL_ID_MAX);
	for (const char *p = id; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-')
			return refuse(err, errlen,
				      "--id \"%s\": '%c' is not allowed (letters, digits and '-' "
				      "only)",
				      id, isprint((unsigned char)*p) ? *p : '?');
	}
	return 0;
}

/* A decimal number from 0 to @max, nothing else (no sign, no spaces). */
static bool parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static int parse_cgroup(const char *arg, struct jail_cgroup_arg *cg, char *err, size_t len)
{
	const char *eq = strchr(arg, '='), *dot;
	size_t flen;

	if (!eq || eq == arg || !eq[1])
		return refuse(err, len,
			      "--cgroup \"%s\": expected FILE=VALUE (e.g. cpu.shares=512)", arg);
	flen = (size_t)(eq - arg);
	if (flen >= sizeof(cg->file))
		return refuse(err, len, "--cgroup \"%s\": the file name is over %zu characters",
			      arg, sizeof(cg->file) - 1);
	memcpy(cg->file, arg, flen);
	cg->file[flen] = '\0';
	/* FILE names a file of one controller: no path, and <controller>.<property>. */
	for (const char *p = cg->file; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '.')
			return refuse(err, len,
				      "--cgroup \"%s\": \"%s\" is not a controller's file "
				      "(<controller>.<property>, no '/')",
				      arg, cg->file);
	}
	dot = strchr(cg->file, '.');
	if (!dot || dot == cg->file || !dot[1] || strstr(cg->file, ".."))
		return refuse(err, len,
			      "--cgroup \"%s\": \"%s\" is not a controller's file "
			      "(<controller>.<property>, e.g. cpu.shares)",
			      arg, cg->file);
	memcpy(cg->controller, cg->file, (size_t)(dot - cg->file));
	cg->controller[dot - cg->file] = '\0';
	if (!strcmp(cg->controller, "cgroup"))
		return refuse(
		    err, len,
		    "--cgroup \"%s\": \"%s\" is the cgroup's own file, not a controller's "
		    "(the jailer moves ember into the cgroup itself)",
		    arg, cg->file);
	if (strchr(eq + 1, '\n'))
		return refuse(err, len, "--cgroup \"%s\": the value has a newline", arg);
	cg->arg = arg;
	cg->value = eq + 1;
	return 0;
}

static int parse_rlimit(const char *arg, struct jail_args *a, char *err, size_t len)
{
	const char *eq = strchr(arg, '=');
	unsigned long long v;
	size_t nlen;

	if (!eq)
		return refuse(err, len,
			      "--resource-limit \"%s\": expected RESOURCE=N "
			      "(fsize=N or no-file=N)",
			      arg);
	nlen = (size_t)(eq - arg);
	if (!parse_u64(eq + 1, ~0ULL, &v))
		return refuse(err, len, "--resource-limit \"%s\": \"%s\" is not a number", arg,
			      eq + 1);
	if (nlen == 5 && !strncmp(arg, "fsize", 5)) {
		a->has_fsize = true;
		a->fsize = v;
	} else if (nlen == 7 && !strncmp(arg, "no-file", 7)) {
		a->nofile = v;
	} else {
		return refuse(err, len,
			      "--resource-limit \"%s\": unknown resource \"%.*s\" (fsize or "
			      "no-file)",
			      arg, (int)nlen, arg);
	}
	return 0;
}

/* A relative cgroup path: no leading '/', no "." or ".." component. */
static int check_parent_cgroup(const char *p, char *err, size_t len)
{
	const char *c = p;

	if (!*p || *p == '/')
		return refuse(err, len,
			      "--parent-cgroup \"%s\": must be a relative path (without '.' or "
			      "'..')",
			      p);
	while (*c) {
		size_t n = strcspn(c, "/");

		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return refuse(err, len,
				      "--parent-cgroup \"%s\": must be a relative path (without "
				      "'.' or '..')",
				      p);
		if (memchr(c, '\n', n))
			return refuse(err, len, "--parent-cgroup: the path has a newline");
		c += n;
		while (*c == '/')
			c++;
	}
	return 0;
}

static int lookup(const char *name, size_t n)
{
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(flags[f].name) == n && !strncmp(flags[f].name, name, n))
			return f;
	return -1;
}

int jail_args_parse(int argc, char **argv, struct jail_args *a, char *err, size_t errlen)
{
	const char *single[F_COUNT] = {0};
	bool help = false, version = false;
	unsigned long long v;
	int i, ret;

	*a = (struct jail_args){
	    .chroot_base = JAIL_DEFAULT_BASE, .cgroup_version = 1, .nofile = JAIL_DEFAULT_NOFILE};
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *name, *val = NULL;
		size_t nlen;
		int f;

		if (!strcmp(arg, "--")) {
			a->extra = argv + i + 1;
			a->n_extra = argc - i - 1;
			break;
		}
		if (strncmp(arg, "--", 2))
			return refuse(err, errlen,
				      "unexpected argument \"%s\" (ember's own arguments go after "
				      "--)",
				      arg);
		name = arg + 2;
		nlen = strcspn(name, "=");
		f = lookup(name, nlen);
		if (f < 0)
			return refuse(err, errlen, "unknown flag \"--%.*s\" (see --help)",
				      (int)nlen, name);
		if (name[nlen] == '=') {
			if (!flags[f].value)
				return refuse(err, errlen, "--%s takes no value (\"%s\")",
					      flags[f].name, arg);
			val = name + nlen + 1;
		} else if (flags[f].value) {
			if (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2))
				return refuse(err, errlen, "--%s: missing its value",
					      flags[f].name);
			val = argv[++i];
		}
		if (!flags[f].repeat) {
			if (single[f] && !flags[f].value)
				return refuse(err, errlen, "--%s given twice", flags[f].name);
			if (single[f])
				return refuse(err, errlen, "--%s given twice (\"%s\", then \"%s\")",
					      flags[f].name, single[f], val);
			single[f] = val ? val : "";
		}
		switch (f) {
		case F_HELP:
			help = true;
			break;
		case F_VERSION:
			version = true;
			break;
		case F_DAEMONIZE:
			a->daemonize = true;
			break;
		case F_NEW_PID_NS:
			a->new_pid_ns = true;
			break;
		case F_CGROUP:
			if (a->n_cgroups == JAIL_CGROUPS_MAX)
				return refuse(err, errlen, "--cgroup \"%s\": more than %d --cgroup",
					      val, JAIL_CGROUPS_MAX);
			ret = parse_cgroup(val, &a->cgroups[a->n_cgroups], err, errlen);
			if (ret)
				return ret;
			a->n_cgroups++;
			break;
		case F_RESOURCE_LIMIT:
			ret = parse_rlimit(val, a, err, errlen);
			if (ret)
				return ret;
			break;
		default:
			break;
		}
	}
	if (help)
		return JAIL_PARSE_HELP;
	if (version)
		return JAIL_PARSE_VERSION;

	static const int required[] = {F_ID, F_EXEC_FILE, F_UID, F_GID};
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++)
		if (!single[required[r]])
			return refuse(err, errlen, "--%s is required (see --help)",
				      flags[required[r]].name);

	a->id = single[F_ID];
	ret = jail_check_id(a->id, err, errlen);
	if (ret)
		return ret;
	a->exec_file = single[F_EXEC_FILE];
	if (!*a->exec_file)
		return refuse(err, errlen, "--exec-file \"\": empty path");
	/* (uid_t)-1 means "unchanged" to setresuid: not a uid one can run as. */
	if (!parse_u64(single[F_UID], 4294967294ULL, &v))
		return refuse(err, errlen, "--uid \"%s\": not a number from 0 to 4294967294",
			      single[F_UID]);
	a->uid = (unsigned int)v;
	if (!parse_u64(single[F_GID], 4294967294ULL, &v))
		return refuse(err, errlen, "--gid \"%s\": not a number from 0 to 4294967294",
			      single[F_GID]);
	a->gid = (unsigned int)v;
	if (single[F_CHROOT_BASE]) {
		a->chroot_base = single[F_CHROOT_BASE];
		if (!*a->chroot_base)
			return refuse(err, errlen, "--chroot-base-dir \"\": empty path");
	}
	if (single[F_NETNS]) {
		a->netns = single[F_NETNS];
		if (!*a->netns)
			return refuse(err, errlen, "--netns \"\": empty path");
	}
	if (single[F_CGROUP_VERSION]) {
		const char *s = single[F_CGROUP_VERSION];

		if (strcmp(s, "1") && strcmp(s, "2"))
			return refuse(err, errlen, "--cgroup-version \"%s\": must be 1 or 2", s);
		a->cgroup_version = s[0] - '0';
	}
	if (single[F_PARENT_CGROUP]) {
		ret = check_parent_cgroup(single[F_PARENT_CGROUP], err, errlen);
		if (ret)
			return ret;
		a->parent_cgroup = single[F_PARENT_CGROUP];
	}
	return JAIL_PARSE_RUN;
}
