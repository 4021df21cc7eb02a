// SPDX-License-Identifier: Apache-2.0
/* virtio-mem: a hotpluggable region plugged and unplugged block by block. See mem.h. */
#include "devices/virtio/mem.h"

#include "core/guest_mem.h"
#include "core/iov.h"
#include "util/log.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* struct virtio_mem_req: le16 type, 3 x le16 padding, {le64 addr; le16 nb_blocks; ...}. */
#define REQ_HDR	 8
#define REQ_SIZE 24
/* struct virtio_mem_resp: le16 type, 3 x le16 padding, le16 state. */
#define RESP_SIZE 10
/* struct virtio_mem_config's size: block_size, node_id (+6), addr, region_size,
 * usable_region_size, plugged_size, requested_size. */
#define CFG_SIZE 56

static struct virtio_mem *to_mem(struct virtio_dev *d)
{
	return d->opaque;
}

static bool is_plugged(const struct virtio_mem *m, uint64_t b)
{
	return m->plugged[b / 64] & (1ULL << (b % 64));
}

static void set_plugged(struct virtio_mem *m, uint64_t b, bool on)
{
	if (on)
		m->plugged[b / 64] |= 1ULL << (b % 64);
	else
		m->plugged[b / 64] &= ~(1ULL << (b % 64));
}

/* The first block of [addr, addr + nb blocks) if the range is aligned and in the region. */
static bool range_ok(const struct virtio_mem *m, uint64_t addr, uint64_t nb, uint64_t *first)
{
	if (!nb || addr < m->addr || (addr - m->addr) % m->block_size)
		return false;
	*first = (addr - m->addr) / m->block_size;
	return *first < m->nr_blocks && nb <= m->nr_blocks - *first;
}

/* How many blocks of the range are plugged. */
static uint64_t count_plugged(const struct virtio_mem *m, uint64_t first, uint64_t nb)
{
	uint64_t n = 0;

	for (uint64_t b = first; b < first + nb; b++)
		n += is_plugged(m, b);
	return n;
}

/*
 * Gives the blocks' host pages back: the guest unplugged them. Marked as
 * written, so that a Diff snapshot records them as they are now (zeros).
 */
static void discard(struct virtio_mem *m, uint64_t first, uint64_t nb)
{
	if (madvise(m->hva + first * m->block_size, nb * m->block_size, MADV_DONTNEED) < 0)
		log_warn_rl("virtio-mem: madvise(MADV_DONTNEED) of %llu blocks: %s",
			    (unsigned long long)nb, strerror(errno));
	gm_mark_dirty(m->dev.mem, m->hva + first * m->block_size, nb * m->block_size);
}

bool virtio_mem_slot_mapped(const struct virtio_mem *m, uint64_t slot)
{
	return slot < m->nr_slots && (m->slot_mapped[slot / 64] & (1ULL << (slot % 64)));
}

static void set_mapped(struct virtio_mem *m, uint64_t slot, bool on)
{
	if (on)
		m->slot_mapped[slot / 64] |= 1ULL << (slot % 64);
	else
		m->slot_mapped[slot / 64] &= ~(1ULL << (slot % 64));
}

/* Whether a block of slot @s is plugged. */
static bool slot_in_use(const struct virtio_mem *m, uint64_t s)
{
	uint64_t per = m->slot_size / m->block_size;

	return count_plugged(m, s * per, per) != 0;
}

/* The slots of blocks [first, first + nb): *s0 to *s1. False without slots. */
static bool slot_span(const struct virtio_mem *m, uint64_t first, uint64_t nb, uint64_t *s0,
		      uint64_t *s1)
{
	if (!m->slot_size)
		return false;
	*s0 = first * m->block_size / m->slot_size;
	*s1 = ((first + nb) * m->block_size - 1) / m->slot_size;
	return true;
}

/* Unmaps the slots of [s0, s1] that are mapped with no block plugged. */
static void unmap_unused(struct virtio_mem *m, uint64_t s0, uint64_t s1)
{
	for (uint64_t s = s0; s <= s1; s++) {
		if (!virtio_mem_slot_mapped(m, s) || slot_in_use(m, s))
			continue;
		if (m->slot_set(m->slot_opaque, s, false))
			continue; /* stays mapped: the host logged why */
		set_mapped(m, s, false);
	}
}

