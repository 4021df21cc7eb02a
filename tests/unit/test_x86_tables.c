// SPDX-License-Identifier: Apache-2.0
/*
 * e820 map, MP table, CPUID normalization and the boot tables as a whole (PVH
 * start info, Linux zero page) against fake guest memory.
 */
#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "test.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>

static uint8_t *low_ram(struct guest_mem *gm, size_t size)
{
	uint8_t *ram = calloc(1, size);
	struct guest_region r = {0, size, ram};

	CHECK(ram);
	CHECK_EQ(guest_mem_init_fake(gm, &r, 1), 0);
	return ram;
}

TEST(e820_low_ram_only)
{
	static uint8_t dummy[1];
	struct guest_region r = {0, 128 << 20, dummy};
	struct e820_entry t[E820_MAX];
	struct guest_mem gm;

	/* The map only reads region bounds; the backing size does not matter. */
	CHECK_EQ(guest_mem_init_fake(&gm, &r, 1), 0);
	CHECK_EQ(e820_build(&gm, t, E820_MAX), 3);
	CHECK_EQ(t[0].addr, 0);
	CHECK_EQ(t[0].size, LAYOUT_EBDA_START);
	CHECK_EQ(t[0].type, E820_RAM);
	CHECK_EQ(t[1].addr, LAYOUT_EBDA_START);
	CHECK_EQ(t[1].type, E820_RESERVED);
	CHECK_EQ(t[1].addr + t[1].size, LAYOUT_HIMEM_START);
	CHECK_EQ(t[2].addr, LAYOUT_HIMEM_START);
	CHECK_EQ(t[2].size, (128 << 20) - LAYOUT_HIMEM_START);
	CHECK_EQ(t[2].type, E820_RAM);
	CHECK_EQ(e820_build(&gm, t, 2), -ENOSPC);
}

TEST(e820_above_the_gap)
{
	static uint8_t dummy[1];
	const struct guest_region r[] = {{0, LAYOUT_MMIO_GAP_START, dummy},
					 {LAYOUT_MMIO_GAP_END, 1ULL << 30, dummy}};
	struct e820_entry t[E820_MAX];
	struct guest_mem gm;

	CHECK_EQ(guest_mem_init_fake(&gm, r, 2), 0);
	CHECK_EQ(e820_build(&gm, t, E820_MAX), 4);
	CHECK_EQ(t[2].addr + t[2].size, LAYOUT_MMIO_GAP_START);
	CHECK_EQ(t[3].addr, LAYOUT_MMIO_GAP_END);
	CHECK_EQ(t[3].size, 1ULL << 30);
	CHECK_EQ(t[3].type, E820_RAM);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static void check_mptable(unsigned int ncpus)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 1 << 20);
	const uint8_t *mpf = ram + LAYOUT_EBDA_START, *mpc, *p;
	uint32_t physptr;
	uint16_t len, count;
	unsigned int cpus = 0, ioapics = 0, intsrc = 0, lint = 0, bsp = 0;

	CHECK_EQ(mptable_write(&gm, ncpus), 0);
	CHECK(!memcmp(mpf, "_MP_", 4));
	CHECK_EQ(sum(mpf, 16), 0);
	memcpy(&physptr, mpf + 4, 4);
	CHECK(physptr >= LAYOUT_EBDA_START && physptr < 0xa0000);
	mpc = ram + physptr;
	CHECK(!memcmp(mpc, "PCMP", 4));
	memcpy(&len, mpc + 4, 2);
	memcpy(&count, mpc + 34, 2);
	CHECK(physptr + len <= 0xa0000);
	CHECK_EQ(sum(mpc, len), 0);
	p = mpc + 44;
	for (unsigned int i = 0; i < count; i++) {
		CHECK(p < mpc + len);
		switch (p[0]) {
		case 0:
			CHECK_EQ(p[1], cpus); /* APIC ids 0..n-1 in order */
			CHECK(p[3] & 1);
			bsp += (p[3] & 2) != 0;
			cpus++;
			p += 20;
			break;
		case 2:
			CHECK_EQ(p[1], ncpus + 1);
			ioapics++;
			p += 8;
			break;
		case 3:
			CHECK_EQ(p[5], p[7]); /* ISA IRQ n -> pin n */
			intsrc++;
			p += 8;
			break;
		case 4:
			lint++;
			p += 8;
			break;
		default:
			p += 8;
			break;
		}
	}
	CHECK(p == mpc + len);
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(bsp, 1);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(intsrc, 24);
	CHECK_EQ(lint, 2);
	free(ram);
}

TEST(mptable_one_cpu)
{
	check_mptable(1);
}

TEST(mptable_max_cpus_fit_in_ebda)
{
	check_mptable(LAYOUT_MAX_VCPUS);
}

