// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-balloon: inflate, deflate, statistics, free page reporting. See
 * balloon.h. Over 700 lines: its snapshot save and restore sit beside the
 * statistics and queue state they check and re-arm.
 */
#include "devices/virtio/balloon.h"

#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE_4K (1ULL << VIRTIO_BALLOON_PAGE_SHIFT)

static struct virtio_balloon *to_balloon(struct virtio_dev *d)
{
	return d->opaque;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Drops the host pages wholly inside [hva, hva + len): the guest gets zero-filled
 * pages on its next touch. Returns the bytes dropped, or 0 if madvise failed.
 */
uint64_t virtio_balloon_drop_range(struct virtio_balloon *b, uint8_t *hva, uint64_t len)
{
	uintptr_t mask = b->host_page_size - 1;
	uintptr_t start = ((uintptr_t)hva + mask) & ~mask;
	uintptr_t end = ((uintptr_t)hva + len) & ~mask;

	if (end <= start)
		return 0;
	b->madvise_calls++;
	if (madvise((void *)start, end - start, MADV_DONTNEED) < 0) {
		log_warn_rl("virtio-balloon: madvise(MADV_DONTNEED) of %llu bytes: %s",
			    (unsigned long long)(end - start), strerror(errno));
		b->madvise_fails++;
		return 0;
	}
	/* Zero now: a Diff snapshot must carry them, though the guest never wrote them. */
	gm_mark_dirty(b->mem, (void *)start, end - start);
	return end - start;
}

/* --- inflate and deflate --- */

/* Device-readable only, whole u32 PFNs, not too many. Returns the PFN count or -1. */
static int pfn_chain_count(const struct vq_chain *c)
{
	if (c->nr_in || c->out_len % 4 || c->out_len > VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN * 4ULL)
		return -1;
	return (int)(c->out_len / 4);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Drops every page collected so far, coalescing runs contiguous in guest and
 * host addresses, then gives back the chains that named them: the pages are
 * gone before the driver sees its request acknowledged (it may re-use a page
 * after a deflate, which it may only send after that acknowledgement).
 */
static void inflate_flush(struct virtio_balloon *b, struct virtqueue *vq, uint16_t *heads,
			  unsigned int *nr_heads)
{
	unsigned int n = b->nr_pfns, i = 0;

	qsort(b->pfns, n, sizeof(b->pfns[0]), cmp_u32);
	while (i < n) {
		uint32_t first = b->pfns[i];
		uint8_t *start =
		    gm_ptr(b->mem, (uint64_t)first << VIRTIO_BALLOON_PAGE_SHIFT, PAGE_4K);
		uint64_t pages = 1;

		/* Validated when collected: the page is guest RAM. */
		for (i++; i < n; i++) {
			uint32_t pfn = b->pfns[i];
			uint8_t *hva;

			if (pfn == first + pages - 1)
				continue; /* the same PFN twice */
			if ((uint64_t)pfn != first + pages)
				break;
			hva = gm_ptr(b->mem, (uint64_t)pfn << VIRTIO_BALLOON_PAGE_SHIFT, PAGE_4K);
			if (hva != start + pages * PAGE_4K)
				break; /* the next region: another host mapping */
			pages++;
		}
		b->inflated_pages += pages;
		virtio_balloon_drop_range(b, start, pages * PAGE_4K);
	}
	b->nr_pfns = 0;
	for (i = 0; i < *nr_heads; i++)
		vq_push(vq, heads[i], 0);
	*nr_heads = 0;
}

/* Adds the PFNs of one inflate chain to the batch; those outside guest RAM are skipped. */
static void inflate_collect(struct virtio_balloon *b, const struct vq_chain *c, unsigned int count)
{
	uint32_t raw[VIRTIO_BALLOON_MAX_PFNS_PER_CHAIN];

	/* A copy first: the guest may change the array while we look at it. */
	iov_to_buf(c->out, c->nr_out, 0, raw, (size_t)count * 4);
	for (unsigned int i = 0; i < count; i++) {
		uint32_t pfn = le32toh(raw[i]);

		if (!gm_ptr(b->mem, (uint64_t)pfn << VIRTIO_BALLOON_PAGE_SHIFT, PAGE_4K)) {
			if (!b->inflate_bad_pfns)
				log_warn_rl(
				    "virtio-balloon: inflate of PFN 0x%x, outside guest RAM: "
				    "skipped",
				    pfn);
			b->inflate_bad_pfns++;
			continue;
		}
		b->pfns[b->nr_pfns++] = pfn;
	}
}

/*
 * Serves queue @q with @serve, at most VIRTIO_BALLOON_CHAINS_PER_EVENT chains
 * per event: more work waits for the run the loop asked for, which serves the
 * queue again as a notification would (balloon_run).
 */
void virtio_balloon_serve(struct virtio_balloon *b, struct virtio_queue_loop loop)
{
	loop.chain = &b->chain;
	loop.budget = VIRTIO_BALLOON_CHAINS_PER_EVENT;
	if (virtio_queue_serve(&b->dev, &loop) == VIRTIO_QUEUE_BUDGET) {
		b->requeued++;
		b->requeue |= 1u << loop.q;
	}
}

/* The inflate chains of one event whose PFNs are collected, not dropped yet. */
struct inflate_batch {
	uint16_t heads[VIRTIO_BALLOON_CHAINS_PER_EVENT];
	unsigned int nr;
};

static enum virtio_chain_done inflate_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					  void *arg)
{
	struct virtio_balloon *b = to_balloon(d);
	struct inflate_batch *batch = arg;
	int count = pfn_chain_count(c);

