// SPDX-License-Identifier: Apache-2.0
/*
 * What the guest reads at its entry point: the e820 map, the command line, the
 * MP table, and either the PVH hvm_start_info or the Linux zero page. The
 * layouts are guest-visible ABI (Xen's arch-x86/hvm/start_info.h and Linux's
 * Documentation/arch/x86/zero-page.rst); they are written field by field.
 */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int e820_build(const struct guest_mem *gm, struct e820_entry *tbl, unsigned int max)
{
	unsigned int n = 0;

#define E820_ADD(a, s, t)                                                              \
	do {                                                                           \
		if (n == max)                                                          \
			return -ENOSPC;                                                \
		tbl[n++] = (struct e820_entry){.addr = (a), .size = (s), .type = (t)}; \
	} while (0)

	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];
		uint64_t start = r->gpa, end = r->gpa + r->size;

		if (gm->has_hotplug && i == gm->nr_regions - 1)
			continue; /* virtio-mem's: the guest's driver adds what it plugs */
		if (start < LAYOUT_HIMEM_START) {
			/*
			 * Low memory: usable below the EBDA; the EBDA, the legacy
			 * video hole and the BIOS area (where the MP and ACPI tables
			 * live) are reserved so the guest never reuses them.
			 */
			E820_ADD(start, LAYOUT_EBDA_START - start, E820_RAM);
			E820_ADD(LAYOUT_EBDA_START, LAYOUT_HIMEM_START - LAYOUT_EBDA_START,
				 E820_RESERVED);
			start = LAYOUT_HIMEM_START;
		}
		if (end > start)
			E820_ADD(start, end - start, E820_RAM);
	}
#undef E820_ADD
	return (int)n;
}

/* struct hvm_start_info (version 1) and its companions, as Xen defines them. */
#define HVM_START_MAGIC 0x336ec578
struct __attribute__((packed)) hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct __attribute__((packed)) hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct __attribute__((packed)) hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

static int write_pvh_info(const struct arch_boot_info *bi, const struct e820_entry *e820,
			  unsigned int n, uint64_t rsdp)
{
	struct hvm_start_info info = {
	    .magic = HVM_START_MAGIC,
	    .version = 1,
	    .cmdline_paddr = LAYOUT_CMDLINE_START,
	    .memmap_paddr = LAYOUT_PVH_MEMMAP_START,
	    .memmap_entries = n,
	    .rsdp_paddr = rsdp,
	};
	int ret = 0;

	for (unsigned int i = 0; i < n && !ret; i++) {
		struct hvm_memmap_entry m = {e820[i].addr, e820[i].size, e820[i].type, 0};

		ret = gm_write(bi->mem, LAYOUT_PVH_MEMMAP_START + i * sizeof(m), &m, sizeof(m));
	}
	if (!ret && bi->initrd_size) {
		struct hvm_modlist_entry mod = {.paddr = bi->initrd_addr, .size = bi->initrd_size};

		info.nr_modules = 1;
		info.modlist_paddr = LAYOUT_PVH_MODLIST_START;
		ret = gm_write(bi->mem, LAYOUT_PVH_MODLIST_START, &mod, sizeof(mod));
	}
	if (!ret)
		ret = gm_write(bi->mem, LAYOUT_PVH_INFO_START, &info, sizeof(info));
	return ret;
}

/* Offsets into struct boot_params (the zero page). */
#define BP_ACPI_RSDP_ADDR   0x070
#define BP_E820_ENTRIES	    0x1e8
#define BP_HDR		    0x1f1
#define BP_BOOT_FLAG	    0x1fe
#define BP_HEADER	    0x202
#define BP_TYPE_OF_LOADER   0x210
#define BP_LOADFLAGS	    0x211
#define BP_RAMDISK_IMAGE    0x218
#define BP_RAMDISK_SIZE	    0x21c
#define BP_CMD_LINE_PTR	    0x228
#define BP_KERNEL_ALIGNMENT 0x230
#define BP_CMDLINE_SIZE	    0x238
#define BP_SETUP_DATA	    0x250 /* the head of the setup_data list */
#define BP_HDR_END	    0x290 /* the setup header a bzImage brings ends here */
#define BP_E820_TABLE	    0x2d0
#define BP_E820_MAX	    128

