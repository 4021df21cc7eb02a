// SPDX-License-Identifier: Apache-2.0
/*
 * Split virtqueues, the device side (virtio 1.x, section 2.7).
 *
 * Layout in guest memory (all fields little-endian; the host is x86, so they are
 * read and written natively):
 *   descriptor table  16 * size      { le64 addr; le32 len; le16 flags; le16 next; }
 *   avail ring         6 + 2 * size  { le16 flags; le16 idx; le16 ring[size]; le16 used_event; }
 *   used ring          6 + 8 * size  { le16 flags; le16 idx; { le32 id; le32 len; } ring[size];
 *                                      le16 avail_event; }
 *
 * Memory ordering. The guest driver runs concurrently on other CPUs, so every
 * access to a word the driver writes or reads is an __atomic access on the
 * guest-memory location, and every ordering the protocol needs has its own
 * barrier with a comment naming what it protects. Descriptors are copied once
 * into a local (memcpy) and only the copy is used: the guest may rewrite a
 * descriptor while we walk it, and we must not check one value and use another.
 *
 * Every ring area is fetched through gm_ptr() as a whole (vq_validate checked
 * it once; a NULL here means the queue is used without validation and is
 * treated as a corrupt ring). Every buffer and indirect table goes through
 * gm_ptr() too: one region, no overflow, no zero length.
 */
#include "devices/virtio/virtqueue.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "virtio 1.x rings are little-endian: add byte swaps for this host");

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
_Static_assert(sizeof(struct vring_desc) == 16, "virtq_desc is 16 bytes");

/* Offsets inside the avail and used rings. */
#define RING_FLAGS   0
#define RING_IDX     2
#define RING_ENTRIES 4
#define USED_ELEM    8 /* sizeof(struct virtq_used_elem) */

static uint8_t *avail_ring(const struct virtqueue *vq)
{
	return gm_ptr(vq->mem, vq->avail_gpa, VQ_AVAIL_BYTES(vq->size));
}

static uint8_t *used_ring(const struct virtqueue *vq)
{
	return gm_ptr(vq->mem, vq->used_gpa, VQ_USED_BYTES(vq->size));
}

/* Host pointers to 16- and 32-bit ring words (alignment checked by vq_validate). */
static uint16_t *word16(uint8_t *ring, uint64_t off)
{
	return (uint16_t *)(void *)(ring + off);
}

static uint32_t *word32(uint8_t *ring, uint64_t off)
{
	return (uint32_t *)(void *)(ring + off);
}

/* avail->ring[size] is used_event; used->ring[size] is avail_event (EVENT_IDX). */
static uint64_t used_event_off(const struct virtqueue *vq)
{
	return RING_ENTRIES + 2ULL * vq->size;
}

static uint64_t avail_event_off(const struct virtqueue *vq)
{
	return RING_ENTRIES + (uint64_t)USED_ELEM * vq->size;
}

