// SPDX-License-Identifier: Apache-2.0
/*
 * The virtio-mmio transport through its registers, with a fake device (two
 * queues, an 8-byte configuration space, counters for every op) and fake guest
 * memory for the rings.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#include "devices/virtio/virtio_mmio.h"

#define RAM_SIZE  (4ULL << 20)
#define DESC_GPA  0x1000ULL
#define AVAIL_GPA 0x2000ULL
#define USED_GPA  0x3000ULL
#define QMAX	  16
#define FEAT_A	  0 /* the fake device's own feature bits */
#define FEAT_B	  5

struct fake {
	struct virtio_dev d;
	uint8_t *ram;
	struct guest_mem gm;
	uint8_t config[8];
	int resets, activates, notifies, interrupts, config_writes;
	unsigned int last_queue;
	int activate_ret;
};

static void fake_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct fake *f = d->opaque;

	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < sizeof(f->config) ? f->config[off + i] : 0;
}

static void fake_config_write(struct virtio_dev *d, uint64_t off, const uint8_t *data, uint32_t len)
{
	struct fake *f = d->opaque;

	f->config_writes++;
	for (uint32_t i = 0; i < len && off + i < sizeof(f->config); i++)
		f->config[off + i] = data[i];
}

static int fake_activate(struct virtio_dev *d)
{
	struct fake *f = d->opaque;

	f->activates++;
	return f->activate_ret;
}

static void fake_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct fake *f = d->opaque;

	f->notifies++;
	f->last_queue = q;
}

static void fake_reset(struct virtio_dev *d)
{
	struct fake *f = d->opaque;

	f->resets++;
}

static void fake_interrupt(struct virtio_dev *d)
{
	struct fake *f = d->opaque;

	f->interrupts++;
}

static const struct virtio_dev_ops fake_ops = {
    .name = "fake",
    .device_id = 42,
    .nr_queues = 2,
    .queue_max = QMAX,
    .features = (1ULL << FEAT_A) | (1ULL << FEAT_B),
    .config_read = fake_config_read,
    .config_write = fake_config_write,
    .activate = fake_activate,
    .queue_notify = fake_queue_notify,
    .reset = fake_reset,
};

static const struct virtio_host_ops fake_host = {.interrupt = fake_interrupt};

static void setup(struct fake *f)
{
	struct guest_region r;

	memset(f, 0, sizeof(*f));
	f->ram = calloc(1, RAM_SIZE);
	if (!f->ram)
		FAIL_AT("calloc");
	r = (struct guest_region){0, RAM_SIZE, f->ram};
	CHECK_EQ(guest_mem_init_fake(&f->gm, &r, 1), 0);
	for (unsigned int i = 0; i < sizeof(f->config); i++)
		f->config[i] = (uint8_t)(0x10 + i);
	virtio_dev_init(&f->d, &fake_ops, &fake_host, NULL, f, &f->gm);
}

static void teardown(struct fake *f)
{
	virtio_dev_destroy(&f->d);
	free(f->ram);
}

static uint32_t rd(struct fake *f, uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	virtio_mmio_io(&f->d, off, (uint8_t *)&v, 4, false);
	return v;
}

static void wr(struct fake *f, uint64_t off, uint32_t v)
{
	virtio_mmio_io(&f->d, off, (uint8_t *)&v, 4, true);
}

static void negotiate(struct fake *f, uint32_t low, uint32_t high)
{
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, low);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(f, VIRTIO_MMIO_DRIVER_FEATURES, high);
	wr(f, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
}

#define STATUS_FEATURES_OK \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK)
#define STATUS_LIVE (STATUS_FEATURES_OK | VIRTIO_STATUS_DRIVER_OK)

static void setup_queue(struct fake *f, uint32_t q, uint32_t num, uint64_t desc, uint64_t avail,
			uint64_t used)
{
	wr(f, VIRTIO_MMIO_QUEUE_SEL, q);
	wr(f, VIRTIO_MMIO_QUEUE_NUM, num);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)desc);
	wr(f, VIRTIO_MMIO_QUEUE_DESC_HIGH, (uint32_t)(desc >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)avail);
	wr(f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(avail >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)used);
	wr(f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(used >> 32));
	wr(f, VIRTIO_MMIO_QUEUE_READY, 1);
}

