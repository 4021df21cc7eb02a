// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI 6.3 tables, hardware-reduced (no PM timer, SCI, GPE or fixed-feature
 * hardware: the guest must not probe for them), as Firecracker builds them:
 *
 *   RSDP (revision 2) -> XSDT -> FADT -> DSDT (AML: \_SB_ devices)
 *                             -> MADT (LAPICs, IOAPIC, LINT1 NMI)
 *
 * All are built in a host copy of the ACPI area [LAYOUT_RSDP_START,
 * LAYOUT_ACPI_END) and copied into guest memory in one checked write at the
 * end, so a failure leaves guest memory untouched. Layouts and field meanings
 * follow the ACPI specification (5.2 for the tables, 6.4 for resource
 * descriptors, 20 for AML).
 */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/aml.h"
#include "arch/x86_64/checksum.h"
#include "arch/x86_64/layout.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ACPI_OEM_ID	      "EMBER "
#define ACPI_OEM_TABLE_ID     "EMBERVM "
#define ACPI_OEM_REVISION     1
#define ACPI_CREATOR_ID	      "EMBR"
#define ACPI_CREATOR_REVISION 1
#define ACPI_HYPERVISOR_ID    "EMBER\0\0\0" /* FADT Hypervisor Vendor Identity */

#define ACPI_AREA_SIZE (LAYOUT_ACPI_END - LAYOUT_RSDP_START)
#define ACPI_ALIGN     16 /* the RSDP must be; the other tables for tidiness */

struct __attribute__((packed)) acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision; /* 2: ACPI 2.0+, the XSDT fields are valid */
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* over all 36 bytes */
	uint8_t reserved[3];
};
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
};
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header layout");

/* Generic Address Structure: all zero = "not present". */
struct __attribute__((packed)) acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
};

struct __attribute__((packed)) acpi_fadt {
	struct acpi_header h;	/* "FACP", revision 6 */
	uint32_t firmware_ctrl; /* no FACS: optional on hardware-reduced ACPI */
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	char hypervisor_vendor_id[8];
};
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT layout (revision 6)");

#define FADT_REVISION	    6
#define FADT_MINOR_REVISION 3 /* ACPI 6.3 */

/* FADT Flags. */
#define FADT_F_PWR_BUTTON      (1u << 4) /* no fixed-feature power button */
#define FADT_F_SLP_BUTTON      (1u << 5) /* no fixed-feature sleep button */
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/* IA-PC Boot Architecture Flags. */
#define IAPC_8042		  (1u << 1) /* ember has an i8042 (reset, Ctrl-Alt-Del) */
#define IAPC_VGA_NOT_PRESENT	  (1u << 2)
#define IAPC_MSI_NOT_SUPPORTED	  (1u << 3) /* no PCI */
#define IAPC_PCIE_ASPM_CONTROLS	  (1u << 4) /* the OS must not enable ASPM: no PCIe */
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5) /* no RTC to bind: see cmos_rtc.h */

struct __attribute__((packed)) acpi_madt {
	struct acpi_header h; /* "APIC", revision 5 */
	uint32_t lapic_address;
	uint32_t flags;
};
#define MADT_REVISION	 5 /* ACPI 6.3 */
#define MADT_PCAT_COMPAT 1 /* a dual 8259 is present (KVM's in-kernel PIC) */

struct __attribute__((packed)) madt_lapic {
	uint8_t type; /* 0 */
	uint8_t length;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) madt_ioapic {
	uint8_t type; /* 1 */
	uint8_t length;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
};

struct __attribute__((packed)) madt_lapic_nmi {
	uint8_t type; /* 4 */
	uint8_t length;
	uint8_t processor_uid; /* 0xff: all processors */
	uint16_t flags;	       /* 0: polarity and trigger conform to the bus */
	uint8_t lint;
};

enum { MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_LAPIC_NMI = 4 };
#define MADT_LAPIC_ENABLED 1

/* The host copy of the ACPI area; tables are carved from it in order. */
struct acpi_area {
	uint8_t *buf;
	size_t used;
};

