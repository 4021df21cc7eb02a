// SPDX-License-Identifier: Apache-2.0
/* MMDS's data store and HTTP answers (devices/mmds/store.c, imds.c), no network. */
#include "devices/mmds/mmds.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#define DATA                                                                           \
	"{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1234\", \"reservation-id\": " \
	"\"r-1\", \"net\": {\"mac\": \"aa\"}, \"count\": 3}}}"
#define SEC    1000000000ULL
#define S(lit) lit, strlen(lit)

static struct mmds svc;
static char *resp;
static size_t resp_len;

static void setup(enum mmds_version v, bool compat)
{
	char err[MMDS_ERR_MAX];

	CHECK_EQ(mmds_init(&svc, 0), 0);
	mmds_set_config(&svc, v, compat, MMDS_DEFAULT_IPV4);
	CHECK_EQ(mmds_put(&svc, DATA, strlen(DATA), err), 0);
}

static void teardown(void)
{
	free(resp);
	resp = NULL;
	mmds_destroy(&svc);
}

/* The response to @req at @now (seconds), NUL-terminated in resp. */
static const char *ask(const char *req, uint64_t now)
{
	free(resp);
	resp = NULL;
	CHECK_EQ(mmds_http_serve(&svc, req, strlen(req), true, now * SEC, &resp, &resp_len), 1);
	resp = realloc(resp, resp_len + 1);
	resp[resp_len] = '\0';
	return resp;
}

static const char *body(void)
{
	const char *b = strstr(resp, "\r\n\r\n");

	return b ? b + 4 : "";
}

/* A V2 token issued at @now for @ttl seconds. */
static char *token(uint64_t now, const char *ttl)
{
	char req[256];

	snprintf(req, sizeof(req),
		 "PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: %s\r\n\r\n", ttl);
	CHECK_CONTAINS(ask(req, now), "HTTP/1.1 200");
	return strdup(body());
}

static const char *get_with(const char *path, const char *hdrs, uint64_t now)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n%s\r\n", path, hdrs);
	return ask(req, now);
}

TEST(v1_answers_text_listings_and_json)
{
	setup(MMDS_V1, false);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", "", 1), "HTTP/1.1 200");
	CHECK_CONTAINS(resp, "Content-Type: text/plain");
	CHECK_STR(body(), "ami-1234");
	get_with("/latest/meta-data/", "", 1);
	CHECK_STR(body(), "ami-id\ncount\nnet/\nreservation-id");
	get_with("/latest", "", 1);
	CHECK_STR(body(), "meta-data/");
	get_with("/latest/meta-data/net", "Accept: application/json\r\n", 1);
	CHECK_CONTAINS(resp, "Content-Type: application/json");
	CHECK_STR(body(), "{\"mac\": \"aa\"}");
	get_with("/latest/meta-data/ami-id", "Accept: application/json\r\n", 1);
	CHECK_STR(body(), "\"ami-1234\"");
	/* Numbers have no IMDS form. */
	CHECK_CONTAINS(get_with("/latest/meta-data/count", "", 1), "HTTP/1.1 501");
	CHECK_CONTAINS(get_with("/latest/nothing", "", 1), "HTTP/1.1 404");
	CHECK_CONTAINS(body(), "/latest/nothing");
	teardown();
}

TEST(imds_compat_answers_text_whatever_the_accept_header)
{
	setup(MMDS_V1, true);
	get_with("/latest/meta-data/ami-id", "Accept: application/json\r\n", 1);
	CHECK_CONTAINS(resp, "Content-Type: text/plain");
	CHECK_STR(body(), "ami-1234");
	teardown();
}

TEST(v2_needs_a_valid_unexpired_token)
{
	char *tok, hdr[256];

	setup(MMDS_V2, false);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", "", 1), "HTTP/1.1 401");
	CHECK_EQ(svc.m.rx_no_token, 1);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", "X-metadata-token: bogus\r\n", 1),
		       "HTTP/1.1 401");
	CHECK_EQ(svc.m.rx_invalid_token, 1);
	tok = token(10, "60");
	snprintf(hdr, sizeof(hdr), "X-metadata-token: %s\r\n", tok);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", hdr, 11), "HTTP/1.1 200");
	CHECK_STR(body(), "ami-1234");
	/* The AWS name of the header works too. */
	snprintf(hdr, sizeof(hdr), "X-aws-ec2-metadata-token: %s\r\n", tok);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", hdr, 11), "HTTP/1.1 200");
	/* Expired after its 60 s. */
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", hdr, 71), "HTTP/1.1 401");
	/* One byte changed: not valid. */
	tok[5] = tok[5] == 'A' ? 'B' : 'A';
	snprintf(hdr, sizeof(hdr), "X-metadata-token: %s\r\n", tok);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", hdr, 11), "HTTP/1.1 401");
	free(tok);
	teardown();
}