/* The whole bring-up with queue 0 valid, VERSION_1 + EVENT_IDX + FEAT_A accepted. */
static void bring_up(struct fake *f)
{
	negotiate(f, (1u << FEAT_A) | (1u << VIRTIO_F_RING_EVENT_IDX), 1);
	CHECK_EQ(rd(f, VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);
	setup_queue(f, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(rd(f, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	CHECK(f->d.activated);
}

TEST(identity_registers)
{
	struct fake f;

	setup(&f);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_VERSION), 2);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_DEVICE_ID), 42);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_VENDOR_ID), 0x52424d45); /* "EMBR" */
	CHECK_EQ(memcmp(&(uint32_t){VIRTIO_MMIO_VENDOR}, "EMBR", 4), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), QMAX);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 2); /* no such queue */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_SHM_LEN_LOW), 0xffffffff); /* no shared memory */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_SHM_LEN_HIGH), 0xffffffff);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_DESC_LOW), 0); /* write-only */
	CHECK_EQ(f.d.cfg_fails, 0);
	CHECK_EQ(rd(&f, 0x0f0), 0); /* not a register */
	CHECK_EQ(f.d.cfg_fails, 1);
	teardown(&f);
}

TEST(features_offered)
{
	struct fake f;

	setup(&f);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), (1u << FEAT_A) | (1u << FEAT_B) |
							  (1u << VIRTIO_F_RING_INDIRECT_DESC) |
							  (1u << VIRTIO_F_RING_EVENT_IDX));
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), 1); /* VERSION_1 is bit 32 */
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_DEVICE_FEATURES), 0);
	teardown(&f);
}

TEST(features_accept_subset)
{
	struct fake f;

	setup(&f);
	negotiate(&f, (1u << FEAT_A) | (1u << VIRTIO_F_RING_EVENT_IDX), 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);
	CHECK(virtio_dev_has_feature(&f.d, FEAT_A));
	CHECK(!virtio_dev_has_feature(&f.d, FEAT_B));
	CHECK(virtio_dev_has_feature(&f.d, VIRTIO_F_RING_EVENT_IDX));
	CHECK(!virtio_dev_has_feature(&f.d, VIRTIO_F_RING_INDIRECT_DESC));
	CHECK(virtio_dev_has_feature(&f.d, VIRTIO_F_VERSION_1));
	CHECK(!virtio_dev_has_feature(&f.d, 64));
	/* Features are final once FEATURES_OK stuck. */
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 1u << FEAT_B);
	CHECK(!virtio_dev_has_feature(&f.d, FEAT_B));
	CHECK(virtio_dev_has_feature(&f.d, FEAT_A));
	CHECK_EQ(f.d.cfg_fails, 1);
	teardown(&f);
}

TEST(features_refuse_unknown_bits)
{
	struct fake f;

	setup(&f);
	negotiate(&f, (1u << FEAT_A) | (1u << 7), 1); /* bit 7 was not offered */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK(!virtio_dev_has_feature(&f.d, FEAT_A));
	/* DRIVER_OK cannot follow a refused FEATURES_OK. */
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ(f.activates, 0);
	/* The driver may try again with an acceptable set. */
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 1u << FEAT_A);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_FEATURES_OK);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), STATUS_FEATURES_OK);

	/* A bit in the high word that was not offered, and one in word 2. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	negotiate(&f, 0, 1 | 2);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	teardown(&f);
}

TEST(features_refuse_without_version_1)
{
	struct fake f;

	setup(&f);
	negotiate(&f, 1u << FEAT_A, 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK(!virtio_dev_has_feature(&f.d, VIRTIO_F_VERSION_1));
	teardown(&f);
}

TEST(features_written_outside_the_window_are_ignored)
{
	struct fake f;

	setup(&f);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* before DRIVER */
	CHECK_EQ(f.d.driver_features, 0);
	CHECK_EQ(f.d.cfg_fails, 1);
	wr(&f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	wr(&f, VIRTIO_MMIO_DRIVER_FEATURES, 1); /* ACKNOWLEDGE only */
	CHECK_EQ(f.d.driver_features, 0);
	teardown(&f);
}

