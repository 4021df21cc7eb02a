// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon through the transport's registers (tests/unit/virtio_fake_driver.h).
 * Guest memory is real anonymous memory (mmap), so MADV_DONTNEED is observable:
 * a page the guest inflates reads back as zeros. Two regions, contiguous in
 * guest addresses but not in host addresses, check that coalescing follows both.
 */
#include "arch/x86_64/layout.h"
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <sys/mman.h>

#include "devices/virtio/balloon.h"
#include "vmm/balloon.h"
#include "vmm/device_table.h"
#include "vmm/vm.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define REGION_SIZE (4ULL << 20)
#define RAM_MIB	    8 /* two regions */
#define QSIZE	    128
#define PFN_GPA	    (FD_BUF_GPA)	  /* PFN arrays */
#define STATS_GPA   (FD_BUF_GPA + 0x8000) /* stats buffers */
#define PAGES_PFN   0x200		  /* pages to inflate: 2 MiB up */
#define PAT	    0xa5

#define F_STATS	    (1ULL << VIRTIO_BALLOON_F_STATS_VQ)
#define F_DEFLATE   (1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM)
#define F_REPORTING (1ULL << VIRTIO_BALLOON_F_REPORTING)
#define F_HINT	    (1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT)

struct rig {
	struct virtio_balloon b;
	struct fake_driver fd;
	uint8_t *map; /* 12 MiB: region 0 at +0, region 1 at +8 MiB (a 4 MiB hole between) */
};

static struct rig rig; /* struct virtio_balloon holds a vq_chain: not on the stack */

#define SEC 1000000000ULL

/* The statistics period the device's deadline is armed for (0: none), on the still fake clock. */
static uint32_t timer_seconds(void)
{
	if (!rig.b.stats_deadline)
		return 0;
	return (uint32_t)((rig.b.stats_deadline - rig.fd.host.now) / SEC);
}

/* The device from @cfg over two mmap'ed regions; not brought up yet. */
static void setup_cfg(const struct balloon_config *cfg)
{
	struct guest_region regs[2];

	memset(&rig, 0, sizeof(rig));
	fd_init(&rig.fd, 2 << 20);
	free(rig.fd.ram); /* replaced by real anonymous memory */
	rig.map =
	    mmap(NULL, 3 * REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (rig.map == MAP_FAILED)
		FAIL_AT("mmap: %s", strerror(errno));
	rig.fd.ram = rig.map;
	rig.fd.ram_size = REGION_SIZE; /* fd_at(): region 0 only */
	regs[0] = (struct guest_region){0, REGION_SIZE, rig.map};
	regs[1] = (struct guest_region){REGION_SIZE, REGION_SIZE, rig.map + 2 * REGION_SIZE};
	CHECK_EQ(guest_mem_init_fake(&rig.fd.gm, regs, 2), 0);
	CHECK_EQ(virtio_balloon_init(&rig.b, cfg, fd_host_ops(), &rig.fd.host, &rig.fd.gm), 0);
	fd_attach(&rig.fd, &rig.b.dev);
}

static void setup(bool stats, bool reporting)
{
	struct balloon_config cfg = {
	    .amount_mib = 4,
	    .stats_polling_interval_s = stats ? 5 : 0,
	    .free_page_reporting = reporting,
	};

	setup_cfg(&cfg);
}

static void teardown(void)
{
	virtio_balloon_destroy(&rig.b);
	munmap(rig.map, 3 * REGION_SIZE);
	fh_destroy(&rig.fd.host);
}

/* Queues: inflate, deflate, then one per negotiated optional feature. */
static void bring_up(uint64_t features)
{
	unsigned int n =
	    2 + !!(features & F_STATS) + !!(features & F_HINT) + !!(features & F_REPORTING);

	fd_bring_up(&rig.fd, VIRTIO_ID_BALLOON, features, n, QSIZE);
}

/* Any guest page, through the guest memory map (region 1 too). */
static uint8_t *page(uint64_t pfn)
{
	uint8_t *p = gm_ptr(&rig.fd.gm, pfn << 12, 4096);

	if (!p)
		FAIL_AT("pfn 0x%llx is not guest RAM", (unsigned long long)pfn);
	return p;
}

static void fill(uint64_t pfn, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		memset(page(pfn + i), PAT, 4096);
}

/* 1: every byte is PAT; 0: every byte is zero; -1: a mix. */
static int state(uint64_t pfn)
{
	const uint8_t *p = page(pfn);
	bool all_pat = true, all_zero = true;

	for (int i = 0; i < 4096; i++) {
		all_pat &= p[i] == PAT;
		all_zero &= p[i] == 0;
	}
	return all_pat ? 1 : all_zero ? 0 : -1;
}

static uint32_t cfg32(uint64_t off)
{
	uint32_t v = 0xdeadbeef;

	fd_cfg_read(&rig.fd, off, &v, 4);
	return v;
}

static void cfg_write(uint64_t off, const void *data, uint32_t len)
{
	virtio_mmio_io(&rig.b.dev, VIRTIO_MMIO_CONFIG + off, (uint8_t *)(uintptr_t)data, len, true);
}

/* Writes @n PFNs at @gpa and posts them as one readable buffer on queue @q (descriptor @d). */
static void post_pfns(unsigned int q, uint16_t d, uint64_t gpa, const uint32_t *pfns,
		      unsigned int n)
{
	memcpy(fd_at(&rig.fd, gpa), pfns, 4ULL * n);
	fd_chain(&rig.fd, q, d, 1, (struct fd_buf[]){{gpa, 4 * n, false}});
	fd_post(&rig.fd, q, d);
}

/* The last used element of @q must be @head with length 0. */
static void check_used(unsigned int q, uint16_t k, uint16_t head)
{
	uint32_t id, len;

	CHECK(fd_used_idx(&rig.fd, q) > k);
	fd_used(&rig.fd, q, k, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 0);
}

TEST(features_and_queues)
{
	struct balloon_config cfg = {.amount_mib = 1, .deflate_on_oom = true};

	setup_cfg(&cfg);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_BALLOON);
	CHECK_EQ(fd_device_features(&rig.fd) & 0xffffffff,
		 F_DEFLATE | 1u << VIRTIO_F_RING_EVENT_IDX | 1u << VIRTIO_F_RING_INDIRECT_DESC);
	CHECK(fd_device_features(&rig.fd) >> VIRTIO_F_VERSION_1 & 1);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BALLOON_QUEUE_SIZE);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, 2); /* no statistics, no reporting: 2 queues */
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 256);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0);
	teardown();

	setup(true, true);
	CHECK_EQ(fd_device_features(&rig.fd) & 0xff, F_STATS | F_REPORTING);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, 3);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_BALLOON_QUEUE_SIZE);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, 4);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_QUEUE_NUM_MAX), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 1024);
	teardown();
}