/*
 * Maps every slot of blocks [first, first + nb) not mapped yet: before a PLUG
 * of them is acknowledged. On failure unmaps what it mapped; -errno.
 */
static int map_slots(struct virtio_mem *m, uint64_t first, uint64_t nb)
{
	uint64_t s0, s1;
	int ret;

	if (!slot_span(m, first, nb, &s0, &s1))
		return 0;
	for (uint64_t s = s0; s <= s1; s++) {
		if (virtio_mem_slot_mapped(m, s))
			continue;
		ret = m->slot_set(m->slot_opaque, s, true);
		if (ret) {
			if (s > s0)
				unmap_unused(m, s0, s - 1); /* those this plug mapped */
			return ret;
		}
		set_mapped(m, s, true);
	}
	return 0;
}

/* Unmaps the slots of blocks [first, first + nb) left with no block plugged. */
static void unmap_slots(struct virtio_mem *m, uint64_t first, uint64_t nb)
{
	uint64_t s0, s1;

	if (slot_span(m, first, nb, &s0, &s1))
		unmap_unused(m, s0, s1);
}

/* One request: the response type; *state for STATE. */
static uint16_t handle(struct virtio_mem *m, uint16_t type, uint64_t addr, uint64_t nb,
		       uint16_t *state)
{
	uint64_t first, n;

	switch (type) {
	case VIRTIO_MEM_REQ_PLUG:
		if (!range_ok(m, addr, nb, &first) || count_plugged(m, first, nb)) {
			m->plug_fails++;
			return VIRTIO_MEM_RESP_ERROR;
		}
		if (m->plugged_size + nb * m->block_size > m->requested_size) {
			m->plug_fails++;
			return VIRTIO_MEM_RESP_NACK;
		}
		/* The memory is the guest's before it hears so. */
		if (map_slots(m, first, nb)) {
			m->plug_fails++;
			return VIRTIO_MEM_RESP_ERROR;
		}
		for (uint64_t b = first; b < first + nb; b++)
			set_plugged(m, b, true);
		m->plugged_size += nb * m->block_size;
		m->plug_count++;
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_UNPLUG:
		if (!range_ok(m, addr, nb, &first) || count_plugged(m, first, nb) != nb) {
			m->unplug_fails++;
			return VIRTIO_MEM_RESP_ERROR;
		}
		/* Out of the guest's reach first, then given back: no page comes back. */
		for (uint64_t b = first; b < first + nb; b++)
			set_plugged(m, b, false);
		unmap_slots(m, first, nb);
		discard(m, first, nb);
		m->plugged_size -= nb * m->block_size;
		m->unplug_count++;
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_UNPLUG_ALL:
		memset(m->plugged, 0, (m->nr_blocks + 63) / 64 * sizeof(uint64_t));
		unmap_slots(m, 0, m->nr_blocks);
		discard(m, 0, m->nr_blocks);
		m->plugged_size = 0;
		m->unplug_count++;
		return VIRTIO_MEM_RESP_ACK;
	case VIRTIO_MEM_REQ_STATE:
		if (!range_ok(m, addr, nb, &first))
			return VIRTIO_MEM_RESP_ERROR;
		n = count_plugged(m, first, nb);
		*state = n == nb  ? VIRTIO_MEM_STATE_PLUGGED
			 : n == 0 ? VIRTIO_MEM_STATE_UNPLUGGED
				  : VIRTIO_MEM_STATE_MIXED;
		m->state_count++;
		return VIRTIO_MEM_RESP_ACK;
	default:
		log_warn_rl("virtio-mem: unknown request type %u", type);
		return VIRTIO_MEM_RESP_ERROR;
	}
}