/* Reserves @len bytes, 16-byte aligned; NULL if the area is full. */
static void *area_alloc(struct acpi_area *a, size_t len, uint64_t *gpa)
{
	size_t off = (a->used + ACPI_ALIGN - 1) & ~(size_t)(ACPI_ALIGN - 1);

	if (off > ACPI_AREA_SIZE || len > ACPI_AREA_SIZE - off)
		return NULL;
	a->used = off + len;
	*gpa = LAYOUT_RSDP_START + off;
	return a->buf + off;
}

static void header_init(struct acpi_header *h, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

/* Call once the whole table (header.length bytes) is written. */
static void header_sum(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = table_checksum(h, h->length);
}

/* COM1: the 8250 UART at 0x3f8, ISA IRQ 4 (Linux's 8250_pnp binds PNP0501). */
static void dsdt_com1(struct aml *a)
{
	struct res r = {.len = 0};
	size_t dev = aml_device(a, "COM1");

	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	res_io(&r, LAYOUT_COM1_PORT, 8);
	res_irq_noflags(&r, LAYOUT_COM1_IRQ);
	aml_resource_template(a, &r);
	aml_pkg_close(a, dev);
}

/*
 * The i8042 keyboard controller: data port 0x60, command/status 0x64, ISA
 * IRQ 1. Linux's i8042 driver finds it by PNP0303; with no PNP0F13 (mouse)
 * device it leaves the AUX port alone, which ember does not emulate.
 */
static void dsdt_i8042(struct aml *a)
{
	struct res r = {.len = 0};
	size_t dev = aml_device(a, "PS2_");

	aml_name(a, "_HID");
	aml_eisa_id(a, "PNP0303");
	aml_name(a, "_CRS");
	res_io(&r, LAYOUT_I8042_PORT, 1);
	res_io(&r, LAYOUT_I8042_PORT + 4, 1);
	res_irq_noflags(&r, LAYOUT_I8042_IRQ);
	aml_resource_template(a, &r);
	aml_pkg_close(a, dev);
}

/*
 * A virtio-mmio device: Linux's virtio_mmio driver matches _HID "LNRO0005"
 * (virtio_mmio_acpi_match) and takes its window and IRQ from _CRS. The
 * interrupt is edge-triggered, active high and exclusive, as Firecracker
 * declares it, so the guest programs the IOAPIC pin for edges: the device
 * model must signal each interrupt as a rising edge (an irqfd write, or
 * KVM_IRQ_LINE 1 then 0), not hold the line high until the guest acks.
 */
static void dsdt_virtio_mmio(struct aml *a, const struct acpi_mmio_dev *d, unsigned int idx)
{
	static const char hex[] = "0123456789ABCDEF";
	const char seg[4] = {'V', hex[(idx >> 8) & 0xf], hex[(idx >> 4) & 0xf], hex[idx & 0xf]};
	struct res r = {.len = 0};
	size_t dev = aml_device(a, seg);

	aml_name(a, "_HID");
	aml_string(a, "LNRO0005");
	aml_name(a, "_UID");
	aml_integer(a, idx);
	aml_name(a, "_CCA"); /* DMA is cache-coherent */
	aml_integer(a, 1);
	aml_name(a, "_CRS");
	res_memory32_fixed(&r, (uint32_t)d->base, d->size);
	res_interrupt(&r, RES_INT_CONSUMER | RES_INT_EDGE, d->gsi);
	aml_resource_template(a, &r);
	aml_pkg_close(a, dev);
}

/*
 * VMGenID (Microsoft's "Virtual Machine Generation ID", as Firecracker and
 * QEMU offer it): a device whose ADDR names the 16-byte generation id in
 * guest memory. _HID "VMGENCTR" is what Linux's driver (drivers/virt/
 * vmgenid.c, 5.18+) matches; _CID "VM_Gen_Counter" what Windows looks for.
 */
static void dsdt_vmgenid(struct aml *a)
{
	size_t dev = aml_device(a, "VGEN"), pkg;

	aml_name(a, "_HID");
	aml_string(a, "VMGENCTR");
	aml_name(a, "_CID");
	aml_string(a, "VM_Gen_Counter");
	aml_name(a, "_DDN");
	aml_string(a, "VM_Gen_Counter");
	aml_name(a, "ADDR"); /* Package (2) {low 32 bits, high 32 bits} */
	pkg = aml_package(a, 2);
	aml_integer(a, LAYOUT_VMGENID_ADDR & 0xffffffffULL);
	aml_integer(a, LAYOUT_VMGENID_ADDR >> 32);
	aml_pkg_close(a, pkg);
	aml_pkg_close(a, dev);
}

/*
 * The Generic Event Device (ACPI0013): how hardware-reduced ACPI raises
 * events. Its one interrupt runs _EVT, which tells VGEN its id changed
 * (Notify 0x80): ember raises it after writing a new id (a restore).
 */
static void dsdt_ged(struct aml *a)
{
	size_t dev = aml_device(a, "GED_"), m;
	struct res r = {.len = 0};

	aml_name(a, "_HID");
	aml_string(a, "ACPI0013");
	aml_name(a, "_UID");
	aml_integer(a, 0);
	aml_name(a, "_CRS");
	res_interrupt(&r, RES_INT_CONSUMER | RES_INT_EDGE, LAYOUT_GED_GSI);
	aml_resource_template(a, &r);
	m = aml_method(a, "_EVT", 1); /* Arg0: the GSI; there is only one */
	aml_notify_root(a, "_SB_", "VGEN", 0x80);
	aml_pkg_close(a, m);
	aml_pkg_close(a, dev);
}

/* The DSDT, built in place as the last table: it takes what the area has left. */
static int build_dsdt(struct acpi_area *area, const struct acpi_mmio_dev *devs,
		      unsigned int nr_devs, uint64_t *gpa)
{
	struct acpi_header *h;
	struct aml a;
	size_t sb;

	h = area_alloc(area, sizeof(*h), gpa);
	if (!h)
		return -ENOSPC;
	a = (struct aml){.p = (uint8_t *)(h + 1), .cap = ACPI_AREA_SIZE - area->used};

	sb = aml_scope_root(&a, "_SB_");
	dsdt_com1(&a);
	dsdt_i8042(&a);
	for (unsigned int i = 0; i < nr_devs; i++)
		dsdt_virtio_mmio(&a, &devs[i], i);
	dsdt_vmgenid(&a);
	dsdt_ged(&a);
	aml_pkg_close(&a, sb);
	if (a.overflow)
		return -ENOSPC;

	area->used += a.len;
	/* Revision 2: AML integers are 64-bit. */
	header_init(h, "DSDT", (uint32_t)(sizeof(*h) + a.len), 2);
	header_sum(h);
	return 0;
}

static struct acpi_madt *build_madt(struct acpi_area *area, unsigned int nr_cpus, uint64_t *gpa)
{
	const size_t len = sizeof(struct acpi_madt) + nr_cpus * sizeof(struct madt_lapic) +
			   sizeof(struct madt_ioapic) + sizeof(struct madt_lapic_nmi);
	struct acpi_madt *madt = area_alloc(area, len, gpa);
	uint8_t *p;

	if (!madt)
		return NULL;
	header_init(&madt->h, "APIC", (uint32_t)len, MADT_REVISION);
	madt->lapic_address = (uint32_t)LAYOUT_LAPIC_ADDR;
	madt->flags = MADT_PCAT_COMPAT;
	p = (uint8_t *)(madt + 1);

	/* ACPI processor UID = APIC id = vCPU index, as CPUID leaf 1/0xb report them. */
	for (unsigned int i = 0; i < nr_cpus; i++) {
		const struct madt_lapic lapic = {MADT_LAPIC, sizeof(lapic), (uint8_t)i, (uint8_t)i,
						 MADT_LAPIC_ENABLED};

		memcpy(p, &lapic, sizeof(lapic));
		p += sizeof(lapic);
	}
	{
		/* Id nr_cpus + 1 as in the MP table; pins 0-23 are GSIs 0-23. */
		const struct madt_ioapic ioapic = {MADT_IOAPIC,
						   sizeof(ioapic),
						   (uint8_t)(nr_cpus + 1),
						   0,
						   (uint32_t)LAYOUT_IOAPIC_ADDR,
						   0};

		memcpy(p, &ioapic, sizeof(ioapic));
		p += sizeof(ioapic);
	}
	/*
	 * No Interrupt Source Override, not even the PC's "ISA IRQ 0 -> GSI 2".
	 * ember keeps KVM's default GSI routing (it never calls
	 * KVM_SET_GSI_ROUTING): KVM's default_routing table (arch/x86/kvm/
	 * irq_comm.c; irq.c in newer kernels) connects GSI n to PIC pin n % 8
	 * and to IOAPIC pin n for every n < 16, and the in-kernel PIT raises
	 * GSI 0. So the PIT arrives on IOAPIC pin 0, which is what the guest
	 * assumes without an override (ISA IRQ n = GSI n, edge, active high);
	 * an override to GSI 2 would make it program the wrong pin. (QEMU's
	 * MADT has the override because QEMU installs its own routing with
	 * GSI 0 -> IOAPIC pin 2; Firecracker's MADT has no overrides.)
	 */
	{
		/* LINT1 of every processor is wired to NMI, as the LAPIC setup programs it. */
		const struct madt_lapic_nmi nmi = {MADT_LAPIC_NMI, sizeof(nmi), 0xff, 0, 1};

		memcpy(p, &nmi, sizeof(nmi));
	}
	header_sum(&madt->h);
	return madt;
}

/* The DSDT pointers are set (and the checksum computed) by acpi_write(). */
static struct acpi_fadt *build_fadt(struct acpi_area *area, uint64_t *gpa)
{
	struct acpi_fadt *fadt = area_alloc(area, sizeof(*fadt), gpa);

	if (!fadt)
		return NULL;
	header_init(&fadt->h, "FACP", sizeof(*fadt), FADT_REVISION);
	fadt->minor_version = FADT_MINOR_REVISION;
	/*
	 * Hardware-reduced: no SCI, SMI command port, PM1/PM2/GPE blocks or
	 * PM timer (all left zero), so the guest probes none of them. No
	 * RESET_REG either (the RESET_REG_SUP flag stays clear): Linux's
	 * reboot then falls through to the keyboard controller (reboot=k), and
	 * ember's i8042 ends the VM on its reset command.
	 */
	fadt->flags = FADT_F_HW_REDUCED_ACPI | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON;
	/*
	 * The 8042 flag matters: without it Linux marks the i8042 "firmware
	 * absent" (acpi_parse_fadt) and probes it only if PNP0303 is found.
	 */
	fadt->iapc_boot_arch = IAPC_8042 | IAPC_VGA_NOT_PRESENT | IAPC_MSI_NOT_SUPPORTED |
			       IAPC_PCIE_ASPM_CONTROLS | IAPC_CMOS_RTC_NOT_PRESENT;
	memcpy(fadt->hypervisor_vendor_id, ACPI_HYPERVISOR_ID, 8);
	return fadt;
}

#define XSDT_ENTRIES 2 /* FADT, MADT */

/* The entries are set (and the checksum computed) by acpi_write(). */
static struct acpi_header *build_xsdt(struct acpi_area *area, uint64_t *gpa)
{
	const size_t len = sizeof(struct acpi_header) + XSDT_ENTRIES * sizeof(uint64_t);
	struct acpi_header *h = area_alloc(area, len, gpa);

	if (h)
		header_init(h, "XSDT", (uint32_t)len, 1);
	return h;
}

/* The XSDT address and the checksums are set by acpi_write(). */
static struct acpi_rsdp *build_rsdp(struct acpi_area *area, uint64_t *gpa)
{
	struct acpi_rsdp *rsdp = area_alloc(area, sizeof(*rsdp), gpa);

	if (!rsdp)
		return NULL;
	memcpy(rsdp->signature, "RSD PTR ", 8);
	memcpy(rsdp->oem_id, ACPI_OEM_ID, 6);
	rsdp->revision = 2;
	rsdp->length = sizeof(*rsdp);
	/* rsdt_address 0: a revision 2 RSDP with an XSDT needs no RSDT. */
	return rsdp;
}

static int check_args(unsigned int nr_cpus, const struct acpi_mmio_dev *devs, unsigned int nr_devs,
		      const uint64_t *rsdp)
{
	if (!nr_cpus || nr_cpus > LAYOUT_MAX_VCPUS || !rsdp)
		return -EINVAL;
	if (nr_devs && !devs)
		return -EINVAL;
	if (nr_devs > ACPI_MAX_MMIO_DEVS)
		return -EINVAL;
	for (unsigned int i = 0; i < nr_devs; i++) {
		/* Memory32Fixed: the window must lie below 4 GiB. */
		if (!devs[i].size || devs[i].base > 0x100000000ULL - devs[i].size)
			return -EINVAL;
		if (devs[i].gsi >= ACPI_IOAPIC_PINS)
			return -EINVAL;
	}
	return 0;
}

int acpi_write(const struct guest_mem *gm, unsigned int nr_cpus, const struct acpi_mmio_dev *devs,
	       unsigned int nr_devs, uint64_t *rsdp)
{
	struct acpi_area area = {.used = 0};
	uint64_t rsdp_gpa, xsdt_gpa, fadt_gpa, madt_gpa, dsdt_gpa;
	struct acpi_rsdp *r;
	struct acpi_header *xsdt;
	struct acpi_fadt *fadt;
	uint64_t entries[XSDT_ENTRIES];
	int ret;

	ret = check_args(nr_cpus, devs, nr_devs, rsdp);
	if (ret)
		return ret;
	if (!gm_ptr(gm, LAYOUT_RSDP_START, ACPI_AREA_SIZE))
		return -EFAULT;
	/*
	 * A mapping of its own, not calloc: the tables use a few KiB of the 124 KiB area;
	 * calloc would zero all of it in the heap, which keeps it resident (under glibc's trim
	 * threshold) for the VM's life (README "Benchmarks": memory outside guest RAM).
	 */
	area.buf =
	    mmap(NULL, ACPI_AREA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area.buf == MAP_FAILED)
		return -ENOMEM;

	/*
	 * The RSDP at the start of the area, then the fixed-size tables, then
	 * the DSDT (it grows with the devices and takes what is left). The
	 * pointers between them are filled in once every address is known.
	 */
	r = build_rsdp(&area, &rsdp_gpa);
	xsdt = build_xsdt(&area, &xsdt_gpa);
	fadt = build_fadt(&area, &fadt_gpa);
	if (!r || !xsdt || !fadt || !build_madt(&area, nr_cpus, &madt_gpa)) {
		ret = -ENOSPC;
		goto out;
	}
	ret = build_dsdt(&area, devs, nr_devs, &dsdt_gpa);
	if (ret)
		goto out;

	fadt->dsdt = (uint32_t)dsdt_gpa; /* both, equal: ACPICA warns only if they differ */
	fadt->x_dsdt = dsdt_gpa;
	header_sum(&fadt->h);
	entries[0] = fadt_gpa;
	entries[1] = madt_gpa;
	memcpy(xsdt + 1, entries, sizeof(entries)); /* 64-bit little-endian addresses */
	header_sum(xsdt);
	r->xsdt_address = xsdt_gpa;
	r->checksum = table_checksum(r, 20);
	r->extended_checksum = table_checksum(r, sizeof(*r));

	ret = gm_write(gm, LAYOUT_RSDP_START, area.buf, area.used);
	if (!ret)
		*rsdp = rsdp_gpa;
out:
	munmap(area.buf, ACPI_AREA_SIZE);
	return ret;
}