	if (count < 0) {
		log_debug("virtio-balloon: inflate request %u: %llu readable and %llu "
			  "writable bytes: refused",
			  c->head, (unsigned long long)c->out_len, (unsigned long long)c->in_len);
		d->event_fails++;
		vq_push(&d->vqs[q], c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	if (b->nr_pfns + (unsigned int)count > VIRTIO_BALLOON_PFN_BATCH)
		inflate_flush(b, &d->vqs[q], batch->heads, &batch->nr);
	inflate_collect(b, c, (unsigned int)count);
	batch->heads[batch->nr++] = c->head;
	return VIRTIO_CHAIN_NEXT;
}

static void process_inflate(struct virtio_balloon *b)
{
	struct virtqueue *vq = &b->dev.vqs[0];
	struct inflate_batch batch = {.nr = 0};
	uint16_t used_before = vq->used_idx;

	b->inflate_count++;
	b->nr_pfns = 0;
	/* Signalled once the batch is flushed: the pages go before the driver hears of it. */
	virtio_balloon_serve(
	    b, (struct virtio_queue_loop){
		   .q = 0, .serve = inflate_one, .arg = &batch, .caller_signals = true});
	inflate_flush(b, vq, batch.heads, &batch.nr);
	if (vq->used_idx != used_before)
		virtio_dev_signal_used(&b->dev, 0);
}

/* Nothing to do on the host: a page comes back when the guest touches it. */
static enum virtio_chain_done deflate_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					  void *arg)
{
	struct virtio_balloon *b = to_balloon(d);
	int count = pfn_chain_count(c);

	(void)arg;
	if (count < 0)
		d->event_fails++;
	else
		b->deflated_pages += (unsigned int)count;
	vq_push(&d->vqs[q], c->head, 0);
	return VIRTIO_CHAIN_NEXT;
}

static void process_deflate(struct virtio_balloon *b)
{
	b->deflate_count++;
	virtio_balloon_serve(b, (struct virtio_queue_loop){.q = 1, .serve = deflate_one});
}

/* --- free page reporting --- */

static void report_range(struct virtio_balloon *b, const struct iovec *iov)
{
	uintptr_t base = (uintptr_t)iov->iov_base;

	/* The virtqueue library checked the range is guest RAM (one region). */
	if ((base | iov->iov_len) & (PAGE_4K - 1))
		b->free_page_report_fails++; /* not whole pages: only those inside go */
	b->free_page_report_freed += virtio_balloon_drop_range(b, iov->iov_base, iov->iov_len);
}

static enum virtio_chain_done report_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					 void *arg)
{
	struct virtio_balloon *b = to_balloon(d);

