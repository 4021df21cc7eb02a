/*
 * virtio.h - the guest side of virtio-mmio (version 2) shared by the virtio payloads: find the
 * device, bring it up by the book (virtio 1.x 3.1.1), set up split rings (VIRTQ_SIZE entries
 * inside struct virtq, or larger ones in the caller's memory), post descriptor chains, notify,
 * and poll the used ring with a bounded wait; for throughput, batches of in-order buffers
 * published with one index store. Polling only, one device per payload (virtio_base), 32-bit
 * guest-physical addresses (paging is off).
 */
#ifndef EMBER_GUEST_VIRTIO_H
#define EMBER_GUEST_VIRTIO_H

#include "lib.h"

/* --- virtio-mmio windows and registers --- */
#define VIRTIO_MMIO_FIRST     0xC0001000u /* ember's first virtio-mmio window */
#define VIRTIO_MMIO_WINDOW    0x1000u
#define VIRTIO_MMIO_SLOTS     16	  /* ember places at most 16 virtio-mmio devices */
#define VIRTIO_MICROVM_FIRST  0xFEB00000u /* QEMU microvm's first virtio-mmio transport */
#define VIRTIO_MICROVM_WINDOW 0x200u
#define VIRTIO_MICROVM_SLOTS  24
#define VIRTIO_MAGIC	      0x74726976u /* "virt" */

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
#define VIRTQ_SIZE		   8 /* virtq_setup()'s queues: their rings live in struct virtq */
#define VIRTQ_DESC_F_NEXT	   1
#define VIRTQ_DESC_F_WRITE	   2		  /* device-writable */
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1		  /* avail->flags: the driver polls */
#define VIRTQ_USED_F_NO_NOTIFY	   1		  /* used->flags: the device polls */
#define VIRTIO_WAIT_CYCLES	   10000000000ULL /* a few seconds of TSC, however slow the CPU runs */

/* Bytes of the rings of an @n-entry queue for virtq_setup_ring(): the descriptor table, the
 * available ring (flags, idx, ring[n], used_event), padding to 4, the used ring (flags, idx,
 * ring[n] of (id, len), avail_event, padded to 4). */
#define VIRTQ_RING_BYTES(n) (16u * (n) + ((6u + 2u * (n) + 3u) & ~3u) + 8u + 8u * (n))

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* One queue: the three ring areas plus the driver's own indexes. Zero-initialised (static). */
struct virtq {
	struct virtq_desc *desc;  /* size entries */
	volatile uint16_t *avail; /* flags idx ring[size] used_event */
	volatile uint32_t *used;  /* flags | idx << 16, then (id, len) per element, avail_event */
	uint16_t size;		  /* entries, a power of two */
	uint16_t avail_idx;	  /* next free avail slot (the avail->idx we published) */
	uint16_t used_seen;	  /* used elements consumed so far */
	uint16_t index;		  /* queue number: QueueSel and QueueNotify value */
	/* The rings of a virtq_setup() queue (VIRTQ_SIZE entries). */
	struct virtq_desc desc_mem[VIRTQ_SIZE] __attribute__((aligned(16)));
	uint16_t avail_mem[2 + VIRTQ_SIZE + 1] __attribute__((aligned(2)));
	uint32_t used_mem[1 + 2 * VIRTQ_SIZE + 1] __attribute__((aligned(4)));
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
/* The same in ember's VIRTIO_MMIO_SLOTS windows, then in QEMU microvm's transports: for payloads
 * that run under both VMMs (bench/). */
void virtio_find_any(uint32_t device_id, const char *what);
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
/* The same with @size entries (a power of two, at most QueueNumMax) whose rings live in @mem:
 * VIRTQ_RING_BYTES(@size) zeroed bytes (static storage), 16-byte aligned. */
void virtq_setup_ring(struct virtq *vq, uint32_t index, uint16_t size, void *mem);
/* DRIVER_OK: after the queues are set up. */
void virtio_driver_ok(void);

/* --- I/O --- */
/* Make the chain starting at descriptor @head available (the caller notifies). */
void virtq_post(struct virtq *vq, uint16_t head);
static inline void virtq_notify(const struct virtq *vq)
{
	virtio_wr(VIRTIO_REG_QUEUE_NOTIFY, vq->index);
}
/* A polling driver: ask the device not to interrupt (avail->flags NO_INTERRUPT, a hint). */
static inline void virtq_no_interrupts(struct virtq *vq)
{
	vq->avail[0] = VIRTQ_AVAIL_F_NO_INTERRUPT;
}

/* --- batches of in-order buffers (throughput: almost no guest work per buffer) --- */
/* Fills the avail ring once with 0, 1, ..., size - 1: descriptor i (a one-descriptor chain, or a
 * chain headed by i) serves avail slot i mod size. Right when the device returns buffers in the
 * order it took them, as ember's and QEMU's virtio-net queues do (virtq_check_in_order()). */
void virtq_ring_identity(struct virtq *vq);
/* Makes the next @n avail slots available with one idx store (ring entries already written). */
static inline void virtq_publish(struct virtq *vq, uint16_t n)
{
	virtio_barrier(); /* the descriptors before idx */
	vq->avail_idx = (uint16_t)(vq->avail_idx + n);
	vq->avail[1] = vq->avail_idx;
	virtio_barrier();
}
/* Notifies the device after a batch unless it said it polls (used->flags NO_NOTIFY, read after a
 * full barrier, so it cannot miss our idx store). */
void virtq_kick(struct virtq *vq);
/* Consumes every used element the device returned since the last call; returns how many. */
uint16_t virtq_take_used(struct virtq *vq);
/* The last consumed used element names descriptor (used_seen - 1) mod size (identity ring);
 * otherwise prints it and fails. */
void virtq_check_in_order(const struct virtq *vq);
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
