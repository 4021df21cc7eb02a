// SPDX-License-Identifier: Apache-2.0
/*
 * The Intel MultiProcessor Specification 1.4 table: how a guest without ACPI
 * (and our payload guests) learns its CPUs, its IOAPIC and the ISA IRQ routing.
 * Written in the EBDA, where the guest's MP scan looks first.
 */
#include "arch/x86_64/arch.h"
#include "arch/x86_64/checksum.h"
#include "arch/x86_64/layout.h"

#include <errno.h>
#include <string.h>

#define MP_IOAPIC_VERSION 0x11
#define MP_LAPIC_VERSION  0x14
#define MP_NR_IRQS	  24

struct __attribute__((packed)) mpf_intel {
	char signature[4]; /* "_MP_" */
	uint32_t physptr;
	uint8_t length; /* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
};

struct __attribute__((packed)) mpc_table {
	char signature[4]; /* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
};

struct __attribute__((packed)) mpc_cpu {
	uint8_t type; /* 0 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t cpuflag;
	uint32_t cpufeature;
	uint32_t featureflag;
	uint32_t reserved[2];
};

struct __attribute__((packed)) mpc_bus {
	uint8_t type; /* 1 */
	uint8_t busid;
	char bustype[6];
};

struct __attribute__((packed)) mpc_ioapic {
	uint8_t type; /* 2 */
	uint8_t apicid;
	uint8_t apicver;
	uint8_t flags;
	uint32_t apicaddr;
};

struct __attribute__((packed)) mpc_intsrc {
	uint8_t type; /* 3: IO interrupt, 4: local interrupt */
	uint8_t irqtype;
	uint16_t irqflag;
	uint8_t srcbus;
	uint8_t srcbusirq;
	uint8_t dstapic;
	uint8_t dstirq;
};

enum { MP_PROCESSOR = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_INTSRC = 3, MP_LINTSRC = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
#define CPU_ENABLED	 1
#define CPU_BSP		 2
#define CPU_STEPPING	 0x600
#define CPU_FEATURE_APIC (1u << 9)
#define CPU_FEATURE_FPU	 1u

int mptable_write(const struct guest_mem *gm, unsigned int nr_cpus)
{
	const size_t size = sizeof(struct mpf_intel) + sizeof(struct mpc_table) +
			    nr_cpus * sizeof(struct mpc_cpu) + sizeof(struct mpc_bus) +
			    sizeof(struct mpc_ioapic) + MP_NR_IRQS * sizeof(struct mpc_intsrc) +
			    2 * sizeof(struct mpc_intsrc);
	const uint8_t ioapic_id = (uint8_t)(nr_cpus + 1);
	uint8_t *base, *p;
	struct mpf_intel *mpf;
	struct mpc_table *mpc;
	uint16_t entries = 0;

	if (!nr_cpus || nr_cpus > LAYOUT_MAX_VCPUS)
		return -EINVAL;
	/* The table must stay inside the EBDA, below the legacy video hole. */
	if (LAYOUT_EBDA_START + size > 0xa0000)
		return -E2BIG;
	base = gm_ptr(gm, LAYOUT_EBDA_START, size);
	if (!base)
		return -EFAULT;
	memset(base, 0, size);

	mpf = (struct mpf_intel *)base;
	mpc = (struct mpc_table *)(mpf + 1);
	p = (uint8_t *)(mpc + 1);

	for (unsigned int i = 0; i < nr_cpus; i++, entries++) {
		struct mpc_cpu *cpu = (struct mpc_cpu *)p;

		cpu->type = MP_PROCESSOR;
		cpu->apicid = (uint8_t)i;
		cpu->apicver = MP_LAPIC_VERSION;
		cpu->cpuflag = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		cpu->cpufeature = CPU_STEPPING;
		cpu->featureflag = CPU_FEATURE_APIC | CPU_FEATURE_FPU;
		p += sizeof(*cpu);
	}
	{
		struct mpc_bus *bus = (struct mpc_bus *)p;

		bus->type = MP_BUS;
		memcpy(bus->bustype, "ISA   ", 6);
		p += sizeof(*bus);
		entries++;
	}
	{
		struct mpc_ioapic *ioapic = (struct mpc_ioapic *)p;

		ioapic->type = MP_IOAPIC;
		ioapic->apicid = ioapic_id;
		ioapic->apicver = MP_IOAPIC_VERSION;
		ioapic->flags = 1; /* enabled */
		ioapic->apicaddr = (uint32_t)LAYOUT_IOAPIC_ADDR;
		p += sizeof(*ioapic);
		entries++;
	}
	/* ISA IRQ n -> IOAPIC pin n, bus-default polarity and trigger. */
	for (unsigned int irq = 0; irq < MP_NR_IRQS; irq++, entries++) {
		struct mpc_intsrc *src = (struct mpc_intsrc *)p;

		*src = (struct mpc_intsrc){MP_INTSRC,	 MP_INT,    0,		 0,
					   (uint8_t)irq, ioapic_id, (uint8_t)irq};
		p += sizeof(*src);
	}
	/* LINT0 takes the 8259's ExtINT, LINT1 NMI: what the LAPIC setup programs. */
	{
		struct mpc_intsrc *src = (struct mpc_intsrc *)p;

		*src = (struct mpc_intsrc){MP_LINTSRC, MP_EXTINT, 0, 0, 0, 0, 0};
		src[1] = (struct mpc_intsrc){MP_LINTSRC, MP_NMI, 0, 0, 0, 0xff, 1};
		p += 2 * sizeof(*src);
		entries += 2;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = (uint16_t)(p - (uint8_t *)mpc);
	mpc->spec = 4;
	memcpy(mpc->oem, "EMBER   ", 8);
	memcpy(mpc->productid, "MICROVM     ", 12);
	mpc->oemcount = entries;
	mpc->lapic = (uint32_t)LAYOUT_LAPIC_ADDR;
	mpc->checksum = table_checksum(mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = (uint32_t)(LAYOUT_EBDA_START + sizeof(*mpf));
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = table_checksum(mpf, sizeof(*mpf));
	return 0;
}
