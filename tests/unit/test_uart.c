// SPDX-License-Identifier: Apache-2.0
/* The 16550A model without KVM: a pipe for guest output, fake irq/rx_space callbacks. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include "devices/legacy/uart8250.h"

#define THR 0
#define RBR 0
#define DLL 0
#define IER 1
#define DLM 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fake {
	int level;
	int calls;	/* set_irq calls */
	int levels[64]; /* the first levels given */
	int rx_space_calls;
};

static void fake_set_irq(void *opaque, int level)
{
	struct fake *f = opaque;

	if (f->calls < 64)
		f->levels[f->calls] = level;
	f->calls++;
	f->level = level;
}

static void fake_rx_space(void *opaque)
{
	struct fake *f = opaque;

	f->rx_space_calls++;
}

static const struct uart8250_ops fake_ops = {
    .set_irq = fake_set_irq,
    .rx_space = fake_rx_space,
};

struct fixture {
	struct uart8250 u;
	struct fake f;
	int fds[2]; /* [0] the test reads guest output, [1] out_fd */
};

static void setup(struct fixture *x)
{
	memset(x, 0, sizeof(*x));
	if (pipe2(x->fds, O_NONBLOCK | O_CLOEXEC))
		FAIL_AT("pipe2: %s", strerror(errno));
	uart8250_init(&x->u, x->fds[1], &fake_ops, &x->f);
}

static void teardown(struct fixture *x)
{
	uart8250_destroy(&x->u);
	close(x->fds[0]);
	close(x->fds[1]);
}

static uint8_t rd(struct uart8250 *u, unsigned int reg)
{
	uint8_t v = 0;

	uart8250_io(u, reg, &v, 1, false);
	return v;
}

static void wr(struct uart8250 *u, unsigned int reg, uint8_t v)
{
	uart8250_io(u, reg, &v, 1, true);
}

/* Guest output that reached the pipe, NUL-terminated. */
static ssize_t drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);

	buf[n > 0 ? n : 0] = '\0';
	return n;
}

TEST(reset_values)
{
	struct fixture x;

	setup(&x);
	CHECK_EQ(rd(&x.u, IER), 0x00);
	CHECK_EQ(rd(&x.u, IIR), 0x01);
	CHECK_EQ(rd(&x.u, LCR), 0x03);
	CHECK_EQ(rd(&x.u, MCR), 0x08);
	CHECK_EQ(rd(&x.u, LSR), 0x60);
	CHECK_EQ(rd(&x.u, MSR), 0xb0); /* DCD|DSR|CTS: Linux waits for them */
	CHECK_EQ(rd(&x.u, SCR), 0x00);
	CHECK_EQ(x.f.calls, 0);
	teardown(&x);
}

TEST(output_reaches_fd)
{
	struct fixture x;
	char buf[64];

	setup(&x);
	for (const char *p = "hello\n"; *p; p++)
		wr(&x.u, THR, (uint8_t)*p);
	CHECK_EQ(drain(x.fds[0], buf, sizeof(buf)), 6);
	CHECK_STR(buf, "hello\n");
	CHECK_EQ(x.u.write_count, 6);
	CHECK_EQ(x.u.flush_count, 6);
	CHECK_EQ(x.u.missed_write_count, 0);
	CHECK_EQ(x.f.calls, 0); /* THRE not enabled: no interrupt */
	teardown(&x);
}

TEST(output_full_pipe_drops_and_counts)
{
	struct fixture x;
	char junk[4096];

	setup(&x);
	memset(junk, 'j', sizeof(junk));
	fcntl(x.fds[1], F_SETPIPE_SZ, 4096);
	while (write(x.fds[1], junk, sizeof(junk)) > 0)
		;
	CHECK_EQ(errno, EAGAIN);
	wr(&x.u, THR, 'a');
	wr(&x.u, THR, 'b');
	CHECK_EQ(x.u.missed_write_count, 2);
	CHECK_EQ(x.u.write_count, 0);
	CHECK_EQ(x.u.error_count, 0); /* EAGAIN is back-pressure, not an error */
	teardown(&x);
}

