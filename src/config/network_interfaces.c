// SPDX-License-Identifier: Apache-2.0
/*
 * NetworkInterface: virtio-net devices on TAPs (PUT /network-interfaces/{id};
 * PATCH after boot: PartialNetworkInterface).
 */
#include "config/json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void net_config_free(struct net_config *n)
{
	free(n->iface_id);
	free(n->host_dev_name);
	memset(n, 0, sizeof(*n));
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_mac_parse(const char *s, uint8_t mac[VIRTIO_NET_ETH_ALEN])
{
	if (!s || strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < VIRTIO_NET_ETH_ALEN; i++) {
		int hi = hex_digit(s[3 * i]), lo = hex_digit(s[3 * i + 1]);

		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void config_mac_format(const uint8_t mac[VIRTIO_NET_ETH_ALEN], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
		 mac[5]);
}

/* NetworkInterface into a zeroed @n; @p names it ("network-interfaces[0]", "network-interface"). */
static int parse(json_t *o, const char *p, struct net_config *n, char *err)
{
	static const char *const keys[] = {"iface_id",	      "host_dev_name",	 "guest_mac", "mtu",
					   "rx_rate_limiter", "tx_rate_limiter", NULL};
	char rx[64], tx[64];
	char *mac = NULL;
	uint64_t mtu = 0;
	int ret;

	snprintf(rx, sizeof(rx), "%s.rx_rate_limiter", p);
	snprintf(tx, sizeof(tx), "%s.tx_rate_limiter", p);
	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "iface_id", &n->iface_id, err)) ||
	    (ret = cfg_get_string(o, p, "host_dev_name", true, &n->host_dev_name, err)) ||
	    (ret = cfg_get_string(o, p, "guest_mac", false, &mac, err)) ||
	    (ret = cfg_parse_rate_limiter(json_object_get(o, "rx_rate_limiter"), rx,
					  &n->rx_rate_limiter, err)) ||
	    (ret = cfg_parse_rate_limiter(json_object_get(o, "tx_rate_limiter"), tx,
					  &n->tx_rate_limiter, err)))
		goto out;
	if (json_object_get(o, "mtu") && !json_is_null(json_object_get(o, "mtu"))) {
		ret = cfg_get_uint(o, p, "mtu", false, VIRTIO_NET_MTU_MIN, VIRTIO_NET_MTU_MAX, &mtu,
				   err);
		if (ret)
			goto out;
		n->has_mtu = true;
		n->mtu = (uint16_t)mtu;
	}
	/* A TAP's name: IFNAMSIZ (16) bytes with the NUL. */
	if (!n->host_dev_name[0] || strlen(n->host_dev_name) > 15) {
		ret = cfg_fail(err,
			       "%s.host_dev_name: \"%.80s\" is not a TAP name (1 to 15 characters)",
			       p, n->host_dev_name);
		goto out;
	}
	if (mac) {
		if (config_mac_parse(mac, n->guest_mac)) {
			ret = cfg_fail(err,
				       "%s.guest_mac: \"%.40s\" is not a MAC address "
				       "(\"aa:bb:cc:dd:ee:ff\")",
				       p, mac);
			goto out;
		}
		if (n->guest_mac[0] & 1) {
			ret = cfg_fail(err, "%s.guest_mac: \"%s\" is a multicast address", p, mac);
			goto out;
		}
		n->has_guest_mac = true;
	}
out:
	free(mac);
	return ret;
}

/*
 * Adds @n (taking its strings) or replaces the interface with its iface_id if
 * @replace. Two interfaces may not share a TAP or a guest MAC.
 */
static int insert(struct vm_config *cfg, struct net_config *n, bool replace, char *err)
{
	int at = -1;

	for (unsigned int i = 0; i < cfg->nr_nets; i++) {
		const struct net_config *o = &cfg->nets[i];

		if (!strcmp(o->iface_id, n->iface_id)) {
			at = (int)i;
			continue;
		}
		if (!strcmp(o->host_dev_name, n->host_dev_name))
			return cfg_fail(err,
					"network-interfaces.%s.host_dev_name: \"%s\" is in use by "
					"interface \"%s\"",
					n->iface_id, n->host_dev_name, o->iface_id);
		if (n->has_guest_mac && o->has_guest_mac &&
		    !memcmp(o->guest_mac, n->guest_mac, sizeof(n->guest_mac)))
			return cfg_fail(
			    err,
			    "network-interfaces.%s.guest_mac: the MAC address is in use "
			    "by interface \"%s\"",
			    n->iface_id, o->iface_id);
	}
	if (at >= 0 && !replace)
		return cfg_fail(err, "network-interfaces: iface_id \"%s\" is used twice",
				n->iface_id);
	if (at >= 0) {
		net_config_free(&cfg->nets[at]);
	} else {
		struct net_config *arr;

		if (cfg->nr_nets == CONFIG_MAX_NETS)
			return cfg_fail(err, "network-interfaces.%s: at most %d interfaces",
					n->iface_id, CONFIG_MAX_NETS);
		arr = realloc(cfg->nets, (cfg->nr_nets + 1) * sizeof(*arr));
		if (!arr)
			return -ENOMEM;
		cfg->nets = arr;
		at = (int)cfg->nr_nets++;
	}
	cfg->nets[at] = *n;
	memset(n, 0, sizeof(*n));
	return 0;
}