static void put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* struct setup_data (Linux's asm/bootparam.h) with a SETUP_RNG_SEED payload. */
#define SETUP_RNG_SEED 9
#define RNG_SEED_LEN   32 /* 256 bits: what Linux needs to call its RNG ready */
struct __attribute__((packed)) setup_rng_seed {
	uint64_t next;
	uint32_t type;
	uint32_t len;
	uint8_t data[RNG_SEED_LEN];
};

/*
 * A boot-time seed for the guest's RNG, as QEMU gives: Linux 6.1 reads
 * SETUP_RNG_SEED early, mixes it in, wipes it and, trusting its boot loader
 * (RANDOM_TRUST_BOOTLOADER, default y; random.trust_bootloader=), has a ready
 * RNG at once. Only the zero page carries it: PVH's start info has no such
 * field. No seed (the host's getrandom failing) is not an error.
 */
static int write_rng_seed(const struct guest_mem *gm, uint8_t *zp)
{
	struct setup_rng_seed sd = {.type = SETUP_RNG_SEED, .len = RNG_SEED_LEN};
	uint64_t gpa = LAYOUT_SETUP_DATA_START;
	int ret;

	if (getrandom(sd.data, sizeof(sd.data), GRND_NONBLOCK) != (ssize_t)sizeof(sd.data)) {
		log_warn("no RNG seed for the guest: getrandom: %s", strerror(errno));
		return 0;
	}
	ret = gm_write(gm, gpa, &sd, sizeof(sd));
	explicit_bzero(&sd, sizeof(sd));
	if (!ret)
		memcpy(zp + BP_SETUP_DATA, &gpa, sizeof(gpa));
	return ret;
}

static int write_zero_page(const struct arch_boot_info *bi, size_t cmdline_len,
			   const struct e820_entry *e820, unsigned int n, uint64_t rsdp)
{
	uint8_t *zp = gm_ptr(bi->mem, LAYOUT_ZERO_PAGE_START, 4096);

	if (!zp)
		return -EFAULT;
	memset(zp, 0, 4096);
	/* A bzImage's own header first; the loader fields below override it. */
	if (bi->setup_hdr_len)
		memcpy(zp + BP_HDR, bi->setup_hdr, bi->setup_hdr_len);
	zp[BP_BOOT_FLAG] = 0x55;
	zp[BP_BOOT_FLAG + 1] = 0xaa;
	put32(zp, BP_HEADER, 0x53726448);		     /* "HdrS" */
	memcpy(zp + BP_ACPI_RSDP_ADDR, &rsdp, sizeof(rsdp)); /* boot protocol 2.14+ */
	zp[BP_TYPE_OF_LOADER] = 0xff;			     /* "undefined" boot loader */
	zp[BP_LOADFLAGS] |= 0x01; /* LOADED_HIGH: the kernel is at 1 MiB */
	put32(zp, BP_CMD_LINE_PTR, (uint32_t)LAYOUT_CMDLINE_START);
	put32(zp, BP_CMDLINE_SIZE, (uint32_t)cmdline_len);
	if (!bi->setup_hdr_len)
		put32(zp, BP_KERNEL_ALIGNMENT, 0x1000000);
	if (bi->initrd_size) {
		put32(zp, BP_RAMDISK_IMAGE, (uint32_t)bi->initrd_addr);
		put32(zp, BP_RAMDISK_SIZE, (uint32_t)bi->initrd_size);
	}
	if (n > BP_E820_MAX)
		return -E2BIG;
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	for (unsigned int i = 0; i < n; i++) {
		uint8_t *e = zp + BP_E820_TABLE + i * 20;

		memcpy(e, &e820[i].addr, 8);
		memcpy(e + 8, &e820[i].size, 8);
		memcpy(e + 16, &e820[i].type, 4);
	}
	return write_rng_seed(bi->mem, zp);
}

/* The line's length without its NUL, or -E2BIG when it does not fit its area. */
static long cmdline_length(const char *cmdline)
{
	size_t len = strnlen(cmdline, LAYOUT_CMDLINE_MAX);

	return len < LAYOUT_CMDLINE_MAX ? (long)len : -E2BIG;
}

int arch_update_cmdline(const struct guest_mem *gm, enum arch_boot_proto proto, const char *cmdline)
{
	long len = cmdline_length(cmdline);
	uint32_t len32 = (uint32_t)len;
	int ret = len < 0 ? (int)len : gm_write(gm, LAYOUT_CMDLINE_START, cmdline, (size_t)len + 1);

	/* PVH's start info points at the NUL-terminated line; the zero page also has its size. */
	if (!ret && proto == ARCH_BOOT_LINUX64)
		ret = gm_write(gm, LAYOUT_ZERO_PAGE_START + BP_CMDLINE_SIZE, &len32, sizeof(len32));
	if (ret)
		log_error("rewriting the kernel command line in guest memory: %s", strerror(-ret));
	return ret;
}

int arch_boot_tables(const struct arch_boot_info *bi)
{
	struct e820_entry e820[E820_MAX];
	long len = cmdline_length(bi->cmdline);
	uint64_t rsdp;
	int n, ret;

	if (len < 0 || bi->setup_hdr_len > BP_HDR_END - BP_HDR) {
		ret = len < 0 ? (int)len : -EINVAL;
		goto err;
	}
	ret = gm_write(bi->mem, LAYOUT_CMDLINE_START, bi->cmdline, (size_t)len + 1);
	if (ret)
		goto err;
	n = e820_build(bi->mem, e820, E820_MAX);
	if (n < 0) {
		ret = n;
		goto err;
	}
	/* Both: the MP table for guests without ACPI, ACPI for the rest. */
	ret = mptable_write(bi->mem, bi->nr_vcpus);
	if (ret)
		goto err;
	ret = acpi_write(bi->mem, bi->nr_vcpus, bi->devs, bi->nr_devs, &rsdp);
	if (ret)
		goto err;
	if (bi->proto == ARCH_BOOT_PVH)
		ret = write_pvh_info(bi, e820, (unsigned int)n, rsdp);
	else
		ret = write_zero_page(bi, (size_t)len, e820, (unsigned int)n, rsdp);
	if (ret)
		goto err;
	return 0;
err:
	log_error("writing the boot tables into guest memory: %s", strerror(-ret));
	return ret;
}
