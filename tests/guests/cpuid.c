/*
 * cpuid: prints what the CPUID instruction tells the guest for the leaves CPU
 * templates change (1, 7.0, 0xd.0, 0xd.1, 0x80000001, 0x80000008), one line each,
 * so a test can compare them with the template it set, and IA32_MISC_ENABLE
 * (MSR 0x1a0), which a template's msr_modifiers may set.
 */
#include "lib.h"

static void show(uint32_t leaf, uint32_t subleaf)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(leaf), "c"(subleaf));
	print("cpuid %x.%x: eax=%x ebx=%x ecx=%x edx=%x\n", leaf, subleaf, a, b, c, d);
}

static void show_msr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	print("msr %x: hi=%x lo=%x\n", msr, hi, lo);
}

int main(void);
int main(void)
{
	show(0x1, 0);
	show(0x7, 0);
	show(0xd, 0);
	show(0xd, 1);
	show(0x80000001, 0);
	show(0x80000008, 0);
	show_msr(0x1a0);
	putln("SUCCESS");
	reset();
}
