// SPDX-License-Identifier: Apache-2.0
/*
 * The HTTP connection core without sockets (bytes in, answers out) and the
 * API socket's rules (stale socket reused, live one refused, file removed at
 * close).
 */
#include "api/http_server.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static struct http_server srv;
static int handled;
static char last_method[16], last_path[256], last_body[65536];
static size_t last_body_len;

/* Echoes what it got: {"m": method, "p": path, "n": body length}; PUT answers 204. */
static void echo(void *opaque, const struct http_request *req, struct http_response *resp)
{
	char buf[512];

	(void)opaque;
	handled++;
	snprintf(last_method, sizeof(last_method), "%s", req->method);
	snprintf(last_path, sizeof(last_path), "%s", req->path);
	last_body_len = req->body_len;
	if (req->body)
		memcpy(last_body, req->body, req->body_len < sizeof(last_body) ? req->body_len : 0);
	if (!strcmp(req->method, "PUT")) {
		resp->status = 204;
		resp->body = NULL;
		return;
	}
	snprintf(buf, sizeof(buf), "{\"m\":\"%s\",\"p\":\"%s\",\"n\":%zu}", req->method, req->path,
		 req->body_len);
	resp->status = 200;
	resp->body = strdup(buf);
}

static struct http_conn *conn(size_t max_body)
{
	handled = 0;
	http_server_init(&srv, max_body, echo, NULL);
	return http_conn_new(&srv.service, 1);
}

