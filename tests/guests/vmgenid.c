/*
 * vmgenid: reads the VMGenID generation id (16 bytes at 0xff000, where ember's
 * ACPI tables say: \_SB_.VGEN's ADDR), prints "vmgenid: " and its four words,
 * and fails if it is zero (ember writes a random one at boot). Then polls it:
 * snapshotted while it waits (tests/snapshot.sh), the restored VM has a new
 * id; the payload prints "vmgenid: changed to ..." and SUCCESS. Without a
 * restore the id never changes: after about a minute of TSC it fails.
 */
#include "lib.h"

#define VMGENID_ADDR 0xff000u
#define WAIT_CYCLES  200000000000ULL /* about a minute of TSC, however slow */

static void read_id(uint32_t id[4])
{
	const volatile uint32_t *p = (const volatile uint32_t *)VMGENID_ADDR;

	for (int i = 0; i < 4; i++)
		id[i] = p[i];
}

int main(void);
int main(void)
{
	uint32_t first[4], now[4];
	uint64_t start = rdtsc();

	read_id(first);
	print("vmgenid: %x %x %x %x\n", first[0], first[1], first[2], first[3]);
	if (!(first[0] | first[1] | first[2] | first[3]))
		fail("the generation id is zero");
	putln("vmgenid: waiting for a new generation");
	for (;;) {
		read_id(now);
		if (now[0] != first[0] || now[1] != first[1] || now[2] != first[2] ||
		    now[3] != first[3])
			break;
		if (rdtsc() - start > WAIT_CYCLES)
			fail("the generation id never changed");
		cpu_relax();
	}
	print("vmgenid: changed to %x %x %x %x\n", now[0], now[1], now[2], now[3]);
	putln("SUCCESS");
	reset();
}
