/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The virtio-mmio transport, version 2 (virtio 1.x, section 4.2.2), and the ops
 * table every virtio device fills. Three layers: the virtqueue library
 * (virtqueue.h), this transport (registers, feature negotiation, the status
 * state machine, interrupts), and the devices (block, net, vsock, rng, balloon).
 *
 * Threads: register accesses arrive on vCPU threads; queue work (queue_notify)
 * runs on the event loop. dev->lock serializes the two: the transport takes it
 * for every register access, virtio_dev_notify() (the VM glue's ioeventfd
 * path) takes it around queue_notify. The lock is recursive: the helpers below
 * (signal_used, signal_config, needs_reset) take it themselves, so a device may
 * call them from queue_notify (lock held) or from a thread of its own.
 *
 * Decisions:
 *  - VendorID is "EMBR" read as a little-endian 32-bit word (0x52424d45).
 *  - QueueNum must be a non-zero power of two <= QueueNumMax (split rings are
 *    power-of-two sized; Linux only uses such sizes). Another value is
 *    remembered as "no size": DRIVER_OK then fails with DEVICE_NEEDS_RESET.
 *    QueueNum starts at QueueNumMax after a reset.
 *  - Status: 0 resets. Otherwise the driver may only add bits, each after its
 *    predecessor (ACKNOWLEDGE -> DRIVER -> FEATURES_OK -> DRIVER_OK); FAILED may
 *    be added at any time; DEVICE_NEEDS_RESET is the device's and ignored in
 *    writes. Any other write (clearing bits, skipping a step, unknown bits) is
 *    ignored as a whole, with a warning and cfg_fails++ (Firecracker ignores
 *    invalid transitions too); the device does not set FAILED, which is the
 *    driver's bit.
 *  - FEATURES_OK is refused (does not stick) if the driver accepted a bit that
 *    was not offered or did not accept VERSION_1.
 *  - Queue registers are writable while the queue is not ready and DRIVER_OK is
 *    not set; QueueReady = 0 is accepted at any time (Linux writes it when it
 *    deletes its queues and warns if it does not read back 0).
 *  - DRIVER_OK: each ready queue gets event_idx / indirect from the negotiated
 *    features and must pass vq_validate(); then ops->activate. A failure sets
 *    DEVICE_NEEDS_RESET (with a config interrupt) and counts activate_fails.
 *  - Registers below 0x100 are 4 bytes wide and aligned; another width reads 0
 *    or drops the write, and counts cfg_fails (as does an unknown register).
 *    The configuration space at 0x100 takes any width.
 */
#ifndef EMBER_DEVICES_VIRTIO_VIRTIO_MMIO_H
#define EMBER_DEVICES_VIRTIO_VIRTIO_MMIO_H

#include "core/state.h"
#include "devices/virtio/host.h"
#include "devices/virtio/virtqueue.h"
#include "util/rate_limiter.h"

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
/* The bits a driver may write. */
#define VIRTIO_STATUS_DRIVER_BITS                                                       \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK | \
	 VIRTIO_STATUS_DRIVER_OK | VIRTIO_STATUS_FAILED)

/* InterruptStatus bits. */
#define VIRTIO_INT_USED_RING 1
#define VIRTIO_INT_CONFIG    2

/* The virtio-mmio version 2 register map (offsets in the window). */
#define VIRTIO_MMIO_MAGIC_VALUE		0x000 /* R: "virt" */
#define VIRTIO_MMIO_VERSION		0x004 /* R: 2 */
#define VIRTIO_MMIO_DEVICE_ID		0x008 /* R */
#define VIRTIO_MMIO_VENDOR_ID		0x00c /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES	0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES	0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL		0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX	0x034
#define VIRTIO_MMIO_QUEUE_NUM		0x038
#define VIRTIO_MMIO_QUEUE_READY		0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY	0x050 /* W: the queue index (the VM's ioeventfd) */
#define VIRTIO_MMIO_INTERRUPT_STATUS	0x060
#define VIRTIO_MMIO_INTERRUPT_ACK	0x064
#define VIRTIO_MMIO_STATUS		0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW	0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH	0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW	0x090 /* the avail ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH	0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW	0x0a0 /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH	0x0a4
#define VIRTIO_MMIO_SHM_SEL		0x0ac /* shared memory: none (lengths read all-ones) */
#define VIRTIO_MMIO_SHM_LEN_LOW		0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH	0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW	0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH	0x0bc
#define VIRTIO_MMIO_QUEUE_RESET		0x0c0 /* VIRTIO_F_RING_RESET: not offered, reads 0 */
#define VIRTIO_MMIO_CONFIG_GENERATION	0x0fc
#define VIRTIO_MMIO_CONFIG		0x100

#define VIRTIO_MMIO_MAGIC  0x74726976 /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x52424d45 /* "EMBR" */

struct virtio_dev;

