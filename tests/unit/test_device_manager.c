// SPDX-License-Identifier: Apache-2.0
/*
 * The VM side of the device interface without KVM (vmm/virtio_slots.c,
 * vmm/device_table.c): a struct vm with a real event loop and no vCPUs (as
 * test_pause.c fakes them), devices placed from a configuration through the
 * device table, and a test device in a slot to watch the host ops at work:
 * schedule (the earliest deadline wins), watch / watch_set / unwatch, pause
 * holding every watch and the deferred run and releasing them with the
 * interest the device asked for last, and the device clock standing still
 * while the VM is paused. The irqfd and ioeventfds, which need KVM, are plain
 * eventfds where a test needs them.
 */
#include "arch/x86_64/layout.h"
#include "test.h"
#include "vmm/balloon.h"
#include "vmm/device_table.h"
#include "vmm/drives.h"
#include "vmm/entropy.h"
#include "vmm/network_interfaces.h"
#include "vmm/vm.h"
#include "vmm/vsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000ULL

static struct vm *vm;
static struct event_loop loop;
static struct logger quiet;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* A VM without KVM or vCPUs: its loop, pause state, command line and (small) memory. */
static void vm_setup(void)
{
	quiet = (struct logger){.level = LOG_OFF};
	log_set(&quiet);
	CHECK_EQ(ev_init(&loop), 0);
	vm = calloc(1, sizeof(*vm));
	CHECK(vm != NULL);
	atomic_init(&vm->exit_code, -1);
	atomic_init(&vm->stopping, false);
	vm->loop = &loop;
	vm->console.in_fd = -1;
	vm->kvm_fd = vm->vm_fd = -1;
	vm_pause_init(vm);
	CHECK_EQ(cmdline_init(&vm->cmdline, "console=ttyS0"), 0);
	CHECK_EQ(
	    guest_mem_init(&vm->mem, 16 << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END, false),
	    0);
}

/* vm_destroy's device half: the slots' fds, then the devices. */
static void vm_teardown(void)
{
	vm_virtio_disconnect(vm);
	vm_devices_remove(vm);
	CHECK_EQ(vm->nr_virtio, 0);
	guest_mem_destroy(&vm->mem);
	vm_pause_destroy(vm);
	free(vm);
	vm = NULL;
	ev_destroy(&loop);
}

/* One turn of the VM's event loop: waits up to @ms, runs the handlers of what is ready. */
static int pump(int ms)
{
	struct epoll_event evs[16];
	int n = epoll_wait(loop.epfd, evs, 16, ms);

	for (int i = 0; i < n; i++) {
		struct ev_handler *h = evs[i].data.ptr;

		h->fn(h, evs[i].events);
	}
	return n < 0 ? 0 : n;
}

/* --- placement from the configuration, through the device table --- */

static void temp_file(char *path, size_t len, size_t bytes)
{
	int fd;

	snprintf(path, len, "/tmp/ember-devmgr.XXXXXX");
	fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)bytes), 0);
	close(fd);
}