/* All the output so far, as a string (consumed). */
static const char *output(struct http_conn *c)
{
	static char buf[65536];
	size_t len;
	const char *out = http_conn_output(c, &len);

	if (len >= sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, out, len);
	buf[len] = '\0';
	http_conn_consume(c, len);
	return buf;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(one_get)
{
	struct http_conn *c = conn(0);
	const char *out;

	CHECK(http_conn_input(c, "GET /version HTTP/1.1\r\nHost: localhost\r\n\r\n", 42));
	out = output(c);
	CHECK_EQ(handled, 1);
	CHECK(!strncmp(out, "HTTP/1.1 200 OK\r\n", 17));
	CHECK_CONTAINS(out, "Connection: keep-alive\r\n");
	CHECK_CONTAINS(out, "Content-Type: application/json\r\n");
	CHECK_CONTAINS(out, "Content-Length: 32\r\n\r\n{\"m\":\"GET\",\"p\":\"/version\",\"n\":0}");
	http_conn_free(c);
}

TEST(no_content_has_no_body)
{
	struct http_conn *c = conn(0);
	const char *in = "PUT /actions HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}";
	const char *out;

	CHECK(http_conn_input(c, in, strlen(in)));
	out = output(c);
	CHECK_STR(out,
		  "HTTP/1.1 204 No Content\r\nServer: ember\r\nConnection: keep-alive\r\n\r\n");
	CHECK_EQ(last_body_len, 2);
	CHECK(!memcmp(last_body, "{}", 2));
	http_conn_free(c);
}

TEST(pipelined_in_order)
{
	struct http_conn *c = conn(0);
	const char *in = "GET /a HTTP/1.1\r\n\r\n"
			 "PUT /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
			 "GET /c?x=1 HTTP/1.1\r\n\r\n";
	const char *out, *a, *b, *cc;

	CHECK(http_conn_input(c, in, strlen(in)));
	CHECK_EQ(handled, 3);
	out = output(c);
	a = strstr(out, "\"p\":\"/a\"");
	b = strstr(out, "204 No Content");
	cc = strstr(out, "\"p\":\"/c\""); /* the query is not part of the path */
	CHECK(a && b && cc && a < b && b < cc);
	http_conn_free(c);
}

TEST(byte_by_byte)
{
	struct http_conn *c = conn(0);
	const char *in = "PATCH /vm HTTP/1.1\r\nContent-Type: application/json\r\n"
			 "Content-Length: 19\r\n\r\n{\"state\": \"Paused\"}";

	for (size_t i = 0; i < strlen(in); i++)
		CHECK(http_conn_input(c, in + i, 1));
	CHECK_EQ(handled, 1);
	CHECK_STR(last_method, "PATCH");
	CHECK_EQ(last_body_len, 19);
	CHECK_CONTAINS(output(c), "\"n\":19");
	http_conn_free(c);
}

TEST(partly_written_output)
{
	struct http_conn *c = conn(0);
	const char *req = "GET /abc HTTP/1.1\r\n\r\n";
	static char first[1024], want[65536];
	const char *out;
	size_t len, r;

	/* A slow reader takes 7 bytes per answer: what it left comes first, in order. */
	CHECK(http_conn_input(c, req, strlen(req)));
	out = http_conn_output(c, &r);
	CHECK(r < sizeof(first));
	memcpy(first, out, r);
	http_conn_consume(c, 7);
	for (int round = 1; round < 50; round++) {
		CHECK(http_conn_input(c, req, strlen(req)));
		http_conn_consume(c, 7);
	}
	for (int i = 0; i < 50; i++)
		memcpy(want + i * r, first, r);
	out = http_conn_output(c, &len);
	CHECK_EQ(len, 50 * r - 350);
	CHECK(!memcmp(out, want + 350, len));
	http_conn_free(c);
}

TEST(head_has_no_body)
{
	struct http_conn *c = conn(0);
	const char *out;
	const char *in = "HEAD / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n";

	CHECK(http_conn_input(c, in, strlen(in)));
	CHECK_EQ(handled, 2);
	out = output(c);
	/* The HEAD answer ends at its blank line; the GET's answer follows at once. */
	CHECK_CONTAINS(out, "Content-Length: 26\r\n\r\nHTTP/1.1 200 OK\r\n");
	CHECK_CONTAINS(out, "{\"m\":\"GET\",\"p\":\"/\",\"n\":0}");
	CHECK_EQ(count(out, "\"m\":\"HEAD\""), 0);
	http_conn_free(c);
}

TEST(chunked_body)
{
	struct http_conn *c = conn(0);
	const char *in = "PATCH /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			 "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";

	CHECK(http_conn_input(c, in, strlen(in)));
	CHECK_EQ(handled, 1);
	CHECK_EQ(last_body_len, 7);
	CHECK(!memcmp(last_body, "abcdefg", 7));
	http_conn_free(c);
}

TEST(connection_close_and_http10)
{
	struct http_conn *c = conn(0);
	const char *in = "GET / HTTP/1.1\r\nConnection: close\r\n\r\nGET /ignored HTTP/1.1\r\n\r\n";

	CHECK(!http_conn_input(c, in, strlen(in)));
	CHECK_EQ(handled, 1);
	CHECK_CONTAINS(output(c), "Connection: close\r\n");
	CHECK(!http_conn_input(c, "GET / HTTP/1.1\r\n\r\n", 18));
	CHECK_EQ(handled, 1);
	http_conn_free(c);

	c = conn(0);
	CHECK(!http_conn_input(c, "GET / HTTP/1.0\r\n\r\n", 18));
	CHECK_CONTAINS(output(c), "Connection: close\r\n");
	http_conn_free(c);
}

TEST(oversize_body_refused)
{
	struct http_conn *c = conn(100);
	char in[512];
	const char *out;

	snprintf(in, sizeof(in), "PUT /boot-source HTTP/1.1\r\nContent-Length: 101\r\n\r\n");
	CHECK(!http_conn_input(c, in, strlen(in)));
	out = output(c);
	CHECK(!strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26));
	CHECK_CONTAINS(out, "Connection: close");
	CHECK_CONTAINS(out, "{\"fault_message\":\"Request payload with size 101 is larger than the "
			    "limit of 100 allowed by server.\"}");
	CHECK_EQ(handled, 0);
	http_conn_free(c);

	/* Exactly the limit is fine. */
	c = conn(4);
	CHECK(http_conn_input(c, "PUT / HTTP/1.1\r\nContent-Length: 4\r\n\r\nabcd", 41));
	CHECK_EQ(handled, 1);
	http_conn_free(c);

	/* Chunked: counted as it comes. */
	c = conn(4);
	snprintf(in, sizeof(in),
		 "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"
		 "3\r\ndef\r\n0\r\n\r\n");
	CHECK(!http_conn_input(c, in, strlen(in)));
	CHECK_CONTAINS(output(c), "Request payload with size 6 is larger than the limit of 4");
	CHECK_EQ(handled, 0);
	http_conn_free(c);

	/* The default limit is Firecracker's. */
	c = conn(0);
	CHECK_EQ(srv.service.max_body, 51200);
	CHECK(!http_conn_input(c, "PUT / HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", 41));
	CHECK_CONTAINS(output(c), "size 51201 is larger than the limit of 51200");
	http_conn_free(c);
}

