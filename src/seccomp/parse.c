// SPDX-License-Identifier: Apache-2.0
/*
 * The filter file (--seccomp-filter): Firecracker's seccompiler JSON, read
 * strictly (seccomp.h shows the format). Firecracker's seccompiler-bin turns
 * this file into BPF ahead of time; ember takes the JSON itself and compiles
 * it at start. Whatever libseccomp would refuse is refused here with the key
 * (an unknown syscall, two conditions on one argument, a rule whose action is
 * the default one), so that what parses compiles (the fuzzer checks it).
 */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <jansson.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A key's path in messages: "vcpu.filter[12].args[0].op" (an inner path is cut at 64). */
#define PATH_LEN 96

__attribute__((format(printf, 2, 3))) static int fail(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SECCOMP_ERR_MAX, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const char *type_name(const json_t *v)
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
	default:
		return "null";
	}
}

/* Refuses any key of @obj that is not in @allowed (NULL-terminated). */
static int check_keys(json_t *obj, const char *path, const char *const *allowed, char *err)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		size_t i;

		for (i = 0; allowed[i] && strcmp(key, allowed[i]); i++)
			;
		if (!allowed[i])
			return fail(err, "%s: unknown key \"%.40s\"", path, key);
	}
	return 0;
}

/* A "comment": optional, a string. */
static int get_comment(json_t *obj, const char *path, const char **out, char *err)
{
	json_t *v = json_object_get(obj, "comment");

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v))
		return fail(err, "%s.comment: %s, not a string", path, type_name(v));
	*out = json_string_value(v);
	return 0;
}

/* An integer from @min to @max. */
static int get_uint(json_t *v, const char *path, uint64_t max, uint64_t *out, char *err)
{
	json_int_t n;

	if (!json_is_integer(v))
		return fail(err, "%s: %s, not an integer", path, type_name(v));
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n > max)
		return fail(err, "%s: %lld is out of range (0 to %llu)", path, (long long)n,
			    (unsigned long long)max);
	*out = (uint64_t)n;
	return 0;
}

static int parse_action(json_t *v, const char *path, uint32_t *out, char *err)
{
	static const struct {
		const char *name;
		uint32_t act;
	} plain[] = {
	    {"allow", SCMP_ACT_ALLOW},
	    {"trap", SCMP_ACT_TRAP},
	    {"kill_thread", SCMP_ACT_KILL_THREAD},
	    {"kill_process", SCMP_ACT_KILL_PROCESS},
	    {"log", SCMP_ACT_LOG},
	};
	const char *key;
	uint64_t data;
	json_t *arg;

	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
			if (!strcmp(json_string_value(v), plain[i].name)) {
				*out = plain[i].act;
				return 0;
			}
		}
		return fail(err,
			    "%s: \"%.40s\" is not an action (allow, trap, kill_thread, "
			    "kill_process, log, {\"errno\": N}, {\"trace\": N})",
			    path, json_string_value(v));
	}
	if (!json_is_object(v) || json_object_size(v) != 1)
		return fail(err,
			    "%s: %s: an action is a string or an object with one key, \"errno\" or "
			    "\"trace\"",
			    path,
			    json_is_object(v) ? "an object with other than one key" : type_name(v));
	json_object_foreach(v, key, arg)
	{
		char sub[PATH_LEN];

		snprintf(sub, sizeof(sub), "%.64s.%.10s", path, key);
		if (strcmp(key, "errno") && strcmp(key, "trace"))
			return fail(err,
				    "%s: \"%.40s\" is not an action with a value (errno, trace)",
				    path, key);
		/* Firecracker's u16 (the kernel caps an errno at 4095). */
		if (get_uint(arg, sub, 0xffff, &data, err))
			return -EINVAL;
		*out =
		    key[0] == 'e' ? SCMP_ACT_ERRNO((uint32_t)data) : SCMP_ACT_TRACE((uint32_t)data);
	}
	return 0;
}

static int parse_op(json_t *v, const char *path, struct seccomp_cond *c, char *err)
{
	static const char *const ops[] = {
	    [SECCOMP_OP_EQ] = "eq", [SECCOMP_OP_NE] = "ne", [SECCOMP_OP_LT] = "lt",
	    [SECCOMP_OP_LE] = "le", [SECCOMP_OP_GT] = "gt", [SECCOMP_OP_GE] = "ge",
	};
	char sub[PATH_LEN];
	json_t *mask;

	if (json_is_string(v)) {
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (!strcmp(json_string_value(v), ops[i])) {
				c->op = (enum seccomp_op)i;
				return 0;
			}
		}
	} else if (json_is_object(v) && json_object_size(v) == 1 &&
		   (mask = json_object_get(v, "masked_eq"))) {
		snprintf(sub, sizeof(sub), "%.64s.masked_eq", path);
		c->op = SECCOMP_OP_MASKED_EQ;
		return get_uint(mask, sub, c->qword ? UINT64_MAX : UINT32_MAX, &c->mask, err);
	}
	return fail(err,
		    "%s: %s%.20s%s is not an operator (eq, ne, lt, le, gt, ge, "
		    "{\"masked_eq\": MASK})",
		    path, json_is_string(v) ? "\"" : "",
		    json_is_string(v) ? json_string_value(v) : type_name(v),
		    json_is_string(v) ? "\"" : "");
}