TEST(config_checks)
{
	struct balloon_config cfg = {.amount_mib = 9};
	struct virtio_balloon *b = &rig.b;

	CHECK(virtio_balloon_config_error(&cfg, 8) != NULL);
	CHECK_CONTAINS(virtio_balloon_config_error(&cfg, 8), "amount_mib");
	CHECK(virtio_balloon_config_error(&cfg, 9) == NULL);
	cfg.stats_polling_interval_s = 65536;
	CHECK_CONTAINS(virtio_balloon_config_error(&cfg, 9), "stats_polling_interval_s");
	cfg.stats_polling_interval_s = 65535;
	CHECK(virtio_balloon_config_error(&cfg, 9) == NULL);
	cfg.free_page_hinting = true; /* served (balloon_hint.c) */
	CHECK(virtio_balloon_config_error(&cfg, 9) == NULL);
	cfg = (struct balloon_config){.amount_mib = UINT32_MAX};
	CHECK(virtio_balloon_config_error(&cfg, UINT64_MAX) != NULL); /* pages overflow u32 */
	/* The device refuses them too. */
	cfg = (struct balloon_config){.amount_mib = 100};
	memset(&rig, 0, sizeof(rig));
	fd_init(&rig.fd, 2 << 20);
	CHECK_EQ(virtio_balloon_init(b, &cfg, fd_host_ops(), &rig.fd.host, &rig.fd.gm),
		 -EINVAL); /* 2 MiB */
	fd_destroy(&rig.fd);
}

TEST(inflate_drops_pages_and_coalesces)
{
	uint32_t pfns[] = {0x203, 0x201, 0x200, 0x202, 0x210, 0x201}; /* unsorted, a duplicate */

	setup(false, false);
	bring_up(0);
	fill(PAGES_PFN, 0x20);
	post_pfns(0, 0, PFN_GPA, pfns, 6);
	fd_notify(&rig.fd, 0);
	check_used(0, 0, 0);
	CHECK_EQ(rig.fd.host.interrupts, 1);
	for (uint64_t p = 0x200; p <= 0x203; p++)
		CHECK_EQ(state(p), 0);
	CHECK_EQ(state(0x210), 0);
	CHECK_EQ(state(0x204), 1); /* neighbours keep their data */
	CHECK_EQ(state(0x20f), 1);
	CHECK_EQ(state(0x211), 1);
	CHECK_EQ(rig.b.madvise_calls, 2); /* 0x200-0x203 and 0x210 */
	CHECK_EQ(rig.b.inflated_pages, 5);
	CHECK_EQ(rig.b.inflate_count, 1);
	CHECK_EQ(rig.b.dev.event_fails, 0);
	CHECK_EQ(rig.b.madvise_fails, 0);
	teardown();
}

TEST(inflate_batches_chains_and_splits_regions)
{
	uint32_t a[] = {0x3fe, 0x3ff}, b[] = {0x400, 0x401}; /* across the region boundary */
	uint32_t c[] = {0x220, 0x221};

	setup(false, false);
	bring_up(0);
	fill(0x3fe, 2);
	fill(0x400, 2);
	fill(0x220, 3);
	post_pfns(0, 0, PFN_GPA, a, 2);
	post_pfns(0, 1, PFN_GPA + 0x100, b, 2);
	post_pfns(0, 2, PFN_GPA + 0x200, c, 2);
	fd_notify(&rig.fd, 0);
	CHECK_EQ(fd_used_idx(&rig.fd, 0), 3);
	check_used(0, 0, 0);
	check_used(0, 2, 2);
	CHECK_EQ(rig.fd.host.interrupts, 1); /* one per batch */
	CHECK_EQ(state(0x3fe), 0);
	CHECK_EQ(state(0x3ff), 0);
	CHECK_EQ(state(0x400), 0);
	CHECK_EQ(state(0x401), 0);
	CHECK_EQ(state(0x221), 0);
	CHECK_EQ(state(0x222), 1);
	/* 0x220-0x221, 0x3fe-0x3ff, 0x400-0x401: contiguous PFNs, two host mappings */
	CHECK_EQ(rig.b.madvise_calls, 3);
	CHECK_EQ(rig.b.inflated_pages, 6);
	teardown();
}

TEST(inflate_pfn_array_split_over_descriptors)
{
	uint32_t pfns[2] = {0x230, 0x231};

	setup(false, false);
	bring_up(0);
	fill(0x230, 3);
	memcpy(fd_at(&rig.fd, PFN_GPA), pfns, 8);
	/* 6 + 2 bytes: the second PFN straddles the two buffers */
	fd_chain(&rig.fd, 0, 0, 2, (struct fd_buf[]){{PFN_GPA, 6, false}, {PFN_GPA + 6, 2, false}});
	fd_post(&rig.fd, 0, 0);
	fd_notify(&rig.fd, 0);
	check_used(0, 0, 0);
	CHECK_EQ(state(0x230), 0);
	CHECK_EQ(state(0x231), 0);
	CHECK_EQ(state(0x232), 1);
	CHECK_EQ(rig.b.madvise_calls, 1);
	teardown();
}

