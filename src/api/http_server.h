/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The API's HTTP server: one AF_UNIX listening socket and its connections
 * (http_conn.h), all on the VMM's event loop (no thread of its own). It
 * accepts up to HTTP_MAX_CONNS connections, reads what they send into their
 * connection, writes back what it answers (reading stops while much output
 * waits), and closes them when they are done.
 */
#ifndef EMBER_API_HTTP_SERVER_H
#define EMBER_API_HTTP_SERVER_H

#include "api/http_conn.h"
#include "core/event_loop.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct http_client; /* one accepted connection: its socket and its struct http_conn */

struct http_server {
	struct http_service service; /* what answers the requests */
	struct event_loop *loop;
	int listen_fd;
	struct ev_handler listen_h;
	char *path; /* the socket file, removed by http_server_close() if still ours */
	dev_t dev;  /* ... identified by device and inode */
	ino_t ino;
	struct http_client *clients; /* open connections (a list) */
	unsigned int nr_clients;
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

#endif
