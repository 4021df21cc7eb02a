/* SPDX-License-Identifier: Apache-2.0 */
/* Scratch files for the jailer's unit tests: a directory under /tmp and small file helpers. */
#ifndef EMBER_TESTS_UNIT_JAILER_FS_H
#define EMBER_TESTS_UNIT_JAILER_FS_H

#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* The current case's scratch directory (fs_setup makes a new one). */
static char fs_root[64];

/* The path T/<fmt...> in a rotating static buffer (four live at a time). */
__attribute__((format(printf, 1, 2))) static const char *fs_path(const char *fmt, ...)
{
	static char bufs[4][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 4];
	int n = snprintf(b, PATH_MAX, "%s/", fs_root);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b + n, PATH_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return b;
}

static void fs_setup(void)
{
	snprintf(fs_root, sizeof(fs_root), "/tmp/ember-jailer-unit.XXXXXX");
	CHECK(mkdtemp(fs_root));
}

/* Removes the scratch directory (rm -rf: the tests make only plain files and dirs). */
static void fs_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fs_root);
	CHECK_EQ(system(cmd), 0);
}

static void fs_mkdir(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	CHECK(mkdir(tmp, 0755) == 0 || errno == EEXIST);
}

static void fs_write(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, content, strlen(content)), (long long)strlen(content));
	close(fd);
	CHECK_EQ(chmod(path, mode), 0);
}

/* The file's content ("<missing>" if it cannot be read). */
static const char *fs_read(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return "<missing>";
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static bool fs_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

#endif
