// SPDX-License-Identifier: Apache-2.0
/*
 * ember-sandbox: a fresh microVM for every request, restored from a snapshot template
 * (README "The sandbox"). A program of its own, like ember-jailer: it drives ember
 * processes through their API sockets and links none of ember's code.
 */
#include "sandbox.h"

#include "clone.h"
#include "proto.h"
#include "session.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fputs("usage: ember-sandbox COMMAND ...\n"
	      "  run --template DIR [--timeout-ms N] [--stdin-file F] [--env K=V]... [--cwd D]\n"
	      "      [--verbose] [--jail] -- CMD [ARG...]\n"
	      "      (--vsock UDS instead of --template: the agent behind a running VM's vsock)\n"
	      "        one command in a fresh clone of the template: its output as it comes,\n"
	      "        its exit status (128+N for signal N, 124 on the timeout, 125 when\n"
	      "        ember-sandbox failed)\n"
	      "  serve --template DIR --socket PATH [--max-concurrent N] [--queue N] [--pool K]\n"
	      "        [--max-output BYTES] [--timeout-ms N] [--jail]\n"
	      "        HTTP/1.1 JSON on a Unix socket: POST /v1/run, GET /v1/stats\n"
	      "  ping --vsock UDS [--timeout-ms N]\n"
	      "        wait until the guest agent behind the hybrid vsock socket UDS answers\n"
	      "--jail: each clone under ember-jailer (beside ember) as its own uid (root only).\n"
	      "The ember binary: $EMBER, else ember beside ember-sandbox.\n",
	      out);
}

/* $EMBER, or the ember beside this program (build/ember beside build/ember-sandbox). */
static void find_ember(char *out, size_t len)
{
	const char *env = getenv("EMBER");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		snprintf(out, len, "ember");
		return;
	}
	self[n] = 0;
	snprintf(out, len, "%s/ember", dirname(self));
}

static int ping_main(int argc, char **argv)
{
	const char *uds = NULL;
	long timeout_ms = 1000;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--vsock") == 0)
			uds = argv[i + 1];
		else if (strcmp(argv[i], "--timeout-ms") == 0)
			timeout_ms = atol(argv[i + 1]);
	}
	if (!uds) {
		usage(stderr);
		return SB_EXIT_USAGE;
	}
	return sb_session_ping(uds, SB_AGENT_PORT_NUM, sb_now_ms() + (double)timeout_ms) == 0 ? 0
											      : 1;
}

int main(int argc, char **argv)
{
	char ember[PATH_MAX];
	find_ember(ember, sizeof(ember));
	if (argc < 2) {
		usage(stderr);
		return SB_EXIT_USAGE;
	}
	if (strcmp(argv[1], "run") == 0)
		return sb_run_main(argc - 1, argv + 1, ember);
	if (strcmp(argv[1], "serve") == 0)
		return sb_serve_main(argc - 1, argv + 1, ember);
	if (strcmp(argv[1], "ping") == 0)
		return ping_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "ember-sandbox: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return SB_EXIT_USAGE;
}
