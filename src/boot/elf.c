// SPDX-License-Identifier: Apache-2.0
/*
 * ELF64 vmlinux loader. The file is untrusted: headers are copied out with
 * memcpy (no alignment assumed), every offset and size is checked against the
 * file length with overflow-safe arithmetic, and everything is validated before
 * the first byte is written, so a bad file leaves guest RAM untouched.
 */
#include "boot/boot.h"

#include "arch/x86_64/layout.h"

#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Header fields are read as host integers: only little-endian hosts load x86 kernels. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian host required");

#ifndef XEN_ELFNOTE_PHYS32_ENTRY
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#endif

/* Whether [off, off + len) lies inside a file of @size bytes. */
static bool in_file(uint64_t off, uint64_t len, size_t size)
{
	return off <= size && len <= size - off;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static void get_phdr(const uint8_t *buf, const Elf64_Ehdr *eh, unsigned int i, Elf64_Phdr *ph)
{
	memcpy(ph, buf + eh->e_phoff + (uint64_t)i * sizeof(*ph), sizeof(*ph));
}

static int check_load(const struct guest_mem *gm, const Elf64_Phdr *ph, unsigned int i, size_t size,
		      char *err)
{
	uint64_t end;

	if (!in_file(ph->p_offset, ph->p_filesz, size)) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF program header %u: segment data (offset 0x%" PRIx64
			 ", filesz 0x%" PRIx64 ") extends past the end of the file (%zu bytes)",
			 i, ph->p_offset, ph->p_filesz, size);
		return -ENOEXEC;
	}
	if (ph->p_filesz > ph->p_memsz) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF program header %u: filesz 0x%" PRIx64
			 " is larger than memsz 0x%" PRIx64,
			 i, ph->p_filesz, ph->p_memsz);
		return -ENOEXEC;
	}
	if (!ph->p_memsz)
		return 0;
	if (__builtin_add_overflow(ph->p_paddr, ph->p_memsz, &end)) {
		snprintf(
		    err, BOOT_ERR_MAX,
		    "ELF program header %u overflows the 64-bit address space (paddr 0x%" PRIx64
		    ", memsz 0x%" PRIx64 ")",
		    i, ph->p_paddr, ph->p_memsz);
		return -ENOEXEC;
	}
	/* Below 1 MiB live the GDT, page tables, zero page, command line and ACPI tables. */
	if (ph->p_paddr < LAYOUT_HIMEM_START) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF program header %u at paddr 0x%" PRIx64
			 " is below 0x%llx, where the boot structures live",
			 i, ph->p_paddr, LAYOUT_HIMEM_START);
		return -ENOEXEC;
	}
	if (!gm_ptr(gm, ph->p_paddr, ph->p_memsz)) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF program header %u lies outside guest RAM (paddr 0x%" PRIx64
			 ", memsz 0x%" PRIx64 ")",
			 i, ph->p_paddr, ph->p_memsz);
		return -ENOSPC;
	}
	return 0;
}

/*
 * Scans the notes of one PT_NOTE segment for Xen's PHYS32_ENTRY. Returns 1 with
 * *entry set, 0 if absent, or -ENOEXEC for a note that overruns the segment.
 * Notes are 4-byte aligned unless the segment says 8 (as readelf does).
 */
static int find_pvh_note(const uint8_t *seg, uint64_t len, uint64_t p_align, unsigned int i,
			 uint32_t *entry, char *err)
{
	const uint64_t align = p_align == 8 ? 8 : 4;
	uint64_t off = 0;

	while (off < len) {
		uint64_t desc_off, next;
		Elf64_Nhdr nh;

		if (len - off < sizeof(nh)) {
			snprintf(err, BOOT_ERR_MAX,
				 "ELF note at offset 0x%" PRIx64
				 " of program header %u is truncated "
				 "(%" PRIu64 " bytes left, header needs %zu)",
				 off, i, len - off, sizeof(nh));
			return -ENOEXEC;
		}
		memcpy(&nh, seg + off, sizeof(nh));
		/* namesz and descsz are 32-bit: none of these sums can overflow. */
		desc_off = align_up(off + sizeof(nh) + nh.n_namesz, align);
		next = align_up(desc_off + nh.n_descsz, align);
		if (next > len) {
			snprintf(err, BOOT_ERR_MAX,
				 "ELF note at offset 0x%" PRIx64
				 " of program header %u overruns its "
				 "segment (namesz %u, descsz %u, segment size 0x%" PRIx64 ")",
				 off, i, nh.n_namesz, nh.n_descsz, len);
			return -ENOEXEC;
		}
		if (nh.n_type == XEN_ELFNOTE_PHYS32_ENTRY && nh.n_namesz == 4 &&
		    !memcmp(seg + off + sizeof(nh), "Xen", 4)) {
			if (nh.n_descsz != 4 && nh.n_descsz != 8) {
				snprintf(
				    err, BOOT_ERR_MAX,
				    "ELF PVH entry note has a %u-byte descriptor (expected 4 or 8)",
				    nh.n_descsz);
				return -ENOEXEC;
			}
			/* Little-endian: the first 4 bytes are the low 32 bits either way. */
			memcpy(entry, seg + desc_off, sizeof(*entry));
			return 1;
		}
		off = next;
	}
	return 0;
}

