// SPDX-License-Identifier: Apache-2.0
/*
 * 16550A UART model. Register behaviour follows the National/TI PC16550D
 * datasheet; the parts Linux's 8250 driver probes (IER read-back, IIR FIFO
 * bits, loopback MSR mapping, THRE on IER enable) are guest-visible contracts.
 */
#include "devices/legacy/uart8250.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Register offsets from the base port. */
#define REG_RBR_THR 0 /* DLL when LCR.DLAB */
#define REG_IER	    1 /* DLM when LCR.DLAB */
#define REG_IIR_FCR 2 /* IIR on read, FCR on write */
#define REG_LCR	    3
#define REG_MCR	    4
#define REG_LSR	    5
#define REG_MSR	    6
#define REG_SCR	    7

#define IER_RDA	 0x01 /* received data available */
#define IER_THRE 0x02 /* transmitter holding register empty */
#define IER_RLS	 0x04 /* receiver line status */
#define IER_MSI	 0x08 /* modem status */
#define IER_MASK 0x0f

/* IIR interrupt identification, highest priority first. */
#define IIR_RLS	  0x06
#define IIR_RDA	  0x04
#define IIR_THRE  0x02
#define IIR_MSI	  0x00
#define IIR_NONE  0x01 /* bit 0 set: no interrupt pending */
#define IIR_FIFOS 0xc0 /* both bits set while FCR.0 enables the FIFOs */

#define FCR_ENABLE   0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_KEEP     0xc9 /* enable, DMA mode and trigger level: the state FCR keeps */

#define LCR_DLAB 0x80

#define MCR_DTR	 0x01
#define MCR_RTS	 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR	 0x01
#define LSR_OE	 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40

#define MSR_DCTS   0x01
#define MSR_DDSR   0x02
#define MSR_TERI   0x04
#define MSR_DDCD   0x08
#define MSR_CTS	   0x10
#define MSR_DSR	   0x20
#define MSR_RI	   0x40
#define MSR_DCD	   0x80
#define MSR_DELTAS 0x0f
#define MSR_LINES  0xf0

/* Outside loopback the "modem" is always ready: Linux waits for CTS/DSR/DCD. */
#define MSR_DEFAULT (MSR_DCD | MSR_DSR | MSR_CTS)

/* Reset values as Firecracker's serial device presents them: 8N1 at 9600 baud, OUT2 set. */
#define LCR_DEFAULT 0x03
#define MCR_DEFAULT MCR_OUT2
#define DLL_DEFAULT 0x0c

static bool loopback(const struct uart8250 *u)
{
	return u->mcr & MCR_LOOP;
}

/* The modem input lines (MSR bits 4-7) as the current MCR makes them. */
static uint8_t modem_lines(const struct uart8250 *u)
{
	uint8_t m = 0;

	if (!loopback(u))
		return MSR_DEFAULT;
	/* Datasheet loopback wiring: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	if (u->mcr & MCR_RTS)
		m |= MSR_CTS;
	if (u->mcr & MCR_DTR)
		m |= MSR_DSR;
	if (u->mcr & MCR_OUT1)
		m |= MSR_RI;
	if (u->mcr & MCR_OUT2)
		m |= MSR_DCD;
	return m;
}

/* Latches the new line state, accumulating the delta bits a read of MSR clears. */
static void update_msr(struct uart8250 *u)
{
	uint8_t old = u->msr & MSR_LINES, now = modem_lines(u);
	uint8_t changed = old ^ now, delta = u->msr & MSR_DELTAS;

	if (changed & MSR_CTS)
		delta |= MSR_DCTS;
	if (changed & MSR_DSR)
		delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI)) /* trailing edge only */
		delta |= MSR_TERI;
	if (changed & MSR_DCD)
		delta |= MSR_DDCD;
	u->msr = now | delta;
}

/* The highest-priority enabled pending interrupt, as IIR bits 0-3. */
static uint8_t pending_id(const struct uart8250 *u)
{
	if ((u->ier & IER_RLS) && u->overrun)
		return IIR_RLS;
	if ((u->ier & IER_RDA) && u->rx_count)
		return IIR_RDA;
	if ((u->ier & IER_THRE) && u->thr_pending)
		return IIR_THRE;
	if ((u->ier & IER_MSI) && (u->msr & MSR_DELTAS))
		return IIR_MSI;
	return IIR_NONE;
}

/* Drives the IRQ line from the pending state; set_irq only on a level change. */
static void update_irq(struct uart8250 *u)
{
	bool level = pending_id(u) != IIR_NONE;

	if (level == u->irq_level)
		return;
	u->irq_level = level;
	if (u->ops && u->ops->set_irq)
		u->ops->set_irq(u->opaque, level);
}

static bool rx_put(struct uart8250 *u, uint8_t b)
{
	if (u->rx_count == UART8250_FIFO_SIZE)
		return false;
	u->rx[(u->rx_head + u->rx_count) % UART8250_FIFO_SIZE] = b;
	if (++u->rx_count == UART8250_FIFO_SIZE)
		u->rx_wanted = true; /* the host will be refused: tell it when room returns */
	return true;
}