TEST(inflate_pfn_outside_ram_is_skipped)
{
	uint32_t pfns[] = {0x800, 0x240, 0xffffffff, 0x100000}; /* 8 MiB: the end of RAM */

	setup(false, false);
	bring_up(0);
	fill(0x240, 1);
	post_pfns(0, 0, PFN_GPA, pfns, 4);
	fd_notify(&rig.fd, 0);
	check_used(0, 0, 0);
	CHECK_EQ(state(0x240), 0);
	CHECK_EQ(rig.b.inflate_bad_pfns, 3);
	CHECK_EQ(rig.b.inflated_pages, 1);
	CHECK(!(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

TEST(inflate_malformed_chains_are_refused)
{
	uint32_t pfn = 0x250, many[VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN + 1];

	setup(false, false);
	bring_up(0);
	fill(0x250, 1);
	memcpy(fd_at(&rig.fd, PFN_GPA), &pfn, 4);
	/* device-writable */
	fd_chain(&rig.fd, 0, 0, 1, (struct fd_buf[]){{PFN_GPA, 4, true}});
	fd_post(&rig.fd, 0, 0);
	/* not a whole number of PFNs */
	fd_chain(&rig.fd, 0, 1, 1, (struct fd_buf[]){{PFN_GPA, 5, false}});
	fd_post(&rig.fd, 0, 1);
	/* too many PFNs */
	for (unsigned int i = 0; i < VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN + 1; i++)
		many[i] = 0x250;
	post_pfns(0, 2, PFN_GPA + 0x1000, many, VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN + 1);
	/* a buffer outside guest memory: the virtqueue library refuses the chain */
	fd_chain(&rig.fd, 0, 3, 1, (struct fd_buf[]){{(RAM_MIB << 20) - 2, 4, false}});
	fd_post(&rig.fd, 0, 3);
	fd_notify(&rig.fd, 0);
	CHECK_EQ(fd_used_idx(&rig.fd, 0), 4);
	for (uint16_t k = 0; k < 4; k++)
		check_used(0, k, k);
	CHECK_EQ(rig.b.dev.event_fails, 4);
	CHECK_EQ(state(0x250), 1);
	CHECK_EQ(rig.b.inflated_pages, 0);
	/* and the device goes on */
	post_pfns(0, 4, PFN_GPA, &pfn, 1);
	fd_notify(&rig.fd, 0);
	CHECK_EQ(state(0x250), 0);
	CHECK(!(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

TEST(deflate_is_counted)
{
	uint32_t pfns[] = {0x260, 0x261, 0x262};

	setup(false, false);
	bring_up(0);
	fill(0x260, 3);
	post_pfns(1, 0, PFN_GPA, pfns, 3);
	fd_notify(&rig.fd, 1);
	check_used(1, 0, 0);
	CHECK_EQ(rig.fd.host.interrupts, 1);
	CHECK_EQ(rig.b.deflate_count, 1);
	CHECK_EQ(rig.b.deflated_pages, 3);
	CHECK_EQ(state(0x260), 1); /* nothing done to the pages */
	CHECK_EQ(rig.b.madvise_calls, 0);
	/* a malformed one is given back and counted */
	fd_chain(&rig.fd, 1, 1, 1, (struct fd_buf[]){{PFN_GPA, 3, false}});
	fd_post(&rig.fd, 1, 1);
	fd_notify(&rig.fd, 1);
	check_used(1, 1, 1);
	CHECK_EQ(rig.b.dev.event_fails, 1);
	CHECK_EQ(rig.b.deflate_count, 2);
	teardown();
}

TEST(work_per_event_is_bounded)
{
	uint32_t pfn = 0x270;
	unsigned int n = VIRTIO_BALLOON_CHAINS_PER_EVENT + 36;

	setup(false, false);
	bring_up(0);
	memcpy(fd_at(&rig.fd, PFN_GPA), &pfn, 4);
	for (uint16_t i = 0; i < n; i++) {
		fd_chain(&rig.fd, 1, i, 1, (struct fd_buf[]){{PFN_GPA, 4, false}});
		fd_post(&rig.fd, 1, i);
	}
	fd_notify(&rig.fd, 1);
	CHECK_EQ(fd_used_idx(&rig.fd, 1), VIRTIO_BALLOON_CHAINS_PER_EVENT);
	CHECK_EQ(rig.fd.host.schedules, 1); /* the host is asked to run the device again */
	CHECK_EQ(rig.fd.host.last_delay, 0);
	CHECK_EQ(rig.b.requeue, 1u << 1); /* for the deflate queue */
	CHECK_EQ(rig.b.requeued, 1);
	CHECK(fh_run(&rig.fd.host)); /* the run serves the queue again */
	CHECK_EQ(fd_used_idx(&rig.fd, 1), n);
	CHECK_EQ(rig.fd.host.schedules, 1);
	CHECK_EQ(rig.b.deflated_pages, n);
	/* the same bound on the inflate queue */
	for (uint16_t i = 0; i < n; i++) {
		fd_chain(&rig.fd, 0, i, 1, (struct fd_buf[]){{PFN_GPA, 4, false}});
		fd_post(&rig.fd, 0, i);
	}
	fd_notify(&rig.fd, 0);
	CHECK_EQ(fd_used_idx(&rig.fd, 0), VIRTIO_BALLOON_CHAINS_PER_EVENT);
	CHECK_EQ(rig.fd.host.schedules, 2);
	CHECK_EQ(rig.b.requeue, 1u << 0);
	CHECK(fh_run(&rig.fd.host));
	CHECK_EQ(fd_used_idx(&rig.fd, 0), n);
	CHECK_EQ(rig.b.inflated_pages, 2); /* one page, de-duplicated per batch */
	teardown();
}

TEST(corrupt_ring_needs_reset)
{
	setup(false, false);
	bring_up(0);
	fd_set_avail_idx(&rig.fd, 0, QSIZE + 1);
	fd_notify(&rig.fd, 0);
	CHECK(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rig.b.dev.event_fails, 1);
	bring_up(0); /* a reset recovers */
	CHECK(!(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

/* Writes one 10-byte statistics entry at @gpa. */
static void stat_at(uint64_t gpa, uint16_t tag, uint64_t val)
{
	memcpy(fd_at(&rig.fd, gpa), &tag, 2);
	memcpy(fd_at(&rig.fd, gpa + 2), &val, 8);
}

/* Posts a stats buffer of @n entries (tag, value pairs) at STATS_GPA on queue @q. */
static void post_stats(unsigned int q, uint16_t d, unsigned int n, const uint64_t (*e)[2])
{
	for (unsigned int i = 0; i < n; i++)
		stat_at(STATS_GPA + 10ULL * i, (uint16_t)e[i][0], e[i][1]);
	fd_chain(&rig.fd, q, d, 1, (struct fd_buf[]){{STATS_GPA, 10 * n, false}});
	fd_post(&rig.fd, q, d);
}

/*
 * Linux's order: the stats buffer is posted (and notified) before DRIVER_OK.
 * A bring-up with the stats queue primed that way.
 */
static void bring_up_primed(uint64_t features, unsigned int n, const uint64_t (*e)[2])
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;

	features |= 1ULL << VIRTIO_F_VERSION_1;
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, 0);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, st);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)features);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
	st |= VIRTIO_STATUS_FEATURES_OK;
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, st);
	for (unsigned int q = 0; q < 3; q++) {
		uint64_t base = FD_QUEUE_GPA(q);

		memset(fd_at(&rig.fd, base), 0, 0x3000);
		rig.fd.qsize[q] = QSIZE;
		rig.fd.avail_idx[q] = 0;
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, q);
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_NUM, QSIZE);
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)base);
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(base + 0x1000));
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(base + 0x2000));
		fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_READY, 1);
	}
	post_stats(2, 0, n, e);
	fd_notify(&rig.fd, 2); /* before DRIVER_OK: ignored by the transport */
	CHECK_EQ(rig.b.stats_updates_count, 0);
	st |= VIRTIO_STATUS_DRIVER_OK;
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, st);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS), st);
}

