// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues against fake guest memory: two regions with a gap between
 * them, and a test-side "driver" that lays out the rings, adds chains and reads
 * the used ring.
 */
#include "test.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

#include "devices/virtio/virtqueue.h"

#define RAM0_GPA  0x0ULL
#define RAM0_SIZE (2ULL << 20)
#define RAM1_GPA  (4ULL << 20) /* 2 MiB gap below it */
#define RAM1_SIZE (2ULL << 20)
#define HUGE_GPA  (1ULL << 40) /* a region never touched: long chains' lengths only */
#define HUGE_SIZE (1ULL << 33)

#define DESC_GPA  0x1000ULL /* room for 512 descriptors */
#define AVAIL_GPA 0x3000ULL
#define USED_GPA  0x4000ULL
#define TABLE_GPA 0x8000ULL /* indirect tables */
#define BUF_GPA	  0x10000ULL
#define GOOD_GPA  0x80000ULL /* the good chain's buffer */

#define SIZE 16

struct drv {
	uint8_t *ram0, *ram1;
	struct guest_mem gm;
	struct virtqueue vq;
	uint16_t avail_idx; /* the driver's next avail index */
};

static struct vq_chain chain; /* 8 KiB: not on the stack */

static void *hva(struct drv *x, uint64_t gpa, uint64_t len)
{
	void *p = gm_ptr(&x->gm, gpa, len);

	if (!p)
		FAIL_AT("test bug: gpa 0x%llx not in fake memory", (unsigned long long)gpa);
	return p;
}

static uint16_t *word_at(struct drv *x, uint64_t gpa)
{
	return hva(x, gpa, 2);
}

static void put16(struct drv *x, uint64_t gpa, uint16_t v)
{
	memcpy(hva(x, gpa, 2), &v, 2);
}

static uint16_t get16(struct drv *x, uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, hva(x, gpa, 2), 2);
	return v;
}

static uint32_t get32(struct drv *x, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, hva(x, gpa, 4), 4);
	return v;
}

static void setup_sized(struct drv *x, uint16_t size, bool event_idx, bool indirect)
{
	struct guest_region r[3];

	memset(x, 0, sizeof(*x));
	x->ram0 = calloc(1, RAM0_SIZE);
	x->ram1 = calloc(1, RAM1_SIZE);
	if (!x->ram0 || !x->ram1)
		FAIL_AT("calloc");
	r[0] = (struct guest_region){RAM0_GPA, RAM0_SIZE, x->ram0};
	r[1] = (struct guest_region){RAM1_GPA, RAM1_SIZE, x->ram1};
	/* Never dereferenced: lets a chain claim more than 4 GiB of "memory". */
	r[2] = (struct guest_region){HUGE_GPA, HUGE_SIZE, x->ram0};
	CHECK_EQ(guest_mem_init_fake(&x->gm, r, 3), 0);
	x->vq.mem = &x->gm;
	vq_reset(&x->vq);
	x->vq.size = size;
	x->vq.desc_gpa = DESC_GPA;
	x->vq.avail_gpa = AVAIL_GPA;
	x->vq.used_gpa = USED_GPA;
	x->vq.event_idx = event_idx;
	x->vq.indirect = indirect;
	CHECK_EQ(vq_validate(&x->vq), 0);
	x->vq.ready = true;
}

static void setup(struct drv *x)
{
	setup_sized(x, SIZE, false, false);
}

static void teardown(struct drv *x)
{
	free(x->ram0);
	free(x->ram1);
}

