/*
 * progress: a deterministic computation that prints its progress, for the snapshot tests
 * (tests/snapshot.sh): pause it anywhere, snapshot, restore in another process, and the
 * output must be the same bytes as an uninterrupted run's.
 *
 * A tiny 64-bit kernel (entered by the Linux 64-bit boot protocol: long mode, paging on)
 * sets up its own GDT, TSS, IDT and page tables (user-accessible), turns SSE on, starts
 * the LAPIC timer (periodic, 1 kHz: interrupts in flight all the time) and drops to CPL3
 * with iretq. User mode runs ROUNDS rounds: a xorshift64 walk (native speed on kvm_pvm),
 * a running sum kept only in %xmm1 (FPU/SSE state that must survive a restore), and a
 * "system call" into CPL0 (ud2: the #UD handler is the entry; kvm_pvm leaves `syscall` in
 * CPL3) whose kernel-mode mixing step changes the state. Every WAIT_EVERY rounds the
 * kernel halts until WAIT_TICKS timer interrupts have come (a halted vCPU with a timer
 * armed). Every PRINT_EVERY rounds user mode prints "round N: state sum" (a line it
 * builds and hands to the kernel, SYS_WRITE). At the end: "SUCCESS: ..." if the timer ticked, then a reset (i8042).
 * Nothing printed depends on time, only on the computation.
 */
#define ROUNDS	    4000
#define USER_ITERS  100000
#define KERNEL_ITERS 64
#define PRINT_EVERY 250
#define WAIT_EVERY  1000
#define WAIT_TICKS  20

#define KCODE 0x08
#define KDATA 0x10
#define UDATA 0x1b /* GDT index 3, RPL 3 */
#define UCODE 0x23 /* GDT index 4, RPL 3 */
#define TSSEL 0x28

#define LAPIC	    0xfee00000
#define LAPIC_EOI   0xb0
#define LAPIC_SVR   0xf0
#define LAPIC_LVT_T 0x320
#define LAPIC_LINT0 0x350
#define LAPIC_ICR   0x380 /* timer initial count */
#define LAPIC_DCR   0x3e0
#define TIMER_VEC   0x20

#define SYS_MIX	   1
#define SYS_WAIT   2
#define SYS_FINISH 3
#define SYS_WRITE  4

	.code64
	.section .text
	.globl _start
_start:
	cli
	leaq	boot_stack_top(%rip), %rsp

	/* Page tables: 4 GiB identity-mapped with 2 MiB pages, user-accessible (U|W|P|PS). */
	leaq	pd(%rip), %rdi
	xorl	%ecx, %ecx
