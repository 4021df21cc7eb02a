// SPDX-License-Identifier: Apache-2.0
/*
 * Kernel and initrd loaders against crafted images in fake guest memory:
 * valid ELF (PVH and plain) and bzImage, then one malformed field at a time.
 */
#include "test.h"

#include "arch/x86_64/layout.h"
#include "boot/boot.h"

#include <elf.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define RAM_SIZE		 (64ULL << 20)
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* The crafted ELF: one PT_LOAD (with bss) and one PT_NOTE holding the Xen note. */
#define E_NOTE_OFF  0x200
#define E_LOAD_OFF  0x1000
#define E_PADDR	    0x100000ULL
#define E_FILESZ    0x2000ULL
#define E_MEMSZ	    0x3000ULL
#define E_PVH_ENTRY 0x100010U
#define E_ENTRY	    0x100020ULL
#define E_SIZE	    (E_LOAD_OFF + E_FILESZ)

/* The crafted bzImage: 4 setup sectors, so the kernel starts at 0xa00. */
#define BZ_PM_OFF    0xa00
#define BZ_PM_SIZE   0x3000
#define BZ_SIZE	     (BZ_PM_OFF + BZ_PM_SIZE)
#define BZ_INIT_SIZE 0x10000

static uint8_t file[0x8000];
static uint8_t *ram; /* mapped once; MADV_DONTNEED zeroes it between cases */
static struct guest_mem gm;
static char err[BOOT_ERR_MAX];

/* Fresh, zeroed fake guest RAM of @size bytes at address 0. */
static void fake_ram(uint64_t size)
{
	struct guest_region r;

	if (!ram) {
		ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		CHECK(ram != MAP_FAILED);
	}
	CHECK(!madvise(ram, RAM_SIZE, MADV_DONTNEED));
	r = (struct guest_region){0, size, ram};
	CHECK_EQ(guest_mem_init_fake(&gm, &r, 1), 0);
	memset(err, 0, sizeof(err));
}

static Elf64_Ehdr get_ehdr(void)
{
	Elf64_Ehdr eh;

	memcpy(&eh, file, sizeof(eh));
	return eh;
}

static void put_ehdr(const Elf64_Ehdr *eh)
{
	memcpy(file, eh, sizeof(*eh));
}

static Elf64_Phdr get_phdr(unsigned int i)
{
	Elf64_Phdr ph;

	memcpy(&ph, file + sizeof(Elf64_Ehdr) + i * sizeof(ph), sizeof(ph));
	return ph;
}

static void put_phdr(unsigned int i, const Elf64_Phdr *ph)
{
	memcpy(file + sizeof(Elf64_Ehdr) + i * sizeof(*ph), ph, sizeof(*ph));
}

static void put_note(size_t off, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	Elf64_Nhdr nh = {(uint32_t)strlen(name) + 1, descsz, type};

	memcpy(file + off, &nh, sizeof(nh));
	memcpy(file + off + sizeof(nh), name, nh.n_namesz);
	memcpy(file + off + sizeof(nh) + ((nh.n_namesz + 3) & ~3U), desc, descsz);
}

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + 1);
}

/* Builds a valid vmlinux in file[] (with the PVH note if @pvh); returns its size. */
static size_t build_elf(bool pvh)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr load = {0}, note = {0};
	uint32_t entry = E_PVH_ENTRY;

	memset(file, 0, sizeof(file));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_entry = E_ENTRY;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = pvh ? 2 : 1;
	put_ehdr(&eh);

	load.p_type = PT_LOAD;
	load.p_flags = PF_R | PF_X;
	load.p_offset = E_LOAD_OFF;
	load.p_vaddr = 0xffffffff81000000ULL;
	load.p_paddr = E_PADDR;
	load.p_filesz = E_FILESZ;
	load.p_memsz = E_MEMSZ;
	load.p_align = 0x1000;
	put_phdr(0, &load);
	for (uint64_t i = 0; i < E_FILESZ; i++)
		file[E_LOAD_OFF + i] = pattern(i);

	if (pvh) {
		note.p_type = PT_NOTE;
		note.p_offset = E_NOTE_OFF;
		note.p_filesz = sizeof(Elf64_Nhdr) + 4 + 4;
		note.p_align = 4;
		put_phdr(1, &note);
		put_note(E_NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4);
	}
	return E_SIZE;
}