TEST(mptable_bad_counts)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 1 << 20);

	CHECK_EQ(mptable_write(&gm, 0), -EINVAL);
	CHECK_EQ(mptable_write(&gm, LAYOUT_MAX_VCPUS + 1), -EINVAL);
	free(ram);
	ram = low_ram(&gm, 0x90000); /* RAM ends below the EBDA */
	CHECK_EQ(mptable_write(&gm, 1), -EFAULT);
	free(ram);
}

static struct kvm_cpuid2 *fake_cpuid(void)
{
	static const struct kvm_cpuid_entry2 leaves[] = {
	    {.function = 0x1, .ebx = 0xff0a0800, .ecx = 0, .edx = 0},
	    {.function = 0x4, .index = 0, .eax = 0x1c004121}, /* L1d */
	    {.function = 0x4, .index = 3, .eax = 0x1c03c163}, /* L3 */
	    {.function = 0xa, .eax = 0x7300403},
	    {.function = 0xb, .index = 0, .eax = 1, .ebx = 2},
	    {.function = 0xb, .index = 1, .eax = 7, .ebx = 64},
	    {.function = 0xb, .index = 2},
	    {.function = 0x80000002},
	    {.function = 0x80000003},
	    {.function = 0x80000004},
	    {.function = 0x80000008, .ecx = 0x703f},
	    {.function = 0x8000001e, .eax = 9, .ebx = 0x105},
	};
	const size_t n = sizeof(leaves) / sizeof(leaves[0]);
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	CHECK(c);
	c->nent = (uint32_t)n;
	memcpy(c->entries, leaves, sizeof(leaves));
	return c;
}

static struct kvm_cpuid_entry2 *leaf(struct kvm_cpuid2 *c, uint32_t fn, uint32_t idx)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == idx)
			return &c->entries[i];
	FAIL_AT("no leaf 0x%x.%u", fn, idx);
}

TEST(cpuid_topology_and_ids)
{
	char brand[48] = "ember test CPU";
	struct kvm_cpuid2 *c = fake_cpuid();
	char got[49] = {0};

	cpuid_normalize(c, 3, 4, false, brand);
	CHECK_EQ(leaf(c, 1, 0)->ebx >> 24, 3);		 /* APIC id */
	CHECK_EQ((leaf(c, 1, 0)->ebx >> 16) & 0xff, 4);	 /* logical CPUs */
	CHECK_EQ(leaf(c, 1, 0)->ebx & 0xffff, 0x0800);	 /* CLFLUSH size kept */
	CHECK(leaf(c, 1, 0)->ecx & (1u << 31));		 /* hypervisor */
	CHECK(leaf(c, 1, 0)->edx & (1u << 28));		 /* HTT: more than one CPU */
	CHECK_EQ(leaf(c, 4, 0)->eax >> 26, 3);		 /* 4 cores */
	CHECK_EQ((leaf(c, 4, 0)->eax >> 14) & 0xfff, 0); /* L1 private */
	CHECK_EQ((leaf(c, 4, 3)->eax >> 14) & 0xfff, 3); /* L3 shared by 4 */
	CHECK_EQ(leaf(c, 0xa, 0)->eax, 0);		 /* no PMU */
	CHECK_EQ(leaf(c, 0xb, 0)->edx, 3);
	CHECK_EQ(leaf(c, 0xb, 0)->ebx, 1); /* 1 thread per core */
	CHECK_EQ(leaf(c, 0xb, 1)->ebx, 4);
	CHECK_EQ(leaf(c, 0xb, 1)->eax, 2); /* 2 bits for 4 cores */
	CHECK_EQ(leaf(c, 0xb, 1)->ecx, 0x201);
	CHECK_EQ(leaf(c, 0xb, 2)->ecx, 2); /* invalid level */
	CHECK_EQ(leaf(c, 0x80000008, 0)->ecx & 0xff, 3);
	CHECK_EQ(leaf(c, 0x8000001e, 0)->eax, 3);
	memcpy(got, &leaf(c, 0x80000002, 0)->eax, 16);
	memcpy(got + 16, &leaf(c, 0x80000003, 0)->eax, 16);
	memcpy(got + 32, &leaf(c, 0x80000004, 0)->eax, 16);
	CHECK_STR(got, "ember test CPU");
	free(c);
}

