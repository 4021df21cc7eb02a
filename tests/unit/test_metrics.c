// SPDX-License-Identifier: Apache-2.0
#include "test.h"
#include "config/config.h"
#include "vmm/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static json_t *parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	CHECK(j);
	return j;
}

static long long at(json_t *o, const char *group, const char *key)
{
	json_t *g = json_object_get(o, group);

	CHECK(g);
	CHECK(json_is_integer(json_object_get(g, key)));
	return json_integer_value(json_object_get(g, key));
}

TEST(delta_of_counters)
{
	json_t *prev = parse("{\"uart\": {\"write_count\": 10, \"read_count\": 3}}");
	json_t *cur = parse("{\"uart\": {\"write_count\": 25, \"read_count\": 3, \"new\": 4}, "
			    "\"vcpu\": {\"failures\": 1}}");
	json_t *d = metrics_delta(cur, prev);

	CHECK(d);
	CHECK_EQ(at(d, "uart", "write_count"), 15);
	CHECK_EQ(at(d, "uart", "read_count"), 0);
	CHECK_EQ(at(d, "uart", "new"), 4);	/* no previous value: all of it */
	CHECK_EQ(at(d, "vcpu", "failures"), 1); /* a group that is new */
	json_decref(d);
	d = metrics_delta(cur, NULL); /* the first line: everything so far */
	CHECK_EQ(at(d, "uart", "write_count"), 25);
	json_decref(d);
	json_decref(prev);
	json_decref(cur);
}

TEST(store_values_and_resets)
{
	json_t *prev =
	    parse("{\"api_server\": {\"process_startup_time_us\": 900, \"requests\": 9}}");
	json_t *cur = parse("{\"api_server\": {\"process_startup_time_us\": 900, \"requests\": 2}, "
			    "\"name\": \"x\"}");
	json_t *d = metrics_delta(cur, prev);

	/* A level is written as it is; a counter that went back restarts from itself. */
	CHECK_EQ(at(d, "api_server", "process_startup_time_us"), 900);
	CHECK_EQ(at(d, "api_server", "requests"), 2);
	CHECK_STR(json_string_value(json_object_get(d, "name")), "x");
	json_decref(d);
	json_decref(prev);
	json_decref(cur);
}

static void collect(void *opaque, json_t *root)
{
	int *n = opaque;

	json_object_set_new(root, "g", json_pack("{s:i}", "c", 10 * ++*n));
}

TEST(flush_writes_delta_lines)
{
	char path[] = "/tmp/ember-metrics-XXXXXX", err[256], buf[512];
	struct event_loop loop;
	struct metrics m;
	int n = 0, fd = mkstemp(path);
	ssize_t len;

	CHECK(fd >= 0);
	CHECK_EQ(ev_init(&loop), 0);
	metrics_init(&m, collect, &n);
	CHECK_EQ(metrics_flush(&m), -ENODEV); /* not configured */
	CHECK_EQ(metrics_open(&m, &loop, path, true, "vm-1", "{\"a\": \"b\"}", err, sizeof(err)),
		 0);
	CHECK_EQ(metrics_flush(&m), 0);
	CHECK_EQ(metrics_flush(&m), 0);
	metrics_close(&m); /* the third line */
	len = read(fd, buf, sizeof(buf) - 1);
	CHECK(len > 0);
	buf[len] = '\0';
	CHECK_CONTAINS(buf, "{\"g\":{\"c\":10}");
	CHECK_CONTAINS(buf, "\"id\":\"vm-1\"");
	CHECK_CONTAINS(buf, "\"properties\":{\"a\":\"b\"}");
	/* Lines two and three: 20 - 10 and 30 - 20. */
	CHECK(strstr(strchr(buf, '\n') + 1, "{\"g\":{\"c\":10}"));
	CHECK_EQ(n, 3);
	close(fd);
	unlink(path);
	ev_destroy(&loop);
}

TEST(open_errors)
{
	char err[256];
	struct event_loop loop;
	struct metrics m;
	int n = 0;

	CHECK_EQ(ev_init(&loop), 0);
	metrics_init(&m, collect, &n);
	CHECK_EQ(
	    metrics_open(&m, &loop, "/nonexistent/dir/m.json", false, "", NULL, err, sizeof(err)),
	    -ENOENT);
	CHECK_CONTAINS(err, "metrics_path /nonexistent/dir/m.json");
	CHECK(!m.active);
	ev_destroy(&loop);
}

TEST(config_section)
{
	char err[CONFIG_ERR_MAX];
	struct vm_config cfg;
	char *out;

	config_init(&cfg);
	CHECK_EQ(config_parse_string(&cfg,
				     "{\"metrics\": {\"metrics_path\": \"/m\", \"emit_id\": true, "
				     "\"properties\": {\"k\": \"v\"}}}",
				     err),
		 0);
	CHECK(cfg.metrics.present);
	CHECK_STR(cfg.metrics.metrics_path, "/m");
	CHECK(cfg.metrics.emit_id);
	out = config_to_json(&cfg);
	CHECK_CONTAINS(out, "\"metrics\":{\"metrics_path\":\"/m\",\"emit_id\":true,"
			    "\"properties\":{\"k\":\"v\"}}");
	free(out);
	config_free(&cfg);
	config_init(&cfg);
	CHECK_EQ(config_parse_string(&cfg, "{\"metrics\": {\"emit_id\": true}}", err), -EINVAL);
	CHECK_CONTAINS(err, "metrics: missing required key \"metrics_path\"");
	CHECK_EQ(config_parse_string(&cfg,
				     "{\"metrics\": {\"metrics_path\": \"/m\", \"properties\": "
				     "{\"k\": 1}}}",
				     err),
		 -EINVAL);
	CHECK_CONTAINS(err, "metrics.properties.k: expected a string");
	config_free(&cfg);
}

TEST_MAIN(TEST_ENTRY(delta_of_counters), TEST_ENTRY(store_values_and_resets),
	  TEST_ENTRY(flush_writes_delta_lines), TEST_ENTRY(open_errors), TEST_ENTRY(config_section))