static void put16(size_t off, uint16_t v)
{
	memcpy(file + off, &v, sizeof(v));
}

static void put32(size_t off, uint32_t v)
{
	memcpy(file + off, &v, sizeof(v));
}

/* Builds a valid 64-bit bzImage (protocol 2.15) in file[]; returns its size. */
static size_t build_bzimage(void)
{
	memset(file, 0, sizeof(file));
	file[0x1f1] = 4; /* setup_sects */
	put16(0x1fe, 0xaa55);
	file[0x200] = 0xeb;
	file[0x201] = 0x6a; /* header ends at 0x26c */
	memcpy(file + 0x202, "HdrS", 4);
	put16(0x206, 0x020f);
	file[0x211] = 0x01;	    /* LOADED_HIGH */
	put32(0x22c, 0x7fffffff);   /* initrd_addr_max */
	put16(0x236, 0x0003);	    /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	put32(0x260, BZ_INIT_SIZE); /* init_size */
	for (uint64_t i = 0; i < BZ_PM_SIZE; i++)
		file[BZ_PM_OFF + i] = pattern(i);
	return BZ_SIZE;
}

static int load(size_t size, struct boot_image *img)
{
	return boot_load_kernel_buf(&gm, file, size, img, err);
}

/* A malformed kernel must fail, name its problem, and leave guest RAM untouched. */
#define CHECK_REFUSED(size, what)               \
	do {                                    \
		struct boot_image img_;         \
		CHECK(load((size), &img_) < 0); \
		CHECK_CONTAINS(err, (what));    \
		CHECK(!strchr(err, '\n'));      \
		CHECK_EQ(ram[E_PADDR], 0);      \
	} while (0)

/* --- ELF: valid --- */

TEST(elf_pvh_valid)
{
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	memset(ram + E_PADDR + E_FILESZ, 0xaa, E_MEMSZ - E_FILESZ); /* bss must be cleared */
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_PVH);
	CHECK_EQ(img.entry, E_PVH_ENTRY);
	CHECK_EQ(img.kernel_start, E_PADDR);
	CHECK_EQ(img.kernel_end, E_PADDR + E_MEMSZ);
	CHECK_EQ(img.setup_hdr_len, 0);
	CHECK_EQ(img.initrd_addr_max, 0);
	CHECK(!memcmp(ram + E_PADDR, file + E_LOAD_OFF, E_FILESZ));
	for (uint64_t i = E_FILESZ; i < E_MEMSZ; i++)
		CHECK_EQ(ram[E_PADDR + i], 0);
}

TEST(elf_pvh_note_8byte_desc)
{
	uint64_t entry = 0xdead000000100040ULL; /* only the low 32 bits count */
	struct boot_image img;
	Elf64_Phdr note;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	put_note(E_NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 8);
	note = get_phdr(1);
	note.p_filesz = sizeof(Elf64_Nhdr) + 4 + 8;
	put_phdr(1, &note);
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_PVH);
	CHECK_EQ(img.entry, 0x100040);
}

TEST(elf_pvh_note_after_other_notes)
{
	uint32_t entry = E_PVH_ENTRY, other = 0x1234;
	uint8_t build_id[5] = {1, 2, 3, 4, 5}; /* unaligned descsz: padded to 8 */
	struct boot_image img;
	Elf64_Phdr note;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	put_note(E_NOTE_OFF, "GNU", NT_GNU_BUILD_ID, build_id, 5);	       /* 12+4+8 */
	put_note(E_NOTE_OFF + 24, "Xen", 17, &other, 4);		       /* 12+4+4 */
	put_note(E_NOTE_OFF + 44, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4); /* 12+4+4 */
	note = get_phdr(1);
	note.p_filesz = 64;
	put_phdr(1, &note);
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_PVH);
	CHECK_EQ(img.entry, E_PVH_ENTRY);
}

