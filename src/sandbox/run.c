// SPDX-License-Identifier: Apache-2.0
/*
 * ember-sandbox run: one request from the command line. Restores a clone, runs the
 * command, copies its stdout and stderr to ours as they arrive, and exits with its
 * status (128 + N for signal N, 124 on the timeout, as timeout(1)); the VM is destroyed
 * whatever happens.
 */
#include "sandbox.h"

#include "clone.h"
#include "proto.h"
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int write_out(void *ctx, int stream, const uint8_t *data, size_t len)
{
	(void)ctx;
	while (len) {
		ssize_t n = write(stream, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1; /* our reader went away: stop the command */
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int sb_read_file(const char *path, uint8_t **data, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t cap = 65536, have = 0;
	uint8_t *p = malloc(cap);
	ssize_t n;
	while (p && (n = read(fd, p + have, cap - have)) > 0) {
		have += (size_t)n;
		if (have == cap) {
			uint8_t *q = realloc(p, cap *= 2);
			if (!q)
				free(p);
			p = q;
		}
	}
	int e = errno;
	close(fd);
	if (!p)
		return -ENOMEM;
	if (n < 0) {
		free(p);
		return -e;
	}
	*data = p;
	*len = have;
	return 0;
}

int sb_run_main(int argc, char **argv, const char *ember)
{
	static const struct option opts[] = {{"template", required_argument, NULL, 't'},
					     {"timeout-ms", required_argument, NULL, 'T'},
					     {"stdin-file", required_argument, NULL, 'i'},
					     {"env", required_argument, NULL, 'e'},
					     {"cwd", required_argument, NULL, 'C'},
					     {"verbose", no_argument, NULL, 'v'},
					     {"vsock", required_argument, NULL, 'V'},
					     {"jail", no_argument, NULL, 'j'},
					     {NULL, 0, NULL, 0}};
	const char *tdir = NULL, *stdin_file = NULL, *cwd = NULL, *vsock = NULL;
	long timeout_ms = 60000;
	int verbose = 0, jailed = 0;
	const char **env = calloc((size_t)argc + 1, sizeof(*env));
	size_t envc = 0;
	int c;
	while (env && (c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 't':
			tdir = optarg;
			break;
		case 'T':
			timeout_ms = strtol(optarg, &end, 10);
			if (*end || timeout_ms <= 0 || timeout_ms > 86400000L) {
				fprintf(stderr,
					"ember-sandbox run: --timeout-ms %s: not 1..86400000\n",
					optarg);
				return SB_EXIT_USAGE;
			}
			break;
		case 'i':
			stdin_file = optarg;
			break;
		case 'e':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				fprintf(stderr, "ember-sandbox run: --env %s: not KEY=VALUE\n",
					optarg);
				return SB_EXIT_USAGE;
			}
			env[envc++] = optarg;
			break;
		case 'C':
			cwd = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			vsock = optarg;
			break;
		case 'j':
			jailed = 1;
			break;
		default:
			return SB_EXIT_USAGE;
		}
	}
	if (!env)
		return SB_EXIT_FAIL;
	if (!tdir == !vsock || optind >= argc) {
		fprintf(
		    stderr,
		    "usage: ember-sandbox run --template DIR [--timeout-ms N] "
		    "[--stdin-file F] [--env K=V]... [--cwd DIR] -- CMD [ARG...]\n"
		    "       (or --vsock UDS instead of --template: an agent already running)\n");
		return SB_EXIT_USAGE;
	}
	char err[1024];
	struct sb_template t = {.port = SB_AGENT_PORT};
	static struct sb_jail jail;
	if ((tdir && sb_template_load(&t, tdir, ember, err, sizeof(err)) < 0) ||
	    (tdir && jailed && sb_jail_init(&jail, &t, ember, err, sizeof(err)) < 0)) {
		fprintf(stderr, "ember-sandbox: %s\n", err);
		return SB_EXIT_FAIL;
	}
	struct sb_request req = {
	    .argv = (const char *const *)argv + optind, .env = env, .cwd = cwd};
	uint8_t *in = NULL;
	if (stdin_file) {
		int ret = sb_read_file(stdin_file, &in, &req.stdin_len);
		if (ret < 0) {
			fprintf(stderr, "ember-sandbox run: --stdin-file %s: %s\n", stdin_file,
				strerror(-ret));
			return SB_EXIT_USAGE;
		}
		req.stdin_data = in;
	}
	signal(SIGPIPE, SIG_IGN);
	double t0 = sb_now_ms();
	struct sb_clone clone = {0};
	if (vsock)
		snprintf(clone.vsock, sizeof(clone.vsock), "%s", vsock);
	else if (sb_clone_start(&clone, &t, ember, jailed ? &jail : NULL, true, err, sizeof(err)) <
		 0) {
		fprintf(stderr, "ember-sandbox: %s\n", err);
		free(in);
		return SB_EXIT_FAIL;
	}
	struct sb_sink sink = {.output = write_out, .cancel_fd = -1};
	struct sb_result res;
	int ret = sb_session_run(clone.vsock, t.port, &req, &sink, t0 + (double)timeout_ms, &res);
	sb_clone_destroy(&clone);
	free(in);
	free(env);
	if (ret < 0) {
		fprintf(stderr, "ember-sandbox: %s\n", strerror(-ret));
		return SB_EXIT_FAIL;
	}
	if (verbose)
		fprintf(stderr,
			"ember-sandbox: restore %.2f ms, agent %.2f ms, exec %.2f ms, total %.2f "
			"ms\n",
			clone.restore_ms,
			res.started_ms ? res.started_ms - t0 - clone.restore_ms : 0,
			res.started_ms && res.finished_ms ? res.finished_ms - res.started_ms : 0,
			sb_now_ms() - t0);
	if (res.message[0] && res.outcome != SB_TIMED_OUT)
		fprintf(stderr, "ember-sandbox: %s\n", res.message);
	switch (res.outcome) {
	case SB_EXITED:
		return res.code;
	case SB_SIGNALED:
		return 128 + res.code;
	case SB_TIMED_OUT:
		fprintf(stderr, "ember-sandbox: timed out after %ld ms: the VM was destroyed\n",
			timeout_ms);
		return SB_EXIT_TIMEOUT;
	default:
		return SB_EXIT_FAIL;
	}
}
