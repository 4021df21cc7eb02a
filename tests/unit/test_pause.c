// SPDX-License-Identifier: Apache-2.0
/*
 * Pause and resume (vm_pause.c) without KVM: "vCPU" threads that spin like
 * the KVM_RUN loop (a kick shows as immediate_exit, as KVM_RUN would return
 * EINTR) are parked, held, released and stopped through the real vm_pause(),
 * vm_resume(), vcpu_kick() and vm_stop().
 */
#include "test.h"
#include "vmm/vm.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define NR 3

static struct vm *vm;
static atomic_ulong iterations[NR];
static atomic_bool leave_early[NR];
static struct logger quiet;

static void on_kick(int sig)
{
	(void)sig;
}

/* The shape of vcpu_thread(): run until stopping; after a kick, vm_vcpu_kicked(). */
static void *fake_vcpu(void *arg)
{
	struct vcpu *v = arg;

	while (!atomic_load(&v->vm->stopping) && !atomic_load(&leave_early[v->id])) {
		if (__atomic_load_n(&v->run->immediate_exit, __ATOMIC_SEQ_CST)) {
			vm_vcpu_kicked(v);
			continue;
		}
		atomic_fetch_add(&iterations[v->id], 1);
		sched_yield();
	}
	vm_vcpu_exiting(v);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

static void start(void)
{
	struct sigaction sa = {.sa_handler = on_kick};

	quiet = (struct logger){.level = LOG_OFF};
	log_set(&quiet);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGRTMIN, &sa, NULL);
	vm = calloc(1, sizeof(*vm));
	CHECK(vm != NULL);
	atomic_init(&vm->exit_code, -1);
	atomic_init(&vm->stopping, false);
	vm->console.in_fd = -1;
	vm_pause_init(vm);
	for (unsigned int i = 0; i < NR; i++) {
		struct vcpu *v = &vm->vcpus[i];

		atomic_store(&iterations[i], 0);
		atomic_store(&leave_early[i], false);
		v->vm = vm;
		v->id = i;
		v->run = calloc(1, sizeof(*v->run));
		CHECK(v->run != NULL);
		CHECK_EQ(pthread_create(&v->thread, NULL, fake_vcpu, v), 0);
		v->started = true;
		vm->nr_vcpus++;
	}
}

static void finish(void)
{
	CHECK_EQ(vm_stop(vm), VM_EXIT_OK);
	for (unsigned int i = 0; i < NR; i++) {
		CHECK(!vm->vcpus[i].started);
		free(vm->vcpus[i].run);
	}
	vm_pause_destroy(vm);
	free(vm);
	vm = NULL;
}

/* Waits (up to 2 s) until every vCPU has run some more. */
static bool all_run(void)
{
	unsigned long before[NR];

	for (int i = 0; i < NR; i++)
		before[i] = atomic_load(&iterations[i]);
	for (int t = 0; t < 2000; t++) {
		int moved = 0;

		for (int i = 0; i < NR; i++)
			moved += atomic_load(&iterations[i]) > before[i] + 10;
		if (moved == NR)
			return true;
		sleep_ms(1);
	}
	return false;
}

TEST(pause_parks_every_vcpu_and_resume_releases)
{
	unsigned long held[NR];

	start();
	CHECK(all_run());
	CHECK_EQ(vm_pause(vm), 0);
	CHECK(vm->pause.paused);
	CHECK_EQ(vm->pause.nr_parked, NR);
	for (int i = 0; i < NR; i++)
		held[i] = atomic_load(&iterations[i]);
	sleep_ms(30);
	for (int i = 0; i < NR; i++)
		CHECK_EQ(atomic_load(&iterations[i]), held[i]);
	/* Pausing again does nothing. */
	CHECK_EQ(vm_pause(vm), 0);
	CHECK_EQ(vm_resume(vm), 0);
	CHECK(!vm->pause.paused);
	CHECK(all_run());
	/* Resuming re-armed KVM_RUN: the kick's immediate_exit is cleared. */
	for (int i = 0; i < NR; i++)
		CHECK_EQ(vm->vcpus[i].run->immediate_exit, 0);
	CHECK_EQ(vm_resume(vm), 0);
	finish();
}

