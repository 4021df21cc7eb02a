// SPDX-License-Identifier: Apache-2.0
/* The VM's drives: virtio-blk devices wired to the VM and its event loop. See drives.h. */
#include "vmm/drives.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct vm_drive {
	struct virtio_block blk; /* first: the device's opaque is &blk */
	struct vm *vm;
	struct virtio_slot *slot;
	struct ev_handler uring_h; /* Async: the io_uring completion eventfd */
	bool uring_watched;
	uint64_t deadline_ns; /* when the armed timer fires (CLOCK_MONOTONIC) */
};

static struct vm_drive *to_drive(struct virtio_block *b)
{
	return b->defer_opaque;
}

/* The device asks to be run again after @delay_ns: one timer, the earliest deadline wins. */
static void drive_defer(struct virtio_block *b, uint64_t delay_ns)
{
	struct vm_drive *d = to_drive(b);
	struct virtio_slot *s = d->slot;
	uint64_t when = rl_now_ns() + delay_ns;
	struct itimerspec its = {0};

	if (s->timer_h.fd < 0)
		return;
	if (s->timer_armed && d->deadline_ns <= when)
		return;
	if (!delay_ns)
		delay_ns = 1; /* it_value 0 would disarm */
	its.it_value.tv_sec = (time_t)(delay_ns / 1000000000ULL);
	its.it_value.tv_nsec = (long)(delay_ns % 1000000000ULL);
	if (timerfd_settime(s->timer_h.fd, 0, &its, NULL)) {
		log_error("drive %s: timerfd_settime: %s", b->drive_id, strerror(errno));
		return;
	}
	s->timer_armed = true;
	d->deadline_ns = when;
}

