/*
 * start.S - PVH entry for the ember test guests.
 *
 * The VMM enters _start in 32-bit protected mode, paging off, flat segments, interrupts off,
 * %ebx = physical address of struct hvm_start_info, no stack. We load our own flat GDT,
 * set a stack, clear .bss, call main() and reset through the i8042 if it returns.
 * Also here: the real-mode AP trampoline (copied below 1 MiB by the SMP payload) and the
 * catch-all interrupt stubs used by idt_init().
 */

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define CODE_SEL 0x08
#define DATA_SEL 0x10
#define AP_STACK_SIZE 4096
#define MAX_APS_ASM 31 /* = MAX_APS in lib.h */

/* --- Xen PVH note: name "Xen", type 18, desc = 32-bit physical entry point --- */
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

/* --- BSP entry --- */
	.section .text.entry, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	cld
	movl %ebx, pvh_start_info
	lgdt gdt_desc
	ljmp $CODE_SEL, $1f
1:	movl $DATA_SEL, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $bsp_stack_top, %esp
	xorl %ebp, %ebp
	/* Clear .bss (the VMM hands us zeroed RAM, but don't rely on it). */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	shrl $2, %ecx
	xorl %eax, %eax
	rep stosl
	call main
	call reset
2:	cli
	hlt
	jmp 2b
	.size _start, . - _start

/*
 * --- AP trampoline (16-bit, position independent within its 4 KiB page) ---
 * Copied to a page-aligned address below 1 MiB; the SIPI starts the AP in real mode at
 * CS = page >> 4, IP = 0. Load the GDT (32-bit base via lgdtl), enter protected mode and
 * far-jump to ap_entry32 at its linked (absolute) address.
 */
	.section .text, "ax"
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl (ap_gdt_desc - ap_tramp_start)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $CODE_SEL, $ap_entry32
	.balign 4
ap_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:

	.code32
ap_entry32:
	movl $DATA_SEL, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	/* Stack slot: 1 + atomically taken index (slot 0's top is the lowest). */
	movl $1, %eax
	lock xaddl %eax, ap_next_slot
	cmpl $MAX_APS_ASM, %eax
	jae 9f
	incl %eax
	imull $AP_STACK_SIZE, %eax, %esp
	addl $ap_stacks, %esp
	xorl %ebp, %ebp
	call ap_main
9:	cli
	hlt
	jmp 9b

/*
 * --- catch-all interrupt stubs: 256 x 16 bytes at isr_stubs + 16 * vector ---
 * Each pushes a dummy error code (unless the CPU pushed one) and its vector, then goes to
 * isr_common, which calls trap_dispatch(frame): the handler set with set_handler(), or a
 * "FAIL: unexpected ..." message and a reset.
 */
	.balign 16
	.globl isr_stubs
isr_stubs:
	.set vec, 0
	.rept 256
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushl $0
	.endif
	pushl $vec
	jmp isr_common
	.balign 16
	.set vec, vec + 1
	.endr

isr_common:
	pushal
	pushl %esp		/* struct trap_frame * */
	call trap_dispatch
	addl $4, %esp
	popal
	addl $8, %esp		/* vector, error code */
	/*
	 * Same-privilege IRET, spelled without IRET: on kvm_pvm hosts all CPL0 code runs in KVM's
	 * instruction emulator, which cannot execute a 32-bit IRET (64-bit IRETQ works there).
	 * Stack: eip, cs (always CODE_SEL), eflags. POPF may re-enable interrupts one instruction
	 * early; that only allows a nested interrupt on this same stack.
	 */
	pushl 8(%esp)
	popfl
	ret $8

/* --- data --- */
	.section .data, "aw"
	.balign 8
	.globl gdt
gdt:
	.quad 0
	.quad 0x00cf9b000000ffff	/* 0x08: code, base 0, limit 4 GiB, 32-bit, accessed */
	.quad 0x00cf93000000ffff	/* 0x10: data, base 0, limit 4 GiB, accessed */
gdt_end:
	.balign 4
	.word 0
gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt

	.globl pvh_start_info
	.balign 4
pvh_start_info:
	.long 0
ap_next_slot:
	.long 0

/* Stacks: not cleared at boot, see guest.ld. */
	.section .stack, "aw", @nobits
	.balign 16
	.space 16384
bsp_stack_top:
	.globl ap_stacks
	.balign 16
ap_stacks:
	.space AP_STACK_SIZE * MAX_APS_ASM

	.section .note.GNU-stack, "", @progbits
