/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A read-only MC146818 CMOS RTC at ports 0x70/0x71: the date and time (UTC,
 * BCD, 24-hour) from the host's clock at each read, "no update in progress",
 * "valid RAM and time". Linux reads the wall clock there at boot on x86 (and
 * has no way to skip it): with nothing at these ports it reads 0xff, sees the
 * update-in-progress bit stay set and polls for a second (about 2 s of guest
 * time on kvm_pvm) before "Unable to read current time from RTC", and the
 * guest's clock starts in 1970. Writes (setting the clock, alarms) are
 * ignored; there is no interrupt and no NVRAM (other registers read 0). The
 * FADT still says "no CMOS RTC", so no rtc_cmos driver binds to it.
 * Stateless apart from the index register, which a guest writes before every
 * access: nothing to save in a snapshot.
 */
#ifndef EMBER_DEVICES_LEGACY_CMOS_RTC_H
#define EMBER_DEVICES_LEGACY_CMOS_RTC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CMOS_RTC_PORT	  0x70
#define CMOS_RTC_NR_PORTS 2

struct cmos_rtc {
	/* The register selected through port 0x70; vCPU threads race on it only if the guest does.
	 */
	_Atomic uint8_t index;
	/* The time source (CLOCK_REALTIME seconds); NULL: the host's clock. Tests set it. */
	time_t (*now)(void);
};

void cmos_rtc_init(struct cmos_rtc *rtc);

/* The register @reg as the guest reads it at @t (UTC). */
uint8_t cmos_rtc_reg(uint8_t reg, time_t t);

/* The bus handler; @opaque = struct cmos_rtc *. */
void cmos_rtc_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);

#endif
