// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-rng through the transport's registers, the way a guest driver sees
 * it: a test-side driver brings the device up, lays out a split ring in fake
 * guest memory, posts requests, notifies (QueueNotify) and reads the used ring.
 */
#include "test.h"
#include "virtio_fake_host.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/virtio/rng.h"

#define RAM_SIZE  (4ULL << 20)
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL
#define BUF_GPA	  0x10000ULL
#define BIG_GPA	  0x100000ULL /* 1 MiB requests */
#define QSIZE	  8

struct rig {
	struct virtio_rng r;
	uint8_t *ram;
	struct guest_mem gm;
	uint16_t avail_idx;
	struct fake_host host; /* interrupts, the limiter's runs, the clock */
};

static struct rig rig; /* struct virtio_rng holds a vq_chain: not on the stack */

static uint32_t rd(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(&rig.r.dev, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(uint64_t off, uint32_t v)
{
	virtio_mmio_io(&rig.r.dev, off, (uint8_t *)&v, 4, true);
}

static uint8_t *at(uint64_t gpa)
{
	return rig.ram + gpa;
}

static void put16(uint64_t gpa, uint16_t v)
{
	memcpy(at(gpa), &v, 2);
}

static uint16_t get16(uint64_t gpa)
{
	uint16_t v;

	memcpy(&v, at(gpa), 2);
	return v;
}

static uint32_t get32(uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, at(gpa), 4);
	return v;
}

/* A driver's bring-up (virtio 1.x 3.1.1), checking what the device says at each step. */
static void bring_up(bool event_idx)
{
	wr(VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_MAGIC_VALUE), VIRTIO_MMIO_MAGIC);
	CHECK_EQ(rd(VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_RNG);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	/* no device features: only the transport's */
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES),
		 (1u << VIRTIO_F_RING_EVENT_IDX) | (1u << VIRTIO_F_RING_INDIRECT_DESC));
	wr(VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_DEVICE_FEATURES), 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, event_idx ? 1u << VIRTIO_F_RING_EVENT_IDX : 0);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);

	memset(at(DESC_GPA), 0, 0x3000); /* fresh rings */
	rig.avail_idx = 0;
	wr(VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_RNG_QUEUE_SIZE);
	wr(VIRTIO_MMIO_QUEUE_NUM, QSIZE);
	wr(VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
	wr(VIRTIO_MMIO_QUEUE_READY, 1);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
}

/* The device with the rate limiter @rl (NULL: none), brought up. */
static void setup_rl(const struct rate_limiter_config *rl)
{
	struct guest_region reg;

	memset(&rig, 0, sizeof(rig));
	CHECK_EQ(fh_init(&rig.host), 0);
	rig.ram = calloc(1, RAM_SIZE);
	if (!rig.ram)
		FAIL_AT("calloc");
	reg = (struct guest_region){0, RAM_SIZE, rig.ram};
	CHECK_EQ(guest_mem_init_fake(&rig.gm, &reg, 1), 0);
	CHECK_EQ(virtio_rng_init(&rig.r, rl, fh_ops(), &rig.host, &rig.gm), 0);
	fh_attach(&rig.host, &rig.r.dev);
	bring_up(false);
}

static void setup(void)
{
	setup_rl(NULL);
}

static void teardown(void)
{
	virtio_rng_destroy(&rig.r);
	free(rig.ram);
	fh_destroy(&rig.host);
}

static void desc(uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *p = at(DESC_GPA + 16ULL * i);

	memcpy(p, &addr, 8);
	memcpy(p + 8, &len, 4);
	memcpy(p + 12, &flags, 2);
	memcpy(p + 14, &next, 2);
}

static void post(uint16_t head)
{
	put16(AVAIL_GPA + 4 + 2ULL * (rig.avail_idx % QSIZE), head);
	rig.avail_idx++;
	put16(AVAIL_GPA + 2, rig.avail_idx);
}

static void notify(void)
{
	wr(VIRTIO_MMIO_QUEUE_NOTIFY, 0);
}

static uint16_t used_idx(void)
{
	return get16(USED_GPA + 2);
}

