// SPDX-License-Identifier: Apache-2.0
/*
 * The microVM's cgroups (cgroup.h). Firecracker's rules: the controller is what FILE
 * starts with (cpu.shares: cpu); v1 finds each controller's hierarchy among the
 * "cgroup" lines of /proc/mounts, v2 uses the "cgroup2" one and needs the controller
 * in its cgroup.controllers. Values are written before the process joins, so a cpuset
 * gets its cpus and mems first; a v1 cpuset directory the jailer creates inherits
 * empty cpus and mems from its parent, or no task could join it.
 */
#include "jailer/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((format(printf, 3, 4))) static int say(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return 0;
}

/* Whether the @sep-separated list @list has the word @w. */
static bool has_word(const char *list, char sep, const char *w)
{
	size_t n = strlen(w);

	for (const char *p = list; *p;) {
		size_t k = strcspn(p, (char[]){sep, '\n', '\0'});

		if (k == n && !strncmp(p, w, n))
			return true;
		p += k;
		while (*p == sep || *p == '\n')
			p++;
	}
	return false;
}

/* /proc/mounts escapes blanks and backslashes in paths as \ooo. */
static void unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

int cg_find_mount(const char *mounts, const char *controller, char *out, size_t outlen)
{
	char line[4096], dir[PATH_MAX], type[64], opts[1024];
	FILE *f = fopen(mounts, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %4095s %63s %1023s", dir, type, opts) != 3)
			continue;
		if (controller ? strcmp(type, "cgroup") || !has_word(opts, ',', controller)
			       : strcmp(type, "cgroup2"))
			continue;
		unescape(dir);
		if ((size_t)snprintf(out, outlen, "%s", dir) >= outlen) {
			ret = -ENAMETOOLONG;
			break;
		}
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

/* Reads the first line of @path into @buf, without its newline. */
static int read_line(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* Writes @value and a newline to @path (an existing file: cgroupfs makes its own). */
static int write_value(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	char buf[4096];
	int n = snprintf(buf, sizeof(buf), "%s\n", value);
	ssize_t w;

	if (fd < 0)
		return -errno;
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		close(fd);
		return -E2BIG;
	}
	w = write(fd, buf, (size_t)n);
	if (w < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	return w == n ? 0 : -EIO;
}

/* The directory of level @k (0: the mount point) of @d into @out. */
static int level_path(const struct cg_plan *p, const struct cg_dir *d, int k, char *out, size_t len)
{
	const char *r = p->rel;
	int n;

	if (d->existing)
		return snprintf(out, len, "%s", d->path) >= (int)len ? -ENAMETOOLONG : 0;
	for (int i = 0; i < k && *r; i++) {
		r += strcspn(r, "/");
		if (i + 1 < k && *r == '/')
			r++;
	}
	n = snprintf(out, len, "%s%s%.*s", d->mount, k ? "/" : "", (int)(r - p->rel), p->rel);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* <parent>/<id> with single slashes; the number of components in p->levels. */
static int build_rel(struct cg_plan *p, const char *parent, const char *id)
{
	char *o = p->rel, *end = p->rel + sizeof(p->rel) - 1;
	const char *parts[2] = {parent, id};

	p->levels = 0;
	for (int i = 0; i < 2; i++) {
		for (const char *s = parts[i]; *s;) {
			size_t n = strcspn(s, "/");

			if (n) {
				if (o + n + 1 > end || p->levels == CG_LEVELS_MAX)
					return -ENAMETOOLONG;
				if (o != p->rel)
					*o++ = '/';
				memcpy(o, s, n);
				o += n;
				p->levels++;
			}
			s += n;
			while (*s == '/')
				s++;
		}
	}
	*o = '\0';
	return 0;
}

static int add_dir(struct cg_plan *p, const char *mount, const char *controller, size_t *idx)
{
	struct cg_dir *d;

	for (size_t i = 0; i < p->n_dirs; i++) {
		if (!strcmp(p->dirs[i].mount, mount)) {
			*idx = i;
			return 0;
		}
	}
	if (p->n_dirs == CG_DIRS_MAX)
		return -E2BIG;
	d = &p->dirs[p->n_dirs];
	*d = (struct cg_dir){0};
	snprintf(d->mount, sizeof(d->mount), "%s", mount);
	snprintf(d->controller, sizeof(d->controller), "%s", controller);
	if ((size_t)snprintf(d->path, sizeof(d->path), "%s/%s", mount, p->rel) >= sizeof(d->path))
		return -ENAMETOOLONG;
	*idx = p->n_dirs++;
	return 0;
}

int cg_plan(struct cg_plan *p, const struct jail_args *a, const char *exec_name, const char *mounts,
	    char *err, size_t errlen)
{
	const char *parent = a->parent_cgroup ? a->parent_cgroup : exec_name;
	char mount[PATH_MAX], path[PATH_MAX + 32], avail[CG_NAMES_MAX];
	int ret;

	memset(p, 0, sizeof(*p));
	p->proc_cgroup = "/proc/self/cgroup";
	if (build_rel(p, parent, a->id)) {
		say(err, errlen, "--parent-cgroup \"%s\": too long", parent);
		return -EINVAL;
	}
	if (a->cgroup_version == 2) {
		ret = cg_find_mount(mounts, NULL, mount, sizeof(mount));
		if (ret) {
			say(err, errlen, "--cgroup-version 2: no cgroup2 hierarchy in %s%s%s",
			    mounts, ret == -ENOENT ? "" : ": ",
			    ret == -ENOENT ? "" : strerror(-ret));
			return -EINVAL;
		}
		if (!a->n_cgroups) {
			/* Firecracker: with only a parent cgroup, join it if it exists. */
			struct stat st;

			snprintf(path, sizeof(path), "%s/%s", mount, parent);
			if (stat(path, &st) || !S_ISDIR(st.st_mode))
				return 0;
			p->version = 2;
			p->n_dirs = 1;
			snprintf(p->dirs[0].mount, sizeof(p->dirs[0].mount), "%s", mount);
			snprintf(p->dirs[0].path, sizeof(p->dirs[0].path), "%.*s",
				 (int)sizeof(p->dirs[0].path) - 1, path);
			p->dirs[0].existing = true;
			return 0;
		}
		snprintf(path, sizeof(path), "%s/cgroup.controllers", mount);
		ret = read_line(path, avail, sizeof(avail));
		if (ret) {
			say(err, errlen, "--cgroup-version 2: cannot read %s: %s", path,
			    strerror(-ret));
			return -EINVAL;
		}
	} else if (!a->n_cgroups) {
		return 0;
	}
	p->version = a->cgroup_version;
	for (size_t i = 0; i < a->n_cgroups; i++) {
		const struct jail_cgroup_arg *cg = &a->cgroups[i];
		size_t idx;

		if (p->version == 2) {
			if (!has_word(avail, ' ', cg->controller)) {
				say(err, errlen,
				    "--cgroup \"%s\": the cgroup2 hierarchy at %s has no \"%s\" "
				    "controller (it has: %s)",
				    cg->arg, mount, cg->controller, *avail ? avail : "none");
				return -EINVAL;
			}
			if (!has_word(p->v2_controllers, ' ', cg->controller)) {
				size_t n = strlen(p->v2_controllers);

				snprintf(p->v2_controllers + n, sizeof(p->v2_controllers) - n,
					 "%s%s", n ? " " : "", cg->controller);
			}
		} else {
			ret = cg_find_mount(mounts, cg->controller, mount, sizeof(mount));
			if (ret) {
				say(err, errlen,
				    "--cgroup \"%s\": no cgroup v1 hierarchy has the \"%s\" "
				    "controller (%s%s%s)",
				    cg->arg, cg->controller, mounts, ret == -ENOENT ? "" : ": ",
				    ret == -ENOENT ? "" : strerror(-ret));
				return -EINVAL;
			}
		}
		ret = add_dir(p, mount, cg->controller, &idx);
		if (ret) {
			say(err, errlen, "--cgroup \"%s\": %s", cg->arg,
			    ret == -E2BIG ? "too many hierarchies" : "the cgroup path is too long");
			return -EINVAL;
		}
		if (p->version == 1 && !strcmp(cg->controller, "cpuset"))
			p->dirs[idx].cpuset = true;
		p->writes[p->n_writes].dir = idx;
		p->writes[p->n_writes].cg = cg;
		p->n_writes++;
	}
	return 0;
}

/* A v1 cpuset directory joins nothing while cpus or mems is empty: take the parent's. */
static int inherit_cpuset(const char *dir, const char *parent, char *err, size_t errlen)
{
	static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
	char path[PATH_MAX + 16], value[4096];
	int ret;

	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		ret = read_line(path, value, sizeof(value));
		if (!ret && *value)
			continue;
		snprintf(path, sizeof(path), "%s/%s", parent, files[i]);
		if (!ret)
			ret = read_line(path, value, sizeof(value));
		if (!ret) {
			snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
			ret = write_value(path, value);
		}
		if (ret) {
			say(err, errlen, "cgroups: giving %s the %s of its parent: %s", dir,
			    files[i], strerror(-ret));
			return ret;
		}
	}
	return 0;
}

/* Enables each of p->v2_controllers in level @k's cgroup.subtree_control. */
static int enable_v2(struct cg_plan *p, int k, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX + 32], cur[CG_NAMES_MAX];
	int ret;

	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	ret = read_line(path, cur, sizeof(cur));
	for (const char *c = p->v2_controllers; !ret && *c;) {
		char name[JAIL_CG_FILE_MAX + 1];
		size_t n = strcspn(c, " "), used = strlen(p->v2_enabled[k]);

		snprintf(name, sizeof(name), "+%.*s", (int)n, c);
		c += n + (c[n] == ' ');
		if (has_word(cur, ' ', name + 1))
			continue;
		ret = write_value(path, name);
		if (ret) {
			say(err, errlen, "cgroups: enabling the \"%s\" controller in %s: %s",
			    name + 1, path, strerror(-ret));
			return ret;
		}
		snprintf(p->v2_enabled[k] + used, sizeof(p->v2_enabled[k]) - used, "%s%s",
			 used ? " " : "", name + 1);
	}
	if (ret)
		say(err, errlen, "cgroups: reading %s: %s", path, strerror(-ret));
	return ret;
}

/* The cgroup of this process in @d's hierarchy, from /proc/self/cgroup. */
static int find_orig(const struct cg_plan *p, struct cg_dir *d)
{
	char line[PATH_MAX + 256];
	FILE *f = fopen(p->proc_cgroup, "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		*c1 = *c2 = '\0'; /* line: hierarchy id, c1 + 1: its controllers */
		if (p->version == 2 ? strcmp(line, "0") || c1[1]
				    : !has_word(c1 + 1, ',', d->controller))
			continue;
		c2[1 + strcspn(c2 + 1, "\n")] = '\0';
		snprintf(d->orig, sizeof(d->orig), "%s", c2 + 1);
		ret = 0;
		break;
	}
	fclose(f);
	return ret;
}

int cg_apply(struct cg_plan *p, int pid, char *err, size_t errlen)
{
	char dir[PATH_MAX], prev[PATH_MAX], path[PATH_MAX + 32], num[16];
	int ret;

	for (size_t i = 0; i < p->n_dirs; i++) {
		struct cg_dir *d = &p->dirs[i];

		if (d->existing)
			continue;
		for (int k = 0; k <= p->levels; k++) {
			ret = level_path(p, d, k, dir, sizeof(dir));
			if (ret) {
				say(err, errlen, "cgroups: %s/%s: too long", d->mount, p->rel);
				return ret;
			}
			if (k && mkdir(dir, 0755) == 0) {
				if (!d->first_created)
					d->first_created = k;
			} else if (k && errno != EEXIST) {
				ret = -errno;
				say(err, errlen, "cgroups: creating %s: %s", dir, strerror(errno));
				return ret;
			}
			if (k && d->cpuset) {
				ret = inherit_cpuset(dir, prev, err, errlen);
				if (ret)
					return ret;
			}
			if (p->version == 2 && k < p->levels) {
				ret = enable_v2(p, k, dir, err, errlen);
				if (ret)
					return ret;
			}
			memcpy(prev, dir, sizeof(prev));
		}
	}
	for (size_t w = 0; w < p->n_writes; w++) {
		const struct jail_cgroup_arg *cg = p->writes[w].cg;

		snprintf(path, sizeof(path), "%s/%s", p->dirs[p->writes[w].dir].path, cg->file);
		ret = write_value(path, cg->value);
		if (ret) {
			say(err, errlen, "cgroups: --cgroup \"%s\": writing \"%s\" to %s: %s",
			    cg->arg, cg->value, path, strerror(-ret));
			return ret;
		}
	}
	snprintf(num, sizeof(num), "%d", pid);
	for (size_t i = 0; i < p->n_dirs; i++) {
		struct cg_dir *d = &p->dirs[i];

		ret = find_orig(p, d);
		if (ret) {
			say(err, errlen, "cgroups: finding this process's cgroup in %s: %s",
			    p->proc_cgroup, strerror(-ret));
			return ret;
		}
		snprintf(path, sizeof(path), "%s/cgroup.procs", d->path);
		ret = write_value(path, num);
		if (ret) {
			say(err, errlen, "cgroups: moving pid %d into %s: %s", pid, d->path,
			    strerror(-ret));
			return ret;
		}
		d->joined = true;
	}
	return 0;
}

void cg_undo(struct cg_plan *p, int pid)
{
	char dir[PATH_MAX], path[PATH_MAX * 2 + 32], num[16];

	snprintf(num, sizeof(num), "%d", pid);
	for (size_t i = p->n_dirs; i-- > 0;) {
		struct cg_dir *d = &p->dirs[i];

		if (d->joined) {
			snprintf(path, sizeof(path), "%s%s/cgroup.procs", d->mount, d->orig);
			write_value(path, num);
			d->joined = false;
		}
		for (int k = p->levels; d->first_created && k >= d->first_created; k--) {
			if (!level_path(p, d, k, dir, sizeof(dir)))
				rmdir(dir);
		}
		d->first_created = 0;
	}
	/* v2: turn off what cg_apply enabled in directories that still exist, deepest first. */
	for (int k = p->levels - 1; p->version == 2 && p->n_dirs && k >= 0; k--) {
		for (const char *c = p->v2_enabled[k]; *c;) {
			size_t n = strcspn(c, " ");
			char name[JAIL_CG_FILE_MAX + 1];

			snprintf(name, sizeof(name), "-%.*s", (int)n, c);
			c += n + (c[n] == ' ');
			if (!level_path(p, &p->dirs[0], k, dir, sizeof(dir))) {
				snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
				write_value(path, name);
			}
		}
		p->v2_enabled[k][0] = '\0';
	}
}
