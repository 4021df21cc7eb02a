// SPDX-License-Identifier: Apache-2.0
/*
 * The transport's pop-chain loop (virtio_queue_serve, virtio_queue_pop) that
 * every device serves its queues with: a one-queue fake device whose serve()
 * the test scripts, driven by the fake driver over fake guest memory.
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>

#define QSIZE  8
#define BUF(i) (FD_BUF_GPA + 0x100ULL * (i))

struct loop_dev {
	struct virtio_dev dev;
	struct vq_chain chain;
	unsigned int served;   /* serve() calls */
	unsigned int stop_at;  /* serve() number that puts its chain back and stops (0: none) */
	unsigned int yield_at; /* serve() number that answers YIELD (0: none) */
	bool more;	       /* what more() answers */
	unsigned int more_asked;
	uint16_t heads[QSIZE * 4]; /* the chains served, in order */
	uint64_t malformed;
};

static const struct virtio_dev_ops loop_ops = {
    .name = "loop",
    .device_id = 99,
    .nr_queues = 1,
    .queue_max = QSIZE,
};

static enum virtio_chain_done serve(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				    void *arg)
{
	struct loop_dev *l = arg;

	l->served++;
	if (l->served == l->stop_at) {
		vq_undo_pop(&d->vqs[q]);
		return VIRTIO_CHAIN_STOP;
	}
	l->heads[l->served - 1] = c->head;
	vq_push(&d->vqs[q], c->head, 1);
	return l->served == l->yield_at ? VIRTIO_CHAIN_YIELD : VIRTIO_CHAIN_NEXT;
}

static bool more(struct virtio_dev *d, void *arg)
{
	struct loop_dev *l = arg;

	(void)d;
	l->more_asked++;
	return l->more;
}

struct rig {
	struct fake_driver fd;
	struct loop_dev l;
};

static void rig_up(struct rig *r)
{
	memset(&r->l, 0, sizeof(r->l));
	fd_init(&r->fd, 4 << 20);
	virtio_dev_init(&r->l.dev, &loop_ops, fd_host_ops(), &r->fd.host, &r->l, &r->fd.gm);
	fd_attach(&r->fd, &r->l.dev);
	fd_bring_up(&r->fd, 99, 0, 1, QSIZE);
}

static void rig_down(struct rig *r)
{
	virtio_dev_destroy(&r->l.dev);
	fd_destroy(&r->fd);
}

/* Posts @n one-byte writable chains, heads 0, 1, ... from descriptor @first. */
static void post(struct rig *r, uint16_t first, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		uint16_t head = (uint16_t)((first + i) % QSIZE);

		fd_chain(&r->fd, 0, head, 1, &(struct fd_buf){BUF(head), 1, true});
		fd_post(&r->fd, 0, head);
	}
}

static enum virtio_queue_end run(struct rig *r, unsigned int budget, bool with_more,
				 bool caller_signals)
{
	const struct virtio_queue_loop loop = {
	    .q = 0,
	    .chain = &r->l.chain,
	    .budget = budget,
	    .serve = serve,
	    .more = with_more ? more : NULL,
	    .arg = &r->l,
	    .malformed = &r->l.malformed,
	    .caller_signals = caller_signals,
	};

	return virtio_queue_serve(&r->l.dev, &loop);
}

TEST(serves_every_chain_and_signals_once)
{
	struct rig r;
	uint32_t id, len;

	rig_up(&r);
	post(&r, 0, 3);
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.served, 3);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 3);
	for (uint16_t k = 0; k < 3; k++) {
		fd_used(&r.fd, 0, k, &id, &len);
		CHECK_EQ(id, k);
		CHECK_EQ(len, 1);
	}
	CHECK_EQ(r.fd.host.interrupts, 1); /* one per call, not per chain */
	CHECK_EQ(r.fd.host.schedules, 0);
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_EMPTY); /* nothing new: no interrupt */
	CHECK_EQ(r.fd.host.interrupts, 1);
	rig_down(&r);
}

TEST(budget_asks_for_a_run_only_with_chains_left)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 5);
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_BUDGET);
	CHECK_EQ(r.l.served, 2);
	CHECK_EQ(r.fd.host.schedules, 1);
	CHECK_EQ(r.fd.host.last_delay, 0);
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_BUDGET);
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.served, 5);
	CHECK_EQ(r.fd.host.schedules, 2);
	/* Exactly the budget's worth: spent, but nothing left to come back for. */
	post(&r, 5, 2);
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.served, 7);
	CHECK_EQ(r.fd.host.schedules, 2);
	CHECK_EQ(r.fd.host.interrupts, 4);
	rig_down(&r);
}

