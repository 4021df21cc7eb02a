// SPDX-License-Identifier: Apache-2.0
/*
 * The PVM guest profile: kernel parameters a Linux guest needs on a kvm_pvm
 * host (no VT-x/AMD-V; the guest's kernel code runs through KVM's emulator).
 *   nopv        no KVM paravirtual features: PV IPIs hang on their hypercall
 *               here, so secondary CPUs never come up (kvmclock goes too).
 *   noxsave     the emulator cannot run xsave/xrstor.
 *   clearcpuid  CPUID cannot be masked on this host (KVM_SET_CPUID2 is
 *               accepted but the guest sees the host's values): the guest is
 *               told not to use what the emulator cannot run.
 *   percpu_alloc=page  per-CPU areas from 4 KiB pages, not a 2 MiB unit the
 *               interpreted kernel spends a second setting up.
 *   noreplace-smp  a 1-vCPU guest does not rewrite every lock prefix of its
 *               kernel one text_poke at a time (~2 s interpreted).
 *   tsc_early_khz  the TSC rate (KVM_GET_TSC_KHZ, once vCPU 0 exists): an
 *               interpreted guest cannot calibrate its TSC against the PIT,
 *               marks it unstable and stalls calibrating its delay loop.
 * On hardware KVM none of this is added. A parameter the user already set is
 * left as the user set it; --no-pvm-profile turns the profile off. The VM
 * decides whether the profile applies and asks KVM for the TSC rate; this file
 * only edits the command line.
 */
#include "boot/pvm_profile.h"

#include "util/log.h"

#include <stdio.h>
#include <string.h>

/*
 * The smallest list that boots ember's guest kernel here, each found by booting
 * without it and reading the failing bytes ember printed: cx16 (SLUB's
 * cmpxchg16b: f0 48 0f c7), popcnt (__bitmap_weight: f3 48 0f b8). erms and
 * fsrm only for speed: memcpy/memset then use rep movsq/stosq instead of
 * byte-wise rep movsb/stosb, every iteration of which is emulated (~15% of a
 * boot). clwb (66 0f ae 30, clean_cache_range): the first write to a DAX-mounted
 * /dev/pmem0 stops there (KVM's emulator has no clwb); Linux then uses
 * clflushopt, which it runs. smap/smep can stay: ember completes clac/stac.
 * Linux 6.1 reads at most 127 characters of this option and drops the rest
 * silently.
 */
#define PVM_CLEARCPUID "clearcpuid=cx16,popcnt,erms,fsrm,clwb"

static const struct {
	const char *key;
	const char *param;
} profile[] = {
    {"nopv", "nopv"},
    {"noxsave", "noxsave"},
    {"clearcpuid", PVM_CLEARCPUID},
    {"percpu_alloc", "percpu_alloc=page"},
    {"noreplace-smp", "noreplace-smp"},
    /* With 2+ vCPUs an interpreted boot trips the RCU stall detector; printing costs ~50 s. */
    {"rcupdate.rcu_cpu_stall_suppress_at_boot", "rcupdate.rcu_cpu_stall_suppress_at_boot=1"},
};

int pvm_profile_apply(struct cmdline *cl)
{
	for (size_t i = 0; i < sizeof(profile) / sizeof(profile[0]); i++) {
		int ret;

		if (cmdline_has(cl, profile[i].key))
			continue;
		ret = cmdline_append(cl, profile[i].param);
		if (ret)
			return ret;
	}
	return 0;
}

int pvm_profile_finish(struct cmdline *cl, int tsc_khz)
{
	char param[48];
	int ret;

	if (cmdline_has(cl, "tsc_early_khz"))
		return 0;
	if (tsc_khz <= 0) {
		log_warn("kvm_pvm guest profile: KVM_GET_TSC_KHZ failed (%s): the guest will "
			 "calibrate its TSC itself",
			 tsc_khz < 0 ? strerror(-tsc_khz) : "no rate");
		return 0;
	}
	snprintf(param, sizeof(param), "tsc_early_khz=%d", tsc_khz);
	ret = cmdline_append(cl, param);
	if (ret) {
		log_error(
		    "boot-source.boot_args: no room for \"%s\" (kvm_pvm guest profile) within "
		    "%llu bytes; shorten the line or run with --no-pvm-profile",
		    param, LAYOUT_CMDLINE_MAX - 1);
		return ret;
	}
	return 1;
}
