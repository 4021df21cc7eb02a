// SPDX-License-Identifier: Apache-2.0
/* The VM's virtio-net devices, each over its TAP. See network_interfaces.h. */
#include "vmm/network_interfaces.h"

#include "devices/mmds/stack.h"
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A slot's state: the device first (s->state is a struct virtio_net), its MMDS endpoint. */
struct net_slot {
	struct virtio_net net;
	struct mmds_stack *mmds; /* NULL: the interface is not in mmds-config */
	struct net_intercept icpt;
};

static bool mmds_tx(void *opaque, const struct iovec *iov, unsigned int nr, uint64_t now_ns)
{
	return mmds_stack_tx(opaque, iov, nr, now_ns);
}

static size_t mmds_rx(void *opaque, const struct iovec *iov, unsigned int nr, uint64_t now_ns)
{
	return mmds_stack_rx(opaque, iov, nr, now_ns);
}

static bool mmds_pending(void *opaque, uint64_t now_ns)
{
	return mmds_stack_pending(opaque, now_ns);
}

static uint64_t mmds_deadline(void *opaque)
{
	return mmds_stack_deadline(opaque);
}

/* The interface answers MMDS requests if mmds-config names it. 0 or -ENOMEM. */
static int mmds_attach(struct vm *vm, struct net_slot *ns, const char *iface_id)
{
	const struct mmds_config *mc = &vm->cfg.mmds;
	bool listed = false;

	for (unsigned int i = 0; mc->present && vm->mmds && i < mc->nr_ifaces; i++)
		listed |= !strcmp(mc->ifaces[i], iface_id);
	if (!listed)
		return 0;
	mmds_set_config(vm->mmds, mc->version, mc->imds_compat, mc->ipv4);
	ns->mmds = calloc(1, sizeof(*ns->mmds));
	if (!ns->mmds || mmds_stack_init(ns->mmds, vm->mmds)) {
		log_error("network-interfaces: %s: out of memory for MMDS", iface_id);
		return -ENOMEM;
	}
	ns->icpt = (struct net_intercept){mmds_tx, mmds_rx, mmds_pending, mmds_deadline, ns->mmds};
	ns->net.icpt = &ns->icpt;
	return 0;
}

const struct vm_device_type network_interfaces_type = {
    .name = "network-interfaces",
    .add = network_interfaces_add,
    .remove = network_interfaces_remove,
    .find = network_interfaces_find,
    .metrics = network_interfaces_metrics,
    .save = vm_virtio_save,
    .restore = vm_virtio_restore,
};

struct virtio_slot *network_interfaces_find(struct vm *vm, const char *iface_id)
{
	for (struct virtio_slot *s = vm_virtio_next(vm, &network_interfaces_type, NULL); s;
	     s = vm_virtio_next(vm, &network_interfaces_type, s)) {
		const struct virtio_net *n = s->state;

		if (iface_id && !strcmp(n->iface_id, iface_id))
			return s;
	}
	return NULL;
}

