// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-mem through its registers and queue: the configuration space, the
 * host's requested size (a configuration interrupt), PLUG up to it (NACK
 * beyond), UNPLUG (the blocks' host pages given back), UNPLUG_ALL, STATE,
 * every refused range, malformed requests, snapshots.
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <sys/mman.h>

#include "devices/virtio/mem.h"

#define MIB	 (1ULL << 20)
#define HP_GPA	 (1ULL << 32)
#define HP_SIZE	 (16 * MIB)
#define BLOCK	 (2 * MIB)
#define REQ_GPA	 (FD_BUF_GPA)
#define RESP_GPA (FD_BUF_GPA + 0x100)

static struct fake_driver fdrv;
static struct virtio_mem vm_;
static uint8_t *hp; /* the hotplug region's host memory */
static uint16_t next_head;

static void setup(void)
{
	struct guest_region regs[2];

	fd_init(&fdrv, 4 << 20);
	hp = mmap(NULL, HP_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hp != MAP_FAILED);
	regs[0] = (struct guest_region){0, fdrv.ram_size, fdrv.ram};
	regs[1] = (struct guest_region){HP_GPA, HP_SIZE, hp};
	CHECK_EQ(guest_mem_init_fake(&fdrv.gm, regs, 2), 0);
	CHECK_EQ(virtio_mem_init(&vm_, HP_GPA, HP_SIZE, BLOCK, fd_host_ops(), &fdrv.host, &fdrv.gm),
		 0);
	fd_attach(&fdrv, &vm_.dev);
	CHECK(fd_device_features(&fdrv) & (1ULL << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE));
	fd_bring_up(&fdrv, VIRTIO_ID_MEM, 1ULL << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE, 1, 8);
	next_head = 0;
}

static void teardown(void)
{
	virtio_mem_destroy(&vm_);
	munmap(hp, HP_SIZE);
	fd_destroy(&fdrv);
}

/* One request; the response type (and *state). @out_len 24 unless testing short ones. */
static uint16_t req_len(uint16_t type, uint64_t addr, uint16_t nb, uint32_t out_len,
			uint16_t *state, uint32_t *used_len)
{
	uint8_t r[24] = {0};
	uint16_t head = next_head, rtype;
	uint32_t id, len;

	next_head = (uint16_t)((next_head + 2) % 8);
	memcpy(r, &type, 2);
	memcpy(r + 8, &addr, 8);
	memcpy(r + 16, &nb, 2);
	memcpy(fd_at(&fdrv, REQ_GPA), r, sizeof(r));
	memset(fd_at(&fdrv, RESP_GPA), 0xff, 10);
	fd_chain(&fdrv, 0, head, 2,
		 (struct fd_buf[]){{REQ_GPA, out_len, false}, {RESP_GPA, 10, true}});
	fd_post(&fdrv, 0, head);
	fd_notify(&fdrv, 0);
	fd_used(&fdrv, 0, (uint16_t)(fd_used_idx(&fdrv, 0) - 1), &id, &len);
	CHECK_EQ(id, head);
	if (used_len)
		*used_len = len;
	rtype = fd_get16(&fdrv, RESP_GPA);
	if (state)
		*state = fd_get16(&fdrv, RESP_GPA + 8);
	return rtype;
}

static uint16_t req(uint16_t type, uint64_t addr, uint16_t nb)
{
	return req_len(type, addr, nb, 24, NULL, NULL);
}

static uint16_t state_of(uint64_t addr, uint16_t nb)
{
	uint16_t st = 0xffff;

	CHECK_EQ(req_len(VIRTIO_MEM_REQ_STATE, addr, nb, 24, &st, NULL), VIRTIO_MEM_RESP_ACK);
	return st;
}

static uint64_t cfg64(unsigned int off)
{
	uint64_t v;

	fd_cfg_read(&fdrv, off, &v, 8);
	return v;
}

TEST(config_space_and_requested_size)
{
	int irqs;

	setup();
	CHECK_EQ(cfg64(0), BLOCK);
	CHECK_EQ(cfg64(16), HP_GPA);
	CHECK_EQ(cfg64(24), HP_SIZE);
	CHECK_EQ(cfg64(32), HP_SIZE);
	CHECK_EQ(cfg64(40), 0);
	CHECK_EQ(cfg64(48), 0);
	irqs = fdrv.host.interrupts;
	CHECK_EQ(virtio_mem_set_requested(&vm_, 6 * MIB), 0);
	CHECK_EQ(cfg64(48), 6 * MIB);
	CHECK(fdrv.host.interrupts > irqs);
	CHECK_EQ(virtio_mem_set_requested(&vm_, 3 * MIB), -EINVAL);	    /* not whole blocks */
	CHECK_EQ(virtio_mem_set_requested(&vm_, HP_SIZE + BLOCK), -EINVAL); /* beyond the region */
	CHECK_EQ(cfg64(48), 6 * MIB);
	teardown();
}

TEST(plug_unplug_state)
{
	uint64_t plugged, requested;

	setup();
	/* Nothing requested yet: a plug is refused (NACK), not an error. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1), VIRTIO_MEM_RESP_NACK);
	CHECK_EQ(virtio_mem_set_requested(&vm_, 6 * MIB), 0);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 2), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 4 * BLOCK, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 6 * BLOCK, 1), VIRTIO_MEM_RESP_NACK);
	CHECK_EQ(cfg64(40), 6 * MIB);
	virtio_mem_sizes(&vm_, &plugged, &requested);
	CHECK_EQ(plugged, 6 * MIB);
	CHECK_EQ(requested, 6 * MIB);
	CHECK_EQ(state_of(HP_GPA, 2), VIRTIO_MEM_STATE_PLUGGED);
	CHECK_EQ(state_of(HP_GPA, 3), VIRTIO_MEM_STATE_MIXED);
	CHECK_EQ(state_of(HP_GPA + 2 * BLOCK, 2), VIRTIO_MEM_STATE_UNPLUGGED);
	/* Plugging a plugged block, unplugging an unplugged one: errors. */
	CHECK_EQ(virtio_mem_set_requested(&vm_, HP_SIZE), 0);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + BLOCK, 2), VIRTIO_MEM_RESP_ERROR);
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA + BLOCK, 2), VIRTIO_MEM_RESP_ERROR);
	/* The guest used a plugged block; unplugging it gives the page back (reads zero). */
	hp[BLOCK + 123] = 0x5a;
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA + BLOCK, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(hp[BLOCK + 123], 0);
	CHECK_EQ(cfg64(40), 4 * MIB);
	CHECK_EQ(vm_.plug_count, 2);
	CHECK_EQ(vm_.unplug_count, 1);
	/* UNPLUG_ALL: everything, with only the header (8 bytes) sent. */
	hp[0] = 1;
	CHECK_EQ(req_len(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0, 8, NULL, NULL), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(cfg64(40), 0);
	CHECK_EQ(hp[0], 0);
	CHECK_EQ(state_of(HP_GPA, 8), VIRTIO_MEM_STATE_UNPLUGGED);
	teardown();
}