	(void)arg;
	/* Linux posts the ranges device-writable; accept readable ones too. */
	for (unsigned int i = 0; i < c->nr_in; i++)
		report_range(b, &c->in[i]);
	for (unsigned int i = 0; i < c->nr_out; i++)
		report_range(b, &c->out[i]);
	vq_push(&d->vqs[q], c->head, 0);
	return VIRTIO_CHAIN_NEXT;
}

static void process_reporting(struct virtio_balloon *b, unsigned int q)
{
	b->free_page_report_count++;
	virtio_balloon_serve(
	    b, (struct virtio_queue_loop){
		   .q = q, .serve = report_one, .malformed = &b->free_page_report_fails});
}

/* --- statistics --- */

static void stats_parse(struct virtio_balloon *b, const struct vq_chain *c)
{
	uint8_t buf[VIRTIO_BALLOON_MAX_STATS * VIRTIO_BALLOON_STAT_SIZE];
	struct balloon_stats *s = &b->stats;
	size_t len = c->out_len;

	if (c->nr_in || len % VIRTIO_BALLOON_STAT_SIZE || len > sizeof(buf)) {
		log_debug("virtio-balloon: stats buffer of %llu readable and %llu writable bytes: "
			  "not parsed",
			  (unsigned long long)c->out_len, (unsigned long long)c->in_len);
		b->stats_update_fails++;
		return;
	}
	iov_to_buf(c->out, c->nr_out, 0, buf, len);
	s->present = 0;
	for (size_t off = 0; off < len; off += VIRTIO_BALLOON_STAT_SIZE) {
		uint16_t tag;
		uint64_t val;

		memcpy(&tag, buf + off, 2);
		memcpy(&val, buf + off + 2, 8);
		tag = le16toh(tag);
		if (tag >= VIRTIO_BALLOON_S_NR)
			continue; /* unknown: ignored (spec) */
		s->val[tag] = le64toh(val);
		s->present |= 1u << tag;
	}
	s->updated_mono_ns = now_ns(CLOCK_MONOTONIC);
	s->updated_real_ns = now_ns(CLOCK_REALTIME);
	b->stats_updates_count++;
}

/* A stats buffer: parsed, and held (even if malformed) until the next poll gives it back. */
static enum virtio_chain_done stats_one(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
					void *arg)
{
	struct virtio_balloon *b = to_balloon(d);

	(void)arg;
	if (b->stats_held) {
		/* The driver may have one buffer out: give the older one back. */
		log_debug("virtio-balloon: a second stats buffer: the first goes back");
		vq_push(&d->vqs[q], b->stats_head, 0);
		b->stats_extra_bufs++;
	}
	stats_parse(b, c);
	b->stats_held = true;
	b->stats_head = c->head;
	return VIRTIO_CHAIN_NEXT;
}

static void process_stats(struct virtio_balloon *b, unsigned int q)
{
	virtio_balloon_serve(b, (struct virtio_queue_loop){.q = q,
							   .serve = stats_one,
							   .malformed = &b->stats_update_fails});
}

/* Lock held. Gives the held buffer back: the driver answers with fresh statistics. */
static void stats_request(struct virtio_balloon *b)
{
	struct virtio_dev *d = &b->dev;

	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET) ||
	    b->stats_q == VIRTIO_BALLOON_NO_QUEUE || !b->stats_held)
		return;
	vq_push(&d->vqs[b->stats_q], b->stats_head, 0);
	b->stats_held = false;
	b->stats_requests++;
	virtio_dev_signal_used(d, b->stats_q);
}

void virtio_balloon_stats_tick(struct virtio_balloon *b)
{
	pthread_mutex_lock(&b->dev.lock);
	stats_request(b);
	pthread_mutex_unlock(&b->dev.lock);
}

/* --- transport ops --- */

static void balloon_queue_notify(struct virtio_dev *d, unsigned int q)
{
	struct virtio_balloon *b = to_balloon(d);

	if (q == 0)
		process_inflate(b);
	else if (q == 1)
		process_deflate(b);
	else if (q == b->stats_q)
		process_stats(b, q);
	else if (q == b->reporting_q)
		process_reporting(b, q);
	else if (q == b->hint_q)
		virtio_balloon_process_hints(b, q);
	else
		log_debug("virtio-balloon: notification of queue %u, not in use: ignored", q);
}