TEST(elf_linux64_without_note)
{
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(false);
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_LINUX64);
	CHECK_EQ(img.entry, E_ENTRY);
	CHECK_EQ(img.kernel_start, E_PADDR);
	CHECK_EQ(img.kernel_end, E_PADDR + E_MEMSZ);
	CHECK(!memcmp(ram + E_PADDR, file + E_LOAD_OFF, E_FILESZ));
}

TEST(elf_linux64_non_xen_note)
{
	uint32_t entry = E_PVH_ENTRY;
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	put_note(E_NOTE_OFF, "Xe", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4); /* 12+4+4 still */
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_LINUX64);
	CHECK_EQ(img.entry, E_ENTRY);
}

TEST(elf_two_segments)
{
	struct boot_image img;
	Elf64_Phdr ph;
	Elf64_Ehdr eh;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	ph = get_phdr(0);
	ph.p_paddr = 0x400000;
	ph.p_memsz = ph.p_filesz = 0x1000;
	ph.p_offset = E_LOAD_OFF + 0x1000;
	put_phdr(2, &ph);
	eh = get_ehdr();
	eh.e_phnum = 3;
	put_ehdr(&eh);
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.kernel_start, E_PADDR);
	CHECK_EQ(img.kernel_end, 0x401000);
	CHECK(!memcmp(ram + 0x400000, file + E_LOAD_OFF + 0x1000, 0x1000));
}

/* --- ELF: malformed --- */

TEST(empty_file)
{
	struct boot_image img;

	fake_ram(RAM_SIZE);
	CHECK(boot_load_kernel_buf(&gm, file, 0, &img, err) < 0);
	CHECK_CONTAINS(err, "empty");
}

TEST(not_a_kernel)
{
	fake_ram(RAM_SIZE);
	memset(file, 0, sizeof(file));
	memcpy(file, "#!/bin/sh\necho hi\n", 18);
	CHECK_REFUSED(sizeof(file), "not a kernel image: neither ELF nor bzImage");
	CHECK_REFUSED(3, "not a kernel image");
}

TEST(elf_truncated_header)
{
	fake_ram(RAM_SIZE);
	build_elf(true);
	CHECK_REFUSED(sizeof(Elf64_Ehdr) - 1, "truncated ELF header");
	CHECK_REFUSED(4, "truncated ELF header");
}

TEST(elf_class32)
{
	fake_ram(RAM_SIZE);
	build_elf(true);
	file[EI_CLASS] = ELFCLASS32;
	CHECK_REFUSED(E_SIZE, "ELFCLASS64");
}

TEST(elf_big_endian)
{
	fake_ram(RAM_SIZE);
	build_elf(true);
	file[EI_DATA] = ELFDATA2MSB;
	CHECK_REFUSED(E_SIZE, "little-endian");
}

TEST(elf_wrong_machine)
{
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	eh = get_ehdr();
	eh.e_machine = EM_AARCH64;
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "not x86-64");
}

TEST(elf_not_executable)
{
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	eh = get_ehdr();
	eh.e_type = ET_DYN;
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "not an executable");
}

TEST(elf_bad_phentsize)
{
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	eh = get_ehdr();
	eh.e_phentsize = sizeof(Elf32_Phdr);
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "program header size");
}

TEST(elf_phdr_table_past_eof)
{
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	eh = get_ehdr();
	eh.e_phoff = E_SIZE - sizeof(Elf64_Phdr); /* the second entry runs past the end */
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "program header table");
	eh.e_phoff = UINT64_MAX - 8; /* offset + length wraps */
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "program header table");
	/* The file ends inside the table. */
	build_elf(true);
	CHECK_REFUSED(sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + 10, "program header table");
}