static enum virtio_chain_done serve(struct virtio_dev *d, unsigned int q, struct vq_chain *c,
				    void *arg)
{
	struct virtio_mem *m = to_mem(d);
	uint8_t req[REQ_SIZE] = {0}, resp[RESP_SIZE] = {0};
	uint16_t type, nb16, state = 0, rtype;
	uint64_t addr;

	(void)arg;
	if (c->out_len < REQ_HDR || c->in_len < RESP_SIZE) {
		log_debug("virtio-mem: request %u without a header or a response buffer: failed",
			  c->head);
		d->event_fails++;
		vq_push(&d->vqs[q], c->head, 0);
		return VIRTIO_CHAIN_NEXT;
	}
	iov_to_buf(c->out, c->nr_out, 0, req, sizeof(req)); /* a short body reads as zeros */
	memcpy(&type, req, 2);
	memcpy(&addr, req + 8, 8);
	memcpy(&nb16, req + 16, 2);
	type = le16toh(type);
	if (type != VIRTIO_MEM_REQ_UNPLUG_ALL && c->out_len < REQ_SIZE) {
		m->plug_fails += type == VIRTIO_MEM_REQ_PLUG;
		m->unplug_fails += type == VIRTIO_MEM_REQ_UNPLUG;
		rtype = VIRTIO_MEM_RESP_ERROR; /* a range request without its range */
	} else {
		rtype = handle(m, type, le64toh(addr), le16toh(nb16), &state);
	}
	rtype = htole16(rtype);
	state = htole16(state);
	memcpy(resp, &rtype, 2);
	memcpy(resp + 8, &state, 2);
	iov_from_buf(c->in, c->nr_in, 0, resp, sizeof(resp));
	vq_push(&d->vqs[q], c->head, RESP_SIZE);
	return VIRTIO_CHAIN_NEXT;
}

