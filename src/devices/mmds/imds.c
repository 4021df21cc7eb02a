// SPDX-License-Identifier: Apache-2.0
/*
 * MMDS's HTTP side (see mmds.h): one request from the guest in, one response
 * out, as Firecracker's MMDS answers them. http_parser (the API's parser too)
 * reads the request; only the headers MMDS acts on are kept.
 */
#include "devices/mmds/mmds.h"

#include <errno.h>
#include <http_parser.h>
#include <inttypes.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TARGET_MAX 1024
#define VALUE_MAX  128
#define TOKEN_RAW  32 /* serial (8), expiry (8), MAC (16) */
#define TOKEN_TXT  BASE64_ENCODE_RAW_LENGTH(TOKEN_RAW)

enum hdr {
	H_ACCEPT,
	H_TOKEN,
	H_TTL,
	H_FORWARDED,
	H_NONE,
};

struct imds_req {
	char target[TARGET_MAX + 1];
	size_t target_len;
	bool target_long;
	enum hdr cur;
	bool in_value;
	char name[48];
	size_t name_len;
	char val[H_NONE][VALUE_MAX + 1];
	size_t val_len[H_NONE];
	bool has[H_NONE];
	bool val_long[H_NONE];
	bool complete;
};

static enum hdr hdr_of(const char *name)
{
	if (!strcasecmp(name, "accept"))
		return H_ACCEPT;
	if (!strcasecmp(name, "x-metadata-token") || !strcasecmp(name, "x-aws-ec2-metadata-token"))
		return H_TOKEN;
	if (!strcasecmp(name, "x-metadata-token-ttl-seconds") ||
	    !strcasecmp(name, "x-aws-ec2-metadata-token-ttl-seconds"))
		return H_TTL;
	if (!strcasecmp(name, "x-forwarded-for"))
		return H_FORWARDED;
	return H_NONE;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct imds_req *r = p->data;

	if (r->target_len + len > TARGET_MAX) {
		r->target_long = true;
		return 0;
	}
	memcpy(r->target + r->target_len, at, len);
	r->target_len += len;
	r->target[r->target_len] = '\0';
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct imds_req *r = p->data;

	if (r->in_value) {
		r->in_value = false;
		r->name_len = 0;
	}
	if (r->name_len + len >= sizeof(r->name))
		len = sizeof(r->name) - 1 - r->name_len;
	memcpy(r->name + r->name_len, at, len);
	r->name_len += len;
	r->name[r->name_len] = '\0';
	return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct imds_req *r = p->data;

	if (!r->in_value) {
		r->in_value = true;
		r->cur = hdr_of(r->name);
		if (r->cur != H_NONE) {
			r->has[r->cur] = true;
			r->val_len[r->cur] = 0;
		}
	}
	if (r->cur == H_NONE)
		return 0;
	if (r->val_len[r->cur] + len > VALUE_MAX) {
		r->val_long[r->cur] = true;
		return 0;
	}
	memcpy(r->val[r->cur] + r->val_len[r->cur], at, len);
	r->val_len[r->cur] += len;
	r->val[r->cur][r->val_len[r->cur]] = '\0';
	return 0;
}

static int on_message_complete(http_parser *p)
{
	struct imds_req *r = p->data;

	r->complete = true;
	http_parser_pause(p, 1); /* one request per connection: what follows is not read */
	return 0;
}

static const http_parser_settings settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_message_complete = on_message_complete,
};

/* --- responses --- */

struct out {
	char **resp;
	size_t *len;
};

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	default:
		return "Not Implemented";
	}
}

static int respond(struct out *o, int status, const char *type, const char *body, size_t body_len)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\nServer: Firecracker API\r\nConnection: close\r\n%s"
			 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 status, reason(status), status == 405 ? "Allow: GET, PUT\r\n" : "", type,
			 body_len);
	char *r = malloc((size_t)n + body_len);

	if (!r)
		return -ENOMEM;
	memcpy(r, head, (size_t)n);
	memcpy(r + n, body, body_len);
	*o->resp = r;
	*o->len = (size_t)n + body_len;
	return 1;
}

__attribute__((format(printf, 3, 4))) static int fail(struct out *o, int status, const char *fmt,
						      ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	return respond(o, status, "text/plain", msg, (size_t)n);
}

/* --- tokens: serial, expiry and their MAC under the service's key --- */

static void token_mac(const struct mmds *s, const uint8_t *data, uint8_t mac[16])
{
	struct hmac_sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];

	hmac_sha256_set_key(&ctx, sizeof(s->key), s->key);
	hmac_sha256_update(&ctx, 16, data);
	hmac_sha256_digest(&ctx, sizeof(d), d);
	memcpy(mac, d, 16);
}