static void used_elem(uint16_t k, uint32_t *id, uint32_t *len)
{
	*id = get32(USED_GPA + 4 + 8ULL * (k % QSIZE));
	*len = get32(USED_GPA + 4 + 8ULL * (k % QSIZE) + 4);
}

static bool all_zero(uint64_t gpa, uint64_t len)
{
	for (uint64_t i = 0; i < len; i++)
		if (at(gpa)[i])
			return false;
	return true;
}

/* Posts one writable buffer at descriptor @head, notifies, returns the used length. */
static uint32_t request(uint16_t head, uint64_t gpa, uint32_t len)
{
	uint16_t k = used_idx();
	uint32_t id, n;

	desc(head, gpa, len, VRING_DESC_F_WRITE, 0);
	post(head);
	notify();
	CHECK_EQ(used_idx(), (uint16_t)(k + 1));
	used_elem(k, &id, &n);
	CHECK_EQ(id, head);
	return n;
}

TEST(request_64_bytes)
{
	uint8_t first[64];

	setup();
	CHECK(all_zero(BUF_GPA, 128));
	CHECK_EQ(request(0, BUF_GPA, 64), 64);
	CHECK(!all_zero(BUF_GPA, 64));
	CHECK(all_zero(BUF_GPA + 64, 64)); /* nothing past the buffer */
	CHECK_EQ(rig.host.interrupts, 1);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	wr(VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED_RING);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(rig.r.entropy_bytes, 64);
	CHECK_EQ(rig.r.requests, 1);
	CHECK_EQ(rig.r.entropy_event_count, 1);
	CHECK_EQ(rig.r.dev.queue_notifies, 1);
	CHECK_EQ(rig.r.dev.event_fails, 0);

	/* A second request gets different bytes. */
	memcpy(first, at(BUF_GPA), 64);
	CHECK_EQ(request(1, BUF_GPA, 64), 64);
	CHECK(memcmp(first, at(BUF_GPA), 64) != 0);
	CHECK_EQ(rig.host.interrupts, 2);
	teardown();
}

TEST(request_split_over_buffers)
{
	uint32_t id, len;

	setup();
	desc(2, BUF_GPA, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 5);
	desc(5, BUF_GPA + 0x100, 48, VRING_DESC_F_WRITE, 0);
	post(2);
	notify();
	CHECK_EQ(used_idx(), 1);
	used_elem(0, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, 64);
	CHECK(!all_zero(BUF_GPA, 16));
	CHECK(!all_zero(BUF_GPA + 0x100, 48));
	CHECK(all_zero(BUF_GPA + 16, 0x100 - 16));
	teardown();
}

TEST(readable_buffers_are_refused)
{
	uint32_t id, len;

	setup();
	/* Only a readable buffer. */
	desc(0, BUF_GPA, 64, 0, 0);
	post(0);
	notify();
	CHECK_EQ(used_idx(), 1);
	used_elem(0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 0);
	CHECK(all_zero(BUF_GPA, 64));
	CHECK_EQ(rig.r.dev.event_fails, 1);
	CHECK_EQ(rig.host.interrupts, 1); /* the guest gets its buffer back */

	/* Readable then writable: the spec forbids readable buffers for this device. */
	desc(1, BUF_GPA, 16, VRING_DESC_F_NEXT, 2);
	desc(2, BUF_GPA + 0x100, 64, VRING_DESC_F_WRITE, 0);
	post(1);
	notify();
	used_elem(1, &id, &len);
	CHECK_EQ(id, 1);
	CHECK_EQ(len, 0);
	CHECK(all_zero(BUF_GPA + 0x100, 64));
	CHECK_EQ(rig.r.dev.event_fails, 2);

	/* A writable buffer of zero bytes: nothing to fill. */
	desc(3, BUF_GPA, 0, VRING_DESC_F_WRITE, 0);
	post(3);
	notify();
	used_elem(2, &id, &len);
	CHECK_EQ(len, 0);
	CHECK_EQ(rig.r.dev.event_fails, 3);

	/* The device goes on. */
	CHECK_EQ(request(4, BUF_GPA, 32), 32);
	CHECK_EQ(rig.r.entropy_bytes, 32);
	teardown();
}

