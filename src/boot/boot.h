/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Kernel and initrd loaders. They parse untrusted files: every offset and size
 * read from a file is checked against the file's length and every destination
 * against guest RAM (through gm_ptr) before a byte is copied.
 *
 * On failure they return a negative errno and leave one line in @err naming the
 * problem (the caller prefixes the file name), e.g. "ELF program header 2 lies
 * outside guest RAM (paddr 0x..., memsz 0x...)". Malformed or unsupported
 * images give -ENOEXEC, images that do not fit in guest RAM -ENOSPC.
 */
#ifndef EMBER_BOOT_BOOT_H
#define EMBER_BOOT_BOOT_H

#include "core/guest_mem.h"

#include <stddef.h>
#include <stdint.h>

#define BOOT_ERR_MAX 256

enum boot_protocol {
	BOOT_PVH,     /* 32-bit protected-mode entry, %ebx = hvm_start_info */
	BOOT_LINUX64, /* Linux 64-bit boot protocol, %rsi = zero page */
};

/* The part of a bzImage's real-mode header that the zero page carries. */
#define BOOT_SETUP_HDR_OFFSET 0x1f1
#define BOOT_SETUP_HDR_MAX    (0x290 - 0x1f1)

struct boot_image {
	enum boot_protocol proto;
	uint64_t entry;	       /* guest-physical entry point */
	uint64_t kernel_start; /* lowest loaded guest-physical byte */
	uint64_t kernel_end;   /* one past the highest (including bss) */
	/* bzImage only: header bytes from file offset 0x1f1, for the zero page. */
	uint32_t setup_hdr_len; /* 0 for an ELF */
	uint8_t setup_hdr[BOOT_SETUP_HDR_MAX];
	uint32_t initrd_addr_max; /* highest byte an initrd may occupy; 0 = no limit */
};

/*
 * Loads a kernel image held in memory: an ELF64 vmlinux (with a Xen PVH note
 * -> BOOT_PVH, without one -> BOOT_LINUX64 at e_entry) or a bzImage (boot
 * protocol >= 2.12, 64-bit entry -> BOOT_LINUX64).
 */
int boot_load_kernel_buf(const struct guest_mem *gm, const uint8_t *buf, size_t size,
			 struct boot_image *img, char err[BOOT_ERR_MAX]);

/* Reads @path and loads it; @err names the file. */
int boot_load_kernel(const struct guest_mem *gm, const char *path, struct boot_image *img,
		     char err[BOOT_ERR_MAX]);

/*
 * Places an initrd at the highest page-aligned address that ends below both the
 * top of low RAM (under the 32-bit MMIO gap) and @img->initrd_addr_max, and
 * above @img->kernel_end. -ENOSPC (with @err) when it does not fit.
 */
int boot_load_initrd_buf(const struct guest_mem *gm, const struct boot_image *img,
			 const uint8_t *buf, size_t size, uint64_t *addr, char err[BOOT_ERR_MAX]);
int boot_load_initrd(const struct guest_mem *gm, const struct boot_image *img, const char *path,
		     uint64_t *addr, uint64_t *size, char err[BOOT_ERR_MAX]);

/*
 * Reads a whole regular file (at most @max bytes, else -EFBIG) into a malloc'ed
 * buffer the caller frees; @err starts with @path.
 */
int boot_read_file(const char *path, size_t max, uint8_t **buf, size_t *size,
		   char err[BOOT_ERR_MAX]);

/* The format loaders behind boot_load_kernel_buf (elf.c, bzimage.c). */
int boot_load_elf(const struct guest_mem *gm, const uint8_t *buf, size_t size,
		  struct boot_image *img, char err[BOOT_ERR_MAX]);
int boot_load_bzimage(const struct guest_mem *gm, const uint8_t *buf, size_t size,
		      struct boot_image *img, char err[BOOT_ERR_MAX]);

#endif