TEST(output_error_counts)
{
	struct fixture x;
	struct uart8250_metrics m;

	setup(&x);
	x.u.out_fd = x.fds[0]; /* the read end: write() fails with EBADF */
	wr(&x.u, THR, 'a');
	uart8250_get_metrics(&x.u, &m);
	CHECK_EQ(m.error_count, 1);
	CHECK_EQ(m.missed_write_count, 1);
	CHECK_EQ(m.write_count, 0);
	teardown(&x);
}

TEST(thre_irq_on_enable_cleared_by_iir)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, IER, 0x02);
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IER), 0x02);
	CHECK_EQ(rd(&x.u, IIR), 0x02); /* reading it acknowledges it */
	CHECK_EQ(x.f.level, 0);
	CHECK_EQ(rd(&x.u, IIR), 0x01);
	/* Re-writing IER with THRE still set raises nothing new. */
	wr(&x.u, IER, 0x02);
	CHECK_EQ(x.f.level, 0);
	/* Linux's THRE probe: IER=0 then IER=THRE must raise it again. */
	wr(&x.u, IER, 0x00);
	wr(&x.u, IER, 0x02);
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IIR), 0x02);
	CHECK_EQ(x.f.calls, 4);
	teardown(&x);
}

TEST(thre_after_each_thr_write)
{
	struct fixture x;
	char buf[8];

	setup(&x);
	wr(&x.u, IER, 0x02);
	CHECK_EQ(rd(&x.u, IIR), 0x02);
	CHECK_EQ(x.f.level, 0);
	wr(&x.u, THR, 'x');
	CHECK_EQ(x.f.level, 1);
	/* A second write while pending keeps the line up without another call. */
	wr(&x.u, THR, 'y');
	CHECK_EQ(x.f.calls, 3);
	CHECK_EQ(rd(&x.u, IIR), 0x02);
	CHECK_EQ(x.f.level, 0);
	/* Masking THRE drops the line even while the condition is pending. */
	wr(&x.u, THR, 'z');
	CHECK_EQ(x.f.level, 1);
	wr(&x.u, IER, 0x00);
	CHECK_EQ(x.f.level, 0);
	CHECK_EQ(drain(x.fds[0], buf, sizeof(buf)), 3);
	CHECK_STR(buf, "xyz");
	teardown(&x);
}

TEST(rda_irq_until_fifo_drained)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, FCR, 0x01);
	CHECK_EQ(rd(&x.u, IIR), 0xc1);
	wr(&x.u, IER, 0x01);
	CHECK_EQ(x.f.calls, 0);
	CHECK_EQ(uart8250_rx_push(&x.u, (const uint8_t *)"ab", 2), 2);
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IIR), 0xc4);
	CHECK_EQ(rd(&x.u, IIR), 0xc4); /* reading IIR does not clear RDA */
	CHECK_EQ(rd(&x.u, RBR), 'a');
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, RBR), 'b');
	CHECK_EQ(x.f.level, 0);
	CHECK_EQ(rd(&x.u, IIR), 0xc1);
	CHECK_EQ(x.u.read_count, 2);
	CHECK_EQ(x.f.calls, 2);
	teardown(&x);
}

TEST(rda_without_fifo_enabled)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, IER, 0x01);
	uart8250_rx_push(&x.u, (const uint8_t *)"q", 1);
	CHECK_EQ(rd(&x.u, IIR), 0x04);
	CHECK_EQ(rd(&x.u, RBR), 'q');
	CHECK_EQ(rd(&x.u, IIR), 0x01);
	teardown(&x);
}

TEST(rda_enabled_after_data_arrived)
{
	struct fixture x;

	setup(&x);
	uart8250_rx_push(&x.u, (const uint8_t *)"q", 1);
	CHECK_EQ(x.f.calls, 0);
	wr(&x.u, IER, 0x01);
	CHECK_EQ(x.f.level, 1);
	teardown(&x);
}

