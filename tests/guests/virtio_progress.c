/*
 * virtio_progress: keeps two virtio devices busy for a few seconds and prints
 * its progress, for the snapshot tests (tests/snapshot.sh): a snapshot taken
 * at any point and restored in a new process must go on with the same output.
 * Needs "entropy": {} and one drive of at least 64 sectors (its contents are
 * overwritten), read-write, any cache type.
 *
 * Each round: one random request (16 bytes; only its length is checked: the
 * bytes differ between runs), then a block write of sector 1 + round % 32
 * with a pattern of the round, a read of it back, and a read of the sector
 * written 8 rounds before (written before the snapshot, read after it, for
 * the rounds around one); every mismatch fails. Then a short busy wait on
 * the TSC. Every PRINT_EVERY rounds "round N: sum S", S a checksum of what
 * was read. Polling only (no interrupts); a wait for the device has a bound
 * long enough to span a snapshot and its restore (the TSC jumps by the gap).
 */
#include "virtio.h"

#define ROUNDS	    192
#define PRINT_EVERY 12
#define SECTORS	    32
#define WAIT_CYCLES 20000000ULL	    /* between rounds: a few ms */
#define DEV_CYCLES  400000000000ULL /* a device's answer: minutes, never in a good run */
#define T_IN	    0
#define T_OUT	    1

struct req_header {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

static struct virtq rng_q, blk_q;
static uint32_t rng_base, blk_base;
#define RND_LEN 16
static struct req_header hdr;
static volatile uint8_t status;
static uint8_t wbuf[512];
/*
 * Written by the devices only, each on a page of its own, never by the guest:
 * a Diff snapshot has them only if ember tracks its own writes (snapshot:diff-devices).
 */
static uint8_t rnd[4096] __attribute__((aligned(4096)));
static uint8_t rbuf[4096] __attribute__((aligned(4096)));

static void use(uint32_t base)
{
	virtio_base = base;
}

static void rng_round(void)
{
	uint32_t id, len;

	use(rng_base);
	rng_q.desc[0] = (struct virtq_desc){(uint32_t)rnd, RND_LEN, VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&rng_q, 0);
	virtq_notify(&rng_q);
	id = virtq_wait_used(&rng_q, DEV_CYCLES, "no random bytes", &len);
	if (id != 0 || len != RND_LEN) {
		print("rng: id %u len %u\n", id, len);
		fail("unexpected used element from the entropy device");
	}
}

/* One block request of 512 bytes at @sector: header, data, status. */
static void blk_request(uint32_t type, uint32_t sector, uint8_t *data)
{
	uint32_t id, len;

	use(blk_base);
	hdr = (struct req_header){type, 0, sector};
	status = 0xff;
	blk_q.desc[0] = (struct virtq_desc){(uint32_t)&hdr, sizeof(hdr), VIRTQ_DESC_F_NEXT, 1};
	blk_q.desc[1] = (struct virtq_desc){
	    (uint32_t)data, 512,
	    (uint16_t)(VIRTQ_DESC_F_NEXT | (type == T_IN ? VIRTQ_DESC_F_WRITE : 0)), 2};
	blk_q.desc[2] = (struct virtq_desc){(uint32_t)&status, 1, VIRTQ_DESC_F_WRITE, 0};
	virtq_post(&blk_q, 0);
	virtq_notify(&blk_q);
	id = virtq_wait_used(&blk_q, DEV_CYCLES, "no answer from the drive", &len);
	if (id != 0 || status != 0) {
		print("block: %s sector %u: id %u status %u\n", type == T_IN ? "read" : "write",
		      sector, id, status);
		fail("block request failed");
	}
}

static uint8_t pattern(uint32_t round, uint32_t i)
{
	return (uint8_t)(round * 37 + i * 11 + (i >> 5));
}

/* Reads @sector and checks it holds round @round's pattern; returns a checksum of it. */
static uint32_t check_sector(uint32_t sector, uint32_t round)
{
	uint32_t sum = 0;

	blk_request(T_IN, sector, rbuf);
	for (uint32_t i = 0; i < 512; i++) {
		if (rbuf[i] != pattern(round, i)) {
			print("sector %u byte %u: %u, round %u wrote %u\n", sector, i, rbuf[i],
			      round, pattern(round, i));
			fail("the drive lost a write");
		}
		sum = sum * 31 + rbuf[i];
	}
	return sum;
}

static void setup(uint32_t device_id, const char *what, struct virtq *q, uint32_t *base)
{
	virtio_find(device_id, 8, what);
	*base = virtio_base;
	virtio_begin();
	virtio_features_ok(0);
	virtq_setup(q, 0);
	virtio_driver_ok();
}

int main(void);
int main(void)
{
	uint32_t sum = 0;

	setup(4, "no entropy device", &rng_q, &rng_base);
	setup(2, "no drive", &blk_q, &blk_base);
	for (uint32_t round = 0; round < ROUNDS; round++) {
		uint32_t sector = 1 + round % SECTORS;
		uint64_t start;

		rng_round();
		for (uint32_t i = 0; i < 512; i++)
			wbuf[i] = pattern(round, i);
		blk_request(T_OUT, sector, wbuf);
		sum = sum * 7 + check_sector(sector, round);
		if (round >= 8)
			sum = sum * 7 + check_sector(1 + (round - 8) % SECTORS, round - 8);
		if ((round + 1) % PRINT_EVERY == 0)
			print("round %u: sum %x\n", round + 1, sum);
		start = rdtsc();
		while (rdtsc() - start < WAIT_CYCLES)
			cpu_relax();
	}
	print("SUCCESS: %u rounds, sum %x\n", ROUNDS, sum);
	reset();
}