static bool is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int vq_validate(const struct virtqueue *vq)
{
	if (!vq->mem || !is_pow2(vq->size) || vq->size > VQ_MAX_SIZE) {
		log_warn_rl("virtqueue: size %u is not a power of two in 1..%u", vq->size,
			    VQ_MAX_SIZE);
		return -EINVAL;
	}
	if (vq->desc_gpa % 16 || vq->avail_gpa % 2 || vq->used_gpa % 4) {
		log_warn_rl("virtqueue: misaligned rings: desc 0x%llx (16), avail 0x%llx (2), "
			    "used 0x%llx (4)",
			    (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			    (unsigned long long)vq->used_gpa);
		return -EINVAL;
	}
	if (!gm_ptr(vq->mem, vq->desc_gpa, VQ_DESC_BYTES(vq->size)) || !avail_ring(vq) ||
	    !used_ring(vq)) {
		log_warn_rl("virtqueue: rings outside guest memory: desc 0x%llx, avail 0x%llx, "
			    "used 0x%llx, size %u",
			    (unsigned long long)vq->desc_gpa, (unsigned long long)vq->avail_gpa,
			    (unsigned long long)vq->used_gpa, vq->size);
		return -EFAULT;
	}
	return 0;
}

void vq_reset(struct virtqueue *vq)
{
	const struct guest_mem *mem = vq->mem;

	memset(vq, 0, sizeof(*vq));
	vq->mem = mem;
	/* Nothing pushed, nothing signalled: used index 0 is exactly what the guest has seen. */
	vq->signalled_valid = true;
}

void vq_save(const struct virtqueue *vq, struct state_writer *w)
{
	sw_u16(w, vq->size);
	sw_bool(w, vq->ready);
	sw_bool(w, vq->event_idx);
	sw_bool(w, vq->indirect);
	sw_u64(w, vq->desc_gpa);
	sw_u64(w, vq->avail_gpa);
	sw_u64(w, vq->used_gpa);
	sw_u16(w, vq->last_avail);
	sw_u16(w, vq->used_idx);
	sw_u16(w, vq->signalled_used);
	sw_bool(w, vq->signalled_valid);
	sw_bool(w, vq->broken);
}

void vq_restore(struct virtqueue *vq, struct state_reader *r, uint16_t queue_max, bool live)
{
	vq_reset(vq);
	vq->size = sr_u16(r);
	vq->ready = sr_bool(r);
	vq->event_idx = sr_bool(r);
	vq->indirect = sr_bool(r);
	vq->desc_gpa = sr_u64(r);
	vq->avail_gpa = sr_u64(r);
	vq->used_gpa = sr_u64(r);
	vq->last_avail = sr_u16(r);
	vq->used_idx = sr_u16(r);
	vq->signalled_used = sr_u16(r);
	vq->signalled_valid = sr_bool(r);
	vq->broken = sr_bool(r);
	if (!sr_ok(r))
		return;
	if (vq->size && (!is_pow2(vq->size) || vq->size > queue_max)) {
		log_warn("virtqueue: saved size %u is not a power of two <= %u", vq->size,
			 queue_max);
		sr_fail(r);
	} else if ((uint16_t)(vq->last_avail - vq->used_idx) > vq->size) {
		log_warn("virtqueue: saved with %u chains in flight in a queue of %u",
			 (uint16_t)(vq->last_avail - vq->used_idx), vq->size);
		sr_fail(r);
	} else if (live && vq->ready && vq_validate(vq) < 0) {
		sr_fail(r); /* logged */
	}
}

/* The ring is corrupt: nothing sensible can be given back. */
static int ring_broken(struct virtqueue *vq, const char *why)
{
	if (!vq->broken)
		log_warn_rl("virtqueue: corrupt ring (%s): the device needs a reset", why);
	vq->broken = true;
	vq->error = why;
	return -EIO;
}

/* A malformed chain: the caller gives the head back with len 0. */
static int chain_bad(struct virtqueue *vq, uint16_t head, const char *why)
{
	log_debug("virtqueue: malformed chain at head %u: %s", head, why);
	vq->error = why;
	return -EINVAL;
}

/*
 * Walks the chain starting at @head into @c. Loops are caught by a hop counter:
 * a table of N descriptors cannot hold a chain of more than N hops without
 * visiting one twice, so more hops than entries means a loop (or, which is the
 * same thing for us, a chain longer than the table).
 */
static int walk_chain(struct virtqueue *vq, uint16_t head, struct vq_chain *c)
{
	uint64_t table = vq->desc_gpa;
	uint32_t entries = vq->size; /* descriptors in the current table */
	uint32_t hops = 0;
	uint16_t i = head;
	bool in_indirect = false, writable = false;

	c->head = head;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
	for (;;) {
		struct vring_desc d;
		const void *p;

		if (++hops > entries)
			return chain_bad(vq, head, "chain longer than its table (a loop)");
		p = gm_ptr(vq->mem, table + (uint64_t)i * sizeof(d), sizeof(d));
		if (!p)
			return chain_bad(vq, head, "descriptor outside guest memory");
		/* One snapshot: the guest may rewrite the descriptor while we look at it. */
		memcpy(&d, p, sizeof(d));

		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!vq->indirect)
				return chain_bad(vq, head, "indirect descriptor not negotiated");
			if (in_indirect)
				return chain_bad(vq, head, "nested indirect table");
			if (d.flags & VRING_DESC_F_NEXT)
				return chain_bad(vq, head, "indirect descriptor with NEXT");
			if (!d.len || d.len % sizeof(d) || d.len / sizeof(d) > vq->size)
				return chain_bad(vq, head, "bad indirect table length");
			if (!gm_ptr(vq->mem, d.addr, d.len))
				return chain_bad(vq, head, "indirect table outside guest memory");
			/* Its WRITE flag means nothing (spec: the device MUST ignore it). */
			in_indirect = true;
			table = d.addr;
			entries = d.len / sizeof(d);
			hops = 0;
			i = 0;
			continue;
		}

		if (d.flags & VRING_DESC_F_WRITE)
			writable = true;
		else if (writable)
			return chain_bad(vq, head, "device-readable buffer after a writable one");

		/*
		 * Zero-length buffers carry no data: skipped (no iovec), and their
		 * address is never looked at. They still count as a hop above.
		 */
		if (d.len) {
			void *buf = gm_ptr(vq->mem, d.addr, d.len);

			if (!buf)
				return chain_bad(vq, head, "buffer outside guest memory");
			if (c->nr_out + c->nr_in >= VQ_MAX_SEGS)
				return chain_bad(vq, head, "more than VQ_MAX_SEGS buffers");
			if (writable) {
				c->in[c->nr_in++] = (struct iovec){buf, d.len};
				c->in_len += d.len;
			} else {
				c->out[c->nr_out++] = (struct iovec){buf, d.len};
				c->out_len += d.len;
			}
			/* Spec: drivers MUST NOT add a chain longer than 2^32 bytes. */
			if (c->out_len + c->in_len > UINT32_MAX)
				return chain_bad(vq, head, "chain longer than 4 GiB");
		}

		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		i = d.next;
		if (i >= entries)
			return chain_bad(vq, head, "next index out of range");
	}
}