/* One condition, at @path ("vcpu.filter[3].args[0]"). */
static int parse_cond(json_t *o, const char *path, struct seccomp_cond *c, char *err)
{
	static const char *const keys[] = {"index", "type", "op", "val", "comment", NULL};
	char sub[PATH_LEN];
	const char *comment, *type;
	uint64_t index;
	json_t *v;

	if (!json_is_object(o))
		return fail(err, "%s: %s, not an object", path, type_name(o));
	if (check_keys(o, path, keys, err) || get_comment(o, path, &comment, err))
		return -EINVAL;
	for (size_t i = 0; i < 4; i++) {
		if (!json_object_get(o, keys[i]))
			return fail(err,
				    "%s.%s: missing (a condition needs index, type, op and val)",
				    path, keys[i]);
	}
	snprintf(sub, sizeof(sub), "%.64s.index", path);
	if (get_uint(json_object_get(o, "index"), sub, SECCOMP_MAX_CONDS - 1, &index, err))
		return -EINVAL;
	c->index = (unsigned int)index;
	v = json_object_get(o, "type");
	type = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(type, "dword") && strcmp(type, "qword"))
		return fail(err, "%s.type: %s%.20s%s is not \"dword\" or \"qword\"", path,
			    json_is_string(v) ? "\"" : "", json_is_string(v) ? type : type_name(v),
			    json_is_string(v) ? "\"" : "");
	c->qword = type[0] == 'q';
	snprintf(sub, sizeof(sub), "%.64s.op", path);
	if (parse_op(json_object_get(o, "op"), sub, c, err))
		return -EINVAL;
	/* A dword is the argument's low 32 bits: a larger value could never match. */
	snprintf(sub, sizeof(sub), "%.64s.val", path);
	return get_uint(json_object_get(o, "val"), sub, c->qword ? UINT64_MAX : UINT32_MAX, &c->val,
			err);
}

/* One rule, at @path ("vcpu.filter[3]"). */
static int parse_rule(json_t *o, const char *path, struct seccomp_rule *r, char *err)
{
	static const char *const keys[] = {"syscall", "args", "comment", NULL};
	char sub[PATH_LEN];
	json_t *v, *args;
	size_t i;
	int nr;

	if (!json_is_object(o))
		return fail(err, "%s: %s, not an object", path, type_name(o));
	if (check_keys(o, path, keys, err) || get_comment(o, path, &r->why, err))
		return -EINVAL;
	v = json_object_get(o, "syscall");
	if (!v)
		return fail(err, "%s.syscall: missing", path);
	if (!json_is_string(v))
		return fail(err, "%s.syscall: %s, not a string", path, type_name(v));
	r->syscall = json_string_value(v);
	/* Negative: libseccomp's pseudo-syscalls (socketcall, ...), absent on x86_64. */
	nr = seccomp_syscall_resolve_name(r->syscall);
	if (nr < 0 || strlen(r->syscall) != json_string_length(v))
		return fail(err, "%s.syscall: \"%.40s\" is not a system call on x86_64", path,
			    r->syscall);
	args = json_object_get(o, "args");
	if (!args)
		return 0;
	if (!json_is_array(args))
		return fail(err, "%s.args: %s, not an array", path, type_name(args));
	if (json_array_size(args) > SECCOMP_MAX_CONDS)
		return fail(err, "%s.args: %zu conditions; at most %d (one per argument)", path,
			    json_array_size(args), SECCOMP_MAX_CONDS);
	json_array_foreach(args, i, v)
	{
		snprintf(sub, sizeof(sub), "%.64s.args[%zu]", path, i);
		if (parse_cond(v, sub, &r->conds[i], err))
			return -EINVAL;
		for (size_t j = 0; j < i; j++) {
			if (r->conds[j].index == r->conds[i].index)
				return fail(err,
					    "%s.index: argument %u is already compared by "
					    "args[%zu] (one condition per argument)",
					    sub, r->conds[i].index, j);
		}
	}
	r->nconds = (unsigned int)json_array_size(args);
	return 0;
}

/* The filter of @key; its rules go to @rules (room for all of them). */
static int parse_filter(json_t *o, const char *key, struct seccomp_filter *f,
			struct seccomp_rule *rules, char *err)
{
	static const char *const keys[] = {"default_action", "filter_action", "filter", "comment",
					   NULL};
	char sub[PATH_LEN];
	const char *comment;
	json_t *list, *v;
	size_t i;