/* Writes descriptor @i of the table at @table. */
static void desc_at(struct drv *x, uint64_t table, uint16_t i, uint64_t addr, uint32_t len,
		    uint16_t flags, uint16_t next)
{
	uint8_t *p = hva(x, table + 16ULL * i, 16);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void desc(struct drv *x, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
		 uint16_t next)
{
	desc_at(x, DESC_GPA, i, addr, len, flags, next);
}

/* Makes @n chains available at once: ring entries first, then idx. */
static void post_n(struct drv *x, const uint16_t *heads, unsigned int n)
{
	for (unsigned int k = 0; k < n; k++)
		put16(x, AVAIL_GPA + 4 + 2ULL * ((uint16_t)(x->avail_idx + k) % x->vq.size),
		      heads[k]);
	x->avail_idx = (uint16_t)(x->avail_idx + n);
	put16(x, AVAIL_GPA + 2, x->avail_idx);
}

static void post(struct drv *x, uint16_t head)
{
	post_n(x, &head, 1);
}

static uint16_t used_idx(struct drv *x)
{
	return get16(x, USED_GPA + 2);
}

/* The used element the device wrote for used index @k. */
static void used_elem(struct drv *x, uint16_t k, uint32_t *id, uint32_t *len)
{
	uint64_t e = USED_GPA + 4 + 8ULL * (k % x->vq.size);

	*id = get32(x, e);
	*len = get32(x, e + 4);
}

static void set_used_event(struct drv *x, uint16_t v)
{
	put16(x, AVAIL_GPA + 4 + 2ULL * x->vq.size, v);
}

static uint16_t avail_event(struct drv *x)
{
	return get16(x, USED_GPA + 4 + 8ULL * x->vq.size);
}

/* The good chain: descriptor size-1, one writable 64-byte buffer. */
static void good_chain_works(struct drv *x)
{
	uint16_t head = (uint16_t)(x->vq.size - 1);
	uint16_t before = used_idx(x);
	uint32_t id, len;

	desc(x, head, GOOD_GPA, 64, VRING_DESC_F_WRITE, 0);
	post(x, head);
	CHECK_EQ(vq_pop(&x->vq, &chain), 1);
	CHECK_EQ(chain.head, head);
	CHECK_EQ(chain.nr_in, 1);
	CHECK_EQ(chain.nr_out, 0);
	CHECK(chain.in[0].iov_base == hva(x, GOOD_GPA, 64));
	vq_push(&x->vq, head, 64);
	CHECK_EQ(used_idx(x), (uint16_t)(before + 1));
	used_elem(x, before, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 64);
}

/*
 * Posts the chain at @head, expects -EINVAL for @why, the head back in the used
 * ring with len 0, and the queue still working.
 */
static void expect_malformed(struct drv *x, uint16_t head, const char *why)
{
	uint16_t before = used_idx(x);
	uint32_t id, len;

	post(x, head);
	CHECK_EQ(vq_pop(&x->vq, &chain), -EINVAL);
	CHECK(x->vq.error != NULL);
	CHECK_CONTAINS(x->vq.error, why);
	CHECK(!x->vq.broken);
	CHECK_EQ(used_idx(x), (uint16_t)(before + 1));
	used_elem(x, before, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 0);
	CHECK_EQ(vq_pop(&x->vq, &chain), 0);
	good_chain_works(x);
}

/* --- basics --- */

TEST(empty_ring)
{
	struct drv x;

	setup(&x);
	CHECK(!vq_has_avail(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	CHECK_EQ(used_idx(&x), 0);
	teardown(&x);
}

TEST(not_ready_pops_nothing)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	post(&x, 0);
	x.vq.ready = false;
	CHECK(!vq_has_avail(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	x.vq.ready = true;
	CHECK(vq_has_avail(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	teardown(&x);
}

TEST(one_chain_readable_then_writable)
{
	struct drv x;
	uint32_t id, len;

	setup(&x);
	desc(&x, 3, BUF_GPA, 16, VRING_DESC_F_NEXT, 7);
	desc(&x, 7, BUF_GPA + 0x100, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc(&x, 1, RAM1_GPA + 0x40, 8, VRING_DESC_F_WRITE, 0);
	post(&x, 3);
	CHECK(vq_has_avail(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK(!vq_has_avail(&x.vq));
	CHECK_EQ(chain.head, 3);
	CHECK_EQ(chain.nr_out, 1);
	CHECK_EQ(chain.nr_in, 2);
	CHECK(chain.out[0].iov_base == hva(&x, BUF_GPA, 16));
	CHECK_EQ(chain.out[0].iov_len, 16);
	CHECK(chain.in[0].iov_base == hva(&x, BUF_GPA + 0x100, 32));
	CHECK_EQ(chain.in[0].iov_len, 32);
	CHECK(chain.in[1].iov_base == x.ram1 + 0x40); /* the second region */
	CHECK_EQ(chain.in[1].iov_len, 8);
	CHECK_EQ(chain.out_len, 16);
	CHECK_EQ(chain.in_len, 40);

	vq_push(&x.vq, chain.head, 40);
	CHECK_EQ(used_idx(&x), 1);
	CHECK_EQ(x.vq.used_idx, 1);
	used_elem(&x, 0, &id, &len);
	CHECK_EQ(id, 3);
	CHECK_EQ(len, 40);
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	teardown(&x);
}

TEST(chains_pop_in_order)
{
	static const uint16_t heads[] = {5, 2, 9};
	struct drv x;
	uint32_t id, len;

	setup(&x);
	for (unsigned int k = 0; k < 3; k++)
		desc(&x, heads[k], BUF_GPA + 0x100 * k, 8 + k, VRING_DESC_F_WRITE, 0);
	post_n(&x, heads, 3);
	for (unsigned int k = 0; k < 3; k++) {
		CHECK_EQ(vq_pop(&x.vq, &chain), 1);
		CHECK_EQ(chain.head, heads[k]);
		CHECK_EQ(chain.in_len, 8 + k);
	}
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	/* Completed out of order: the used ring records the order of completion. */
	vq_push(&x.vq, 9, 1);
	vq_push(&x.vq, 5, 2);
	vq_push(&x.vq, 2, 3);
	CHECK_EQ(used_idx(&x), 3);
	used_elem(&x, 0, &id, &len);
	CHECK_EQ(id, 9);
	CHECK_EQ(len, 1);
	used_elem(&x, 2, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 3);
	teardown(&x);
}

TEST(full_ring_of_size_chains)
{
	uint16_t heads[SIZE];
	struct drv x;

	setup(&x);
	for (uint16_t k = 0; k < SIZE; k++) {
		heads[k] = (uint16_t)(SIZE - 1 - k);
		desc(&x, heads[k], BUF_GPA + 0x40ULL * k, 4, VRING_DESC_F_WRITE, 0);
	}
	post_n(&x, heads, SIZE); /* exactly size ahead: allowed */
	for (uint16_t k = 0; k < SIZE; k++) {
		CHECK_EQ(vq_pop(&x.vq, &chain), 1);
		CHECK_EQ(chain.head, heads[k]);
	}
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	teardown(&x);
}

TEST(index_wraparound)
{
	struct drv x;
	uint16_t heads[5] = {0, 1, 2, 3, 4};
	uint32_t id, len;

	setup(&x);
	/* The driver and the device both start near the top of the 16-bit index space. */
	x.avail_idx = 65533;
	put16(&x, AVAIL_GPA + 2, 65533);
	put16(&x, USED_GPA + 2, 65533);
	x.vq.last_avail = 65533;
	x.vq.used_idx = 65533;
	x.vq.signalled_used = 65533;
	for (uint16_t k = 0; k < 5; k++)
		desc(&x, k, BUF_GPA + 0x40ULL * k, 4, VRING_DESC_F_WRITE, 0);
	post_n(&x, heads, 5); /* avail idx wraps to 2 */
	CHECK_EQ(get16(&x, AVAIL_GPA + 2), 2);
	for (uint16_t k = 0; k < 5; k++) {
		CHECK_EQ(vq_pop(&x.vq, &chain), 1);
		CHECK_EQ(chain.head, k);
		vq_push(&x.vq, chain.head, 100 + k);
	}
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	CHECK_EQ(x.vq.last_avail, 2);
	CHECK_EQ(used_idx(&x), 2);
	/* used idx 65533 % 16 = 13: the elements sit at 13, 14, 15, 0, 1. */
	used_elem(&x, 65535, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 102);
	used_elem(&x, 1, &id, &len);
	CHECK_EQ(id, 4);
	CHECK_EQ(len, 104);
	used_elem(&x, 65533, &id, &len);
	CHECK_EQ(get32(&x, USED_GPA + 4 + 8 * 13 + 4), 100); /* the first one, at slot 13 */
	CHECK_EQ(len, 100);
	teardown(&x);
}

TEST(undo_pop_returns_the_same_chain)
{
	struct drv x;

	setup(&x);
	desc(&x, 4, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	post(&x, 4);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	vq_undo_pop(&x.vq);
	CHECK(vq_has_avail(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.head, 4);
	CHECK_EQ(vq_pop(&x.vq, &chain), 0);
	teardown(&x);
}

TEST(push_of_bad_head_is_dropped)
{
	struct drv x;

	setup(&x);
	vq_push(&x.vq, SIZE, 1);
	CHECK_EQ(used_idx(&x), 0);
	CHECK_EQ(x.vq.used_idx, 0);
	teardown(&x);
}

TEST(push_many_publishes_once_in_order)
{
	const struct vq_used batch[] = {{7, 100}, {3, 200}, {11, 300}};
	struct drv x;
	uint32_t id, len;

	setup(&x);
	vq_push(&x.vq, 1, 5);
	vq_push_many(&x.vq, batch, 3);
	CHECK_EQ(used_idx(&x), 4);
	CHECK_EQ(x.vq.used_idx, 4);
	for (unsigned int k = 0; k < 3; k++) {
		used_elem(&x, 1 + k, &id, &len);
		CHECK_EQ(id, batch[k].head);
		CHECK_EQ(len, batch[k].len);
	}
	teardown(&x);
}

TEST(push_many_wraps_the_ring)
{
	struct vq_used batch[3] = {{0, 1}, {1, 2}, {2, 3}};
	struct drv x;
	uint32_t id, len;

	setup(&x);
	x.vq.used_idx = (uint16_t)(SIZE - 1); /* the batch crosses the ring's end */
	vq_push_many(&x.vq, batch, 3);
	CHECK_EQ(used_idx(&x), (uint16_t)(SIZE + 2));
	used_elem(&x, SIZE - 1, &id, &len);
	CHECK_EQ(id, 0);
	used_elem(&x, 0, &id, &len);
	CHECK_EQ(id, 1);
	used_elem(&x, 1, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 3);
	teardown(&x);
}

TEST(push_many_with_a_bad_head_drops_the_batch)
{
	const struct vq_used batch[] = {{0, 1}, {SIZE, 1}};
	struct drv x;

	setup(&x);
	vq_push_many(&x.vq, batch, 2);
	CHECK_EQ(used_idx(&x), 0);
	CHECK_EQ(x.vq.used_idx, 0);
	teardown(&x);
}

/* --- notification suppression --- */

TEST(event_idx_used_event)
{
	struct drv x;

	setup_sized(&x, SIZE, true, false);
	CHECK(!vq_should_notify(&x.vq)); /* nothing pushed yet */
	set_used_event(&x, 0);		 /* "interrupt me when entry 0 is used" */
	vq_push(&x.vq, 0, 1);
	CHECK(vq_should_notify(&x.vq)); /* used idx 0 -> 1 passes 0 */
	vq_push(&x.vq, 1, 1);
	CHECK(!vq_should_notify(&x.vq)); /* 1 -> 2: used_event 0 is behind */
	CHECK(!vq_should_notify(&x.vq)); /* nothing new */

	set_used_event(&x, 3); /* ahead of the used idx (2) */
	vq_push(&x.vq, 2, 1);
	CHECK(!vq_should_notify(&x.vq)); /* 2 -> 3: entry 3 not written yet */
	vq_push(&x.vq, 3, 1);
	CHECK(vq_should_notify(&x.vq)); /* 3 -> 4: entry 3 written */

	set_used_event(&x, 5); /* a batch that passes it: 4 -> 7 */
	vq_push(&x.vq, 4, 1);
	vq_push(&x.vq, 5, 1);
	vq_push(&x.vq, 6, 1);
	CHECK(vq_should_notify(&x.vq));

	set_used_event(&x, 9); /* a batch that stops short of it: 7 -> 9 */
	vq_push(&x.vq, 7, 1);
	vq_push(&x.vq, 8, 1);
	CHECK(!vq_should_notify(&x.vq));

	/* The flag is ignored with EVENT_IDX. */
	put16(&x, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&x.vq, 9, 1);
	CHECK(vq_should_notify(&x.vq)); /* 9 -> 10 passes 9 */
	teardown(&x);
}

TEST(event_idx_wraps)
{
	struct drv x;

	setup_sized(&x, SIZE, true, false);
	x.vq.used_idx = 65534;
	x.vq.signalled_used = 65534;
	set_used_event(&x, 65535);
	vq_push(&x.vq, 0, 1);
	CHECK(!vq_should_notify(&x.vq)); /* 65534 -> 65535 */
	vq_push(&x.vq, 1, 1);
	vq_push(&x.vq, 2, 1);
	CHECK(vq_should_notify(&x.vq)); /* 65535 -> 1 passes 65535 */
	teardown(&x);
}

TEST(no_interrupt_flag)
{
	struct drv x;

	setup(&x);
	put16(&x, AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	vq_push(&x.vq, 0, 1);
	CHECK(!vq_should_notify(&x.vq));
	put16(&x, AVAIL_GPA, 0);
	vq_push(&x.vq, 1, 1);
	CHECK(vq_should_notify(&x.vq));
	CHECK(!vq_should_notify(&x.vq)); /* nothing new since */
	/* used_event means nothing without EVENT_IDX. */
	set_used_event(&x, 40);
	vq_push(&x.vq, 2, 1);
	CHECK(vq_should_notify(&x.vq));
	teardown(&x);
}

TEST(signalled_invalid_notifies)
{
	struct drv x;

	setup_sized(&x, SIZE, true, false);
	set_used_event(&x, 100);
	x.vq.signalled_valid = false; /* e.g. state restored: we do not know what the guest saw */
	vq_push(&x.vq, 0, 1);
	CHECK(vq_should_notify(&x.vq));
	vq_push(&x.vq, 1, 1);
	CHECK(!vq_should_notify(&x.vq));
	teardown(&x);
}

TEST(enable_notify_writes_avail_event)
{
	static const uint16_t heads[] = {0, 1};
	struct drv x;

	setup_sized(&x, SIZE, true, false);
	desc(&x, 0, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	desc(&x, 1, BUF_GPA + 8, 8, VRING_DESC_F_WRITE, 0);
	post_n(&x, heads, 2);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(avail_event(&x), 1); /* pop publishes it too */
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(avail_event(&x), 2);

	put16(&x, USED_GPA + 4 + 8 * SIZE, 0x1234);
	CHECK(!vq_enable_notify(&x.vq));
	CHECK_EQ(avail_event(&x), 2);

	/* A chain that raced in: enable_notify reports it. */
	post(&x, 0);
	CHECK(vq_enable_notify(&x.vq));
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK(!vq_enable_notify(&x.vq));
	CHECK_EQ(avail_event(&x), 3);
	teardown(&x);
}

TEST(enable_notify_without_event_idx)
{
	struct drv x;

	setup(&x);
	put16(&x, USED_GPA + 4 + 8 * SIZE, 0x1234);
	CHECK(!vq_enable_notify(&x.vq));
	CHECK_EQ(avail_event(&x), 0x1234); /* not ours to write */
	CHECK_EQ(get16(&x, USED_GPA), 0);  /* used->flags: notifications stay on */
	desc(&x, 0, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	post(&x, 0);
	CHECK(vq_enable_notify(&x.vq));
	teardown(&x);
}

/* --- vq_validate --- */

TEST(validate)
{
	struct drv x;
	struct virtqueue *vq = &x.vq;

	setup(&x);
	CHECK_EQ(vq_validate(vq), 0);
	vq->size = 0;
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->size = 24; /* not a power of two */
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->size = 2048; /* > VQ_MAX_SIZE */
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->size = 1;
	CHECK_EQ(vq_validate(vq), 0);
	vq->size = SIZE;

	vq->desc_gpa = DESC_GPA + 8; /* 16-byte alignment */
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = AVAIL_GPA + 1; /* 2 */
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->avail_gpa = AVAIL_GPA + 2;
	CHECK_EQ(vq_validate(vq), 0);
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = USED_GPA + 2; /* 4 */
	CHECK_EQ(vq_validate(vq), -EINVAL);
	vq->used_gpa = USED_GPA;

	vq->desc_gpa = RAM0_SIZE; /* the gap */
	CHECK_EQ(vq_validate(vq), -EFAULT);
	vq->desc_gpa = RAM0_SIZE - 16 * SIZE + 16; /* crosses the end of region 0 */
	CHECK_EQ(vq_validate(vq), -EFAULT);
	vq->desc_gpa = RAM1_GPA; /* region 1 is fine */
	CHECK_EQ(vq_validate(vq), 0);
	vq->desc_gpa = DESC_GPA;
	vq->avail_gpa = RAM1_GPA + RAM1_SIZE - 6 - 2 * SIZE + 2; /* one word past the end */
	CHECK_EQ(vq_validate(vq), -EFAULT);
	vq->avail_gpa = AVAIL_GPA;
	vq->used_gpa = RAM1_GPA + RAM1_SIZE - 8 - 8 * SIZE; /* fits, 2 bytes to spare */
	CHECK_EQ(vq_validate(vq), 0);
	vq->used_gpa = RAM1_GPA + RAM1_SIZE - 4 - 8 * SIZE; /* 2 bytes past the end */
	CHECK_EQ(vq_validate(vq), -EFAULT);
	vq->used_gpa = 0xfffffffffffffff0ULL; /* wraps */
	CHECK_EQ(vq_validate(vq), -EFAULT);
	teardown(&x);
}

/* --- zero-length descriptors: allowed and skipped --- */

TEST(zero_length_descriptors_are_skipped)
{
	struct drv x;

	setup(&x);
	/* A zero-length readable descriptor with a wild address, then a writable buffer. */
	desc(&x, 0, 0xdead000000000000ULL, 0, VRING_DESC_F_NEXT, 1);
	desc(&x, 1, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	desc(&x, 2, 0xdead000000000000ULL, 0, VRING_DESC_F_WRITE, 0);
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_out, 0);
	CHECK_EQ(chain.nr_in, 1);
	CHECK_EQ(chain.in_len, 16);
	vq_push(&x.vq, 0, 16);

	/* A chain of one zero-length buffer is a chain without buffers: the device decides. */
	desc(&x, 3, 0, 0, VRING_DESC_F_WRITE, 0);
	post(&x, 3);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_out + chain.nr_in, 0);
	vq_push(&x.vq, 3, 0);

	/* The readable-before-writable order still holds for them. */
	desc(&x, 4, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 5);
	desc(&x, 5, 0, 0, 0, 0);
	expect_malformed(&x, 4, "readable buffer after a writable");
	teardown(&x);
}

/* --- malformed chains: failed with len 0, the device goes on --- */

TEST(malformed_address_out_of_range)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, RAM1_GPA + RAM1_SIZE, 16, VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 0, "outside guest memory");
	desc(&x, 1, 0x80000000ULL, 16, 0, 0); /* in no region at all */
	expect_malformed(&x, 1, "outside guest memory");
	teardown(&x);
}

TEST(malformed_address_overflows)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, 0xfffffffffffffff0ULL, 0x20, VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 0, "outside guest memory");
	desc(&x, 1, BUF_GPA, 0xffffffffu, VRING_DESC_F_WRITE, 0); /* 4 GiB in 2 MiB */
	expect_malformed(&x, 1, "outside guest memory");
	teardown(&x);
}

TEST(malformed_buffer_crosses_region_edge)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, RAM0_SIZE - 8, 16, VRING_DESC_F_WRITE, 0); /* into the gap */
	expect_malformed(&x, 0, "outside guest memory");
	/* From region 0 all the way into region 1: still not one region. */
	desc(&x, 1, RAM0_SIZE - 8, (uint32_t)(RAM1_GPA - RAM0_SIZE + 16), VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 1, "outside guest memory");
	/* The second buffer of a chain, after a good one. */
	desc(&x, 2, BUF_GPA, 16, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 3);
	desc(&x, 3, RAM1_GPA - 4, 8, VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 2, "outside guest memory");
	teardown(&x);
}

TEST(malformed_next_out_of_range)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, SIZE);
	expect_malformed(&x, 0, "next index out of range");
	desc(&x, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0xffff);
	expect_malformed(&x, 1, "next index out of range");
	teardown(&x);
}

TEST(malformed_loop)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc(&x, 1, BUF_GPA + 16, 16, VRING_DESC_F_NEXT, 0); /* a -> b -> a */
	expect_malformed(&x, 0, "loop");
	desc(&x, 2, BUF_GPA, 16, VRING_DESC_F_NEXT, 2); /* a -> a */
	expect_malformed(&x, 2, "loop");
	teardown(&x);
}

TEST(malformed_chain_longer_than_queue)
{
	struct drv x;

	setup(&x);
	/* Every descriptor once (size hops: fine)... */
	for (uint16_t i = 0; i < SIZE; i++)
		desc(&x, i, BUF_GPA + 16ULL * i, 16, i + 1 < SIZE ? VRING_DESC_F_NEXT : 0,
		     (uint16_t)(i + 1));
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_out, SIZE);
	vq_push(&x.vq, 0, 0);
	/* ...and one hop more is a chain longer than the queue. */
	desc(&x, SIZE - 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	expect_malformed(&x, 0, "chain longer than its table");
	teardown(&x);
}

TEST(malformed_readable_after_writable)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc(&x, 1, BUF_GPA + 16, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	desc(&x, 2, BUF_GPA + 32, 16, 0, 0);
	expect_malformed(&x, 0, "readable buffer after a writable");
	teardown(&x);
}

TEST(malformed_too_many_segments)
{
	struct drv x;

	/* VQ_MAX_SEGS buffers are fine, one more is not (a queue big enough to hold them). */
	setup_sized(&x, 512, false, false);
	for (uint16_t i = 0; i <= VQ_MAX_SEGS; i++)
		desc(&x, i, BUF_GPA + 8ULL * i, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
		     (uint16_t)(i + 1));
	desc(&x, VQ_MAX_SEGS - 1, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_in, VQ_MAX_SEGS);
	CHECK_EQ(chain.in_len, 8 * VQ_MAX_SEGS);
	vq_push(&x.vq, 0, 0);
	desc(&x, VQ_MAX_SEGS - 1, BUF_GPA, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, VQ_MAX_SEGS);
	desc(&x, VQ_MAX_SEGS, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 0, "more than VQ_MAX_SEGS");
	teardown(&x);
}

TEST(malformed_chain_over_4_gib)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, HUGE_GPA, 0x80000000u, VRING_DESC_F_NEXT, 1);
	desc(&x, 1, HUGE_GPA, 0x7fffffffu, VRING_DESC_F_NEXT, 2);
	desc(&x, 2, HUGE_GPA, 1, 0, 0); /* exactly 4 GiB - 1 + 1: one byte too many */
	expect_malformed(&x, 0, "longer than 4 GiB");
	desc(&x, 2, HUGE_GPA, 0, 0, 0); /* 4 GiB - 1 is allowed */
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.out_len, 0xffffffffULL);
	teardown(&x);
}

/* --- indirect descriptors --- */

TEST(indirect_table)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	desc_at(&x, TABLE_GPA, 2, BUF_GPA + 16, 32, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	desc_at(&x, TABLE_GPA, 1, RAM1_GPA, 64, VRING_DESC_F_WRITE, 0);
	/* WRITE on the descriptor that points at the table is ignored. */
	desc(&x, 5, TABLE_GPA, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	post(&x, 5);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.head, 5);
	CHECK_EQ(chain.nr_out, 1);
	CHECK_EQ(chain.nr_in, 2);
	CHECK(chain.out[0].iov_base == hva(&x, BUF_GPA, 16));
	CHECK(chain.in[1].iov_base == x.ram1);
	CHECK_EQ(chain.in_len, 96);
	vq_push(&x.vq, 5, 96);
	CHECK_EQ(used_idx(&x), 1);
	teardown(&x);
}

TEST(indirect_after_direct_descriptors)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	/* Spec: zero or more normal descriptors, then one indirect one. */
	desc(&x, 0, BUF_GPA, 12, VRING_DESC_F_NEXT, 1);
	desc(&x, 1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	desc_at(&x, TABLE_GPA, 0, BUF_GPA + 12, 4, VRING_DESC_F_NEXT, 1);
	desc_at(&x, TABLE_GPA, 1, BUF_GPA + 64, 8, VRING_DESC_F_WRITE, 0);
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_out, 2);
	CHECK_EQ(chain.nr_in, 1);
	CHECK_EQ(chain.out_len, 16);
	teardown(&x);
}

