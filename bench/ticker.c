/*
 * ticker: the snapshot benchmark's payload (bench/snapshot.py): prints
 * "READY", then a '.' on COM1 about every millisecond of TSC, forever. A VM
 * restored from a snapshot of it prints its next '.' as soon as it runs again
 * (its wait is over at once: the TSC moved on), so the first byte a restored
 * VMM writes is the guest running. Kept small: CPL0 code is interpreted on
 * kvm_pvm.
 */
#include "lib.h"

#define TICK_CYCLES 2000000ULL /* ~1 ms at 2 GHz */

int main(void);
int main(void)
{
	putln("READY");
	for (;;) {
		uint64_t start = rdtsc();

		while (rdtsc() - start < TICK_CYCLES)
			cpu_relax();
		uart_putc('.');
	}
}
