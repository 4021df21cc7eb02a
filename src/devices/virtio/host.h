/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one interface between a virtio device and the VM it lives in: what a
 * device may ask of its host. Four things: raise its interrupt, run again
 * later, watch a host fd, read the clock. Nothing else of the VM is visible to
 * a device (no struct vm, no KVM; the event loop only as the registration a
 * watched fd carries, which is the host's).
 *
 * One VM-side implementation serves every device (vmm/virtio_slots.c, one per
 * virtio slot); the unit tests and the fuzzer bring fakes
 * (tests/unit/virtio_fake_host.h). Because the host owns every fd a device
 * watches and the device's deferred run, the host alone implements pause:
 * while the VM is paused it serves none of them, and serves what arrived
 * meanwhile on resume. A device needs no pause logic of its own.
 *
 * Threads and locking: every call from the host into the device (the
 * transport's ops->queue_notify, ops->run, a watch's fn) happens on the
 * event loop's thread with dev->lock held, so device state touched only there
 * and from register accesses (which the transport also takes dev->lock for)
 * needs no lock of its own. interrupt() may be called from any thread.
 * schedule(), watch(), watch_set() and unwatch() are called with dev->lock
 * held (or before the VM runs: device set-up, teardown), from the event loop's
 * thread or from a vCPU thread in a register access: a driver's DRIVER_OK or
 * reset is where a device starts or stops its timers and fd interest. The
 * host's bookkeeping for a device is guarded by that lock.
 */
#ifndef EMBER_DEVICES_VIRTIO_HOST_H
#define EMBER_DEVICES_VIRTIO_HOST_H

#include "core/event_loop.h"

#include <stdbool.h>
#include <stdint.h>

struct virtio_dev;
struct dev_watch;

/* A watched fd became ready (EPOLLIN, EPOLLOUT, EPOLLHUP, ... in @events). dev->lock held. */
typedef void (*dev_watch_fn)(struct virtio_dev *d, struct dev_watch *w, uint32_t events);

/*
 * A host fd the device watches (a TAP, a socket, an io_uring eventfd),
 * embedded in the device's own state. The device sets fd, fn and opaque
 * before watch(); the rest is the host's. Its memory must stay valid until
 * the device is destroyed, not only until unwatch(): an event the host
 * fetched before the unwatch may still be delivered in the same turn of its
 * loop (the host drops it then), and a watch may be watched again.
 */
struct dev_watch {
	int fd;
	dev_watch_fn fn;
	void *opaque;	 /* the device's (a connection, ...) */
	uint32_t events; /* the interest the device asked for last (0: none for now) */
	/* The host's bookkeeping. */
	struct dev_watch *next;
	struct ev_handler h; /* the VM's registration on its event loop */
	void *host_priv;
	bool watched; /* between watch() and unwatch() */
	bool on_loop;
};

struct virtio_host_ops {
	/* Raise the device's interrupt (the irqfd). Any thread; must not block. */
	void (*interrupt)(struct virtio_dev *d);
	/*
	 * Run the device's ops->run in @delay_ns nanoseconds (0: as soon as the
	 * event loop gets to it). One pending run per device: the earliest
	 * deadline asked for wins, and a run serves everything that is due
	 * (rate-limiter retries, work left over by a bounded event, timers).
	 * Nothing is pending once the run starts: a device that still has a
	 * later deadline asks again. A run may come early or for nothing (a
	 * device checks its own deadlines).
	 */
	void (*schedule)(struct virtio_dev *d, uint64_t delay_ns);
	/*
	 * Watch @w->fd for @events (0: registered, not polled yet; EPOLLERR and
	 * EPOLLHUP come anyway, as epoll reports them). 0 or -errno.
	 * watch_set() changes the interest of a watched fd; unwatch() forgets
	 * it (the device still owns and closes the fd).
	 */
	int (*watch)(struct virtio_dev *d, struct dev_watch *w, uint32_t events);
	int (*watch_set)(struct virtio_dev *d, struct dev_watch *w, uint32_t events);
	void (*unwatch)(struct virtio_dev *d, struct dev_watch *w);
	/*
	 * The device clock, in nanoseconds: CLOCK_MONOTONIC less the time the VM
	 * spent paused, so that deadlines and token buckets do not run while the
	 * guest cannot act. Fakes move it by hand.
	 */
	uint64_t (*now_ns)(struct virtio_dev *d);
};

#endif
