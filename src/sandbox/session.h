/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One request to a clone's guest agent over the hybrid vsock (proto.h): send the
 * command, its environment, stdin, fresh entropy and the clock; hand stdout and stderr
 * to callbacks as they arrive; return how the command ended.
 */
#ifndef EMBER_SANDBOX_SESSION_H
#define EMBER_SANDBOX_SESSION_H

#include <stddef.h>
#include <stdint.h>

struct sb_request {
	const char *const *argv; /* NULL-ended, at least one word */
	const char *const *env;	 /* NULL-ended "KEY=VALUE", may be NULL */
	const char *cwd;	 /* NULL: / */
	const uint8_t *stdin_data;
	size_t stdin_len;
};

enum sb_outcome {
	SB_EXITED,     /* code: the exit status */
	SB_SIGNALED,   /* code: the signal */
	SB_TIMED_OUT,  /* the deadline passed first */
	SB_AGENT_LOST, /* the stream ended without a status: the agent or VM died */
	SB_CANCELLED,  /* the cancel callback asked to stop */
};

struct sb_sink {
	void *ctx;
	/* stream 1 or 2; returns nonzero to cancel the request */
	int (*output)(void *ctx, int stream, const uint8_t *data, size_t len);
	/* polled between reads: nonzero cancels (a client that went away) */
	int (*cancelled)(void *ctx);
	int cancel_fd; /* also watched for readability/hang-up when >= 0 */
};

struct sb_result {
	enum sb_outcome outcome;
	int code;
	char message[512];  /* the agent's failure text, or why the agent was lost */
	double connect_ms;  /* vsock CONNECT answered */
	double started_ms;  /* the agent said the command started */
	double finished_ms; /* the status arrived */
};

/*
 * Runs REQ through the agent behind the hybrid vsock socket UDS on PORT, until it ends
 * or DEADLINE (sb_now_ms() milliseconds) passes. Times in RES are sb_now_ms() stamps.
 * Returns 0 when RES says how it ended, negative errno when nothing could be sent.
 */
int sb_session_run(const char *uds, unsigned port, const struct sb_request *req,
		   const struct sb_sink *sink, double deadline, struct sb_result *res);

/* Only the readiness probe: P -> P. 0 when the agent answered. */
int sb_session_ping(const char *uds, unsigned port, double deadline);

#endif