int vq_pop(struct virtqueue *vq, struct vq_chain *chain)
{
	uint8_t *avail;
	uint16_t avail_idx, pending, head;

	if (!vq->ready || !vq->size)
		return 0;
	if (vq->broken)
		return -EIO;
	avail = avail_ring(vq);
	if (!avail)
		return ring_broken(vq, "avail ring outside guest memory");

	/*
	 * Read avail->idx with acquire: the ring entry and the descriptors (and
	 * buffers) it covers are read after it, so we see what the driver wrote
	 * before its release of idx (its write barrier before the idx update).
	 */
	avail_idx = __atomic_load_n(word16(avail, RING_IDX), __ATOMIC_ACQUIRE);
	pending = (uint16_t)(avail_idx - vq->last_avail);
	if (!pending)
		return 0;
	if (pending > vq->size)
		return ring_broken(vq, "avail->idx more than the queue size ahead");

	/* Ordered after the acquire load of avail->idx above. */
	head = __atomic_load_n(word16(avail, RING_ENTRIES + 2ULL * (vq->last_avail % vq->size)),
			       __ATOMIC_RELAXED);
	if (head >= vq->size)
		return ring_broken(vq, "head index out of range");
	vq->last_avail++;

	if (vq->event_idx) {
		uint8_t *used = used_ring(vq);

		/*
		 * avail_event = last_avail: "notify me when you add entry last_avail".
		 * Relaxed: a hint only. A device that stops popping on an empty ring
		 * calls vq_enable_notify(), whose full barrier closes the race.
		 */
		if (used) {
			__atomic_store_n(word16(used, avail_event_off(vq)), vq->last_avail,
					 __ATOMIC_RELAXED);
			gm_mark_dirty(vq->mem, used + avail_event_off(vq), 2);
		}
	}

	if (walk_chain(vq, head, chain) < 0) {
		vq_push(vq, head, 0);
		return -EINVAL;
	}
	return 1;
}

void vq_undo_pop(struct virtqueue *vq)
{
	vq->last_avail--;
}

/*
 * Dirty page tracking (Diff snapshots): the pages of chain @head's
 * device-writable buffers, all of them (a superset of what the device wrote,
 * whatever the used length says). The chain is walked again from its
 * descriptors: unchanged since the pop, unless the guest broke the protocol
 * by rewriting descriptors it had given the device, and then only its own
 * snapshot suffers. Marked at the push, after the device's writes, so a chain
 * held across a snapshot (a receive buffer) is marked for the next one.
 */
static void mark_written(struct virtqueue *vq, uint16_t head)
{
	const char *error = vq->error;
	struct vq_chain c;

	walk_chain(vq, head, &c); /* a bad chain: what was walked before the fault */
	vq->error = error;
	for (unsigned int i = 0; i < c.nr_in; i++)
		gm_mark_dirty(vq->mem, c.in[i].iov_base, c.in[i].iov_len);
}

