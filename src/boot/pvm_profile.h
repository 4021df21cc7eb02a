/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The kvm_pvm guest profile (pvm_profile.c): the kernel parameters a Linux
 * guest needs when its kernel code runs through KVM's instruction emulator.
 */
#ifndef EMBER_BOOT_PVM_PROFILE_H
#define EMBER_BOOT_PVM_PROFILE_H

#include "boot/cmdline.h"

/*
 * Adds the profile (nopv, noxsave, clearcpuid=..., ...) to the kernel command
 * line, skipping what the user set. -E2BIG if it does not fit; the caller
 * names the input.
 */
int pvm_profile_apply(struct cmdline *cl);

/*
 * The part that needs a vCPU: tsc_early_khz=@tsc_khz, the rate KVM_GET_TSC_KHZ
 * gave on vCPU 0 (0: none, -errno: it failed; then nothing is added and a
 * warning says the guest calibrates its TSC itself). A tsc_early_khz the user
 * set stays. Returns 1 when the line changed (the caller rewrites it in guest
 * memory), 0 when not, or -E2BIG (logged, naming boot-source.boot_args).
 */
int pvm_profile_finish(struct cmdline *cl, int tsc_khz);

#endif
