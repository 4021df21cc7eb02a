/*
 * int3: a breakpoint is delivered to the guest's own #BP handler (32-bit interrupt gate) and
 * execution resumes right after each int3. On hardware KVM the CPU does this itself; on
 * kvm_pvm the in-kernel emulator gives up on int3 at CPL0 and ember completes it (rip + 1,
 * inject #BP), which is what this payload checks there. The #UD path through the same kind
 * of gate runs first, as a control that needs no completion.
 */
#include "lib.h"

static volatile uint32_t trap_count;
static volatile uint32_t trap_eip[2];

static void record(struct trap_frame *f)
{
	uint32_t n = trap_count;

	if (n < 2)
		trap_eip[n] = f->eip;
	trap_count = n + 1;
}

static void ud_handler(struct trap_frame *f)
{
	f->eip += 2; /* #UD is a fault: skip the ud2, then record where we resume */
	record(f);
}

static void bp_handler(struct trap_frame *f)
{
	record(f); /* #BP is a trap: eip already points after the int3 */
}

static void check(const char *what, uint32_t after0, uint32_t after1)
{
	print("%s: handler ran %u times, returned to %x and %x (expected %x and %x)\n", what,
	      trap_count, trap_eip[0], trap_eip[1], after0, after1);
	if (trap_count != 2)
		fail("handler did not run exactly twice");
	if (trap_eip[0] != after0 || trap_eip[1] != after1)
		fail("handler's return address is not right after the trapping instruction");
	trap_count = 0;
	trap_eip[0] = trap_eip[1] = 0;
}

int main(void);
int main(void)
{
	uint32_t after[2];

	idt_init();

	set_handler(6, ud_handler);
	__asm__ volatile("ud2\n1:\tmovl $1b, %0" : "=r"(after[0]) : : "memory");
	__asm__ volatile("ud2\n1:\tmovl $1b, %0" : "=r"(after[1]) : : "memory");
	check("ud2 (#UD, 32-bit gate)", after[0], after[1]);

	set_handler(3, bp_handler);
	__asm__ volatile("int3\n1:\tmovl $1b, %0" : "=r"(after[0]) : : "memory");
	__asm__ volatile("int3\n1:\tmovl $1b, %0" : "=r"(after[1]) : : "memory");
	check("int3 (#BP, 32-bit gate)", after[0], after[1]);

	putln("SUCCESS");
	reset();
}
