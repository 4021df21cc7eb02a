// SPDX-License-Identifier: Apache-2.0
/*
 * The filters ember starts with (see seccomp.h): the built-in ones, compiled
 * when ember was built (build/gen/seccomp_bpf.c: compiling them here would
 * cost most of a millisecond at every start), or a --seccomp-filter file's,
 * compiled now. Apart from seccomp.c so that bpfgen, which writes the
 * built-in BPF, links without it.
 */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void seccomp_builtin(struct seccomp_filters *out)
{
	memset(out, 0, sizeof(*out));
	out->f[SECCOMP_VMM] = seccomp_filter_vmm;
	out->f[SECCOMP_API] = seccomp_filter_api;
	out->f[SECCOMP_VCPU] = seccomp_filter_vcpu;
}

/*
 * What the libraries would otherwise do lazily, in whichever thread needs it
 * first, with a syscall no filter allows: open a file.
 *  - strftime() (log lines) reads /etc/localtime the first time: read it now.
 *  - free() in a thread's arena, trimming it the first time, reads
 *    /proc/sys/vm/overcommit_memory: heaps are not trimmed (freed memory
 *    stays for reuse; blocks from 128 KiB up are mmap'd and unmapped as ever).
 *  - jansson's first object seeds its hash function from /dev/urandom (the
 *    API thread's first answer may be a fault message): seed it now.
 */
static void prepare_libraries(void)
{
	tzset();
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	json_object_seed(0);
}

int seccomp_progs_load(struct seccomp_progs *out, const char *path, char err[SECCOMP_ERR_MAX])
{
	struct seccomp_filters filters;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (path) {
		ret = seccomp_parse_file(path, &filters, err);
		for (int t = 0; !ret && t < SECCOMP_NR_THREADS; t++)
			ret =
			    seccomp_compile(&filters.f[t], seccomp_thread_key(t), &out->p[t], err);
		seccomp_filters_free(&filters);
		out->p[SECCOMP_SETUP] = seccomp_builtin_progs[SECCOMP_SETUP];
		out->from_file = true;
	} else {
		memcpy(out->p, seccomp_builtin_progs, sizeof(out->p));
	}
	if (ret) {
		seccomp_progs_free(out);
		return ret;
	}
	prepare_libraries();
	out->on = true;
	return 0;
}

void seccomp_progs_free(struct seccomp_progs *p)
{
	for (int t = 0; t < SECCOMP_NR_FILTERS; t++)
		seccomp_prog_free(&p->p[t]);
	p->on = false;
}

const struct seccomp_prog *seccomp_progs_get(const struct seccomp_progs *p, enum seccomp_thread t)
{
	return p && p->on && (unsigned int)t < SECCOMP_NR_FILTERS ? &p->p[t] : NULL;
}
