/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-pmem (virtio 1.2, section 5.19): device id 27. A host file mapped
 * into the guest's physical address space above RAM (the guest reads and
 * writes it directly, with DAX even without its page cache); the one queue
 * carries flush requests, which the device honours with msync + fsync, so what
 * the guest flushed is on the host's disk.
 *
 * The device opens and maps the file (MAP_SHARED; PROT_READ alone for a
 * read-only device). The mapping is the file's size rounded up to
 * VIRTIO_PMEM_ALIGN: the tail past the file's end is anonymous memory laid
 * over it (Firecracker does the same), which the guest may use but is never
 * written to the file. The VM gives the mapping a KVM memory slot of its own
 * (read-only for a read-only device: the guest's writes then exit as MMIO and
 * are dropped) and sets gpa before the guest runs; the configuration space
 * reports {start = gpa, size}.
 *
 * Requests: a device-readable le32 type (0: FLUSH) and a device-writable le32
 * result (0: done, 1: the host's msync or fsync failed, or an unknown type).
 * A chain without those is failed with length 0 and counted in dev.event_fails.
 * Rate limiter (Firecracker's pmem rate_limiter): one op per flush request.
 */
#ifndef EMBER_DEVICES_VIRTIO_PMEM_H
#define EMBER_DEVICES_VIRTIO_PMEM_H

#include "devices/virtio/virtio_mmio.h"
#include "util/rate_limiter.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_ID_PMEM	       27
#define VIRTIO_PMEM_QUEUE_SIZE 256
#define VIRTIO_PMEM_ALIGN      (2ULL << 20) /* the guest region's size and alignment */
#define VIRTIO_PMEM_REQ_FLUSH  0
#define VIRTIO_PMEM_RESP_OK    0
#define VIRTIO_PMEM_RESP_EIO   1

/* Firecracker's pmem metrics (virtio_mmio.h: T, C). */
#define VIRTIO_PMEM_METRICS(T, C)                                               \
	T(activate_fails, activate_fails)                                       \
	T(cfg_fails, cfg_fails)                                                 \
	T(event_fails, event_fails)                                             \
	C(queue_event_count) /* queue notifications handled */                  \
	C(flush_count)	     /* flush requests served */                        \
	C(flush_fails)	     /* flushes the host failed (msync/fsync errors) */ \
	C(rate_limiter_throttled_events)

/* Firecracker's Pmem object (config/ parses it). */
struct pmem_config {
	char *id;
	char *path_on_host;
	bool root_device;
	bool read_only;
	struct rate_limiter_config rate_limiter;
};

struct virtio_pmem {
	struct virtio_dev dev; /* first: dev.opaque points back here */

	int fd;
	bool read_only;
	uint8_t *hva;	    /* the mapping: map_size bytes */
	uint64_t map_size;  /* file_size rounded up to VIRTIO_PMEM_ALIGN */
	uint64_t file_size; /* the file's bytes at the start of the mapping */
	uint64_t gpa;	    /* where the guest sees it (set by the VM before it runs) */

	struct rate_limiter rl;
	struct vq_chain chain;

	VIRTIO_PMEM_METRICS(VIRTIO_METRIC_SKIP, VIRTIO_METRIC_COUNTER)
};

/*
 * Opens @path (read-only or read-write) and maps it; the device in the reset
 * state. 0, or -errno with @err (256 bytes) saying what failed: the file
 * cannot be opened, is empty, or cannot be mapped.
 */
int virtio_pmem_init(struct virtio_pmem *p, const char *path, bool read_only,
		     const struct rate_limiter_config *rl, const struct virtio_host_ops *host,
		     void *host_data, const struct guest_mem *mem, char err[256]);
/* Unmaps and closes; safe after a failed init. */
void virtio_pmem_destroy(struct virtio_pmem *p);
/* A new rate limiter (PATCH /pmem after boot). dev.lock taken. */
void virtio_pmem_set_limiter(struct virtio_pmem *p, const struct rate_limiter_config *rl);
/* Serves the flush queue (queue_notify and run). dev.lock held. */
void virtio_pmem_process(struct virtio_pmem *p);

#endif
