/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A 16550A-compatible UART (8 registers, DLAB-banked divisor latch, 64-byte
 * receive FIFO). Guest output is written synchronously to a host fd, so the
 * transmitter is always empty. Host input is pushed in by the event loop with
 * uart8250_rx_push(); when the FIFO fills up the event loop stops reading and
 * resumes on the rx_space callback. The receive FIFO holds 64 bytes even while
 * the guest runs with FIFOs disabled (16450 mode), as Firecracker's does, so
 * host input is never overrun; FCR.0 only changes IIR bits 6-7 and clearing.
 *
 * Thread model: uart8250_io() runs on vCPU threads, rx_push()/rx_space() on
 * the event loop; all state is under the device's mutex. set_irq is called
 * with the mutex held (it must not call back into the device); rx_space is
 * called without it.
 */
#ifndef EMBER_DEVICES_LEGACY_UART8250_H
#define EMBER_DEVICES_LEGACY_UART8250_H

#include "core/state.h"

#include "util/rate_limiter.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART8250_NR_REGS   8 /* the bus range length */
#define UART8250_FIFO_SIZE 64

struct uart8250_ops {
	void (*set_irq)(void *opaque, int level); /* level 1 = assert, 0 = deassert */
	void (*rx_space)(void *opaque);		  /* optional: rx FIFO got room again */
};

struct uart8250_metrics {
	uint64_t error_count;		     /* out_fd write errors other than EAGAIN */
	uint64_t flush_count;		     /* bytes written (and so flushed) to out_fd */
	uint64_t missed_read_count;	     /* guest RBR reads with an empty FIFO */
	uint64_t missed_write_count;	     /* guest output bytes dropped (out_fd error/full) */
	uint64_t read_count;		     /* bytes the guest read from RBR */
	uint64_t write_count;		     /* guest THR bytes delivered (out_fd or loopback) */
	uint64_t rate_limiter_dropped_bytes; /* guest output over the rate limit (PUT /serial) */
};

struct uart8250 {
	pthread_mutex_t lock;
	int out_fd; /* -1: output is discarded (counted as missed) */
	const struct uart8250_ops *ops;
	void *opaque;

	uint8_t ier; /* bits 0-3 only */
	uint8_t lcr;
	uint8_t mcr; /* bits 0-4 only */
	uint8_t msr; /* bits 4-7 line state, bits 0-3 deltas since the last MSR read */
	uint8_t scr;
	uint8_t dll, dlm;
	uint8_t fcr;	  /* last FCR write; bit 0 = FIFOs enabled */
	bool overrun;	  /* LSR.OE, cleared by reading LSR */
	bool thr_pending; /* THR-empty interrupt condition (IIR 0x02) */
	bool irq_level;	  /* the level last given to set_irq */
	bool rx_wanted;	  /* the host was refused input: call rx_space on room */

	uint8_t rx[UART8250_FIFO_SIZE];
	unsigned int rx_head, rx_count;

	/* Firecracker's "uart" metric names; read under the lock or when quiescent. */
	uint64_t error_count;
	uint64_t flush_count;
	uint64_t missed_read_count;
	uint64_t missed_write_count;
	uint64_t read_count;
	uint64_t write_count;
	uint64_t rate_limiter_dropped_bytes;

	bool tx_limited; /* output goes through tx_tb (bytes); over it, dropped */
	struct token_bucket tx_tb;
};

/* @out_fd is not owned (not closed by destroy). @ops may be NULL. */
void uart8250_init(struct uart8250 *u, int out_fd, const struct uart8250_ops *ops, void *opaque);
void uart8250_destroy(struct uart8250 *u);
/* Limits the output to @c's bytes (PUT /serial's rate_limiter); @now_ns: CLOCK_MONOTONIC. */
void uart8250_set_tx_limit(struct uart8250 *u, const struct token_bucket_config *c,
			   uint64_t now_ns);

/* The bus handler; @opaque = struct uart8250 *. */
void uart8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Host input -> guest. Returns the bytes accepted (0 when the FIFO is full or
 * the UART is in loopback mode); rx_space is called once room appears again.
 */
size_t uart8250_rx_push(struct uart8250 *u, const uint8_t *buf, size_t n);

/* Bytes rx_push would accept now. A 0 arms the rx_space callback too. */
size_t uart8250_rx_space(struct uart8250 *u);

/* A consistent snapshot of the counters (for the metrics writer). */
void uart8250_get_metrics(struct uart8250 *u, struct uart8250_metrics *m);

/*
 * Snapshots: the guest-visible state (registers, pending interrupt
 * conditions, the receive FIFO, the IRQ line's level) as section "uart".
 * The counters and the host side (out_fd, flow control) belong to the
 * process, not the guest: a restored UART starts them afresh.
 */
void uart8250_save(struct uart8250 *u, struct state_writer *w);
/*
 * Into @u (initialized, not yet on a bus) from section "uart" of @f: 0,
 * -ENOENT without one, -EINVAL for a value out of range. The IRQ line is not
 * driven: the interrupt controllers' restored state already holds it.
 */
int uart8250_restore(struct uart8250 *u, const struct state_file *f);

#endif
