// SPDX-License-Identifier: Apache-2.0
/* Parsing POST /v1/run's body and building its answer (job.h). */
#include "job.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int bad(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	return -EINVAL;
}

int sb_job_parse(struct sb_job *job, const char *body, size_t len, long default_timeout,
		 long max_timeout, char *err, size_t errlen)
{
	size_t max_output = job->max_output;
	memset(job, 0, sizeof(*job));
	job->max_output = max_output;
	job->timeout_ms = default_timeout;
	json_error_t je;
	json_t *j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		snprintf(err, errlen, "the body is not JSON: %s (line %d, column %d)", je.text,
			 je.line, je.column);
		return -EINVAL;
	}
	int ret = -EINVAL;
	if (!json_is_object(j)) {
		ret = bad(err, errlen, "the body is not a JSON object");
		goto out;
	}
	const char *key;
	json_t *v;
	json_object_foreach(j, key, v)
	{
		if (strcmp(key, "cmd") && strcmp(key, "stdin") && strcmp(key, "env") &&
		    strcmp(key, "cwd") && strcmp(key, "timeout_ms")) {
			snprintf(err, errlen,
				 "unknown field \"%s\" (cmd, stdin, env, cwd, timeout_ms)", key);
			goto out;
		}
	}
	json_t *cmd = json_object_get(j, "cmd");
	if (!json_is_array(cmd) || json_array_size(cmd) == 0 || json_array_size(cmd) > 4096) {
		ret = bad(err, errlen, "cmd: a non-empty array of strings is required");
		goto out;
	}
	job->argv = calloc(json_array_size(cmd) + 1, sizeof(char *));
	size_t i;
	json_array_foreach(cmd, i, v)
	{
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
			snprintf(err, errlen, "cmd[%zu]: not a string (or one holding a NUL)", i);
			goto out;
		}
		job->argv[i] = strdup(json_string_value(v));
	}
	json_t *env = json_object_get(j, "env");
	if (env && !json_is_object(env)) {
		ret = bad(err, errlen, "env: an object of strings is required");
		goto out;
	}
	job->env = calloc(json_object_size(env) + 1, sizeof(char *));
	i = 0;
	json_object_foreach(env, key, v)
	{
		if (!json_is_string(v) || !*key || strchr(key, '=')) {
			snprintf(err, errlen,
				 "env.%s: a string value and a name without '=' are required", key);
			goto out;
		}
		if (asprintf(&job->env[i++], "%s=%s", key, json_string_value(v)) < 0)
			goto out;
	}
	json_t *cwd = json_object_get(j, "cwd");
	if (cwd && !json_is_string(cwd)) {
		ret = bad(err, errlen, "cwd: a string is required");
		goto out;
	}
	job->cwd = dup_or_null(json_string_value(cwd));
	json_t *in = json_object_get(j, "stdin");
	if (in && !json_is_string(in)) {
		ret = bad(err, errlen, "stdin: a string is required");
		goto out;
	}
	if (in) {
		job->stdin_len = json_string_length(in);
		job->stdin_data = malloc(job->stdin_len + 1);
		memcpy(job->stdin_data, json_string_value(in), job->stdin_len);
	}
	json_t *t = json_object_get(j, "timeout_ms");
	if (t) {
		if (!json_is_integer(t) || json_integer_value(t) < 1 ||
		    json_integer_value(t) > max_timeout) {
			snprintf(err, errlen, "timeout_ms: an integer from 1 to %ld is required",
				 max_timeout);
			goto out;
		}
		job->timeout_ms = (long)json_integer_value(t);
	}
	ret = 0;
out:
	json_decref(j);
	if (ret)
		sb_job_free(job);
	return ret;
}

void sb_job_free(struct sb_job *job)
{
	for (size_t i = 0; job->argv && job->argv[i]; i++)
		free(job->argv[i]);
	for (size_t i = 0; job->env && job->env[i]; i++)
		free(job->env[i]);
	free(job->argv);
	free(job->env);
	free(job->cwd);
	free(job->stdin_data);
	free(job->out[0]);
	free(job->out[1]);
	size_t max_output = job->max_output;
	memset(job, 0, sizeof(*job));
	job->max_output = max_output;
}

int sb_job_output(void *ctx, int stream, const uint8_t *data, size_t len)
{
	struct sb_job *job = ctx;
	int s = stream == 2;
	size_t room = job->max_output - job->out_len[s];
	if (len > room) {
		len = room;
		job->truncated[s] = true;
	}
	if (len == 0)
		return 0;
	if (job->out_len[s] + len > job->out_cap[s]) {
		size_t cap = (job->out_len[s] + len) * 2;
		uint8_t *p = realloc(job->out[s], cap);
		if (!p)
			return 1;
		job->out[s] = p;
		job->out_cap[s] = cap;
	}
	memcpy(job->out[s] + job->out_len[s], data, len);
	job->out_len[s] += len;
	return 0;
}

static json_t *base64(const uint8_t *p, size_t n)
{
	static const char abc[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		*o++ = abc[v >> 18 & 63];
		*o++ = abc[v >> 12 & 63];
		*o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? abc[v & 63] : '=';
	}
	*o = 0;
	json_t *j = json_stringn(s, (size_t)(o - s));
	free(s);
	return j;
}

static void put_stream(json_t *o, const struct sb_job *job, int s)
{
	static const char *const name[2] = {"stdout", "stderr"};
	char key[32];
	const char *data = job->out[s] ? (const char *)job->out[s] : "";
	json_t *text = json_stringn(data, job->out_len[s]);
	snprintf(key, sizeof(key), "%s_encoding", name[s]);
	json_object_set_new(o, key, json_string(text ? "utf-8" : "base64"));
	if (!text)
		text = base64(job->out[s], job->out_len[s]);
	json_object_set_new(o, name[s], text ? text : json_null());
	snprintf(key, sizeof(key), "%s_truncated", name[s]);
	json_object_set_new(o, key, json_boolean(job->truncated[s]));
}

static json_t *ms(double v)
{
	return json_real((double)(long long)(v * 1000.0) / 1000.0);
}

char *sb_job_answer(const struct sb_job *job, const struct sb_result *res, double restore_ms,
		    double agent_ms, double exec_ms, double total_ms, double queue_ms, bool pooled)
{
	json_t *o = json_object();
	json_object_set_new(o, "exit_code",
			    res->outcome == SB_EXITED ? json_integer(res->code) : json_null());
	json_object_set_new(o, "signal",
			    res->outcome == SB_SIGNALED ? json_integer(res->code) : json_null());
	put_stream(o, job, 0);
	put_stream(o, job, 1);
	json_object_set_new(o, "timed_out", json_boolean(res->outcome == SB_TIMED_OUT));
	json_object_set_new(o, "error",
			    res->message[0] && res->outcome != SB_TIMED_OUT
				? json_string(res->message)
				: json_null());
	json_object_set_new(o, "timings_ms",
			    json_pack("{s:o, s:o, s:o, s:o, s:o, s:b}", "restore", ms(restore_ms),
				      "agent", ms(agent_ms), "exec", ms(exec_ms), "total",
				      ms(total_ms), "queue", ms(queue_ms), "pooled", pooled));
	char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(o);
	return s;
}
