// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/boot_timer.h"

#include <errno.h>
#include <string.h>

#include "util/log.h"

static long long elapsed_us(const struct timespec *from, const struct timespec *to)
{
	return (long long)(to->tv_sec - from->tv_sec) * 1000000LL +
	       (long long)(to->tv_nsec - from->tv_nsec) / 1000LL;
}

void boot_timer_init(struct boot_timer *t, const struct timespec *start_mono,
		     const struct timespec *start_cpu)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->start_mono = *start_mono;
	t->start_cpu = *start_cpu;
}

void boot_timer_destroy(struct boot_timer *t)
{
	pthread_mutex_destroy(&t->lock);
}

/* The access is the magic value: the byte 123, zero-extended if wider. */
static bool is_magic(const uint8_t *data, uint32_t len)
{
	if (data[0] != BOOT_TIMER_MAGIC)
		return false;
	for (uint32_t i = 1; i < len; i++) {
		if (data[i])
			return false;
	}
	return true;
}

void boot_timer_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct boot_timer *t = opaque;
	struct timespec mono, cpu;
	long long us, cpu_us;

	if (!len)
		return;
	if (!is_write) {
		memset(data, 0, len);
		return;
	}
	if (offset != 0 || !is_magic(data, len))
		return;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	us = elapsed_us(&t->start_mono, &mono);
	cpu_us = elapsed_us(&t->start_cpu, &cpu);

	pthread_mutex_lock(&t->lock);
	t->measured = true;
	t->boot_time_us = us;
	t->boot_time_cpu_us = cpu_us;
	pthread_mutex_unlock(&t->lock);

	/* Firecracker's exact line: boot-time tooling greps for it. */
	log_info("Guest-boot-time = %6lld us %lld ms, %6lld CPU us %lld CPU ms", us, us / 1000,
		 cpu_us, cpu_us / 1000);
}

bool boot_timer_get(struct boot_timer *t, long long *boot_time_us, long long *boot_time_cpu_us)
{
	bool measured;

	pthread_mutex_lock(&t->lock);
	measured = t->measured;
	if (boot_time_us)
		*boot_time_us = t->boot_time_us;
	if (boot_time_cpu_us)
		*boot_time_cpu_us = t->boot_time_cpu_us;
	pthread_mutex_unlock(&t->lock);
	return measured;
}

/* Section "boot_timer", version 1: measured (bool), boot_time_us, boot_time_cpu_us (u64). */
void boot_timer_save(struct boot_timer *t, struct state_writer *w)
{
	pthread_mutex_lock(&t->lock);
	state_section_begin(w, "boot_timer", 0);
	sw_bool(w, t->measured);
	sw_u64(w, (uint64_t)t->boot_time_us);
	sw_u64(w, (uint64_t)t->boot_time_cpu_us);
	state_section_end(w);
	pthread_mutex_unlock(&t->lock);
}

int boot_timer_restore(struct boot_timer *t, const struct state_file *f)
{
	struct state_reader r;
	bool measured;
	uint64_t us, cpu_us;

	if (state_section_find(f, "boot_timer", 0, &r))
		return -ENOENT;
	measured = sr_bool(&r);
	us = sr_u64(&r);
	cpu_us = sr_u64(&r);
	if (!sr_ok(&r) || us > INT64_MAX || cpu_us > INT64_MAX)
		return -EINVAL;
	pthread_mutex_lock(&t->lock);
	t->measured = measured;
	t->boot_time_us = (long long)us;
	t->boot_time_cpu_us = (long long)cpu_us;
	pthread_mutex_unlock(&t->lock);
	return 0;
}