	if (!json_is_object(o))
		return fail(err, "%s: %s, not an object", key, type_name(o));
	if (check_keys(o, key, keys, err) || get_comment(o, key, &comment, err))
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (!json_object_get(o, keys[i]))
			return fail(err,
				    "%s.%s: missing (a filter needs default_action, filter_action "
				    "and filter)",
				    key, keys[i]);
	}
	snprintf(sub, sizeof(sub), "%.64s.default_action", key);
	if (parse_action(json_object_get(o, "default_action"), sub, &f->default_action, err))
		return -EINVAL;
	snprintf(sub, sizeof(sub), "%.64s.filter_action", key);
	if (parse_action(json_object_get(o, "filter_action"), sub, &f->filter_action, err))
		return -EINVAL;
	list = json_object_get(o, "filter");
	if (!json_is_array(list))
		return fail(err, "%s.filter: %s, not an array", key, type_name(list));
	if (json_array_size(list) && f->filter_action == f->default_action)
		return fail(err,
			    "%s.filter_action: the same as default_action: its rules would change "
			    "nothing",
			    key);
	json_array_foreach(list, i, v)
	{
		snprintf(sub, sizeof(sub), "%.64s.filter[%zu]", key, i);
		if (parse_rule(v, sub, &rules[i], err))
			return -EINVAL;
	}
	f->rules = rules;
	f->nrules = json_array_size(list);
	return 0;
}

static int parse_document(json_t *root, struct seccomp_filters *out, char *err)
{
	size_t total = 0, used = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return fail(err, "%s, not an object of filters (vmm, api, vcpu)", type_name(root));
	json_object_foreach(root, key, v)
	{
		int t;

		for (t = 0; t < SECCOMP_NR_THREADS; t++) {
			if (!strcmp(key, seccomp_thread_key(t)))
				break;
		}
		if (t == SECCOMP_NR_THREADS)
			return fail(err, "\"%.40s\": not a thread category (vmm, api or vcpu)",
				    key);
		if (json_is_object(v) && json_is_array(json_object_get(v, "filter")))
			total += json_array_size(json_object_get(v, "filter"));
	}
	out->owned = calloc(total ? total : 1, sizeof(*out->owned));
	if (!out->owned)
		return fail(err, "out of memory");
	for (int t = 0; t < SECCOMP_NR_THREADS; t++) {
		const char *name = seccomp_thread_key(t);

		v = json_object_get(root, name);
		if (!v)
			return fail(err,
				    "%s: missing (the file needs the vmm, api and vcpu filters)",
				    name);
		if (parse_filter(v, name, &out->f[t], out->owned + used, err))
			return -EINVAL;
		used += out->f[t].nrules;
	}
	return 0;
}

int seccomp_parse(const char *text, size_t len, struct seccomp_filters *out,
		  char err[SECCOMP_ERR_MAX])
{
	json_error_t jerr;
	json_t *root;

	memset(out, 0, sizeof(*out));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return fail(err, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	out->doc = root;
	if (parse_document(root, out, err)) {
		seccomp_filters_free(out);
		return -EINVAL;
	}
	return 0;
}

int seccomp_parse_file(const char *path, struct seccomp_filters *out, char err[SECCOMP_ERR_MAX])
{
	char inner[SECCOMP_ERR_MAX];
	FILE *f = fopen(path, "re");
	size_t len;
	char *text;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!f) {
		ret = -errno;
		snprintf(err, SECCOMP_ERR_MAX, "%s: %s", path, strerror(errno));
		return ret;
	}
	/* One byte more than the limit tells a file that is too large. */
	text = malloc(SECCOMP_FILE_MAX + 1);
	if (!text) {
		fclose(f);
		snprintf(err, SECCOMP_ERR_MAX, "%s: out of memory", path);
		return -ENOMEM;
	}
	len = fread(text, 1, SECCOMP_FILE_MAX + 1, f);
	ret = ferror(f) ? -EIO : 0;
	fclose(f);
	if (ret)
		snprintf(err, SECCOMP_ERR_MAX, "%s: cannot read it", path);
	else if (len > SECCOMP_FILE_MAX)
		ret = fail(err, "%s: larger than %d bytes", path, SECCOMP_FILE_MAX);
	else if ((ret = seccomp_parse(text, len, out, inner)))
		snprintf(err, SECCOMP_ERR_MAX, "%.120s: %.380s", path, inner);
	free(text);
	return ret;
}

void seccomp_filters_free(struct seccomp_filters *f)
{
	free(f->owned);
	if (f->doc)
		json_decref(f->doc);
	memset(f, 0, sizeof(*f));
}