TEST(status_transitions)
{
	struct fake f;

	setup(&f);
	wr(&f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER); /* skips ACKNOWLEDGE */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(f.d.cfg_fails, 1);
	wr(&f, VIRTIO_MMIO_STATUS, 0x20); /* unknown bit */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	/* Several steps in one write are fine when in order. */
	wr(&f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* DRIVER_OK before FEATURES_OK */
	wr(&f, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	/* clearing a bit without a reset */
	wr(&f, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	CHECK_EQ(f.d.cfg_fails, 4);
	CHECK_EQ(f.activates, 0);
	/* FAILED: the driver gives up, at any point */
	wr(&f, VIRTIO_MMIO_STATUS,
	   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS),
		 VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	CHECK_EQ(f.resets, 0);
	teardown(&f);
}

TEST(driver_ok_activates_with_final_features)
{
	struct fake f;

	setup(&f);
	bring_up(&f);
	CHECK_EQ(f.activates, 1);
	CHECK_EQ(f.d.activate_fails, 0);
	CHECK(f.d.vqs[0].ready);
	CHECK_EQ(f.d.vqs[0].size, 8);
	CHECK_EQ(f.d.vqs[0].desc_gpa, DESC_GPA);
	CHECK_EQ(f.d.vqs[0].avail_gpa, AVAIL_GPA);
	CHECK_EQ(f.d.vqs[0].used_gpa, USED_GPA);
	CHECK(f.d.vqs[0].event_idx);
	CHECK(!f.d.vqs[0].indirect);
	CHECK(!f.d.vqs[1].ready); /* unused queue: fine */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK_EQ(f.interrupts, 0);
	teardown(&f);
}

TEST(high_address_halves)
{
	struct fake f;

	setup(&f);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0x12);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x345670);
	wr(&f, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0x1);
	wr(&f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, 0x80);
	wr(&f, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0xffffffff);
	CHECK_EQ(f.d.vqs[1].desc_gpa, 0x1200345670ULL);
	CHECK_EQ(f.d.vqs[1].avail_gpa, 0x100000000ULL);
	CHECK_EQ(f.d.vqs[1].used_gpa, 0xffffffff00000080ULL);
	CHECK_EQ(f.d.vqs[0].desc_gpa, 0);
	teardown(&f);
}

TEST(queue_outside_memory_needs_reset)
{
	struct fake f;

	setup(&f);
	negotiate(&f, 0, 1);
	setup_queue(&f, 0, 8, DESC_GPA, AVAIL_GPA, RAM_SIZE - 16); /* used ring crosses the end */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 1);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), STATUS_LIVE | VIRTIO_STATUS_NEEDS_RESET);
	CHECK(!f.d.activated);
	CHECK_EQ(f.activates, 0);
	CHECK_EQ(f.d.activate_fails, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	CHECK_EQ(f.interrupts, 1);
	/* Notifications go nowhere until a reset. */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(f.notifies, 0);

	/* A reset and a good set-up bring it back. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	bring_up(&f);
	CHECK_EQ(f.activates, 1);

	/* Far outside memory (above 4 GiB) on the other queue. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	negotiate(&f, 0, 1);
	setup_queue(&f, 1, 8, 0x100000000ULL, AVAIL_GPA, USED_GPA);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(f.d.activate_fails, 2);
	teardown(&f);
}

TEST(queue_misaligned_needs_reset)
{
	struct fake f;

	setup(&f);
	negotiate(&f, 0, 1);
	setup_queue(&f, 0, 8, DESC_GPA + 8, AVAIL_GPA, USED_GPA);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(!f.d.activated);
	teardown(&f);
}

TEST(queue_num_must_be_power_of_two_within_max)
{
	static const uint32_t bad[] = {0, 3, 12, QMAX * 2, 0x10000};
	struct fake f;

	setup(&f);
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wr(&f, VIRTIO_MMIO_STATUS, 0);
		negotiate(&f, 0, 1);
		setup_queue(&f, 0, bad[i], DESC_GPA, AVAIL_GPA, USED_GPA);
		wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
		if (!(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET))
			FAIL_AT("QueueNum %u accepted", bad[i]);
	}
	CHECK_EQ(f.activates, 0);
	/* The size left alone after a reset is QueueNumMax. */
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	negotiate(&f, 0, 1);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, DESC_GPA);
	wr(&f, VIRTIO_MMIO_QUEUE_DRIVER_LOW, AVAIL_GPA);
	wr(&f, VIRTIO_MMIO_QUEUE_DEVICE_LOW, USED_GPA);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), STATUS_LIVE);
	CHECK_EQ(f.d.vqs[0].size, QMAX);
	teardown(&f);
}