static uint8_t rx_pop(struct uart8250 *u)
{
	uint8_t b = u->rx[u->rx_head];

	u->rx_head = (u->rx_head + 1) % UART8250_FIFO_SIZE;
	u->rx_count--;
	return b;
}

static void rx_clear(struct uart8250 *u)
{
	u->rx_head = 0;
	u->rx_count = 0;
}

static size_t rx_room(const struct uart8250 *u)
{
	/* In loopback the receiver is disconnected from the host. */
	return loopback(u) ? 0 : UART8250_FIFO_SIZE - u->rx_count;
}

/* True (once) when the host was refused input and there is room now. */
static bool take_rx_notify(struct uart8250 *u)
{
	if (!u->rx_wanted || !rx_room(u))
		return false;
	u->rx_wanted = false;
	return u->ops && u->ops->rx_space;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void transmit(struct uart8250 *u, uint8_t b)
{
	if (loopback(u)) {
		/* The byte arrives in our own receiver; a full FIFO loses it (overrun). */
		if (!rx_put(u, b))
			u->overrun = true;
		u->write_count++;
		return;
	}
	if (u->out_fd < 0) {
		u->missed_write_count++;
		return;
	}
	if (u->tx_limited && !tb_reduce(&u->tx_tb, 1, now_ns())) {
		u->rate_limiter_dropped_bytes++;
		return;
	}
	for (;;) {
		ssize_t r = write(u->out_fd, &b, 1);

		if (r == 1) {
			u->write_count++;
			u->flush_count++; /* unbuffered: every byte is flushed as written */
			return;
		}
		if (r < 0 && errno == EINTR)
			continue;
		/* Never block a vCPU on a slow console: drop the byte. */
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			u->error_count++;
		u->missed_write_count++;
		return;
	}
}

static uint8_t reg_read(struct uart8250 *u, unsigned int reg)
{
	uint8_t v = 0;

	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			v = u->dll;
		} else if (u->rx_count) {
			v = rx_pop(u);
			u->read_count++;
		} else {
			u->missed_read_count++;
		}
		break;
	case REG_IER:
		v = (u->lcr & LCR_DLAB) ? u->dlm : u->ier;
		break;
	case REG_IIR_FCR:
		v = pending_id(u);
		/* Reading IIR while it reports THRE acknowledges that interrupt. */
		if (v == IIR_THRE)
			u->thr_pending = false;
		if (u->fcr & FCR_ENABLE)
			v |= IIR_FIFOS;
		break;
	case REG_LCR:
		v = u->lcr;
		break;
	case REG_MCR:
		v = u->mcr;
		break;
	case REG_LSR:
		/* Output is written synchronously, so the transmitter is always empty. */
		v = LSR_THRE | LSR_TEMT;
		if (u->rx_count)
			v |= LSR_DR;
		if (u->overrun)
			v |= LSR_OE;
		u->overrun = false;
		break;
	case REG_MSR:
		v = u->msr;
		u->msr &= MSR_LINES;
		break;
	case REG_SCR:
		v = u->scr;
		break;
	}
	return v;
}

static void reg_write(struct uart8250 *u, unsigned int reg, uint8_t v)
{
	switch (reg) {
	case REG_RBR_THR:
		if (u->lcr & LCR_DLAB) {
			u->dll = v;
			break;
		}
		transmit(u, v);
		/* Writing THR clears THRE, and the byte leaves at once: THR is empty again. */
		u->thr_pending = true;
		break;
	case REG_IER:
		if (u->lcr & LCR_DLAB) {
			u->dlm = v;
			break;
		}
		/* Enabling THRE while THR is empty (always) raises it: Linux relies on this. */
		if ((v & IER_THRE) && !(u->ier & IER_THRE))
			u->thr_pending = true;
		u->ier = v & IER_MASK;
		break;
	case REG_IIR_FCR:
		/* Changing FCR.0 resets the FIFOs; bits 1-2 are only taken with FCR.0 set. */
		if ((v ^ u->fcr) & FCR_ENABLE)
			rx_clear(u);
		if ((v & FCR_ENABLE) && (v & FCR_CLEAR_RX))
			rx_clear(u);
		/* FCR_CLEAR_TX: the transmit FIFO is always empty. */
		u->fcr = (v & FCR_ENABLE) ? (v & FCR_KEEP) : 0;
		break;
	case REG_LCR:
		u->lcr = v;
		break;
	case REG_MCR:
		u->mcr = v & MCR_MASK;
		update_msr(u);
		break;
	case REG_LSR:
	case REG_MSR:
		break; /* read-only here (factory test writes are not modelled) */
	case REG_SCR:
		u->scr = v;
		break;
	}
}

void uart8250_init(struct uart8250 *u, int out_fd, const struct uart8250_ops *ops, void *opaque)
{
	memset(u, 0, sizeof(*u));
	pthread_mutex_init(&u->lock, NULL);
	u->out_fd = out_fd;
	u->ops = ops;
	u->opaque = opaque;
	u->lcr = LCR_DEFAULT;
	u->mcr = MCR_DEFAULT;
	u->dll = DLL_DEFAULT;
	u->msr = MSR_DEFAULT;
}