/* The slot's timerfd: the limiter has tokens again, or the last run stopped at its bound. */
static void drive_timer(struct ev_handler *h, uint32_t events)
{
	struct virtio_slot *s = h->opaque;
	struct vm_drive *d = (struct vm_drive *)s->dev->opaque;
	uint64_t expirations;

	(void)events;
	if (read(h->fd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	s->timer_armed = false;
	block_run(&d->blk);
}

/* Async: io_uring posted completions. */
static void drive_uring_ready(struct ev_handler *h, uint32_t events)
{
	struct vm_drive *d = h->opaque;
	uint64_t n;

	(void)events;
	if (read(h->fd, &n, sizeof(n)) != sizeof(n))
		return;
	/*
	 * Paused: no device work. The slot's timer is held by vm_pause; arming it
	 * brings the completions in right after the resume.
	 */
	if (d->vm->pause.paused) {
		drive_defer(&d->blk, 0);
		return;
	}
	block_run(&d->blk);
}

struct virtio_block *vm_find_drive(struct vm *vm, const char *drive_id)
{
	for (unsigned int i = 0; i < vm->nr_drives; i++)
		if (!strcmp(vm->drives[i]->blk.drive_id, drive_id))
			return &vm->drives[i]->blk;
	return NULL;
}

/* Firecracker's root device arguments. */
static int add_root_args(struct vm *vm, const struct drive_config *cfg)
{
	char arg[128];
	int ret;

	if (cfg->partuuid) {
		for (const char *p = cfg->partuuid; *p; p++) {
			if (!(*p >= '0' && *p <= '9') && !(*p >= 'a' && *p <= 'f') &&
			    !(*p >= 'A' && *p <= 'F') && *p != '-') {
				log_error("drive %s: partuuid \"%s\" is not a partition UUID",
					  cfg->drive_id, cfg->partuuid);
				return -EINVAL;
			}
		}
		if (snprintf(arg, sizeof(arg), "root=PARTUUID=%s", cfg->partuuid) >=
		    (int)sizeof(arg)) {
			log_error("drive %s: partuuid is too long", cfg->drive_id);
			return -EINVAL;
		}
	} else {
		snprintf(arg, sizeof(arg), "root=/dev/vda");
	}
	ret = cmdline_append(&vm->cmdline, arg);
	if (!ret)
		ret = cmdline_append(&vm->cmdline, cfg->is_read_only ? "ro" : "rw");
	if (ret)
		log_error("drive %s: the kernel command line has no room for the root device",
			  cfg->drive_id);
	return ret;
}

static void drive_free(struct vm_drive *d)
{
	struct virtio_slot *s = d->slot;

	if (d->uring_watched)
		ev_del(d->vm->loop, &d->uring_h);
	d->uring_watched = false;
	/* vm_virtio_disconnect() normally closed it already. */
	if (s && s->timer_h.fd >= 0) {
		ev_del(d->vm->loop, &s->timer_h);
		close(s->timer_h.fd);
		s->timer_h.fd = -1;
		s->timer_armed = false;
	}
	virtio_block_destroy(&d->blk);
	free(d);
}

int vm_add_drive(struct vm *vm, const struct drive_config *cfg)
{
	const char *id = cfg->drive_id ? cfg->drive_id : "?";
	struct vm_drive *d;
	struct virtio_slot *s;
	int ret;

	if (cfg->drive_id && vm_find_drive(vm, cfg->drive_id)) {
		log_error("drive %s: a drive with this drive_id already exists", id);
		return -EEXIST;
	}
	if (cfg->is_root_device && vm->nr_drives) {
		log_error("drive %s: the root device must be the first drive (it is /dev/vda)", id);
		return -EINVAL;
	}
	if (vm->nr_drives == VM_MAX_VIRTIO) {
		log_error("drive %s: too many drives", id);
		return -ENOSPC;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		log_error("drive %s: out of memory", id);
		return -ENOMEM;
	}
	d->vm = vm;
	d->uring_h.fd = -1;
	ret = virtio_block_init(&d->blk, cfg, vm_virtio_host_ops(), &vm->mem);
	if (ret)
		goto fail;
	ret = vm_virtio_place(vm, &d->blk.dev);
	if (ret)
		goto fail;
	s = d->blk.dev.host_data;
	d->slot = s;
	vm->drives[vm->nr_drives++] = d; /* from here on vm_remove_drives() frees it */

	s->timer_h = (struct ev_handler){
	    timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK), drive_timer, s};
	if (s->timer_h.fd < 0) {
		ret = -errno;
		log_error("drive %s: timerfd_create: %s", id, strerror(errno));
		return ret;
	}
	ret = ev_add(vm->loop, &s->timer_h, EPOLLIN);
	if (ret) {
		log_error("drive %s: watching its timer: %s", id, strerror(-ret));
		return ret;
	}
	d->blk.defer = drive_defer;
	d->blk.defer_opaque = d;

	if (block_uring_fd(&d->blk) >= 0) {
		d->uring_h = (struct ev_handler){block_uring_fd(&d->blk), drive_uring_ready, d};
		ret = ev_add(vm->loop, &d->uring_h, EPOLLIN);
		if (ret) {
			log_error("drive %s: watching its io_uring eventfd: %s", id,
				  strerror(-ret));
			return ret;
		}
		d->uring_watched = true;
	}
	if (cfg->is_root_device)
		return add_root_args(vm, cfg);
	return 0;
fail:
	drive_free(d);
	return ret;
}

int vm_update_drive(struct vm *vm, const char *drive_id, const char *path_on_host,
		    const struct rate_limiter_config *rl)
{
	struct virtio_block *b = vm_find_drive(vm, drive_id);
	int ret = 0;

	if (!b) {
		log_error("drive %s: no such drive", drive_id);
		return -ENOENT;
	}
	if (path_on_host)
		ret = block_swap_file(b, path_on_host);
	if (!ret && rl)
		block_set_rate_limiter(b, rl);
	return ret;
}

void vm_remove_drives(struct vm *vm)
{
	while (vm->nr_drives) {
		struct vm_drive *d = vm->drives[--vm->nr_drives];

		vm->drives[vm->nr_drives] = NULL;
		drive_free(d);
	}
}

/* Firecracker's BlockDeviceMetrics names, from the transport's and the device's counters. */
static void drive_metrics(const struct virtio_block *b, json_t *obj, bool sum)
{
	const struct block_metrics *m = &b->m;
	const struct {
		const char *name;
		uint64_t v;
	} c[] = {
	    {"activate_fails", b->dev.activate_fails},
	    {"cfg_fails", b->dev.cfg_fails},
	    {"event_fails", b->dev.event_fails},
	    {"execute_fails", m->execute_fails},
	    {"invalid_reqs_count", m->invalid_reqs_count},
	    {"flush_count", m->flush_count},
	    {"queue_event_count", m->queue_event_count},
	    {"rate_limiter_event_count", m->rate_limiter_event_count},
	    {"update_count", m->update_count},
	    {"update_fails", m->update_fails},
	    {"read_bytes", m->read_bytes},
	    {"write_bytes", m->write_bytes},
	    {"read_count", m->read_count},
	    {"write_count", m->write_count},
	    {"rate_limiter_throttled_events", m->rate_limiter_throttled_events},
	    {"io_engine_throttled_events", m->io_engine_throttled_events},
	    {"remaining_reqs_count", m->remaining_reqs_count},
	    {"no_avail_buffer", m->no_avail_buffer},
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		json_int_t v = (json_int_t)c[i].v;

		if (sum)
			v += json_integer_value(json_object_get(obj, c[i].name));
		json_object_set_new(obj, c[i].name, json_integer(v));
	}
}

void vm_drives_metrics(struct vm *vm, json_t *root)
{
	json_t *total = json_object();

	if (!total)
		return;
	for (unsigned int i = 0; i < vm->nr_drives; i++) {
		struct virtio_block *b = &vm->drives[i]->blk;
		json_t *obj;
		char key[128];

		obj = json_object();
		if (!obj)
			continue;
		snprintf(key, sizeof(key), "block_%s", b->drive_id);
		pthread_mutex_lock(&b->dev.lock);
		drive_metrics(b, obj, false);
		drive_metrics(b, total, true);
		pthread_mutex_unlock(&b->dev.lock);
		json_object_set_new(root, key, obj);
	}
	json_object_set_new(root, "block", total);
}
