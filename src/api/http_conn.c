// SPDX-License-Identifier: Apache-2.0
/* One HTTP/1.1 connection of the API, bytes in and answers out (see http_conn.h). */
#include "api/http_conn.h"

#include "util/log.h"

#include <http_parser.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct http_conn {
	const struct http_service *svc;
	unsigned long id;
	http_parser parser;

	/* The request being read. */
	char target[HTTP_MAX_TARGET + 1];
	size_t target_len;
	bool target_too_long;
	char *body;
	size_t body_len, body_cap;
	char hdr_name[32]; /* the current header's name, lowercase, truncated */
	size_t hdr_name_len;
	char hdr_value[32]; /* ... and the start of its value */
	size_t hdr_value_len;
	bool in_value;
	/*
	 * The request line's protocol, after the target: http_parser does not
	 * check its letters (it takes "HTTX/1.1"), so it is collected here from
	 * the bytes being parsed (chunk..chunk_end, during http_conn_input).
	 */
	const char *chunk, *chunk_end;
	const char *proto_from; /* where it starts in the chunk; NULL: at the chunk's start */
	char proto[16];
	size_t proto_len; /* sizeof(proto): too long to be one */
	bool proto_open;  /* the line's end not seen yet */
	bool expect_continue;
	bool answered;	 /* this request already has its (error) answer */
	bool in_request; /* between a request's first byte and its end */

	/* Output not yet written. */
	char *out;
	size_t out_len, out_off, out_cap;
	bool closing; /* no more requests: close once the output is written */
};

static int on_message_begin(http_parser *p);
static int on_url(http_parser *p, const char *at, size_t len);
static int on_header_field(http_parser *p, const char *at, size_t len);
static int on_header_value(http_parser *p, const char *at, size_t len);
static int on_headers_complete(http_parser *p);
static int on_body(http_parser *p, const char *at, size_t len);
static int on_message_complete(http_parser *p);

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

char *http_fault_json(const char *fmt, ...)
{
	char msg[1024];
	json_t *o;
	char *s;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* jansson escapes the text; bytes that are not UTF-8 would make it refuse. */
	o = json_pack("{s:s}", "fault_message", msg);
	if (!o) {
		for (char *c = msg; *c; c++)
			if ((unsigned char)*c >= 0x80)
				*c = '?';
		o = json_pack("{s:s}", "fault_message", msg);
	}
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

static const char *reason(int status)
{
	switch (status) {
	case 100:
		return "Continue";
	case 200:
		return "OK";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 413:
		return "Payload Too Large";
	case 500:
		return "Internal Server Error";
	default:
		return "";
	}
}

static bool out_append(struct http_conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap && c->out_off) {
		/* Written bytes make room first, so a slow reader cannot grow the buffer forever.
		 */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 1024;
		char *n;

		while (cap < c->out_len + len)
			cap *= 2;
		n = realloc(c->out, cap);
		if (!n)
			return false;
		c->out = n;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return true;
}

/*
 * Queues one response; takes @body (malloc'd JSON or NULL). A HEAD request's
 * answer has the headers only (a client reads no body after it).
 */
static void respond(struct http_conn *c, int status, char *body, bool keep_alive, bool head_only)
{
	char head[256];
	size_t blen = body ? strlen(body) : 0;
	int n;

	if (status == 204 || !body)
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: ember\r\nConnection: %s\r\n%s\r\n", status,
			     reason(status), keep_alive ? "keep-alive" : "close",
			     status == 204 ? "" : "Content-Length: 0\r\n");
	else
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 %d %s\r\nServer: ember\r\nConnection: %s\r\n"
			     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
			     status, reason(status), keep_alive ? "keep-alive" : "close", blen);
	if (!out_append(c, head, (size_t)n) ||
	    (status != 204 && !head_only && !out_append(c, body ? body : "", blen)))
		c->closing = true; /* out of memory: give up on this client */
	free(body);
}

/* An error that ends the connection: answered, then closed. */
__attribute__((format(printf, 3, 4))) static void fail_conn(struct http_conn *c, int status,
							    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_debug("API connection %lu: %d: %s", c->id, status, msg);
	respond(c, status, http_fault_json("%s", msg), false, false);
	c->answered = true;
	c->closing = true;
}

/* --- parser callbacks --- */

