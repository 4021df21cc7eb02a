/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.x, section 4.2.2), and the ops
 * table every virtio device fills. Three layers: the virtqueue library
 * (virtqueue.h), this transport (registers, feature negotiation, the status
 * state machine, interrupts), and the devices (block, net, vsock, rng, balloon).
 *
 * Threads: register accesses arrive on vCPU threads; queue work (queue_notify)
 * runs on the event loop. dev->lock serializes the two: the transport takes it
 * for every register access, the VM glue takes it around queue_notify.
 */
#ifndef EMBER_DEVICES_VIRTIO_VIRTIO_MMIO_H
#define EMBER_DEVICES_VIRTIO_VIRTIO_MMIO_H

#include "devices/virtio/virtqueue.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_MMIO_WINDOW 0x1000 /* each device's register window */
#define VIRTIO_MAX_QUEUES  8

/* Device ids (virtio 1.x, section 5). */
#define VIRTIO_ID_NET	  1
#define VIRTIO_ID_BLOCK	  2
#define VIRTIO_ID_RNG	  4
#define VIRTIO_ID_BALLOON 5
#define VIRTIO_ID_VSOCK	  19

/* Transport feature bits the transport itself offers and handles. */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX	    29
#define VIRTIO_F_VERSION_1	    32

/* Device status bits. */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER	  2
#define VIRTIO_STATUS_DRIVER_OK	  4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED	  128

/* InterruptStatus bits. */
#define VIRTIO_INT_USED_RING 1
#define VIRTIO_INT_CONFIG    2

struct virtio_dev;

struct virtio_dev_ops {
	const char *name;	/* "rng", "block", ...: logs and metrics */
	uint32_t device_id;	/* VIRTIO_ID_* */
	unsigned int nr_queues; /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max;	/* QueueNumMax, a power of two <= VQ_MAX_SIZE */
	uint64_t features;	/* device-specific feature bits offered */
	/* Device configuration space (offset from 0x100); reads past its end read 0. */
	void (*config_read)(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint64_t off, const uint8_t *data,
			     uint32_t len); /* optional */
	/* DRIVER_OK with every used queue ready; the features are final. Optional. */
	int (*activate)(struct virtio_dev *d);
	/* The guest notified queue @q (event loop, dev->lock held). */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* The driver reset the device (status 0); queues are already reset. Optional. */
	void (*reset)(struct virtio_dev *d);
};

/* How a device reaches the VM: provided by the VM glue (or a unit test). */
struct virtio_host_ops {
	/* Raise the device's interrupt (irqfd). Any thread. */
	void (*interrupt)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct virtio_host_ops *host;
	void *host_data; /* the host glue's own (the VM: the device's slot) */
	void *opaque;	 /* the device's own state */
	const struct guest_mem *mem;
	pthread_mutex_t lock;

	/* Transport registers. */
	uint32_t status;
	uint32_t device_features_sel;
	uint32_t driver_features_sel;
	uint64_t driver_features;
	uint32_t queue_sel;
	atomic_uint interrupt_status;
	uint32_t config_generation;
	bool activated;
	struct virtqueue vqs[VIRTIO_MAX_QUEUES];

	/* Placement, for the VM glue: window base and GSI. */
	uint64_t mmio_base;
	uint32_t gsi;

	/* Counters (Firecracker's metric names where they exist). */
	uint64_t activate_fails;
	uint64_t cfg_fails;
	uint64_t event_fails; /* malformed chains */
	uint64_t queue_notifies;
	uint64_t interrupts;
};

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     const struct virtio_host_ops *host, void *opaque, const struct guest_mem *mem);
void virtio_dev_destroy(struct virtio_dev *d);

/* The bus handler for the device's 4 KiB window; opaque = struct virtio_dev *. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* The features the device offers in total: ops->features plus the transport's. */
uint64_t virtio_dev_features(const struct virtio_dev *d);
bool virtio_dev_has_feature(const struct virtio_dev *d, unsigned int bit); /* negotiated */

/*
 * After pushing used buffers on @q: raises the used-ring interrupt if the
 * guest wants one (vq_should_notify). Returns whether it did.
 */
bool virtio_dev_signal_used(struct virtio_dev *d, unsigned int q);

/* Configuration changed (balloon target, ...): bump generation, config interrupt. */
void virtio_dev_signal_config(struct virtio_dev *d);

/* A device-side fatal error: sets DEVICE_NEEDS_RESET and raises a config interrupt. */
void virtio_dev_needs_reset(struct virtio_dev *d);

#endif