TEST(stats_round_trip)
{
	const uint64_t first[][2] = {{VIRTIO_BALLOON_S_MEMFREE, 1000},
				     {VIRTIO_BALLOON_S_MEMTOT, 2000},
				     {99, 7}, /* unknown tag: ignored */
				     {VIRTIO_BALLOON_S_DIRECT_RECLAIM, 3}};
	const uint64_t second[][2] = {{VIRTIO_BALLOON_S_MEMFREE, 1500},
				      {VIRTIO_BALLOON_S_MEMTOT, 2000}};
	struct balloon_stats s;
	uint32_t actual = 512;

	setup(true, false);
	bring_up_primed(F_STATS, 4, first);
	/* DRIVER_OK took the primed buffer, parsed it, holds it, armed the timer */
	CHECK_EQ(rig.fd.host.schedules, 1); /* DRIVER_OK's 5 s (the reset's "stop" asks nothing) */
	CHECK_EQ(rig.fd.host.last_delay, 5 * SEC);
	CHECK_EQ(timer_seconds(), 5);
	CHECK_EQ(rig.b.stats_updates_count, 1);
	CHECK_EQ(fd_used_idx(&rig.fd, 2), 0);
	CHECK_EQ(balloon_get_stats(&rig.b, &s), 0);
	CHECK_EQ(s.present, 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT |
				1u << VIRTIO_BALLOON_S_DIRECT_RECLAIM);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 1000);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_MEMTOT], 2000);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_DIRECT_RECLAIM], 3);
	CHECK(s.updated_mono_ns > 0);
	CHECK(s.updated_real_ns > 0);
	CHECK_EQ(s.target_pages, 1024);
	CHECK_EQ(s.target_mib, 4);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL, &actual, 4);
	CHECK_EQ(balloon_get_stats(&rig.b, &s), 0);
	CHECK_EQ(s.actual_pages, 512);
	CHECK_EQ(s.actual_mib, 2);

	/* The timer: the held buffer goes back, the driver answers with fresh numbers. */
	CHECK(!fh_run_due(&rig.fd.host));
	rig.fd.host.now += 5 * SEC;
	CHECK(fh_run_due(&rig.fd.host));
	check_used(2, 0, 0);
	CHECK_EQ(timer_seconds(), 5); /* and the next poll in 5 s */
	CHECK_EQ(rig.fd.host.interrupts, 1);
	CHECK_EQ(rig.b.stats_requests, 1);
	virtio_balloon_stats_tick(&rig.b); /* nothing held: nothing to do */
	CHECK_EQ(fd_used_idx(&rig.fd, 2), 1);
	post_stats(2, 1, 2, second);
	fd_notify(&rig.fd, 2);
	CHECK_EQ(rig.b.stats_updates_count, 2);
	CHECK_EQ(fd_used_idx(&rig.fd, 2), 1); /* held again */
	CHECK_EQ(balloon_get_stats(&rig.b, &s), 0);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 1500);
	CHECK_EQ(s.present, 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT);
	virtio_balloon_stats_tick(&rig.b);
	check_used(2, 1, 1);
	teardown();
}

/* The device rebuilt from its configuration (another process's), restored from @snap. */
static int restore_fresh(struct fd_snap *snap)
{
	struct balloon_config cfg = {.amount_mib = 4, .stats_polling_interval_s = 5};

	virtio_balloon_destroy(&rig.b);
	CHECK_EQ(virtio_balloon_init(&rig.b, &cfg, fd_host_ops(), &rig.fd.host, &rig.fd.gm), 0);
	rig.fd.host.run_pending = false;
	return virtio_dev_restore(&rig.b.dev, &snap->f, 0);
}

/*
 * Target, actual, the negotiated stats queue and its held buffer, the last
 * statistics and the time to the next poll survive; an inflate posted before
 * the snapshot is served after it.
 */
TEST(snapshot_round_trip)
{
	const uint64_t first[][2] = {{VIRTIO_BALLOON_S_MEMFREE, 1000}};
	uint32_t actual = 512, pfns[] = {0x200};
	struct balloon_stats s;
	struct fd_snap snap;

	setup(true, false);
	bring_up_primed(F_STATS, 1, first);
	CHECK_EQ(balloon_set_target(&rig.b, 6), 0);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL, &actual, 4);
	rig.fd.host.now += 2 * SEC;
	fill(PAGES_PFN, 1);
	post_pfns(0, 0, PFN_GPA, pfns, 1); /* not notified */
	fd_snap_save(&snap, &rig.b.dev);

	rig.fd.host.now += 100 * SEC; /* another process's clock */
	CHECK_EQ(restore_fresh(&snap), 0);
	CHECK_EQ(balloon_target_mib(&rig.b), 6);
	CHECK_EQ(balloon_actual_mib(&rig.b), 2);
	CHECK_EQ(rig.b.stats_q, 2);
	CHECK(rig.b.stats_held);
	CHECK_EQ(timer_seconds(), 3);
	CHECK_EQ(balloon_get_stats(&rig.b, &s), 0);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_MEMFREE], 1000);
	CHECK(s.updated_mono_ns > 0);
	CHECK(rig.fd.host.run_pending);
	CHECK(fh_run_due(&rig.fd.host));
	check_used(0, 0, 0); /* the inflate */
	CHECK_EQ(state(PAGES_PFN), 0);
	CHECK_EQ(fd_used_idx(&rig.fd, 2), 0); /* the stats buffer still held */
	rig.fd.host.now += 3 * SEC;
	CHECK(fh_run_due(&rig.fd.host));
	check_used(2, 0, 0); /* the poll gave it back */
	fd_snap_free(&snap);
	teardown();
}

