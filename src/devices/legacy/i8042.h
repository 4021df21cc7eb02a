/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An i8042 keyboard controller with a scancode-set-2 keyboard behind it and
 * no AUX port: what Linux's i8042/atkbd drivers need to boot, to reboot the
 * machine (command 0xFE) and to receive Ctrl-Alt-Del from the host.
 *
 * Registered at port 0x60 with length 5: offset 0 is the data port (0x60),
 * offset 4 the status/command port (0x64); offsets 1-3 read 0.
 *
 * Thread model: i8042_io() runs on vCPU threads, i8042_send_ctrl_alt_del() on
 * the event loop; all state is under the device's mutex. set_irq is called
 * with the mutex held (it must not call back into the device); reset is
 * called without it.
 */
#ifndef EMBER_DEVICES_LEGACY_I8042_H
#define EMBER_DEVICES_LEGACY_I8042_H

#include "core/state.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define I8042_NR_PORTS 5 /* the bus range length */
#define I8042_BUF_SIZE 16

struct i8042_ops {
	void (*set_irq)(void *opaque, int level); /* IRQ 1; pulsed: 1 then 0 */
	void (*reset)(void *opaque);		  /* the guest asked for a CPU reset */
};

struct i8042_metrics {
	uint64_t error_count;	     /* bytes lost because the output buffer was full */
	uint64_t missed_read_count;  /* data-port reads with an empty output buffer */
	uint64_t missed_write_count; /* unknown commands and writes the device ignores */
	uint64_t read_count;	     /* bytes the guest read from the data port */
	uint64_t reset_count;	     /* CPU resets the guest requested */
	uint64_t write_count;	     /* bytes the guest wrote to ports 0x60/0x64 */
};

struct i8042 {
	pthread_mutex_t lock;
	const struct i8042_ops *ops;
	void *opaque;

	uint8_t ctr;	     /* controller configuration byte ("command byte") */
	uint8_t outp;	     /* controller output port (0xD0/0xD1) */
	uint8_t mode;	     /* controller mode (0xCA/0xCB) */
	uint8_t pending_cmd; /* controller command waiting for its data byte, 0 = none */
	uint8_t kbd_cmd;     /* keyboard command waiting for its parameter, 0 = none */
	bool last_was_cmd;   /* status A2: the last write went to port 0x64 */
	bool kbd_scanning;   /* keyboard enabled (0xF4) or disabled (0xF5) */

	uint8_t buf[I8042_BUF_SIZE]; /* the output buffer, read from port 0x60 */
	unsigned int head, count;

	/* Firecracker's "i8042" metric names; read under the lock or when quiescent. */
	uint64_t error_count;
	uint64_t missed_read_count;
	uint64_t missed_write_count;
	uint64_t read_count;
	uint64_t reset_count;
	uint64_t write_count;
};

/* @ops may be NULL. */
void i8042_init(struct i8042 *k, const struct i8042_ops *ops, void *opaque);
void i8042_destroy(struct i8042 *k);

/* The bus handler; @opaque = struct i8042 *. */
void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/*
 * Queues Ctrl-Alt-Del (press and release, scancode set 2) and pulses IRQ 1
 * if the guest enabled the keyboard interrupt. 0, or -ENOSPC (nothing
 * queued) when the output buffer lacks room.
 */
int i8042_send_ctrl_alt_del(struct i8042 *k);

/* A consistent snapshot of the counters (for the metrics writer). */
void i8042_get_metrics(struct i8042 *k, struct i8042_metrics *m);

/*
 * Snapshots: the controller's state and its output buffer as section
 * "i8042" (the counters start afresh). Restore: into @k (initialized) from
 * @f; 0, -ENOENT without the section, -EINVAL for a value out of range.
 */
void i8042_save(struct i8042 *k, struct state_writer *w);
int i8042_restore(struct i8042 *k, const struct state_file *f);

#endif
