/*
 * triple_fault: with an empty IDT, any exception escalates #UD -> #GP -> #DF -> shutdown. The
 * VMM must report the triple fault and exit non-zero.
 *
 * ud2 rather than int3: on kvm_pvm hosts CPL0 code is emulated, and KVM's emulator cannot
 * execute INT3 in protected mode (it fails with an emulation error instead of faulting).
 */
#include "lib.h"

int main(void);
int main(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) empty = {0, 0};

	putln("about to triple fault");
	__asm__ volatile("lidt %0\n\tud2" : : "m"(empty) : "memory");
	putln("FAIL: survived");
	halt_forever();
}