TEST(elf_segment_data_past_eof)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	CHECK_REFUSED(E_SIZE - 1, "extends past the end of the file");
	ph = get_phdr(0);
	ph.p_offset = UINT64_MAX - 0x100; /* offset + filesz wraps */
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "extends past the end of the file");
}

TEST(elf_filesz_over_memsz)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_memsz = ph.p_filesz - 1;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "filesz 0x2000 is larger than memsz 0x1fff");
}

TEST(elf_segment_outside_ram)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_paddr = RAM_SIZE - 0x1000; /* starts inside, ends outside */
	put_phdr(0, &ph);
	CHECK_REFUSED(
	    E_SIZE, "ELF program header 0 lies outside guest RAM (paddr 0x3fff000, memsz 0x3000)");
	ph.p_paddr = 0x100000000ULL;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "outside guest RAM");
}

TEST(elf_segment_overflows_address_space)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_paddr = UINT64_MAX - 0xfff;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "overflows the 64-bit address space");
}

TEST(elf_segment_below_1mib)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(false);
	ph = get_phdr(0);
	ph.p_paddr = LAYOUT_ZERO_PAGE_START;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "below 0x100000");
	CHECK_EQ(ram[LAYOUT_ZERO_PAGE_START], 0);
}

TEST(elf_no_load)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_type = PT_NULL;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "no loadable (PT_LOAD) segment");
	/* An empty PT_LOAD loads nothing either. */
	ph.p_type = PT_LOAD;
	ph.p_filesz = ph.p_memsz = 0;
	put_phdr(0, &ph);
	CHECK_REFUSED(E_SIZE, "no loadable");
}

TEST(elf_note_truncated)
{
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(1);
	ph.p_filesz = 8; /* less than a note header */
	put_phdr(1, &ph);
	CHECK_REFUSED(E_SIZE, "ELF note at offset 0x0 of program header 1 is truncated");
	ph.p_filesz = sizeof(Elf64_Nhdr) + 4 + 2; /* descriptor cut short */
	put_phdr(1, &ph);
	CHECK_REFUSED(E_SIZE, "overruns its segment");
	ph.p_offset = E_SIZE - 4; /* note data past the end of the file */
	ph.p_filesz = 20;
	put_phdr(1, &ph);
	CHECK_REFUSED(E_SIZE, "note data");
}

TEST(elf_note_oversized)
{
	uint32_t entry = E_PVH_ENTRY;

	fake_ram(RAM_SIZE);
	build_elf(true);
	put_note(E_NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4);
	put32(E_NOTE_OFF + 4, 0x1000); /* descsz */
	CHECK_REFUSED(E_SIZE, "overruns its segment (namesz 4, descsz 4096");
	put32(E_NOTE_OFF + 4, 4);
	put32(E_NOTE_OFF, 0xffffffff); /* namesz: 32-bit sizes must not wrap */
	CHECK_REFUSED(E_SIZE, "overruns its segment");
}

TEST(elf_note_bad_desc_size)
{
	uint16_t entry = 0x1000;
	Elf64_Phdr ph;

	fake_ram(RAM_SIZE);
	build_elf(true);
	put_note(E_NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 2);
	ph = get_phdr(1);
	ph.p_filesz = sizeof(Elf64_Nhdr) + 4 + 4;
	put_phdr(1, &ph);
	CHECK_REFUSED(E_SIZE, "2-byte descriptor");
}

TEST(elf_entry_outside_segments)
{
	uint32_t entry = 0x800000;
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	put_note(E_NOTE_OFF, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, 4);
	CHECK_REFUSED(E_SIZE, "PVH entry point 0x800000 is not inside a loaded segment");
	build_elf(false);
	eh = get_ehdr();
	eh.e_entry = 0xffffffff81000000ULL; /* a virtual address */
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "entry point 0xffffffff81000000 is not inside a loaded segment");
}