TEST(malformed_chain_is_failed_and_counted)
{
	uint32_t id, len;

	setup();
	desc(0, RAM_SIZE - 8, 64, VRING_DESC_F_WRITE, 0); /* runs off guest memory */
	post(0);
	notify();
	used_elem(0, &id, &len);
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(len, 0);
	CHECK_EQ(rig.r.dev.event_fails, 1);
	CHECK_EQ(request(1, BUF_GPA, 64), 64);
	CHECK(!(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

TEST(huge_request_is_capped)
{
	setup();
	CHECK_EQ(request(0, BIG_GPA, 1u << 20), VIRTIO_RNG_MAX_REQUEST);
	CHECK_EQ(rig.r.capped, 1);
	CHECK(!all_zero(BIG_GPA + VIRTIO_RNG_MAX_REQUEST - 64, 64));
	CHECK(all_zero(BIG_GPA + VIRTIO_RNG_MAX_REQUEST, (1u << 20) - VIRTIO_RNG_MAX_REQUEST));
	CHECK_EQ(rig.r.entropy_bytes, VIRTIO_RNG_MAX_REQUEST);

	/* Over two buffers: the first filled, the second only up to the cap. */
	desc(1, BIG_GPA, 48 << 10, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2);
	desc(2, BIG_GPA + (1 << 20), 48 << 10, VRING_DESC_F_WRITE, 0);
	memset(at(BIG_GPA), 0, 2 << 20);
	post(1);
	notify();
	CHECK_EQ(get32(USED_GPA + 4 + 8 + 4), VIRTIO_RNG_MAX_REQUEST);
	CHECK(!all_zero(BIG_GPA + (1 << 20) + (16 << 10) - 64, 64));
	CHECK(all_zero(BIG_GPA + (1 << 20) + (16 << 10), 32 << 10));
	CHECK_EQ(rig.r.capped, 2);
	teardown();
}

TEST(one_interrupt_per_batch)
{
	setup();
	for (uint16_t i = 0; i < 3; i++) {
		desc(i, BUF_GPA + 0x100ULL * i, 32, VRING_DESC_F_WRITE, 0);
		post(i);
	}
	notify();
	CHECK_EQ(used_idx(), 3);
	CHECK_EQ(rig.host.interrupts, 1);
	CHECK_EQ(rig.r.requests, 3);
	/* A spurious notification: nothing to do, no interrupt. */
	notify();
	CHECK_EQ(rig.host.interrupts, 1);
	CHECK_EQ(rig.r.entropy_event_count, 2);
	teardown();
}

TEST(no_interrupt_flag_suppresses)
{
	setup();
	put16(AVAIL_GPA, VRING_AVAIL_F_NO_INTERRUPT);
	CHECK_EQ(request(0, BUF_GPA, 8), 8);
	CHECK_EQ(rig.host.interrupts, 0);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	teardown();
}

TEST(event_idx_arms_avail_event)
{
	setup();
	bring_up(true);
	CHECK(rig.r.dev.vqs[0].event_idx);
	CHECK_EQ(request(0, BUF_GPA, 8), 8);
	CHECK_EQ(request(1, BUF_GPA, 8), 8);
	/* avail_event (after used->ring[QSIZE]): notify me when you add entry 2 */
	CHECK_EQ(get16(USED_GPA + 4 + 8 * QSIZE), 2);
	CHECK_EQ(rig.host.interrupts,
		 1); /* used_event stays 0: only the first used entry passes it */
	teardown();
}

TEST(rate_limiter_hook_defers)
{
	/* One request's worth of bytes per 100 ms. */
	const struct rate_limiter_config rl = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = VIRTIO_RNG_MAX_REQUEST, .refill_time_ms = 100},
	};
	uint64_t wait_ns;

	setup_rl(&rl);
	/* The bucket is empty: its tokens went to an earlier request. */
	CHECK(rl_consume(&rig.r.rl, VIRTIO_RNG_MAX_REQUEST, rig.host.now, &wait_ns));
	desc(0, BIG_GPA, 1u << 20, VRING_DESC_F_WRITE, 0);
	post(0);
	notify();
	CHECK_EQ(rig.host.schedules, 1); /* asked the limiter once, then for a retry */
	/* Asked for what will be produced: the refill of exactly one capped request. */
	CHECK_EQ(rig.host.last_delay, 100000000ULL);
	CHECK_EQ(used_idx(), 0);
	CHECK_EQ(rig.r.entropy_rate_limiter_throttled, 1);
	CHECK_EQ(rig.host.interrupts, 0);
	CHECK(all_zero(BIG_GPA, 64));
	CHECK(vq_has_avail(&rig.r.dev.vqs[0])); /* still there */

	/* Tokens again: the run the device asked for serves the queue. */
	CHECK(!fh_run_due(&rig.host));
	rig.host.now += rig.host.last_delay;
	CHECK(fh_run_due(&rig.host));
	CHECK_EQ(used_idx(), 1);
	CHECK_EQ(get32(USED_GPA + 8), VIRTIO_RNG_MAX_REQUEST);
	CHECK_EQ(rig.r.rl.tb[RL_BYTES].budget, 0); /* the limiter was charged again */
	CHECK_EQ(rig.host.interrupts, 1);
	teardown();
}

/* Saves the device into @buf (the caller frees it) and parses it into @f. */
static void snap_save(uint8_t **buf, size_t *len, struct state_file *f)
{
	char err[STATE_ERR_MAX];
	struct state_writer w;

	state_write_init(&w);
	virtio_dev_save(&rig.r.dev, &w, 3);
	CHECK_EQ(state_write_finish(&w, buf, len), 0);
	CHECK_EQ(state_file_parse(f, *buf, *len, err), 0);
}

/* A fresh device (no rate limiter configured: the saved one comes from the file). */
static int snap_restore_fresh(const struct state_file *f)
{
	virtio_rng_destroy(&rig.r);
	CHECK_EQ(virtio_rng_init(&rig.r, NULL, fh_ops(), &rig.host, &rig.gm), 0);
	rig.host.run_pending = false;
	rig.host.schedules = 0;
	return virtio_dev_restore(&rig.r.dev, f, 3);
}

TEST(snapshot_round_trip)
{
	const struct rate_limiter_config rl = {
	    .has_bandwidth = true,
	    .bandwidth = {.size = VIRTIO_RNG_MAX_REQUEST, .refill_time_ms = 100},
	};
	struct state_file f;
	uint8_t *buf;
	size_t len;

	setup_rl(&rl);
	CHECK_EQ(request(0, BUF_GPA, 64), 64);
	/* The bucket emptied and a request throttled: the snapshot is taken while it waits. */
	CHECK(rl_consume(&rig.r.rl, VIRTIO_RNG_MAX_REQUEST - 64, rig.host.now, NULL));
	desc(1, BIG_GPA, VIRTIO_RNG_MAX_REQUEST / 2, VRING_DESC_F_WRITE, 0);
	post(1);
	notify();
	CHECK_EQ(used_idx(), 1);
	rig.host.now += 25000000ULL; /* half the 50 ms its bytes take to refill */
	snap_save(&buf, &len, &f);

	rig.host.now = 7000000000ULL; /* another process: another device clock */
	CHECK_EQ(snap_restore_fresh(&f), 0);
	CHECK(rig.r.dev.activated);
	CHECK_EQ(rd(VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
					     VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	CHECK(rl_active(&rig.r.rl));
	CHECK_EQ(rig.r.dev.vqs[0].last_avail, 1);
	CHECK_EQ(rig.host.interrupts, 1); /* the restore itself raised nothing */
	/* The restore asked for a run; the limiter still waits its other half. */
	CHECK(rig.host.run_pending);
	CHECK(fh_run_due(&rig.host));
	CHECK_EQ(used_idx(), 1);
	rig.host.now += 25000000ULL;
	CHECK(fh_run_due(&rig.host));
	CHECK_EQ(used_idx(), 2);
	CHECK_EQ(get32(USED_GPA + 4 + 8), 1);
	CHECK_EQ(get32(USED_GPA + 4 + 8 + 4), VIRTIO_RNG_MAX_REQUEST / 2);
	/* And the ring goes on from there. */
	rig.host.now += 100000000ULL;
	CHECK_EQ(request(2, BUF_GPA + 128, 32), 32);
	CHECK_EQ(used_idx(), 3);
	state_file_free(&f);
	free(buf);
	teardown();
}

TEST(snapshot_bad_sections_refused)
{
	/* Offsets in the section: device id (0), status (8), the first queue's size (41). */
	static const struct {
		size_t off;
		uint8_t v;
	} bad[] = {{0, 7}, {8, 0x10}, {41, 3}, {41, 0}, {42, 0x10}};
	struct state_file f;
	uint8_t *buf;
	size_t len;

	setup();
	CHECK_EQ(request(0, BUF_GPA, 64), 64);
	snap_save(&buf, &len, &f);
	CHECK_EQ(f.nr_sections, 1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *p = (uint8_t *)(uintptr_t)f.sections[0].data + bad[i].off, old = *p;

		if (bad[i].off == 41 && bad[i].v == 0) {
			/* Size 0 on a live queue: not a ring vq_validate accepts. */
			*p = 0;
		} else {
			*p = bad[i].v;
		}
		CHECK_EQ(snap_restore_fresh(&f), -EINVAL);
		*p = old;
	}
	/* Cut short. */
	f.sections[0].len -= 3;
	CHECK_EQ(snap_restore_fresh(&f), -EINVAL);
	f.sections[0].len += 3;
	CHECK_EQ(snap_restore_fresh(&f), 0);
	CHECK_EQ(request(1, BUF_GPA, 64), 64);
	state_file_free(&f);
	free(buf);
	teardown();
}

TEST(corrupt_ring_needs_reset)
{
	setup();
	desc(0, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	put16(AVAIL_GPA + 2, QSIZE + 1); /* more than the queue size ahead */
	notify();
	CHECK_EQ(used_idx(), 0);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	CHECK_EQ(rig.r.dev.event_fails, 1);
	notify(); /* ignored now */
	CHECK_EQ(rig.r.entropy_event_count, 1);
	/* A reset and a new bring-up recover. */
	bring_up(false);
	CHECK_EQ(request(0, BUF_GPA, 8), 8);
	teardown();
}

TEST(notify_before_driver_ok_is_ignored)
{
	setup();
	wr(VIRTIO_MMIO_STATUS, 0);
	desc(0, BUF_GPA, 8, VRING_DESC_F_WRITE, 0);
	post(0);
	notify();
	CHECK_EQ(rig.r.entropy_event_count, 0);
	CHECK_EQ(used_idx(), 0);
	teardown();
}

TEST(driver_ok_without_queue_fails)
{
	setup();
	wr(VIRTIO_MMIO_STATUS, 0);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(VIRTIO_MMIO_DRIVER_FEATURES, 1);
	wr(VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
	wr(VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
				   VIRTIO_STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK);
	CHECK(rd(VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rig.r.dev.activate_fails, 1);
	teardown();
}

TEST(no_config_space)
{
	uint32_t w = 0xffffffff;

	setup();
	virtio_mmio_io(&rig.r.dev, VIRTIO_MMIO_CONFIG, (uint8_t *)&w, 4, false);
	CHECK_EQ(w, 0);
	teardown();
}

TEST_MAIN(TEST_ENTRY(request_64_bytes), TEST_ENTRY(request_split_over_buffers),
	  TEST_ENTRY(readable_buffers_are_refused),
	  TEST_ENTRY(malformed_chain_is_failed_and_counted), TEST_ENTRY(huge_request_is_capped),
	  TEST_ENTRY(one_interrupt_per_batch), TEST_ENTRY(no_interrupt_flag_suppresses),
	  TEST_ENTRY(event_idx_arms_avail_event), TEST_ENTRY(rate_limiter_hook_defers),
	  TEST_ENTRY(corrupt_ring_needs_reset), TEST_ENTRY(notify_before_driver_ok_is_ignored),
	  TEST_ENTRY(driver_ok_without_queue_fails), TEST_ENTRY(no_config_space),
	  TEST_ENTRY(snapshot_round_trip), TEST_ENTRY(snapshot_bad_sections_refused))
