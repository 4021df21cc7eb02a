// SPDX-License-Identifier: Apache-2.0
/*
 * The legacy devices' snapshot sections without KVM: a model driven into a
 * state (registers, FIFO contents, a pending interrupt, a half-done command)
 * saves, a fresh model restores, and both then behave the same to the guest;
 * a missing or corrupt section is refused.
 */
#include "test.h"

#include "devices/legacy/boot_timer.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/uart8250.h"

#include <errno.h>
#include <stdlib.h>

/* One section holding what @save writes, parsed back into @f (*buf: free it). */
#define SAVE_AND_PARSE(f, buf, save_call)                               \
	do {                                                            \
		char err_[STATE_ERR_MAX];                               \
		struct state_writer w_;                                 \
		size_t len_;                                            \
		state_write_init(&w_);                                  \
		save_call;                                              \
		CHECK_EQ(state_write_finish(&w_, &(buf), &len_), 0);    \
		CHECK_EQ(state_file_parse(&(f), (buf), len_, err_), 0); \
	} while (0)

static uint8_t io(void *dev, void (*fn)(void *, uint64_t, uint8_t *, uint32_t, bool), uint64_t off,
		  int write_val)
{
	uint8_t b = (uint8_t)(write_val < 0 ? 0 : write_val);

	fn(dev, off, &b, 1, write_val >= 0);
	return b;
}

static int irq_level;
static void set_irq(void *opaque, int level)
{
	(void)opaque;
	irq_level = level;
}

static const struct uart8250_ops uart_ops = {.set_irq = set_irq};

TEST(uart_round_trip)
{
	struct uart8250 a, b;
	struct state_file f;
	uint8_t *buf;

	uart8250_init(&a, -1, &uart_ops, NULL);
	io(&a, uart8250_io, 3, 0x80); /* DLAB: divisor 0x0201 */
	io(&a, uart8250_io, 0, 0x01);
	io(&a, uart8250_io, 1, 0x02);
	io(&a, uart8250_io, 3, 0x1b); /* 8E1, DLAB off */
	io(&a, uart8250_io, 2, 0xc7); /* FIFOs on, trigger 14 */
	io(&a, uart8250_io, 7, 0x5a); /* scratch */
	io(&a, uart8250_io, 1, 0x01); /* RDA interrupt on */
	CHECK_EQ(uart8250_rx_push(&a, (const uint8_t *)"hello", 5), 5);
	CHECK_EQ(io(&a, uart8250_io, 0, -1), 'h'); /* the FIFO's head moves off 0 */
	CHECK_EQ(irq_level, 1);
	SAVE_AND_PARSE(f, buf, uart8250_save(&a, &w_));

	irq_level = 0;
	uart8250_init(&b, -1, &uart_ops, NULL);
	CHECK_EQ(uart8250_restore(&b, &f), 0);
	CHECK_EQ(irq_level, 0); /* the line is the irqchip's: not driven on restore */
	CHECK(b.irq_level);
	CHECK_EQ(io(&b, uart8250_io, 3, -1), 0x1b);
	CHECK_EQ(io(&b, uart8250_io, 7, -1), 0x5a);
	CHECK_EQ(io(&b, uart8250_io, 2, -1), 0xc4); /* FIFOs on, RDA pending */
	io(&b, uart8250_io, 3, 0x9b);
	CHECK_EQ(io(&b, uart8250_io, 0, -1), 0x01);
	CHECK_EQ(io(&b, uart8250_io, 1, -1), 0x02);
	io(&b, uart8250_io, 3, 0x1b);
	for (const char *p = "ello"; *p; p++)
		CHECK_EQ(io(&b, uart8250_io, 0, -1), *p);
	CHECK_EQ(io(&b, uart8250_io, 5, -1) & 1, 0); /* FIFO empty */
	CHECK_EQ(uart8250_rx_space(&b), UART8250_FIFO_SIZE);
	state_file_free(&f);
	free(buf);
	uart8250_destroy(&a);
	uart8250_destroy(&b);
}

