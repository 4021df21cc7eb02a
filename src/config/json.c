// SPDX-License-Identifier: Apache-2.0
/* Strict JSON readers and the writers every configuration object uses. See json.h. */
#include "config/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cfg_fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A short rendering of a JSON value for messages: 42, "text", true, an object. */
void config_show_value(const json_t *v, char *buf, size_t len)
{
	char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

	if (!dump) {
		snprintf(buf, len, "(value)");
		return;
	}
	if (strlen(dump) > 40)
		snprintf(buf, len, "%.37s...", dump);
	else
		snprintf(buf, len, "%s", dump);
	free(dump);
}

const char *config_type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

int cfg_want_object(const json_t *v, const char *path, char *err)
{
	if (!json_is_object(v))
		return cfg_fail(err, "%s: expected an object, got %s", path, config_type_name(v));
	return 0;
}

int cfg_check_keys(json_t *obj, const char *path, const char *const *allowed, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *a;

		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return cfg_fail(err, "%s: unknown key \"%s\"", path, key);
	}
	return 0;
}

int cfg_get_string(const json_t *obj, const char *path, const char *key, bool required, char **out,
		   char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];
	char *s;

	if (!v || json_is_null(v)) {
		if (required)
			return cfg_fail(err, "%s: missing required key \"%s\"", path, key);
		return 0;
	}
	if (!json_is_string(v)) {
		config_show_value(v, val, sizeof(val));
		return cfg_fail(err, "%s.%s: expected a string, got %s %s", path, key,
				config_type_name(v), val);
	}
	s = strdup(json_string_value(v));
	if (!s)
		return -ENOMEM;
	free(*out);
	*out = s;
	return 0;
}

int cfg_get_uint(const json_t *obj, const char *path, const char *key, bool required, uint64_t min,
		 uint64_t max, uint64_t *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];
	json_int_t n;

	if (!v) {
		if (required)
			return cfg_fail(err, "%s: missing required key \"%s\"", path, key);
		return 0;
	}
	n = json_is_integer(v) ? json_integer_value(v) : -1;
	if (n >= 0 && (uint64_t)n >= min && (uint64_t)n <= max) {
		*out = (uint64_t)n;
		return 0;
	}
	/* Rendered only for the message: json_dumps costs a malloc and a printf. */
	config_show_value(v, val, sizeof(val));
	if (!json_is_integer(v))
		return cfg_fail(err, "%s.%s: expected an integer, got %s %s", path, key,
				config_type_name(v), val);
	return cfg_fail(err, "%s.%s: %s is out of range (%llu to %llu)", path, key, val,
			(unsigned long long)min, (unsigned long long)max);
}

int cfg_get_bool(const json_t *obj, const char *path, const char *key, bool *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64];

	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		config_show_value(v, val, sizeof(val));
		return cfg_fail(err, "%s.%s: expected a boolean, got %s %s", path, key,
				config_type_name(v), val);
	}
	*out = json_is_true(v);
	return 0;
}

int cfg_get_bool_required(const json_t *obj, const char *path, const char *key, bool *out,
			  char *err)
{
	if (!json_object_get(obj, key))
		return cfg_fail(err, "%s: missing required key \"%s\"", path, key);
	return cfg_get_bool(obj, path, key, out, err);
}

int cfg_get_enum(const json_t *obj, const char *path, const char *key, const char *const *names,
		 int *out, char *err)
{
	const json_t *v = json_object_get(obj, key);
	char val[64], list[160] = "";

	if (!v)
		return 0;
	if (json_is_string(v)) {
		for (int i = 0; names[i]; i++) {
			if (!strcmp(names[i], json_string_value(v))) {
				*out = i;
				return 0;
			}
		}
	}
	config_show_value(v, val, sizeof(val));
	for (int i = 0; names[i]; i++) {
		size_t used = strlen(list);

		snprintf(list + used, sizeof(list) - used, "%s\"%s\"", i ? ", " : "", names[i]);
	}
	return cfg_fail(err, "%s.%s: %s is not one of %s", path, key, val, list);
}

int cfg_refuse_key(const json_t *obj, const char *path, const char *key, const char *why, char *err)
{
	const json_t *v = json_object_get(obj, key);

	if (v && !json_is_null(v))
		return cfg_fail(err, "%s.%s: %s", path, key, why);
	return 0;
}

json_t *cfg_load_body(const char *json, size_t len, const char *path, char *err)
{
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);

	if (!root) {
		cfg_fail(err, "%s: invalid JSON at line %d, column %d: %s", path, jerr.line,
			 jerr.column, jerr.text);
		return NULL;
	}
	if (cfg_want_object(root, path, err)) {
		json_decref(root);
		return NULL;
	}
	return root;
}

char *cfg_dup(const char *s, bool *oom)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*oom = true;
	return d;
}

void *cfg_dup_array(const void *src, unsigned int n, size_t size, bool *oom)
{
	void *a;

	if (!n)
		return NULL;
	a = calloc(n, size);
	if (!a) {
		*oom = true;
		return NULL;
	}
	return memcpy(a, src, n * size);
}

json_t *cfg_object(bool *bad)
{
	json_t *o = json_object();

	if (!o)
		*bad = true;
	return o;
}

void cfg_put(json_t *obj, const char *key, json_t *v, bool *bad)
{
	if (!obj) {
		json_decref(v);
		*bad = true;
		return;
	}
	if (json_is_null(v)) /* absent: left out */
		return;
	if (!v || json_object_set_new(obj, key, v))
		*bad = true;
}

json_t *cfg_string_opt(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *cfg_array_json(const void *arr, unsigned int n, size_t size,
		       json_t *(*elem)(const void *e, bool *bad), bool *bad)
{
	json_t *a = json_array();

	if (!a)
		*bad = true;
	for (unsigned int i = 0; a && i < n; i++)
		if (json_array_append_new(a, elem((const char *)arr + i * size, bad)))
			*bad = true;
	return a;
}

char *cfg_dump(json_t *o, bool bad)
{
	char *s = bad || !o ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	return s;
}

int config_parse_choice(const char *json, size_t len, const char *what, const char *key,
			const char *const *names, char err[CONFIG_ERR_MAX])
{
	const char *const keys[] = {key, NULL};
	json_t *o = cfg_load_body(json, len, what, err);
	int index = -1, ret;

	if (!o)
		return -EINVAL;
	ret = cfg_check_keys(o, what, keys, err);
	if (!ret && !json_object_get(o, key))
		ret = cfg_fail(err, "%s: missing required key \"%s\"", what, key);
	if (!ret)
		ret = cfg_get_enum(o, what, key, names, &index, err);
	json_decref(o);
	return ret ? ret : index;
}
