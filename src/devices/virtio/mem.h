/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-mem (virtio 1.2, section 5.15): device id 24. A region of guest
 * physical memory above RAM, divided into blocks the guest plugs and unplugs
 * on the host's request: the host sets requested_size (PATCH
 * /hotplug/memory), the guest's driver plugs or unplugs blocks until its
 * plugged_size matches, and the host reads plugged_size back (GET).
 *
 * The region is a part of guest memory (core/guest_mem.h: the hotplug region,
 * not RAM at boot: no e820 entry), so virtqueues and buffers may live in
 * plugged memory like anywhere in RAM. Unplugged blocks are given back to the
 * host at once (MADV_DONTNEED): an unplugged block costs no host memory.
 * VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE is offered (the driver must not touch
 * unplugged memory), and enforced slot by slot (virtio_mem_use_slots): the
 * region is cut into slots, and a slot is in the guest's address space only
 * while one of its blocks is plugged: mapped before the PLUG that needs it is
 * acknowledged, unmapped once its last block is unplugged (before its pages are
 * given back), mapped again on restore for every slot with a plugged block.
 *
 * Requests (one queue): PLUG, UNPLUG, UNPLUG_ALL, STATE, each answered with
 * ACK, NACK (a plug beyond requested_size), or ERROR (a range that is not
 * block-aligned, outside the usable region, or not all in the state the
 * request needs). A chain without a request header or a response buffer is
 * failed with length 0 and counted in dev.event_fails.
 */
#ifndef EMBER_DEVICES_VIRTIO_MEM_H
#define EMBER_DEVICES_VIRTIO_MEM_H

#include "devices/virtio/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_ID_MEM			    24
#define VIRTIO_MEM_QUEUE_SIZE		    128
#define VIRTIO_MEM_F_ACPI_PXM		    0
#define VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE 1

#define VIRTIO_MEM_REQ_PLUG	   0
#define VIRTIO_MEM_REQ_UNPLUG	   1
#define VIRTIO_MEM_REQ_UNPLUG_ALL  2
#define VIRTIO_MEM_REQ_STATE	   3
#define VIRTIO_MEM_RESP_ACK	   0
#define VIRTIO_MEM_RESP_NACK	   1
#define VIRTIO_MEM_RESP_BUSY	   2
#define VIRTIO_MEM_RESP_ERROR	   3
#define VIRTIO_MEM_STATE_PLUGGED   0
#define VIRTIO_MEM_STATE_UNPLUGGED 1
#define VIRTIO_MEM_STATE_MIXED	   2

/* The largest region ember offers (a bound on the block bitmap): 1 TiB. */
#define VIRTIO_MEM_MAX_REGION (1ULL << 40)

/* ember's memory_hotplug metrics (virtio_mmio.h: T, C). */
#define VIRTIO_MEM_METRICS(T, C)                                      \
	T(activate_fails, activate_fails)                             \
	T(event_fails, event_fails)                                   \
	C(queue_event_count) /* queue notifications handled */        \
	C(plug_count)	     /* PLUG requests acknowledged */         \
	C(plug_fails)	     /* PLUG requests refused */              \
	C(unplug_count)	     /* UNPLUG(_ALL) requests acknowledged */ \
	C(unplug_fails)	     /* UNPLUG requests refused */            \
	C(state_count)	     /* STATE requests */

/* Firecracker's MemoryHotplugConfig (config/ parses it). */
struct memory_hotplug_config {
	bool present;
	uint32_t total_size_mib;
	uint32_t slot_size_mib;	 /* default 128 */
	uint32_t block_size_mib; /* default 2 */
};

/*
 * The host's side of a slot: maps slot @slot (bytes [slot * slot_size, +
 * slot_size) of the region) into the guest's address space (@present) or
 * takes it out. 0, or a negative errno (logged by the host).
 */
typedef int (*virtio_mem_slot_fn)(void *opaque, uint64_t slot, bool present);

struct virtio_mem {
	struct virtio_dev dev; /* first: dev.opaque points back here */

	uint64_t addr;	      /* the region's guest physical address */
	uint64_t region_size; /* bytes; all of it usable */
	uint64_t block_size;
	uint8_t *hva; /* the region in the host (guest memory) */
	uint64_t nr_blocks;
	uint64_t *plugged; /* a bit per block */
	uint64_t plugged_size;
	uint64_t requested_size;

	/* Slots (virtio_mem_use_slots); slot_size 0: none, the region always mapped. */
	uint64_t slot_size;
	uint64_t nr_slots;
	uint64_t *slot_mapped; /* a bit per slot: the host mapped it (slot_set said so) */
	virtio_mem_slot_fn slot_set;
	void *slot_opaque;

	struct vq_chain chain;

	VIRTIO_MEM_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
};

/*
 * The device over the region [@addr, @addr + @size) of @mem (a power-of-two
 * @block_size dividing @size and @addr), everything unplugged, requested 0.
 * 0, -EINVAL (the geometry, or the region not in @mem) or -ENOMEM.
 */
int virtio_mem_init(struct virtio_mem *m, uint64_t addr, uint64_t size, uint64_t block_size,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem);
void virtio_mem_destroy(struct virtio_mem *m);
/*
 * Cuts the region into slots of @slot_size bytes (a multiple of the block
 * size dividing the region), all unmapped: from now on @set maps a slot when
 * its first block is plugged and unmaps it when its last one goes. Before the
 * device runs. 0, -EINVAL (the size) or -ENOMEM.
 */
int virtio_mem_use_slots(struct virtio_mem *m, uint64_t slot_size, virtio_mem_slot_fn set,
			 void *opaque);
/* Whether slot @slot is mapped (dev.lock held, or the device idle). */
bool virtio_mem_slot_mapped(const struct virtio_mem *m, uint64_t slot);
/*
 * The host's new target (bytes): a multiple of the block size, at most the
 * region. Raises a configuration interrupt. 0 or -EINVAL. dev.lock taken.
 */
int virtio_mem_set_requested(struct virtio_mem *m, uint64_t bytes);
/* plugged_size and requested_size, read under dev.lock. */
void virtio_mem_sizes(struct virtio_mem *m, uint64_t *plugged, uint64_t *requested);
void virtio_mem_process(struct virtio_mem *m);

#endif
