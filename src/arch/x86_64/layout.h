/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The guest physical memory map (x86_64). Guest-visible contract: the
 * loaders, table builders and devices all place things from this one list.
 *
 *   0x0000_0500  GDT (boot)            0x0000_0520  IDT (empty)
 *   0x0000_6000  PVH hvm_start_info    0x0000_6040  PVH module list
 *   0x0000_6100  PVH memory map        0x0000_7000  Linux zero page
 *   0x0000_6000  (Linux 64-bit boot, instead of PVH's) setup_data: RNG seed
 *   0x0000_8ff0  boot stack top        0x0000_9000  PML4, PDPT, PD (long mode)
 *   0x0002_0000  kernel command line   0x0009_fc00  EBDA: MP table
 *   0x000e_0000  ACPI RSDP and tables  0x000f_f000  VMGenID generation id
 *   0x0010_0000  kernel (HIMEM)
 *   0xc000_0000  32-bit MMIO gap: boot timer, then virtio-mmio windows
 *   0xfec0_0000  IOAPIC                0xfee0_0000  LAPIC
 *   0x1_0000_0000  RAM above the gap continues here
 */
#ifndef EMBER_ARCH_X86_64_LAYOUT_H
#define EMBER_ARCH_X86_64_LAYOUT_H

#define LAYOUT_GDT_START	 0x500ULL
#define LAYOUT_IDT_START	 0x520ULL
#define LAYOUT_PVH_INFO_START	 0x6000ULL
#define LAYOUT_PVH_MODLIST_START 0x6040ULL
#define LAYOUT_PVH_MEMMAP_START	 0x6100ULL
#define LAYOUT_PVH_MEMMAP_MAX	 32
#define LAYOUT_ZERO_PAGE_START	 0x7000ULL
#define LAYOUT_SETUP_DATA_START	 0x6000ULL /* the zero page's setup_data (no PVH then) */
#define LAYOUT_BOOT_STACK	 0x8ff0ULL
#define LAYOUT_PML4_START	 0x9000ULL
#define LAYOUT_PDPT_START	 0xa000ULL
#define LAYOUT_PD_START		 0xb000ULL
#define LAYOUT_CMDLINE_START	 0x20000ULL
#define LAYOUT_CMDLINE_MAX	 4096ULL /* bytes, including the terminating NUL */
#define LAYOUT_EBDA_START	 0x9fc00ULL
#define LAYOUT_RSDP_START	 0xe0000ULL
#define LAYOUT_ACPI_END		 0xff000ULL
/* The 16-byte VMGenID generation id, alone in its page (reserved in the e820 map). */
#define LAYOUT_VMGENID_ADDR 0xff000ULL
#define LAYOUT_HIMEM_START  0x100000ULL

#define LAYOUT_MMIO_GAP_START	 0xc0000000ULL
#define LAYOUT_MMIO_GAP_END	 0x100000000ULL
#define LAYOUT_BOOT_TIMER_ADDR	 0xc0000000ULL
#define LAYOUT_VIRTIO_MMIO_START 0xc0001000ULL
#define LAYOUT_IOAPIC_ADDR	 0xfec00000ULL
#define LAYOUT_LAPIC_ADDR	 0xfee00000ULL

/* Legacy ports and their ISA IRQs. */
#define LAYOUT_COM1_PORT  0x3f8
#define LAYOUT_COM1_IRQ	  4
#define LAYOUT_I8042_PORT 0x60 /* data 0x60, command/status 0x64 */
#define LAYOUT_I8042_IRQ  1
/* The ACPI Generic Event Device's interrupt (VMGenID): above the virtio GSIs (5 to 20). */
#define LAYOUT_GED_GSI 23

#define LAYOUT_MAX_VCPUS 32

#endif