TEST(cpuid_single_cpu_and_smt)
{
	char brand[48] = {0};
	struct kvm_cpuid2 *c = fake_cpuid();

	cpuid_normalize(c, 0, 1, false, brand);
	CHECK(!(leaf(c, 1, 0)->edx & (1u << 28)));
	CHECK_EQ(leaf(c, 4, 0)->eax >> 26, 0);
	free(c);
	c = fake_cpuid();
	cpuid_normalize(c, 5, 8, true, brand);
	CHECK_EQ(leaf(c, 0xb, 0)->ebx, 2); /* 2 threads per core */
	CHECK_EQ(leaf(c, 0xb, 0)->eax, 1);
	CHECK_EQ(leaf(c, 4, 0)->eax >> 26, 3); /* 4 cores of 2 threads */
	CHECK_EQ(leaf(c, 0x8000001e, 0)->ebx, 0x100 | 2);
	free(c);
}

TEST(host_brand_trimmed)
{
	char brand[48];

	cpuid_host_brand(brand);
	CHECK(brand[0] != ' ');
	CHECK(strnlen(brand, 48) < 48);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static const struct acpi_mmio_dev one_dev = {LAYOUT_VIRTIO_MMIO_START, 0x1000, 5};

/* Everything the guest reads, from plain inputs: no VM needed. */
static struct arch_boot_info boot_info(struct guest_mem *gm, enum arch_boot_proto proto)
{
	return (struct arch_boot_info){
	    .mem = gm,
	    .nr_vcpus = 2,
	    .proto = proto,
	    .cmdline = "console=ttyS0 quiet",
	    .initrd_addr = 0x150000,
	    .initrd_size = 0x1234,
	    .devs = &one_dev,
	    .nr_devs = 1,
	};
}

TEST(boot_tables_pvh)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 2 << 20);
	struct arch_boot_info bi = boot_info(&gm, ARCH_BOOT_PVH);
	const uint8_t *si = ram + LAYOUT_PVH_INFO_START, *mod = ram + LAYOUT_PVH_MODLIST_START;
	const uint8_t *map = ram + LAYOUT_PVH_MEMMAP_START;

	CHECK_EQ(arch_boot_tables(&bi), 0);
	CHECK_STR((const char *)ram + LAYOUT_CMDLINE_START, "console=ttyS0 quiet");
	/* struct hvm_start_info: magic, version, flags, nr_modules, modlist, cmdline, rsdp, memmap.
	 */
	CHECK_EQ(get32(si), 0x336ec578);
	CHECK_EQ(get32(si + 4), 1);
	CHECK_EQ(get32(si + 12), 1);
	CHECK_EQ(get64(si + 16), LAYOUT_PVH_MODLIST_START);
	CHECK_EQ(get64(si + 24), LAYOUT_CMDLINE_START);
	CHECK_EQ(get64(si + 32), LAYOUT_RSDP_START);
	CHECK_EQ(get64(si + 40), LAYOUT_PVH_MEMMAP_START);
	CHECK_EQ(get32(si + 48), 3);
	CHECK_EQ(get64(mod), 0x150000);
	CHECK_EQ(get64(mod + 8), 0x1234);
	/* The memory map: 24-byte entries, the e820 map's. */
	CHECK_EQ(get64(map + 24), LAYOUT_EBDA_START);
	CHECK_EQ(get32(map + 24 + 16), E820_RESERVED);
	CHECK_EQ(get64(map + 48), LAYOUT_HIMEM_START);
	CHECK_EQ(get64(map + 48 + 8), (2 << 20) - LAYOUT_HIMEM_START);
	/* The MP table and ACPI are written too; no zero page for PVH. */
	CHECK(!memcmp(ram + LAYOUT_EBDA_START, "_MP_", 4));
	CHECK(!memcmp(ram + LAYOUT_RSDP_START, "RSD PTR ", 8));
	CHECK_EQ(get32(ram + LAYOUT_ZERO_PAGE_START + 0x202), 0);
	CHECK_EQ(get64(ram + LAYOUT_ZERO_PAGE_START + 0x250), 0); /* no setup_data either */
	free(ram);
}

