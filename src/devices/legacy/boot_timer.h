/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's boot timer (--boot-timer): an MMIO page at which the guest
 * writes the byte 123 once it has booted; the VMM then logs the wall-clock and
 * process CPU time elapsed since it started, in Firecracker's exact line.
 */
#ifndef EMBER_DEVICES_LEGACY_BOOT_TIMER_H
#define EMBER_DEVICES_LEGACY_BOOT_TIMER_H

#include "core/state.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define BOOT_TIMER_LEN	 0x1000 /* the bus range length */
#define BOOT_TIMER_MAGIC 123	/* the byte a guest writes at offset 0 when booted */

struct boot_timer {
	pthread_mutex_t lock;	    /* vCPUs write, the metrics writer reads */
	struct timespec start_mono; /* CLOCK_MONOTONIC at process start */
	struct timespec start_cpu;  /* CLOCK_PROCESS_CPUTIME_ID at process start */

	/* The last measurement, valid once measured is set. */
	bool measured;
	long long boot_time_us;
	long long boot_time_cpu_us;
};

void boot_timer_init(struct boot_timer *t, const struct timespec *start_mono,
		     const struct timespec *start_cpu);
void boot_timer_destroy(struct boot_timer *t);

/* The bus handler; @opaque = struct boot_timer *. Reads return 0. */
void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

/* The last measurement: false if the guest has not signalled yet. */
bool boot_timer_get(struct boot_timer *t, long long *boot_time_us, long long *boot_time_cpu_us);

/*
 * Snapshots: whether the guest has signalled its boot and what was measured,
 * as section "boot_timer" (the start times are the restoring process's own).
 * Restore: 0, -ENOENT without the section, -EINVAL if it is corrupt.
 */
void boot_timer_save(struct boot_timer *t, struct state_writer *w);
int boot_timer_restore(struct boot_timer *t, const struct state_file *f);

#endif