TEST(placement_follows_firecrackers_order)
{
	char root[64], data[64], dir[40], uds[64], want[64];
	struct drive_config drives[2] = {
	    {.drive_id = "rootfs", .path_on_host = root, .is_root_device = true},
	    {.drive_id = "data", .path_on_host = data},
	};
	const struct vm_device_type *order[] = {&drives_type, &drives_type, &vsock_type,
						&balloon_type, &entropy_type};
	const char *at;

	vm_setup();
	temp_file(root, sizeof(root), 64 << 10);
	temp_file(data, sizeof(data), 64 << 10);
	snprintf(dir, sizeof(dir), "/tmp/ember-devmgr.XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	snprintf(uds, sizeof(uds), "%s/v.sock", dir);
	/* The configuration's objects, in any order: the table decides the slots. */
	vm->cfg.entropy.present = true;
	vm->cfg.has_balloon = true;
	vm->cfg.balloon = (struct balloon_config){.amount_mib = 1};
	vm->cfg.vsock = (struct vsock_config){.present = true, .guest_cid = 3, .uds_path = uds};
	vm->cfg.drives = drives;
	vm->cfg.nr_drives = 2;

	CHECK_EQ(vm_devices_add(vm), 0);
	CHECK_EQ(vm->nr_virtio, 5);
	at = vm->cmdline.buf;
	for (unsigned int i = 0; i < 5; i++) {
		struct virtio_slot *s = &vm->virtio[i];

		CHECK(s->type == order[i]);
		CHECK_EQ(s->index, i);
		CHECK(s->dev != NULL && s->state != NULL);
		CHECK(s->dev->host == vm_virtio_host_ops() && s->dev->host_data == s);
		CHECK_EQ(s->dev->mmio_base, LAYOUT_VIRTIO_MMIO_START + i * 0x1000ULL);
		CHECK_EQ(s->dev->gsi, 5 + i);
		/* The command line lists them in slot order. */
		snprintf(want, sizeof(want), "virtio_mmio.device=4K@0x%llx:%u",
			 (unsigned long long)s->dev->mmio_base, s->dev->gsi);
		at = strstr(at, want);
		CHECK(at != NULL);
	}
	CHECK_CONTAINS(vm->cmdline.buf, "root=/dev/vda rw");
	CHECK_EQ(vm->virtio[0].dev->ops->device_id, VIRTIO_ID_BLOCK);
	CHECK_EQ(vm->virtio[2].dev->ops->device_id, VIRTIO_ID_VSOCK);
	CHECK_EQ(vm->virtio[3].dev->ops->device_id, VIRTIO_ID_BALLOON);
	CHECK_EQ(vm->virtio[4].dev->ops->device_id, VIRTIO_ID_RNG);

	/* Found by id (the one-per-VM types without one). */
	CHECK(drives_find(vm, "rootfs") == &vm->virtio[0]);
	CHECK(drives_find(vm, "data") == &vm->virtio[1]);
	CHECK(drives_find(vm, "nope") == NULL);
	CHECK(network_interfaces_find(vm, "eth0") == NULL);
	CHECK(vsock_find(vm, NULL) == &vm->virtio[2]);
	CHECK(balloon_find(vm, NULL) == &vm->virtio[3]);
	CHECK(entropy_find(vm, NULL) == &vm->virtio[4]);
	/* A second of a one-per-VM device is refused, without taking a slot. */
	CHECK_EQ(entropy_add(vm), -EEXIST);
	CHECK_EQ(vm->nr_virtio, 5);

	vm->cfg.drives = NULL; /* the test's, not the VM's to free */
	vm_teardown();
	CHECK(access(uds, F_OK) != 0); /* vsock's removal took its socket */
	unlink(root);
	unlink(data);
	rmdir(dir);
}

TEST(metrics_come_from_the_table)
{
	char root[64];
	struct drive_config drives[1] = {{.drive_id = "rootfs", .path_on_host = root}};
	json_t *m, *g;

	vm_setup();
	temp_file(root, sizeof(root), 64 << 10);
	vm->cfg.entropy.present = true;
	vm->cfg.drives = drives;
	vm->cfg.nr_drives = 1;
	CHECK_EQ(vm_devices_add(vm), 0);
	((struct virtio_block *)vm->virtio[0].state)->m.read_count = 7;
	vm->virtio[0].dev->cfg_fails = 2;
	((struct virtio_rng *)vm->virtio[1].state)->entropy_bytes = 64;
	vm->virtio[1].dev->event_fails = 3;
	m = json_object();
	vm_devices_metrics(vm, m);
	g = json_object_get(m, "block_rootfs");
	CHECK_EQ(json_integer_value(json_object_get(g, "read_count")), 7);
	CHECK_EQ(json_integer_value(json_object_get(g, "cfg_fails")), 2);
	CHECK_EQ(json_object_size(g), 18);
	g = json_object_get(m, "block"); /* the sum over the drives */
	CHECK_EQ(json_integer_value(json_object_get(g, "read_count")), 7);
	g = json_object_get(m, "entropy");
	CHECK_EQ(json_integer_value(json_object_get(g, "entropy_bytes")), 64);
	CHECK_EQ(json_integer_value(json_object_get(g, "entropy_event_fails")), 3);
	CHECK_EQ(json_object_size(g), 6);
	CHECK(json_object_get(m, "net") == NULL); /* no interface: no group */
	CHECK(json_object_get(m, "vsock") == NULL);
	json_decref(m);
	vm->cfg.drives = NULL;
	vm_teardown();
	unlink(root);
}

/* --- a test device in a slot: the host ops --- */

struct tdev {
	struct virtio_dev dev;
	struct virtio_slot *s;
	int runs;
	uint64_t run_ns;	 /* CLOCK_MONOTONIC of the last run */
	struct dev_watch w[2];	 /* over the two socket pairs */
	int peer[2], calls[2];	 /* the test's ends; handler calls per watch */
	uint32_t last_events[2]; /* what the last call got */
};

static struct tdev T;

static void tdev_run(struct virtio_dev *d)
{
	struct tdev *t = d->opaque;

	t->runs++;
	t->run_ns = mono_ns();
}

static void tdev_ready(struct virtio_dev *d, struct dev_watch *w, uint32_t events)
{
	struct tdev *t = d->opaque;
	unsigned int i = (unsigned int)(w - t->w);
	char buf[64];

	t->calls[i]++;
	t->last_events[i] = events;
	while (read(w->fd, buf, sizeof(buf)) > 0)
		;
}

static const struct virtio_dev_ops tdev_ops = {
    .name = "test", .device_id = 99, .nr_queues = 1, .queue_max = 8, .run = tdev_run};

/* The test device in the VM's first slot, its two sockets unwatched yet. */
static void tdev_setup(void)
{
	struct virtio_slot *s;

	vm_setup();
	memset(&T, 0, sizeof(T));
	CHECK_EQ(vm_virtio_slot_new(vm, NULL, "test", &s), 0);
	T.s = s;
	virtio_dev_init(&T.dev, &tdev_ops, vm_virtio_host_ops(), s, &T, &vm->mem);
	CHECK_EQ(vm_virtio_place(vm, s, &T.dev), 0);
	for (int i = 0; i < 2; i++) {
		int sv[2];

		CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
		T.w[i] = (struct dev_watch){.fd = sv[0], .fn = tdev_ready};
		T.peer[i] = sv[1];
	}
}

static void tdev_teardown(void)
{
	for (int i = 0; i < 2; i++) {
		virtio_dev_unwatch(&T.dev, &T.w[i]);
		close(T.w[i].fd);
		close(T.peer[i]);
	}
	vm_virtio_disconnect(vm);
	virtio_dev_destroy(&T.dev);
	vm->nr_virtio = 0; /* the test's device: not the table's to remove */
	vm_teardown();
}

/* The host ops as the device calls them: with its lock held. */
static void schedule(uint64_t delay_ns)
{
	pthread_mutex_lock(&T.dev.lock);
	virtio_dev_schedule(&T.dev, delay_ns);
	pthread_mutex_unlock(&T.dev.lock);
}

static int watch(int i, uint32_t events)
{
	int ret;

	pthread_mutex_lock(&T.dev.lock);
	ret = virtio_dev_watch(&T.dev, &T.w[i], events);
	pthread_mutex_unlock(&T.dev.lock);
	return ret;
}

static int watch_set(int i, uint32_t events)
{
	int ret;

	pthread_mutex_lock(&T.dev.lock);
	ret = virtio_dev_watch_set(&T.dev, &T.w[i], events);
	pthread_mutex_unlock(&T.dev.lock);
	return ret;
}

/* Pumps the loop for about @ms. */
static void pump_for(int ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * MS;

	while (mono_ns() < end)
		pump(5);
}

/* Pumps until the device ran @n times (at most 2 s). */
static bool wait_runs(int n)
{
	for (int i = 0; i < 400 && T.runs < n; i++)
		pump(5);
	return T.runs >= n;
}

TEST(schedule_earliest_deadline_wins)
{
	uint64_t t0;

	tdev_setup();
	t0 = mono_ns();
	schedule(300 * MS);
	schedule(60 * MS);  /* earlier: wins */
	schedule(900 * MS); /* later: changes nothing */
	CHECK(T.s->run_pending);
	CHECK(T.s->run_at <= vm_clock_ns(vm) + 60 * MS);
	CHECK(wait_runs(1));
	CHECK(T.run_ns - t0 >= 60 * MS); /* not before its time */
	CHECK(T.run_ns - t0 < 300 * MS); /* nor at the later deadline */
	CHECK(!T.s->run_pending);
	/* One pending run: nothing else comes (the later deadlines were folded into it). */
	pump_for(50);
	CHECK_EQ(T.runs, 1);
	/* 0: as soon as the loop gets to it. */
	schedule(0);
	CHECK(wait_runs(2));
	tdev_teardown();
}

TEST(watch_watch_set_unwatch)
{
	tdev_setup();
	/* Registered without interest: data waits, the handler is not called. */
	CHECK_EQ(watch(0, 0), 0);
	CHECK(T.w[0].watched && T.w[0].on_loop);
	CHECK_EQ(write(T.peer[0], "x", 1), 1);
	pump_for(20);
	CHECK_EQ(T.calls[0], 0);
	/* Interest: the handler runs, with the device lock held and the events. */
	CHECK_EQ(watch_set(0, EPOLLIN), 0);
	CHECK_EQ(T.w[0].events, EPOLLIN);
	pump_for(20);
	CHECK_EQ(T.calls[0], 1);
	CHECK(T.last_events[0] & EPOLLIN);
	/* Unwatched: gone from the slot's list and the loop. */
	virtio_dev_unwatch(&T.dev, &T.w[0]);
	CHECK(!T.w[0].watched && !T.w[0].on_loop);
	CHECK(T.s->watches == NULL);
	CHECK_EQ(write(T.peer[0], "y", 1), 1);
	pump_for(20);
	CHECK_EQ(T.calls[0], 1);
	CHECK_EQ(epoll_ctl(loop.epfd, EPOLL_CTL_DEL, T.w[0].fd, NULL), -1);
	CHECK_EQ(errno, ENOENT);
	/* watch_set on an unwatched fd is refused. */
	CHECK_EQ(watch_set(0, EPOLLIN), -ENOENT);
	/* An event already fetched for a watch unwatched in the same batch is dropped. */
	CHECK_EQ(watch(1, EPOLLIN), 0);
	CHECK_EQ(write(T.peer[1], "z", 1), 1);
	{
		struct epoll_event ev;

		CHECK_EQ(epoll_wait(loop.epfd, &ev, 1, 1000), 1);
		virtio_dev_unwatch(&T.dev, &T.w[1]);
		((struct ev_handler *)ev.data.ptr)->fn(ev.data.ptr, ev.events);
	}
	CHECK_EQ(T.calls[1], 0);
	tdev_teardown();
}

TEST(pause_holds_every_watch_and_the_run)
{
	struct virtio_notify *n;

	tdev_setup();
	/* A queue's ioeventfd, as vm_virtio_connect() makes it (without KVM). */
	n = &T.s->notify[0];
	n->slot = T.s;
	n->h = (struct ev_handler){eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), NULL, n};
	CHECK_EQ(ev_add(&loop, &n->h, EPOLLIN), 0);
	n->registered = n->watched = true;
	CHECK_EQ(watch(0, EPOLLIN), 0);
	CHECK_EQ(watch(1, 0), 0);

	CHECK_EQ(vm_pause(vm), 0);
	CHECK(T.s->held);
	CHECK(!n->watched && !T.w[0].on_loop && !T.w[1].on_loop);
	/* Nothing of the slot is on the loop: not its notify fd, its timer, its watches. */
	CHECK_EQ(epoll_ctl(loop.epfd, EPOLL_CTL_DEL, n->h.fd, NULL), -1);
	CHECK_EQ(epoll_ctl(loop.epfd, EPOLL_CTL_DEL, T.s->timer_h.fd, NULL), -1);
	CHECK_EQ(epoll_ctl(loop.epfd, EPOLL_CTL_DEL, T.w[0].fd, NULL), -1);
	CHECK_EQ(epoll_ctl(loop.epfd, EPOLL_CTL_DEL, T.w[1].fd, NULL), -1);
	/* Work arrives while paused: data on both sockets, a run asked for. */
	CHECK_EQ(write(T.peer[0], "a", 1), 1);
	CHECK_EQ(write(T.peer[1], "b", 1), 1);
	schedule(0);
	/* The device changes its interest while paused: remembered, not applied. */
	CHECK_EQ(watch_set(1, EPOLLIN), 0);
	CHECK(!T.w[1].on_loop);
	pump_for(50);
	CHECK_EQ(T.calls[0], 0);
	CHECK_EQ(T.calls[1], 0);
	CHECK_EQ(T.runs, 0);

	/* Released with the interest the device asked for last: what waited is served. */
	CHECK_EQ(vm_resume(vm), 0);
	CHECK(!T.s->held);
	CHECK(n->watched && T.w[0].on_loop && T.w[1].on_loop);
	CHECK(wait_runs(1));
	pump_for(20);
	CHECK_EQ(T.calls[0], 1);
	CHECK_EQ(T.calls[1], 1);
	CHECK_EQ(T.runs, 1);

	/* Interest 0 stays 0 across a pause. */
	CHECK_EQ(watch_set(1, 0), 0);
	CHECK_EQ(vm_pause(vm), 0);
	CHECK_EQ(vm_resume(vm), 0);
	CHECK_EQ(write(T.peer[1], "c", 1), 1);
	pump_for(20);
	CHECK_EQ(T.calls[1], 1);
	tdev_teardown(); /* disconnect closes the notify eventfd */
}

