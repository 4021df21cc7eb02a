// SPDX-License-Identifier: Apache-2.0
/*
 * The VMM thread's allowlist: the main thread, which runs the event loop. It
 * installs it once the VM is built (a boot or a snapshot load) and its vCPUs
 * started, as Firecracker's VMM thread does (vmm/vm_backend.c): from then on
 * it serves the devices' host side (block, net, vsock, balloon, entropy, the
 * console's input, pmem's flushes), the timers, the API's requests after boot
 * (pause and resume, snapshot create, PATCH of drives, network interfaces and
 * the balloon, PUT /logger, FlushMetrics, SendCtrlAltDel), the metrics, signals,
 * and at the end stops the vCPUs and tears the VM down. Building or restoring
 * the VM (KVM_CREATE_VM, the vCPUs, threads, the TAPs, io_uring, a snapshot's
 * files, userfaultfd) is done by then: none of it is here. Found by tracing
 * the whole test suite (strace -f; the kernel's log of a "log" default
 * action), the Linux boots included (README: Seccomp).
 */
#include "seccomp/rules.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <linux/kvm.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

static const struct seccomp_rule rules[] = {
    /* The event loop: eventfds (queue notifications, irqfds, wake-ups), timerfds, signalfd. */
    ALLOW("epoll_wait", "the event loop"),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_ADD: a vsock connection; watches resumed after a pause",
	     EQ(1, EPOLL_CTL_ADD)),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_MOD: a device waits to read or write a host fd",
	     EQ(1, EPOLL_CTL_MOD)),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_DEL: a connection ends; pause; teardown",
	     EQ(1, EPOLL_CTL_DEL)),
    ALLOW("read", "eventfds, timerfds, the signalfd (SIGTERM), the console's input"),
    ALLOW("write", "irqfds, eventfds, metrics and log lines"),
    ALLOW_IF("timerfd_settime", "device runs and retries, rate limiters, metrics, balloon",
	     EQ(1, 0)),
    ALLOW("close", "connections, replaced backing files and log files, teardown"),

    /* Block: Sync and Async (io_uring) engines, and PATCH /drives of path_on_host. */
    ALLOW("preadv", "block (Sync): reads"),
    ALLOW("pwritev", "block (Sync): writes"),
    ALLOW("fsync", "block (Sync) and pmem: flushes"),
    ALLOW("io_uring_enter", "block (Async): submits requests, waits for them (pause, stop)"),
    ALLOW_IF("openat", "PATCH /drives: the new backing file, read-write",
	     EQ(2, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)),
    ALLOW_IF("openat", "PATCH /drives: the new backing file, read-only",
	     EQ(2, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)),
    ALLOW_IF("newfstatat", "PATCH /drives: fstat() of the new file; stdio's buffers",
	     EQ(3, AT_EMPTY_PATH)),
    ALLOW_IF("newfstatat", "PATCH /drives: stat() of a path that would not open, to say why",
	     EQ(3, 0)),
    ALLOW_IF("fcntl", "F_GETFL: PATCH /drives, the new file's flags", EQ(1, F_GETFL)),
    ALLOW_IF("fcntl", "F_SETFL: PATCH /drives, the new file made blocking", EQ(1, F_SETFL)),
    ALLOW_IF("lseek", "SEEK_END: PATCH /drives, the new file's size", EQ(2, SEEK_END)),

    /* Pmem: a flush request writes the guest's stores in the mapped file back (pmem.c). */
    ALLOW_IF("msync", "pmem: a flush, before its fsync", EQ(2, MS_SYNC)),

    /* Net: the TAP. */
    ALLOW("readv", "net: frames from the TAP; vsock: bytes from a host connection"),
    ALLOW("writev", "net: frames to the TAP"),

    /* Vsock: Firecracker's hybrid Unix sockets. */
    ALLOW_IF("accept4", "vsock: a host client connects to uds_path",
	     EQ(3, SOCK_NONBLOCK | SOCK_CLOEXEC)),
    ALLOW_IF("socket", "vsock: the guest connects to uds_path_PORT (AF_UNIX only)", EQ(0, AF_UNIX),
	     EQ(1, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC), EQ(2, 0)),
    ALLOW("connect", "vsock: the guest connects to uds_path_PORT"),
    ALLOW_IF("sendmsg", "vsock: the guest's bytes to a host connection",
	     EQ(2, MSG_DONTWAIT | MSG_NOSIGNAL)),
    ALLOW_IF("sendto", "vsock: the answer to a host client's CONNECT line",
	     EQ(3, MSG_DONTWAIT | MSG_NOSIGNAL)),
    ALLOW_IF("recvfrom", "vsock: a host client's CONNECT line", EQ(3, MSG_DONTWAIT)),
    ALLOW_IF("recvfrom", "vsock: a host client's CONNECT line, peeked at",
	     EQ(3, MSG_PEEK | MSG_DONTWAIT)),
    ALLOW("poll", "vsock: whether a host connection hung up"),
    ALLOW_IF("shutdown", "vsock: the guest shut its side for writing", EQ(1, SHUT_WR)),
    ALLOW("unlink", "vsock: removes uds_path at teardown"),

    /* Entropy and balloon. */
    ALLOW_IF("getrandom", "entropy: the guest's random bytes", EQ(2, 0)),
    ALLOW_IF("madvise", "balloon: inflated pages go back to the host (MADV_DONTNEED); malloc",
	     EQ(2, MADV_DONTNEED)),
    ALLOW("sysinfo", "balloon: glibc's qsort sizes its buffer by the host's memory"),

    /* The VM: interrupts, pause, stop. */
    ALLOW_IF("ioctl",
	     "KVM_SET_GSI_ROUTING: KVM's default table again, which hurries the PIT "
	     "reinjection's grace period (vmm/kvm.c: 0.5 ms into it, and at the VM's end)",
	     EQ(1, KVM_SET_GSI_ROUTING)),
    ALLOW_IF("ioctl", "KVM_IRQ_LINE: the console's input, SendCtrlAltDel (i8042)",
	     EQ(1, KVM_IRQ_LINE)),
    ALLOW_IF("ioctl", "KVM_SET_USER_MEMORY_REGION: virtio-mem's slots, in while a block is plugged",
	     EQ(1, KVM_SET_USER_MEMORY_REGION)),
    ALLOW_IF("tgkill", "kicks a vCPU out of KVM_RUN (SIGRTMIN): pause, stop, --sample-rip",
	     EQ(2, KICK_SIGNAL)),
    ALLOW("rt_sigprocmask", "pthread_kill() blocks signals around its tgkill"),
    ALLOW_IF("futex", "FUTEX_WAIT_PRIVATE: locks", EQ(1, FUTEX_WAIT_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAKE_PRIVATE: locks, condition variables (pause, the API)",
	     EQ(1, FUTEX_WAKE_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: waits for the vCPUs to park",
	     EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME: pthread_join() of the vCPUs",
	     EQ(1, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME)),

    /*
     * PUT /snapshot/create of the paused VM: the state file, the memory file
     * (a Diff one rewritten in place), and each vCPU's and the VM's KVM state.
     */
    ALLOW_IF("openat", "snapshot: the state file, or a Full snapshot's memory file",
	     EQ(2, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC)),
    ALLOW_IF("openat", "snapshot: a Diff snapshot's memory file, written over in place",
	     EQ(2, O_WRONLY | O_CREAT | O_CLOEXEC)),
    ALLOW("ftruncate", "snapshot: the memory file sized to the guest's memory"),
    ALLOW("pwrite64", "snapshot: the guest's memory, runs of pages at their offsets"),
    ALLOW("pread64",
	  "snapshot: /proc/self/pagemap (opened at build): pages never mapped are skipped"),
    ALLOW_IF("ioctl", "KVM_GET_DIRTY_LOG: a Diff snapshot's pages written since the last",
	     EQ(1, KVM_GET_DIRTY_LOG)),
    ALLOW_IF("ioctl", "KVM_CHECK_EXTENSION(KVM_CAP_XSAVE2): the size of a vCPU's XSAVE area",
	     EQ(1, KVM_CHECK_EXTENSION), EQ(2, KVM_CAP_XSAVE2)),
    ALLOW_IF("ioctl", "KVM_GET_MSR_INDEX_LIST: snapshot: the MSRs a vCPU's state saves",
	     EQ(1, KVM_GET_MSR_INDEX_LIST)),
    ALLOW_IF("ioctl", "KVM_GET_REGS: snapshot: a vCPU's state", EQ(1, KVM_GET_REGS)),
    ALLOW_IF("ioctl", "KVM_GET_SREGS: snapshot: a vCPU's state", EQ(1, KVM_GET_SREGS)),
    ALLOW_IF("ioctl", "KVM_GET_XSAVE: snapshot: a vCPU's state (without XSAVE2)",
	     EQ(1, KVM_GET_XSAVE)),
    ALLOW_IF("ioctl", "KVM_GET_XSAVE2: snapshot: a vCPU's state", EQ(1, KVM_GET_XSAVE2)),
    ALLOW_IF("ioctl", "KVM_GET_XCRS: snapshot: a vCPU's state", EQ(1, KVM_GET_XCRS)),
    ALLOW_IF("ioctl", "KVM_GET_LAPIC: snapshot: a vCPU's state", EQ(1, KVM_GET_LAPIC)),
    ALLOW_IF("ioctl", "KVM_GET_MSRS: snapshot: a vCPU's state", EQ(1, KVM_GET_MSRS)),
    ALLOW_IF("ioctl", "KVM_GET_VCPU_EVENTS: snapshot: a vCPU's state", EQ(1, KVM_GET_VCPU_EVENTS)),
    ALLOW_IF("ioctl", "KVM_GET_MP_STATE: snapshot: a vCPU's state", EQ(1, KVM_GET_MP_STATE)),
    ALLOW_IF("ioctl", "KVM_GET_DEBUGREGS: snapshot: a vCPU's state", EQ(1, KVM_GET_DEBUGREGS)),
    ALLOW_IF("ioctl", "KVM_GET_CPUID2: snapshot: a vCPU's state", EQ(1, KVM_GET_CPUID2)),
    ALLOW_IF("ioctl", "KVM_GET_TSC_KHZ: snapshot: a vCPU's state", EQ(1, KVM_GET_TSC_KHZ)),
    ALLOW_IF("ioctl", "KVM_GET_IRQCHIP: snapshot: the VM's state (PICs, IOAPIC)",
	     EQ(1, KVM_GET_IRQCHIP)),
    ALLOW_IF("ioctl", "KVM_GET_PIT2: snapshot: the VM's state", EQ(1, KVM_GET_PIT2)),
    ALLOW_IF("ioctl", "KVM_GET_CLOCK: snapshot: the VM's state (kvmclock)", EQ(1, KVM_GET_CLOCK)),

    /* The logger (PUT /logger after boot) and the end. */
    ALLOW_IF("openat", "PUT /logger: the new log file or named pipe (util/line_out.c)",
	     EQ(2, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC)),
    ALLOW_IF("fcntl", "F_DUPFD_CLOEXEC: PUT /logger, a log file kept off fds 0-2",
	     EQ(1, F_DUPFD_CLOEXEC)),
    ALLOW("dup3", "PUT /logger: the new file under the log's descriptor"),
    ALLOW_IF("prctl", "PR_GET_NAME: the thread's name in log lines", EQ(0, PR_GET_NAME)),
    ALLOW("gettid", "log lines: is this the main thread (gettid() == getpid())"),
    ALLOW_IF("fcntl", "F_GETPIPE_SZ: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, F_GETPIPE_SZ)),
    ALLOW_IF("ioctl", "FIONREAD: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, FIONREAD)),
    ALLOW("getpid", "log lines: is this the main thread; pthread_kill()'s tgkill"),
    ALLOW("clock_gettime", "times of logs, metrics, devices, where the vDSO cannot serve it"),
    ALLOW_IF("ioctl", "TCGETS: tcsetattr() at exit reads the terminal first (a tty console)",
	     EQ(1, TCGETS)),
    ALLOW_IF("ioctl", "TCSETS: the terminal's settings back at exit (a tty console)",
	     EQ(1, TCSETS)),
    ALLOW("exit_group", "the end; the SIGSYS handler's _exit(148)"),
    ALLOW_IF("rt_sigaction", "SIGTERM's default action back, to be killed by it at the end",
	     EQ(0, SIGTERM)),
    ALLOW_IF("rt_sigaction", "SIGINT's default action back, to be killed by it at the end",
	     EQ(0, SIGINT)),
    ALLOW_IF("tgkill", "raise(SIGTERM): killed by it at the end, as Firecracker", EQ(2, SIGTERM)),
    ALLOW_IF("tgkill", "raise(SIGINT): killed by it at the end, as Firecracker", EQ(2, SIGINT)),

    /* malloc (glibc), the main arena. */
    ALLOW("brk", "malloc: the heap"),
    ALLOW_IF("mmap", "malloc: large blocks; never executable", MASKED(2, PROT_EXEC, 0),
	     MASKED(3, MALLOC_MAP_MASK, MAP_PRIVATE | MAP_ANONYMOUS)),
    ALLOW_IF("mprotect", "malloc, when it falls back to another arena; never executable",
	     MASKED(2, PROT_EXEC, 0)),
    ALLOW("munmap", "malloc; teardown: guest memory, kvm_run, io_uring rings"),
    ALLOW("mremap", "realloc of a large block"),
};

BUILTIN_FILTER(seccomp_filter_vmm, rules);
