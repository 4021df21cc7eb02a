/* nolibc.h: what the guest's no-libc helpers (vsock-echo.c, memfill.c) share: raw x86-64
 * system calls, decimal output and parsing, and the entry point. Each helper defines
 *   static const char prog[];            its name, for error lines
 *   static int run(long argc, char **argv);
 * and includes this file once. Built -nostdlib -static (linux-guest/rootfs/build.sh): a few KiB
 * each, so the initramfs (unpacked by the interpreted guest kernel) barely grows. */
#ifndef EMBER_GUEST_NOLIBC_H
#define EMBER_GUEST_NOLIBC_H

#define SYS_read       0
#define SYS_write      1
#define SYS_close      3
#define SYS_mmap       9
#define SYS_munmap     11
#define SYS_socket     41
#define SYS_connect    42
#define SYS_accept     43
#define SYS_shutdown   48
#define SYS_bind       49
#define SYS_listen     50
#define SYS_exit_group 231

static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

static long sys3(long n, long a, long b, long c)
{
	return sys6(n, a, b, c, 0, 0, 0);
}

static unsigned long len(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(SYS_write, 1, (long)s, (long)len(s));
}

static void out_num(unsigned long v)
{
	char b[24];
	int i = sizeof(b) - 1;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out(b + i);
}

/* "<prog>: WHAT failed: errno N", then exit status 1. */
static __attribute__((noreturn)) void die(const char *what, long err)
{
	out(prog);
	out(": ");
	out(what);
	out(" failed: errno ");
	out_num((unsigned long)-err);
	out("\n");
	sys3(SYS_exit_group, 1, 0, 0);
	__builtin_unreachable();
}

/* A decimal number; 0 for anything else (callers reject 0 where it matters). */
static unsigned int num(const char *s)
{
	unsigned int v = 0;
	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned int)(*s++ - '0');
	return v;
}

/* The entry point: the stack holds argc, then argv. */
__attribute__((used, noreturn)) void start_c(long *sp);
__attribute__((used, noreturn)) void start_c(long *sp)
{
	sys3(SYS_exit_group, run(sp[0], (char **)(sp + 1)), 0, 0);
	__builtin_unreachable();
}

__asm__(".globl _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call start_c\n"
	"	hlt\n");

#endif
