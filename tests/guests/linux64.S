/*
 * linux64: the Linux 64-bit boot protocol, end to end. An ELF64 without a PVH note is entered
 * in 64-bit mode at e_entry with paging on (identity-mapped first GiB), interrupts off and
 * %rsi = the zero page (struct boot_params). Checks the zero page's header fields, prints the
 * command line it points at, then takes an int3 through a 64-bit interrupt gate and returns
 * with iretq (what a Linux kernel does; on kvm_pvm ember completes the int3).
 */
	.code64
	.section .text
	.globl _start
_start:
	movq	%rsi, %r15		/* zero page */
	leaq	stack_top(%rip), %rsp

	leaq	msg_hello(%rip), %rdi
	call	puts
	cmpl	$0x53726448, 0x202(%r15)	/* "HdrS" */
	jne	bad_magic
	cmpb	$0xff, 0x210(%r15)	/* type_of_loader: undefined */
	jne	bad_loader
	cmpb	$0, 0x1e8(%r15)		/* e820_entries */
	je	bad_e820
	cmpl	$1, 0x2d0 + 16(%r15)	/* first e820 entry is RAM */
	jne	bad_e820
	movq	0x70(%r15), %rax	/* acpi_rsdp_addr -> "RSD PTR " */
	testq	%rax, %rax
	jz	bad_rsdp
	cmpl	$0x20445352, (%rax)
	jne	bad_rsdp
	cmpl	$0x20525450, 4(%rax)
	jne	bad_rsdp

	leaq	msg_cmdline(%rip), %rdi
	call	puts
	movl	0x228(%r15), %edi	/* cmd_line_ptr */
	call	puts
	leaq	msg_nl(%rip), %rdi
	call	puts

	/* IDT vector 3: 64-bit interrupt gate to bp_handler. */
	leaq	bp_handler(%rip), %rax
	leaq	idt + 3 * 16(%rip), %rdi
	movw	%ax, 0(%rdi)
	movw	%cs, 2(%rdi)
	movw	$0x8e00, 4(%rdi)	/* present, DPL 0, interrupt gate */
	shrq	$16, %rax
	movw	%ax, 6(%rdi)
	shrq	$16, %rax
	movl	%eax, 8(%rdi)
	lidt	idtr(%rip)
	int3
after_int3:
	leaq	after_int3(%rip), %rax
	cmpq	%rax, bp_rip(%rip)	/* #BP is a trap: it reports the next rip */
	jne	bad_bp
	cmpl	$1, bp_count(%rip)
	jne	bad_bp
	leaq	msg_success(%rip), %rdi
	call	puts
reset:
	movb	$0xfe, %al
	outb	%al, $0x64
1:	hlt
	jmp	1b

bp_handler:
	incl	bp_count(%rip)
	movq	(%rsp), %rax		/* the interrupted rip */
	movq	%rax, bp_rip(%rip)
	iretq

/* puts(%rdi): NUL-terminated string to COM1. */
puts:
	movw	$0x3f8, %dx
1:	movb	(%rdi), %al
	testb	%al, %al
	jz	2f
	outb	%al, %dx
	incq	%rdi
	jmp	1b
2:	ret

fail:	/* %rdi: message */
	call	puts
	jmp	reset
bad_magic:
	leaq	msg_bad_magic(%rip), %rdi
	jmp	fail
bad_loader:
	leaq	msg_bad_loader(%rip), %rdi
	jmp	fail
bad_e820:
	leaq	msg_bad_e820(%rip), %rdi
	jmp	fail
bad_bp:
	leaq	msg_bad_bp(%rip), %rdi
	jmp	fail
bad_rsdp:
	leaq	msg_bad_rsdp(%rip), %rdi
	jmp	fail

	.section .rodata
msg_hello:	.asciz "linux64: entered in 64-bit mode\n"
msg_cmdline:	.asciz "cmdline: "
msg_nl:		.asciz "\n"
msg_success:	.asciz "int3 returned through iretq\nSUCCESS\n"
msg_bad_magic:	.asciz "FAIL: zero page has no HdrS magic\n"
msg_bad_loader:	.asciz "FAIL: zero page type_of_loader is not 0xff\n"
msg_bad_e820:	.asciz "FAIL: zero page e820 table is empty or does not start with RAM\n"
msg_bad_rsdp:	.asciz "FAIL: zero page acpi_rsdp_addr does not point at an RSDP\n"
msg_bad_bp:	.asciz "FAIL: #BP handler did not run once with the rip after int3\n"

	.section .data
	.balign 16
idt:	.fill 64, 8, 0		/* 32 gates of 16 bytes */
idtr:	.word 32 * 16 - 1
	.quad idt
bp_count:	.long 0
	.balign 8
bp_rip:		.quad 0

	.section .bss
	.balign 16
	.space 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