TEST(indirect_full_size_table)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	for (uint16_t i = 0; i < SIZE; i++)
		desc_at(&x, TABLE_GPA, i, BUF_GPA + 4ULL * i, 4,
			VRING_DESC_F_WRITE | (i + 1 < SIZE ? VRING_DESC_F_NEXT : 0),
			(uint16_t)(i + 1));
	desc(&x, 0, TABLE_GPA, 16 * SIZE, VRING_DESC_F_INDIRECT, 0);
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	CHECK_EQ(chain.nr_in, SIZE);
	teardown(&x);
}

TEST(malformed_indirect_not_negotiated)
{
	struct drv x;

	setup(&x);
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	desc(&x, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 0, "indirect descriptor not negotiated");
	teardown(&x);
}

TEST(malformed_indirect_length)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	desc(&x, 0, TABLE_GPA, 24, VRING_DESC_F_INDIRECT, 0); /* not a multiple of 16 */
	expect_malformed(&x, 0, "bad indirect table length");
	desc(&x, 1, TABLE_GPA, 0, VRING_DESC_F_INDIRECT, 0); /* empty */
	expect_malformed(&x, 1, "bad indirect table length");
	desc(&x, 2, TABLE_GPA, 16 * (SIZE + 1), VRING_DESC_F_INDIRECT, 0); /* > size entries */
	expect_malformed(&x, 2, "bad indirect table length");
	teardown(&x);
}

