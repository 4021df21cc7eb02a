/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's HTTP/1.1 server: one AF_UNIX listening socket and its connections,
 * all on the VMM's event loop (no thread of its own). Requests are parsed with
 * Debian's http-parser (libhttp_parser, the parser only); connection handling
 * is here: keep-alive, pipelining (requests on one connection are answered in
 * order), bodies up to a limit (Content-Length or chunked), "Expect:
 * 100-continue", and malformed input answered with 400 and the connection
 * closed. Every error body is {"fault_message": "..."}.
 *
 * The connection core (http_conn_input) needs no socket: the unit tests and
 * the fuzzer feed it bytes and read what it answers.
 */
#ifndef EMBER_API_HTTP_H
#define EMBER_API_HTTP_H

#include "core/event_loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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
	char *body; /* malloc'd JSON text or NULL (no body); the server frees it */
};

typedef void (*http_handler)(void *opaque, const struct http_request *req,
			     struct http_response *resp);

struct http_conn;

struct http_server {
	struct event_loop *loop;
	int listen_fd;
	struct ev_handler listen_h;
	char *path; /* the socket file, removed by http_server_close() if still ours */
	dev_t dev;  /* ... identified by device and inode */
	ino_t ino;
	size_t max_body;
	http_handler handler;
	void *opaque;
	struct http_conn *conns; /* open connections (a list) */
	unsigned int nr_conns;
	unsigned long next_id;
	bool refused_logged;
};

/* Sets the fields; no socket yet. @max_body 0 means HTTP_DEFAULT_MAX_BODY. */
void http_server_init(struct http_server *srv, size_t max_body, http_handler fn, void *opaque);

/*
 * Creates, binds and listens on the Unix socket @path, so clients can connect
 * at once (they are served once the loop runs). A stale socket file (nothing
 * accepts on it) is removed and reused; a live one, or a file that is not a
 * socket, is refused. On error returns -errno with one line in @err naming
 * @path and the problem.
 */
int http_server_listen(struct http_server *srv, const char *path, char *err, size_t errlen);

/* Registers the listening socket on @loop: connections are accepted from now on. */
int http_server_start(struct http_server *srv, struct event_loop *loop);

/* Closes every connection (flushing what it can), the socket, and removes its file. */
void http_server_close(struct http_server *srv);

/* {"fault_message": "<formatted>"}, malloc'd (NULL if out of memory). */
char *http_fault_json(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- the connection core, also used without a socket (fd -1) --- */
struct http_conn *http_conn_new(struct http_server *srv, int fd);
void http_conn_free(struct http_conn *c);
/*
 * Parses @len bytes, answering each complete request (srv->handler) into the
 * connection's output, in order. Returns false once the connection is to be
 * closed (after its output is written): malformed input, an oversized body,
 * "Connection: close". Later input is ignored.
 */
bool http_conn_input(struct http_conn *c, const char *data, size_t len);
/* The answer bytes not yet written; http_conn_consume() drops the first @n. */
const char *http_conn_output(const struct http_conn *c, size_t *len);
void http_conn_consume(struct http_conn *c, size_t n);

#endif
