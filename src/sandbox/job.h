/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service's request and answer bodies (serve.c, POST /v1/run):
 *   {"cmd": ["sh", "-c", "..."], "stdin": "...", "env": {"K": "V"}, "cwd": "/",
 *    "timeout_ms": N}
 * answered with exit_code or signal, stdout and stderr (base64, with
 * "stdout_encoding": "base64", where they are not UTF-8; cut at the output cap with
 * "stdout_truncated": true), timed_out and timings_ms.
 */
#ifndef EMBER_SANDBOX_JOB_H
#define EMBER_SANDBOX_JOB_H

#include "session.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sb_job {
	char **argv, **env; /* NULL-ended */
	char *cwd;
	uint8_t *stdin_data;
	size_t stdin_len;
	long timeout_ms;
	/* output, each stream capped at max_output bytes */
	uint8_t *out[2];
	size_t out_len[2], out_cap[2], max_output;
	bool truncated[2];
};

/*
 * Parses BODY into JOB (timeout_ms defaults to DEFAULT_TIMEOUT, at most MAX_TIMEOUT).
 * On a bad body returns -EINVAL with ERR saying which field and why.
 */
int sb_job_parse(struct sb_job *job, const char *body, size_t len, long default_timeout,
		 long max_timeout, char *err, size_t errlen);
void sb_job_free(struct sb_job *job);

/* The sink callback collecting output into JOB (ctx is the job). */
int sb_job_output(void *ctx, int stream, const uint8_t *data, size_t len);

/* The answer's JSON text (malloc'd) for a finished job. */
char *sb_job_answer(const struct sb_job *job, const struct sb_result *res, double restore_ms,
		    double agent_ms, double exec_ms, double total_ms, double queue_ms, bool pooled);

#endif