TEST(expect_continue)
{
	struct http_conn *c = conn(0);
	const char *head = "PUT /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	const char *out;

	CHECK(http_conn_input(c, head, strlen(head)));
	CHECK_STR(output(c), "HTTP/1.1 100 Continue\r\n\r\n");
	CHECK(http_conn_input(c, "{}", 2));
	out = output(c);
	CHECK(!strncmp(out, "HTTP/1.1 204", 12));
	http_conn_free(c);

	/* Too large: the answer is the refusal, not 100 Continue. */
	c = conn(1);
	CHECK(!http_conn_input(c, head, strlen(head)));
	out = output(c);
	CHECK(!strncmp(out, "HTTP/1.1 400", 12));
	CHECK_EQ(count(out, "100 Continue"), 0);
	http_conn_free(c);
}

TEST(malformed_closes)
{
	static const char *const bad[] = {
	    "GARBAGE\r\n\r\n",
	    "GET / HTTP/9.9\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
	    "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
	    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	    "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
	    "\x01\x02\x03\xff\xfe",
	    "GET /\x7f HTTP/1.1\r\n\r\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_conn *c = conn(0);
		const char *out;

		if (http_conn_input(c, bad[i], strlen(bad[i])))
			FAIL_AT("case %zu was accepted", i);
		out = output(c);
		if (strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) ||
		    !strstr(out, "Connection: close") ||
		    !strstr(out, "{\"fault_message\":\"Malformed HTTP request: "))
			FAIL_AT("case %zu: %s", i, out);
		CHECK_EQ(handled, 0);
		/* Nothing more is read or answered. */
		CHECK(!http_conn_input(c, "GET / HTTP/1.1\r\n\r\n", 18));
		CHECK_STR(output(c), "");
		http_conn_free(c);
	}
}

/* Only HTTP/1.0 and HTTP/1.1, as Firecracker: http_parser alone takes "HTTX/1.1". */
TEST(protocol_checked)
{
	static const char *const bad[] = {
	    "GET / HTTX/1.1\r\n\r\n",
	    "GET / HTTP/1.2\r\nHost: x\r\n\r\n",
	    "PUT /vm HTXP/1.0\r\nContent-Length: 2\r\n\r\n{}",
	};
	struct http_conn *c;
	const char *in, *out;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = conn(0);
		if (http_conn_input(c, bad[i], strlen(bad[i])))
			FAIL_AT("case %zu was accepted", i);
		out = output(c);
		if (strncmp(out, "HTTP/1.1 400 Bad Request\r\n", 26) ||
		    !strstr(out, "Malformed HTTP request: Unsupported HTTP version \\\"") ||
		    handled)
			FAIL_AT("case %zu: %s", i, out);
		http_conn_free(c);
	}
	/* Named in the answer, even when the line comes a byte at a time. */
	c = conn(0);
	in = "GET /version HTTX/1.1\r\nHost: x\r\n\r\n";
	for (size_t i = 0; i < strlen(in) && http_conn_input(c, in + i, 1); i++)
		;
	CHECK_CONTAINS(output(c), "Unsupported HTTP version \\\"HTTX/1.1\\\"");
	CHECK_EQ(handled, 0);
	http_conn_free(c);
	/* In a pipeline: the good request is answered, the bad one ends the connection. */
	c = conn(0);
	in = "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.3\r\n\r\n";
	CHECK(!http_conn_input(c, in, strlen(in)));
	out = output(c);
	CHECK_EQ(handled, 1);
	CHECK_CONTAINS(out, "\"p\":\"/a\"");
	CHECK_CONTAINS(out, "Unsupported HTTP version \\\"HTTP/1.3\\\"");
	http_conn_free(c);
}