TEST(elf_bad_later_segment_writes_nothing)
{
	Elf64_Phdr ph;
	Elf64_Ehdr eh;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_paddr = RAM_SIZE; /* the third header is bad, the first good */
	put_phdr(2, &ph);
	eh = get_ehdr();
	eh.e_phnum = 3;
	put_ehdr(&eh);
	CHECK_REFUSED(E_SIZE, "ELF program header 2 lies outside guest RAM");
}

/* --- bzImage --- */

TEST(bzimage_valid)
{
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_bzimage();
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.proto, BOOT_LINUX64);
	CHECK_EQ(img.entry, 0x100200);
	CHECK_EQ(img.kernel_start, 0x100000);
	CHECK_EQ(img.kernel_end, 0x100000 + BZ_INIT_SIZE);
	CHECK_EQ(img.initrd_addr_max, 0x7fffffff);
	CHECK_EQ(img.setup_hdr_len, 0x26c - 0x1f1);
	CHECK(!memcmp(img.setup_hdr, file + 0x1f1, img.setup_hdr_len));
	CHECK(!memcmp(ram + 0x100000, file + BZ_PM_OFF, BZ_PM_SIZE));
}

TEST(bzimage_setup_sects_zero_means_4)
{
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_bzimage();
	file[0x1f1] = 0;
	file[0x201] = 0xff; /* header length capped at BOOT_SETUP_HDR_MAX */
	CHECK_EQ(load(size, &img), 0);
	CHECK(!memcmp(ram + 0x100000, file + BZ_PM_OFF, BZ_PM_SIZE));
	CHECK_EQ(img.setup_hdr_len, BOOT_SETUP_HDR_MAX);
}

TEST(bzimage_large_pm_sets_kernel_end)
{
	struct boot_image img;
	size_t size;

	fake_ram(RAM_SIZE);
	size = build_bzimage();
	put32(0x260, 0x1000); /* init_size smaller than the image */
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.kernel_end, 0x100000 + BZ_PM_SIZE);
}

TEST(bzimage_decompression_area)
{
	struct boot_image img;
	size_t size;

	/* Loaded at 1 MiB, it decompresses at pref_address: kernel_end covers that. */
	fake_ram(RAM_SIZE);
	size = build_bzimage();
	put32(0x258, 0x1000000);
	put32(0x260, 0x2000000);
	CHECK_EQ(load(size, &img), 0);
	CHECK_EQ(img.kernel_start, 0x100000);
	CHECK_EQ(img.kernel_end, 0x3000000);
	/* 16 MiB + init_size past the end of RAM, though 1 MiB + init_size fits. */
	fake_ram(RAM_SIZE);
	put32(0x260, 0x3001000);
	CHECK_REFUSED(size, "decompresses at pref_address 0x1000000 (init_size 0x3001000)");
	/* pref_address + init_size wrapping around. */
	put32(0x258, 0xfffff000);
	put32(0x25c, 0xffffffff);
	put32(0x260, 0x2000);
	CHECK_REFUSED(size, "decompresses at pref_address 0xfffffffffffff000");
}

TEST(bzimage_old_protocol)
{
	fake_ram(RAM_SIZE);
	build_bzimage();
	put16(0x206, 0x020b);
	CHECK_REFUSED(BZ_SIZE, "boot protocol 2.11 is too old");
}

TEST(bzimage_not_64bit)
{
	fake_ram(RAM_SIZE);
	build_bzimage();
	put16(0x236, 0x0002);
	CHECK_REFUSED(BZ_SIZE, "XLF_KERNEL_64");
}

TEST(bzimage_not_loaded_high)
{
	fake_ram(RAM_SIZE);
	build_bzimage();
	file[0x211] = 0;
	CHECK_REFUSED(BZ_SIZE, "LOADED_HIGH");
}