1:	movq	%rcx, %rax
	shlq	$21, %rax
	orq	$0x87, %rax
	movq	%rax, (%rdi,%rcx,8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	1b
	leaq	pdpt(%rip), %rdi
	leaq	pd(%rip), %rax
	orq	$0x7, %rax
	xorl	%ecx, %ecx
2:	movq	%rax, (%rdi,%rcx,8)
	addq	$4096, %rax
	incl	%ecx
	cmpl	$4, %ecx
	jb	2b
	leaq	pml4(%rip), %rdi
	leaq	pdpt(%rip), %rax
	orq	$0x7, %rax
	movq	%rax, (%rdi)
	movq	%rdi, %cr3

	/* The TSS descriptor (base split over the entry) and the TSS's kernel stack. */
	leaq	tss(%rip), %rax
	leaq	gdt_tss(%rip), %rdi
	movw	$103, 0(%rdi)		/* limit */
	movw	%ax, 2(%rdi)		/* base 15:0 */
	movq	%rax, %rdx
	shrq	$16, %rdx
	movb	%dl, 4(%rdi)		/* base 23:16 */
	movb	$0x89, 5(%rdi)		/* present, 64-bit TSS (available) */
	movb	$0, 6(%rdi)
	shrq	$8, %rdx
	movb	%dl, 7(%rdi)		/* base 31:24 */
	shrq	$8, %rdx
	movl	%edx, 8(%rdi)		/* base 63:32 */
	leaq	kernel_stack_top(%rip), %rax
	movq	%rax, tss+4(%rip)	/* rsp0 */
	movw	$104, tss+102(%rip)	/* no I/O bitmap: IOPL 3 decides */
	lgdt	gdtr(%rip)
	/* CS keeps its cached 64-bit code segment (KCODE here too); the data segments reload. */
	movw	$KDATA, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	$TSSEL, %ax
	ltr	%ax

	/* The IDT: every vector to `unexpected`, then the ones this kernel handles. */
	leaq	unexpected(%rip), %rsi
	xorl	%ebx, %ebx
3:	movl	%ebx, %edi
	call	set_gate
	incl	%ebx
	cmpl	$256, %ebx
	jb	3b
	movl	$6, %edi
	leaq	ud_entry(%rip), %rsi
	call	set_gate
	movl	$13, %edi
	leaq	gp_fault(%rip), %rsi
	call	set_gate
	movl	$14, %edi
	leaq	page_fault(%rip), %rsi
	call	set_gate
	movl	$TIMER_VEC, %edi
	leaq	timer_irq(%rip), %rsi
	call	set_gate
	movl	$0xff, %edi
	leaq	spurious(%rip), %rsi
	call	set_gate
	lidt	idtr(%rip)

	/* SSE on: CR4.OSFXSR | OSXMMEXCPT; CR0.MP set, EM clear. */
	movq	%cr4, %rax
	orq	$0x600, %rax
	movq	%rax, %cr4
	movq	%cr0, %rax
	andq	$~0x4, %rax
	orq	$0x2, %rax
	movq	%rax, %cr0

	/* Both 8259s masked; the LAPIC on, LINT0 masked, the timer periodic at ~1 kHz. */
	movb	$0xff, %al
	outb	%al, $0x21
	outb	%al, $0xa1
	movl	$LAPIC, %edi
	movl	$0x1ff, LAPIC_SVR(%rdi)
	movl	$0x10000, LAPIC_LINT0(%rdi)
	movl	$0x3, LAPIC_DCR(%rdi)			/* divide by 16 */
	movl	$(0x20000 | TIMER_VEC), LAPIC_LVT_T(%rdi)	/* periodic */
	movl	$62500, LAPIC_ICR(%rdi)			/* 1 ms at KVM's 1 GHz APIC bus */

	leaq	msg_start(%rip), %rdi
	call	kputs

	/* To CPL3: ss, rsp, rflags (IF, IOPL 3), cs, rip. */
	pushq	$UDATA
	leaq	user_stack_top(%rip), %rax
	pushq	%rax
	pushq	$0x3202
	pushq	$UCODE
	leaq	user_main(%rip), %rax
	pushq	%rax
	iretq

/* set_gate(%edi vector, %rsi handler): a 64-bit interrupt gate, DPL 0. */
set_gate:
	leaq	idt(%rip), %rax
	shlq	$4, %rdi
	addq	%rdi, %rax
	movq	%rsi, %rdx
	movw	%dx, 0(%rax)
	movw	$KCODE, 2(%rax)
	movw	$0x8e00, 4(%rax)
	shrq	$16, %rdx
	movw	%dx, 6(%rax)
	shrq	$16, %rdx
	movl	%edx, 8(%rax)
	movl	$0, 12(%rax)
	ret

/* --- the kernel's entries --- */

timer_irq:
	pushq	%rax
	incq	ticks(%rip)
	movl	$LAPIC, %eax
	movl	$0, LAPIC_EOI(%rax)
	popq	%rax
	iretq

spurious:
	iretq

/* #UD from user mode is a system call: %eax the number, %rdi the argument, %rax the result. */
ud_entry:
	testb	$3, 8(%rsp)		/* the interrupted CS */
	jz	kernel_ud
	addq	$2, (%rsp)		/* past the ud2 */
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	cmpl	$SYS_MIX, %eax
	je	sys_mix
	cmpl	$SYS_WAIT, %eax
	je	sys_wait
	cmpl	$SYS_FINISH, %eax
	je	sys_finish
	cmpl	$SYS_WRITE, %eax
	je	sys_write
	leaq	msg_bad_sys(%rip), %rdi
	jmp	die

/* A mixing step in kernel mode (interpreted on kvm_pvm: kept short). */
sys_mix:
	movq	%rdi, %rax
	movl	$KERNEL_ITERS, %ecx
	movabsq	$0x9e3779b97f4a7c15, %rdx
1:	imulq	%rdx, %rax
	movq	%rax, %rsi
	shrq	$29, %rsi
	xorq	%rsi, %rax
	decl	%ecx
	jnz	1b
	jmp	sys_return

/* Halts until %rdi more timer interrupts have come. */
sys_wait:
	movq	ticks(%rip), %rcx
	addq	%rdi, %rcx
1:	cli
	cmpq	%rcx, ticks(%rip)
	jae	2f
	sti
	hlt
	jmp	1b
2:	xorl	%eax, %eax
	jmp	sys_return

/* The line user mode built: %rdi its buffer, %rsi its length. */
sys_write:
	cmpq	$256, %rsi
	ja	1f
	call	kwrite
	xorl	%eax, %eax
	jmp	sys_return
1:	leaq	msg_bad_sys(%rip), %rdi
	jmp	die

sys_return:
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	iretq

/* The end: %rdi = the final state, %rsi = the sum. */
sys_finish:
	cli
	cmpq	$0, ticks(%rip)
	je	no_ticks
	movq	%rdi, %r12
	movq	%rsi, %r13
	leaq	kline(%rip), %r15
	leaq	msg_success(%rip), %rdi
	call	puts
	movq	%r12, %rdi
	call	put_hex
	leaq	msg_sum(%rip), %rdi
	call	puts
	movq	%r13, %rdi
	call	put_hex
	leaq	msg_nl(%rip), %rdi
	call	puts
	leaq	kline(%rip), %rdi
	movq	%r15, %rsi
	subq	%rdi, %rsi
	call	kwrite
	jmp	reset
no_ticks:
	leaq	msg_no_ticks(%rip), %rdi
	jmp	die

kernel_ud:
	leaq	msg_kernel_ud(%rip), %rdi
	jmp	die
gp_fault:
	leaq	msg_gp(%rip), %rdi
	jmp	fault_die
page_fault:
	leaq	msg_pf(%rip), %rdi
fault_die:
	/* The error code and the faulting rip, then the message. */
	cli
	movq	%rdi, %r14
	leaq	kline(%rip), %r15
	movq	(%rsp), %rdi
	call	put_hex
	leaq	msg_space(%rip), %rdi
	call	puts
	movq	8(%rsp), %rdi
	call	put_hex
	leaq	msg_space(%rip), %rdi
	call	puts
	leaq	kline(%rip), %rdi
	movq	%r15, %rsi
	subq	%rdi, %rsi
	call	kwrite
	movq	%r14, %rdi
	jmp	die
unexpected:
	leaq	msg_unexpected(%rip), %rdi
die:
	cli
	call	kputs
reset:
	movb	$0xfe, %al
	outb	%al, $0x64
4:	hlt
	jmp	4b

/*
 * --- output: lines are built in a buffer at %r15 (emit, puts, put_hex, put_dec) and sent
 * to COM1 by the kernel (kflush): user mode asks with SYS_WRITE. (kvm_pvm gives user mode
 * no I/O privilege: IOPL 3 is not honoured there.) ---
 */

/* emit(%al): one byte at %r15. */
emit:
	movb	%al, (%r15)
	incq	%r15
	ret

/* puts(%rdi): a NUL-terminated string. */
puts:
1:	movb	(%rdi), %al
	testb	%al, %al
	jz	2f
	call	emit
	incq	%rdi
	jmp	1b
2:	ret

/* put_hex(%rdi): 16 hex digits. */
put_hex:
	movl	$16, %ecx
1:	rolq	$4, %rdi
	movl	%edi, %eax
	andl	$0xf, %eax
	leaq	hexdigits(%rip), %rsi
	movb	(%rsi,%rax), %al
	call	emit
	decl	%ecx
	jnz	1b
	ret

/* put_dec(%rdi): decimal, no leading zeros. */
put_dec:
	movq	%rdi, %rax
	leaq	decbuf_end(%rip), %rsi
	movl	$10, %ecx
1:	xorl	%edx, %edx
	divq	%rcx
	addb	$'0', %dl
	decq	%rsi
	movb	%dl, (%rsi)
	testq	%rax, %rax
	jnz	1b
	movq	%rsi, %rdi
	jmp	puts

/* kputs(%rdi): a string straight to COM1, from the kernel. */
kputs:
	leaq	kline(%rip), %r15
	call	puts
	leaq	kline(%rip), %rdi
	movq	%r15, %rsi
	subq	%rdi, %rsi
	/* fall through */
/* kwrite(%rdi buffer, %rsi length): to COM1. */
kwrite:
	movw	$0x3f8, %dx
	testq	%rsi, %rsi
	jz	2f
1:	movb	(%rdi), %al
	outb	%al, %dx
	incq	%rdi
	decq	%rsi
	jnz	1b
2:	ret

/* --- user mode (CPL3) --- */

user_main:
	movabsq	$0x0123456789abcdef, %r12	/* the state */
	xorl	%r13d, %r13d			/* rounds done */
	pxor	%xmm1, %xmm1			/* the sum: lives in SSE only */
round:
	movl	$USER_ITERS, %ecx
1:	movq	%r12, %rax			/* xorshift64 */
	shlq	$13, %rax
	xorq	%rax, %r12
	movq	%r12, %rax
	shrq	$7, %rax
	xorq	%rax, %r12
	movq	%r12, %rax
	shlq	$17, %rax
	xorq	%rax, %r12
	decl	%ecx
	jnz	1b
	movq	%r12, %xmm0
	paddq	%xmm0, %xmm1
	movl	$SYS_MIX, %eax
	movq	%r12, %rdi
	ud2
	movq	%rax, %r12
	incq	%r13

	/* Every PRINT_EVERY rounds: "round N: state sum". */
	movq	%r13, %rax
	xorl	%edx, %edx
	movl	$PRINT_EVERY, %ecx
	divq	%rcx
	testq	%rdx, %rdx
	jnz	2f
	leaq	uline(%rip), %r15
	leaq	msg_round(%rip), %rdi
	call	puts
	movq	%r13, %rdi
	call	put_dec
	leaq	msg_colon(%rip), %rdi
	call	puts
	movq	%r12, %rdi
	call	put_hex
	leaq	msg_space(%rip), %rdi
	call	puts
	movq	%xmm1, %rdi
	call	put_hex
	leaq	msg_nl(%rip), %rdi
	call	puts
	movl	$SYS_WRITE, %eax
	leaq	uline(%rip), %rdi
	movq	%r15, %rsi
	subq	%rdi, %rsi
	ud2
2:
	/* Every WAIT_EVERY rounds: let the kernel halt for some timer interrupts. */
	movq	%r13, %rax
	xorl	%edx, %edx
	movl	$WAIT_EVERY, %ecx
	divq	%rcx
	testq	%rdx, %rdx
	jnz	3f
	movl	$SYS_WAIT, %eax
	movl	$WAIT_TICKS, %edi
	ud2
3:	cmpq	$ROUNDS, %r13
	jb	round
	movl	$SYS_FINISH, %eax
	movq	%r12, %rdi
	movq	%xmm1, %rsi
	ud2
5:	jmp	5b

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
msg_start:	.asciz "progress: kernel up, entering user mode\n"
msg_round:	.asciz "round "
msg_colon:	.asciz ": "
msg_space:	.asciz " "
msg_nl:		.asciz "\n"
msg_sum:	.asciz " sum "
msg_success:	.asciz "SUCCESS: 4000 rounds, state "
msg_no_ticks:	.asciz "FAIL: the LAPIC timer never ticked\n"
msg_bad_sys:	.asciz "FAIL: unknown system call\n"
msg_kernel_ud:	.asciz "FAIL: #UD in kernel mode\n"
msg_gp:		.asciz "FAIL: #GP\n"
msg_pf:		.asciz "FAIL: page fault\n"
msg_unexpected:	.asciz "FAIL: unexpected interrupt or exception\n"

	.section .data
	.balign 16
gdt:	.quad 0
	.quad 0x00af9a000000ffff	/* KCODE: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* KDATA */
	.quad 0x00cff2000000ffff	/* UDATA: DPL 3 */
	.quad 0x00affa000000ffff	/* UCODE: 64-bit code, DPL 3 */
gdt_tss:
	.quad 0, 0			/* TSSEL: filled in at start */
gdt_end:
	.balign 4
	.word 0
gdtr:	.word gdt_end - gdt - 1
	.quad gdt
	.balign 4
	.word 0
idtr:	.word 256 * 16 - 1
	.quad idt
	.balign 8
ticks:	.quad 0

	.section .bss
	.balign 4096
pml4:	.space 4096
pdpt:	.space 4096
pd:	.space 4 * 4096
idt:	.space 256 * 16
	.balign 16
tss:	.space 104
decbuf:	.space 24
decbuf_end:
	.space 8			/* the NUL after the digits */
kline:	.space 256
uline:	.space 256
	.balign 16
	.space 8192
boot_stack_top:
	.space 8192
kernel_stack_top:
	.space 8192
user_stack_top:

	.section .note.GNU-stack, "", @progbits
