// SPDX-License-Identifier: Apache-2.0
/* The CMOS RTC: the wall clock in BCD through ports 0x70/0x71, never "updating". */
#include "test.h"

#include "devices/legacy/cmos_rtc.h"

/* 2026-12-03 13:45:59 UTC, a Thursday. */
static time_t fixed_now(void)
{
	return 1796305559;
}

static uint8_t read_reg(struct cmos_rtc *rtc, uint8_t reg)
{
	uint8_t v = 0xee;

	cmos_rtc_io(rtc, 0, &reg, 1, true);
	cmos_rtc_io(rtc, 1, &v, 1, false);
	return v;
}

TEST(date_and_time_in_bcd)
{
	struct cmos_rtc rtc;

	cmos_rtc_init(&rtc);
	rtc.now = fixed_now;
	CHECK_EQ(read_reg(&rtc, 0x00), 0x59);
	CHECK_EQ(read_reg(&rtc, 0x02), 0x45);
	CHECK_EQ(read_reg(&rtc, 0x04), 0x13);
	CHECK_EQ(read_reg(&rtc, 0x06), 0x05); /* 1 = Sunday */
	CHECK_EQ(read_reg(&rtc, 0x07), 0x03);
	CHECK_EQ(read_reg(&rtc, 0x08), 0x12);
	CHECK_EQ(read_reg(&rtc, 0x09), 0x26);
	CHECK_EQ(read_reg(&rtc, 0x32), 0x20);
}

TEST(status_registers)
{
	struct cmos_rtc rtc;

	cmos_rtc_init(&rtc);
	rtc.now = fixed_now;
	CHECK_EQ(read_reg(&rtc, 0x0a) & 0x80, 0); /* no update in progress, ever */
	CHECK_EQ(read_reg(&rtc, 0x0b), 0x02);	  /* 24-hour, BCD */
	CHECK_EQ(read_reg(&rtc, 0x0c), 0);
	CHECK_EQ(read_reg(&rtc, 0x0d), 0x80); /* valid */
	/* Bit 7 of the index (NMI mask) does not select another register. */
	CHECK_EQ(read_reg(&rtc, 0x80 | 0x0d), 0x80);
	CHECK_EQ(read_reg(&rtc, 0x7f), 0); /* NVRAM: none */
}

TEST(writes_are_ignored)
{
	struct cmos_rtc rtc;
	uint8_t reg = 0x00, v = 0x11;

	cmos_rtc_init(&rtc);
	rtc.now = fixed_now;
	cmos_rtc_io(&rtc, 0, &reg, 1, true);
	cmos_rtc_io(&rtc, 1, &v, 1, true);
	CHECK_EQ(read_reg(&rtc, 0x00), 0x59);
}

TEST(host_clock_by_default)
{
	struct cmos_rtc rtc;
	uint8_t year;

	cmos_rtc_init(&rtc);
	year = read_reg(&rtc, 0x09);
	CHECK((year >> 4) <= 9 && (year & 0xf) <= 9);
	CHECK_EQ(read_reg(&rtc, 0x32), 0x20);
}

TEST_MAIN(TEST_ENTRY(date_and_time_in_bcd), TEST_ENTRY(status_registers),
	  TEST_ENTRY(writes_are_ignored), TEST_ENTRY(host_clock_by_default))
