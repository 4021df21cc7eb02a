// SPDX-License-Identifier: Apache-2.0
#include "devices/legacy/cmos_rtc.h"

#include <string.h>

/* Registers (MC146818 data sheet; Linux's include/linux/mc146818rtc.h). */
enum {
	REG_SECONDS = 0x00,
	REG_MINUTES = 0x02,
	REG_HOURS = 0x04,
	REG_WEEKDAY = 0x06,
	REG_DAY = 0x07,
	REG_MONTH = 0x08,
	REG_YEAR = 0x09,
	REG_A = 0x0a,	    /* bit 7 UIP: update in progress (never here) */
	REG_B = 0x0b,	    /* bit 1: 24-hour mode; bit 2 clear: BCD */
	REG_C = 0x0c,	    /* interrupt flags: none */
	REG_D = 0x0d,	    /* bit 7 VRT: RAM and time are valid */
	REG_CENTURY = 0x32, /* the IBM PC's century byte */
};

#define REG_A_DIVIDER_32K 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define REG_B_24H	  0x02
#define REG_D_VRT	  0x80

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

uint8_t cmos_rtc_reg(uint8_t reg, time_t t)
{
	struct tm tm;

	if (reg == REG_A)
		return REG_A_DIVIDER_32K;
	if (reg == REG_B)
		return REG_B_24H;
	if (reg == REG_D)
		return REG_D_VRT;
	if (!gmtime_r(&t, &tm))
		return 0;
	switch (reg) {
	case REG_SECONDS:
		return bcd(tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case REG_MINUTES:
		return bcd(tm.tm_min);
	case REG_HOURS:
		return bcd(tm.tm_hour);
	case REG_WEEKDAY:
		return bcd(tm.tm_wday + 1); /* 1 = Sunday */
	case REG_DAY:
		return bcd(tm.tm_mday);
	case REG_MONTH:
		return bcd(tm.tm_mon + 1);
	case REG_YEAR:
		return bcd(tm.tm_year % 100);
	case REG_CENTURY:
		return bcd((tm.tm_year + 1900) / 100);
	default:
		return 0; /* alarms, REG_C, NVRAM */
	}
}

void cmos_rtc_init(struct cmos_rtc *rtc)
{
	atomic_init(&rtc->index, 0);
	rtc->now = NULL;
}

void cmos_rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct cmos_rtc *rtc = opaque;

	if (offset == 0) {
		/* Bit 7 of the index port masks NMIs on a PC: no NMI source here. */
		if (is_write)
			atomic_store_explicit(&rtc->index, data[0] & 0x7f, memory_order_relaxed);
		else
			memset(data, 0xff, len);
		return;
	}
	if (is_write)
		return;
	memset(data, 0, len);
	data[0] = cmos_rtc_reg(atomic_load_explicit(&rtc->index, memory_order_relaxed),
			       rtc->now ? rtc->now() : time(NULL));
}