TEST(bzimage_truncated)
{
	fake_ram(RAM_SIZE);
	build_bzimage();
	CHECK_REFUSED(0x240, "bzImage truncated: 576 bytes");	       /* inside the header */
	CHECK_REFUSED(0x900, "protected-mode kernel starts at 0xa00"); /* no kernel at all */
	CHECK_REFUSED(BZ_PM_OFF + 0x200, "its 64-bit entry at 0xc00"); /* no entry point */
	file[0x1f1] = 0xff; /* setup claims 255 sectors */
	CHECK_REFUSED(BZ_SIZE, "protected-mode kernel starts at 0x20000");
}

TEST(bzimage_too_large_for_ram)
{
	fake_ram(RAM_SIZE);
	build_bzimage();
	put32(0x260, 0x10000000);
	CHECK_REFUSED(BZ_SIZE,
		      "bzImage does not fit in guest RAM: needs 0x10000000 bytes at 0x100000");
	/* The image alone does not fit in a 1 MiB + 8 KiB guest. */
	fake_ram(0x102000);
	put32(0x260, 0);
	CHECK_REFUSED(BZ_SIZE, "does not fit in guest RAM");
}

/* --- initrd --- */

static struct boot_image kernel_at(uint64_t end, uint32_t addr_max)
{
	struct boot_image img = {0};

	img.kernel_start = 0x100000;
	img.kernel_end = end;
	img.initrd_addr_max = addr_max;
	return img;
}

TEST(initrd_top_of_ram)
{
	struct boot_image img = kernel_at(0x103000, 0);
	uint64_t addr = 0;

	fake_ram(RAM_SIZE);
	for (size_t i = 0; i < 10000; i++)
		file[i] = pattern(i);
	CHECK_EQ(boot_load_initrd_buf(&gm, &img, file, 10000, &addr, err), 0);
	CHECK_EQ(addr, (RAM_SIZE - 10000) & ~0xfffULL);
	CHECK_EQ(addr & 0xfff, 0);
	CHECK(!memcmp(ram + addr, file, 10000));
}

TEST(initrd_below_3gib_with_big_ram)
{
	struct boot_image img = kernel_at(0x103000, 0);
	struct guest_mem big;
	uint64_t addr = 0;
	int ret;

	/* 4 GiB + 64 MiB: RAM 0-3 GiB and 4 GiB up; only touched pages cost memory. */
	ret = guest_mem_init(&big, (4ULL << 30) + RAM_SIZE, LAYOUT_MMIO_GAP_START,
			     LAYOUT_MMIO_GAP_END, false);
	CHECK_EQ(ret, 0);
	ret = boot_load_initrd_buf(&big, &img, file, 0x1800, &addr, err);
	guest_mem_destroy(&big);
	CHECK_EQ(ret, 0);
	CHECK_EQ(addr, LAYOUT_MMIO_GAP_START - 0x2000);
}

TEST(initrd_respects_addr_max)
{
	struct boot_image img = kernel_at(0x103000, 0x1ffffff); /* below 32 MiB */
	uint64_t addr = 0;

	fake_ram(RAM_SIZE);
	CHECK_EQ(boot_load_initrd_buf(&gm, &img, file, 0x1800, &addr, err), 0);
	CHECK_EQ(addr, 0x2000000 - 0x2000);
	/* A limit above RAM changes nothing. */
	img.initrd_addr_max = 0xffffffff;
	CHECK_EQ(boot_load_initrd_buf(&gm, &img, file, 0x1000, &addr, err), 0);
	CHECK_EQ(addr, RAM_SIZE - 0x1000);
}

TEST(initrd_too_large)
{
	struct boot_image img = kernel_at(0x100001, 0);
	uint64_t addr = 0x1234;
	uint8_t *big;
	int ret;

	/* Exactly the space between the page-aligned kernel end and the top fits. */
	fake_ram(0x200000);
	big = calloc(1, 0x100001);
	CHECK(big);
	ret = boot_load_initrd_buf(&gm, &img, big, 0xff000, &addr, err);
	if (!ret)
		ret = addr == 0x101000 ? 0 : -1;
	if (!ret)
		ret = boot_load_initrd_buf(&gm, &img, big, 0xff001, &addr, err) == -ENOSPC ? 0 : -2;
	if (!ret)
		ret =
		    boot_load_initrd_buf(&gm, &img, big, 0x100001, &addr, err) == -ENOSPC ? 0 : -3;
	free(big);
	CHECK_EQ(ret, 0);
	CHECK_STR(err, "initrd too large: 1048577 bytes do not fit between the kernel end "
		       "0x101000 and 0x200000");
	CHECK_EQ(addr, 0x101000); /* untouched by the failures */
}