TEST(tokens_differ_and_another_key_refuses_them)
{
	char *a, *b, hdr[256];
	struct mmds other;

	setup(MMDS_V2, false);
	a = token(1, "100");
	b = token(1, "100");
	CHECK(strcmp(a, b));
	/* The same token, to a service with its own fresh key. */
	CHECK_EQ(mmds_init(&other, 0), 0);
	CHECK(memcmp(other.key, svc.key, sizeof(svc.key)));
	mmds_destroy(&other);
	free(a);
	free(b);
	snprintf(hdr, sizeof(hdr), "X-metadata-token: %s\r\n", "");
	CHECK_CONTAINS(get_with("/", hdr, 1), "HTTP/1.1 401");
	teardown();
}

TEST(token_requests_are_checked)
{
	setup(MMDS_V2, false);
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\n\r\n", 1), "HTTP/1.1 400");
	CHECK_CONTAINS(body(), "X-metadata-token-ttl-seconds");
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
			   "0\r\n\r\n",
			   1),
		       "HTTP/1.1 400");
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
			   "21601\r\n\r\n",
			   1),
		       "HTTP/1.1 400");
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
			   "abc\r\n\r\n",
			   1),
		       "HTTP/1.1 400");
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-"
			   "seconds: 21600\r\n\r\n",
			   1),
		       "HTTP/1.1 200");
	CHECK_CONTAINS(ask("PUT /latest/api/token HTTP/1.1\r\nX-metadata-token-ttl-seconds: "
			   "5\r\nX-Forwarded-For: 1.2.3.4\r\n\r\n",
			   1),
		       "HTTP/1.1 400");
	CHECK_CONTAINS(body(), "X-Forwarded-For");
	CHECK_CONTAINS(
	    ask("PUT /latest/other HTTP/1.1\r\nX-metadata-token-ttl-seconds: 5\r\n\r\n", 1),
	    "HTTP/1.1 404");
	CHECK_CONTAINS(ask("POST / HTTP/1.1\r\n\r\n", 1), "HTTP/1.1 405");
	CHECK_CONTAINS(resp, "Allow: GET, PUT");
	teardown();
}

TEST(v1_accepts_requests_without_or_with_bad_tokens)
{
	setup(MMDS_V1, false);
	CHECK_CONTAINS(get_with("/latest/meta-data/ami-id", "X-metadata-token: nope\r\n", 1),
		       "HTTP/1.1 200");
	teardown();
}

TEST(incomplete_and_malformed_requests)
{
	setup(MMDS_V1, false);
	CHECK_EQ(mmds_http_serve(&svc, "GET / HTTP/1.1\r\n", 16, false, 0, &resp, &resp_len), 0);
	CHECK_CONTAINS(ask("GET / HTTP/1.1\r\n", 1), "HTTP/1.1 400"); /* and no more will come */
	CHECK_CONTAINS(ask("\x01\x02garbage\r\n\r\n", 1), "HTTP/1.1 400");
	teardown();
}

TEST(store_put_patch_get_and_limit)
{
	char err[MMDS_ERR_MAX], *s;
	struct mmds small;

	CHECK_EQ(mmds_init(&small, 40), 0);
	s = mmds_get(&small);
	CHECK_STR(s, "{}");
	free(s);
	CHECK_EQ(mmds_patch(&small, S("{}"), err), -EINVAL);
	CHECK_CONTAINS(err, "not initialized");
	CHECK_EQ(mmds_put(&small, S("{\"a\": 1, \"b\": {\"c\": 2}}"), err), 0);
	CHECK_EQ(mmds_patch(&small, S("{\"b\": {\"c\": null, \"d\": [1]}, \"e\": \"x\"}"), err), 0);
	s = mmds_get(&small);
	CHECK_STR(s, "{\"a\":1,\"b\":{\"d\":[1]},\"e\":\"x\"}");
	free(s);
	CHECK_EQ(mmds_put(&small, S("[1]"), err), -EINVAL);
	CHECK_EQ(mmds_put(&small, S("{bad"), err), -EINVAL);
	CHECK_CONTAINS(err, "invalid JSON");
	CHECK_EQ(mmds_patch(&small, S("{\"long\": \"0123456789012345678901234567890\"}"), err),
		 -EFBIG);
	CHECK_CONTAINS(err, "limit of 40");
	s = mmds_get(&small); /* unchanged */
	CHECK_STR(s, "{\"a\":1,\"b\":{\"d\":[1]},\"e\":\"x\"}");
	free(s);
	mmds_destroy(&small);
}

TEST_MAIN(TEST_ENTRY(v1_answers_text_listings_and_json),
	  TEST_ENTRY(imds_compat_answers_text_whatever_the_accept_header),
	  TEST_ENTRY(v2_needs_a_valid_unexpired_token),
	  TEST_ENTRY(tokens_differ_and_another_key_refuses_them),
	  TEST_ENTRY(token_requests_are_checked),
	  TEST_ENTRY(v1_accepts_requests_without_or_with_bad_tokens),
	  TEST_ENTRY(incomplete_and_malformed_requests), TEST_ENTRY(store_put_patch_get_and_limit))