TEST(snapshot_bad_values_refused)
{
	const uint64_t first[][2] = {{VIRTIO_BALLOON_S_MEMFREE, 1000}};
	struct fd_snap snap;
	uint8_t *dev;
	uint32_t big = 1u << 30;

	setup(true, false);
	bring_up_primed(F_STATS, 1, first);
	fd_snap_save(&snap, &rig.b.dev);
	/* The device's fields: after the transport (41) and three queues (37 each). */
	dev = fd_snap_section(&snap) + 41 + 3 * 37;
	memcpy(dev, &big, 4); /* a target larger than guest memory */
	CHECK_EQ(restore_fresh(&snap), -EINVAL);
	memcpy(dev, &(uint32_t){1024}, 4);
	dev[12] = 7; /* the stats queue: not one of ours */
	CHECK_EQ(restore_fresh(&snap), -EINVAL);
	dev[12] = 2;
	dev[8] = 0; /* statistics interval 0, but offered */
	CHECK_EQ(restore_fresh(&snap), -EINVAL);
	dev[8] = 5;
	CHECK_EQ(restore_fresh(&snap), 0);
	fd_snap_free(&snap);
	teardown();
}

TEST(stats_malformed_buffers)
{
	const uint64_t good[][2] = {{VIRTIO_BALLOON_S_SWAP_IN, 11}};
	struct balloon_stats s;

	setup(true, false);
	bring_up(F_STATS);
	post_stats(2, 0, 1, good);
	fd_notify(&rig.fd, 2);
	CHECK_EQ(rig.b.stats_updates_count, 1);
	virtio_balloon_stats_tick(&rig.b);
	check_used(2, 0, 0);

	/* 15 bytes: not a whole number of entries. Not parsed, but held. */
	stat_at(STATS_GPA, VIRTIO_BALLOON_S_SWAP_IN, 99);
	fd_chain(&rig.fd, 2, 1, 1, (struct fd_buf[]){{STATS_GPA, 15, false}});
	fd_post(&rig.fd, 2, 1);
	fd_notify(&rig.fd, 2);
	CHECK_EQ(rig.b.stats_update_fails, 1);
	CHECK_EQ(rig.b.stats_updates_count, 1);
	CHECK_EQ(balloon_get_stats(&rig.b, &s), 0);
	CHECK_EQ(s.val[VIRTIO_BALLOON_S_SWAP_IN], 11); /* the last good numbers */
	CHECK_EQ(fd_used_idx(&rig.fd, 2), 1);

	/* A second buffer while one is held: the older one goes back. */
	fd_chain(&rig.fd, 2, 2, 1, (struct fd_buf[]){{STATS_GPA, 10, true}}); /* writable */
	fd_post(&rig.fd, 2, 2);
	fd_notify(&rig.fd, 2);
	check_used(2, 1, 1);
	CHECK_EQ(rig.b.stats_extra_bufs, 1);
	CHECK_EQ(rig.b.stats_update_fails, 2);
	/* Too long. */
	fd_chain(&rig.fd, 2, 3, 1,
		 (struct fd_buf[]){{STATS_GPA, 10 * (VIRTIO_BALLOON_MAX_STATS + 1), false}});
	fd_post(&rig.fd, 2, 3);
	fd_notify(&rig.fd, 2);
	CHECK_EQ(rig.b.stats_update_fails, 3);
	virtio_balloon_stats_tick(&rig.b);
	check_used(2, 3, 3);
	CHECK(!(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

TEST(stats_interval_changes)
{
	const uint64_t good[][2] = {{VIRTIO_BALLOON_S_AVAIL, 5}};
	struct balloon_stats s;

	setup(true, false);
	bring_up(F_STATS);
	CHECK_EQ(timer_seconds(), 5);
	post_stats(2, 0, 1, good);
	fd_notify(&rig.fd, 2);
	/* a new interval: an update at once, and the timer re-armed */
	CHECK_EQ(balloon_set_stats_interval(&rig.b, 10), 0);
	CHECK_EQ(timer_seconds(), 10);
	CHECK_EQ(rig.fd.host.last_delay, 10 * SEC);
	CHECK_EQ(balloon_stats_interval(&rig.b), 10);
	check_used(2, 0, 0);
	/* statistics cannot be turned off (the swagger's rule), nor out of range */
	CHECK_EQ(balloon_set_stats_interval(&rig.b, 0), -EINVAL);
	CHECK_EQ(balloon_set_stats_interval(&rig.b, 70000), -EINVAL);
	CHECK_EQ(balloon_stats_interval(&rig.b), 10);
	/* a reset stops the timer */
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(timer_seconds(), 0);
	teardown();

	/* Without statistics: none to get, and they cannot be turned on. */
	setup(false, false);
	bring_up(0);
	CHECK_EQ(balloon_get_stats(&rig.b, &s), -ENOTSUP);
	CHECK_EQ(balloon_set_stats_interval(&rig.b, 3), -EINVAL);
	CHECK_EQ(balloon_set_stats_interval(&rig.b, 0), 0);
	CHECK_EQ(rig.fd.host.schedules, 0);
	CHECK_EQ(timer_seconds(), 0);
	teardown();

	/* Offered but declined by the driver: no stats queue, no timer. */
	setup(true, false);
	bring_up(0);
	CHECK_EQ(timer_seconds(), 0); /* only the reset's "stop" */
	CHECK_EQ(rig.fd.host.schedules, 0);
	CHECK_EQ(rig.b.stats_q, VIRTIO_BALLOON_NO_QUEUE);
	teardown();
}

TEST(set_target_updates_config)
{
	uint32_t gen;

	setup(false, false);
	/* before the driver is up: the new target, a new generation, no interrupt */
	gen = fd_rd(&rig.fd, VIRTIO_MMIO_CONFIG_GENERATION);
	CHECK_EQ(balloon_set_target(&rig.b, 2), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 512);
	CHECK(fd_rd(&rig.fd, VIRTIO_MMIO_CONFIG_GENERATION) != gen);
	CHECK_EQ(rig.fd.host.interrupts, 0);
	bring_up(0);
	gen = fd_rd(&rig.fd, VIRTIO_MMIO_CONFIG_GENERATION);
	CHECK_EQ(balloon_set_target(&rig.b, 8), 0); /* all of guest RAM */
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 2048);
	CHECK_EQ(balloon_target_mib(&rig.b), 8);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	CHECK_EQ(rig.fd.host.interrupts, 1);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_INTERRUPT_STATUS), VIRTIO_INT_CONFIG);
	/* more than guest RAM: refused, nothing changes */
	CHECK_EQ(balloon_set_target(&rig.b, 9), -EINVAL);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 2048);
	CHECK_EQ(fd_rd(&rig.fd, VIRTIO_MMIO_CONFIG_GENERATION), gen + 1);
	CHECK_EQ(balloon_set_target(&rig.b, 0), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 0);
	teardown();
}