void vq_push_many(struct virtqueue *vq, const struct vq_used *elems, unsigned int n)
{
	uint8_t *used = vq->size ? used_ring(vq) : NULL;
	unsigned int i;

	if (!used) {
		log_warn_rl("virtqueue: push of %u chains on a queue of size %u dropped", n,
			    vq->size);
		return;
	}
	for (i = 0; i < n; i++) {
		if (elems[i].head >= vq->size) {
			log_warn_rl("virtqueue: push of head %u on a queue of size %u dropped "
				    "(with the %u chains pushed with it)",
				    elems[i].head, vq->size, n);
			return;
		}
	}
	for (i = 0; i < n; i++) {
		uint64_t elem =
		    RING_ENTRIES + (uint64_t)USED_ELEM * ((uint16_t)(vq->used_idx + i) % vq->size);

		__atomic_store_n(word32(used, elem), (uint32_t)elems[i].head, __ATOMIC_RELAXED);
		__atomic_store_n(word32(used, elem + 4), elems[i].len, __ATOMIC_RELAXED);
	}
	if (gm_tracking_dirty(vq->mem)) {
		for (i = 0; i < n; i++)
			mark_written(vq, elems[i].head);
		gm_mark_dirty(vq->mem, used, VQ_USED_BYTES(vq->size));
	}
	vq->used_idx = (uint16_t)(vq->used_idx + n);
	/*
	 * Publish used->idx once, with release: the used elements above, and the data
	 * the device wrote into the chains' buffers before calling us, are visible to
	 * the driver before the new idx (which it reads with acquire / rmb). Once: a
	 * driver polling the ring never sees part of the batch (a merged rx frame's
	 * first chain without the others).
	 */
	__atomic_store_n(word16(used, RING_IDX), vq->used_idx, __ATOMIC_RELEASE);
}

void vq_push(struct virtqueue *vq, uint16_t head, uint32_t len)
{
	const struct vq_used e = {.head = head, .len = len};

	vq_push_many(vq, &e, 1);
}

/* Event-index test (virtio 1.x 2.7.10): did used idx pass @event moving from @old to @new? */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool vq_should_notify(struct virtqueue *vq)
{
	uint16_t old = vq->signalled_used, new_idx = vq->used_idx;
	bool valid = vq->signalled_valid;
	uint8_t *avail;

	if (!vq->size)
		return false;
	avail = avail_ring(vq);
	if (!avail)
		return false;
	vq->signalled_used = new_idx;
	vq->signalled_valid = true;
	if (valid && old == new_idx)
		return false; /* nothing new since the last interrupt */

	/*
	 * Full barrier (store -> load): our used->idx store must be visible before
	 * we read the driver's suppression state (avail->flags / used_event).
	 * Pairs with the driver's barrier between re-enabling interrupts and its
	 * re-read of used->idx; without it both sides could miss each other and
	 * the guest would wait forever for an interrupt.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	if (!vq->event_idx)
		return !(__atomic_load_n(word16(avail, RING_FLAGS), __ATOMIC_RELAXED) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	if (!valid)
		return true;
	return need_event(__atomic_load_n(word16(avail, used_event_off(vq)), __ATOMIC_RELAXED),
			  new_idx, old);
}

bool vq_has_avail(const struct virtqueue *vq)
{
	uint8_t *avail;

	if (!vq->ready || !vq->size || vq->broken)
		return false;
	avail = avail_ring(vq);
	if (!avail)
		return false;
	/* Acquire, as in vq_pop: a caller that sees new entries then reads them. */
	return __atomic_load_n(word16(avail, RING_IDX), __ATOMIC_ACQUIRE) != vq->last_avail;
}

bool vq_enable_notify(struct virtqueue *vq)
{
	if (!vq->ready || !vq->size || vq->broken)
		return false;
	if (vq->event_idx) {
		uint8_t *used = used_ring(vq);

		if (!used)
			return false;
		__atomic_store_n(word16(used, avail_event_off(vq)), vq->last_avail,
				 __ATOMIC_RELAXED);
	}
	/*
	 * Without EVENT_IDX we never set VRING_USED_F_NO_NOTIFY, so notifications
	 * are always on and there is nothing to write.
	 *
	 * Full barrier (store -> load): avail_event must be visible before we
	 * re-read avail->idx. Pairs with the driver's barrier between its
	 * avail->idx store and its avail_event load: either it sees our
	 * avail_event and notifies, or we see its new idx here.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return vq_has_avail(vq);
}