static int on_message_begin(http_parser *p)
{
	struct http_conn *c = p->data;

	c->target_len = 0;
	c->target_too_long = false;
	c->body_len = 0;
	c->hdr_name_len = c->hdr_value_len = 0;
	c->in_value = false;
	c->expect_continue = false;
	c->answered = false;
	c->in_request = true;
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	/* The protocol follows the target (whose last part this may be). */
	c->proto_open = true;
	c->proto_len = 0;
	c->proto_from = at + len;
	if (c->target_too_long || c->target_len + len > HTTP_MAX_TARGET) {
		c->target_too_long = true;
		return 0;
	}
	memcpy(c->target + c->target_len, at, len);
	c->target_len += len;
	return 0;
}

/* The header just read (name and value) is complete. */
static void header_done(struct http_conn *c)
{
	static const char want[] = "100-continue";

	if (c->hdr_name_len == 6 && !memcmp(c->hdr_name, "expect", 6) &&
	    c->hdr_value_len == sizeof(want) - 1 &&
	    !strncasecmp(c->hdr_value, want, sizeof(want) - 1))
		c->expect_continue = true;
	c->hdr_name_len = c->hdr_value_len = 0;
	c->in_value = false;
}

static void keep_start(char *buf, size_t cap, size_t *used, const char *at, size_t len, bool lower)
{
	for (size_t i = 0; i < len && *used < cap; i++) {
		char ch = at[i];

		if (lower && ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		buf[(*used)++] = ch;
	}
}

/* The request line's protocol from the chunk up to @end (or the line's end). */
static void proto_take(struct http_conn *c, const char *end)
{
	const char *at = c->proto_from ? c->proto_from : c->chunk;

	for (; c->proto_open && at < end; at++) {
		if (*at == '\n')
			c->proto_open = false;
		else if (*at != ' ' && *at != '\r' && c->proto_len < sizeof(c->proto))
			c->proto[c->proto_len++] = *at;
	}
	c->proto_from = NULL; /* the rest, if any, comes in the next chunk */
}

/* Firecracker serves HTTP/1.0 and HTTP/1.1 and refuses any other protocol. */
static bool proto_ok(const struct http_conn *c)
{
	return c->proto_len == 8 &&
	       (!memcmp(c->proto, "HTTP/1.0", 8) || !memcmp(c->proto, "HTTP/1.1", 8));
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (c->proto_open)
		proto_take(c, at);
	if (c->in_value)
		header_done(c);
	keep_start(c->hdr_name, sizeof(c->hdr_name), &c->hdr_name_len, at, len, true);
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	c->in_value = true;
	keep_start(c->hdr_value, sizeof(c->hdr_value), &c->hdr_value_len, at, len, false);
	return 0;
}

static void too_large(struct http_conn *c, unsigned long long size)
{
	/* Firecracker's message for the same case. */
	fail_conn(c, 400,
		  "Request payload with size %llu is larger than the limit of %zu allowed by "
		  "server.",
		  size, c->svc->max_body);
}

static int on_headers_complete(http_parser *p)
{
	struct http_conn *c = p->data;

	if (c->in_value)
		header_done(c);
	if (c->proto_open)
		proto_take(c, c->chunk_end);
	if (!proto_ok(c)) {
		char shown[sizeof(c->proto) + 1];

		for (size_t i = 0; i < c->proto_len && i < sizeof(c->proto); i++)
			shown[i] = c->proto[i] > ' ' && c->proto[i] < 0x7f ? c->proto[i] : '?';
		shown[c->proto_len < sizeof(c->proto) ? c->proto_len : sizeof(c->proto)] = '\0';
		fail_conn(c, 400,
			  "Malformed HTTP request: Unsupported HTTP version \"%s%s\" (HTTP/1.0 "
			  "and HTTP/1.1 are).",
			  shown, c->proto_len == sizeof(c->proto) ? "..." : "");
		return -1;
	}
	if (c->target_too_long) {
		fail_conn(c, 400, "The request target is longer than %d bytes.", HTTP_MAX_TARGET);
		return -1;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > c->svc->max_body) {
		too_large(c, (unsigned long long)p->content_length);
		return -1;
	}
	/* curl and others wait for this before sending a body. */
	if (c->expect_continue && !out_append(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
		c->closing = true;
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn *c = p->data;

	if (c->body_len + len > c->svc->max_body) {
		too_large(c, (unsigned long long)(c->body_len + len));
		return -1;
	}
	if (c->body_len + len + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 1024;
		char *n;

		while (cap < c->body_len + len + 1)
			cap *= 2;
		n = realloc(c->body, cap);
		if (!n) {
			fail_conn(c, 500, "Out of memory reading the request body.");
			return -1;
		}
		c->body = n;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, at, len);
	c->body_len += len;
	c->body[c->body_len] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct http_conn *c = p->data;
	struct http_parser_url u;
	struct http_response resp = {0};
	struct http_request req;
	char path[HTTP_MAX_TARGET + 1];
	bool keep_alive = http_should_keep_alive(p);

	c->in_request = false;
	/* Origin form ("/path?query") or absolute form ("http://host/path"). */
	http_parser_url_init(&u);
	if (http_parser_parse_url(c->target, c->target_len, 0, &u)) {
		fail_conn(c, 400, "The request target is not a valid URL.");
		return -1;
	}
	if (u.field_set & (1 << UF_PATH)) {
		memcpy(path, c->target + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len);
		path[u.field_data[UF_PATH].len] = '\0';
	} else {
		strcpy(path, "/");
	}
	req.method = http_method_str((enum http_method)p->method);
	req.path = path;
	req.body = c->body_len ? c->body : NULL;
	req.body_len = c->body_len;
	c->svc->handler(c->svc->opaque, &req, &resp);
	if (resp.status < 200 || resp.status > 599) {
		free(resp.body);
		resp.status = 500;
		resp.body = http_fault_json("The server produced no answer to this request.");
	}
	respond(c, resp.status, resp.body, keep_alive, p->method == HTTP_HEAD);
	/* Keep memory flat between requests. */
	if (c->body_cap > 65536) {
		free(c->body);
		c->body = NULL;
		c->body_cap = 0;
	}
	c->body_len = 0;
	if (!keep_alive) {
		/* The last request on this connection: stop parsing what follows it. */
		c->closing = true;
		http_parser_pause(p, 1);
	}
	return 0;
}

/* --- the connection core --- */

void http_service_init(struct http_service *svc, size_t max_body, http_handler fn, void *opaque)
{
	svc->handler = fn;
	svc->opaque = opaque;
	svc->max_body = max_body ? max_body : HTTP_DEFAULT_MAX_BODY;
	/* The parser's one setting is process-wide: every connection has the same limit. */
	http_parser_set_max_header_size(HTTP_MAX_HEADER);
}

struct http_conn *http_conn_new(const struct http_service *svc, unsigned long id)
{
	struct http_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->svc = svc;
	c->id = id;
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	return c;
}

void http_conn_free(struct http_conn *c)
{
	if (!c)
		return;
	free(c->body);
	free(c->out);
	free(c);
}

bool http_conn_input(struct http_conn *c, const char *data, size_t len)
{
	enum http_errno e;

	if (c->closing)
		return false;
	c->chunk = data;
	c->chunk_end = data + len;
	http_parser_execute(&c->parser, &settings, data, len);
	/* A request line split across reads: its protocol so far. */
	if (c->proto_open)
		proto_take(c, c->chunk_end);
	c->chunk = c->chunk_end = NULL;
	e = HTTP_PARSER_ERRNO(&c->parser);
	if (e == HPE_PAUSED) {
		c->closing = true; /* paused after a "Connection: close" request */
	} else if (e != HPE_OK) {
		if (!c->answered)
			fail_conn(c, 400, "Malformed HTTP request: %s.", http_errno_description(e));
		c->closing = true;
	} else if (c->parser.upgrade) {
		fail_conn(c, 400, "Protocol upgrades are not supported.");
	}
	return !c->closing;
}

const char *http_conn_output(const struct http_conn *c, size_t *len)
{
	*len = c->out_len - c->out_off;
	return c->out ? c->out + c->out_off : "";
}

void http_conn_consume(struct http_conn *c, size_t n)
{
	c->out_off += n;
	if (c->out_off >= c->out_len)
		c->out_off = c->out_len = 0;
}

void http_conn_end_input(struct http_conn *c)
{
	if (c->in_request)
		log_debug("API connection %lu: client left mid-request", c->id);
	c->closing = true;
}

bool http_conn_closing(const struct http_conn *c)
{
	return c->closing;
}