TEST(only_actual_is_writable)
{
	uint32_t v = 0x300;
	uint16_t hi = 0x1;
	uint8_t byte = 0x7;
	uint64_t wide = ~0ULL;
	uint32_t fails;

	setup(false, false);
	bring_up(0);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL, &v, 4);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0x300);
	CHECK_EQ(balloon_actual_mib(&rig.b), 3);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL + 2, &hi, 2); /* part of it: bytes 6-7 */
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0x10300);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL + 3, &byte, 1);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0x7010300);
	fails = (uint32_t)rig.b.dev.cfg_fails;
	/* num_pages is the device's; hint and poison are not offered; past the end */
	cfg_write(VIRTIO_BALLOON_CFG_NUM_PAGES, &v, 4);
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL - 2, &v, 4); /* straddles num_pages and actual */
	cfg_write(VIRTIO_BALLOON_CFG_ACTUAL, &wide, 8);	 /* runs into the hint field */
	cfg_write(VIRTIO_BALLOON_CFG_HINT_CMD, &v, 4);
	cfg_write(VIRTIO_BALLOON_CFG_POISON_VAL, &v, 4);
	cfg_write(64, &v, 4);
	CHECK_EQ(rig.b.dev.cfg_fails, fails + 6);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 1024);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0x7010300);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_POISON_VAL), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_SIZE), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_SIZE - 2) & 0xffff, 0); /* partly past the end */
	/* a device reset forgets the driver's balloon */
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_ACTUAL), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 1024);
	teardown();
}

/* Posts one reporting chain of @n ranges on queue @q. */
static void report(unsigned int q, uint16_t d, unsigned int n, const struct fd_buf *bufs)
{
	fd_chain(&rig.fd, q, d, n, bufs);
	fd_post(&rig.fd, q, d);
	fd_notify(&rig.fd, q);
}

TEST(free_page_reporting_drops_ranges)
{
	setup(false, true);
	bring_up(F_REPORTING); /* no statistics: the reporting queue is 2 */
	CHECK_EQ(rig.b.reporting_q, 2);
	fill(0x300, 0x20);
	fill(0x3ff, 1);
	fill(0x400, 1);
	/* Linux's shape: device-writable buffers, one per free range */
	report(2, 0, 2,
	       (struct fd_buf[]){{0x300ULL << 12, 0x10 << 12, true}, {0x318ULL << 12, 4096, true}});
	check_used(2, 0, 0);
	CHECK_EQ(rig.fd.host.interrupts, 1);
	for (uint64_t p = 0x300; p < 0x310; p++)
		CHECK_EQ(state(p), 0);
	CHECK_EQ(state(0x318), 0);
	CHECK_EQ(state(0x310), 1);
	CHECK_EQ(state(0x317), 1);
	CHECK_EQ(state(0x319), 1);
	CHECK_EQ(rig.b.free_page_report_count, 1);
	CHECK_EQ(rig.b.free_page_report_freed, 0x11 << 12);
	CHECK_EQ(rig.b.free_page_report_fails, 0);

	/* Not whole pages: only the pages wholly inside go. Readable buffers work too. */
	report(2, 2, 1, (struct fd_buf[]){{(0x31aULL << 12) + 0x800, 0x2000, false}});
	check_used(2, 1, 2);
	CHECK_EQ(state(0x31a), 1);
	CHECK_EQ(state(0x31b), 0);
	CHECK_EQ(state(0x31c), 1);
	CHECK_EQ(rig.b.free_page_report_fails, 1);
	CHECK_EQ(rig.b.free_page_report_freed, 0x12 << 12);

	/* A range past guest RAM: the chain is refused, nothing dropped. */
	report(2, 3, 1, (struct fd_buf[]){{(RAM_MIB << 20) - 4096, 0x2000, true}});
	check_used(2, 2, 3);
	CHECK_EQ(rig.b.free_page_report_fails, 2);
	CHECK_EQ(rig.b.dev.event_fails, 1);
	/* A range over the region boundary is refused too (a buffer lies in one region). */
	report(2, 4, 1, (struct fd_buf[]){{0x3ffULL << 12, 0x2000, true}});
	CHECK_EQ(state(0x3ff), 1);
	CHECK_EQ(state(0x400), 1);
	CHECK_EQ(rig.b.free_page_report_fails, 3);
	teardown();
}

TEST(reporting_queue_follows_negotiated_features)
{
	setup(true, true);
	bring_up(F_STATS | F_REPORTING);
	CHECK_EQ(rig.b.stats_q, 2);
	CHECK_EQ(rig.b.reporting_q, 3);
	fill(0x320, 1);
	report(3, 0, 1, (struct fd_buf[]){{0x320ULL << 12, 4096, true}});
	CHECK_EQ(state(0x320), 0);
	teardown();

	/* Statistics offered, declined by the driver: reporting moves down to 2. */
	setup(true, true);
	bring_up(F_REPORTING);
	CHECK_EQ(rig.b.stats_q, VIRTIO_BALLOON_NO_QUEUE);
	CHECK_EQ(rig.b.reporting_q, 2);
	fill(0x321, 1);
	report(2, 0, 1, (struct fd_buf[]){{0x321ULL << 12, 4096, true}});
	CHECK_EQ(state(0x321), 0);
	CHECK_EQ(rig.b.stats_updates_count, 0);
	teardown();

	/* Reporting offered, declined: queue 2 is not a reporting queue. */
	setup(false, true);
	bring_up(0);
	CHECK_EQ(rig.b.reporting_q, VIRTIO_BALLOON_NO_QUEUE);
	teardown();
}