TEST(malformed_indirect_table_out_of_range)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	desc(&x, 0, RAM0_SIZE - 16, 32, VRING_DESC_F_INDIRECT, 0); /* crosses into the gap */
	expect_malformed(&x, 0, "indirect table outside guest memory");
	desc(&x, 1, 0xfffffffffffffff0ULL, 32, VRING_DESC_F_INDIRECT, 0); /* wraps */
	expect_malformed(&x, 1, "indirect table outside guest memory");
	/* A buffer inside the table that is out of range. */
	desc_at(&x, TABLE_GPA, 0, RAM1_GPA + RAM1_SIZE - 4, 8, VRING_DESC_F_WRITE, 0);
	desc(&x, 2, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 2, "buffer outside guest memory");
	teardown(&x);
}

TEST(malformed_nested_indirect)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	desc_at(&x, TABLE_GPA, 0, TABLE_GPA + 0x100, 16, VRING_DESC_F_INDIRECT, 0);
	desc_at(&x, TABLE_GPA + 0x100, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	desc(&x, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 0, "nested indirect");
	teardown(&x);
}

TEST(malformed_indirect_with_next)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	desc(&x, 0, TABLE_GPA, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	desc(&x, 1, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	expect_malformed(&x, 0, "indirect descriptor with NEXT");
	teardown(&x);
}

TEST(malformed_inside_indirect_table)
{
	struct drv x;

	setup_sized(&x, SIZE, false, true);
	/* next past the table's own end (2 entries), though < queue size */
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);
	desc_at(&x, TABLE_GPA, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	desc(&x, 0, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 0, "next index out of range");
	/* a loop inside the table */
	desc_at(&x, TABLE_GPA, 1, BUF_GPA, 16, VRING_DESC_F_NEXT, 0);
	desc(&x, 1, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 1, "loop");
	/* readable after writable inside the table */
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
	desc_at(&x, TABLE_GPA, 1, BUF_GPA, 16, 0, 0);
	desc(&x, 2, TABLE_GPA, 2 * 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 2, "readable buffer after a writable");
	/* writable direct descriptor, then a table with a readable one */
	desc_at(&x, TABLE_GPA, 0, BUF_GPA, 16, 0, 0);
	desc(&x, 3, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 4);
	desc(&x, 4, TABLE_GPA, 16, VRING_DESC_F_INDIRECT, 0);
	expect_malformed(&x, 3, "readable buffer after a writable");
	teardown(&x);
}

/* --- a corrupt ring: -EIO, nothing given back, until a reset --- */

TEST(corrupt_avail_idx_jump)
{
	struct drv x;

	setup(&x);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_WRITE, 0);
	x.avail_idx = SIZE + 1; /* more than size ahead of last_avail (0) */
	put16(&x, AVAIL_GPA + 2, x.avail_idx);
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	CHECK(x.vq.broken);
	CHECK_CONTAINS(x.vq.error, "avail->idx");
	CHECK_EQ(used_idx(&x), 0);
	CHECK_EQ(x.vq.last_avail, 0);
	/* It stays broken, even if the driver "fixes" idx. */
	put16(&x, AVAIL_GPA + 2, 1);
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	CHECK(!vq_has_avail(&x.vq));
	CHECK(!vq_enable_notify(&x.vq));

	/* A reset (and the driver setting the queue up again) brings it back. */
	vq_reset(&x.vq);
	CHECK(!x.vq.broken);
	x.vq.size = SIZE;
	x.vq.desc_gpa = DESC_GPA;
	x.vq.avail_gpa = AVAIL_GPA;
	x.vq.used_gpa = USED_GPA;
	CHECK_EQ(vq_validate(&x.vq), 0);
	x.vq.ready = true;
	x.avail_idx = 0;
	put16(&x, AVAIL_GPA + 2, 0);
	put16(&x, USED_GPA + 2, 0);
	good_chain_works(&x);
	teardown(&x);
}