TEST(many_pause_resume_cycles)
{
	start();
	for (int round = 0; round < 200; round++) {
		CHECK_EQ(vm_pause(vm), 0);
		CHECK_EQ(vm->pause.nr_parked, NR);
		CHECK_EQ(vm_resume(vm), 0);
	}
	CHECK(all_run());
	finish();
}

TEST(stop_while_paused)
{
	start();
	CHECK_EQ(vm_pause(vm), 0);
	/* vm_stop wakes the parked vCPUs, which see `stopping` and leave; it joins them. */
	finish();
}

TEST(pause_counts_vcpus_that_ended)
{
	start();
	atomic_store(&leave_early[1], true);
	for (int t = 0; t < 2000 && vm->pause.nr_exited < 1; t++)
		sleep_ms(1);
	CHECK_EQ(vm_pause(vm), 0);
	CHECK_EQ(vm->pause.nr_parked, NR - 1);
	CHECK_EQ(vm->pause.nr_exited, 1);
	CHECK_EQ(vm_resume(vm), 0);
	finish();
}

TEST(no_pause_once_stopping)
{
	start();
	atomic_store(&vm->stopping, true);
	CHECK_EQ(vm_pause(vm), -ESHUTDOWN);
	CHECK(!vm->pause.paused);
	finish();
}

static void noop(struct ev_handler *h, uint32_t events)
{
	(void)h;
	(void)events;
}

/* Whether @fd is in the loop's epoll set. */
static bool on_loop(struct event_loop *loop, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN};

	return epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) == 0;
}

static const struct virtio_dev_ops noop_ops = {.name = "noop", .nr_queues = 1, .queue_max = 8};

TEST(pause_holds_the_loops_device_work)
{
	struct event_loop loop;
	struct virtio_slot *s;
	struct virtio_notify *n;
	struct virtio_dev dev;

	CHECK_EQ(ev_init(&loop), 0);
	start();
	vm->loop = &loop;
	s = &vm->virtio[0];
	memset(s, 0, sizeof(*s));
	s->vm = vm;
	s->irqfd = -1;
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		s->notify[q].h.fd = -1;
	virtio_dev_init(&dev, &noop_ops, vm_virtio_host_ops(), s, NULL, NULL);
	s->dev = &dev;
	n = &s->notify[0];
	n->h = (struct ev_handler){eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), noop, n};
	n->registered = true;
	CHECK_EQ(ev_add(&loop, &n->h, EPOLLIN), 0);
	n->watched = true;
	CHECK_EQ(ev_timer_create(&loop, &s->timer_h, noop, s), 0);
	vm->nr_virtio = 1;

	CHECK_EQ(vm_pause(vm), 0);
	CHECK(!n->watched);
	CHECK(!on_loop(&loop, n->h.fd));
	CHECK(!on_loop(&loop, s->timer_h.fd));
	CHECK_EQ(vm_resume(vm), 0);
	CHECK(n->watched);
	CHECK(on_loop(&loop, n->h.fd));
	CHECK(on_loop(&loop, s->timer_h.fd));

	close(n->h.fd);
	ev_timer_destroy(&loop, &s->timer_h);
	virtio_dev_destroy(&dev);
	vm->nr_virtio = 0;
	finish();
	ev_destroy(&loop);
}

TEST_MAIN(TEST_ENTRY(pause_parks_every_vcpu_and_resume_releases),
	  TEST_ENTRY(many_pause_resume_cycles), TEST_ENTRY(stop_while_paused),
	  TEST_ENTRY(pause_counts_vcpus_that_ended), TEST_ENTRY(no_pause_once_stopping),
	  TEST_ENTRY(pause_holds_the_loops_device_work))