void virtio_mem_process(struct virtio_mem *m)
{
	struct virtio_dev *d = &m->dev;
	const struct virtio_queue_loop loop = {.q = 0, .chain = &m->chain, .serve = serve};

	if (!d->activated || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	virtio_queue_serve(d, &loop);
}

static void mem_queue_notify(struct virtio_dev *d, unsigned int q)
{
	(void)q;
	to_mem(d)->queue_event_count++;
	virtio_mem_process(to_mem(d));
}

static void mem_run(struct virtio_dev *d)
{
	virtio_mem_process(to_mem(d));
}

static void mem_config_read(struct virtio_dev *d, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_mem *m = to_mem(d);
	uint64_t cfg[CFG_SIZE / 8] = {
	    htole64(m->block_size),	0 /* node_id 0, padding */, htole64(m->addr),
	    htole64(m->region_size),	htole64(m->region_size),    htole64(m->plugged_size),
	    htole64(m->requested_size),
	};

	memset(data, 0, len);
	if (off < CFG_SIZE)
		memcpy(data, (const uint8_t *)cfg + off,
		       len < CFG_SIZE - off ? len : CFG_SIZE - off);
}

static int mem_activate(struct virtio_dev *d)
{
	if (!d->vqs[0].ready) {
		log_warn_rl("virtio-mem: DRIVER_OK without the request queue ready");
		return -EINVAL;
	}
	return 0;
}

/*
 * A driver reset keeps the plugged blocks: the spec leaves them plugged
 * (a new driver asks their state or unplugs all).
 */

static void mem_save(struct virtio_dev *d, struct state_writer *w)
{
	struct virtio_mem *m = to_mem(d);

	sw_u64(w, m->addr);
	sw_u64(w, m->region_size);
	sw_u64(w, m->block_size);
	sw_u64(w, m->requested_size);
	for (uint64_t i = 0; i < (m->nr_blocks + 63) / 64; i++)
		sw_u64(w, m->plugged[i]);
}

static int mem_restore(struct virtio_dev *d, struct state_reader *r)
{
	struct virtio_mem *m = to_mem(d);
	uint64_t addr = sr_u64(r), size = sr_u64(r), bs = sr_u64(r), req = sr_u64(r);

	if (!sr_ok(r) || addr != m->addr || size != m->region_size || bs != m->block_size ||
	    req > size || req % bs) {
		log_error("virtio-mem: the snapshot's region or requested size does not match "
			  "memory-hotplug's");
		return -EINVAL;
	}
	m->requested_size = req;
	m->plugged_size = 0;
	for (uint64_t i = 0; i < (m->nr_blocks + 63) / 64; i++)
		m->plugged[i] = sr_u64(r);
	if (!sr_ok(r))
		return -EINVAL;
	for (uint64_t b = 0; b < m->nr_blocks; b++)
		m->plugged_size += is_plugged(m, b) ? bs : 0;
	if (m->nr_blocks % 64 && (m->plugged[m->nr_blocks / 64] >> (m->nr_blocks % 64))) {
		log_error("virtio-mem: the snapshot plugs blocks past the region");
		return -EINVAL;
	}
	/* The slots the guest had: those with a plugged block, as at the save. */
	for (uint64_t s = 0; s < m->nr_slots; s++) {
		int ret;

		if (!slot_in_use(m, s) || virtio_mem_slot_mapped(m, s))
			continue;
		ret = m->slot_set(m->slot_opaque, s, true);
		if (ret)
			return ret;
		set_mapped(m, s, true);
	}
	if (m->nr_slots)
		unmap_unused(m, 0, m->nr_slots - 1); /* restored over a device in use */
	if (d->activated)
		virtio_dev_schedule(d, 0);
	return 0;
}

static const struct virtio_dev_ops mem_ops = {
    .name = "mem",
    .device_id = VIRTIO_ID_MEM,
    .nr_queues = 1,
    .queue_max = VIRTIO_MEM_QUEUE_SIZE,
    .features = 1ULL << VIRTIO_MEM_F_UNPLUGGED_INACCESSIBLE,
    .config_read = mem_config_read,
    .activate = mem_activate,
    .queue_notify = mem_queue_notify,
    .run = mem_run,
    .save = mem_save,
    .restore = mem_restore,
};

int virtio_mem_init(struct virtio_mem *m, uint64_t addr, uint64_t size, uint64_t block_size,
		    const struct virtio_host_ops *host, void *host_data,
		    const struct guest_mem *mem)
{
	memset(m, 0, sizeof(*m));
	if (!block_size || (block_size & (block_size - 1)) || !size || size % block_size ||
	    addr % block_size || size > VIRTIO_MEM_MAX_REGION)
		return -EINVAL;
	m->hva = gm_ptr(mem, addr, size);
	if (!m->hva)
		return -EINVAL;
	m->addr = addr;
	m->region_size = size;
	m->block_size = block_size;
	m->nr_blocks = size / block_size;
	m->plugged = calloc((m->nr_blocks + 63) / 64, sizeof(uint64_t));
	if (!m->plugged)
		return -ENOMEM;
	virtio_dev_init(&m->dev, &mem_ops, host, host_data, m, mem);
	return 0;
}

void virtio_mem_destroy(struct virtio_mem *m)
{
	if (m->dev.ops)
		virtio_dev_destroy(&m->dev);
	free(m->plugged);
	m->plugged = NULL;
	free(m->slot_mapped);
	m->slot_mapped = NULL;
}

int virtio_mem_use_slots(struct virtio_mem *m, uint64_t slot_size, virtio_mem_slot_fn set,
			 void *opaque)
{
	if (!slot_size || slot_size % m->block_size || m->region_size % slot_size || !set)
		return -EINVAL;
	free(m->slot_mapped);
	m->nr_slots = m->region_size / slot_size;
	m->slot_mapped = calloc((m->nr_slots + 63) / 64, sizeof(uint64_t));
	if (!m->slot_mapped)
		return -ENOMEM;
	m->slot_size = slot_size;
	m->slot_set = set;
	m->slot_opaque = opaque;
	return 0;
}

int virtio_mem_set_requested(struct virtio_mem *m, uint64_t bytes)
{
	if (bytes > m->region_size || bytes % m->block_size)
		return -EINVAL;
	pthread_mutex_lock(&m->dev.lock);
	m->requested_size = bytes;
	pthread_mutex_unlock(&m->dev.lock);
	virtio_dev_signal_config(&m->dev);
	return 0;
}

void virtio_mem_sizes(struct virtio_mem *m, uint64_t *plugged, uint64_t *requested)
{
	pthread_mutex_lock(&m->dev.lock);
	*plugged = m->plugged_size;
	*requested = m->requested_size;
	pthread_mutex_unlock(&m->dev.lock);
}
