/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Per-thread seccomp filters, as Firecracker's: three allowlists, one per kind
 * of thread, each installed by the thread itself before it handles anything
 * from outside, and no-new-privs set.
 *
 *   vmm   the main thread (the event loop: devices, timers, the VM's lifetime),
 *         from just before the guest runs (after the vCPU threads start)
 *   api   the API thread (fc_api), before it serves its first request
 *   vcpu  each vCPU thread (fc_vcpu N), before its first KVM_RUN
 *   setup ember's own: the VM's late thread (vmm/kvm.c), once the VM is built;
 *         built in only (a filter file names Firecracker's three)
 *
 * The built-in lists are filter_vmm.c, filter_api.c and filter_vcpu.c, a
 * reason per syscall. `--seccomp-filter FILE` replaces them with a file in
 * Firecracker's seccompiler JSON format (parse.c). Each filter is compiled to
 * BPF with libseccomp: the built-in ones when ember is built, as Firecracker
 * does (bpfgen.c writes build/gen/seccomp_bpf.c), a file's at start.
 * Installing a filter in a thread is then two system calls. A syscall outside
 * a thread's list (Firecracker's default action, "trap") raises SIGSYS: the
 * controller's handler logs the thread and the syscall, then the process
 * exits with Firecracker's status for it, 148.
 */
#ifndef EMBER_SECCOMP_SECCOMP_H
#define EMBER_SECCOMP_SECCOMP_H

#include <linux/filter.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECCOMP_ERR_MAX		 512
#define SECCOMP_MAX_CONDS	 6   /* a syscall has six arguments; one comparison each */
#define SECCOMP_EXIT_BAD_SYSCALL 148 /* Firecracker's FcExitCode::BadSyscall */
#define SECCOMP_FILE_MAX	 (1 << 20)

enum seccomp_thread {
	SECCOMP_VMM,
	SECCOMP_API,
	SECCOMP_VCPU,
	SECCOMP_NR_THREADS, /* the three a filter file defines */
	/* ember's own short-lived thread (filter_setup.c): always the built-in list */
	SECCOMP_SETUP = SECCOMP_NR_THREADS,
	SECCOMP_NR_FILTERS,
};

/* The filter file's key for @t: "vmm", "api" or "vcpu" ("setup": built in only). */
const char *seccomp_thread_key(enum seccomp_thread t);

enum seccomp_op {
	SECCOMP_OP_EQ,
	SECCOMP_OP_NE,
	SECCOMP_OP_LT,
	SECCOMP_OP_LE,
	SECCOMP_OP_GT,
	SECCOMP_OP_GE,
	SECCOMP_OP_MASKED_EQ, /* (arg & mask) == val */
};

/* One argument's condition; a rule's conditions must all hold. */
struct seccomp_cond {
	unsigned int index; /* the argument, 0 to 5 */
	bool qword;	    /* compare all 64 bits; a dword compares the low 32 only */
	enum seccomp_op op;
	uint64_t val;
	uint64_t mask; /* SECCOMP_OP_MASKED_EQ only */
};

struct seccomp_rule {
	const char *syscall; /* its name (libseccomp resolves it) */
	const char *why;     /* the built-ins' reason; a file's "comment" (NULL: none) */
	unsigned int nconds; /* 0: any arguments */
	struct seccomp_cond conds[SECCOMP_MAX_CONDS];
};

struct seccomp_filter {
	uint32_t default_action; /* libseccomp's SCMP_ACT_*: when no rule matches */
	uint32_t filter_action;	 /* ... when one does */
	const struct seccomp_rule *rules;
	size_t nrules;
};

/* The three filters: the built-in ones, or a file's (which owns its memory). */
struct seccomp_filters {
	struct seccomp_filter f[SECCOMP_NR_THREADS];
	struct seccomp_rule *owned; /* a parsed file's rules, all threads' */
	void *doc;		    /* its JSON document: the rules' strings point into it */
};

/* filter_vmm.c, filter_api.c, filter_vcpu.c. */
extern const struct seccomp_filter seccomp_filter_vmm;
extern const struct seccomp_filter seccomp_filter_api;
extern const struct seccomp_filter seccomp_filter_vcpu;
/* filter_setup.c: the VM's late thread (vmm/kvm.c). */
extern const struct seccomp_filter seccomp_filter_setup;

/* The built-in filters (nothing to free). */
void seccomp_builtin(struct seccomp_filters *out);

/*
 * Parses a filter file in Firecracker's seccompiler JSON format:
 *   {"vmm"|"api"|"vcpu": {"default_action": ACTION, "filter_action": ACTION,
 *     "filter": [{"syscall": NAME, "args": [{"index": 0-5, "type": "dword"|"qword",
 *       "op": "eq"|"ne"|"lt"|"le"|"gt"|"ge"|{"masked_eq": MASK}, "val": N,
 *       "comment": ...}], "comment": ...}]}}
 * ACTION: "allow", "trap", "kill_thread", "kill_process", "log", {"errno": N} or
 * {"trace": N}. The three keys are required, no other is taken. Everything
 * libseccomp would refuse is refused here, so a parsed file compiles (unless
 * it is longer than the kernel takes).
 * On error returns -EINVAL (or -errno reading the file) with one line in @err
 * naming the key and the problem ("vcpu.filter[3].args[0].op: ...").
 */
int seccomp_parse(const char *text, size_t len, struct seccomp_filters *out,
		  char err[SECCOMP_ERR_MAX]);
int seccomp_parse_file(const char *path, struct seccomp_filters *out, char err[SECCOMP_ERR_MAX]);
void seccomp_filters_free(struct seccomp_filters *f);

/* A compiled filter: BPF ready to install. */
struct seccomp_prog {
	const struct sock_filter *insns;
	unsigned short len;
	struct sock_filter *owned; /* insns when compiled at run time (freed); NULL if built in */
};

/*
 * Compiles @f with libseccomp (x86_64 only: other architectures' syscalls are
 * killed). -E2BIG when it needs more BPF than the kernel takes; other errors
 * name the rule. @what names the filter in @err ("vcpu").
 */
int seccomp_compile(const struct seccomp_filter *f, const char *what, struct seccomp_prog *out,
		    char err[SECCOMP_ERR_MAX]);
void seccomp_prog_free(struct seccomp_prog *p);

/* The compiled filters (a file's three and the built-in setup one); `on` false: --no-seccomp,
 * nothing is installed. */
struct seccomp_progs {
	bool on;
	bool from_file; /* Firecracker's three filters are a --seccomp-filter file's */
	struct seccomp_prog p[SECCOMP_NR_FILTERS];
};

/* The built-in filters compiled when ember was built (build/gen/seccomp_bpf.c). */
extern const struct seccomp_prog seccomp_builtin_progs[SECCOMP_NR_FILTERS];

/*
 * The filters of @path, compiled now, or the built-in ones (@path NULL) into
 * @out; then what the libraries must do before any filter (load.c). On
 * error returns non-zero with one line in @err.
 */
int seccomp_progs_load(struct seccomp_progs *out, const char *path, char err[SECCOMP_ERR_MAX]);
void seccomp_progs_free(struct seccomp_progs *p);
/* @t's filter, or NULL when seccomp is off (@p NULL or not on). */
const struct seccomp_prog *seccomp_progs_get(const struct seccomp_progs *p, enum seccomp_thread t);

/*
 * In the calling thread, for good: no-new-privs, then @p (NULL: nothing).
 * Returns 0 or -errno. Threads it creates afterwards inherit the filter.
 */
int seccomp_install(const struct seccomp_prog *p);

/*
 * The line for a syscall a filter trapped (@info of its SIGSYS, si_code
 * SYS_SECCOMP): "Shutting down VM after intercepting a bad syscall: NAME (NR)"
 * from the thread that made it (util/log.h: async-signal-safe). It needs
 * write, gettid, getpid and prctl(PR_GET_NAME): every built-in filter allows
 * them; a file's filter without them gets SIGSYS killing with no line.
 */
void seccomp_log_bad_syscall(const siginfo_t *info);

/*
 * A SIGSYS handler for a program without ember's controller (the unit tests):
 * seccomp_log_bad_syscall(), then exit with SECCOMP_EXIT_BAD_SYSCALL. ember's
 * own is the controller's fatal-signal handler (vmm/controller.c), which does
 * the same.
 */
int seccomp_handle_sigsys(void);

/* The x86_64 name of syscall @nr, or NULL (syscall_names.c). */
const char *seccomp_syscall_name(long nr);

#endif
