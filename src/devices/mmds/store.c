// SPDX-License-Identifier: Apache-2.0
/* MMDS's data store: PUT, PATCH (RFC 7396), GET, its size limit and key. See mmds.h. */
#include "devices/mmds/mmds.h"

#include <errno.h>
#include <nettle/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

int mmds_init(struct mmds *s, size_t size_limit)
{
	size_t got = 0;

	memset(s, 0, sizeof(*s));
	s->size_limit = size_limit ? size_limit : MMDS_DEFAULT_LIMIT;
	s->ipv4 = MMDS_DEFAULT_IPV4;
	while (got < sizeof(s->key)) {
		ssize_t r = getrandom(s->key + got, sizeof(s->key) - got, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)r;
	}
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void mmds_destroy(struct mmds *s)
{
	json_decref(s->data);
	s->data = NULL;
	pthread_mutex_destroy(&s->lock);
	memset(s->key, 0, sizeof(s->key));
}

void mmds_set_config(struct mmds *s, enum mmds_version v, bool imds_compat, uint32_t ipv4)
{
	pthread_mutex_lock(&s->lock);
	s->version = v;
	s->imds_compat = imds_compat;
	s->ipv4 = ipv4;
	pthread_mutex_unlock(&s->lock);
}

uint64_t mmds_keyed_hash(const struct mmds *s, const void *data, size_t len)
{
	struct hmac_sha256_ctx ctx;
	uint8_t d[SHA256_DIGEST_SIZE];
	uint64_t h;

	hmac_sha256_set_key(&ctx, sizeof(s->key), s->key);
	hmac_sha256_update(&ctx, len, data);
	hmac_sha256_digest(&ctx, sizeof(d), d);
	memcpy(&h, d, sizeof(h));
	return h;
}

/* RFC 7396, in place: @patch merged into *@target (which it may replace). 0 or -ENOMEM. */
static int merge(json_t **target, json_t *patch)
{
	const char *k;
	json_t *v;

	if (!json_is_object(patch)) {
		json_t *c = json_deep_copy(patch);

		if (!c)
			return -ENOMEM;
		json_decref(*target);
		*target = c;
		return 0;
	}
	if (!json_is_object(*target)) {
		json_decref(*target);
		if (!(*target = json_object()))
			return -ENOMEM;
	}
	json_object_foreach(patch, k, v)
	{
		json_t *cur;

		if (json_is_null(v)) {
			json_object_del(*target, k);
			continue;
		}
		cur = json_incref(json_object_get(*target, k));
		if (merge(&cur, v) || json_object_set_new(*target, k, cur))
			return -ENOMEM;
	}
	return 0;
}

static json_t *load(const char *json, size_t len, const char *what, char *err)
{
	json_error_t je;
	json_t *v = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);

	if (!v) {
		snprintf(err, MMDS_ERR_MAX, "%s: invalid JSON at line %d, column %d: %s", what,
			 je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(v)) {
		snprintf(err, MMDS_ERR_MAX, "%s: the MMDS data store must be a JSON object", what);
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Takes @next as the store if it fits the limit; frees it otherwise. Lock held. */
static int commit(struct mmds *s, json_t *next, const char *what, char *err)
{
	char *txt = json_dumps(next, JSON_COMPACT);
	size_t n = txt ? strlen(txt) : 0;

	free(txt);
	if (!txt) {
		json_decref(next);
		snprintf(err, MMDS_ERR_MAX, "%s: out of memory", what);
		return -ENOMEM;
	}
	if (n > s->size_limit) {
		json_decref(next);
		snprintf(err, MMDS_ERR_MAX,
			 "%s: the MMDS data store would take %zu bytes, over its limit of %zu "
			 "(--mmds-size-limit)",
			 what, n, s->size_limit);
		return -EFBIG;
	}
	json_decref(s->data);
	s->data = next;
	return 0;
}

int mmds_put(struct mmds *s, const char *json, size_t len, char err[MMDS_ERR_MAX])
{
	json_t *v = load(json, len, "PUT /mmds", err);
	int ret;

	if (!v)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	ret = commit(s, v, "PUT /mmds", err);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int mmds_patch(struct mmds *s, const char *json, size_t len, char err[MMDS_ERR_MAX])
{
	json_t *p = load(json, len, "PATCH /mmds", err), *next;
	int ret = 0;

	if (!p)
		return -EINVAL;
	pthread_mutex_lock(&s->lock);
	if (!s->data) {
		snprintf(err, MMDS_ERR_MAX, "The MMDS data store is not initialized.");
		ret = -EINVAL;
	} else if (!(next = json_deep_copy(s->data)) || merge(&next, p)) {
		json_decref(next);
		snprintf(err, MMDS_ERR_MAX, "PATCH /mmds: out of memory");
		ret = -ENOMEM;
	} else {
		ret = commit(s, next, "PATCH /mmds", err);
	}
	pthread_mutex_unlock(&s->lock);
	json_decref(p);
	return ret;
}

char *mmds_get(struct mmds *s)
{
	char *txt;

	pthread_mutex_lock(&s->lock);
	txt = s->data ? json_dumps(s->data, JSON_COMPACT) : strdup("{}");
	pthread_mutex_unlock(&s->lock);
	return txt;
}
