/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ACPI tables for a Linux guest built with CONFIG_ACPI (and no MP table
 * parser): RSDP -> XSDT -> FADT (-> DSDT) and MADT, hardware-reduced ACPI as
 * Firecracker does. They tell the guest its CPUs, its IOAPIC, the legacy
 * devices (COM1, i8042) and the virtio-mmio devices.
 */
#ifndef EMBER_ARCH_X86_64_ACPI_H
#define EMBER_ARCH_X86_64_ACPI_H

#include "core/guest_mem.h"

#include <stdint.h>

/* A virtio-mmio device for the DSDT: its register window and its IOAPIC GSI. */
struct acpi_mmio_dev {
	uint64_t base;
	uint32_t size;
	uint32_t gsi;
};

/* The DSDT names them \_SB_.V000 to \_SB_.VFFF (hex index): at most 4096. */
#define ACPI_MAX_MMIO_DEVS 4096
/* KVM's in-kernel IOAPIC: a device's GSI must be one of its pins. */
#define ACPI_IOAPIC_PINS 24

/*
 * Writes RSDP, XSDT, FADT, DSDT and MADT into [LAYOUT_RSDP_START,
 * LAYOUT_ACPI_END) of guest memory, the RSDP first (at LAYOUT_RSDP_START, where
 * a guest's legacy scan of 0xe0000-0xfffff also finds it).
 * @devs/@nr_devs: the virtio-mmio devices to describe in the DSDT (may be 0).
 * Returns 0 and the RSDP's guest address in *@rsdp, or -EINVAL (bad CPU count,
 * a device window not below 4 GiB, a GSI not on the IOAPIC), -EFAULT (guest
 * RAM does not cover the ACPI area), -ENOSPC (the tables do not fit) or
 * -ENOMEM. Nothing is written to guest memory on error.
 */
int acpi_write(const struct guest_mem *gm, unsigned int nr_cpus, const struct acpi_mmio_dev *devs,
	       unsigned int nr_devs, uint64_t *rsdp);

#endif
