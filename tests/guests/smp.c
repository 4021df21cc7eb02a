/*
 * smp: count the vCPUs in the MP table, start every AP with INIT + SIPI + SIPI through a
 * real-mode trampoline at 0x10000, and wait until each one reports in.
 *
 * The BSP doesn't spin while it waits (kernel-mode code may be interpreted and the host may
 * have fewer CPUs than we have vCPUs): each AP sends it an IPI after checking in, and a LAPIC
 * one-shot timer bounds the wait.
 */
#include "lib.h"

#define TRAMPOLINE  0x10000u /* SIPI vector 0x10; clear of 0x6000-0xbfff and the EBDA */
#define VEC_AP_UP   0x40
#define VEC_TIMEOUT 0x41
#define TIMEOUT_MS  5000
#define MAX_CPUS    (MAX_APS + 1)

static uint32_t cpu_ids[MAX_CPUS]; /* from the MP table */
static uint32_t ncpus;

static volatile uint32_t ap_up;
static volatile uint32_t ap_ids[MAX_CPUS];
static volatile uint32_t timed_out;
static uint32_t bsp_id;

static uint8_t checksum(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum = (uint8_t)(sum + *p++);
	return sum;
}

static const uint8_t *find_mp_floating(uint32_t start, uint32_t end)
{
	for (uint32_t a = start; a + 16 <= end; a += 16) {
		const uint8_t *p = (const uint8_t *)a;

		if (p[0] == '_' && p[1] == 'M' && p[2] == 'P' && p[3] == '_' && p[8] >= 1 &&
		    checksum(p, 16u * p[8]) == 0)
			return p;
	}
	return NULL;
}

/* Fill cpu_ids/ncpus from the MP configuration table; returns the BSP-flagged APIC ID or ~0. */
static uint32_t read_mp_table(void)
{
	const uint8_t *fp = find_mp_floating(0x9fc00, 0xa0000); /* EBDA, where the VMM puts it */
	uint32_t bsp = ~0u;

	if (!fp)
		fp = find_mp_floating(0xf0000, 0x100000); /* BIOS area (other firmware) */
	if (!fp)
		fail("no MP floating pointer (_MP_) found");

	const uint8_t *ct = (const uint8_t *)*(const uint32_t *)(fp + 4);
	print("MP floating pointer at %x, config table at %x\n", (uint32_t)fp, (uint32_t)ct);
	if (ct == NULL || memcmp(ct, "PCMP", 4) != 0)
		fail("no MP config table (PCMP)");

	uint32_t len = *(const uint16_t *)(ct + 4);
	uint32_t count = *(const uint16_t *)(ct + 34);
	if (len < 44 || checksum(ct, len) != 0)
		fail("MP config table checksum/length bad");

	/* Walk the entries up to the table's length; also stop at the entry count unless it is 0
	 * (QEMU's qboot firmware leaves it 0). */
	const uint8_t *e = ct + 44, *end = ct + len;
	for (uint32_t i = 0; (count == 0 || i < count) && e < end; i++) {
		if (e[0] ==
		    0) { /* processor: type, apic id, version, flags(bit0 enabled, bit1 BSP) */
			if (e[3] & 1) {
				if (ncpus == MAX_CPUS)
					fail("too many processors in the MP table");
				cpu_ids[ncpus++] = e[1];
				if (e[3] & 2)
					bsp = e[1];
			}
			e += 20;
		} else if (e[0] <= 4) {
			e += 8;
		} else {
			fail("unknown MP table entry type");
		}
	}
	if (ncpus == 0)
		fail("no processor entries in the MP table");
	return bsp;
}

static void ap_up_irq(struct trap_frame *f)
{
	(void)f;
	lapic_eoi();
}

static void timeout_irq(struct trap_frame *f)
{
	(void)f;
	timed_out = 1;
	lapic_eoi();
}

void ap_main(void)
{
	uint32_t id = lapic_id();

	lapic_enable();
	spin_lock(&print_lock);
	print("cpu %u up\n", id);
	ap_ids[ap_up] = id;
	ap_up = ap_up + 1;
	spin_unlock(&print_lock);
	lapic_send_ipi(bsp_id, VEC_AP_UP); /* fixed, physical: wake the BSP */
	halt_forever();
}

int main(void);
int main(void)
{
	uint32_t bsp_flagged = read_mp_table();
	uint32_t me = bsp_id = lapic_id();
	uint32_t tramp_len = (uint32_t)(ap_tramp_end - ap_tramp_start);

	print("MP table: %u cpus; BSP is cpu %u\n", ncpus, me);
	if (bsp_flagged != ~0u && bsp_flagged != me)
		fail("MP table flags a different BSP");
	if (ncpus == 1) {
		putln("SUCCESS: 1 cpus");
		reset();
	}

	idt_init();
	set_handler(VEC_AP_UP, ap_up_irq);
	set_handler(VEC_TIMEOUT, timeout_irq);
	lapic_enable();

	if (tramp_len > 4096)
		fail("AP trampoline too big");
	memcpy((void *)TRAMPOLINE, ap_tramp_start, tramp_len);

	/* INIT to every AP, then SIPI twice. KVM needs no real delays; keep them short. */
	for (uint32_t i = 0; i < ncpus; i++)
		if (cpu_ids[i] != me)
			lapic_send_ipi(cpu_ids[i], 0x4500); /* INIT, assert, edge */
	delay_cycles(1000000);
	for (int round = 0; round < 2; round++) {
		for (uint32_t i = 0; i < ncpus; i++)
			if (cpu_ids[i] != me)
				lapic_send_ipi(cpu_ids[i], 0x4600 | (TRAMPOLINE >> 12)); /* SIPI */
		if (round == 0)
			delay_cycles(200000);
	}

	lapic_timer_oneshot(VEC_TIMEOUT, TIMEOUT_MS);
	for (;;) {
		cli();
		if (ap_up >= ncpus - 1 || timed_out)
			break;
		sti_hlt();
	}
	lapic_timer_stop();

	spin_lock(&print_lock);
	if (ap_up < ncpus - 1) {
		print("only %u of %u APs came up\n", ap_up, ncpus - 1);
		fail("timeout waiting for APs");
	}
	/* Every AP that reported must be a distinct MP-table CPU other than the BSP. */
	for (uint32_t i = 0; i < ap_up; i++) {
		bool known = false;

		for (uint32_t j = 0; j < ncpus; j++)
			known |= cpu_ids[j] == ap_ids[i] && ap_ids[i] != me;
		for (uint32_t j = 0; j < i; j++)
			known &= ap_ids[j] != ap_ids[i];
		if (!known) {
			print("AP reported APIC ID %u\n", ap_ids[i]);
			fail("AP APIC ID not in the MP table (or duplicate, or the BSP's)");
		}
	}
	print("SUCCESS: %u cpus\n", ncpus);
	reset();
}
