// SPDX-License-Identifier: Apache-2.0
/*
 * The VM's two set-up threads' allowlist (vmm/kvm.c: PIT reinjection off once
 * the guest runs, and the hurry of its grace period). ember's own threads, not
 * one of Firecracker's three kinds: a --seccomp-filter file does not replace
 * it. Each installs it first thing, so neither runs unfiltered while the guest
 * does; then each waits for vCPU 0's first exit, makes one ioctl and ends.
 */
#include "seccomp/rules.h"

#include <linux/futex.h>
#include <linux/kvm.h>
#include <sys/prctl.h>

static const struct seccomp_rule rules[] = {
    ALLOW_IF("ioctl", "KVM_REINJECT_CONTROL: the PIT's lost ticks dropped, not queued",
	     EQ(1, KVM_REINJECT_CONTROL)),
    ALLOW_IF("ioctl", "KVM_SET_GSI_ROUTING: KVM's default table again, hurrying the grace period",
	     EQ(1, KVM_SET_GSI_ROUTING)),
    ALLOW("clock_nanosleep", "the second thread's 0.5 ms before it hurries the grace period"),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: sem_wait for its start",
	     EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
    ALLOW_IF("futex", "FUTEX_WAIT_PRIVATE: glibc's internal locks at the thread's exit",
	     EQ(1, FUTEX_WAIT_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAKE_PRIVATE: glibc's internal locks at the thread's exit",
	     EQ(1, FUTEX_WAKE_PRIVATE)),
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