/* Lock held. Statistics every @seconds of the device clock from now (0: none). */
static void arm_timer(struct virtio_balloon *b, uint32_t seconds)
{
	uint64_t ns = seconds * 1000000000ULL;

	b->stats_deadline = seconds ? virtio_dev_now_ns(&b->dev) + ns : 0;
	if (seconds)
		virtio_dev_schedule(&b->dev, ns);
}

/* The run the device asked for: requeued queues, then the statistics poll if due. */
static void balloon_run(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);
	uint32_t again = b->requeue;
	uint64_t now;

	b->requeue = 0;
	for (unsigned int q = 0; q < d->ops->nr_queues; q++)
		if (again & (1u << q))
			virtio_dev_notify(d, q); /* as the guest's notification is served */
	if (!b->stats_deadline)
		return;
	now = virtio_dev_now_ns(d);
	if (now >= b->stats_deadline) {
		stats_request(b);
		arm_timer(b, b->stats_interval);
	} else {
		virtio_dev_schedule(d, b->stats_deadline - now);
	}
}

static int balloon_activate(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);
	unsigned int q = 2;

	if (!d->vqs[0].ready || !d->vqs[1].ready) {
		log_warn_rl(
		    "virtio-balloon: DRIVER_OK without the inflate and deflate queues ready");
		return -EINVAL;
	}
	/* Dense numbering over the queues the negotiated features bring (balloon.h). */
	b->stats_q = b->reporting_q = b->hint_q = VIRTIO_BALLOON_NO_QUEUE;
	if (virtio_dev_has_feature(d, VIRTIO_BALLOON_F_STATS_VQ)) {
		if (d->vqs[q].ready)
			b->stats_q = q;
		else
			log_warn_rl(
			    "virtio-balloon: statistics negotiated, queue %u not ready: none", q);
		q++;
	}
	if (virtio_dev_has_feature(d, VIRTIO_BALLOON_F_FREE_PAGE_HINT)) {
		if (d->vqs[q].ready)
			b->hint_q = q;
		else
			log_warn_rl("virtio-balloon: free page hinting negotiated, queue %u not "
				    "ready: none",
				    q);
		q++;
	}
	if (virtio_dev_has_feature(d, VIRTIO_BALLOON_F_REPORTING)) {
		if (d->vqs[q].ready)
			b->reporting_q = q;
		else
			log_warn_rl("virtio-balloon: free page reporting negotiated, queue %u not "
				    "ready: none",
				    q);
	}
	b->stats_held = false;
	if (b->stats_q != VIRTIO_BALLOON_NO_QUEUE) {
		/*
		 * Linux primes the stats queue and notifies before DRIVER_OK, when
		 * the notification is dropped: take that buffer now.
		 */
		if (vq_has_avail(&d->vqs[b->stats_q]))
			process_stats(b, b->stats_q);
		if (b->stats_interval)
			arm_timer(b, b->stats_interval);
	}
	return 0;
}

static void balloon_reset(struct virtio_dev *d)
{
	struct virtio_balloon *b = to_balloon(d);

	if (b->stats_enabled)
		arm_timer(b, 0);
	b->stats_q = b->reporting_q = b->hint_q = VIRTIO_BALLOON_NO_QUEUE;
	b->stats_held = false;
	b->requeue = 0;
	b->actual = 0; /* the driver's balloon went with it */
	b->nr_pfns = 0;
}

/* --- snapshots --- */

static uint64_t mem_mib(const struct guest_mem *m);

/* Nanoseconds from @then to @now (clocks of the saving process), 0 if not after. */
static uint64_t since(uint64_t now, uint64_t then)
{
	return then && now > then ? now - then : 0;
}

/*
 * The target and actual pages, the statistics interval, the queues
 * negotiated at DRIVER_OK, the held statistics buffer, the last statistics
 * (their monotonic time saved as an age: another process's clock), the time
 * left to the next poll, the requeued queues.
 */
