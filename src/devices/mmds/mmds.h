/* SPDX-License-Identifier: Apache-2.0 */
/*
 * MMDS, the microVM metadata service (Firecracker's): a JSON data store the
 * host fills through the API (PUT, PATCH, GET /mmds) and the guest reads over
 * HTTP at a link-local address (169.254.169.254 by default), served by ember
 * itself on the interfaces PUT /mmds/config names (stack.h: ARP, IPv4, TCP).
 *
 * One struct mmds per controller: the store outlives VM start (it may be
 * filled before boot) and is not saved in snapshots (only its configuration
 * is, as Firecracker does). The store is guarded by its mutex: the API and
 * the devices may run on different threads. Counters are atomic.
 *
 * IMDS (imds.c): GET of a JSON pointer path answers strings as text, objects
 * as a listing of their keys (sub-objects with a trailing '/'), or JSON with
 * "Accept: application/json" (unless imds_compat); V2 (and V1, optionally)
 * session tokens from PUT /latest/api/token, each an HMAC under a key drawn
 * from the kernel's random source when the service is created.
 */
#ifndef EMBER_DEVICES_MMDS_MMDS_H
#define EMBER_DEVICES_MMDS_MMDS_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MMDS_DEFAULT_IPV4  0xa9fea9feU /* 169.254.169.254, host order */
#define MMDS_TOKEN_TTL_MAX 21600       /* seconds */
#define MMDS_KEY_LEN	   32
#define MMDS_DEFAULT_LIMIT 51200 /* bytes: the API's default max payload */
#define MMDS_ERR_MAX	   256

enum mmds_version {
	MMDS_V1,
	MMDS_V2,
};

/* Firecracker's MmdsMetrics, in its order. */
#define MMDS_METRICS(C)                                                                    \
	C(rx_accepted)		 /* frames for MMDS taken off the interface */             \
	C(rx_accepted_err)	 /* ... of which malformed (checksum, lengths): dropped */ \
	C(rx_accepted_unusual)	 /* ... of which unusual (fragments, not TCP): dropped */  \
	C(rx_bad_eth)		 /* frames that looked like MMDS's but were not usable */  \
	C(rx_invalid_token)	 /* requests with a token that is not valid */             \
	C(rx_no_token)		 /* V2 requests without a token */                         \
	C(rx_count)		 /* HTTP requests answered */                              \
	C(tx_bytes)		 /* frame bytes given to the guest */                      \
	C(tx_count)		 /* HTTP responses sent */                                 \
	C(tx_errors)		 /* frames MMDS could not send (a full queue) */           \
	C(tx_frames)		 /* frames given to the guest */                           \
	C(connections_created)	 /* TCP connections */                                     \
	C(connections_destroyed) /* ... ended (closed, reset, evicted) */

#define MMDS_METRIC_FIELD(name) unsigned long long name;
struct mmds_metrics {
	MMDS_METRICS(MMDS_METRIC_FIELD)
};
#define MMDS_COUNT(m, name, n) __atomic_add_fetch(&(m)->name, (n), __ATOMIC_RELAXED)

struct mmds {
	pthread_mutex_t lock; /* data */
	json_t *data;	      /* the store (an object); NULL: never set */
	size_t size_limit;    /* bytes of the store as compact JSON */

	/* The configuration (PUT /mmds/config), read by the IMDS side. */
	enum mmds_version version;
	bool imds_compat;
	uint32_t ipv4; /* host order */

	uint8_t key[MMDS_KEY_LEN]; /* tokens' and TCP initial sequence numbers' */
	uint64_t token_serial;	   /* tokens issued: each one's is distinct */
	struct mmds_metrics m;
};

/*
 * An empty store of at most @size_limit bytes, V1 at the default address.
 * Draws the key (getrandom). 0 or -errno.
 */
int mmds_init(struct mmds *s, size_t size_limit);
void mmds_destroy(struct mmds *s);
void mmds_set_config(struct mmds *s, enum mmds_version v, bool imds_compat, uint32_t ipv4);

/*
 * PUT /mmds: @json replaces the store. PATCH /mmds: @json is merged into it
 * (RFC 7396). 0, or -EINVAL (invalid JSON; a PATCH before any PUT), -EFBIG
 * (the store would exceed its limit), -ENOMEM, with @err set (one line). The
 * store is unchanged on error.
 */
int mmds_put(struct mmds *s, const char *json, size_t len, char err[MMDS_ERR_MAX]);
int mmds_patch(struct mmds *s, const char *json, size_t len, char err[MMDS_ERR_MAX]);
/* GET /mmds: the store as compact JSON ("{}" if never set), malloc'd; NULL: no memory. */
char *mmds_get(struct mmds *s);

/*
 * One HTTP request from the guest, in @req (@len bytes so far). @full: no
 * more bytes will come (the guest closed, or the buffer is full). Returns 0
 * while the request is incomplete; 1 with the whole response (status line,
 * headers, body) in *resp (malloc'd, *resp_len bytes); -ENOMEM. @now_ns: the
 * clock tokens expire on.
 */
int mmds_http_serve(struct mmds *s, const char *req, size_t len, bool full, uint64_t now_ns,
		    char **resp, size_t *resp_len);

/* A keyed hash of @data (HMAC-SHA256 under the service's key, first 8 bytes). */
uint64_t mmds_keyed_hash(const struct mmds *s, const void *data, size_t len);

#endif
