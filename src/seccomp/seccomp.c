// SPDX-License-Identifier: Apache-2.0
/*
 * Compiling the filters (libseccomp), installing them, and the SIGSYS handler
 * (see seccomp.h).
 */
#include "seccomp/seccomp.h"

#include "util/log.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The kernel's limit on a filter's length (BPF_MAXINSNS). */
#define BPF_MAX_INSNS 4096
/* si_code of a SIGSYS from a filter (asm-generic/siginfo.h; glibc's headers lack it). */
#define SI_SECCOMP 1

const char *seccomp_thread_key(enum seccomp_thread t)
{
	static const char *const keys[] = {[SECCOMP_VMM] = "vmm",
					   [SECCOMP_API] = "api",
					   [SECCOMP_VCPU] = "vcpu",
					   [SECCOMP_SETUP] = "setup"};

	return (unsigned int)t < SECCOMP_NR_FILTERS ? keys[t] : "?";
}

static struct scmp_arg_cmp to_scmp(const struct seccomp_cond *c)
{
	static const enum scmp_compare ops[] = {
	    [SECCOMP_OP_EQ] = SCMP_CMP_EQ,
	    [SECCOMP_OP_NE] = SCMP_CMP_NE,
	    [SECCOMP_OP_LT] = SCMP_CMP_LT,
	    [SECCOMP_OP_LE] = SCMP_CMP_LE,
	    [SECCOMP_OP_GT] = SCMP_CMP_GT,
	    [SECCOMP_OP_GE] = SCMP_CMP_GE,
	    [SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
	};

	if (c->op == SECCOMP_OP_MASKED_EQ)
		return (struct scmp_arg_cmp){c->index, SCMP_CMP_MASKED_EQ, c->mask, c->val};
	/*
	 * A dword "eq" ignores the upper half, as Firecracker's seccompiler does:
	 * libc may leave garbage there in a 32-bit argument (an ioctl's request).
	 */
	if (c->op == SECCOMP_OP_EQ && !c->qword)
		return (struct scmp_arg_cmp){c->index, SCMP_CMP_MASKED_EQ, 0xffffffffULL, c->val};
	return (struct scmp_arg_cmp){c->index, ops[c->op], c->val, 0};
}

/* libseccomp exports BPF to a file descriptor only (2.5): a memfd, read back. */
static int export_bpf(scmp_filter_ctx ctx, struct seccomp_prog *out)
{
	int fd = memfd_create("ember-seccomp", MFD_CLOEXEC);
	struct stat st;
	ssize_t n;
	int ret;

	if (fd < 0)
		return -errno;
	ret = seccomp_export_bpf(ctx, fd);
	if (ret)
		goto out;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (st.st_size % sizeof(struct sock_filter) ||
	    st.st_size > BPF_MAX_INSNS * (off_t)sizeof(struct sock_filter)) {
		ret = -E2BIG;
		goto out;
	}
	out->owned = malloc((size_t)st.st_size);
	if (!out->owned) {
		ret = -ENOMEM;
		goto out;
	}
	n = pread(fd, out->owned, (size_t)st.st_size, 0);
	if (n != st.st_size) {
		ret = n < 0 ? -errno : -EIO;
		free(out->owned);
		out->owned = NULL;
		goto out;
	}
	out->insns = out->owned;
	out->len = (unsigned short)(st.st_size / (off_t)sizeof(struct sock_filter));
out:
	close(fd);
	return ret;
}

int seccomp_compile(const struct seccomp_filter *f, const char *what, struct seccomp_prog *out,
		    char err[SECCOMP_ERR_MAX])
{
	scmp_filter_ctx ctx;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	ctx = seccomp_init(f->default_action);
	if (!ctx) {
		snprintf(err, SECCOMP_ERR_MAX, "%s: libseccomp refused default_action 0x%x", what,
			 f->default_action);
		return -EINVAL;
	}
	for (size_t i = 0; i < f->nrules; i++) {
		const struct seccomp_rule *r = &f->rules[i];
		struct scmp_arg_cmp cmp[SECCOMP_MAX_CONDS];
		int nr = seccomp_syscall_resolve_name(r->syscall);

		if (nr < 0) {
			snprintf(err, SECCOMP_ERR_MAX,
				 "%s.filter[%zu]: \"%s\" is not a system call", what, i,
				 r->syscall);
			ret = -EINVAL;
			goto out;
		}
		for (unsigned int c = 0; c < r->nconds; c++)
			cmp[c] = to_scmp(&r->conds[c]);
		ret = seccomp_rule_add_array(ctx, f->filter_action, nr, r->nconds, cmp);
		if (ret) {
			snprintf(err, SECCOMP_ERR_MAX, "%s.filter[%zu] (%s): libseccomp: %s", what,
				 i, r->syscall, strerror(-ret));
			goto out;
		}
	}
	ret = export_bpf(ctx, out);
	if (ret == -E2BIG)
		snprintf(err, SECCOMP_ERR_MAX,
			 "%s: longer than the kernel's limit of %d BPF instructions", what,
			 BPF_MAX_INSNS);
	else if (ret)
		snprintf(err, SECCOMP_ERR_MAX, "%s: compiling to BPF: %s", what, strerror(-ret));
out:
	seccomp_release(ctx);
	return ret;
}

void seccomp_prog_free(struct seccomp_prog *p)
{
	free(p->owned);
	memset(p, 0, sizeof(*p));
}

int seccomp_install(const struct seccomp_prog *p)
{
	struct sock_fprog prog;

	if (!p)
		return 0;
	/* The kernel copies the program: the cast drops a const it never writes through. */
	prog =
	    (struct sock_fprog){.len = p->len, .filter = (struct sock_filter *)(uintptr_t)p->insns};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	/* No SECCOMP_FILTER_FLAG_TSYNC: each thread has a filter of its own. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog))
		return -errno;
	return 0;
}

/*
 * Runs on the thread that made the syscall, which its filter trapped: one
 * line, then exit_group, as Firecracker's handler logs and exits with 148.
 */
static void sigsys_handler(int sig, siginfo_t *info, void *uctx)
{
	(void)uctx;
	if (sig != SIGSYS || info->si_code != SI_SECCOMP) {
		/* Not a filter's (kill -SYS): what SIGSYS does by default, once this returns. */
		signal(SIGSYS, SIG_DFL);
		raise(SIGSYS);
		return;
	}
	seccomp_log_bad_syscall(info);
	/* _exit() itself, without a sanitizer's wrapper (which makes syscalls of its own). */
	syscall(SYS_exit_group, SECCOMP_EXIT_BAD_SYSCALL);
}

int seccomp_handle_sigsys(void)
{
	struct sigaction sa = {.sa_sigaction = sigsys_handler, .sa_flags = SA_SIGINFO};

	/* Nothing else runs on this thread meanwhile: every other signal waits. */
	sigfillset(&sa.sa_mask);
	return sigaction(SIGSYS, &sa, NULL) ? -errno : 0;
}