TEST(priority_rls_rda_thre_msi)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, FCR, 0x01);
	/* Loopback: fill the FIFO and overrun it; MCR changes give MSR deltas too. */
	wr(&x.u, MCR, 0x10);
	for (int i = 0; i < UART8250_FIFO_SIZE + 1; i++)
		wr(&x.u, THR, (uint8_t)i);
	rd(&x.u, MSR); /* drop the deltas from entering loopback */
	wr(&x.u, MCR, 0x13);
	wr(&x.u, IER, 0x0f);
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IIR), 0xc6); /* receiver line status first */
	CHECK_EQ(rd(&x.u, LSR) & 0x02, 0x02);
	CHECK_EQ(rd(&x.u, IIR), 0xc4); /* then received data */
	for (int i = 0; i < UART8250_FIFO_SIZE; i++)
		CHECK_EQ(rd(&x.u, RBR), i);
	CHECK_EQ(rd(&x.u, IIR), 0xc2); /* then THR empty, acknowledged by this read */
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IIR), 0xc0);	      /* then modem status */
	CHECK_EQ(rd(&x.u, MSR) & 0x0f, 0x03); /* DCTS|DDSR from RTS/DTR going up */
	CHECK_EQ(rd(&x.u, IIR), 0xc1);
	CHECK_EQ(x.f.level, 0);
	teardown(&x);
}

TEST(priority_rda_over_thre)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, IER, 0x03);
	uart8250_rx_push(&x.u, (const uint8_t *)"k", 1);
	CHECK_EQ(rd(&x.u, IIR), 0x04);
	CHECK_EQ(rd(&x.u, IIR), 0x04); /* THRE stays pending behind RDA */
	CHECK_EQ(rd(&x.u, RBR), 'k');
	CHECK_EQ(x.f.level, 1);
	CHECK_EQ(rd(&x.u, IIR), 0x02);
	CHECK_EQ(x.f.level, 0);
	CHECK_EQ(x.f.calls, 2);
	teardown(&x);
}

TEST(lsr_bits)
{
	struct fixture x;

	setup(&x);
	CHECK_EQ(rd(&x.u, LSR), 0x60); /* THRE|TEMT: output is synchronous */
	uart8250_rx_push(&x.u, (const uint8_t *)"z", 1);
	CHECK_EQ(rd(&x.u, LSR), 0x61);
	CHECK_EQ(rd(&x.u, LSR), 0x61); /* DR is not cleared by reading LSR */
	wr(&x.u, THR, 'o');
	CHECK_EQ(rd(&x.u, LSR), 0x61);
	CHECK_EQ(rd(&x.u, RBR), 'z');
	CHECK_EQ(rd(&x.u, LSR), 0x60);
	/* An empty RBR read is counted, returns 0. */
	CHECK_EQ(rd(&x.u, RBR), 0);
	CHECK_EQ(x.u.missed_read_count, 1);
	teardown(&x);
}

TEST(dlab_switches_to_divisor)
{
	struct fixture x;
	char buf[8];

	setup(&x);
	wr(&x.u, IER, 0x05);
	wr(&x.u, LCR, 0x83);
	CHECK_EQ(rd(&x.u, DLL), 0x0c); /* 9600 baud at reset */
	CHECK_EQ(rd(&x.u, DLM), 0x00);
	wr(&x.u, DLL, 0x01);
	wr(&x.u, DLM, 0x02);
	CHECK_EQ(rd(&x.u, DLL), 0x01);
	CHECK_EQ(rd(&x.u, DLM), 0x02);
	CHECK_EQ(rd(&x.u, LCR), 0x83);
	CHECK_EQ(read(x.fds[0], buf, sizeof(buf)), -1); /* the DLL write was not output */
	wr(&x.u, LCR, 0x03);
	CHECK_EQ(rd(&x.u, IER), 0x05);
	wr(&x.u, THR, '!');
	CHECK_EQ(drain(x.fds[0], buf, sizeof(buf)), 1);
	CHECK_STR(buf, "!");
	wr(&x.u, LCR, 0x80);
	CHECK_EQ(rd(&x.u, DLL), 0x01);
	CHECK_EQ(rd(&x.u, DLM), 0x02);
	teardown(&x);
}