TEST(refused_ranges_and_malformed)
{
	uint32_t len;

	setup();
	CHECK_EQ(virtio_mem_set_requested(&vm_, HP_SIZE), 0);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 4096, 1), VIRTIO_MEM_RESP_ERROR); /* unaligned */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA - BLOCK, 1), VIRTIO_MEM_RESP_ERROR);	/* below */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + HP_SIZE, 1), VIRTIO_MEM_RESP_ERROR); /* above */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 7 * BLOCK, 2), VIRTIO_MEM_RESP_ERROR); /* past */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 0), VIRTIO_MEM_RESP_ERROR); /* no block */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, 0, 0xffff), VIRTIO_MEM_RESP_ERROR); /* RAM */
	CHECK_EQ(req(VIRTIO_MEM_REQ_STATE, HP_GPA + 1, 1), VIRTIO_MEM_RESP_ERROR);
	CHECK_EQ(req(7, HP_GPA, 1), VIRTIO_MEM_RESP_ERROR); /* unknown type */
	/* A plug with only the header: an error, nothing plugged. */
	CHECK_EQ(req_len(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1, 8, NULL, NULL), VIRTIO_MEM_RESP_ERROR);
	CHECK_EQ(cfg64(40), 0);
	CHECK_EQ(vm_.plug_fails, 7);
	/* No header at all: failed with length 0. */
	req_len(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1, 4, NULL, &len);
	CHECK_EQ(len, 0);
	CHECK_EQ(vm_.dev.event_fails, 1);
	teardown();
}