TEST(limits_on_target_and_headers)
{
	struct http_conn *c = conn(0);
	static char in[HTTP_MAX_HEADER + 512];
	size_t n;

	n = (size_t)snprintf(in, sizeof(in), "GET /");
	memset(in + n, 'a', HTTP_MAX_TARGET);
	n += HTTP_MAX_TARGET;
	n += (size_t)snprintf(in + n, sizeof(in) - n, " HTTP/1.1\r\n\r\n");
	CHECK(!http_conn_input(c, in, n));
	CHECK_CONTAINS(output(c), "The request target is longer than 1024 bytes.");
	http_conn_free(c);

	c = conn(0);
	n = (size_t)snprintf(in, sizeof(in), "GET / HTTP/1.1\r\nX: ");
	memset(in + n, 'b', HTTP_MAX_HEADER);
	n += HTTP_MAX_HEADER;
	CHECK(!http_conn_input(c, in, n));
	CHECK_CONTAINS(output(c), "Malformed HTTP request: too many header bytes");
	http_conn_free(c);
}

TEST(fault_json_escapes)
{
	char *s = http_fault_json("a \"quoted\" \\ line\nand \xff byte");

	CHECK(s != NULL);
	CHECK_STR(s, "{\"fault_message\":\"a \\\"quoted\\\" \\\\ line\\nand ? byte\"}");
	free(s);
}

static char sock_path[108];

static void make_path(void)
{
	snprintf(sock_path, sizeof(sock_path), "/tmp/ember-test-http-%d.sock", (int)getpid());
	unlink(sock_path);
}

TEST(socket_rules)
{
	struct http_server a, b;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char err[256];
	struct stat st;
	int fd;

	make_path();
	http_server_init(&a, 0, echo, NULL);
	CHECK_EQ(http_server_listen(&a, sock_path, err, sizeof(err)), 0);
	/* A second server on a live socket is refused, and the socket stays. */
	http_server_init(&b, 0, echo, NULL);
	CHECK_EQ(http_server_listen(&b, sock_path, err, sizeof(err)), -EADDRINUSE);
	CHECK_CONTAINS(err, "another process is serving it");
	CHECK_CONTAINS(err, sock_path);
	CHECK_EQ(stat(sock_path, &st), 0);
	/* Closing removes the file. */
	http_server_close(&a);
	CHECK(stat(sock_path, &st) < 0 && errno == ENOENT);

	/* A stale socket (nothing listens) is replaced. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	CHECK_EQ(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	CHECK_EQ(stat(sock_path, &st), 0);
	http_server_init(&a, 0, echo, NULL);
	CHECK_EQ(http_server_listen(&a, sock_path, err, sizeof(err)), 0);
	/* It accepts connections at once, before any event loop runs. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	close(fd);
	/* A file replaced under the server is not removed by it. */
	unlink(sock_path);
	fd = open(sock_path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	http_server_close(&a);
	CHECK_EQ(stat(sock_path, &st), 0);

	/* A path that is not a socket is refused and left alone. */
	http_server_init(&a, 0, echo, NULL);
	CHECK_EQ(http_server_listen(&a, sock_path, err, sizeof(err)), -EEXIST);
	CHECK_CONTAINS(err, "exists and is not a socket");
	CHECK_EQ(stat(sock_path, &st), 0);
	unlink(sock_path);

	CHECK(http_server_listen(&a, "", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "the path must be 1 to 107 bytes long");
	CHECK(http_server_listen(&a, "/tmp/no-such-dir-for-ember/x.sock", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "/tmp/no-such-dir-for-ember/x.sock: No such file or directory");
}

TEST_MAIN(TEST_ENTRY(one_get), TEST_ENTRY(no_content_has_no_body), TEST_ENTRY(pipelined_in_order),
	  TEST_ENTRY(byte_by_byte), TEST_ENTRY(partly_written_output), TEST_ENTRY(head_has_no_body),
	  TEST_ENTRY(chunked_body), TEST_ENTRY(connection_close_and_http10),
	  TEST_ENTRY(oversize_body_refused), TEST_ENTRY(expect_continue),
	  TEST_ENTRY(malformed_closes), TEST_ENTRY(protocol_checked),
	  TEST_ENTRY(limits_on_target_and_headers), TEST_ENTRY(fault_json_escapes),
	  TEST_ENTRY(socket_rules))