/* The driver's command id (a readable le32) on the free page queue @q, descriptor @d. */
static void hint_cmd(unsigned int q, uint16_t d, uint32_t id)
{
	uint64_t gpa = FD_BUF_GPA + 0x10000 + 16ULL * d;

	memcpy(fd_at(&rig.fd, gpa), &id, 4);
	report(q, d, 1, (struct fd_buf[]){{gpa, 4, false}});
}

TEST(free_page_hinting_runs)
{
	struct balloon_config cfg = {.amount_mib = 0,
				     .stats_polling_interval_s = 5,
				     .free_page_hinting = true,
				     .free_page_reporting = true};
	struct fd_snap snap;
	uint32_t host, guest;
	bool has_guest;
	int irqs;

	setup_cfg(&cfg);
	CHECK(fd_device_features(&rig.fd) & F_HINT);
	bring_up(F_STATS | F_HINT | F_REPORTING); /* stats 2, free pages 3, reporting 4 */
	CHECK_EQ(rig.b.hint_q, 3);
	CHECK_EQ(rig.b.reporting_q, 4);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), VIRTIO_BALLOON_CMD_ID_STOP);
	CHECK_EQ(balloon_hint_status(&rig.b, &host, &guest, &has_guest), 0);
	CHECK_EQ(host, 0);
	CHECK(!has_guest);
	/* Free pages before any run: kept. */
	fill(0x330, 2);
	report(3, 0, 1, (struct fd_buf[]){{0x330ULL << 12, 4096, true}});
	CHECK_EQ(state(0x330), 1);
	/* A run: a new command id and a configuration interrupt. */
	irqs = rig.fd.host.interrupts;
	CHECK_EQ(balloon_hint_start(&rig.b, true), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), 2);
	CHECK(rig.fd.host.interrupts > irqs);
	/* Pages hinted before the driver echoed the run's id are kept; after, dropped. */
	report(3, 1, 1, (struct fd_buf[]){{0x330ULL << 12, 4096, true}});
	CHECK_EQ(state(0x330), 1);
	hint_cmd(3, 2, 2);
	report(3, 3, 1, (struct fd_buf[]){{0x330ULL << 12, 2 * 4096, true}});
	CHECK_EQ(state(0x330), 0);
	CHECK_EQ(state(0x331), 0);
	CHECK_EQ(rig.b.free_page_hint_freed, 2 * 4096);
	CHECK_EQ(rig.b.free_page_hint_count, 1);
	CHECK_EQ(rig.b.free_page_hint_fails, 0);
	CHECK_EQ(balloon_hint_status(&rig.b, &host, &guest, &has_guest), 0);
	CHECK_EQ(guest, 2);
	CHECK(has_guest);
	/* The snapshot carries the run. */
	fd_snap_save(&snap, &rig.b.dev);
	/* The driver's STOP: acknowledged with DONE. */
	hint_cmd(3, 4, VIRTIO_BALLOON_CMD_ID_STOP);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), VIRTIO_BALLOON_CMD_ID_DONE);
	/* Without acknowledge_on_stop the host stops it. */
	CHECK_EQ(balloon_hint_start(&rig.b, false), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), 3); /* a new id each run */
	hint_cmd(3, 5, 3);
	hint_cmd(3, 6, VIRTIO_BALLOON_CMD_ID_STOP);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), 3);
	CHECK_EQ(balloon_hint_stop(&rig.b), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), VIRTIO_BALLOON_CMD_ID_DONE);
	/* Hints after the run ended are kept; a malformed command is counted. */
	fill(0x332, 1);
	report(3, 7, 1, (struct fd_buf[]){{0x332ULL << 12, 4096, true}});
	CHECK_EQ(state(0x332), 1);
	report(3, 8, 1, (struct fd_buf[]){{FD_BUF_GPA, 3, false}});
	CHECK_EQ(rig.b.dev.event_fails, 1);
	/* Restored: the run as saved (command 2, the driver's 2). */
	CHECK_EQ(virtio_dev_restore(&rig.b.dev, &snap.f, 0), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_HINT_CMD), 2);
	CHECK_EQ(rig.b.guest_cmd, 2);
	CHECK_EQ(rig.b.hint_q, 3);
	fd_snap_free(&snap);
	teardown();

	/* Not configured: the operations say so. */
	setup(false, false);
	CHECK_EQ(balloon_hint_start(&rig.b, true), -ENOTSUP);
	CHECK_EQ(balloon_hint_stop(&rig.b), -ENOTSUP);
	CHECK_EQ(balloon_hint_status(&rig.b, &host, &guest, &has_guest), -ENOTSUP);
	teardown();
}

