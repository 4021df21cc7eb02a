/*
 * virtio.h - the guest side of virtio-mmio (version 2) shared by the virtio payloads: find the
 * device, bring it up by the book (virtio 1.x 3.1.1), set up split rings of VIRTQ_SIZE, post
 * descriptor chains, notify, and poll the used ring with a bounded wait. Polling only, one
 * device per payload (virtio_base), 32-bit guest-physical addresses (paging is off).
 */
#ifndef EMBER_GUEST_VIRTIO_H
#define EMBER_GUEST_VIRTIO_H

#include "lib.h"

/* --- virtio-mmio windows and registers --- */
#define VIRTIO_MMIO_FIRST  0xC0001000u /* ember's first virtio-mmio window */
#define VIRTIO_MMIO_WINDOW 0x1000u
#define VIRTIO_MAGIC	   0x74726976u /* "virt" */

#define VIRTIO_REG_MAGIC	     0x000
#define VIRTIO_REG_VERSION	     0x004
#define VIRTIO_REG_DEVICE_ID	     0x008
#define VIRTIO_REG_DEVICE_FEATURES   0x010
#define VIRTIO_REG_DEVICE_FEAT_SEL   0x014
#define VIRTIO_REG_DRIVER_FEATURES   0x020
#define VIRTIO_REG_DRIVER_FEAT_SEL   0x024
#define VIRTIO_REG_QUEUE_SEL	     0x030
#define VIRTIO_REG_QUEUE_NUM_MAX     0x034
#define VIRTIO_REG_QUEUE_NUM	     0x038
#define VIRTIO_REG_QUEUE_READY	     0x044
#define VIRTIO_REG_QUEUE_NOTIFY	     0x050
#define VIRTIO_REG_INTERRUPT_STATUS  0x060
#define VIRTIO_REG_INTERRUPT_ACK     0x064
#define VIRTIO_REG_STATUS	     0x070
#define VIRTIO_REG_QUEUE_DESC_LOW    0x080
#define VIRTIO_REG_QUEUE_DESC_HIGH   0x084
#define VIRTIO_REG_QUEUE_DRIVER_LOW  0x090
#define VIRTIO_REG_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_REG_QUEUE_DEVICE_LOW  0x0a0
#define VIRTIO_REG_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_REG_CONFIG	     0x100 /* device-specific configuration */

/* Device status bits. */
#define VIRTIO_S_ACK	     1
#define VIRTIO_S_DRIVER	     2
#define VIRTIO_S_DRIVER_OK   4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64

/* --- split virtqueues --- */
#define VIRTQ_SIZE	   8
#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2		  /* device-writable */
#define VIRTIO_WAIT_CYCLES 10000000000ULL /* a few seconds of TSC, however slow the CPU runs */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One queue: the three ring areas plus the driver's own indexes. Zero-initialised (static). */
struct virtq {
	struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(16)));
	volatile uint16_t avail[2 + VIRTQ_SIZE + 1]
	    __attribute__((aligned(2))); /* flags idx ring ev */
	volatile uint32_t used[1 + 2 * VIRTQ_SIZE + 1]
	    __attribute__((aligned(4))); /* flags|idx, ring */
	uint16_t avail_idx;		 /* next free avail slot (the avail->idx we published) */
	uint16_t used_seen;		 /* used elements consumed so far */
	uint16_t index;			 /* queue number: QueueSel and QueueNotify value */
};

/* MMIO base of the device in use, set by virtio_find(). */
extern uint32_t virtio_base;

static inline uint32_t virtio_rd(uint32_t off)
{
	return mmio_read32(virtio_base + off);
}

static inline void virtio_wr(uint32_t off, uint32_t v)
{
	mmio_write32(virtio_base + off, v);
}

/* A compiler barrier: x86 keeps stores (and loads) in order; the compiler must too. */
static inline void virtio_barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

/* --- bring-up --- */
/* Scan the first @slots windows for magic + @device_id and set virtio_base (fails if the device
 * is not version 2). Not found: prints the first window's registers, then fail(@what). */
void virtio_find(uint32_t device_id, uint32_t slots, const char *what);
/* Write the status register; fails if it does not read back. */
void virtio_set_status(uint32_t s);
/* Reset, ACKNOWLEDGE, DRIVER; fails unless VIRTIO_F_VERSION_1 (feature bit 32) is offered. */
void virtio_begin(void);
/* Device feature word @word (0: bits 0-31). */
uint32_t virtio_device_features(uint32_t word);
/* Accept @word0 (bits 0-31) and VERSION_1 only, then FEATURES_OK (checked). */
void virtio_features_ok(uint32_t word0);
/* Set up queue @index on @vq (fails if it is already ready or smaller than VIRTQ_SIZE). */
void virtq_setup(struct virtq *vq, uint32_t index);
/* DRIVER_OK: after the queues are set up. */
void virtio_driver_ok(void);

/* --- I/O --- */
/* Make the chain starting at descriptor @head available (the caller notifies). */
void virtq_post(struct virtq *vq, uint16_t head);
static inline void virtq_notify(const struct virtq *vq)
{
	virtio_wr(VIRTIO_REG_QUEUE_NOTIFY, vq->index);
}
/* The device's used->idx. */
static inline uint16_t virtq_used_idx(const struct virtq *vq)
{
	return (uint16_t)(vq->used[0] >> 16);
}
/* Wait (at most @cycles of TSC, else fail(@what)) until at least @n used elements are
 * unconsumed; consumes none. */
void virtq_wait(struct virtq *vq, uint16_t n, uint64_t cycles, const char *what);
/* Consume the next used element (the caller checked there is one): its id, its length in *len. */
uint32_t virtq_pop(struct virtq *vq, uint32_t *len);
/* virtq_wait() for one element, then virtq_pop() it. */
uint32_t virtq_wait_used(struct virtq *vq, uint64_t cycles, const char *what, uint32_t *len);

#endif
