/*
 * uart_rx: receive a line on the 8250 through its interrupt: IRQ 4 -> IOAPIC pin 4 -> vector
 * 0x24 on the BSP. The test pipes "ping\n" into the VMM's stdin, possibly before we get here:
 * the UART keeps the bytes and raises the interrupt once IER enables it, so everything else is
 * set up first and IER is written last (with interrupts still off; the LAPIC holds the vector
 * pending until sti).
 *
 * FCR is left alone on purpose: a 16550 (and QEMU's model) clears its FIFOs when the FIFO
 * enable bit changes, which would throw away bytes that arrived before we got here.
 */
#include "lib.h"

#define UART_IRQ    4
#define VEC_UART    0x24
#define VEC_TIMEOUT 0x41
#define TIMEOUT_MS  10000

static char line[80];
static volatile uint32_t line_len;
static volatile uint32_t got_newline;
static volatile uint32_t irqs;
static volatile uint32_t timed_out;

static void uart_irq(struct trap_frame *f)
{
	(void)f;
	irqs = irqs + 1;
	/* Drain what's there (bounded: each LSR/RBR access is a VM exit). */
	for (int i = 0; i < 64 && (inb(UART_BASE + UART_LSR) & UART_LSR_DR); i++) {
		char c = (char)inb(UART_BASE + UART_RBR);

		if (line_len < sizeof(line) - 1)
			line[line_len++] = c;
		if (c == '\n')
			got_newline = 1;
	}
	lapic_eoi();
}

static void timeout_irq(struct trap_frame *f)
{
	(void)f;
	timed_out = 1;
	lapic_eoi();
}

int main(void);
int main(void)
{
	uint32_t bsp = lapic_id();

	idt_init();
	set_handler(VEC_UART, uart_irq);
	set_handler(VEC_TIMEOUT, timeout_irq);
	lapic_enable();
	ioapic_route(UART_IRQ, VEC_UART, bsp); /* fixed, physical, edge, active high, unmasked */
	outb(UART_BASE + UART_IER, 0x01);      /* received data available */
	putln("waiting for a line on the UART");

	lapic_timer_oneshot(VEC_TIMEOUT, TIMEOUT_MS);
	for (;;) {
		cli();
		if (got_newline || timed_out)
			break;
		sti_hlt();
	}
	lapic_timer_stop();
	outb(UART_BASE + UART_IER, 0);

	/* Strip the line ending; echo what came in. */
	uint32_t n = line_len;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	line[n] = '\0';
	print("got: %s\n(%u bytes, %u interrupts)\n", line, line_len, irqs);
	if (!got_newline)
		fail("timeout waiting for a line on the UART");
	/* The line goes on the SUCCESS line too, so one regex checks both: "^SUCCESS: ping$". */
	print("SUCCESS: %s\n", line);
	reset();
}
