// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer target for the kernel and initrd loaders (src/boot/): they parse
 * untrusted files (ELF64 with or without a PVH note, bzImage) and copy into
 * guest RAM. Each input is loaded as a kernel into a 64 MiB fake guest; on
 * success, the same bytes are placed as an initrd after it. A crash, a sanitizer
 * report or a write outside guest RAM (ASan) is a finding.
 */
#include "boot/boot.h"

#include <stdint.h>
#include <stdlib.h>

#define FUZZ_RAM (64u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *ram;
	struct guest_region r;
	struct guest_mem gm;
	struct boot_image img;
	char err[BOOT_ERR_MAX];
	uint64_t addr;

	/* Untouched pages of calloc'ed memory cost nothing: one 64 MiB guest for every input. */
	if (!ram && !(ram = calloc(1, FUZZ_RAM)))
		abort();
	r = (struct guest_region){0, FUZZ_RAM, ram};
	if (guest_mem_init_fake(&gm, &r, 1))
		abort();
	if (boot_load_kernel_buf(&gm, data, size, &img, err) == 0 && size)
		boot_load_initrd_buf(&gm, &img, data, size, &addr, err);
	return 0;
}