TEST(geometry_checked)
{
	struct virtio_mem m;

	setup();
	CHECK_EQ(virtio_mem_init(&m, HP_GPA, HP_SIZE, 3 * MIB, fd_host_ops(), &fdrv.host, &fdrv.gm),
		 -EINVAL);
	CHECK_EQ(virtio_mem_init(&m, HP_GPA, HP_SIZE + BLOCK, BLOCK, fd_host_ops(), &fdrv.host,
				 &fdrv.gm),
		 -EINVAL); /* past guest memory */
	CHECK_EQ(
	    virtio_mem_init(&m, HP_GPA + 4096, BLOCK, BLOCK, fd_host_ops(), &fdrv.host, &fdrv.gm),
	    -EINVAL);
	teardown();
}

TEST(snapshot_round_trip)
{
	struct virtio_mem *back = calloc(1, sizeof(*back));
	struct fd_snap snap;

	setup();
	CHECK_EQ(virtio_mem_set_requested(&vm_, 8 * MIB), 0);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 2 * BLOCK, 3), VIRTIO_MEM_RESP_ACK);
	fd_snap_save(&snap, &vm_.dev);
	CHECK_EQ(virtio_mem_init(back, HP_GPA, HP_SIZE, BLOCK, fd_host_ops(), &fdrv.host, &fdrv.gm),
		 0);
	CHECK_EQ(virtio_dev_restore(&back->dev, &snap.f, 0), 0);
	CHECK_EQ(back->plugged_size, 6 * MIB);
	CHECK_EQ(back->requested_size, 8 * MIB);
	virtio_mem_destroy(back);
	/* Another block size: refused. */
	CHECK_EQ(
	    virtio_mem_init(back, HP_GPA, HP_SIZE, 4 * MIB, fd_host_ops(), &fdrv.host, &fdrv.gm),
	    0);
	CHECK(virtio_dev_restore(&back->dev, &snap.f, 0) != 0);
	virtio_mem_destroy(back);
	free(back);
	fd_snap_free(&snap);
	teardown();
}

/* The host's slots as the device asks for them: a log of calls, and a failure on demand. */
#define SLOT (8 * MIB) /* 4 blocks; the region has 2 */
static struct {
	int calls;
	uint64_t last;
	bool last_present;
	bool mapped[2];
	int fail_slot; /* -1: none */
} slots;

static int fake_slot_set(void *opaque, uint64_t slot, bool present)
{
	CHECK(opaque == &slots);
	CHECK(slot < 2);
	if ((int)slot == slots.fail_slot)
		return -ENOSPC;
	CHECK(slots.mapped[slot] != present); /* never twice the same way */
	slots.calls++;
	slots.last = slot;
	slots.last_present = present;
	slots.mapped[slot] = present;
	return 0;
}

static void slots_setup(void)
{
	setup();
	memset(&slots, 0, sizeof(slots));
	slots.fail_slot = -1;
	CHECK_EQ(virtio_mem_use_slots(&vm_, 3 * MIB, fake_slot_set, &slots), -EINVAL);
	CHECK_EQ(virtio_mem_use_slots(&vm_, 6 * MIB, fake_slot_set, &slots), -EINVAL);
	CHECK_EQ(virtio_mem_use_slots(&vm_, SLOT, fake_slot_set, &slots), 0);
	CHECK_EQ(vm_.nr_slots, 2);
	CHECK_EQ(virtio_mem_set_requested(&vm_, HP_SIZE), 0);
}

TEST(slots_follow_plugged_blocks)
{
	slots_setup();
	CHECK(!virtio_mem_slot_mapped(&vm_, 0) && !virtio_mem_slot_mapped(&vm_, 1));
	/* The first block of slot 0: mapped before the ACK. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + BLOCK, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 1);
	CHECK(slots.mapped[0] && virtio_mem_slot_mapped(&vm_, 0));
	/* Another block of it: nothing to map. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 1);
	/* A range over both slots maps slot 1 only. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 3 * BLOCK, 2), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 2);
	CHECK(slots.mapped[1] && slots.last == 1);
	/* Unplugging some of slot 0's blocks keeps it; its last one unmaps it. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA, 2), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 2);
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA + 3 * BLOCK, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 3);
	CHECK(!slots.mapped[0] && slots.mapped[1] && !virtio_mem_slot_mapped(&vm_, 0));
	/* UNPLUG_ALL unmaps what is left. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG_ALL, 0, 0), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(slots.calls, 4);
	CHECK(!slots.mapped[0] && !slots.mapped[1]);
	/* A refused plug (NACK, ERROR) maps nothing. */
	CHECK_EQ(virtio_mem_set_requested(&vm_, BLOCK), 0);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 2), VIRTIO_MEM_RESP_NACK);
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 4096, 1), VIRTIO_MEM_RESP_ERROR);
	CHECK_EQ(slots.calls, 4);
	teardown();
}

