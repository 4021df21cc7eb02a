// SPDX-License-Identifier: Apache-2.0
/*
 * minvmm: the smallest VMM that runs ember's payload guests, as the floor for
 * bench/lifecycle.sh: KVM set-up, guest RAM, a PVH ELF loaded at its physical
 * addresses, the PVH entry (32-bit protected mode, %ebx = hvm_start_info), a
 * COM1 that writes each byte to stdout, and the i8042 reset (0xfe to port 0x64)
 * that ends the run with status 0. No threads, no event loop, no devices.
 *
 *   minvmm [-i] [-m MIB] [-c CMDLINE] PAYLOAD.elf
 *   -i  also create the in-kernel IRQ chip and PIT as ember does (their
 *       teardown is what the VM fd's last close waits for)
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_INFO_GPA 0x6000
#define MEMMAP_GPA     0x7000
#define CMDLINE_GPA    0x20000
#define PVH_NOTE_ENTRY 18 /* XEN_ELFNOTE_PHYS32_ENTRY */

struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_memmap_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

static void die(const char *what)
{
	fprintf(stderr, "minvmm: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void xioctl(int fd, unsigned long req, void *arg, const char *name)
{
	if (ioctl(fd, req, arg) < 0)
		die(name);
}

/* Loads PT_LOAD segments at p_paddr; returns the PVH entry (or e_entry). */
static uint64_t load_elf(const char *path, uint8_t *ram, size_t ram_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint8_t *f;
	uint64_t entry = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	f = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (f == MAP_FAILED)
		die(path);
	close(fd);
	if ((size_t)st.st_size < sizeof(Elf64_Ehdr) || memcmp(f, ELFMAG, SELFMAG) ||
	    f[EI_CLASS] != ELFCLASS64) {
		fprintf(stderr, "minvmm: %s: not a 64-bit ELF\n", path);
		exit(1);
	}
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
	entry = eh->e_entry;
	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *ph = (const Elf64_Phdr *)(f + eh->e_phoff + i * eh->e_phentsize);

		if (ph->p_type == PT_LOAD) {
			if (ph->p_paddr + ph->p_memsz > ram_size || ph->p_filesz > ph->p_memsz ||
			    ph->p_offset + ph->p_filesz > (uint64_t)st.st_size) {
				fprintf(stderr, "minvmm: %s: segment %u out of range\n", path, i);
				exit(1);
			}
			memcpy(ram + ph->p_paddr, f + ph->p_offset, ph->p_filesz);
		} else if (ph->p_type == PT_NOTE) {
			for (uint64_t off = 0; off + 12 <= ph->p_filesz;) {
				const uint32_t *n = (const uint32_t *)(f + ph->p_offset + off);
				uint64_t name = (n[0] + 3) & ~3u, desc = (n[1] + 3) & ~3u;

				if (n[2] == PVH_NOTE_ENTRY && n[1] >= 4)
					memcpy(&entry, (const uint8_t *)(n + 3) + name, 4);
				off += 12 + name + desc;
			}
		}
	}
	munmap(f, (size_t)st.st_size);
	return entry & 0xffffffff;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type)
{
	return (struct kvm_segment){.base = 0,
				    .limit = 0xffffffff,
				    .selector = sel,
				    .type = type,
				    .present = 1,
				    .db = 1,
				    .s = 1,
				    .g = 1};
}

static int run(int vcpu, struct kvm_run *r)
{
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (r->exit_reason == KVM_EXIT_HLT)
			return 0;
		if (r->exit_reason == KVM_EXIT_MMIO)
			continue; /* nothing is mapped there: reads see zeros */
		if (r->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "minvmm: exit reason %u\n", r->exit_reason);
			return 1;
		}
		uint8_t *data = (uint8_t *)r + r->io.data_offset;

		if (r->io.direction == KVM_EXIT_IO_OUT) {
			if (r->io.port == 0x3f8 && r->io.size == 1 && write(1, data, 1) != 1)
				return 1;
			if (r->io.port == 0x64 && data[0] == 0xfe)
				return 0;
		} else {
			/* COM1's LSR: transmitter empty; everything else reads as no device. */
			memset(data, r->io.port == 0x3fd ? 0x60 : 0xff, r->io.size * r->io.count);
		}
	}
}

int main(int argc, char **argv)
{
	size_t mib = 128;
	const char *cmdline = "console=ttyS0";
	int irqchip = 0, opt;

	while ((opt = getopt(argc, argv, "im:c:")) != -1) {
		if (opt == 'i')
			irqchip = 1;
		else if (opt == 'm')
			mib = strtoul(optarg, NULL, 10);
		else if (opt == 'c')
			cmdline = optarg;
		else
			return 2;
	}
	if (optind != argc - 1 || mib < 1 || mib > 3072 || strlen(cmdline) > 4095) {
		fprintf(stderr, "usage: minvmm [-i] [-m MIB] [-c CMDLINE] PAYLOAD.elf\n");
		return 2;
	}
	size_t ram_size = mib << 20;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	uint8_t *ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap guest RAM");
	struct kvm_userspace_memory_region region = {
	    .slot = 0, .memory_size = ram_size, .userspace_addr = (uintptr_t)ram};
	xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "KVM_SET_USER_MEMORY_REGION");
	if (irqchip) {
		struct kvm_pit_config pit = {.flags = KVM_PIT_SPEAKER_DUMMY};

		xioctl(vm, KVM_SET_TSS_ADDR, (void *)0xfffbd000UL, "KVM_SET_TSS_ADDR");
		xioctl(vm, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP");
		xioctl(vm, KVM_CREATE_PIT2, &pit, "KVM_CREATE_PIT2");
	}

	uint64_t entry = load_elf(argv[optind], ram, ram_size);
	struct hvm_start_info *si = (struct hvm_start_info *)(ram + START_INFO_GPA);
	struct hvm_memmap_entry *mm = (struct hvm_memmap_entry *)(ram + MEMMAP_GPA);

	strcpy((char *)ram + CMDLINE_GPA, cmdline);
	mm[0] = (struct hvm_memmap_entry){.addr = 0, .size = 0x9fc00, .type = 1};
	mm[1] = (struct hvm_memmap_entry){.addr = 0x100000, .size = ram_size - 0x100000, .type = 1};
	*si = (struct hvm_start_info){.magic = 0x336ec578,
				      .version = 1,
				      .cmdline_paddr = CMDLINE_GPA,
				      .memmap_paddr = MEMMAP_GPA,
				      .memmap_entries = 2};

	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size < 0)
		die("KVM_CREATE_VCPU");
	struct kvm_run *r =
	    mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (r == MAP_FAILED)
		die("mmap kvm_run");
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = {.h.nent = 256};
	xioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid, "KVM_GET_SUPPORTED_CPUID");
	xioctl(vcpu, KVM_SET_CPUID2, &cpuid, "KVM_SET_CPUID2");

	struct kvm_sregs sregs;
	xioctl(vcpu, KVM_GET_SREGS, &sregs, "KVM_GET_SREGS");
	sregs.cs = seg(0x08, 0xb);
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg(0x10, 0x3);
	sregs.cr0 = 0x11; /* PE | ET: protected mode, no paging */
	sregs.cr4 = 0;
	xioctl(vcpu, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS");
	struct kvm_regs regs = {.rip = entry, .rbx = START_INFO_GPA, .rflags = 2};
	xioctl(vcpu, KVM_SET_REGS, &regs, "KVM_SET_REGS");

	/* No clean-up: the process ends here, and its exit closes every fd. */
	return run(vcpu, r);
}