TEST(driver_ok_needs_both_balloon_queues)
{
	uint32_t st = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;

	setup(false, false);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	fd_wr(&rig.fd, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, st);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_SEL, 0);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_NUM, 8);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)FD_QUEUE_GPA(0));
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)FD_QUEUE_GPA(0) + 0x1000);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)FD_QUEUE_GPA(0) + 0x2000);
	fd_wr(&rig.fd, VIRTIO_MMIO_QUEUE_READY, 1);
	fd_wr(&rig.fd, VIRTIO_MMIO_STATUS, st | VIRTIO_STATUS_DRIVER_OK);
	CHECK(fd_rd(&rig.fd, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK_EQ(rig.b.dev.activate_fails, 1);
	teardown();
}

/*
 * The VM side (vmm/balloon.c, its slot in vmm/virtio_slots.c) without KVM:
 * placement, the stats timer on the event loop, the run for more than one
 * event's work, the lookup and the teardown. The irqfd and the queue
 * ioeventfds, which vm_virtio_connect() makes with KVM, are plain eventfds here.
 */
static struct vm gvm;

static uint64_t read_counter(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

TEST(vm_glue)
{
	struct balloon_config cfg = {.amount_mib = 4, .stats_polling_interval_s = 7};
	const uint64_t entry[][2] = {{VIRTIO_BALLOON_S_MEMFREE, 42}};
	struct itimerspec its;
	struct event_loop loop;
	struct virtio_balloon *b;
	struct virtio_slot *s;
	uint32_t pfn = 0x280;

	memset(&gvm, 0, sizeof(gvm));
	memset(&rig, 0, sizeof(rig));
	CHECK_EQ(ev_init(&loop), 0);
	gvm.loop = &loop;
	vm_pause_init(&gvm); /* the device clock */
	CHECK_EQ(cmdline_init(&gvm.cmdline, "console=ttyS0"), 0);
	CHECK_EQ(guest_mem_init(&gvm.mem, RAM_MIB << 20, LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END,
				false),
		 0);
	CHECK(balloon_find(&gvm, NULL) == NULL);
	gvm.cfg.has_balloon = true;
	gvm.cfg.balloon = cfg;
	gvm.cfg.balloon.amount_mib = RAM_MIB + 1;
	CHECK_EQ(balloon_add(&gvm), -EINVAL); /* more than guest memory */
	CHECK(balloon_find(&gvm, NULL) == NULL);
	gvm.cfg.balloon.amount_mib = 4;
	CHECK_EQ(balloon_add(&gvm), 0);
	CHECK_EQ(balloon_add(&gvm), -EEXIST); /* one per VM */
	s = balloon_find(&gvm, NULL);
	CHECK(s != NULL);
	b = s->state;
	CHECK_EQ(gvm.nr_virtio, 1);
	CHECK(s == &gvm.virtio[0]);
	CHECK(s->dev == &b->dev);
	CHECK_CONTAINS(gvm.cmdline.buf, "virtio_mmio.device=4K@0xc0001000:5");
	CHECK(s->timer_h.fd >= 0);
	/* The device reaches the VM through its slot only. */
	CHECK(b->dev.host == vm_virtio_host_ops() && b->dev.host_data == s);

	/* What vm_virtio_connect() would make. */
	s->irqfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	for (unsigned int q = 0; q < 3; q++)
		s->notify[q].h.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	/* A driver over the VM's memory (not attached: host_data is the slot). */
	rig.fd.ram = gvm.mem.mapping;
	rig.fd.ram_size = gvm.mem.ram_size;
	rig.fd.gm = gvm.mem;
	rig.fd.dev = &b->dev;
	fd_bring_up(&rig.fd, VIRTIO_ID_BALLOON, F_STATS, 3, QSIZE);
	CHECK_EQ(timerfd_gettime(s->timer_h.fd, &its), 0);
	CHECK(s->run_pending);					     /* armed at DRIVER_OK */
	CHECK(its.it_value.tv_sec >= 6 && its.it_value.tv_sec <= 7); /* for the 7 s poll */

	/* The timer gives the held stats buffer back, and the interrupt goes to the irqfd. */
	memcpy(fd_at(&rig.fd, STATS_GPA), &entry[0][0], 2);
	memcpy(fd_at(&rig.fd, STATS_GPA + 2), &entry[0][1], 8);
	fd_chain(&rig.fd, 2, 0, 1, (struct fd_buf[]){{STATS_GPA, 10, false}});
	fd_post(&rig.fd, 2, 0);
	fd_notify(&rig.fd, 2);
	CHECK_EQ(b->stats_updates_count, 1);
	b->stats_deadline = s->run_at = vm_clock_ns(&gvm); /* as if the 7 s had passed */
	CHECK_EQ(ev_timer_arm(&s->timer_h, 1000, 0), 0);
	usleep(2000);
	s->timer_h.fn(&s->timer_h, EPOLLIN);
	check_used(2, 0, 0);
	CHECK_EQ(read_counter(s->irqfd), 1);
	CHECK_EQ(b->stats_requests, 1);
	CHECK(s->run_pending); /* the next poll */

	/* Set-target through the lookup the API uses: a configuration interrupt. */
	CHECK_EQ(balloon_update(&gvm, 2), 0);
	CHECK_EQ(cfg32(VIRTIO_BALLOON_CFG_NUM_PAGES), 512);
	CHECK_EQ(read_counter(s->irqfd), 1);

	/* More than one event's work: the slot's timer runs the device again at once. */
	memcpy(fd_at(&rig.fd, PFN_GPA), &pfn, 4);
	for (uint16_t i = 0; i < VIRTIO_BALLOON_CHAINS_PER_EVENT + 1; i++) {
		fd_chain(&rig.fd, 1, i, 1, (struct fd_buf[]){{PFN_GPA, 4, false}});
		fd_post(&rig.fd, 1, i);
	}
	fd_notify(&rig.fd, 1);
	CHECK_EQ(fd_used_idx(&rig.fd, 1), VIRTIO_BALLOON_CHAINS_PER_EVENT);
	CHECK(s->run_pending && s->run_at <= vm_clock_ns(&gvm));
	usleep(1000);
	s->timer_h.fn(&s->timer_h, EPOLLIN);
	CHECK_EQ(fd_used_idx(&rig.fd, 1), VIRTIO_BALLOON_CHAINS_PER_EVENT + 1);

	/* vm_destroy's order: disconnect (closes the fds, the timer's too), then removal. */
	vm_virtio_disconnect(&gvm);
	CHECK_EQ(s->timer_h.fd, -1);
	vm_devices_remove(&gvm);
	CHECK(balloon_find(&gvm, NULL) == NULL);
	vm_devices_remove(&gvm); /* twice: nothing left */
	guest_mem_destroy(&gvm.mem);
	vm_pause_destroy(&gvm);
	ev_destroy(&loop);
}

TEST_MAIN(TEST_ENTRY(snapshot_round_trip), TEST_ENTRY(snapshot_bad_values_refused),
	  TEST_ENTRY(features_and_queues), TEST_ENTRY(config_checks),
	  TEST_ENTRY(inflate_drops_pages_and_coalesces),
	  TEST_ENTRY(inflate_batches_chains_and_splits_regions),
	  TEST_ENTRY(inflate_pfn_array_split_over_descriptors),
	  TEST_ENTRY(inflate_pfn_outside_ram_is_skipped),
	  TEST_ENTRY(inflate_malformed_chains_are_refused), TEST_ENTRY(deflate_is_counted),
	  TEST_ENTRY(work_per_event_is_bounded), TEST_ENTRY(corrupt_ring_needs_reset),
	  TEST_ENTRY(stats_round_trip), TEST_ENTRY(stats_malformed_buffers),
	  TEST_ENTRY(stats_interval_changes), TEST_ENTRY(set_target_updates_config),
	  TEST_ENTRY(only_actual_is_writable), TEST_ENTRY(free_page_reporting_drops_ranges),
	  TEST_ENTRY(reporting_queue_follows_negotiated_features),
	  TEST_ENTRY(free_page_hinting_runs), TEST_ENTRY(driver_ok_needs_both_balloon_queues),
	  TEST_ENTRY(vm_glue))