TEST(slot_the_host_refuses)
{
	slots_setup();
	/* Slot 1 cannot be mapped: a plug over both slots fails whole, slot 0 unmapped again. */
	slots.fail_slot = 1;
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 3 * BLOCK, 2), VIRTIO_MEM_RESP_ERROR);
	CHECK(!slots.mapped[0] && !slots.mapped[1]);
	CHECK_EQ(slots.calls, 2); /* slot 0 in and out */
	CHECK_EQ(cfg64(40), 0);
	CHECK_EQ(state_of(HP_GPA + 3 * BLOCK, 2), VIRTIO_MEM_STATE_UNPLUGGED);
	CHECK_EQ(vm_.plug_fails, 1);
	/* Slot 0 alone works; its unmap refused: unplugged anyway, still mapped. */
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1), VIRTIO_MEM_RESP_ACK);
	slots.fail_slot = 0;
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA, 1), VIRTIO_MEM_RESP_ACK);
	CHECK(virtio_mem_slot_mapped(&vm_, 0));
	CHECK_EQ(cfg64(40), 0);
	/* The next unplug of its last block takes it out. */
	slots.fail_slot = -1;
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA, 1), VIRTIO_MEM_RESP_ACK);
	CHECK_EQ(req(VIRTIO_MEM_REQ_UNPLUG, HP_GPA, 1), VIRTIO_MEM_RESP_ACK);
	CHECK(!virtio_mem_slot_mapped(&vm_, 0) && !slots.mapped[0]);
	teardown();
}

/* A restore maps the slots with a plugged block, and only those. */
TEST(slots_restored)
{
	struct virtio_mem *back = calloc(1, sizeof(*back));
	struct fd_snap snap;

	slots_setup();
	CHECK_EQ(req(VIRTIO_MEM_REQ_PLUG, HP_GPA + 5 * BLOCK, 1), VIRTIO_MEM_RESP_ACK);
	fd_snap_save(&snap, &vm_.dev);
	memset(&slots, 0, sizeof(slots));
	slots.fail_slot = -1;
	CHECK_EQ(virtio_mem_init(back, HP_GPA, HP_SIZE, BLOCK, fd_host_ops(), &fdrv.host, &fdrv.gm),
		 0);
	CHECK_EQ(virtio_mem_use_slots(back, SLOT, fake_slot_set, &slots), 0);
	CHECK_EQ(virtio_dev_restore(&back->dev, &snap.f, 0), 0);
	CHECK_EQ(slots.calls, 1);
	CHECK(!slots.mapped[0] && slots.mapped[1]);
	CHECK(!virtio_mem_slot_mapped(back, 0) && virtio_mem_slot_mapped(back, 1));
	virtio_mem_destroy(back);
	/* The host cannot map it: the restore fails. */
	memset(&slots, 0, sizeof(slots));
	slots.fail_slot = 1;
	CHECK_EQ(virtio_mem_init(back, HP_GPA, HP_SIZE, BLOCK, fd_host_ops(), &fdrv.host, &fdrv.gm),
		 0);
	CHECK_EQ(virtio_mem_use_slots(back, SLOT, fake_slot_set, &slots), 0);
	CHECK(virtio_dev_restore(&back->dev, &snap.f, 0) != 0);
	virtio_mem_destroy(back);
	free(back);
	fd_snap_free(&snap);
	teardown();
}

TEST_MAIN(TEST_ENTRY(slots_follow_plugged_blocks), TEST_ENTRY(slot_the_host_refuses),
	  TEST_ENTRY(slots_restored), TEST_ENTRY(config_space_and_requested_size),
	  TEST_ENTRY(plug_unplug_state), TEST_ENTRY(refused_ranges_and_malformed),
	  TEST_ENTRY(geometry_checked), TEST_ENTRY(snapshot_round_trip))
