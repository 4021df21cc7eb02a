// SPDX-License-Identifier: Apache-2.0
/* The host's hugetlbfs pool, as /proc/meminfo shows it (see hugepages.h). */
#include "vmm/hugepages.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define WHAT "machine-config.huge_pages: \"2M\": "

int vm_hugepages_check(uint64_t mem_mib, char err[VMM_ERR_MAX])
{
	unsigned long long total = 0, free_pages = 0, size_kb = 0;
	char line[128];
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f) {
		snprintf(err, VMM_ERR_MAX, WHAT "/proc/meminfo: %s", strerror(errno));
		return -ENOTSUP;
	}
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Total: %llu", &total);
		sscanf(line, "HugePages_Free: %llu", &free_pages);
		sscanf(line, "Hugepagesize: %llu kB", &size_kb);
	}
	fclose(f);
	if (!total) {
		snprintf(err, VMM_ERR_MAX,
			 WHAT "this host has no huge pages (HugePages_Total is 0 in /proc/meminfo; "
			      "reserve some in /proc/sys/vm/nr_hugepages, or use \"None\" or "
			      "\"Transparent\")");
		return -ENOTSUP;
	}
	if (size_kb != 2048) {
		snprintf(err, VMM_ERR_MAX,
			 WHAT "this host's default huge page size is %llu kB, not 2048 kB",
			 size_kb);
		return -ENOTSUP;
	}
	if (free_pages < mem_mib / 2) {
		snprintf(err, VMM_ERR_MAX,
			 WHAT "%llu MiB of guest memory needs %llu huge pages; the host has %llu "
			      "free of %llu (/proc/meminfo)",
			 (unsigned long long)mem_mib, (unsigned long long)mem_mib / 2, free_pages,
			 total);
		return -ENOMEM;
	}
	return 0;
}
