// SPDX-License-Identifier: Apache-2.0
/*
 * bzImage loader (Linux x86 boot protocol, Documentation/arch/x86/boot.rst).
 * Only the 64-bit entry is used: the protected-mode kernel is copied to 1 MiB,
 * as Firecracker does, and entered at +0x200 in long mode with %rsi pointing
 * to a zero page the caller builds from the setup header kept in the image.
 * kernel_end covers where the kernel decompresses itself, so that the initrd
 * is placed clear of it.
 */
#include "boot/boot.h"

#include "arch/x86_64/layout.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Setup header offsets in the file. */
#define BZ_SETUP_SECTS	   0x1f1
#define BZ_JUMP_OFFSET	   0x201 /* the header ends at 0x202 + this byte */
#define BZ_MAGIC	   0x202
#define BZ_VERSION	   0x206
#define BZ_LOADFLAGS	   0x211
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_XLOADFLAGS	   0x236
#define BZ_PREF_ADDRESS	   0x258
#define BZ_INIT_SIZE	   0x260
#define BZ_HDR_END	   0x264 /* the last field read here ends here */

#define BZ_MIN_VERSION	  0x020c /* 2.12: xloadflags */
#define BZ_LOADED_HIGH	  0x01
#define BZ_XLF_KERNEL_64  0x01
#define BZ_ENTRY64_OFFSET 0x200
#define BZ_LOAD_ADDR	  LAYOUT_HIMEM_START

static uint16_t get16(const uint8_t *buf, size_t off)
{
	uint16_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *buf, size_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *buf, size_t off)
{
	uint32_t v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

int boot_load_bzimage(const struct guest_mem *gm, const uint8_t *buf, size_t size,
		      struct boot_image *img, char err[BOOT_ERR_MAX])
{
	uint32_t setup_sects, init_size;
	size_t pm_off, pm_size, hdr_len;
	uint64_t extent, run, run_end;
	uint16_t version;
	uint8_t *dst;

	memset(img, 0, sizeof(*img));
	if (size < BZ_HDR_END) {
		snprintf(err, BOOT_ERR_MAX,
			 "bzImage truncated: %zu bytes, the setup header needs 0x%x", size,
			 BZ_HDR_END);
		return -ENOEXEC;
	}
	if (memcmp(buf + BZ_MAGIC, "HdrS", 4)) {
		snprintf(err, BOOT_ERR_MAX, "not a bzImage: no \"HdrS\" signature at 0x%x",
			 BZ_MAGIC);
		return -ENOEXEC;
	}
	version = get16(buf, BZ_VERSION);
	if (version < BZ_MIN_VERSION) {
		snprintf(err, BOOT_ERR_MAX,
			 "bzImage boot protocol %u.%02u is too old (2.12 or later needed)",
			 version >> 8, version & 0xff);
		return -ENOEXEC;
	}
	if (!(buf[BZ_LOADFLAGS] & BZ_LOADED_HIGH)) {
		snprintf(err, BOOT_ERR_MAX,
			 "bzImage is not LOADED_HIGH (loadflags 0x%02x): a zImage cannot be loaded",
			 buf[BZ_LOADFLAGS]);
		return -ENOEXEC;
	}
	if (!(get16(buf, BZ_XLOADFLAGS) & BZ_XLF_KERNEL_64)) {
		snprintf(
		    err, BOOT_ERR_MAX,
		    "bzImage has no 64-bit entry point (xloadflags 0x%04x lacks XLF_KERNEL_64)",
		    get16(buf, BZ_XLOADFLAGS));
		return -ENOEXEC;
	}

	setup_sects = buf[BZ_SETUP_SECTS];
	if (!setup_sects) /* the boot protocol's legacy meaning of 0 */
		setup_sects = 4;
	pm_off = (size_t)(setup_sects + 1) * 512;
	if (size <= pm_off + BZ_ENTRY64_OFFSET) {
		snprintf(
		    err, BOOT_ERR_MAX,
		    "bzImage truncated: %zu bytes, but the protected-mode kernel starts at 0x%zx "
		    "and its 64-bit entry at 0x%zx",
		    size, pm_off, pm_off + BZ_ENTRY64_OFFSET);
		return -ENOEXEC;
	}
	pm_size = size - pm_off;

	/* init_size: what the kernel needs from its load address before it reads the e820 map. */
	init_size = get32(buf, BZ_INIT_SIZE);
	extent = pm_size > init_size ? pm_size : init_size;
	dst = gm_ptr(gm, BZ_LOAD_ADDR, extent);
	if (!dst) {
		snprintf(err, BOOT_ERR_MAX,
			 "bzImage does not fit in guest RAM: needs 0x%" PRIx64
			 " bytes at 0x%llx (kernel 0x%zx bytes, init_size 0x%x)",
			 extent, BZ_LOAD_ADDR, pm_size, init_size);
		return -ENOSPC;
	}
	/*
	 * Loaded below its pref_address (LOAD_PHYSICAL_ADDR, 16 MiB by default),
	 * the kernel moves itself there and decompresses in [pref, pref +
	 * init_size) without consulting the memory map unless KASLR is on: that
	 * range must be RAM, and the initrd must stay out of it.
	 */
	run = get64(buf, BZ_PREF_ADDRESS);
	if (run < BZ_LOAD_ADDR)
		run = BZ_LOAD_ADDR;
	if (__builtin_add_overflow(run, (uint64_t)init_size, &run_end) ||
	    (init_size && !gm_ptr(gm, run, init_size))) {
		snprintf(
		    err, BOOT_ERR_MAX,
		    "bzImage does not fit in guest RAM: it decompresses at pref_address 0x%" PRIx64
		    " (init_size 0x%x)",
		    run, init_size);
		return -ENOSPC;
	}
	memcpy(dst, buf + pm_off, pm_size);

	hdr_len = 0x202 + (size_t)buf[BZ_JUMP_OFFSET] - BOOT_SETUP_HDR_OFFSET;
	if (hdr_len > BOOT_SETUP_HDR_MAX)
		hdr_len = BOOT_SETUP_HDR_MAX;
	if (hdr_len > size - BOOT_SETUP_HDR_OFFSET)
		hdr_len = size - BOOT_SETUP_HDR_OFFSET;
	memcpy(img->setup_hdr, buf + BOOT_SETUP_HDR_OFFSET, hdr_len);
	img->setup_hdr_len = (uint32_t)hdr_len;
	img->initrd_addr_max = get32(buf, BZ_INITRD_ADDR_MAX);
	img->proto = BOOT_LINUX64;
	img->entry = BZ_LOAD_ADDR + BZ_ENTRY64_OFFSET;
	img->kernel_start = BZ_LOAD_ADDR;
	img->kernel_end = BZ_LOAD_ADDR + extent > run_end ? BZ_LOAD_ADDR + extent : run_end;
	return 0;
}
