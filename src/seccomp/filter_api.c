// SPDX-License-Identifier: Apache-2.0
/*
 * The API thread's allowlist (fc_api), installed before it serves its first
 * request (api/api_thread.c). The thread accepts connections on the API
 * socket, reads requests and writes answers (api/http_server.c); each request
 * is routed and carried out on the VMM thread, which this thread wakes with
 * an eventfd and waits for. At the end it closes the connections and removes
 * the socket file. Found by tracing the whole test suite (strace -f).
 */
#include "seccomp/rules.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>

static const struct seccomp_rule rules[] = {
    /* The socket and its connections on the thread's event loop. */
    ALLOW("epoll_wait", "the thread's event loop"),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_ADD: a new connection", EQ(1, EPOLL_CTL_ADD)),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_MOD: wait to write, or stop reading, a connection",
	     EQ(1, EPOLL_CTL_MOD)),
    ALLOW_IF("epoll_ctl", "EPOLL_CTL_DEL: a connection closes", EQ(1, EPOLL_CTL_DEL)),
    ALLOW_IF("accept4", "a client connects (SOCK_NONBLOCK | SOCK_CLOEXEC)",
	     EQ(3, SOCK_NONBLOCK | SOCK_CLOEXEC)),
    ALLOW_IF("recvfrom", "recv(MSG_DONTWAIT): a request's bytes", EQ(3, MSG_DONTWAIT)),
    ALLOW_IF("sendto", "send(MSG_DONTWAIT | MSG_NOSIGNAL): an answer's bytes",
	     EQ(3, MSG_DONTWAIT | MSG_NOSIGNAL)),
    ALLOW("close", "a connection ends; the socket at the end"),
    ALLOW("write", "wakes the VMM thread (eventfd) for a request; log lines"),
    ALLOW_IF("newfstatat", "lstat(): the socket file is still ours before it is removed",
	     EQ(3, AT_SYMLINK_NOFOLLOW)),
    ALLOW_IF("newfstatat", "fstat(fd): stdio sizes the log file's buffer", EQ(3, AT_EMPTY_PATH)),
    ALLOW("unlink", "removes the socket file at the end"),

    /* Waiting for the VMM thread's answer; the thread's end. */
    ALLOW_IF("futex", "FUTEX_WAIT_PRIVATE: the lock shared with the VMM thread",
	     EQ(1, FUTEX_WAIT_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAKE_PRIVATE: the lock, the condition variable",
	     EQ(1, FUTEX_WAKE_PRIVATE)),
    ALLOW_IF("futex", "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME: waits for the answer",
	     EQ(1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME)),
    ALLOW("rt_sigprocmask", "glibc blocks signals while the thread exits"),
    ALLOW_IF("madvise", "MADV_DONTNEED: glibc gives the stack back at exit; malloc's trims",
	     EQ(2, MADV_DONTNEED)),
    ALLOW("exit", "the thread's end"),
    ALLOW("exit_group", "the SIGSYS handler's _exit(148)"),

    /* Logging (log.c). */
    ALLOW_IF("prctl", "PR_GET_NAME: the thread's name in log lines", EQ(0, PR_GET_NAME)),
    ALLOW("gettid", "log lines: is this the main thread (gettid() == getpid())"),
    ALLOW_IF("fcntl", "F_GETPIPE_SZ: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, F_GETPIPE_SZ)),
    ALLOW_IF("ioctl", "FIONREAD: a long log or metrics line to a named pipe: room for it?",
	     EQ(1, FIONREAD)),
    ALLOW("getpid", "log lines: is this the main thread; pthread_kill()'s tgkill"),
    ALLOW("clock_gettime", "log lines' time where the vDSO cannot serve it"),

    /* malloc (glibc), on the thread's own arena: requests, answers, JSON. */
    ALLOW("brk", "malloc: the main arena, when glibc shares it with this thread"),
    ALLOW_IF("mmap", "malloc: arenas and large blocks; never executable", MASKED(2, PROT_EXEC, 0),
	     MASKED(3, MALLOC_MAP_MASK, MAP_PRIVATE | MAP_ANONYMOUS)),
    ALLOW_IF("mprotect", "malloc: an arena grows; never executable", MASKED(2, PROT_EXEC, 0)),
    ALLOW("munmap", "malloc: large blocks, arenas' spare space"),
    ALLOW("mremap", "realloc of a large block (a connection's buffers)"),
    ALLOW("sched_getaffinity", "malloc: past 8 arenas glibc counts the CPUs for its limit"),
};

BUILTIN_FILTER(seccomp_filter_api, rules);
