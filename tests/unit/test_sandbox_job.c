// SPDX-License-Identifier: Apache-2.0
/*
 * ember-sandbox's own parsers (src/sandbox/): POST /v1/run's body and answer (job.c),
 * the agent protocol's frame reader (proto.h) and the template manifest (template.c).
 */
#include "test.h"
#include "sandbox/job.h"
#include "sandbox/proto.h"
#include "sandbox/template.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static struct sb_job job = {.max_output = 8};
static char err[1024];

static int parse(const char *body)
{
	err[0] = 0;
	return sb_job_parse(&job, body, strlen(body), 1000, 5000, err, sizeof(err));
}

TEST(job_parses_every_field)
{
	CHECK_EQ(parse("{\"cmd\": [\"sh\", \"-c\", \"x\"], \"stdin\": \"in\", \"env\": {\"A\": "
		       "\"1\"}, \"cwd\": \"/tmp\", \"timeout_ms\": 42}"),
		 0);
	CHECK_STR(job.argv[0], "sh");
	CHECK_STR(job.argv[2], "x");
	CHECK(job.argv[3] == NULL);
	CHECK_STR(job.env[0], "A=1");
	CHECK(job.env[1] == NULL);
	CHECK_STR(job.cwd, "/tmp");
	CHECK_EQ(job.stdin_len, 2);
	CHECK_EQ(job.timeout_ms, 42);
	sb_job_free(&job);
	CHECK_EQ(parse("{\"cmd\": [\"true\"]}"), 0);
	CHECK_EQ(job.timeout_ms, 1000); /* the service's default */
	CHECK(job.cwd == NULL);
	sb_job_free(&job);
}

#define REFUSED(body, want)                     \
	do {                                    \
		CHECK_EQ(parse(body), -EINVAL); \
		CHECK_CONTAINS(err, want);      \
		CHECK(job.argv == NULL);        \
	} while (0)

TEST(job_refuses_bad_bodies)
{
	REFUSED("", "the body is not JSON");
	REFUSED("[1]", "not a JSON object");
	REFUSED("{}", "cmd: a non-empty array");
	REFUSED("{\"cmd\": \"ls\"}", "cmd: a non-empty array");
	REFUSED("{\"cmd\": [1]}", "cmd[0]: not a string");
	REFUSED("{\"cmd\": [\"a\\u0000b\"]}", "the body is not JSON");
	REFUSED("{\"cmd\": [\"x\"], \"env\": []}", "env: an object");
	REFUSED("{\"cmd\": [\"x\"], \"env\": {\"A=B\": \"1\"}}", "env.A=B");
	REFUSED("{\"cmd\": [\"x\"], \"cwd\": 1}", "cwd: a string");
	REFUSED("{\"cmd\": [\"x\"], \"stdin\": 1}", "stdin: a string");
	REFUSED("{\"cmd\": [\"x\"], \"timeout_ms\": 5001}",
		"timeout_ms: an integer from 1 to 5000");
	REFUSED("{\"cmd\": [\"x\"], \"timeout_ms\": 1.5}", "timeout_ms");
	REFUSED("{\"cmd\": [\"x\"], \"extra\": 1}", "unknown field \"extra\"");
}

TEST(job_output_is_capped_and_encoded)
{
	CHECK_EQ(parse("{\"cmd\": [\"x\"]}"), 0);
	CHECK_EQ(sb_job_output(&job, 1, (const uint8_t *)"hello", 5), 0);
	CHECK_EQ(sb_job_output(&job, 1, (const uint8_t *)" world", 6), 0);
	CHECK_EQ(sb_job_output(&job, 2, (const uint8_t *)"\xff\x00", 2), 0);
	CHECK_EQ(job.out_len[0], 8);
	CHECK(job.truncated[0]);
	CHECK(!job.truncated[1]);
	struct sb_result res = {.outcome = SB_EXITED, .code = 3};
	char *a = sb_job_answer(&job, &res, 1, 2, 3, 6, 0, false);
	json_t *j = json_loads(a, 0, NULL);
	CHECK(j != NULL);
	CHECK_EQ(json_integer_value(json_object_get(j, "exit_code")), 3);
	CHECK(json_is_null(json_object_get(j, "signal")));
	CHECK_STR(json_string_value(json_object_get(j, "stdout")), "hello wo");
	CHECK_STR(json_string_value(json_object_get(j, "stdout_encoding")), "utf-8");
	CHECK(json_is_true(json_object_get(j, "stdout_truncated")));
	CHECK_STR(json_string_value(json_object_get(j, "stderr")), "/wA=");
	CHECK_STR(json_string_value(json_object_get(j, "stderr_encoding")), "base64");
	CHECK(json_is_false(json_object_get(j, "timed_out")));
	json_decref(j);
	free(a);
	sb_job_free(&job);
}

TEST(frame_reader_takes_split_frames)
{
	uint8_t wire[64], buf[SB_FRAME_HDR + 16];
	sb_header(wire, SB_STDOUT, 3);
	memcpy(wire + SB_FRAME_HDR, "abc", 3);
	sb_header(wire + 8, SB_EXIT, 4);
	sb_put32(wire + 8 + SB_FRAME_HDR, 7);
	struct sb_reader r = {.buf = buf};
	int type, frames = 0;
	const uint8_t *d;
	uint32_t len;
	/* one byte at a time: each frame comes out whole, once */
	for (size_t i = 0; i < 17; i++) {
		r.buf[r.have++] = wire[i];
		while (sb_reader_frame(&r, &type, &d, &len) == 1) {
			if (frames == 0) {
				CHECK_EQ(type, SB_STDOUT);
				CHECK_EQ(len, 3);
				CHECK(memcmp(d, "abc", 3) == 0);
			} else {
				CHECK_EQ(type, SB_EXIT);
				CHECK_EQ(sb_get32(d), 7);
			}
			frames++;
			sb_reader_consume(&r);
		}
	}
	CHECK_EQ(frames, 2);
	CHECK_EQ(r.have, 0);
	sb_header(buf, SB_STDOUT, SB_FRAME_MAX + 1);
	r.have = SB_FRAME_HDR;
	CHECK_EQ(sb_reader_frame(&r, &type, &d, &len), -1);
}

TEST(template_refusals_name_the_file)
{
	char dir[] = "/tmp/test-sb-tmpl.XXXXXX", path[64];
	CHECK(mkdtemp(dir) != NULL);
	struct sb_template t;
	CHECK(sb_template_load(&t, dir, "/bin/false", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "manifest.json");
	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(
	    "{\"format\": \"other/9\", \"ember_version\": \"ember v0\", \"state_file\": \"state\","
	    " \"memory_file\": \"memory\", \"vcpus\": 1, \"mem_size_mib\": 1, \"vsock_port\": 5,"
	    " \"state_bytes\": 1}",
	    f);
	fclose(f);
	CHECK(sb_template_load(&t, dir, "/bin/false", err, sizeof(err)) < 0);
	CHECK_CONTAINS(err, "format \"other/9\", expected \"ember-sandbox-template/1\"");
	unlink(path);
	rmdir(dir);
}

TEST_MAIN(TEST_ENTRY(job_parses_every_field), TEST_ENTRY(job_refuses_bad_bodies),
	  TEST_ENTRY(job_output_is_capped_and_encoded), TEST_ENTRY(frame_reader_takes_split_frames),
	  TEST_ENTRY(template_refusals_name_the_file))