static bool entry_in_load(const uint8_t *buf, const Elf64_Ehdr *eh, uint64_t entry)
{
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(buf, eh, i, &ph);
		if (ph.p_type == PT_LOAD && entry >= ph.p_paddr && entry - ph.p_paddr < ph.p_memsz)
			return true;
	}
	return false;
}

int boot_load_elf(const struct guest_mem *gm, const uint8_t *buf, size_t size,
		  struct boot_image *img, char err[BOOT_ERR_MAX])
{
	uint64_t lo = UINT64_MAX, hi = 0, entry;
	unsigned int nr_load = 0;
	uint32_t pvh_entry = 0;
	bool pvh = false;
	Elf64_Ehdr eh;
	int ret;

	memset(img, 0, sizeof(*img));
	if (size < sizeof(eh)) {
		snprintf(err, BOOT_ERR_MAX, "truncated ELF header (%zu bytes, need %zu)", size,
			 sizeof(eh));
		return -ENOEXEC;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG)) {
		snprintf(err, BOOT_ERR_MAX, "not an ELF file (bad magic)");
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF class %u is not ELFCLASS64 (only 64-bit ELF is loaded)",
			 eh.e_ident[EI_CLASS]);
		return -ENOEXEC;
	}
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
		snprintf(err, BOOT_ERR_MAX, "ELF data encoding %u is not little-endian",
			 eh.e_ident[EI_DATA]);
		return -ENOEXEC;
	}
	if (eh.e_machine != EM_X86_64) {
		snprintf(err, BOOT_ERR_MAX, "ELF machine %u is not x86-64 (EM_X86_64 = %u)",
			 eh.e_machine, EM_X86_64);
		return -ENOEXEC;
	}
	if (eh.e_type != ET_EXEC) {
		snprintf(err, BOOT_ERR_MAX, "ELF type %u is not an executable (ET_EXEC)",
			 eh.e_type);
		return -ENOEXEC;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr)) {
		snprintf(err, BOOT_ERR_MAX, "ELF program header size %u is not %zu", eh.e_phentsize,
			 sizeof(Elf64_Phdr));
		return -ENOEXEC;
	}
	if (eh.e_phnum == PN_XNUM) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF extended program header numbering is not supported");
		return -ENOEXEC;
	}
	/* e_phnum < 0xffff and 56-byte entries: the table length cannot overflow. */
	if (!in_file(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr), size)) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF program header table (offset 0x%" PRIx64
			 ", %u entries) extends past the end of the file (%zu bytes)",
			 eh.e_phoff, eh.e_phnum, size);
		return -ENOEXEC;
	}

	/* Pass 1: validate every header and find the PVH note. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		get_phdr(buf, &eh, i, &ph);
		if (ph.p_type == PT_LOAD) {
			ret = check_load(gm, &ph, i, size, err);
			if (ret)
				return ret;
			if (!ph.p_memsz)
				continue;
			nr_load++;
			if (ph.p_paddr < lo)
				lo = ph.p_paddr;
			if (ph.p_paddr + ph.p_memsz > hi)
				hi = ph.p_paddr + ph.p_memsz;
		} else if (ph.p_type == PT_NOTE) {
			if (!in_file(ph.p_offset, ph.p_filesz, size)) {
				snprintf(err, BOOT_ERR_MAX,
					 "ELF program header %u: note data (offset 0x%" PRIx64
					 ", filesz 0x%" PRIx64
					 ") extends past the end of the file (%zu bytes)",
					 i, ph.p_offset, ph.p_filesz, size);
				return -ENOEXEC;
			}
			if (pvh)
				continue;
			ret = find_pvh_note(buf + ph.p_offset, ph.p_filesz, ph.p_align, i,
					    &pvh_entry, err);
			if (ret < 0)
				return ret;
			pvh = ret;
		}
	}
	if (!nr_load) {
		snprintf(err, BOOT_ERR_MAX, "ELF has no loadable (PT_LOAD) segment");
		return -ENOEXEC;
	}
	entry = pvh ? pvh_entry : eh.e_entry;
	if (!entry_in_load(buf, &eh, entry)) {
		snprintf(err, BOOT_ERR_MAX,
			 "ELF %sentry point 0x%" PRIx64 " is not inside a loaded segment",
			 pvh ? "PVH " : "", entry);
		return -ENOEXEC;
	}

	/* Pass 2: copy. Every range was checked above. */
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		uint8_t *dst;
		Elf64_Phdr ph;

		get_phdr(buf, &eh, i, &ph);
		if (ph.p_type != PT_LOAD || !ph.p_memsz)
			continue;
		dst = gm_ptr(gm, ph.p_paddr, ph.p_memsz);
		if (!dst) { /* unreachable: checked in pass 1 */
			snprintf(err, BOOT_ERR_MAX, "ELF program header %u lies outside guest RAM",
				 i);
			return -ENOSPC;
		}
		memcpy(dst, buf + ph.p_offset, ph.p_filesz);
		if (ph.p_memsz > ph.p_filesz) /* .bss: checked with the segment above */
			gm_zero(gm, ph.p_paddr + ph.p_filesz, ph.p_memsz - ph.p_filesz);
	}

	img->proto = pvh ? BOOT_PVH : BOOT_LINUX64;
	img->entry = entry;
	img->kernel_start = lo;
	img->kernel_end = hi;
	return 0;
}