TEST(scratch_and_ier_mask)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, SCR, 0x5a);
	CHECK_EQ(rd(&x.u, SCR), 0x5a);
	wr(&x.u, SCR, 0xa5);
	CHECK_EQ(rd(&x.u, SCR), 0xa5);
	/* Linux's probe writes 0x0f to IER and reads it back; bits 4-7 are not there. */
	wr(&x.u, IER, 0xff);
	CHECK_EQ(rd(&x.u, IER), 0x0f);
	wr(&x.u, IER, 0x00);
	CHECK_EQ(rd(&x.u, IER), 0x00);
	CHECK_EQ(x.f.level, 0);
	teardown(&x);
}

TEST(fifo_full_and_rx_space)
{
	struct fixture x;
	uint8_t in[100];

	setup(&x);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;
	CHECK_EQ(uart8250_rx_space(&x.u), 64);
	CHECK_EQ(uart8250_rx_push(&x.u, in, sizeof(in)), 64);
	CHECK_EQ(uart8250_rx_push(&x.u, in + 64, 36), 0);
	CHECK_EQ(uart8250_rx_space(&x.u), 0);
	CHECK_EQ(x.f.rx_space_calls, 0);
	CHECK_EQ(rd(&x.u, RBR), 0);
	CHECK_EQ(x.f.rx_space_calls, 1);
	CHECK_EQ(uart8250_rx_space(&x.u), 1);
	/* Further reads do not repeat the notification. */
	CHECK_EQ(rd(&x.u, RBR), 1);
	CHECK_EQ(x.f.rx_space_calls, 1);
	CHECK_EQ(uart8250_rx_push(&x.u, in + 64, 36), 2);
	for (int i = 2; i < 66; i++)
		CHECK_EQ(rd(&x.u, RBR), i);
	CHECK_EQ(x.f.rx_space_calls, 2);
	CHECK_EQ(rd(&x.u, LSR) & 0x03, 0); /* no data, and no overrun: nothing was lost */
	teardown(&x);
}

TEST(fifo_exactly_full_notifies)
{
	struct fixture x;
	uint8_t in[64] = {0};

	setup(&x);
	CHECK_EQ(uart8250_rx_push(&x.u, in, sizeof(in)), 64);
	rd(&x.u, RBR);
	CHECK_EQ(x.f.rx_space_calls, 1);
	teardown(&x);
}

TEST(fcr_clears_fifo)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, FCR, 0x01);
	wr(&x.u, IER, 0x01);
	uart8250_rx_push(&x.u, (const uint8_t *)"abc", 3);
	CHECK_EQ(x.f.level, 1);
	wr(&x.u, FCR, 0x07);
	CHECK_EQ(x.f.level, 0);
	CHECK_EQ(rd(&x.u, LSR), 0x60);
	CHECK_EQ(rd(&x.u, IIR), 0xc1);
	/* Rewriting FCR.0 unchanged keeps the data ... */
	uart8250_rx_push(&x.u, (const uint8_t *)"abc", 3);
	wr(&x.u, FCR, 0x01);
	CHECK_EQ(rd(&x.u, RBR), 'a');
	/* ... turning the FIFOs off resets them, and IIR loses 0xc0 ... */
	wr(&x.u, FCR, 0x00);
	CHECK_EQ(rd(&x.u, LSR), 0x60);
	CHECK_EQ(rd(&x.u, IIR), 0x01);
	/* ... and with FCR.0 clear the clear bits are not taken. */
	uart8250_rx_push(&x.u, (const uint8_t *)"xy", 2);
	wr(&x.u, FCR, 0x06);
	CHECK_EQ(rd(&x.u, RBR), 'x');
	CHECK_EQ(rd(&x.u, IIR), 0x04);
	teardown(&x);
}