void uart8250_set_tx_limit(struct uart8250 *u, const struct token_bucket_config *c, uint64_t now)
{
	pthread_mutex_lock(&u->lock);
	tb_init(&u->tx_tb, c, now);
	u->tx_limited = c->size && c->refill_time_ms;
	pthread_mutex_unlock(&u->lock);
}

void uart8250_destroy(struct uart8250 *u)
{
	pthread_mutex_destroy(&u->lock);
}

void uart8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct uart8250 *u = opaque;
	bool notify;

	if (!len)
		return;
	if (offset >= UART8250_NR_REGS) {
		if (!is_write)
			memset(data, 0xff, len);
		return;
	}
	/* Registers are 8 bits wide: a wider access uses its first byte only. */
	if (!is_write && len > 1)
		memset(data + 1, 0, len - 1);

	pthread_mutex_lock(&u->lock);
	if (is_write)
		reg_write(u, (unsigned int)offset, data[0]);
	else
		data[0] = reg_read(u, (unsigned int)offset);
	update_irq(u);
	notify = take_rx_notify(u);
	pthread_mutex_unlock(&u->lock);

	/* Outside the lock: the event loop may push more input from this callback. */
	if (notify)
		u->ops->rx_space(u->opaque);
}

size_t uart8250_rx_push(struct uart8250 *u, const uint8_t *buf, size_t n)
{
	size_t room, i;

	pthread_mutex_lock(&u->lock);
	room = rx_room(u);
	if (n > room) {
		n = room;
		u->rx_wanted = true;
	}
	for (i = 0; i < n; i++)
		rx_put(u, buf[i]);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	return n;
}

size_t uart8250_rx_space(struct uart8250 *u)
{
	size_t room;

	pthread_mutex_lock(&u->lock);
	room = rx_room(u);
	if (!room)
		u->rx_wanted = true;
	pthread_mutex_unlock(&u->lock);
	return room;
}

void uart8250_get_metrics(struct uart8250 *u, struct uart8250_metrics *m)
{
	pthread_mutex_lock(&u->lock);
	m->error_count = u->error_count;
	m->flush_count = u->flush_count;
	m->missed_read_count = u->missed_read_count;
	m->missed_write_count = u->missed_write_count;
	m->read_count = u->read_count;
	m->write_count = u->write_count;
	m->rate_limiter_dropped_bytes = u->rate_limiter_dropped_bytes;
	pthread_mutex_unlock(&u->lock);
}

/*
 * Section "uart", version 1: ier lcr mcr msr scr dll dlm fcr (u8 each),
 * overrun thr_pending irq_level (bool), rx_count (u8), then the receive FIFO's
 * bytes oldest first.
 */
void uart8250_save(struct uart8250 *u, struct state_writer *w)
{
	pthread_mutex_lock(&u->lock);
	state_section_begin(w, "uart", 0);
	sw_u8(w, u->ier);
	sw_u8(w, u->lcr);
	sw_u8(w, u->mcr);
	sw_u8(w, u->msr);
	sw_u8(w, u->scr);
	sw_u8(w, u->dll);
	sw_u8(w, u->dlm);
	sw_u8(w, u->fcr);
	sw_bool(w, u->overrun);
	sw_bool(w, u->thr_pending);
	sw_bool(w, u->irq_level);
	sw_u8(w, (uint8_t)u->rx_count);
	for (unsigned int i = 0; i < u->rx_count; i++)
		sw_u8(w, u->rx[(u->rx_head + i) % UART8250_FIFO_SIZE]);
	state_section_end(w);
	pthread_mutex_unlock(&u->lock);
}

int uart8250_restore(struct uart8250 *u, const struct state_file *f)
{
	uint8_t rx[UART8250_FIFO_SIZE];
	struct state_reader r;
	uint8_t ier, mcr, fcr, n;

	if (state_section_find(f, "uart", 0, &r))
		return -ENOENT;
	ier = sr_u8(&r);
	if (ier & ~IER_MASK)
		sr_fail(&r);
	pthread_mutex_lock(&u->lock);
	u->lcr = sr_u8(&r);
	mcr = sr_u8(&r);
	u->msr = sr_u8(&r);
	u->scr = sr_u8(&r);
	u->dll = sr_u8(&r);
	u->dlm = sr_u8(&r);
	fcr = sr_u8(&r);
	u->overrun = sr_bool(&r);
	u->thr_pending = sr_bool(&r);
	u->irq_level = sr_bool(&r);
	n = sr_u8(&r);
	if (mcr & ~MCR_MASK || fcr & ~FCR_KEEP || n > UART8250_FIFO_SIZE)
		sr_fail(&r);
	else
		sr_bytes(&r, rx, n);
	u->ier = ier & IER_MASK;
	u->mcr = mcr & MCR_MASK;
	u->fcr = fcr & FCR_KEEP;
	rx_clear(u);
	for (unsigned int i = 0; sr_ok(&r) && i < n; i++)
		rx_put(u, rx[i]);
	u->rx_wanted = false;
	pthread_mutex_unlock(&u->lock);
	return sr_ok(&r) ? 0 : -EINVAL;
}