TEST(activate_failure_needs_reset)
{
	struct fake f;

	setup(&f);
	f.activate_ret = -EIO;
	negotiate(&f, 0, 1);
	setup_queue(&f, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK_EQ(f.activates, 1);
	CHECK_EQ(f.d.activate_fails, 1);
	CHECK(!f.d.activated);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), STATUS_LIVE | VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	/* The driver writing back what it read (NEEDS_RESET included) changes nothing. */
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS),
		 STATUS_LIVE | VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED);
	CHECK_EQ(f.activates, 1);
	teardown(&f);
}

TEST(queue_registers_lock_when_live)
{
	struct fake f;

	setup(&f);
	negotiate(&f, 0, 1);
	setup_queue(&f, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	/* ready: the queue's configuration is fixed */
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(&f, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x5000);
	CHECK_EQ(f.d.vqs[0].size, 8);
	CHECK_EQ(f.d.vqs[0].desc_gpa, DESC_GPA);
	CHECK_EQ(f.d.cfg_fails, 2);
	/* not ready again: writable again */
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 4);
	CHECK_EQ(f.d.vqs[0].size, 4);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK(f.d.activated);
	/* after DRIVER_OK: even a queue that is not ready is fixed */
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(&f, VIRTIO_MMIO_QUEUE_NUM, 4);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	CHECK_EQ(f.d.vqs[1].size, QMAX);
	/* QueueReady = 0 is always taken (Linux's del_vqs reads it back) */
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 0);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	/* writes to an absent queue go nowhere */
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 7);
	wr(&f, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(!f.d.vqs[7].ready);
	teardown(&f);
}

TEST(reset_clears_everything)
{
	struct fake f;

	setup(&f);
	bring_up(&f);
	f.d.vqs[0].last_avail = 5;
	f.d.vqs[0].used_idx = 5;
	virtio_dev_signal_config(&f.d);
	CHECK(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS) != 0);
	wr(&f, VIRTIO_MMIO_QUEUE_SEL, 1);
	wr(&f, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);

	wr(&f, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(f.resets, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	CHECK(!f.d.activated);
	CHECK_EQ(f.d.driver_features, 0);
	CHECK_EQ(f.d.queue_sel, 0);
	CHECK_EQ(f.d.device_features_sel, 0);
	CHECK(!virtio_dev_has_feature(&f.d, VIRTIO_F_VERSION_1));
	for (unsigned int q = 0; q < 2; q++) {
		const struct virtqueue *vq = &f.d.vqs[q];

		CHECK(!vq->ready);
		CHECK_EQ(vq->size, QMAX);
		CHECK_EQ(vq->desc_gpa, 0);
		CHECK_EQ(vq->avail_gpa, 0);
		CHECK_EQ(vq->used_gpa, 0);
		CHECK_EQ(vq->last_avail, 0);
		CHECK_EQ(vq->used_idx, 0);
		CHECK(!vq->event_idx);
		CHECK(vq->mem == &f.gm);
	}
	CHECK_EQ(rd(&f, VIRTIO_MMIO_QUEUE_READY), 0);
	/* The generation survives: the driver compares it across reads. */
	CHECK_EQ(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), 1);
	/* And the device comes up again. */
	bring_up(&f);
	CHECK_EQ(f.activates, 2);
	teardown(&f);
}