static void balloon_save(struct virtio_dev *d, struct state_writer *w)
{
	struct virtio_balloon *b = to_balloon(d);
	uint64_t now = virtio_dev_now_ns(d);

	sw_u32(w, b->num_pages);
	sw_u32(w, b->actual);
	sw_u32(w, b->stats_interval);
	sw_u32(w, b->stats_q);
	sw_u32(w, b->reporting_q);
	sw_bool(w, b->stats_held);
	sw_u16(w, b->stats_head);
	sw_u32(w, b->stats.present);
	sw_u32(w, VIRTIO_BALLOON_S_NR);
	for (unsigned int i = 0; i < VIRTIO_BALLOON_S_NR; i++)
		sw_u64(w, b->stats.val[i]);
	sw_u64(w, b->stats.updated_mono_ns
		      ? since(now_ns(CLOCK_MONOTONIC), b->stats.updated_mono_ns) + 1
		      : 0);
	sw_u64(w, b->stats.updated_real_ns);
	/* 0: no poll armed; else 1 + the time left (0 if due). */
	sw_u64(w,
	       b->stats_deadline ? (b->stats_deadline > now ? b->stats_deadline - now : 0) + 1 : 0);
	sw_u32(w, b->requeue);
	if (b->hinting_enabled) { /* only then: older snapshots stay readable */
		sw_u32(w, b->hint_q);
		sw_u32(w, b->hint_cmd);
		sw_u32(w, b->hint_run);
		sw_u32(w, b->guest_cmd);
		sw_bool(w, b->guest_cmd_seen);
		sw_bool(w, b->hint_ack_on_stop);
	}
}

/* A negotiated queue: none, or one of ours (the driver may have made it not ready since). */
static bool queue_ok(const struct virtio_dev *d, unsigned int q)
{
	return q == VIRTIO_BALLOON_NO_QUEUE || (q >= 2 && q < d->ops->nr_queues);
}

static int balloon_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_balloon *b = to_balloon(d);
	uint64_t mono_age, left;
	uint32_t nr;

	b->num_pages = sr_u32(r);
	b->actual = sr_u32(r);
	b->stats_interval = sr_u32(r);
	b->stats_q = sr_u32(r);
	b->reporting_q = sr_u32(r);
	b->stats_held = sr_bool(r);
	b->stats_head = sr_u16(r);
	b->stats.present = sr_u32(r);
	nr = sr_u32(r);
	if (nr != VIRTIO_BALLOON_S_NR)
		sr_fail(r);
	for (unsigned int i = 0; sr_ok(r) && i < VIRTIO_BALLOON_S_NR; i++)
		b->stats.val[i] = sr_u64(r);
	mono_age = sr_u64(r);
	b->stats.updated_real_ns = sr_u64(r);
	left = sr_u64(r);
	b->requeue = sr_u32(r);
	if (b->hinting_enabled) {
		b->hint_q = sr_u32(r);
		b->hint_cmd = sr_u32(r);
		b->hint_run = sr_u32(r);
		b->guest_cmd = sr_u32(r);
		b->guest_cmd_seen = sr_bool(r);
		b->hint_ack_on_stop = sr_bool(r);
	}
	if (!sr_ok(r))
		return 0;
	if (b->num_pages > mem_mib(b->mem) * (uint64_t)VIRTIO_BALLOON_PAGES_PER_MIB ||
	    b->stats_interval > VIRTIO_BALLOON_MAX_STATS_INTERVAL ||
	    b->stats_enabled != (b->stats_interval > 0) || !queue_ok(d, b->stats_q) ||
	    !queue_ok(d, b->reporting_q) ||
	    (b->stats_q != VIRTIO_BALLOON_NO_QUEUE && !b->stats_enabled) ||
	    (b->reporting_q != VIRTIO_BALLOON_NO_QUEUE && !b->reporting_enabled) ||
	    (b->stats_q != VIRTIO_BALLOON_NO_QUEUE && b->stats_q == b->reporting_q) ||
	    !queue_ok(d, b->hint_q) ||
	    (b->hint_q != VIRTIO_BALLOON_NO_QUEUE &&
	     (b->hint_q == b->stats_q || b->hint_q == b->reporting_q)) ||
	    (!d->activated && b->hint_q != VIRTIO_BALLOON_NO_QUEUE) ||
	    (!d->activated && (b->stats_q != VIRTIO_BALLOON_NO_QUEUE ||
			       b->reporting_q != VIRTIO_BALLOON_NO_QUEUE || left)) ||
	    (b->stats_held &&
	     (b->stats_q == VIRTIO_BALLOON_NO_QUEUE || b->stats_head >= d->vqs[b->stats_q].size)) ||
	    b->requeue >> d->ops->nr_queues) {
		log_warn("virtio-balloon: saved state refused: a value out of range");
		sr_fail(r);
		return 0;
	}
	if (mono_age) {
		uint64_t now = now_ns(CLOCK_MONOTONIC);

		b->stats.updated_mono_ns = now > mono_age ? now - mono_age : 1;
	}
	if (!d->activated)
		return 0;
	if (left) {
		b->stats_deadline = virtio_dev_now_ns(d) + left - 1;
		virtio_dev_schedule(d, left - 1);
	}
	/* Chains posted before the snapshot and not served yet: the run serves them. */
	for (unsigned int q = 0; q < d->ops->nr_queues; q++)
		if (d->vqs[q].ready)
			b->requeue |= 1u << q;
	virtio_dev_schedule(d, 0);
	return 0;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void balloon_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_balloon *b = to_balloon(d);
	uint8_t space[VIRTIO_BALLOON_CFG_SIZE] = {0};

	put_le32(space + VIRTIO_BALLOON_CFG_NUM_PAGES, b->num_pages);
	put_le32(space + VIRTIO_BALLOON_CFG_ACTUAL, b->actual);
	put_le32(space + VIRTIO_BALLOON_CFG_HINT_CMD, b->hint_cmd); /* 0 (STOP) until a run */
	/* poison_val: 0, PAGE_POISON is not offered */
	virtio_config_copy(data, len, off, space, sizeof(space));
}

