/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-balloon (virtio 1.x, section 5.5, "traditional memory balloon"):
 * device id 5, as Firecracker offers it. The host sets a target (num_pages, in
 * 4 KiB pages); the guest driver gives pages to the balloon (inflate) and
 * takes them back (deflate), and keeps `actual` up to date.
 *
 * Queues, numbered densely over those that exist (Linux's virtio_mmio
 * vm_find_vqs skips absent queues without using an index, and Firecracker and
 * other VMMs number them the same way; the spec lists inflateq 0, deflateq 1,
 * statsq 2, free_page_vq 3, reporting_vq 4, each present only with its
 * feature):
 *	0	inflateq
 *	1	deflateq
 *	2	statsq		with VIRTIO_BALLOON_F_STATS_VQ
 *	2 or 3	free_page_vq	with VIRTIO_BALLOON_F_FREE_PAGE_HINT (3 when statsq exists)
 *	2 to 4	reporting_vq	with VIRTIO_BALLOON_F_REPORTING (after those before it)
 * The indices follow the features the driver *negotiated*: a driver that
 * declines STATS_VQ finds the next queue at 2.
 *
 * Features offered: DEFLATE_ON_OOM (config), STATS_VQ (stats_polling_interval_s
 * > 0), FREE_PAGE_HINT (free_page_hinting), REPORTING (free_page_reporting);
 * VERSION_1, EVENT_IDX and INDIRECT_DESC come from the transport. Not offered:
 * MUST_TELL_HOST (deflate needs nothing from the host: a page comes back on the
 * guest's next touch), PAGE_POISON.
 *
 * Free page hinting (balloon_hint.c), as Firecracker 1.14 runs it: the host
 * starts a run with a new command id (>= 2) in free_page_hint_cmd_id; the
 * driver echoes it on free_page_vq (a device-readable le32), then posts its
 * free pages there (device-writable buffers), whose host pages the device drops
 * while the run is the driver's current one, and ends with STOP (0). The host
 * stops a run with DONE (1), after which the driver frees the pages it held;
 * with acknowledge_on_stop (the default) the device answers the driver's STOP
 * with DONE itself.
 *
 * Configuration space (16 bytes, little-endian): num_pages (device-written),
 * actual (the only field the driver may write: any width, inside bytes 4..7),
 * free_page_hint_cmd_id and poison_val (read as 0: neither feature is offered).
 * Any other write is ignored and counted in dev.cfg_fails.
 *
 * The guest is hostile:
 *  - inflate: a chain is device-readable only, a multiple of 4 bytes and at
 *    most VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN PFNs; otherwise it is given back
 *    untouched (len 0) and counted in dev.event_fails. Every PFN must name a
 *    4 KiB page of guest RAM (gm_ptr); others are skipped and counted in
 *    inflate_bad_pfns. Valid PFNs are sorted, de-duplicated and coalesced into
 *    runs contiguous in both guest and host addresses: one madvise(MADV_DONTNEED)
 *    per run.
 *  - free page reporting: every buffer of a chain (Linux posts them
 *    device-writable; readable ones are accepted too) is a free range of guest
 *    RAM (checked by the virtqueue library) whose whole host pages are dropped.
 *  - stats: a buffer that is not a whole number of 10-byte entries, is longer
 *    than VIRTIO_BALLOON_MAX_STATS entries or has writable parts is not parsed
 *    (stats_update_fails) but still held, so the protocol goes on; unknown tags
 *    are ignored (spec). A second buffer while one is held gives the older one
 *    back.
 *  - work per event: at most VIRTIO_BALLOON_CHAINS_PER_EVENT chains per queue
 *    notification; if more wait, the device asks its host for a run (0 ns)
 *    that serves the queue again as a notification would, so the loop serves
 *    other handlers in between.
 *  - a corrupt ring (vq_pop -EIO) sets DEVICE_NEEDS_RESET.
 *
 * Statistics: every stats_polling_interval_s seconds of the device clock, from
 * DRIVER_OK on, the held stats buffer goes back to the driver (a deadline the
 * device keeps; its run serves it and asks for the next).
 *
 * Threads: queue work on the event loop (dev.lock held), register accesses on
 * vCPU threads, the runtime operations below from the API (event loop): each
 * takes dev.lock.
 */
#ifndef EMBER_DEVICES_VIRTIO_BALLOON_H
#define EMBER_DEVICES_VIRTIO_BALLOON_H

#include "devices/virtio/virtio_mmio.h"

#include <stdbool.h>
#include <stdint.h>

/* Feature bits (virtio 1.x, 5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ	1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON	4
#define VIRTIO_BALLOON_F_REPORTING	5

/* Free page hinting's command ids (free_page_hint_cmd_id). */
#define VIRTIO_BALLOON_CMD_ID_STOP  0
#define VIRTIO_BALLOON_CMD_ID_DONE  1
#define VIRTIO_BALLOON_CMD_ID_FIRST 2

/* Configuration space offsets. */
#define VIRTIO_BALLOON_CFG_NUM_PAGES  0
#define VIRTIO_BALLOON_CFG_ACTUAL     4
#define VIRTIO_BALLOON_CFG_HINT_CMD   8
#define VIRTIO_BALLOON_CFG_POISON_VAL 12
#define VIRTIO_BALLOON_CFG_SIZE	      16

/* Statistics tags (virtio 1.x 5.5.6.3, and Linux's later ones). */
enum virtio_balloon_stat_tag {
	VIRTIO_BALLOON_S_SWAP_IN = 0,
	VIRTIO_BALLOON_S_SWAP_OUT = 1,
	VIRTIO_BALLOON_S_MAJFLT = 2,
	VIRTIO_BALLOON_S_MINFLT = 3,
	VIRTIO_BALLOON_S_MEMFREE = 4,
	VIRTIO_BALLOON_S_MEMTOT = 5,
	VIRTIO_BALLOON_S_AVAIL = 6,
	VIRTIO_BALLOON_S_CACHES = 7,
	VIRTIO_BALLOON_S_HTLB_PGALLOC = 8,
	VIRTIO_BALLOON_S_HTLB_PGFAIL = 9,
	VIRTIO_BALLOON_S_OOM_KILL = 10,
	VIRTIO_BALLOON_S_ALLOC_STALL = 11,
	VIRTIO_BALLOON_S_ASYNC_SCAN = 12,
	VIRTIO_BALLOON_S_DIRECT_SCAN = 13,
	VIRTIO_BALLOON_S_ASYNC_RECLAIM = 14,
	VIRTIO_BALLOON_S_DIRECT_RECLAIM = 15,
	VIRTIO_BALLOON_S_NR = 16,
};
#define VIRTIO_BALLOON_STAT_SIZE 10 /* le16 tag + le64 value, packed */

#define VIRTIO_BALLOON_PAGE_SHIFT	  12 /* PFNs are 4 KiB frames, whatever the guest's pages */
#define VIRTIO_BALLOON_PAGES_PER_MIB	  256
#define VIRTIO_BALLOON_QUEUE_SIZE	  256
#define VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN 256  /* Linux sends at most 256 per request */
#define VIRTIO_BALLOON_PFN_BATCH	  2048 /* PFNs sorted and coalesced together */
#define VIRTIO_BALLOON_CHAINS_PER_EVENT	  64
#define VIRTIO_BALLOON_MAX_STATS	  64	/* entries per stats buffer (Linux sends 16) */
#define VIRTIO_BALLOON_MAX_STATS_INTERVAL 65535 /* Firecracker's u16 */
#define VIRTIO_BALLOON_NO_QUEUE		  0xffffffffu

/* Firecracker's `Balloon` (swagger): the device's configuration. */
struct balloon_config {
	uint32_t amount_mib;		   /* target size (required) */
	bool deflate_on_oom;		   /* required */
	uint32_t stats_polling_interval_s; /* 0: no statistics (default) */
	bool free_page_hinting;		   /* VIRTIO_BALLOON_F_FREE_PAGE_HINT */
	bool free_page_reporting;	   /* VIRTIO_BALLOON_F_REPORTING */
};

/* Firecracker's `BalloonStats`: the last statistics the driver gave. */
struct balloon_stats {
	uint32_t target_pages, actual_pages;
	uint32_t target_mib, actual_mib;
	uint32_t present; /* bit N: tag N was in the last well-formed buffer */
	uint64_t val[VIRTIO_BALLOON_S_NR];
	uint64_t updated_mono_ns; /* CLOCK_MONOTONIC of that buffer; 0: none yet */
	uint64_t updated_real_ns; /* CLOCK_REALTIME of that buffer; 0: none yet */
};

/* Firecracker's BalloonDeviceMetrics (virtio_mmio.h: T, C). */
#define VIRTIO_BALLOON_METRICS(T, C)                                         \
	T(activate_fails, activate_fails)                                    \
	C(inflate_count)       /* inflate queue events */                    \
	C(stats_updates_count) /* stats buffers parsed */                    \
	C(stats_update_fails)  /* stats buffers refused (malformed) */       \
	C(deflate_count)       /* deflate queue events */                    \
	T(event_fails, event_fails)                                          \
	C(free_page_report_count) /* reporting queue events */               \
	C(free_page_report_freed) /* bytes dropped by free page reporting */ \
	C(free_page_report_fails) /* reporting chains or ranges refused */   \
	C(free_page_hint_count)	  /* hinted ranges of the current run */     \
	C(free_page_hint_freed)	  /* bytes dropped by free page hinting */   \
	C(free_page_hint_fails)	  /* hinted ranges madvise refused */        \
	T(cfg_fails, cfg_fails)

struct virtio_balloon {
	struct virtio_dev dev;	   /* first: dev.opaque points back here */
	struct virtio_dev_ops ops; /* per device: features and queues follow the config */
	const struct guest_mem *mem;
	size_t host_page_size; /* madvise granularity: only whole host pages are dropped */

	/* Configuration space. */
	uint32_t num_pages; /* target, 4 KiB pages */
	uint32_t actual;    /* what the driver says the balloon holds */

	bool stats_enabled;	 /* STATS_VQ offered (interval > 0 at creation) */
	uint32_t stats_interval; /* seconds */
	bool reporting_enabled;	 /* REPORTING offered */
	bool hinting_enabled;	 /* FREE_PAGE_HINT offered */

	/* Negotiated at DRIVER_OK (VIRTIO_BALLOON_NO_QUEUE: absent). */
	unsigned int stats_q;
	unsigned int reporting_q;
	unsigned int hint_q;

	/* Free page hinting (balloon_hint.c). */
	uint32_t hint_cmd;     /* the host's command: free_page_hint_cmd_id */
	uint32_t hint_run;     /* the last run's id (0: none yet): ids only grow */
	uint32_t guest_cmd;    /* the last command id the driver sent */
	bool guest_cmd_seen;   /* ... if it sent one */
	bool hint_ack_on_stop; /* the run's acknowledge_on_stop */

	/* The stats buffer the device holds until the next poll. */
	bool stats_held;
	uint16_t stats_head;
	struct balloon_stats stats;

	/*
	 * What the device's run (host->schedule) has to do: the statistics
	 * poll when the device clock reaches stats_deadline (0: none armed),
	 * and the queues in `requeue` (bit q), which had more work than one
	 * event does.
	 */
	uint64_t stats_deadline;
	uint32_t requeue;

	/* Scratch (too big for the stack). */
	struct vq_chain chain;
	uint32_t pfns[VIRTIO_BALLOON_PFN_BATCH];
	unsigned int nr_pfns;

	/* Counters: Firecracker's balloon metrics, then ember's own. */
	VIRTIO_BALLOON_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
	uint64_t inflated_pages;   /* PFNs dropped (after de-duplication) */
	uint64_t deflated_pages;   /* PFNs the driver took back */
	uint64_t inflate_bad_pfns; /* PFNs outside guest RAM, skipped */
	uint64_t madvise_calls;	   /* coalesced ranges given to madvise */
	uint64_t madvise_fails;	   /* madvise errors */
	uint64_t stats_requests;   /* held stats buffers given back to ask for more */
	uint64_t stats_extra_bufs; /* stats buffers given back unused (driver sent two) */
	uint64_t requeued;	   /* events that stopped at the per-event bound */
	uint64_t hint_chains;	   /* free_page_vq chains served */
};

/*
 * Checks @cfg against the guest's memory size (MiB), Firecracker's rules:
 * amount_mib within guest memory, stats_polling_interval_s <= 65535. NULL if
 * fine, else why, e.g. "amount_mib: Amount of pages requested is too large.";
 * the caller prefixes the key path ("balloon.").
 */
const char *virtio_balloon_config_error(const struct balloon_config *cfg, uint64_t mem_size_mib);

/*
 * Sets up the device in the reset state from @cfg (features, queues, target);
 * the VM glue then places it. -EINVAL (logged) if virtio_balloon_config_error()
 * refuses @cfg.
 */
int virtio_balloon_init(struct virtio_balloon *b, const struct balloon_config *cfg,
			const struct virtio_host_ops *host, void *host_data,
			const struct guest_mem *mem);
void virtio_balloon_destroy(struct virtio_balloon *b);

/* A statistics poll now: give the held buffer back to ask for fresh statistics. */
void virtio_balloon_stats_tick(struct virtio_balloon *b);

/*
 * Runtime operations (the API). Each takes dev.lock. On failure they log one
 * error line (the API's fault message) and return a negative errno.
 *
 * balloon_set_target: new target; num_pages = amount_mib * 256, config
 * generation bumped, and a configuration interrupt once the driver is up.
 * -EINVAL if amount_mib is more than guest memory.
 */
int balloon_set_target(struct virtio_balloon *b, uint32_t amount_mib);
uint32_t balloon_target_mib(struct virtio_balloon *b);
/* What the driver says the balloon holds, in MiB (actual / 256). */
uint32_t balloon_actual_mib(struct virtio_balloon *b);
/*
 * The last statistics with their timestamp, and the target and actual sizes.
 * -ENOTSUP if statistics were not enabled at creation (Firecracker: 400).
 */
int balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out);
/*
 * New polling interval: the held buffer goes back at once (an immediate
 * update, as Firecracker does) and the timer re-arms. Statistics cannot be
 * turned on or off after creation (the swagger's rule): 0 when enabled, or
 * non-zero when disabled, is -EINVAL; so is more than 65535.
 */
int balloon_set_stats_interval(struct virtio_balloon *b, uint32_t seconds);
uint32_t balloon_stats_interval(struct virtio_balloon *b);

/*
 * Free page hinting (PATCH /balloon/hinting/start and stop, GET status): start a run (a new command
 * id; @ack_on_stop: answer the driver's STOP with DONE), stop it (DONE), and
 * the last commands of both sides (*has_guest false: the driver sent none).
 * -ENOTSUP (logged) when free_page_hinting was not configured. dev.lock taken.
 */
int balloon_hint_start(struct virtio_balloon *b, bool ack_on_stop);
int balloon_hint_stop(struct virtio_balloon *b);
int balloon_hint_status(struct virtio_balloon *b, uint32_t *host_cmd, uint32_t *guest_cmd,
			bool *has_guest);

/* balloon.c's, for balloon_hint.c: drop whole host pages; serve a queue with the budget. */
uint64_t virtio_balloon_drop_range(struct virtio_balloon *b, uint8_t *hva, uint64_t len);
void virtio_balloon_serve(struct virtio_balloon *b, struct virtio_queue_loop l);
/* The free page queue's chains (dev.lock held). */
void virtio_balloon_process_hints(struct virtio_balloon *b, unsigned int q);

#endif