/*
 * Metrics: each device lists its Firecracker metrics once, in Firecracker's
 * order, as an X-macro of T(name, field) entries (a counter of the
 * transport's: struct virtio_dev's @field) and C(name) entries (a counter of
 * the device's own). The device declares its counters from the list
 * (VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER), the VM writes the JSON from it
 * (vmm/device_table.h), so a name is written in one place.
 */
#define VIRTIO_METRIC_SKIP(name, field)
#define VIRTIO_METRIC_COUNTER(name) uint64_t name;

struct virtio_dev_ops {
	const char *name;	/* "rng", "block", ...: logs and metrics */
	uint32_t device_id;	/* VIRTIO_ID_* */
	unsigned int nr_queues; /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max;	/* QueueNumMax, a power of two <= VQ_MAX_SIZE */
	uint64_t features;	/* device-specific feature bits offered */
	/*
	 * Device configuration space (offset from 0x100); reads past its end read 0.
	 * Optional: without it the space reads as zeros.
	 */
	void (*config_read)(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *d, uint64_t off, const uint8_t *data,
			     uint32_t len); /* optional */
	/* DRIVER_OK with every used queue ready; the features are final. Optional. */
	int (*activate)(struct virtio_dev *d);
	/*
	 * The guest notified queue @q (event loop, dev->lock held); only called
	 * while the device is activated, not in DEVICE_NEEDS_RESET, and @q ready.
	 */
	void (*queue_notify)(struct virtio_dev *d, unsigned int q);
	/* The driver reset the device (status 0); queues are already reset. Optional. */
	void (*reset)(struct virtio_dev *d);
	/*
	 * The run the device asked its host for (host->schedule: a timer, a
	 * rate limiter's retry, work left over by a bounded event). Event loop,
	 * dev->lock held. Optional (a device that never schedules).
	 */
	void (*run)(struct virtio_dev *d);
	/*
	 * Snapshots (virtio_dev_save/_restore), optional: a device with no
	 * model state of its own needs neither. save: the device's fields,
	 * after the transport's, in the device's section (dev.lock held, the VM
	 * paused and its host holding the device's work). restore: reads them
	 * back into a device freshly built from the same configuration, after
	 * the transport's state (d->activated as saved), before the guest runs:
	 * checks every value against the device's limits (sr_fail), and for an
	 * activated device brings its host side to what activate set up, without
	 * touching the guest (work waiting on the rings: a run, virtio_dev_schedule).
	 * 0, or a negative errno after logging one line.
	 */
	void (*save)(struct virtio_dev *d, struct state_writer *w);
	int (*restore)(struct virtio_dev *d, struct state_reader *r);
	/*
	 * Optional, before anything is saved: finish the work the host still has
	 * in flight for the guest (an Async drive's requests), so that the
	 * queues are saved with it done. Lock held.
	 */
	void (*quiesce)(struct virtio_dev *d);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const struct virtio_host_ops *host; /* how the device reaches the VM (host.h) */
	void *host_data;		    /* the host's own (the VM: the device's slot) */
	void *opaque;			    /* the device's own state */
	const struct guest_mem *mem;
	pthread_mutex_t lock; /* recursive */

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
	uint64_t cfg_fails;	 /* refused register accesses: width, unknown register, status */
	uint64_t event_fails;	 /* malformed chains (counted by the device) */
	uint64_t queue_notifies; /* notifications passed to ops->queue_notify */
	uint64_t interrupts;
};

/*
 * Zeroes @d (mmio_base and gsi too: place the device after this), connects it
 * to its host (@host, @host_data: from here on the device may call the host,
 * e.g. watch its fds from its own init) and resets it.
 */
void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops,
		     const struct virtio_host_ops *host, void *host_data, void *opaque,
		     const struct guest_mem *mem);
void virtio_dev_destroy(struct virtio_dev *d);

/*
 * The host's services for the device (host.h), each a no-op (0, or -ENOSYS for
 * a watch) when the host does not provide it: a test's host may provide only
 * the interrupt.
 */
void virtio_dev_schedule(struct virtio_dev *d, uint64_t delay_ns);
int virtio_dev_watch(struct virtio_dev *d, struct dev_watch *w, uint32_t events);
int virtio_dev_watch_set(struct virtio_dev *d, struct dev_watch *w, uint32_t events);
void virtio_dev_unwatch(struct virtio_dev *d, struct dev_watch *w);
uint64_t virtio_dev_now_ns(struct virtio_dev *d);

/*
 * Snapshots. virtio_dev_save writes section "virtio" @instance: the device id
 * and queue count (checked on restore), the transport's registers (status,
 * feature selectors, driver features, queue_sel, interrupt status, config
 * generation, activated), every queue (vq_save), then ops->save's fields,
 * after ops->quiesce; last, whether the quiesce raised an interrupt (which
 * came after the irqchip was saved: the restore raises it again).
 * virtio_dev_restore reads it into @d, freshly initialized by its device from
 * the saved configuration: every value is checked (known status bits,
 * activated only with DRIVER_OK, features a subset of those offered, queue
 * sizes and, for a live queue, vq_validate), then ops->restore. -ENOENT (no
 * section), -EINVAL (corrupt or not this device: logged), or ops->restore's
 * error. Neither touches guest memory nor raises an interrupt.
 */