static void token_new(struct mmds *s, uint64_t expiry_ns, char txt[TOKEN_TXT + 1])
{
	uint8_t raw[TOKEN_RAW];
	uint64_t serial = __atomic_add_fetch(&s->token_serial, 1, __ATOMIC_RELAXED);

	memcpy(raw, &serial, 8);
	memcpy(raw + 8, &expiry_ns, 8);
	token_mac(s, raw, raw + 16);
	base64_encode_raw(txt, sizeof(raw), raw);
	txt[TOKEN_TXT] = '\0';
}

static bool token_valid(const struct mmds *s, const char *txt, size_t len, uint64_t now_ns)
{
	struct base64_decode_ctx ctx;
	uint8_t raw[TOKEN_RAW + 3], mac[16];
	size_t n = sizeof(raw);
	uint64_t expiry;

	if (len != TOKEN_TXT)
		return false;
	base64_decode_init(&ctx);
	if (!base64_decode_update(&ctx, &n, raw, len, txt) || !base64_decode_final(&ctx) ||
	    n != TOKEN_RAW)
		return false;
	token_mac(s, raw, mac);
	if (!memeql_sec(mac, raw + 16, sizeof(mac)))
		return false;
	memcpy(&expiry, raw + 8, 8);
	return now_ns < expiry;
}

static int put_token(struct mmds *s, struct imds_req *r, const char *path, uint64_t now_ns,
		     struct out *o)
{
	char tok[TOKEN_TXT + 1], *end;
	const char *v = r->val[H_TTL];
	unsigned long long ttl;

	if (strcmp(path, "/latest/api/token"))
		return fail(o, 404, "Resource not found: %s.", path);
	if (r->has[H_FORWARDED])
		return fail(o, 400,
			    "Invalid header. Reason: Unsupported header name. Key: "
			    "X-Forwarded-For");
	if (!r->has[H_TTL])
		return fail(o, 400,
			    "Token time to live value not found. Use "
			    "`X-metadata-token-ttl-seconds` or "
			    "`X-aws-ec2-metadata-token-ttl-seconds` header to specify "
			    "the token's lifetime.");
	errno = 0;
	ttl = strtoull(v, &end, 10);
	if (r->val_long[H_TTL] || !*v || *end || *v == '-' || *v == '+' || errno)
		return fail(
		    o, 400,
		    "Invalid header. Reason: Invalid value. Key:X-metadata-token-ttl-seconds; "
		    "Value:%s",
		    v);
	if (ttl < 1 || ttl > MMDS_TOKEN_TTL_MAX)
		return fail(o, 400,
			    "Invalid time to live value provided for token: %llu. Please provide "
			    "a value between 1 and %d.",
			    ttl, MMDS_TOKEN_TTL_MAX);
	token_new(s, now_ns + ttl * 1000000000ULL, tok);
	return respond(o, 200, "text/plain", tok, TOKEN_TXT);
}

/* --- GET: a JSON pointer into the store --- */

/* The segment @seg (@n bytes) unescaped (~1 is '/', ~0 is '~') into @buf; false if bad. */
static bool unescape(const char *seg, size_t n, char *buf, size_t cap)
{
	size_t j = 0;

	for (size_t i = 0; i < n; i++) {
		char c = seg[i];

		if (c == '~') {
			if (i + 1 >= n || (seg[i + 1] != '0' && seg[i + 1] != '1'))
				return false;
			c = seg[++i] == '0' ? '~' : '/';
		}
		if (j + 1 >= cap)
			return false;
		buf[j++] = c;
	}
	buf[j] = '\0';
	return true;
}

static json_t *lookup(json_t *root, const char *path)
{
	json_t *v = root;
	const char *p = path;

	while (v && *p) {
		const char *e;
		char key[TARGET_MAX + 1];

		while (*p == '/')
			p++;
		if (!*p)
			break;
		e = strchr(p, '/');
		if (!e)
			e = p + strlen(p);
		if (!json_is_object(v) || !unescape(p, (size_t)(e - p), key, sizeof(key)))
			return NULL;
		v = json_object_get(v, key);
		p = e;
	}
	return v;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object's keys, sorted, one a line; sub-objects with a trailing '/'. */
static char *listing(json_t *obj, size_t *len)
{
	size_t n = json_object_size(obj), i = 0, total = 0, off = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys));
	const char *k;
	json_t *v;
	char *out;

	if (!keys)
		return NULL;
	json_object_foreach(obj, k, v)
	{
		keys[i++] = k;
		total += strlen(k) + 2;
	}
	qsort(keys, n, sizeof(*keys), cmp_str);
	out = malloc(total + 1);
	for (i = 0; out && i < n; i++) {
		size_t l = strlen(keys[i]);

		if (i)
			out[off++] = '\n';
		memcpy(out + off, keys[i], l);
		off += l;
		if (json_is_object(json_object_get(obj, keys[i])))
			out[off++] = '/';
	}
	free(keys);
	*len = off;
	return out;
}