TEST(corrupt_avail_idx_backwards)
{
	struct drv x;

	setup(&x);
	good_chain_works(&x);
	put16(&x, AVAIL_GPA + 2, 0); /* the driver decremented idx: 0xffff ahead */
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	CHECK(x.vq.broken);
	teardown(&x);
}

TEST(corrupt_head_out_of_range)
{
	struct drv x;

	setup(&x);
	post(&x, SIZE);
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	CHECK_CONTAINS(x.vq.error, "head index out of range");
	CHECK_EQ(used_idx(&x), 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	teardown(&x);
}

TEST(unvalidated_ring_outside_memory)
{
	struct drv x;

	setup(&x);
	x.vq.avail_gpa = RAM0_SIZE; /* skipped vq_validate: still no access outside memory */
	CHECK_EQ(vq_pop(&x.vq, &chain), -EIO);
	CHECK(!vq_should_notify(&x.vq));
	teardown(&x);
}

/*
 * --- the notification protocol under concurrency ---
 * A driver thread and a device thread with EVENT_IDX; kicks and interrupts are
 * semaphores. Both sides suppress notifications as much as the protocol allows,
 * so a missing barrier or a wrong event index shows up as a lost wake-up: a
 * timed-out wait.
 */
#define STRESS_N 200000

struct stress {
	struct drv *x;
	sem_t kick, irq;
	int stop;
	int device_error;
	unsigned long kicks, irqs;
};

static bool wait_sem(sem_t *s)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 10;
	while (sem_timedwait(s, &ts)) {
		if (errno != EINTR)
			return false;
	}
	return true;
}