TEST(initrd_empty)
{
	struct boot_image img = kernel_at(0x103000, 0);
	uint64_t addr = 0;

	fake_ram(RAM_SIZE);
	CHECK_EQ(boot_load_initrd_buf(&gm, &img, file, 0, &addr, err), -EINVAL);
	CHECK_CONTAINS(err, "initrd is empty");
}

/* --- the file-reading wrappers --- */

static char tmp_path[64];

static void write_tmp(const void *data, size_t len)
{
	int fd;

	snprintf(tmp_path, sizeof(tmp_path), "/tmp/ember-test-loader-XXXXXX");
	fd = mkstemp(tmp_path);
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, data, len), (long long)len);
	close(fd);
}

TEST(kernel_file)
{
	struct boot_image img;
	size_t size;
	int ret;

	fake_ram(RAM_SIZE);
	size = build_elf(true);
	write_tmp(file, size);
	ret = boot_load_kernel(&gm, tmp_path, &img, err);
	unlink(tmp_path);
	CHECK_EQ(ret, 0);
	CHECK_EQ(img.entry, E_PVH_ENTRY);
	CHECK(!memcmp(ram + E_PADDR, file + E_LOAD_OFF, E_FILESZ));
}

TEST(kernel_file_errors_name_the_path)
{
	char want[160];
	struct boot_image img;
	Elf64_Phdr ph;
	int ret;

	fake_ram(RAM_SIZE);
	build_elf(true);
	ph = get_phdr(0);
	ph.p_paddr = 0x8000000;
	put_phdr(0, &ph);
	write_tmp(file, E_SIZE);
	ret = boot_load_kernel(&gm, tmp_path, &img, err);
	unlink(tmp_path);
	CHECK(ret < 0);
	snprintf(want, sizeof(want),
		 "%s: ELF program header 0 lies outside guest RAM (paddr 0x8000000, memsz 0x3000)",
		 tmp_path);
	CHECK_STR(err, want);

	CHECK_EQ(boot_load_kernel(&gm, "/nonexistent/vmlinux", &img, err), -ENOENT);
	CHECK_CONTAINS(err, "/nonexistent/vmlinux: cannot open");

	write_tmp("", 0);
	ret = boot_load_kernel(&gm, tmp_path, &img, err);
	unlink(tmp_path);
	CHECK(ret < 0);
	snprintf(want, sizeof(want), "%s: kernel image is empty", tmp_path);
	CHECK_STR(err, want);
}

TEST(read_file_checks)
{
	uint8_t *buf = NULL;
	size_t size = 0;
	int ret;

	CHECK_EQ(boot_read_file("/dev/null", 100, &buf, &size, err), -EINVAL);
	CHECK_STR(err, "/dev/null: not a regular file");
	CHECK_EQ(boot_read_file("/tmp", 100, &buf, &size, err), -EINVAL);

	write_tmp("0123456789", 10);
	ret = boot_read_file(tmp_path, 9, &buf, &size, err);
	CHECK_EQ(ret, -EFBIG);
	CHECK_CONTAINS(err, "file too large (10 bytes, limit 9)");
	CHECK(!buf);
	ret = boot_read_file(tmp_path, 10, &buf, &size, err);
	unlink(tmp_path);
	CHECK_EQ(ret, 0);
	CHECK_EQ(size, 10);
	CHECK(buf && !memcmp(buf, "0123456789", 10));
	free(buf);
}