static int get_value(struct mmds *s, struct imds_req *r, const char *path, struct out *o)
{
	bool want_json =
	    !s->imds_compat && r->has[H_ACCEPT] && strstr(r->val[H_ACCEPT], "application/json");
	char *body = NULL;
	size_t len = 0;
	json_t *v;
	int ret;

	pthread_mutex_lock(&s->lock);
	v = s->data ? lookup(s->data, path) : NULL;
	if (!v) {
		pthread_mutex_unlock(&s->lock);
		return fail(o, 404, "Resource not found: %s.", path);
	}
	if (want_json) {
		body = json_dumps(v, JSON_ENCODE_ANY | JSON_SORT_KEYS);
		len = body ? strlen(body) : 0;
	} else if (json_is_string(v)) {
		len = json_string_length(v);
		body = malloc(len + 1);
		if (body)
			memcpy(body, json_string_value(v), len);
	} else if (json_is_object(v)) {
		body = listing(v, &len);
	} else {
		pthread_mutex_unlock(&s->lock);
		return fail(o, 501, "Cannot retrieve value. The value has an unsupported type.");
	}
	pthread_mutex_unlock(&s->lock);
	if (!body)
		return -ENOMEM;
	ret = respond(o, 200, want_json ? "application/json" : "text/plain", body, len);
	free(body);
	return ret;
}

static int serve(struct mmds *s, http_parser *p, struct imds_req *r, uint64_t now_ns, struct out *o)
{
	struct http_parser_url u;
	char path[TARGET_MAX + 1];
	size_t n;

	if (r->target_long)
		return fail(o, 400, "The request target is longer than %d bytes.", TARGET_MAX);
	http_parser_url_init(&u);
	if (http_parser_parse_url(r->target, r->target_len, 0, &u) ||
	    !(u.field_set & (1 << UF_PATH)))
		return fail(o, 400, "Invalid request target.");
	n = u.field_data[UF_PATH].len;
	memcpy(path, r->target + u.field_data[UF_PATH].off, n);
	path[n] = '\0';

	if (p->method == HTTP_PUT)
		return put_token(s, r, path, now_ns, o);
	if (p->method != HTTP_GET)
		return fail(o, 405, "Not allowed HTTP method.");
	if (r->has[H_TOKEN] && !token_valid(s, r->val[H_TOKEN], r->val_len[H_TOKEN], now_ns)) {
		MMDS_COUNT(&s->m, rx_invalid_token, 1);
		if (s->version == MMDS_V2)
			return fail(o, 401, "MMDS token not valid.");
	} else if (!r->has[H_TOKEN] && s->version == MMDS_V2) {
		MMDS_COUNT(&s->m, rx_no_token, 1);
		return fail(o, 401,
			    "No MMDS token provided. Use `X-metadata-token` or "
			    "`X-aws-ec2-metadata-token` header to specify the session "
			    "token.");
	}
	return get_value(s, r, path, o);
}

int mmds_http_serve(struct mmds *s, const char *req, size_t len, bool full, uint64_t now_ns,
		    char **resp, size_t *resp_len)
{
	struct imds_req *r = calloc(1, sizeof(*r));
	struct out o = {resp, resp_len};
	http_parser p;
	int ret;

	if (!r)
		return -ENOMEM;
	/* The whole request so far, parsed again: requests are small (the stack's buffer). */
	http_parser_init(&p, HTTP_REQUEST);
	p.data = r;
	http_parser_execute(&p, &settings, req, len);
	if (r->complete)
		ret = serve(s, &p, r, now_ns, &o);
	else if (HTTP_PARSER_ERRNO(&p) != HPE_OK)
		ret = fail(&o, 400, "Bad request: %s.",
			   http_errno_description(HTTP_PARSER_ERRNO(&p)));
	else if (full)
		ret = fail(&o, 400, "Bad request: incomplete or too large.");
	else
		ret = 0;
	if (ret == 1) {
		MMDS_COUNT(&s->m, rx_count, 1);
		MMDS_COUNT(&s->m, tx_count, 1);
	}
	free(r);
	return ret;
}