static int net_add(struct vm *vm, const struct net_config *cfg)
{
	const char *id = cfg->iface_id && *cfg->iface_id ? cfg->iface_id : "(no iface_id)";
	char err[256], what[96];
	struct virtio_slot *s;
	struct net_slot *ns;
	struct virtio_net *n;
	int fd, ret;

	if (!cfg->iface_id || !*cfg->iface_id || strlen(cfg->iface_id) >= sizeof(n->iface_id)) {
		log_error("network-interfaces: iface_id \"%s\" must be 1 to %zu bytes",
			  cfg->iface_id ? cfg->iface_id : "", sizeof(n->iface_id) - 1);
		return -EINVAL;
	}
	if (network_interfaces_find(vm, cfg->iface_id)) {
		log_error("network-interfaces: iface_id \"%s\" is used twice", id);
		return -EINVAL;
	}
	ret = net_tap_open(cfg->host_dev_name, &fd, err, sizeof(err));
	if (ret) {
		log_error("network-interfaces: %s: %s", id, err);
		return ret;
	}
	snprintf(what, sizeof(what), "network-interfaces: %s", id);
	ret = vm_virtio_slot_new(vm, &network_interfaces_type, what, &s);
	ns = ret ? NULL : calloc(1, sizeof(*ns));
	if (!ns) {
		close(fd);
		return ret ? ret : -ENOMEM;
	}
	n = &ns->net;
	s->state = ns; /* from here on network_interfaces_remove() frees it */
	ret = virtio_net_init(n, cfg, fd, true, vm_virtio_host_ops(), s, &vm->mem); /* owns fd */
	if (!ret)
		ret = mmds_attach(vm, ns, cfg->iface_id);
	if (!ret)
		ret = vm_virtio_place(vm, s, &n->dev);
	if (!ret)
		log_debug("virtio-net %s: TAP %s, MMIO 0x%llx, GSI %u", id, cfg->host_dev_name,
			  (unsigned long long)n->dev.mmio_base, n->dev.gsi);
	return ret;
}

int network_interfaces_add(struct vm *vm)
{
	const struct vm_config *c = &vm->cfg;
	int ret = 0;

	for (unsigned int i = 0; !ret && i < c->nr_nets; i++)
		ret = net_add(vm, &c->nets[i]);
	return ret;
}

static void log_counters(const struct virtio_net *n)
{
	const struct net_metrics *m = &n->m;

	log_debug("virtio-net %s: rx %llu frames %llu bytes (%llu fails, %llu no buffer, %llu "
		  "throttled); tx %llu frames %llu bytes (%llu fails, %llu malformed, %llu "
		  "throttled); %llu bad chains",
		  n->iface_id, (unsigned long long)m->rx_packets_count,
		  (unsigned long long)m->rx_bytes_count, (unsigned long long)m->rx_fails,
		  (unsigned long long)m->no_rx_avail_buffer,
		  (unsigned long long)m->rx_rate_limiter_throttled,
		  (unsigned long long)m->tx_packets_count, (unsigned long long)m->tx_bytes_count,
		  (unsigned long long)m->tx_fails, (unsigned long long)m->tx_malformed_frames,
		  (unsigned long long)m->tx_rate_limiter_throttled,
		  (unsigned long long)n->dev.event_fails);
}

void network_interfaces_remove(struct vm *vm, struct virtio_slot *s)
{
	struct net_slot *ns = s->state;

	(void)vm;
	if (s->dev)
		log_counters(&ns->net);
	virtio_net_destroy(&ns->net);
	if (ns->mmds)
		mmds_stack_destroy(ns->mmds);
	free(ns->mmds);
	free(ns);
}

int network_interfaces_update(struct vm *vm, const char *iface_id,
			      const struct rate_limiter_config *rx,
			      const struct rate_limiter_config *tx)
{
	struct virtio_slot *s = network_interfaces_find(vm, iface_id);
	struct virtio_net *n;

	if (!s)
		return -ENOENT;
	n = s->state;
	pthread_mutex_lock(&n->dev.lock);
	virtio_net_set_rate_limiters(n, rx, tx);
	pthread_mutex_unlock(&n->dev.lock);
	return 0;
}

#define NET_METRIC(name) {#name, false, offsetof(struct virtio_net, m.name)},
static const struct vm_metric net_metrics[] = {VIRTIO_NET_METRICS(VM_METRIC_TRANSPORT, NET_METRIC)};

static void net_of(const struct virtio_slot *s, struct vm_metrics_dev *out)
{
	struct virtio_net *n = s->state;

	*out = (struct vm_metrics_dev){n->iface_id, &n->dev, n};
}

void network_interfaces_metrics(struct vm *vm, json_t *root)
{
	vm_metrics_group(vm, &network_interfaces_type, "net", net_metrics,
			 sizeof(net_metrics) / sizeof(net_metrics[0]), net_of, root);
}