static void balloon_config_write(struct virtio_dev *d, uint64_t off, const uint8_t *data,
				 uint32_t len)
{
	struct virtio_balloon *b = to_balloon(d);
	uint8_t actual[4];
	uint32_t v;

	/* Only `actual` is the driver's to write, in whole or in part. */
	if (off < VIRTIO_BALLOON_CFG_ACTUAL || off >= VIRTIO_BALLOON_CFG_ACTUAL + 4 || !len ||
	    len > VIRTIO_BALLOON_CFG_ACTUAL + 4 - off) {
		log_debug("virtio-balloon: %u-byte configuration write at %llu ignored (only "
			  "`actual`, bytes 4 to 7, is writable)",
			  len, (unsigned long long)off);
		d->cfg_fails++;
		return;
	}
	put_le32(actual, b->actual);
	memcpy(actual + (off - VIRTIO_BALLOON_CFG_ACTUAL), data, len);
	memcpy(&v, actual, 4);
	b->actual = le32toh(v);
}

/* --- set-up and the runtime operations --- */

const char *virtio_balloon_config_error(const struct balloon_config *cfg, uint64_t mem_size_mib)
{
	if (cfg->amount_mib > mem_size_mib ||
	    cfg->amount_mib > UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB)
		return "amount_mib: Amount of pages requested is too large.";
	if (cfg->stats_polling_interval_s > VIRTIO_BALLOON_MAX_STATS_INTERVAL)
		return "stats_polling_interval_s: out of range (0 to 65535)";
	return NULL;
}

static uint64_t mem_mib(const struct guest_mem *mem)
{
	return mem->ram_size >> 20;
}

int virtio_balloon_init(struct virtio_balloon *b, const struct balloon_config *cfg,
			const struct virtio_host_ops *host, void *host_data,
			const struct guest_mem *mem)
{
	const char *why = virtio_balloon_config_error(cfg, mem_mib(mem));

	memset(b, 0, sizeof(*b));
	if (why) {
		log_error("balloon.%s", why);
		return -EINVAL;
	}
	b->mem = mem;
	long page = sysconf(_SC_PAGESIZE);
	b->host_page_size = page > 0 ? (size_t)page : 4096;
	b->num_pages = cfg->amount_mib * VIRTIO_BALLOON_PAGES_PER_MIB;
	b->stats_enabled = cfg->stats_polling_interval_s > 0;
	b->stats_interval = cfg->stats_polling_interval_s;
	b->reporting_enabled = cfg->free_page_reporting;
	b->hinting_enabled = cfg->free_page_hinting;
	b->stats_q = b->reporting_q = b->hint_q = VIRTIO_BALLOON_NO_QUEUE;

	b->ops = (struct virtio_dev_ops){
	    .name = "balloon",
	    .device_id = VIRTIO_ID_BALLOON,
	    .nr_queues = 2 + b->stats_enabled + b->hinting_enabled + b->reporting_enabled,
	    .queue_max = VIRTIO_BALLOON_QUEUE_SIZE,
	    .config_read = balloon_config_read,
	    .config_write = balloon_config_write,
	    .activate = balloon_activate,
	    .queue_notify = balloon_queue_notify,
	    .reset = balloon_reset,
	    .run = balloon_run,
	    .save = balloon_save,
	    .restore = balloon_restore,
	};
	if (cfg->deflate_on_oom)
		b->ops.features |= 1ULL << VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
	if (b->stats_enabled)
		b->ops.features |= 1ULL << VIRTIO_BALLOON_F_STATS_VQ;
	if (b->reporting_enabled)
		b->ops.features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	if (b->hinting_enabled)
		b->ops.features |= 1ULL << VIRTIO_BALLOON_F_FREE_PAGE_HINT;
	virtio_dev_init(&b->dev, &b->ops, host, host_data, b, mem);
	return 0;
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
	virtio_dev_destroy(&b->dev);
}