TEST(interrupt_status_and_ack)
{
	struct fake f;
	uint16_t one = 1;

	setup(&f);
	bring_up(&f);
	/* Nothing pushed: no interrupt. */
	CHECK(!virtio_dev_signal_used(&f.d, 0));
	CHECK_EQ(f.interrupts, 0);
	/* Push one used element (used_event 0 in the zeroed avail ring: wanted). */
	vq_push(&f.d.vqs[0], 0, 4);
	CHECK(virtio_dev_signal_used(&f.d, 0));
	CHECK_EQ(f.interrupts, 1);
	CHECK_EQ(f.d.interrupts, 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING);
	virtio_dev_signal_config(&f.d);
	CHECK_EQ(f.interrupts, 2);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_USED_RING | VIRTIO_INT_CONFIG);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_USED_RING);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	wr(&f, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_CONFIG);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), 0);
	/* The guest asked for no interrupt until used entry 1 (EVENT_IDX was negotiated). */
	memcpy(f.ram + AVAIL_GPA + 4 + 2 * 8, &one, 2);
	vq_push(&f.d.vqs[0], 1, 4); /* writes entry 1: used idx 1 -> 2 */
	CHECK(virtio_dev_signal_used(&f.d, 0));
	one = 9;
	memcpy(f.ram + AVAIL_GPA + 4 + 2 * 8, &one, 2);
	vq_push(&f.d.vqs[0], 2, 4);
	CHECK(!virtio_dev_signal_used(&f.d, 0));
	CHECK(!virtio_dev_signal_used(&f.d, 5)); /* no such queue */
	CHECK_EQ(f.interrupts, 3);
	teardown(&f);
}

TEST(config_space_any_width)
{
	struct fake f;
	uint8_t b[8];
	uint16_t h = 0;
	uint32_t w = 0;
	uint64_t q = 0;

	setup(&f);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 1, b, 1, false);
	CHECK_EQ(b[0], 0x11);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 2, (uint8_t *)&h, 2, false);
	CHECK_EQ(h, 0x1312);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 4, (uint8_t *)&w, 4, false);
	CHECK_EQ(w, 0x17161514);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG, (uint8_t *)&q, 8, false);
	CHECK_EQ(q, 0x1716151413121110ULL);
	w = 0xffffffff;
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 6, (uint8_t *)&w, 4,
		       false); /* runs off the end */
	CHECK_EQ(w, 0x1716);
	w = 0xffffffff;
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 0x100, (uint8_t *)&w, 4, false);
	CHECK_EQ(w, 0);
	h = 0xabcd;
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG + 2, (uint8_t *)&h, 2, true);
	CHECK_EQ(f.config_writes, 1);
	CHECK_EQ(f.config[2], 0xcd);
	CHECK_EQ(f.config[3], 0xab);
	CHECK_EQ(f.d.cfg_fails, 0);
	teardown(&f);
}

TEST(config_space_without_ops_reads_zero)
{
	static const struct virtio_dev_ops bare = {.name = "bare",
						   .device_id = 4,
						   .nr_queues = 1,
						   .queue_max = 8,
						   .queue_notify = fake_queue_notify};
	struct fake f;
	uint32_t w = 0xffffffff;

	setup(&f);
	virtio_dev_destroy(&f.d);
	virtio_dev_init(&f.d, &bare, &fake_host, NULL, &f, &f.gm);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG, (uint8_t *)&w, 4, false);
	CHECK_EQ(w, 0);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_CONFIG, (uint8_t *)&w, 4, true); /* dropped */
	/* No activate op: DRIVER_OK is enough. No reset op: fine. */
	negotiate(&f, 0, 1);
	setup_queue(&f, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK(f.d.activated);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	CHECK(!f.d.activated);
	teardown(&f);
}

TEST(bad_widths)
{
	struct fake f;
	uint8_t b = 0xff;
	uint16_t h = 0xffff;
	uint64_t q = ~0ULL;
	uint32_t w = 0xffffffff;

	setup(&f);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_MAGIC_VALUE, &b, 1, false);
	CHECK_EQ(b, 0);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&h, 2, false);
	CHECK_EQ(h, 0);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_MAGIC_VALUE, (uint8_t *)&q, 8, false);
	CHECK_EQ(q, 0);
	virtio_mmio_io(&f.d, VIRTIO_MMIO_MAGIC_VALUE + 2, (uint8_t *)&w, 4, false); /* misaligned */
	CHECK_EQ(w, 0);
	b = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_io(&f.d, VIRTIO_MMIO_STATUS, &b, 1, true);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	q = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_io(&f.d, VIRTIO_MMIO_STATUS, (uint8_t *)&q, 8, true);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_STATUS), 0);
	CHECK_EQ(f.d.cfg_fails, 6);
	wr(&f, 0x0f0, 1); /* unknown register */
	CHECK_EQ(f.d.cfg_fails, 7);
	teardown(&f);
}

