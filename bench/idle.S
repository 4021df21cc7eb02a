/*
 * idle.S - the memory benchmark's payload: prints "READY\n" on COM1 and halts for good.
 *
 * A 32-bit PVH guest: the VMM enters _start in protected mode, paging off, flat segments,
 * interrupts off. With interrupts masked (cli) the halt is permanent, so the VM stays alive,
 * with a fixed set of touched guest pages, until bench/firstbyte kills the VMM.
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define COM1 0x3f8

/* Xen PVH note: name "Xen", type 18, desc = 32-bit physical entry point. */
	.pushsection .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f			/* namesz (incl. NUL) */
	.long 4f - 3f			/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long _start
4:	.balign 4
	.popsection

	.section .text, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	movl $msg, %esi
	movw $COM1, %dx
1:	lodsb
	testb %al, %al
	jz 2f
	outb %al, %dx
	jmp 1b
2:	cli
	hlt
	jmp 2b
	.size _start, . - _start

	.section .rodata, "a"
msg:	.asciz "READY\n"

	.section .note.GNU-stack, "", @progbits