int balloon_set_target(struct virtio_balloon *b, uint32_t amount_mib)
{
	struct virtio_dev *d = &b->dev;

	if (amount_mib > mem_mib(b->mem) ||
	    amount_mib > UINT32_MAX / VIRTIO_BALLOON_PAGES_PER_MIB) {
		log_error("balloon.amount_mib: Amount of pages requested is too large (%u MiB, "
			  "the guest has %llu MiB).",
			  amount_mib, (unsigned long long)mem_mib(b->mem));
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	b->num_pages = amount_mib * VIRTIO_BALLOON_PAGES_PER_MIB;
	if (d->activated)
		virtio_dev_signal_config(d); /* generation and interrupt */
	else
		d->config_generation++; /* the driver reads the target when it starts */
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* A field of @b the driver or the API may change meanwhile, read under dev.lock. */
static uint32_t read_locked(struct virtio_balloon *b, const uint32_t *field)
{
	uint32_t v;

	pthread_mutex_lock(&b->dev.lock);
	v = *field;
	pthread_mutex_unlock(&b->dev.lock);
	return v;
}

uint32_t balloon_target_mib(struct virtio_balloon *b)
{
	return read_locked(b, &b->num_pages) / VIRTIO_BALLOON_PAGES_PER_MIB;
}

uint32_t balloon_actual_mib(struct virtio_balloon *b)
{
	return read_locked(b, &b->actual) / VIRTIO_BALLOON_PAGES_PER_MIB;
}

int balloon_get_stats(struct virtio_balloon *b, struct balloon_stats *out)
{
	if (!b->stats_enabled) {
		log_error("balloon: statistics are not enabled (stats_polling_interval_s was 0 "
			  "when the device was configured)");
		return -ENOTSUP;
	}
	pthread_mutex_lock(&b->dev.lock);
	*out = b->stats;
	out->target_pages = b->num_pages;
	out->actual_pages = b->actual;
	out->target_mib = b->num_pages / VIRTIO_BALLOON_PAGES_PER_MIB;
	out->actual_mib = b->actual / VIRTIO_BALLOON_PAGES_PER_MIB;
	pthread_mutex_unlock(&b->dev.lock);
	return 0;
}

int balloon_set_stats_interval(struct virtio_balloon *b, uint32_t seconds)
{
	struct virtio_dev *d = &b->dev;

	if (seconds > VIRTIO_BALLOON_MAX_STATS_INTERVAL) {
		log_error("balloon.stats_polling_interval_s: %u is out of range (0 to 65535)",
			  seconds);
		return -EINVAL;
	}
	if (b->stats_enabled != (seconds > 0)) {
		log_error("balloon: statistics cannot be turned %s after the device is "
			  "configured",
			  seconds ? "on" : "off");
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	if (seconds != b->stats_interval) {
		b->stats_interval = seconds;
		if (d->activated && b->stats_q != VIRTIO_BALLOON_NO_QUEUE) {
			stats_request(b); /* the first update at once, then every @seconds */
			arm_timer(b, seconds);
		}
	}
	pthread_mutex_unlock(&d->lock);
	return 0;
}

uint32_t balloon_stats_interval(struct virtio_balloon *b)
{
	return read_locked(b, &b->stats_interval);
}