TEST(initrd_file)
{
	struct boot_image img = kernel_at(0x103000, 0);
	uint64_t addr = 0, size = 0;
	char want[160];
	uint8_t *big;
	int ret;

	fake_ram(0x200000);
	write_tmp("initrd!", 7);
	ret = boot_load_initrd(&gm, &img, tmp_path, &addr, &size, err);
	unlink(tmp_path);
	CHECK_EQ(ret, 0);
	CHECK_EQ(addr, 0x1ff000);
	CHECK_EQ(size, 7);
	CHECK(!memcmp(ram + addr, "initrd!", 7));

	/* One byte more than the 0xfd000 bytes between 0x103000 and 2 MiB. */
	big = calloc(1, 0xfd001);
	CHECK(big);
	write_tmp(big, 0xfd001);
	free(big);
	ret = boot_load_initrd(&gm, &img, tmp_path, &addr, &size, err);
	unlink(tmp_path);
	CHECK_EQ(ret, -ENOSPC);
	snprintf(want, sizeof(want),
		 "%s: initrd too large: 1036289 bytes do not fit between the kernel end 0x103000 "
		 "and 0x200000",
		 tmp_path);
	CHECK_STR(err, want);

	write_tmp("", 0);
	ret = boot_load_initrd(&gm, &img, tmp_path, &addr, &size, err);
	unlink(tmp_path);
	CHECK_EQ(ret, -EINVAL);
	CHECK_CONTAINS(err, ": initrd is empty");
}

TEST_MAIN(TEST_ENTRY(elf_pvh_valid), TEST_ENTRY(elf_pvh_note_8byte_desc),
	  TEST_ENTRY(elf_pvh_note_after_other_notes), TEST_ENTRY(elf_linux64_without_note),
	  TEST_ENTRY(elf_linux64_non_xen_note), TEST_ENTRY(elf_two_segments),
	  TEST_ENTRY(empty_file), TEST_ENTRY(not_a_kernel), TEST_ENTRY(elf_truncated_header),
	  TEST_ENTRY(elf_class32), TEST_ENTRY(elf_big_endian), TEST_ENTRY(elf_wrong_machine),
	  TEST_ENTRY(elf_not_executable), TEST_ENTRY(elf_bad_phentsize),
	  TEST_ENTRY(elf_phdr_table_past_eof), TEST_ENTRY(elf_segment_data_past_eof),
	  TEST_ENTRY(elf_filesz_over_memsz), TEST_ENTRY(elf_segment_outside_ram),
	  TEST_ENTRY(elf_segment_overflows_address_space), TEST_ENTRY(elf_segment_below_1mib),
	  TEST_ENTRY(elf_no_load), TEST_ENTRY(elf_note_truncated), TEST_ENTRY(elf_note_oversized),
	  TEST_ENTRY(elf_note_bad_desc_size), TEST_ENTRY(elf_entry_outside_segments),
	  TEST_ENTRY(elf_bad_later_segment_writes_nothing), TEST_ENTRY(bzimage_valid),
	  TEST_ENTRY(bzimage_setup_sects_zero_means_4),
	  TEST_ENTRY(bzimage_large_pm_sets_kernel_end), TEST_ENTRY(bzimage_decompression_area),
	  TEST_ENTRY(bzimage_old_protocol), TEST_ENTRY(bzimage_not_64bit),
	  TEST_ENTRY(bzimage_not_loaded_high), TEST_ENTRY(bzimage_truncated),
	  TEST_ENTRY(bzimage_too_large_for_ram), TEST_ENTRY(initrd_top_of_ram),
	  TEST_ENTRY(initrd_below_3gib_with_big_ram), TEST_ENTRY(initrd_respects_addr_max),
	  TEST_ENTRY(initrd_too_large), TEST_ENTRY(initrd_empty), TEST_ENTRY(kernel_file),
	  TEST_ENTRY(kernel_file_errors_name_the_path), TEST_ENTRY(read_file_checks),
	  TEST_ENTRY(initrd_file))
