/*
 * exits.c - the exit-rate benchmark's payload (bench/devices.sh): prints "GO", writes
 * EXITS bytes to port 0x80 (ignored by ember and QEMU alike, but each `outb` is a VM exit
 * handled by the VMM in user space), prints "DONE" and resets. With "n0" on the command
 * line it does no writes: the empty-boot baseline. The loop is three instructions, since
 * guest kernel-mode code is interpreted on kvm_pvm hosts.
 */
#include "lib.h"

#define EXITS 50000u

int main(void);
int main(void)
{
	uint32_t n = cmdline_has("n0") ? 0 : EXITS;

	putln("GO");
	for (uint32_t i = 0; i < n; i++)
		outb(0x80, 0);
	putln("DONE");
	reset();
}