static void *stress_device(void *arg)
{
	struct stress *st = arg;
	struct virtqueue *vq = &st->x->vq;
	static struct vq_chain c; /* this thread's */

	for (;;) {
		if (!wait_sem(&st->kick)) {
			st->device_error = 1; /* no kick for 10 s: lost */
			return NULL;
		}
		if (__atomic_load_n(&st->stop, __ATOMIC_ACQUIRE))
			return NULL;
		for (;;) {
			int ret = vq_pop(vq, &c);

			if (ret == 0) {
				if (!vq_enable_notify(vq))
					break;
				continue;
			}
			if (ret != 1 || c.nr_in != 1 || c.in_len != 8) {
				st->device_error = 2;
				return NULL;
			}
			vq_push(vq, c.head, 8);
		}
		if (vq_should_notify(vq)) {
			st->irqs++;
			sem_post(&st->irq);
		}
	}
}

TEST(concurrent_driver_and_device)
{
	struct drv x;
	struct stress st;
	pthread_t dev;
	uint16_t *avail_idx_p, *used_idx_p, *used_event_p, *avail_event_p;
	uint16_t last_used = 0;
	unsigned long sent = 0, done = 0;

	setup_sized(&x, SIZE, true, false);
	memset(&st, 0, sizeof(st));
	st.x = &x;
	CHECK_EQ(sem_init(&st.kick, 0, 0), 0);
	CHECK_EQ(sem_init(&st.irq, 0, 0), 0);
	avail_idx_p = hva(&x, AVAIL_GPA + 2, 2);
	used_idx_p = hva(&x, USED_GPA + 2, 2);
	used_event_p = hva(&x, AVAIL_GPA + 4 + 2 * SIZE, 2);
	avail_event_p = hva(&x, USED_GPA + 4 + 8 * SIZE, 2);
	CHECK_EQ(pthread_create(&dev, NULL, stress_device, &st), 0);

	while (done < STRESS_N) {
		/* Reap: used->idx with acquire, then the elements it covers. */
		uint16_t u = __atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE);

		while (last_used != u) {
			uint32_t id, len;

			used_elem(&x, last_used, &id, &len);
			if (id != last_used % SIZE || len != 8)
				break;
			last_used++;
			done++;
		}
		if (last_used != u || done == STRESS_N)
			break; /* finished, or a bad element (checked below) */
		if (sent < STRESS_N && (uint16_t)(x.avail_idx - last_used) < SIZE) {
			uint16_t slot = x.avail_idx % SIZE, old = x.avail_idx;

			/* Chains complete in order, so slot avail_idx % size is free again. */
			desc(&x, slot, BUF_GPA + 8ULL * slot, 8, VRING_DESC_F_WRITE, 0);
			__atomic_store_n(word_at(&x, AVAIL_GPA + 4 + 2ULL * slot), slot,
					 __ATOMIC_RELAXED);
			x.avail_idx++;
			__atomic_store_n(avail_idx_p, x.avail_idx, __ATOMIC_RELEASE);
			__atomic_thread_fence(__ATOMIC_SEQ_CST); /* idx before avail_event */
			if ((uint16_t)(x.avail_idx -
				       __atomic_load_n(avail_event_p, __ATOMIC_RELAXED) - 1) <
			    (uint16_t)(x.avail_idx - old)) {
				st.kicks++;
				sem_post(&st.kick);
			}
			sent++;
			continue;
		}
		/* Full (or all sent): ask for an interrupt at the next used entry, re-check, wait.
		 */
		__atomic_store_n(used_event_p, last_used, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* used_event before re-reading idx */
		if (__atomic_load_n(used_idx_p, __ATOMIC_ACQUIRE) != last_used)
			continue;
		if (!wait_sem(&st.irq))
			break; /* lost interrupt */
	}
	__atomic_store_n(&st.stop, 1, __ATOMIC_RELEASE);
	sem_post(&st.kick);
	pthread_join(dev, NULL);
	sem_destroy(&st.kick);
	sem_destroy(&st.irq);
	CHECK_EQ(st.device_error, 0);
	CHECK_EQ(done, STRESS_N);
	/* Suppression worked: far fewer notifications than requests, both ways. */
	CHECK(st.kicks < STRESS_N);
	CHECK(st.irqs < STRESS_N);
	teardown(&x);
}

