/* SPDX-License-Identifier: Apache-2.0 */
/* machine-config.huge_pages "2M": whether the host can back the guest with hugetlbfs pages. */
#ifndef EMBER_VMM_HUGEPAGES_H
#define EMBER_VMM_HUGEPAGES_H

#include "vmm/controller.h"

#include <stdint.h>

/*
 * 0 if the host has @mem_mib MiB of free 2 MiB huge pages (/proc/meminfo:
 * HugePages_Free, Hugepagesize), else -ENOMEM (-ENOTSUP: it has none, or
 * another size) with the reason in @err, naming machine-config.huge_pages.
 */
int vm_hugepages_check(uint64_t mem_mib, char err[VMM_ERR_MAX]);

#endif
