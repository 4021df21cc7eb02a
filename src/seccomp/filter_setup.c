// SPDX-License-Identifier: Apache-2.0
/*
 * The VM's late thread's allowlist (vmm/kvm.c: the prep thread, once the VM is
 * handed over, turns PIT reinjection off once the guest runs). ember's own
 * thread, not one of Firecracker's three kinds: a --seccomp-filter file does
 * not replace it. It installs it first thing, so it never runs unfiltered
 * while the guest does; then it waits for vCPU 0's first exit, makes one
 * ioctl and ends.
 */
#include "seccomp/rules.h"

#include <linux/futex.h>
#include <linux/kvm.h>
#include <sys/prctl.h>

static const struct seccomp_rule rules[] = {
    ALLOW_IF("ioctl", "KVM_REINJECT_CONTROL: the PIT's lost ticks dropped, not queued",
	     EQ(1, KVM_REINJECT_CONTROL)),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: sem_wait for its start",
	     EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
    ALLOW_IF("futex", "FUTEX_WAIT_PRIVATE: glibc's internal locks at the thread's exit",
	     EQ(1, FUTEX_WAIT_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAKE_PRIVATE: glibc's internal locks at the thread's exit",
	     EQ(1, FUTEX_WAKE_PRIVATE)),
    ALLOW_IF("timerfd_settime", "the VMM thread's timer to hurry the grace period (kvm.c)",
	     EQ(1, 0)),
    ALLOW("rt_sigprocmask", "glibc blocks signals while the thread exits"),
    ALLOW_IF("madvise", "MADV_DONTNEED: glibc gives the stack back at exit", EQ(2, MADV_DONTNEED)),
    ALLOW("exit", "the thread's end"),

    /* What a violation's log line needs (seccomp_log_bad_syscall) and its exit. */
    ALLOW("write", "the SIGSYS handler's log line"),
    ALLOW_IF("prctl", "PR_GET_NAME: the thread's name in the SIGSYS line", EQ(0, PR_GET_NAME)),
    ALLOW("gettid", "the SIGSYS line: is this the main thread"),
    ALLOW("getpid", "the SIGSYS line: is this the main thread"),
    ALLOW("rt_sigreturn", "returning from a signal handler"),
    ALLOW("exit_group", "the SIGSYS handler's _exit(148)"),
};

BUILTIN_FILTER(seccomp_filter_setup, rules);
