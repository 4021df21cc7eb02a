/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's HTTP/1.1, the part every side shares: a request as its handler
 * sees it, the response it gives, the limits, and Firecracker's error body.
 *
 *   http_conn.h    one connection: bytes in, answers out, no socket (parsing,
 *                  keep-alive, pipelining, bodies, the responses' bytes)
 *   http_server.h  the Unix socket: listening, accepting, the connections'
 *                  I/O on the event loop
 *
 * Every error body is {"fault_message": "..."}.
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include <stddef.h>

#define HTTP_DEFAULT_MAX_BODY 51200 /* Firecracker's --http-api-max-payload-size default */
#define HTTP_MAX_TARGET	      1024  /* longest request target (path and query) */
#define HTTP_MAX_HEADER	      16384 /* request line and headers, in bytes */
#define HTTP_MAX_CONNS	      64    /* connections served at once; more are closed */

struct http_request {
	const char *method; /* "GET", "PUT", ... as sent (any method the parser knows) */
	const char *path;   /* the target's path, without query or fragment */
	const char *body;   /* NULL when the request has no body (or an empty one) */
	size_t body_len;
};

struct http_response {
	int status;
	char *body; /* malloc'd JSON text or NULL (no body); the connection frees it */
};

/* Answers @req into @resp (a status from 200 to 599); @opaque is the handler's own. */
typedef void (*http_handler)(void *opaque, const struct http_request *req,
			     struct http_response *resp);

/* {"fault_message": "<formatted>"}, malloc'd (NULL if out of memory). */
char *http_fault_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
