/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One HTTP/1.1 connection of the API, without its socket: the bytes the
 * client sent go in, the answers' bytes come out. Requests are parsed with
 * Debian's http-parser (libhttp_parser, the parser only); the rest is here:
 * keep-alive, pipelining (requests on one connection are answered in order),
 * bodies up to a limit (Content-Length or chunked), "Expect: 100-continue",
 * HEAD, and malformed input answered with 400 and the connection closed.
 *
 * The server (http_server.h) moves the bytes between a socket and this; the
 * unit tests and the fuzzer feed it bytes directly.
 */
#ifndef EMBER_API_HTTP_CONN_H
#define EMBER_API_HTTP_CONN_H

#include "api/http.h"

#include <stdbool.h>
#include <stddef.h>

/* What answers a connection's requests: shared by a server's connections, outlives them. */
struct http_service {
	http_handler handler;
	void *opaque;
	size_t max_body; /* the largest request body, in bytes */
};

/* Sets @svc; @max_body 0 means HTTP_DEFAULT_MAX_BODY. */
void http_service_init(struct http_service *svc, size_t max_body, http_handler fn, void *opaque);

struct http_conn;

/* A new connection answering with @svc, @id naming it in log lines; NULL if out of memory. */
struct http_conn *http_conn_new(const struct http_service *svc, unsigned long id);
void http_conn_free(struct http_conn *c);

/*
 * Parses @len bytes, answering each complete request (svc->handler) into the
 * connection's output, in order. Returns false once the connection is to be
 * closed (after its output is written): malformed input, an oversized body,
 * "Connection: close", out of memory. Later input is ignored.
 */
bool http_conn_input(struct http_conn *c, const char *data, size_t len);
/* The client sent its last byte: no more requests; what it asked is still answered. */
void http_conn_end_input(struct http_conn *c);
/* True once no more input is taken: close when the output is written. */
bool http_conn_closing(const struct http_conn *c);

/* The answer bytes not yet written; http_conn_consume() drops the first @n. */
const char *http_conn_output(const struct http_conn *c, size_t *len);
void http_conn_consume(struct http_conn *c, size_t n);

#endif