/* One interface: an element of the file's "network-interfaces", or a PUT. */
static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	struct net_config n = {0};
	int ret = parse(o, how->path, &n, err);

	if (!ret)
		ret = insert(cfg, &n, how->api, err);
	net_config_free(&n);
	return ret;
}

static unsigned int virtio_devices(const struct vm_config *cfg)
{
	return cfg->nr_nets;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	dst->nets = cfg_dup_array(src->nets, src->nr_nets, sizeof(*src->nets), oom);
	dst->nr_nets = dst->nets ? src->nr_nets : 0;
	for (unsigned int i = 0; i < dst->nr_nets; i++) {
		struct net_config *n = &dst->nets[i];

		n->iface_id = cfg_dup(n->iface_id, oom);
		n->host_dev_name = cfg_dup(n->host_dev_name, oom);
	}
}

static void release(struct vm_config *cfg)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		net_config_free(&cfg->nets[i]);
	free(cfg->nets);
	cfg->nets = NULL;
	cfg->nr_nets = 0;
}

static json_t *net_json(const void *e, bool *bad)
{
	const struct net_config *n = e;
	json_t *o = cfg_object(bad);

	cfg_put(o, "iface_id", json_string(n->iface_id), bad);
	cfg_put(o, "host_dev_name", json_string(n->host_dev_name), bad);
	if (n->has_guest_mac) {
		char mac[18];

		config_mac_format(n->guest_mac, mac);
		cfg_put(o, "guest_mac", json_string(mac), bad);
	}
	if (n->has_mtu)
		cfg_put(o, "mtu", json_integer(n->mtu), bad);
	cfg_put(o, "rx_rate_limiter", cfg_limiter_opt(&n->rx_rate_limiter, bad), bad);
	cfg_put(o, "tx_rate_limiter", cfg_limiter_opt(&n->tx_rate_limiter, bad), bad);
	return o;
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	return cfg_array_json(cfg->nets, cfg->nr_nets, sizeof(*cfg->nets), net_json, bad);
}

const struct config_section_ops config_network_interfaces_section = {
    .key = "network-interfaces",
    .name = "network-interface",
    .list = true,
    .apply = apply,
    .virtio_devices = virtio_devices,
    .copy = copy,
    .free = release,
    .to_json = to_json,
};

/* --- after boot: PartialNetworkInterface --- */

int config_parse_net_update(const char *json, size_t len, struct net_update *u,
			    char err[CONFIG_ERR_MAX])
{
	static const char *const keys[] = {"iface_id", "rx_rate_limiter", "tx_rate_limiter", NULL};
	const char *p = "network-interface";
	json_t *o = cfg_load_body(json, len, p, err);
	int ret;

	memset(u, 0, sizeof(*u));
	if (!o)
		return -EINVAL;
	if ((ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_id(o, p, "iface_id", &u->iface_id, err)) ||
	    (ret = cfg_parse_limiter_update(o, "rx_rate_limiter", p, &u->has_rx, &u->rx, err)) ||
	    (ret = cfg_parse_limiter_update(o, "tx_rate_limiter", p, &u->has_tx, &u->tx, err)))
		goto out;
	if (!u->has_rx && !u->has_tx)
		ret = cfg_fail(
		    err, "%s: the PATCH body changes nothing (rx_rate_limiter, tx_rate_limiter)",
		    p);
out:
	json_decref(o);
	if (ret)
		config_net_update_free(u);
	return ret;
}

void config_net_update_free(struct net_update *u)
{
	free(u->iface_id);
	memset(u, 0, sizeof(*u));
}

void config_net_update_limiters(const struct net_config *n, const struct net_update *u,
				struct rate_limiter_config *rx, struct rate_limiter_config *tx)
{
	cfg_merge_limiter(&n->rx_rate_limiter, &u->rx, rx);
	cfg_merge_limiter(&n->tx_rate_limiter, &u->tx, tx);
}

struct net_config *config_find_net(const struct vm_config *cfg, const char *iface_id)
{
	for (unsigned int i = 0; i < cfg->nr_nets; i++)
		if (!strcmp(cfg->nets[i].iface_id, iface_id))
			return &cfg->nets[i];
	return NULL;
}

int config_apply_net_update(struct vm_config *cfg, const struct net_update *u)
{
	struct net_config *n = config_find_net(cfg, u->iface_id);

	if (!n)
		return -ENOENT;
	config_net_update_limiters(n, u, &n->rx_rate_limiter, &n->tx_rate_limiter);
	return 0;
}
