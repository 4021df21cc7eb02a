/* lib.c - helpers shared by the freestanding PVH test guests. */
#include "lib.h"

#include <stdarg.h>

spinlock_t print_lock;

/* --- time --- */
void delay_cycles(uint64_t cycles)
{
	uint64_t start = rdtsc();

	while (rdtsc() - start < cycles)
		cpu_relax();
}

/* --- UART output: THRE is always set on an emulated 8250, and every LSR poll would cost a VM
 * exit, so write THR directly. --- */
void uart_putc(char c)
{
	outb(UART_BASE + UART_THR, (uint8_t)c);
}

void puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

void putln(const char *s)
{
	puts(s);
	uart_putc('\n');
}

void put_hex(uint32_t v)
{
	static const char digits[] = "0123456789abcdef";

	puts("0x");
	for (int shift = 28; shift >= 0; shift -= 4)
		uart_putc(digits[(v >> shift) & 0xf]);
}

void put_dec(uint32_t v)
{
	char buf[11];
	int i = 0;

	do {
		buf[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (i)
		uart_putc(buf[--i]);
}

void print(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			uart_putc(*fmt);
			continue;
		}
		switch (*++fmt) {
		case 's':
			puts(va_arg(ap, const char *));
			break;
		case 'c':
			uart_putc((char)va_arg(ap, int));
			break;
		case 'u':
			put_dec(va_arg(ap, uint32_t));
			break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			if (v < 0) {
				uart_putc('-');
				put_dec(-(uint32_t)v);
			} else {
				put_dec((uint32_t)v);
			}
			break;
		}
		case 'x':
			put_hex(va_arg(ap, uint32_t));
			break;
		case '%':
			uart_putc('%');
			break;
		case '\0':
			va_end(ap);
			return;
		default:
			uart_putc('%');
			uart_putc(*fmt);
			break;
		}
	}
	va_end(ap);
}

/* --- leaving --- */
void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void reset(void)
{
	outb(0x64, 0xFE);
	halt_forever();
}

void fail(const char *msg)
{
	puts("FAIL: ");
	putln(msg);
	reset();
}

/* --- IDT --- */
struct idt_gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t zero;
	uint8_t type;
	uint16_t off_hi;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(8)));
static trap_handler_t handlers[256];
extern char isr_stubs[];

void trap_dispatch(struct trap_frame *f);
void trap_dispatch(struct trap_frame *f)
{
	trap_handler_t h = handlers[f->vector & 0xff];

	if (h) {
		h(f);
		return;
	}
	if (f->vector == SPURIOUS_VECTOR)
		return;		  /* LAPIC spurious interrupt: no EOI */
	spin_unlock(&print_lock); /* we're dying anyway: make sure the message gets out */
	print("FAIL: unexpected %s %u (error %x) at eip %x on cpu %u\n",
	      f->vector < 32 ? "exception" : "interrupt", f->vector, f->error, f->eip, lapic_id());
	reset();
}

void idt_set_gate(uint8_t vec, void *entry, uint8_t type)
{
	uint32_t a = (uint32_t)entry;

	idt[vec].off_lo = (uint16_t)a;
	idt[vec].sel = CODE_SEL;
	idt[vec].zero = 0;
	idt[vec].type = type;
	idt[vec].off_hi = (uint16_t)(a >> 16);
}

void set_handler(uint8_t vec, trap_handler_t h)
{
	handlers[vec] = h;
}

void idt_init(void)
{
	struct {
		uint16_t limit;
		uint32_t base;
	} __attribute__((packed)) desc = {sizeof(idt) - 1, (uint32_t)idt};

	for (int v = 0; v < 256; v++)
		idt_set_gate((uint8_t)v, isr_stubs + 16 * v, 0x8E);
	__asm__ volatile("lidt %0" : : "m"(desc));
}

/* --- LAPIC --- */
void lapic_enable(void)
{
	lapic_write(LAPIC_LVT0, 1u << 16); /* masked */
	lapic_write(LAPIC_SVR, 0x100 | SPURIOUS_VECTOR);
}

void lapic_send_ipi(uint32_t dest, uint32_t lo)
{
	lapic_write(LAPIC_ICR_HI, dest << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	/* Delivery status (bit 12) clears at once under KVM's in-kernel LAPIC; bound the poll. */
	for (int i = 0; i < 100 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++)
		cpu_relax();
}

void lapic_timer_oneshot(uint8_t vector, uint32_t ms)
{
	lapic_write(LAPIC_TMR_DCR, 0xA);    /* divide by 128 */
	lapic_write(LAPIC_LVT_TMR, vector); /* one-shot, unmasked */
	/* 1 GHz / 128 = 7812.5 ticks per ms */
	lapic_write(LAPIC_TMR_ICR, ms > 500000 ? 0xFFFFFFFFu : ms * 7812u + ms / 2);
}

void lapic_timer_stop(void)
{
	lapic_write(LAPIC_TMR_ICR, 0);
	lapic_write(LAPIC_LVT_TMR, 1u << 16);
}

void pic_mask_all(void)
{
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);
}

/* --- IOAPIC --- */
uint32_t ioapic_read(uint32_t reg)
{
	mmio_write32(IOAPIC_BASE, reg);
	return mmio_read32(IOAPIC_BASE + 0x10);
}

void ioapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(IOAPIC_BASE, reg);
	mmio_write32(IOAPIC_BASE + 0x10, v);
}

void ioapic_route(uint32_t irq, uint8_t vector, uint32_t dest)
{
	ioapic_write(0x11 + 2 * irq, dest << 24);
	ioapic_write(0x10 + 2 * irq, vector); /* fixed, physical, high, edge, unmasked */
}

/* --- SMP --- */
void spin_lock(spinlock_t *l)
{
	uint32_t v;

	for (;;) {
		v = 1;
		__asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(l->v) : : "memory");
		if (v == 0)
			return;
		while (l->v)
			cpu_relax();
	}
}

void spin_unlock(spinlock_t *l)
{
	__asm__ volatile("movl $0, %0" : "=m"(l->v) : : "memory");
}

__attribute__((weak)) void ap_main(void)
{
	halt_forever();
}

/* --- command line --- */
const char *cmdline(void)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)pvh_start_info;

	if (!si || si->magic != HVM_START_MAGIC || !si->cmdline_paddr || si->cmdline_paddr >> 32)
		return "";
	return (const char *)(uint32_t)si->cmdline_paddr;
}

bool cmdline_has(const char *word)
{
	const char *p = cmdline();
	size_t n = strlen(word);

	while (*p) {
		while (*p == ' ')
			p++;
		size_t len = 0;
		while (p[len] && p[len] != ' ')
			len++;
		if (len == n && memcmp(p, word, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* --- misc (gcc may emit calls to these) --- */
void *memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n--)
		*d++ = (uint8_t)c;
	return dst;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}