TEST(loopback)
{
	struct fixture x;
	char buf[8];

	setup(&x);
	wr(&x.u, MCR, 0x10);
	wr(&x.u, THR, 'L');
	CHECK_EQ(read(x.fds[0], buf, sizeof(buf)), -1); /* nothing left the UART */
	CHECK_EQ(rd(&x.u, LSR), 0x61);
	CHECK_EQ(rd(&x.u, RBR), 'L');
	/* Linux's probe: MCR = LOOP|OUT2|RTS must read back as DCD|CTS. */
	wr(&x.u, MCR, 0x1a);
	CHECK_EQ(rd(&x.u, MSR) & 0xf0, 0x90);
	wr(&x.u, MCR, 0x10);
	CHECK_EQ(rd(&x.u, MSR), 0x09); /* lines down: DDCD|DCTS deltas */
	CHECK_EQ(rd(&x.u, MSR), 0x00); /* deltas cleared by the read */
	wr(&x.u, MCR, 0x15);	       /* OUT1 -> RI, DTR -> DSR */
	CHECK_EQ(rd(&x.u, MSR), 0x62);
	wr(&x.u, MCR, 0x10);
	CHECK_EQ(rd(&x.u, MSR), 0x06); /* RI trailing edge: TERI */
	/* The host is disconnected in loopback, and is told when that ends. */
	CHECK_EQ(uart8250_rx_push(&x.u, (const uint8_t *)"h", 1), 0);
	CHECK_EQ(uart8250_rx_space(&x.u), 0);
	CHECK_EQ(x.f.rx_space_calls, 0);
	wr(&x.u, MCR, 0x08);
	CHECK_EQ(x.f.rx_space_calls, 1);
	CHECK_EQ(rd(&x.u, MSR), 0xbb); /* back to DCD|DSR|CTS */
	CHECK_EQ(uart8250_rx_push(&x.u, (const uint8_t *)"h", 1), 1);
	CHECK_EQ(x.u.write_count, 1);
	teardown(&x);
}

TEST(overrun_sets_oe)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, MCR, 0x10);
	for (int i = 0; i < UART8250_FIFO_SIZE; i++)
		wr(&x.u, THR, 'a');
	CHECK_EQ(rd(&x.u, LSR), 0x61);
	wr(&x.u, THR, 'b'); /* no room: lost */
	CHECK_EQ(rd(&x.u, LSR), 0x63);
	CHECK_EQ(rd(&x.u, LSR), 0x61); /* OE cleared by the read */
	for (int i = 0; i < UART8250_FIFO_SIZE; i++)
		CHECK_EQ(rd(&x.u, RBR), 'a');
	CHECK_EQ(rd(&x.u, LSR), 0x60);
	teardown(&x);
}

TEST(irq_only_on_level_change)
{
	struct fixture x;

	setup(&x);
	wr(&x.u, IER, 0x01);
	for (int i = 0; i < 10; i++)
		uart8250_rx_push(&x.u, (const uint8_t *)"x", 1);
	for (int i = 0; i < 5; i++)
		rd(&x.u, LSR);
	CHECK_EQ(x.f.calls, 1);
	for (int i = 0; i < 10; i++)
		rd(&x.u, RBR);
	CHECK_EQ(x.f.calls, 2);
	wr(&x.u, IER, 0x03);
	wr(&x.u, THR, '.');
	wr(&x.u, THR, '.');
	CHECK_EQ(x.f.calls, 3);
	rd(&x.u, IIR);
	CHECK_EQ(x.f.calls, 4);
	for (int i = 0; i < x.f.calls; i++)
		CHECK_EQ(x.f.levels[i], (i + 1) % 2); /* strictly alternating, from 1 */
	teardown(&x);
}