/*
 * Dirty tracking (Diff snapshots): a push marks the pages of the chain's
 * device-writable buffers (all of them, whatever the used length) and the used
 * ring; never the device-readable ones, and nothing before the push.
 */
TEST(push_marks_written_pages_when_tracking)
{
	uint64_t map0[RAM0_SIZE / 4096 / 64] = {0}, map1[RAM1_SIZE / 4096 / 64] = {0};
	struct drv x;

	setup(&x);
	CHECK_EQ(gm_track_dirty(&x.gm), 0);
	desc(&x, 0, BUF_GPA, 16, VRING_DESC_F_NEXT, 1);			       /* page 0x10 */
	desc(&x, 1, 0x20ff0, 0x20, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2); /* 0x20, 0x21 */
	desc(&x, 2, RAM1_GPA + 0x3000, 8, VRING_DESC_F_WRITE, 0);	       /* ram1 page 3 */
	post(&x, 0);
	CHECK_EQ(vq_pop(&x.vq, &chain), 1);
	gm_dirty_take(&x.gm, 0, map0);
	CHECK_EQ(map0[0], 0); /* popped, not written yet */
	vq_push(&x.vq, chain.head, 1);
	gm_dirty_take(&x.gm, 0, map0);
	gm_dirty_take(&x.gm, 1, map1);
	CHECK_EQ(map0[0], (1ULL << (USED_GPA / 4096)) | (1ULL << 0x20) | (1ULL << 0x21));
	CHECK_EQ(map1[0], 1ULL << 3);
	CHECK_EQ(x.vq.error, NULL);
	guest_mem_destroy(&x.gm);
	teardown(&x);
}