TEST(boot_tables_linux64_zero_page)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 2 << 20);
	struct arch_boot_info bi = boot_info(&gm, ARCH_BOOT_LINUX64);
	const uint8_t *zp = ram + LAYOUT_ZERO_PAGE_START;
	uint8_t hdr[0x290 - 0x1f1] = {0};

	CHECK_EQ(arch_boot_tables(&bi), 0);
	CHECK_EQ(zp[0x1fe], 0x55);
	CHECK_EQ(zp[0x1ff], 0xaa);
	CHECK_EQ(get32(zp + 0x202), 0x53726448); /* "HdrS" */
	CHECK_EQ(get64(zp + 0x070), LAYOUT_RSDP_START);
	CHECK_EQ(zp[0x210], 0xff);
	CHECK_EQ(zp[0x211], 0x01);
	CHECK_EQ(get32(zp + 0x218), 0x150000);
	CHECK_EQ(get32(zp + 0x21c), 0x1234);
	CHECK_EQ(get32(zp + 0x228), LAYOUT_CMDLINE_START);
	CHECK_EQ(get32(zp + 0x230), 0x1000000); /* an ELF brings no header: ember's alignment */
	CHECK_EQ(get32(zp + 0x238), strlen("console=ttyS0 quiet"));
	CHECK_EQ(zp[0x1e8], 3);
	CHECK_EQ(get64(zp + 0x2d0 + 20), LAYOUT_EBDA_START);
	CHECK_EQ(get32(zp + 0x2d0 + 20 + 16), E820_RESERVED);
	/* setup_data: one SETUP_RNG_SEED (type 9) of 32 random bytes, the list's end. */
	{
		const uint8_t *sd = ram + LAYOUT_SETUP_DATA_START;
		static const uint8_t zero[32];

		CHECK_EQ(get64(zp + 0x250), LAYOUT_SETUP_DATA_START);
		CHECK_EQ(get64(sd), 0);
		CHECK_EQ(get32(sd + 8), 9);
		CHECK_EQ(get32(sd + 12), 32);
		CHECK(memcmp(sd + 16, zero, sizeof(zero)) != 0);
	}

	/* A bzImage's header goes in first; the loader's fields override it. */
	hdr[0x211 - 0x1f1] = 0x80;     /* loadflags: CAN_USE_HEAP */
	hdr[0x230 - 0x1f1 + 2] = 0x20; /* kernel_alignment 0x200000, from the image */
	hdr[0x218 - 0x1f1] = 0xee;     /* ramdisk_image: the loader's wins */
	bi.setup_hdr = hdr;
	bi.setup_hdr_len = sizeof(hdr);
	CHECK_EQ(arch_boot_tables(&bi), 0);
	CHECK_EQ(zp[0x211], 0x81);
	CHECK_EQ(get32(zp + 0x230), 0x200000);
	CHECK_EQ(get32(zp + 0x218), 0x150000);

	/* A longer line later (the kvm_pvm profile's TSC rate): the zero page follows. */
	CHECK_EQ(arch_update_cmdline(&gm, ARCH_BOOT_LINUX64, "console=ttyS0 quiet nopv"), 0);
	CHECK_STR((const char *)ram + LAYOUT_CMDLINE_START, "console=ttyS0 quiet nopv");
	CHECK_EQ(get32(zp + 0x238), strlen("console=ttyS0 quiet nopv"));
	free(ram);
}

TEST(boot_tables_bad_inputs)
{
	static struct logger quiet = {.level = LOG_OFF};
	static char long_line[LAYOUT_CMDLINE_MAX + 1];
	static const uint8_t hdr[0x290 - 0x1f1 + 1];
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 2 << 20);
	struct arch_boot_info bi = boot_info(&gm, ARCH_BOOT_LINUX64);

	log_set(&quiet);
	memset(long_line, 'a', LAYOUT_CMDLINE_MAX);
	bi.cmdline = long_line;
	CHECK_EQ(arch_boot_tables(&bi), -E2BIG);
	CHECK_EQ(arch_update_cmdline(&gm, ARCH_BOOT_PVH, long_line), -E2BIG);
	CHECK_EQ(ram[LAYOUT_CMDLINE_START], 0);
	long_line[LAYOUT_CMDLINE_MAX - 1] = '\0'; /* 4095 characters and the NUL: fits */
	CHECK_EQ(arch_boot_tables(&bi), 0);
	CHECK_EQ(get32(ram + LAYOUT_ZERO_PAGE_START + 0x238), LAYOUT_CMDLINE_MAX - 1);
	bi.setup_hdr = hdr;
	bi.setup_hdr_len = sizeof(hdr);
	log_capture_start();
	CHECK_EQ(arch_boot_tables(&bi), -EINVAL);
	CHECK_CONTAINS(log_capture_end(), "writing the boot tables into guest memory");
	free(ram);
	ram = low_ram(&gm, 0x90000); /* RAM ends below the EBDA */
	bi = boot_info(&gm, ARCH_BOOT_PVH);
	CHECK_EQ(arch_boot_tables(&bi), -EFAULT);
	free(ram);
	log_set(NULL);
}

TEST_MAIN(TEST_ENTRY(e820_low_ram_only), TEST_ENTRY(e820_above_the_gap),
	  TEST_ENTRY(mptable_one_cpu), TEST_ENTRY(mptable_max_cpus_fit_in_ebda),
	  TEST_ENTRY(mptable_bad_counts), TEST_ENTRY(cpuid_topology_and_ids),
	  TEST_ENTRY(cpuid_single_cpu_and_smt), TEST_ENTRY(host_brand_trimmed),
	  TEST_ENTRY(boot_tables_pvh), TEST_ENTRY(boot_tables_linux64_zero_page),
	  TEST_ENTRY(boot_tables_bad_inputs))
