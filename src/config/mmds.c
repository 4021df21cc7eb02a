// SPDX-License-Identifier: Apache-2.0
/* MmdsConfig: the metadata service's version, address and interfaces (PUT /mmds/config). */
#include "config/json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void mmds_config_free(struct mmds_config *m)
{
	for (unsigned int i = 0; i < m->nr_ifaces; i++)
		free(m->ifaces[i]);
	free(m->ifaces);
	memset(m, 0, sizeof(*m));
}

/* Every interface named is configured: at PUT time for the API, before boot for the file. */
static int check_ifaces(const struct vm_config *cfg, const struct mmds_config *m, const char *p,
			char *err)
{
	for (unsigned int i = 0; i < m->nr_ifaces; i++) {
		bool found = false;

		for (unsigned int j = 0; j < cfg->nr_nets && !found; j++)
			found =
			    cfg->nets[j].iface_id && !strcmp(cfg->nets[j].iface_id, m->ifaces[i]);
		if (!found)
			return cfg_fail(err,
					"%s.network_interfaces[%u]: no network interface \"%s\" "
					"(PUT /network-interfaces/%s first)",
					p, i, m->ifaces[i], m->ifaces[i]);
	}
	return 0;
}

/* Firecracker's rule: 169.254.1.0 to 169.254.254.255 (link-local, not the reserved ends). */
static int parse_ipv4(const char *s, const char *p, uint32_t *out, char *err)
{
	struct in_addr a;
	uint32_t v;

	if (inet_pton(AF_INET, s, &a) != 1)
		return cfg_fail(err, "%s.ipv4_address: \"%.40s\" is not an IPv4 address", p, s);
	v = ntohl(a.s_addr);
	if ((v >> 16) != 0xa9fe || ((v >> 8) & 0xff) == 0 || ((v >> 8) & 0xff) == 255)
		return cfg_fail(err,
				"%s.ipv4_address: %s is not a link-local address (169.254.1.0 to "
				"169.254.254.255)",
				p, s);
	*out = v;
	return 0;
}

static int apply(struct vm_config *cfg, json_t *o, const struct config_apply *how, char *err)
{
	static const char *const keys[] = {"version", "network_interfaces", "ipv4_address",
					   "imds_compat", NULL};
	static const char *const versions[] = {"V1", "V2", NULL};
	struct mmds_config m = {.ipv4 = MMDS_DEFAULT_IPV4};
	const char *p = how->path;
	json_t *list, *e;
	char *ip = NULL;
	int version = MMDS_V1, ret;
	size_t i;

	if ((ret = cfg_want_object(o, p, err)) || (ret = cfg_check_keys(o, p, keys, err)) ||
	    (ret = cfg_get_enum(o, p, "version", versions, &version, err)) ||
	    (ret = cfg_get_bool(o, p, "imds_compat", &m.imds_compat, err)) ||
	    (ret = cfg_get_string(o, p, "ipv4_address", false, &ip, err)))
		return ret;
	if (ip) {
		ret = parse_ipv4(ip, p, &m.ipv4, err);
		free(ip);
		if (ret)
			return ret;
	}
	m.version = version;
	list = json_object_get(o, "network_interfaces");
	if (!list)
		return cfg_fail(err, "%s: missing required key \"network_interfaces\"", p);
	if (!json_is_array(list))
		return cfg_fail(err, "%s.network_interfaces: expected an array, got %s", p,
				config_type_name(list));
	if (!json_array_size(list))
		return cfg_fail(err,
				"%s.network_interfaces: the list of interfaces that allow MMDS "
				"requests is empty",
				p);
	m.ifaces = calloc(json_array_size(list), sizeof(*m.ifaces));
	if (!m.ifaces)
		return cfg_fail(err, "%s: out of memory", p);
	json_array_foreach(list, i, e)
	{
		if (!json_is_string(e)) {
			mmds_config_free(&m);
			return cfg_fail(err,
					"%s.network_interfaces[%zu]: expected a string, got %s", p,
					i, config_type_name(e));
		}
		if (!(m.ifaces[m.nr_ifaces] = strdup(json_string_value(e)))) {
			mmds_config_free(&m);
			return cfg_fail(err, "%s: out of memory", p);
		}
		m.nr_ifaces++;
	}
	if (how->api && (ret = check_ifaces(cfg, &m, p, err))) {
		mmds_config_free(&m);
		return ret;
	}
	m.present = true;
	mmds_config_free(&cfg->mmds);
	cfg->mmds = m;
	return 0;
}

static int validate(const struct vm_config *cfg, char *err)
{
	return cfg->mmds.present ? check_ifaces(cfg, &cfg->mmds, "mmds-config", err) : 0;
}

static void copy(struct vm_config *dst, const struct vm_config *src, bool *oom)
{
	const struct mmds_config *s = &src->mmds;
	struct mmds_config *d = &dst->mmds;

	d->ifaces = s->nr_ifaces ? calloc(s->nr_ifaces, sizeof(*d->ifaces)) : NULL;
	if (s->nr_ifaces && !d->ifaces) {
		d->nr_ifaces = 0;
		*oom = true;
		return;
	}
	for (unsigned int i = 0; i < s->nr_ifaces; i++)
		d->ifaces[i] = cfg_dup(s->ifaces[i], oom);
}

static void free_section(struct vm_config *cfg)
{
	mmds_config_free(&cfg->mmds);
}

static json_t *to_json(const struct vm_config *cfg, bool *bad)
{
	const struct mmds_config *m = &cfg->mmds;
	struct in_addr a = {htonl(m->ipv4)};
	char ip[INET_ADDRSTRLEN];
	json_t *o, *list;

	if (!m->present)
		return json_null();
	o = cfg_object(bad);
	list = json_array();
	if (!list)
		*bad = true;
	for (unsigned int i = 0; list && i < m->nr_ifaces; i++)
		if (json_array_append_new(list, json_string(m->ifaces[i])))
			*bad = true;
	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	cfg_put(o, "version", json_string(m->version == MMDS_V2 ? "V2" : "V1"), bad);
	cfg_put(o, "network_interfaces", list, bad);
	cfg_put(o, "ipv4_address", json_string(ip), bad);
	cfg_put(o, "imds_compat", json_boolean(m->imds_compat), bad);
	return o;
}

const struct config_section_ops config_mmds_section = {
    .key = "mmds-config",
    .name = "mmds-config",
    .apply = apply,
    .validate = validate,
    .copy = copy,
    .free = free_section,
    .to_json = to_json,
};
