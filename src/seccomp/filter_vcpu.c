// SPDX-License-Identifier: Apache-2.0
/*
 * The vCPU threads' allowlist (fc_vcpu N), installed by each before its first
 * KVM_RUN (vcpu.c). A vCPU thread runs the guest and handles its exits: port
 * and MMIO accesses go to the device models on this thread (the UART, the
 * i8042, the virtio-mmio registers: a driver's status writes activate and
 * reset devices here), queue notifications do not (KVM's ioeventfds take them
 * to the event loop). Found by tracing the whole test suite (strace -f), and
 * for the Linux guest's paths from the code (README: Seccomp).
 */
#include "seccomp/rules.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/if_tun.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static const struct seccomp_rule rules[] = {
    /* The guest. */
    ALLOW_IF("ioctl", "KVM_RUN: run the guest until its next exit", EQ(1, KVM_RUN)),
    ALLOW_IF("ioctl", "KVM_GET_REGS: kvm_pvm completions, --sample-rip, a failure's dump",
	     EQ(1, KVM_GET_REGS)),
    ALLOW_IF("ioctl", "KVM_GET_SREGS: kvm_pvm completions, --sample-rip, a failure's dump",
	     EQ(1, KVM_GET_SREGS)),
    ALLOW_IF("ioctl", "KVM_SET_REGS: kvm_pvm completes an instruction its emulator cannot",
	     EQ(1, KVM_SET_REGS)),
    ALLOW_IF("ioctl", "KVM_GET_VCPU_EVENTS: kvm_pvm completions (int3 injects #BP)",
	     EQ(1, KVM_GET_VCPU_EVENTS)),
    ALLOW_IF("ioctl", "KVM_SET_VCPU_EVENTS: kvm_pvm completions (int3 injects #BP)",
	     EQ(1, KVM_SET_VCPU_EVENTS)),
    ALLOW_IF("ioctl", "KVM_TRANSLATE: kvm_pvm completions read the instruction at rip",
	     EQ(1, KVM_TRANSLATE)),
    ALLOW_IF("ioctl", "KVM_IRQ_LINE: the UART's and the i8042's interrupt lines",
	     EQ(1, KVM_IRQ_LINE)),
    ALLOW_IF("ioctl", "TUNSETOFFLOAD: a virtio-net driver's DRIVER_OK sets the TAP's offloads",
	     EQ(1, TUNSETOFFLOAD)),

    /* The devices' host side, from register writes. */
    ALLOW("write", "the guest's console (UART), irqfd and eventfd signals, log lines, "
		   "--sample-rip lines"),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_MOD: virtio-net starts or stops reading its TAP",
	     EQ(1, EPOLL_CTL_MOD)),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_DEL: a vsock driver reset ends the host connections",
	     EQ(1, EPOLL_CTL_DEL)),
    ALLOW("close", "a vsock driver reset closes the host connections' sockets"),
    ALLOW_IF("timerfd_settime", "a device's deferred run: vsock at DRIVER_OK, balloon statistics",
	     EQ(1, 0)),
    ALLOW("io_uring_enter", "a block driver reset waits for its io_uring requests in flight"),
    ALLOW("clock_gettime", "the boot timer's CPU time; any clock where the vDSO cannot serve it"),

    /* Pause (a kick) and stop; the thread's end. */
    ALLOW("rt_sigreturn", "returning from the kick's handler (SIGRTMIN)"),
    ALLOW_IF("futex", "FUTEX_WAIT_PRIVATE: locks (devices, pause)", EQ(1, FUTEX_WAIT_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAKE_PRIVATE: locks, condition variables", EQ(1, FUTEX_WAKE_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: parked while paused",
	     EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
    ALLOW("rt_sigprocmask", "glibc blocks signals while the thread exits"),
    ALLOW_IF("madvise", "MADV_DONTNEED: glibc gives the stack back at exit; malloc's trims",
	     EQ(2, MADV_DONTNEED)),
    ALLOW("exit", "the thread's end"),
    ALLOW("exit_group", "the SIGSYS handler's _exit(148)"),

    /* Logging (log.c) and --sample-rip (dprintf). */
    ALLOW_IF("prctl", "PR_GET_NAME: the thread's name in log lines", EQ(0, PR_GET_NAME)),
    ALLOW("gettid", "log lines: is this the main thread (gettid() == getpid())"),
    ALLOW_IF("fcntl", "F_GETPIPE_SZ: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, F_GETPIPE_SZ)),
    ALLOW_IF("ioctl", "FIONREAD: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, FIONREAD)),
    ALLOW("getpid", "log lines: is this the main thread; pthread_kill()'s tgkill"),
    ALLOW_IF("newfstatat", "fstat(fd): stdio sizes a stream's buffer (dprintf, the log file)",
	     EQ(3, AT_EMPTY_PATH)),
    ALLOW_IF("lseek", "SEEK_CUR: dprintf's stream asks for its position", EQ(2, SEEK_CUR)),

    /* malloc (glibc), on the thread's own arena. */
    ALLOW("brk", "malloc: the main arena, when glibc shares it with this thread"),
    ALLOW_IF("mmap", "malloc: arenas and large blocks; never executable", MASKED(2, PROT_EXEC, 0),
	     MASKED(3, MALLOC_MAP_MASK, MAP_PRIVATE | MAP_ANONYMOUS)),
    ALLOW_IF("mprotect", "malloc: an arena grows; never executable", MASKED(2, PROT_EXEC, 0)),
    ALLOW("munmap", "malloc: large blocks, arenas' spare space"),
    ALLOW("mremap", "realloc of a large block"),
    ALLOW("sched_getaffinity", "malloc: past 8 arenas glibc counts the CPUs for its limit"),
};

BUILTIN_FILTER(seccomp_filter_vcpu, rules);
