// SPDX-License-Identifier: Apache-2.0
/* Reading and checking a sandbox template's manifest (template.h). */
#include "template.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ember --version's second line ("ember vX.Y.Z"), which the manifest records. */
static int ember_version(const char *ember, char *out, size_t len, char *err, size_t errlen)
{
	int fd[2];
	if (pipe(fd) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		execl(ember, ember, "--version", (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	char buf[512];
	size_t have = 0;
	ssize_t n;
	while (have < sizeof(buf) - 1 && (n = read(fd[0], buf + have, sizeof(buf) - 1 - have)) > 0)
		have += (size_t)n;
	buf[have] = 0;
	close(fd[0]);
	int status;
	waitpid(pid, &status, 0);
	char *line = strstr(buf, "ember v");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !line) {
		snprintf(err, errlen, "%s --version: no \"ember v...\" line (is it ember?)", ember);
		return -ENOEXEC;
	}
	line[strcspn(line, "\n")] = 0;
	snprintf(out, len, "%s", line);
	return 0;
}

static int want_file(const char *path, const char *what, off_t *size, char *err, size_t errlen)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		snprintf(err, errlen, "%s (the template's %s): %s", path, what, strerror(e));
		return -e;
	}
	*size = st.st_size;
	return 0;
}

int sb_template_load(struct sb_template *t, const char *dir, const char *ember, char *err,
		     size_t errlen)
{
	char manifest[PATH_MAX + 32];
	memset(t, 0, sizeof(*t));
	if (!realpath(dir, t->dir)) {
		int e = errno;
		snprintf(err, errlen, "template %s: %s", dir, strerror(e));
		return -e;
	}
	snprintf(manifest, sizeof(manifest), "%s/manifest.json", t->dir);
	json_error_t je;
	json_t *m = json_load_file(manifest, JSON_REJECT_DUPLICATES, &je);
	if (!m) {
		snprintf(err, errlen, "%s: %s (line %d)", manifest, je.text, je.line);
		return -EINVAL;
	}
	int ret = -EINVAL;
	const char *format = NULL, *version = NULL, *state = NULL, *memory = NULL;
	json_int_t vcpus = 0, mem = 0, port = 0, state_bytes = -1;
	if (json_unpack_ex(m, &je, 0, "{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "format", &format,
			   "ember_version", &version, "state_file", &state, "memory_file", &memory,
			   "vcpus", &vcpus, "mem_size_mib", &mem, "vsock_port", &port,
			   "state_bytes", &state_bytes) < 0) {
		snprintf(err, errlen, "%s: %s", manifest, je.text);
		goto out;
	}
	if (strcmp(format, SB_TEMPLATE_FORMAT) != 0) {
		snprintf(err, errlen, "%s: format \"%s\", expected \"%s\"", manifest, format,
			 SB_TEMPLATE_FORMAT);
		goto out;
	}
	if (vcpus < 1 || vcpus > 32 || mem < 1 || mem > 65536 || port < 1 || port > 0xffffffffLL) {
		snprintf(err, errlen, "%s: vcpus, mem_size_mib or vsock_port out of range",
			 manifest);
		goto out;
	}
	if (strchr(state, '/') || strchr(memory, '/') || strlen(state) > 255 ||
	    strlen(memory) > 255) {
		snprintf(err, errlen, "%s: state_file and memory_file name files beside it",
			 manifest);
		goto out;
	}
	t->vcpus = (unsigned)vcpus;
	t->mem_mib = (unsigned)mem;
	t->port = (unsigned)port;
	snprintf(t->state, sizeof(t->state), "%s/%.255s", t->dir, state);
	snprintf(t->memory, sizeof(t->memory), "%s/%.255s", t->dir, memory);
	snprintf(t->ember_version, sizeof(t->ember_version), "%s", version);
	off_t size;
	if ((ret = want_file(t->state, "state file", &size, err, errlen)))
		goto out;
	ret = -EINVAL;
	if (size != state_bytes) {
		snprintf(err, errlen,
			 "%s: %lld bytes, but the manifest says %lld: not this template's",
			 t->state, (long long)size, (long long)state_bytes);
		goto out;
	}
	if ((ret = want_file(t->memory, "memory file", &size, err, errlen)))
		goto out;
	ret = -EINVAL;
	if (size != (off_t)mem << 20) {
		snprintf(err, errlen, "%s: %lld bytes, but the template's VM has %lld MiB",
			 t->memory, (long long)size, (long long)mem);
		goto out;
	}
	char have[128];
	if ((ret = ember_version(ember, have, sizeof(have), err, errlen)))
		goto out;
	ret = -EINVAL;
	if (strcmp(have, version) != 0) {
		snprintf(err, errlen,
			 "%s: made by %s, but %s is %s: rebuild it (make sandbox-template)",
			 manifest, version, ember, have);
		goto out;
	}
	ret = 0;
out:
	json_decref(m);
	return ret;
}
