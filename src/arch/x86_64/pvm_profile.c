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
 * On hardware KVM none of this is added. A parameter the user already set is
 * left as the user set it; --no-pvm-profile turns the profile off.
 */
#include "arch/x86_64/arch.h"

#include <errno.h>

/*
 * Instructions the emulator fails on, by the feature that gates them: found by
 * booting ember's guest kernel and reading the failing bytes ember prints.
 */
#define PVM_CLEARCPUID                                                                       \
	"clearcpuid=cx16,popcnt,smap,smep,fsgsbase,rdpid,invpcid,pcid,rdseed,rdrand,rdtscp," \
	"clflushopt,clwb,erms,fsrm"

static const struct {
	const char *key;
	const char *param;
} profile[] = {
    {"nopv", "nopv"},
    {"noxsave", "noxsave"},
    {"clearcpuid", PVM_CLEARCPUID},
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