TEST(queue_notify_write)
{
	struct fake f;

	setup(&f);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0); /* before DRIVER_OK: ignored */
	CHECK_EQ(f.notifies, 0);
	bring_up(&f);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK_EQ(f.notifies, 1);
	CHECK_EQ(f.last_queue, 0);
	CHECK_EQ(f.d.queue_notifies, 1);
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 1); /* exists, not ready */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 5); /* no such queue */
	wr(&f, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	CHECK_EQ(f.notifies, 1);
	/* The ioeventfd path. */
	virtio_dev_notify(&f.d, 0);
	CHECK_EQ(f.notifies, 2);
	virtio_dev_notify(&f.d, 3);
	CHECK_EQ(f.notifies, 2);
	/* A device error stops notifications until reset. */
	virtio_dev_needs_reset(&f.d);
	CHECK(rd(&f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	CHECK_EQ(f.interrupts, 1);
	virtio_dev_needs_reset(&f.d); /* once */
	CHECK_EQ(f.interrupts, 1);
	virtio_dev_notify(&f.d, 0);
	CHECK_EQ(f.notifies, 2);
	wr(&f, VIRTIO_MMIO_STATUS, 0);
	virtio_dev_notify(&f.d, 0); /* reset: not activated */
	CHECK_EQ(f.notifies, 2);
	teardown(&f);
}

TEST(config_generation_changes_on_signal)
{
	struct fake f;
	uint32_t g;

	setup(&f);
	g = rd(&f, VIRTIO_MMIO_CONFIG_GENERATION);
	virtio_dev_signal_config(&f.d);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), g + 1);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	virtio_dev_signal_config(&f.d);
	CHECK_EQ(rd(&f, VIRTIO_MMIO_CONFIG_GENERATION), g + 2);
	CHECK_EQ(f.interrupts, 2);
	teardown(&f);
}

TEST(indirect_and_event_idx_follow_negotiation)
{
	struct fake f;

	setup(&f);
	negotiate(&f, 1u << VIRTIO_F_RING_INDIRECT_DESC, 1);
	setup_queue(&f, 0, 8, DESC_GPA, AVAIL_GPA, USED_GPA);
	wr(&f, VIRTIO_MMIO_STATUS, STATUS_LIVE);
	CHECK(f.d.activated);
	CHECK(f.d.vqs[0].indirect);
	CHECK(!f.d.vqs[0].event_idx);
	teardown(&f);
}

TEST_MAIN(TEST_ENTRY(identity_registers), TEST_ENTRY(features_offered),
	  TEST_ENTRY(features_accept_subset), TEST_ENTRY(features_refuse_unknown_bits),
	  TEST_ENTRY(features_refuse_without_version_1),
	  TEST_ENTRY(features_written_outside_the_window_are_ignored),
	  TEST_ENTRY(status_transitions), TEST_ENTRY(driver_ok_activates_with_final_features),
	  TEST_ENTRY(high_address_halves), TEST_ENTRY(queue_outside_memory_needs_reset),
	  TEST_ENTRY(queue_misaligned_needs_reset),
	  TEST_ENTRY(queue_num_must_be_power_of_two_within_max),
	  TEST_ENTRY(activate_failure_needs_reset), TEST_ENTRY(queue_registers_lock_when_live),
	  TEST_ENTRY(reset_clears_everything), TEST_ENTRY(interrupt_status_and_ack),
	  TEST_ENTRY(config_space_any_width), TEST_ENTRY(config_space_without_ops_reads_zero),
	  TEST_ENTRY(bad_widths), TEST_ENTRY(queue_notify_write),
	  TEST_ENTRY(config_generation_changes_on_signal),
	  TEST_ENTRY(indirect_and_event_idx_follow_negotiation))