void virtio_dev_save(struct virtio_dev *d, struct state_writer *w, uint32_t instance);
int virtio_dev_restore(struct virtio_dev *d, const struct state_file *f, uint32_t instance);

/*
 * A device's rate limiter in its section (both buckets, whole: a PATCH may
 * have changed them since the configuration was written). The time since each
 * bucket's last refill is saved, not the device clock, which starts again in
 * the restoring process. The restore refuses (sr_fail) a bucket that limits
 * with a zero size or refill time, a budget over its size, a remainder over its
 * refill time.
 */
void virtio_rl_save(struct virtio_dev *d, const struct rate_limiter *rl, struct state_writer *w);
void virtio_rl_restore(struct virtio_dev *d, struct rate_limiter *rl, struct state_reader *r);

/* The bus handler for the device's 4 KiB window; opaque = struct virtio_dev *. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * The guest notified queue @q: the VM glue calls this from the queue's
 * ioeventfd handler (the value the guest wrote to QueueNotify, i.e. the queue
 * index). Takes dev->lock; calls ops->queue_notify only if the device is
 * activated, not in DEVICE_NEEDS_RESET, and @q is a ready queue.
 */
void virtio_dev_notify(struct virtio_dev *d, unsigned int q);

/*
 * For a device's config_read: the bytes [@off, @off + @len) of its
 * configuration space @space (@size bytes) into @data. What lies past the end
 * is left alone: the transport zeroed @data, so it reads 0.
 */
void virtio_config_copy(uint8_t *data, uint32_t len, uint64_t off, const void *space, size_t size);

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

/*
 * Serving a queue: the loop every device runs when its queue is notified
 * (dev->lock held). virtio_queue_serve() pops each chain, hands it to the
 * device's serve(), stops at a budget and signals the used ring once;
 * virtio_queue_pop() is its single step, for a device whose loop has another
 * shape (net's receive: one frame over several chains).
 *
 * virtio_queue_pop(): the next chain of queue @q into @chain. Returns
 *   1        a chain to serve;
 *   0        the ring is empty; notifications are re-armed (vq_enable_notify),
 *            and a chain that raced in with that is popped instead;
 *   -EINVAL  a malformed chain, already given back with length 0 (vq_pop):
 *            counted in d->event_fails and in *@malformed (if not NULL);
 *   -EIO     the ring is corrupt: counted in d->event_fails, and
 *            DEVICE_NEEDS_RESET set (virtio_dev_needs_reset); stop.
 */
int virtio_queue_pop(struct virtio_dev *d, unsigned int q, struct vq_chain *chain,
		     uint64_t *malformed);

/* What a device's serve() did with a well-formed chain. */
enum virtio_chain_done {
	VIRTIO_CHAIN_NEXT,  /* given back (vq_push), or held by the device: next chain */
	VIRTIO_CHAIN_STOP,  /* put back (vq_undo_pop), or the device cannot go on: stop */
	VIRTIO_CHAIN_YIELD, /* served, and this call did enough (a byte bound): as the budget */
};

struct virtio_queue_loop {
	unsigned int q;
	struct vq_chain *chain; /* where chains are popped (too big for the stack) */
	/* Chains popped per call, malformed ones included; 0: no bound. */
	unsigned int budget;
	enum virtio_chain_done (*serve)(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					void *arg);
	/*
	 * Optional, asked before each pop: false ends the call, the chain left
	 * on the ring (vsock's receive: nothing to put in a buffer).
	 */
	bool (*more)(struct virtio_dev *d, void *arg);
	void *arg;	     /* serve()'s and more()'s */
	uint64_t *malformed; /* optional: the device's counter of malformed chains */
	bool caller_signals; /* the device pushes more after the call, then signals itself */
};

enum virtio_queue_end {
	VIRTIO_QUEUE_EMPTY,   /* no chain left (or more() said no) */
	VIRTIO_QUEUE_STOPPED, /* serve() said stop */
	VIRTIO_QUEUE_BUDGET,  /* the budget or a YIELD ended it with chains left: a run is
				 scheduled (delay 0), whose call serves the rest */
	VIRTIO_QUEUE_BROKEN,  /* the ring is corrupt: DEVICE_NEEDS_RESET is set */
};

/*
 * Serves queue @l->q: virtio_queue_pop() until one of the ends above, each
 * well-formed chain to @l->serve. At the budget (or a YIELD) with the ring
 * empty, it ends EMPTY without re-arming notifications (the last pop already
 * asked for the next one, with EVENT_IDX). Then, unless @l->caller_signals,
 * virtio_dev_signal_used() once if anything was given back. Checks nothing of
 * the device's state: the caller knows when its queue may be served. dev->lock held.
 */
enum virtio_queue_end virtio_queue_serve(struct virtio_dev *d, const struct virtio_queue_loop *l);

#endif