TEST(clock_excludes_paused_time)
{
	uint64_t c0, c1, m0;

	tdev_setup();
	c0 = T.dev.host->now_ns(&T.dev); /* the device's clock is the VM's */
	c1 = vm_clock_ns(vm);
	CHECK(c1 >= c0 && c1 - c0 < MS);
	m0 = mono_ns();
	c0 = vm_clock_ns(vm);
	CHECK_EQ(vm_pause(vm), 0);
	sleep_ms(60);
	c1 = vm_clock_ns(vm);
	CHECK(c1 - c0 < 20 * MS); /* it stands still while paused */
	CHECK_EQ(vm_resume(vm), 0);
	sleep_ms(30);
	c1 = vm_clock_ns(vm);
	CHECK(mono_ns() - m0 >= 90 * MS);
	CHECK(c1 - c0 >= 30 * MS);
	CHECK(c1 - c0 < 70 * MS); /* the 60 paused ms are not in it */

	/* A deadline asked for before a pause keeps its remaining delay after it. */
	schedule(200 * MS);
	CHECK_EQ(vm_pause(vm), 0);
	sleep_ms(300);
	CHECK_EQ(vm_resume(vm), 0);
	pump_for(60);
	CHECK_EQ(T.runs, 0); /* not due: the pause did not count */
	CHECK(wait_runs(1));
	tdev_teardown();
}

TEST_MAIN(TEST_ENTRY(placement_follows_firecrackers_order), TEST_ENTRY(metrics_come_from_the_table),
	  TEST_ENTRY(schedule_earliest_deadline_wins), TEST_ENTRY(watch_watch_set_unwatch),
	  TEST_ENTRY(pause_holds_every_watch_and_the_run), TEST_ENTRY(clock_excludes_paused_time))