TEST(stop_leaves_the_chain_for_the_next_call)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 3);
	r.l.stop_at = 2;
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_STOPPED);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 1);
	CHECK_EQ(r.fd.host.schedules, 0); /* the device says when it comes back */
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 3);
	CHECK_EQ(r.l.heads[2], 1); /* the chain put back is served first */
	CHECK_EQ(r.l.heads[3], 2);
	rig_down(&r);
}

TEST(yield_ends_the_call_as_the_budget_does)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 3);
	r.l.yield_at = 1;
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_BUDGET);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 1);
	CHECK_EQ(r.fd.host.schedules, 1);
	r.l.yield_at = 3; /* on the last chain: nothing left, no run */
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 3);
	CHECK_EQ(r.fd.host.schedules, 1);
	rig_down(&r);
}

TEST(malformed_chains_are_counted_and_spend_the_budget)
{
	struct rig r;
	uint32_t id, len;

	rig_up(&r);
	/* Chain 0 points outside guest memory; 1 and 2 are fine. */
	fd_chain(&r.fd, 0, 0, 1, &(struct fd_buf){r.fd.ram_size, 16, true});
	fd_post(&r.fd, 0, 0);
	post(&r, 1, 2);
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_BUDGET);
	CHECK_EQ(r.l.served, 1);
	CHECK_EQ(r.l.malformed, 1);
	CHECK_EQ(r.l.dev.event_fails, 1);
	fd_used(&r.fd, 0, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 0); /* given back empty */
	CHECK_EQ(run(&r, 2, false, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.served, 2);
	CHECK_EQ(r.fd.host.interrupts, 2);
	rig_down(&r);
}

TEST(a_corrupt_ring_stops_and_needs_reset)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 1);
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_EMPTY);
	fd_set_avail_idx(&r.fd, 0, (uint16_t)(r.fd.avail_idx[0] + QSIZE + 1));
	CHECK_EQ(run(&r, 0, false, false), VIRTIO_QUEUE_BROKEN);
	CHECK(r.l.dev.status & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(r.l.dev.event_fails, 1);
	CHECK_EQ(r.l.malformed, 0); /* the device counts a corrupt ring itself, if it wants */
	CHECK_EQ(r.l.served, 1);
	CHECK_EQ(virtio_queue_pop(&r.l.dev, 0, &r.l.chain, NULL), -EIO);
	CHECK_EQ(r.l.dev.event_fails, 2);
	rig_down(&r);
}

TEST(more_is_asked_before_each_pop)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 2);
	r.l.more = false;
	CHECK_EQ(run(&r, 0, true, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.more_asked, 1);
	CHECK_EQ(r.l.served, 0);
	CHECK_EQ(r.l.dev.vqs[0].last_avail, 0); /* nothing popped */
	r.l.more = true;
	CHECK_EQ(run(&r, 0, true, false), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(r.l.served, 2);
	CHECK_EQ(r.l.more_asked, 4); /* before each of two pops, and the empty one */
	rig_down(&r);
}

TEST(caller_signals_leaves_the_interrupt_to_the_device)
{
	struct rig r;

	rig_up(&r);
	post(&r, 0, 2);
	CHECK_EQ(run(&r, 0, false, true), VIRTIO_QUEUE_EMPTY);
	CHECK_EQ(fd_used_idx(&r.fd, 0), 2);
	CHECK_EQ(r.fd.host.interrupts, 0);
	CHECK(virtio_dev_signal_used(&r.l.dev, 0));
	CHECK_EQ(r.fd.host.interrupts, 1);
	rig_down(&r);
}

TEST(pop_returns_0_on_an_empty_ring_then_the_next_chain)
{
	struct rig r;

	rig_up(&r);
	CHECK_EQ(virtio_queue_pop(&r.l.dev, 0, &r.l.chain, NULL), 0);
	post(&r, 0, 1);
	CHECK_EQ(virtio_queue_pop(&r.l.dev, 0, &r.l.chain, NULL), 1);
	CHECK_EQ(r.l.chain.head, 0);
	CHECK_EQ(r.l.chain.in_len, 1);
	rig_down(&r);
}

TEST_MAIN(TEST_ENTRY(serves_every_chain_and_signals_once),
	  TEST_ENTRY(budget_asks_for_a_run_only_with_chains_left),
	  TEST_ENTRY(stop_leaves_the_chain_for_the_next_call),
	  TEST_ENTRY(yield_ends_the_call_as_the_budget_does),
	  TEST_ENTRY(malformed_chains_are_counted_and_spend_the_budget),
	  TEST_ENTRY(a_corrupt_ring_stops_and_needs_reset),
	  TEST_ENTRY(more_is_asked_before_each_pop),
	  TEST_ENTRY(caller_signals_leaves_the_interrupt_to_the_device),
	  TEST_ENTRY(pop_returns_0_on_an_empty_ring_then_the_next_chain))