TEST(wide_and_out_of_range_access)
{
	struct fixture x;
	uint8_t d[4];

	setup(&x);
	memset(d, 0xee, sizeof(d));
	uart8250_io(&x.u, LSR, d, 4, false);
	CHECK_EQ(d[0], 0x60);
	CHECK_EQ(d[1] | d[2] | d[3], 0);
	memset(d, 0, sizeof(d));
	uart8250_io(&x.u, 8, d, 2, false);
	CHECK_EQ(d[0], 0xff);
	CHECK_EQ(d[1], 0xff);
	d[0] = 0x77;
	d[1] = 0x11;
	uart8250_io(&x.u, SCR, d, 2, true);
	CHECK_EQ(rd(&x.u, SCR), 0x77);
	uart8250_io(&x.u, 9, d, 1, true); /* ignored */
	CHECK_EQ(x.f.calls, 0);
	teardown(&x);
}

TEST(null_ops)
{
	struct uart8250 u;

	uart8250_init(&u, -1, NULL, NULL);
	wr(&u, IER, 0x03);
	wr(&u, THR, 'a'); /* no output fd: counted */
	CHECK_EQ(u.missed_write_count, 1);
	CHECK_EQ(uart8250_rx_push(&u, (const uint8_t *)"b", 1), 1);
	CHECK_EQ(rd(&u, IIR), 0x04);
	CHECK_EQ(rd(&u, RBR), 'b');
	uart8250_destroy(&u);
}

/* The event loop pushes host input while a vCPU thread reads it. */
#define STRESS_BYTES 20000

static void *stress_reader(void *arg)
{
	struct uart8250 *u = arg;
	unsigned int expect = 0;

	while (expect < STRESS_BYTES) {
		if (!(rd(u, LSR) & 0x01)) {
			sched_yield();
			continue;
		}
		if (rd(u, RBR) != (uint8_t)expect)
			return (void *)1;
		expect++;
	}
	return NULL;
}

TEST(concurrent_push_and_read)
{
	struct fixture x;
	pthread_t th;
	unsigned int sent = 0;
	void *ret;

	setup(&x);
	wr(&x.u, IER, 0x01);
	CHECK_EQ(pthread_create(&th, NULL, stress_reader, &x.u), 0);
	while (sent < STRESS_BYTES) {
		uint8_t chunk[16];
		size_t n = 0;

		while (n < sizeof(chunk) && sent + n < STRESS_BYTES) {
			chunk[n] = (uint8_t)(sent + n);
			n++;
		}
		n = uart8250_rx_push(&x.u, chunk, n);
		if (!n)
			sched_yield();
		sent += (unsigned int)n;
	}
	pthread_join(th, &ret);
	CHECK(ret == NULL);
	CHECK_EQ(x.u.read_count, STRESS_BYTES);
	CHECK_EQ(x.f.level, 0);
	teardown(&x);
}

TEST_MAIN(TEST_ENTRY(reset_values), TEST_ENTRY(output_reaches_fd),
	  TEST_ENTRY(output_full_pipe_drops_and_counts), TEST_ENTRY(output_error_counts),
	  TEST_ENTRY(thre_irq_on_enable_cleared_by_iir), TEST_ENTRY(thre_after_each_thr_write),
	  TEST_ENTRY(rda_irq_until_fifo_drained), TEST_ENTRY(rda_without_fifo_enabled),
	  TEST_ENTRY(rda_enabled_after_data_arrived), TEST_ENTRY(priority_rls_rda_thre_msi),
	  TEST_ENTRY(priority_rda_over_thre), TEST_ENTRY(lsr_bits),
	  TEST_ENTRY(dlab_switches_to_divisor), TEST_ENTRY(scratch_and_ier_mask),
	  TEST_ENTRY(fifo_full_and_rx_space), TEST_ENTRY(fifo_exactly_full_notifies),
	  TEST_ENTRY(fcr_clears_fifo), TEST_ENTRY(loopback), TEST_ENTRY(overrun_sets_oe),
	  TEST_ENTRY(irq_only_on_level_change), TEST_ENTRY(wide_and_out_of_range_access),
	  TEST_ENTRY(null_ops), TEST_ENTRY(concurrent_push_and_read))