TEST(uart_refuses_bad_sections)
{
	struct uart8250 u;
	struct state_file f;
	uint8_t *buf;

	uart8250_init(&u, -1, NULL, NULL);
	/* No section at all. */
	SAVE_AND_PARSE(f, buf, (state_section_begin(&w_, "other", 0), state_section_end(&w_)));
	CHECK_EQ(uart8250_restore(&u, &f), -ENOENT);
	state_file_free(&f);
	free(buf);
	/* A FIFO count past its size. */
	SAVE_AND_PARSE(f, buf,
		       (state_section_begin(&w_, "uart", 0), sw_bytes(&w_, "\0\0\0\0\0\0\0\0", 8),
			sw_bytes(&w_, "\0\0\0", 3), sw_u8(&w_, 65), state_section_end(&w_)));
	CHECK_EQ(uart8250_restore(&u, &f), -EINVAL);
	state_file_free(&f);
	free(buf);
	/* Truncated: the FIFO's bytes are missing. */
	SAVE_AND_PARSE(f, buf,
		       (state_section_begin(&w_, "uart", 0), sw_bytes(&w_, "\0\0\0\0\0\0\0\0", 8),
			sw_bytes(&w_, "\0\0\0", 3), sw_u8(&w_, 4), state_section_end(&w_)));
	CHECK_EQ(uart8250_restore(&u, &f), -EINVAL);
	state_file_free(&f);
	free(buf);
	uart8250_destroy(&u);
}

TEST(i8042_round_trip)
{
	struct i8042 a, b;
	struct state_file f;
	uint8_t *buf;

	i8042_init(&a, NULL, NULL);
	io(&a, i8042_io, 4, 0x60); /* write CTR: the next data byte */
	io(&a, i8042_io, 0, 0x45);
	io(&a, i8042_io, 0, 0xf2); /* keyboard: get id -> fa ab 83 */
	io(&a, i8042_io, 0, 0xed); /* keyboard: set LEDs, waiting for its parameter */
	CHECK_EQ(io(&a, i8042_io, 0, -1), 0xfa);
	SAVE_AND_PARSE(f, buf, i8042_save(&a, &w_));

	i8042_init(&b, NULL, NULL);
	CHECK_EQ(i8042_restore(&b, &f), 0);
	CHECK_EQ(io(&b, i8042_io, 4, -1) & 0x09, 0x01); /* OBF, last write was data */
	CHECK_EQ(io(&b, i8042_io, 0, -1), 0xab);
	CHECK_EQ(io(&b, i8042_io, 0, -1), 0x83);
	CHECK_EQ(io(&b, i8042_io, 0, -1), 0xfa); /* the ack of 0xed */
	io(&b, i8042_io, 0, 0x07);		 /* the LEDs' parameter: acked */
	CHECK_EQ(io(&b, i8042_io, 0, -1), 0xfa);
	io(&b, i8042_io, 4, 0x20); /* read CTR */
	CHECK_EQ(io(&b, i8042_io, 0, -1), 0x45);
	state_file_free(&f);
	free(buf);

	SAVE_AND_PARSE(f, buf,
		       (state_section_begin(&w_, "i8042", 0), sw_bytes(&w_, "\0\0\0\0\0\0\0", 7),
			sw_u8(&w_, 17), state_section_end(&w_)));
	CHECK_EQ(i8042_restore(&b, &f), -EINVAL);
	state_file_free(&f);
	free(buf);
	i8042_destroy(&a);
	i8042_destroy(&b);
}

TEST(boot_timer_round_trip)
{
	struct timespec t0 = {0, 0};
	struct boot_timer a, b;
	struct state_file f;
	long long us, cpu;
	uint8_t *buf;

	boot_timer_init(&a, &t0, &t0);
	a.measured = true;
	a.boot_time_us = 1234;
	a.boot_time_cpu_us = 56;
	SAVE_AND_PARSE(f, buf, boot_timer_save(&a, &w_));
	boot_timer_init(&b, &t0, &t0);
	CHECK_EQ(boot_timer_restore(&b, &f), 0);
	CHECK(boot_timer_get(&b, &us, &cpu));
	CHECK_EQ(us, 1234);
	CHECK_EQ(cpu, 56);
	state_file_free(&f);
	free(buf);
	SAVE_AND_PARSE(
	    f, buf,
	    (state_section_begin(&w_, "boot_timer", 0), sw_u8(&w_, 2), state_section_end(&w_)));
	CHECK_EQ(boot_timer_restore(&b, &f), -EINVAL);
	state_file_free(&f);
	free(buf);
	boot_timer_destroy(&a);
	boot_timer_destroy(&b);
}

TEST_MAIN(TEST_ENTRY(uart_round_trip), TEST_ENTRY(uart_refuses_bad_sections),
	  TEST_ENTRY(i8042_round_trip), TEST_ENTRY(boot_timer_round_trip))