TEST_MAIN(TEST_ENTRY(empty_ring), TEST_ENTRY(not_ready_pops_nothing),
	  TEST_ENTRY(one_chain_readable_then_writable), TEST_ENTRY(chains_pop_in_order),
	  TEST_ENTRY(full_ring_of_size_chains), TEST_ENTRY(index_wraparound),
	  TEST_ENTRY(undo_pop_returns_the_same_chain), TEST_ENTRY(push_of_bad_head_is_dropped),
	  TEST_ENTRY(push_many_publishes_once_in_order), TEST_ENTRY(push_many_wraps_the_ring),
	  TEST_ENTRY(push_many_with_a_bad_head_drops_the_batch), TEST_ENTRY(event_idx_used_event),
	  TEST_ENTRY(event_idx_wraps), TEST_ENTRY(no_interrupt_flag),
	  TEST_ENTRY(signalled_invalid_notifies), TEST_ENTRY(enable_notify_writes_avail_event),
	  TEST_ENTRY(enable_notify_without_event_idx), TEST_ENTRY(validate),
	  TEST_ENTRY(zero_length_descriptors_are_skipped),
	  TEST_ENTRY(malformed_address_out_of_range), TEST_ENTRY(malformed_address_overflows),
	  TEST_ENTRY(malformed_buffer_crosses_region_edge), TEST_ENTRY(malformed_next_out_of_range),
	  TEST_ENTRY(malformed_loop), TEST_ENTRY(malformed_chain_longer_than_queue),
	  TEST_ENTRY(malformed_readable_after_writable), TEST_ENTRY(malformed_too_many_segments),
	  TEST_ENTRY(malformed_chain_over_4_gib), TEST_ENTRY(indirect_table),
	  TEST_ENTRY(indirect_after_direct_descriptors), TEST_ENTRY(indirect_full_size_table),
	  TEST_ENTRY(malformed_indirect_not_negotiated), TEST_ENTRY(malformed_indirect_length),
	  TEST_ENTRY(malformed_indirect_table_out_of_range), TEST_ENTRY(malformed_nested_indirect),
	  TEST_ENTRY(malformed_indirect_with_next), TEST_ENTRY(malformed_inside_indirect_table),
	  TEST_ENTRY(corrupt_avail_idx_jump), TEST_ENTRY(corrupt_avail_idx_backwards),
	  TEST_ENTRY(corrupt_head_out_of_range), TEST_ENTRY(unvalidated_ring_outside_memory),
	  TEST_ENTRY(concurrent_driver_and_device),
	  TEST_ENTRY(push_marks_written_pages_when_tracking))
