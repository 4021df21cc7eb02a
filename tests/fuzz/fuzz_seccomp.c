// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the seccomp filter file (src/seccomp/parse.c): the
 * input is a --seccomp-filter file. A refusal must say why; whatever the
 * parser takes must compile with libseccomp (the parser refuses what
 * libseccomp would), unless it is longer than the kernel takes.
 */
#include "seccomp/seccomp.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seccomp_filters f;
	char err[SECCOMP_ERR_MAX] = "";

	if (seccomp_parse((const char *)data, size, &f, err)) {
		if (!err[0])
			abort();
		return 0;
	}
	for (int t = 0; t < SECCOMP_NR_THREADS; t++) {
		struct seccomp_prog p;
		int ret = seccomp_compile(&f.f[t], seccomp_thread_key(t), &p, err);

		if (ret && ret != -E2BIG)
			abort();
		seccomp_prog_free(&p);
	}
	seccomp_filters_free(&f);
	return 0;
}
