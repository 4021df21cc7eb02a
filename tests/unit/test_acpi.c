// SPDX-License-Identifier: Apache-2.0
/*
 * ACPI tables against fake guest memory: the RSDP -> XSDT -> FADT/MADT -> DSDT
 * chain, checksums, the MADT's CPUs and IOAPIC, and the DSDT's AML, decoded by
 * a small AML reader written from the spec (independent of the encoder).
 */
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/aml.h"
#include "arch/x86_64/layout.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>

#define MiB (1u << 20)

static uint8_t *low_ram(struct guest_mem *gm, size_t size)
{
	uint8_t *ram = calloc(1, size);
	struct guest_region r = {0, size, ram};

	CHECK(ram);
	CHECK_EQ(guest_mem_init_fake(gm, &r, 1), 0);
	return ram;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* --- the table chain --- */

struct tables {
	const uint8_t *rsdp, *xsdt, *fadt, *madt, *dsdt;
	uint64_t dsdt_gpa;
};

/* A system description table at @gpa: inside the ACPI area, its checksum, our ids. */
static const uint8_t *table_at(const uint8_t *ram, uint64_t gpa, const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	CHECK(gpa >= LAYOUT_RSDP_START && gpa + 36 <= LAYOUT_ACPI_END);
	t = ram + gpa;
	len = (uint32_t)rd(t + 4, 4);
	if (memcmp(t, sig, 4))
		FAIL_AT("table at 0x%" PRIx64 ": signature \"%.4s\", expected %s", gpa, t, sig);
	CHECK(len >= 36);
	CHECK(gpa + len <= LAYOUT_ACPI_END);
	CHECK_EQ(sum(t, len), 0);
	CHECK(!memcmp(t + 10, "EMBER ", 6));
	CHECK(!memcmp(t + 16, "EMBERVM ", 8));
	CHECK(!memcmp(t + 28, "EMBR", 4));
	CHECK(rd(t + 24, 4) != 0); /* OEM revision */
	return t;
}

static void find_tables(const uint8_t *ram, uint64_t rsdp, struct tables *t)
{
	uint32_t xlen;

	memset(t, 0, sizeof(*t));
	/* Where the guest's legacy scan looks too: 16-byte aligned in 0xe0000-0xfffff. */
	CHECK_EQ(rsdp, LAYOUT_RSDP_START);
	CHECK_EQ(rsdp % 16, 0);
	t->rsdp = ram + rsdp;
	CHECK(!memcmp(t->rsdp, "RSD PTR ", 8));
	CHECK_EQ(sum(t->rsdp, 20), 0); /* ACPI 1.0 checksum */
	CHECK(!memcmp(t->rsdp + 9, "EMBER ", 6));
	CHECK_EQ(t->rsdp[15], 2);	   /* revision */
	CHECK_EQ(rd(t->rsdp + 20, 4), 36); /* length */
	CHECK_EQ(sum(t->rsdp, 36), 0);	   /* extended checksum */

	t->xsdt = table_at(ram, rd(t->rsdp + 24, 8), "XSDT");
	xlen = (uint32_t)rd(t->xsdt + 4, 4);
	CHECK_EQ((xlen - 36) % 8, 0);
	CHECK_EQ((xlen - 36) / 8, 2);
	for (uint32_t off = 36; off < xlen; off += 8) {
		uint64_t gpa = rd(t->xsdt + off, 8);

		CHECK(gpa >= LAYOUT_RSDP_START && gpa < LAYOUT_ACPI_END);
		if (!memcmp(ram + gpa, "FACP", 4)) {
			CHECK(!t->fadt);
			t->fadt = table_at(ram, gpa, "FACP");
		} else if (!memcmp(ram + gpa, "APIC", 4)) {
			CHECK(!t->madt);
			t->madt = table_at(ram, gpa, "APIC");
		} else {
			FAIL_AT("XSDT entry at 0x%" PRIx64 ": \"%.4s\"", gpa, ram + gpa);
		}
	}
	CHECK(t->fadt && t->madt);
	t->dsdt_gpa = rd(t->fadt + 140, 8); /* X_DSDT */
	CHECK_EQ(rd(t->fadt + 40, 4), t->dsdt_gpa);
	t->dsdt = table_at(ram, t->dsdt_gpa, "DSDT");
	CHECK_EQ(t->dsdt[8], 2); /* revision 2: 64-bit AML integers */
}

static void check_madt(const uint8_t *madt, unsigned int ncpus)
{
	const uint32_t len = (uint32_t)rd(madt + 4, 4);
	unsigned int cpus = 0, ioapics = 0, nmis = 0;
	const uint8_t *p = madt + 44;

	CHECK_EQ(rd(madt + 36, 4), LAYOUT_LAPIC_ADDR);
	CHECK_EQ(rd(madt + 40, 4), 1); /* PCAT_COMPAT */
	while (p < madt + len) {
		CHECK(p + 2 <= madt + len && p[1] >= 2 && p + p[1] <= madt + len);
		switch (p[0]) {
		case 0: /* Processor Local APIC */
			CHECK_EQ(p[1], 8);
			CHECK_EQ(p[2], cpus); /* processor UID */
			CHECK_EQ(p[3], cpus); /* APIC id 0..n-1 in order */
			CHECK_EQ(rd(p + 4, 4), 1);
			cpus++;
			break;
		case 1: /* IO APIC */
			CHECK_EQ(p[1], 12);
			CHECK_EQ(p[2], ncpus + 1);
			CHECK_EQ(rd(p + 4, 4), LAYOUT_IOAPIC_ADDR);
			CHECK_EQ(rd(p + 8, 4), 0);
			ioapics++;
			break;
		case 4: /* Local APIC NMI */
			CHECK_EQ(p[1], 6);
			CHECK_EQ(p[2], 0xff);
			CHECK_EQ(p[5], 1); /* LINT1 */
			nmis++;
			break;
		default: /* no Interrupt Source Override (type 2) in particular */
			FAIL_AT("unexpected MADT entry type %u", p[0]);
		}
		p += p[1];
	}
	CHECK(p == madt + len);
	CHECK_EQ(cpus, ncpus);
	CHECK_EQ(ioapics, 1);
	CHECK_EQ(nmis, 1);
}

/* --- an AML reader for the subset a DSDT of ours may contain --- */

#define MAX_CRS 64

struct dev {
	char path[32];
	char hid[16], cid[16], ddn[16];
	int64_t uid, cca; /* -1: absent */
	uint8_t crs[MAX_CRS];
	size_t crs_len;
	uint64_t addr[2]; /* Name (ADDR, Package (2) {...}) */
	unsigned int nr_addr;
	char evt_notify[16]; /* Method (_EVT, 1) { Notify (\X.Y, value) }: "\X.Y" */
	uint64_t evt_value;
};

struct walk {
	struct dev *devs;
	unsigned int nr, max;
	unsigned int pkg_len_sizes[5]; /* how many PkgLengths of 1..4 bytes */
};

enum obj_type { OBJ_INT, OBJ_STR, OBJ_BUF, OBJ_PKG };

struct obj {
	enum obj_type type;
	uint64_t ival;
	const char *str;
	const uint8_t *buf;
	size_t buf_len;
	uint64_t pkg[2]; /* a package of at most 2 integers */
	unsigned int pkg_n;
};

/* PkgLength at *p; returns the package end (the length counts its own bytes). */
static const uint8_t *pkg_end(struct walk *w, const uint8_t **p, const uint8_t *end)
{
	const uint8_t *start = *p;
	unsigned int n;
	size_t len;

	CHECK(start < end);
	n = (start[0] >> 6) + 1u;
	CHECK(start + n <= end);
	if (n == 1) {
		len = start[0] & 0x3f;
	} else {
		CHECK_EQ(start[0] & 0x30, 0); /* reserved bits */
		len = start[0] & 0xf;
		for (unsigned int i = 1; i < n; i++)
			len |= (size_t)start[i] << (4 + 8 * (i - 1));
		/* The encoder must pick the shortest form. */
		CHECK(len - n + (n - 1) >= (1u << (n == 2 ? 6 : n == 3 ? 12 : 20)));
	}
	CHECK(len >= n);
	CHECK((size_t)(end - start) >= len);
	w->pkg_len_sizes[n]++;
	*p = start + n;
	return start + len;
}

static void check_seg(const uint8_t *s)
{
	CHECK((s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_');
	for (int i = 1; i < 4; i++)
		CHECK((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_');
}

static const uint8_t *data_object(struct walk *w, const uint8_t *p, const uint8_t *end,
				  struct obj *o)
{
	static const unsigned int width[] = {[0x0a] = 1, [0x0b] = 2, [0x0c] = 4, [0x0e] = 8};
	const uint8_t *e;

	CHECK(p < end);
	memset(o, 0, sizeof(*o));
	switch (*p) {
	case 0x00: /* ZeroOp */
	case 0x01: /* OneOp */
		o->type = OBJ_INT;
		o->ival = *p;
		return p + 1;
	case 0x0a:
	case 0x0b:
	case 0x0c:
	case 0x0e:
		o->type = OBJ_INT;
		CHECK(p + 1 + width[*p] <= end);
		o->ival = rd(p + 1, width[*p]);
		return p + 1 + width[*p];
	case 0x0d: /* StringPrefix: ASCII up to a NUL */
		o->type = OBJ_STR;
		o->str = (const char *)p + 1;
		e = memchr(p + 1, 0, (size_t)(end - p - 1));
		CHECK(e);
		return e + 1;
	case 0x11: { /* BufferOp PkgLength BufferSize ByteList */
		struct obj size;

		p++;
		e = pkg_end(w, &p, end);
		p = data_object(w, p, e, &size);
		CHECK_EQ(size.type, OBJ_INT);
		CHECK_EQ(size.ival, e - p);
		o->type = OBJ_BUF;
		o->buf = p;
		o->buf_len = (size_t)(e - p);
		return e;
	}
	case 0x12: { /* PackageOp PkgLength NumElements PackageElementList: integers here */
		struct obj el;

		p++;
		e = pkg_end(w, &p, end);
		CHECK(p < e && *p <= 2);
		o->type = OBJ_PKG;
		o->pkg_n = *p++;
		for (unsigned int i = 0; i < o->pkg_n; i++) {
			p = data_object(w, p, e, &el);
			CHECK_EQ(el.type, OBJ_INT);
			o->pkg[i] = el.ival;
		}
		CHECK(p == e);
		return e;
	}
	default:
		FAIL_AT("unexpected data object opcode 0x%02x", *p);
	}
}

/* EisaId back to its 7 characters. */
static void eisa_decode(uint32_t le, char out[8])
{
	const uint32_t v = __builtin_bswap32(le);
	static const char hex[] = "0123456789ABCDEF";

	out[0] = (char)('@' + ((v >> 26) & 0x1f));
	out[1] = (char)('@' + ((v >> 21) & 0x1f));
	out[2] = (char)('@' + ((v >> 16) & 0x1f));
	for (int i = 0; i < 4; i++)
		out[3 + i] = hex[(v >> (12 - 4 * i)) & 0xf];
	out[7] = '\0';
}

static void term_list(struct walk *w, const uint8_t *p, const uint8_t *end, const char *scope,
		      struct dev *dev)
{
	while (p < end) {
		const uint8_t *e, *seg;

		if (p[0] == 0x10) { /* ScopeOp PkgLength NameString TermList */
			char path[32];

			p++;
			e = pkg_end(w, &p, end);
			CHECK(!dev);
			CHECK(p + 5 <= e && p[0] == '\\'); /* we only use \XXXX */
			check_seg(p + 1);
			snprintf(path, sizeof(path), "\\%.4s", (const char *)p + 1);
			term_list(w, p + 5, e, path, NULL);
			p = e;
		} else if (p[0] == 0x5b && p + 1 < end && p[1] == 0x82) { /* Device */
			struct dev *d;

			p += 2;
			e = pkg_end(w, &p, end);
			CHECK(!dev);
			CHECK(p + 4 <= e);
			check_seg(p);
			CHECK(w->nr < w->max);
			d = &w->devs[w->nr++];
			memset(d, 0, sizeof(*d));
			d->uid = d->cca = -1;
			snprintf(d->path, sizeof(d->path), "%s.%.4s", scope, (const char *)p);
			term_list(w, p + 4, e, d->path, d);
			p = e;
		} else if (p[0] == 0x14) { /* MethodOp PkgLength NameSeg Flags: _EVT only */
			struct obj v;

			p++;
			e = pkg_end(w, &p, end);
			CHECK(dev);
			CHECK(p + 5 <= e && !memcmp(p, "_EVT", 4));
			CHECK_EQ(p[4], 1); /* one argument, not serialized */
			p += 5;
			/* NotifyOp \ DualNamePrefix seg seg value */
			CHECK(p + 11 <= e && p[0] == 0x86 && p[1] == '\\' && p[2] == 0x2e);
			check_seg(p + 3);
			check_seg(p + 7);
			snprintf(dev->evt_notify, sizeof(dev->evt_notify), "\\%.4s.%.4s",
				 (const char *)p + 3, (const char *)p + 7);
			p = data_object(w, p + 11, e, &v);
			CHECK_EQ(v.type, OBJ_INT);
			dev->evt_value = v.ival;
			CHECK(p == e);
		} else if (p[0] == 0x08) { /* NameOp NameSeg DataRefObject */
			struct obj o;

			CHECK(dev);
			CHECK(p + 5 <= end);
			seg = p + 1;
			check_seg(seg);
			p = data_object(w, p + 5, end, &o);
			if (!memcmp(seg, "_HID", 4)) {
				CHECK(!dev->hid[0]);
				if (o.type == OBJ_STR) {
					CHECK(strlen(o.str) < sizeof(dev->hid));
					strcpy(dev->hid, o.str);
				} else {
					CHECK_EQ(o.type, OBJ_INT);
					CHECK(o.ival <= 0xffffffff);
					eisa_decode((uint32_t)o.ival, dev->hid);
				}
			} else if (!memcmp(seg, "_CID", 4) || !memcmp(seg, "_DDN", 4)) {
				char *dst = seg[1] == 'C' ? dev->cid : dev->ddn;

				CHECK_EQ(o.type, OBJ_STR);
				CHECK(!dst[0] && strlen(o.str) < sizeof(dev->cid));
				strcpy(dst, o.str);
			} else if (!memcmp(seg, "ADDR", 4)) {
				CHECK_EQ(o.type, OBJ_PKG);
				dev->nr_addr = o.pkg_n;
				memcpy(dev->addr, o.pkg, sizeof(o.pkg));
			} else if (!memcmp(seg, "_UID", 4)) {
				CHECK_EQ(o.type, OBJ_INT);
				dev->uid = (int64_t)o.ival;
			} else if (!memcmp(seg, "_CCA", 4)) {
				CHECK_EQ(o.type, OBJ_INT);
				dev->cca = (int64_t)o.ival;
			} else if (!memcmp(seg, "_CRS", 4)) {
				CHECK_EQ(o.type, OBJ_BUF);
				CHECK(o.buf_len <= MAX_CRS);
				memcpy(dev->crs, o.buf, o.buf_len);
				dev->crs_len = o.buf_len;
			} else {
				FAIL_AT("unexpected name %.4s in %s", (const char *)seg, dev->path);
			}
		} else {
			FAIL_AT("unexpected AML opcode 0x%02x in %s", p[0], scope);
		}
	}
	CHECK(p == end);
}

/* Reads the DSDT into w->devs. */
static void walk_dsdt(struct walk *w, const uint8_t *dsdt, unsigned int max)
{
	memset(w, 0, sizeof(*w));
	w->devs = calloc(max, sizeof(*w->devs));
	w->max = max;
	CHECK(w->devs);
	term_list(w, dsdt + 36, dsdt + rd(dsdt + 4, 4), "", NULL);
}

static const struct dev *find_dev(const struct walk *w, const char *path)
{
	for (unsigned int i = 0; i < w->nr; i++)
		if (!strcmp(w->devs[i].path, path))
			return &w->devs[i];
	FAIL_AT("no device %s in the DSDT", path);
}

/* A decoded _CRS: the descriptors we use, each at most a few times. */
struct crs {
	unsigned int nr_io;
	uint16_t io_base[4], io_len[4];
	unsigned int nr_irq;
	uint16_t irq_mask[4];
	unsigned int nr_mem;
	uint32_t mem_base[4], mem_size[4];
	uint8_t mem_rw[4];
	unsigned int nr_int;
	uint8_t int_flags[4];
	uint32_t int_gsi[4];
};

static void decode_crs(const struct dev *d, struct crs *c)
{
	const uint8_t *p = d->crs, *end = d->crs + d->crs_len;
	bool ended = false;

	memset(c, 0, sizeof(*c));
	while (p < end && !ended) {
		if (!(p[0] & 0x80)) { /* small: tag in bits 6-3, length in 2-0 */
			const unsigned int tag = (p[0] >> 3) & 0xf, len = p[0] & 7;

			CHECK(p + 1 + len <= end);
			switch (tag) {
			case 0x4: /* IRQ, no flags byte */
				CHECK_EQ(len, 2);
				CHECK(c->nr_irq < 4);
				c->irq_mask[c->nr_irq++] = (uint16_t)rd(p + 1, 2);
				break;
			case 0x8: /* IO */
				CHECK_EQ(len, 7);
				CHECK(c->nr_io < 4);
				CHECK_EQ(p[1], 1);		      /* 16-bit decode */
				CHECK_EQ(rd(p + 2, 2), rd(p + 4, 2)); /* fixed: min == max */
				c->io_base[c->nr_io] = (uint16_t)rd(p + 2, 2);
				c->io_len[c->nr_io++] = p[7];
				break;
			case 0xf: /* End Tag: the whole template sums to 0 (or checksum 0) */
				CHECK_EQ(len, 1);
				CHECK(p + 2 == end);
				CHECK(p[1] == 0 || sum(d->crs, d->crs_len) == 0);
				ended = true;
				break;
			default:
				FAIL_AT("%s: unexpected small descriptor 0x%02x", d->path, p[0]);
			}
			p += 1 + len;
		} else { /* large: type byte, 16-bit length */
			size_t len;

			CHECK(p + 3 <= end);
			len = rd(p + 1, 2);
			CHECK(p + 3 + len <= end);
			switch (p[0]) {
			case 0x86: /* Memory32Fixed */
				CHECK_EQ(len, 9);
				CHECK(c->nr_mem < 4);
				c->mem_rw[c->nr_mem] = p[3] & 1;
				c->mem_base[c->nr_mem] = (uint32_t)rd(p + 4, 4);
				c->mem_size[c->nr_mem++] = (uint32_t)rd(p + 8, 4);
				break;
			case 0x89: /* Extended Interrupt */
				CHECK_EQ(len, 6);
				CHECK_EQ(p[4], 1); /* one interrupt */
				CHECK(c->nr_int < 4);
				c->int_flags[c->nr_int] = p[3];
				c->int_gsi[c->nr_int++] = (uint32_t)rd(p + 5, 4);
				break;
			default:
				FAIL_AT("%s: unexpected large descriptor 0x%02x", d->path, p[0]);
			}
			p += 3 + len;
		}
	}
	CHECK(ended);
}

static void check_legacy_devices(const struct walk *w)
{
	const struct dev *d;
	struct crs c;

	d = find_dev(w, "\\_SB_.COM1");
	CHECK_STR(d->hid, "PNP0501");
	CHECK_EQ(d->uid, 1);
	decode_crs(d, &c);
	CHECK_EQ(c.nr_io, 1);
	CHECK_EQ(c.io_base[0], 0x3f8);
	CHECK_EQ(c.io_len[0], 8);
	CHECK_EQ(c.nr_irq, 1);
	CHECK_EQ(c.irq_mask[0], 1u << 4);
	CHECK_EQ(c.nr_mem + c.nr_int, 0);

	d = find_dev(w, "\\_SB_.PS2_");
	CHECK_STR(d->hid, "PNP0303");
	decode_crs(d, &c);
	CHECK_EQ(c.nr_io, 2);
	CHECK_EQ(c.io_base[0], 0x60);
	CHECK_EQ(c.io_len[0], 1);
	CHECK_EQ(c.io_base[1], 0x64);
	CHECK_EQ(c.io_len[1], 1);
	CHECK_EQ(c.nr_irq, 1);
	CHECK_EQ(c.irq_mask[0], 1u << 1);
}

/* VMGenID and the Generic Event Device whose interrupt notifies it. */
static void check_vmgenid(const struct walk *w)
{
	const struct dev *d = find_dev(w, "\\_SB_.VGEN");
	struct crs c;

	CHECK_STR(d->hid, "VMGENCTR"); /* Linux's drivers/virt/vmgenid.c */
	CHECK_STR(d->cid, "VM_Gen_Counter");
	CHECK_STR(d->ddn, "VM_Gen_Counter");
	CHECK_EQ(d->nr_addr, 2);
	CHECK_EQ(d->addr[0] | d->addr[1] << 32, LAYOUT_VMGENID_ADDR);
	CHECK_EQ(LAYOUT_VMGENID_ADDR % 8, 0);
	CHECK(LAYOUT_VMGENID_ADDR >= LAYOUT_ACPI_END); /* never under the tables */
	CHECK(!d->crs_len);

	d = find_dev(w, "\\_SB_.GED_");
	CHECK_STR(d->hid, "ACPI0013");
	decode_crs(d, &c);
	CHECK_EQ(c.nr_int, 1);
	CHECK_EQ(c.int_flags[0], 0x03); /* consumer, edge, active high, exclusive */
	CHECK_EQ(c.int_gsi[0], LAYOUT_GED_GSI);
	CHECK(LAYOUT_GED_GSI < ACPI_IOAPIC_PINS);
	CHECK_STR(d->evt_notify, "\\_SB_.VGEN");
	CHECK_EQ(d->evt_value, 0x80);
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
	return memmem(hay, n, needle, m);
}

static void check_virtio_devices(const struct walk *w, const uint8_t *dsdt,
				 const struct acpi_mmio_dev *devs, unsigned int n)
{
	const size_t dsdt_len = rd(dsdt + 4, 4);

	CHECK_EQ(w->nr, n + 4); /* COM1, PS2_, VGEN, GED_ */
	for (unsigned int i = 0; i < n; i++) {
		char path[32];
		const struct dev *d;
		struct crs c;
		uint8_t mem[12] = {0x86, 0x09, 0x00, 0x01}, irq[9] = {0x89, 0x06, 0x00, 0x03, 0x01};

		snprintf(path, sizeof(path), "\\_SB_.V%03X", i);
		d = find_dev(w, path);
		CHECK_STR(d->hid, "LNRO0005");
		CHECK_EQ(d->uid, i);
		CHECK_EQ(d->cca, 1);
		decode_crs(d, &c);
		CHECK_EQ(c.nr_mem, 1);
		CHECK_EQ(c.mem_rw[0], 1);
		CHECK_EQ(c.mem_base[0], devs[i].base);
		CHECK_EQ(c.mem_size[0], devs[i].size);
		CHECK_EQ(c.nr_int, 1);
		CHECK_EQ(c.int_flags[0], 0x03); /* consumer, edge, active high, exclusive */
		CHECK_EQ(c.int_gsi[0], devs[i].gsi);
		CHECK_EQ(c.nr_io + c.nr_irq, 0);

		/* The raw descriptors, as a byte search over the whole DSDT. */
		for (int k = 0; k < 4; k++) {
			mem[4 + k] = (uint8_t)(devs[i].base >> (8 * k));
			mem[8 + k] = (uint8_t)(devs[i].size >> (8 * k));
			irq[5 + k] = (uint8_t)(devs[i].gsi >> (8 * k));
		}
		CHECK(find_bytes(dsdt, dsdt_len, mem, sizeof(mem)));
		CHECK(find_bytes(dsdt, dsdt_len, irq, sizeof(irq)));
	}
	CHECK(find_bytes(dsdt, dsdt_len, (const uint8_t *)"\x0dLNRO0005", 10) || !n);
}

static struct acpi_mmio_dev *make_devs(unsigned int n)
{
	struct acpi_mmio_dev *d = calloc(n ? n : 1, sizeof(*d));

	CHECK(d);
	for (unsigned int i = 0; i < n; i++)
		d[i] = (struct acpi_mmio_dev){LAYOUT_VIRTIO_MMIO_START + i * 0x1000ULL, 0x1000,
					      5 + i % 19};
	return d;
}

/* Writes the tables and checks all of them; returns the walk for more checks. */
static void check_all(unsigned int ncpus, unsigned int ndevs, struct walk *w)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, MiB);
	struct acpi_mmio_dev *devs = make_devs(ndevs);
	struct tables t;
	uint64_t rsdp = 0;

	CHECK_EQ(acpi_write(&gm, ncpus, devs, ndevs, &rsdp), 0);
	find_tables(ram, rsdp, &t);
	check_madt(t.madt, ncpus);
	walk_dsdt(w, t.dsdt, ndevs + 5);
	check_legacy_devices(w);
	check_vmgenid(w);
	check_virtio_devices(w, t.dsdt, devs, ndevs);
	free(devs);
	free(ram);
}

TEST(one_cpu_no_devices)
{
	struct walk w;

	check_all(1, 0, &w);
	CHECK_EQ(w.nr, 4);
	free(w.devs);
}

TEST(max_cpus_and_devices)
{
	struct walk w;

	check_all(LAYOUT_MAX_VCPUS, 3, &w);
	free(w.devs);
}

/* Over 4 KiB of devices: the \_SB_ scope needs a 3-byte PkgLength. */
TEST(large_dsdt_pkg_lengths)
{
	struct walk w;

	check_all(2, 300, &w);
	CHECK(w.pkg_len_sizes[1] > 0); /* the _CRS buffers */
	CHECK(w.pkg_len_sizes[2] > 0); /* the devices */
	CHECK_EQ(w.pkg_len_sizes[3], 1);
	free(w.devs);
}

TEST(fadt_hw_reduced)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, MiB);
	const uint8_t *f;
	struct tables t;
	uint64_t rsdp;

	CHECK_EQ(acpi_write(&gm, 4, NULL, 0, &rsdp), 0);
	find_tables(ram, rsdp, &t);
	f = t.fadt;
	CHECK_EQ(rd(f + 4, 4), 276);
	CHECK_EQ(f[8], 6);			     /* revision */
	CHECK(f[131] >= 1);			     /* minor version */
	CHECK(rd(f + 112, 4) & (1u << 20));	     /* HW_REDUCED_ACPI */
	CHECK(!(rd(f + 112, 4) & (1u << 10)));	     /* no RESET_REG_SUP */
	CHECK_EQ(rd(f + 109, 2) & 0xf, 0xe);	     /* 8042, no VGA, no MSI; no legacy devices */
	CHECK_EQ(rd(f + 36, 4), 0);		     /* no FACS */
	CHECK_EQ(rd(f + 46, 2), 0);		     /* no SCI */
	CHECK_EQ(rd(f + 48, 4), 0);		     /* no SMI command port */
	for (unsigned int off = 56; off < 88; off++) /* PM1/PM2/PM timer/GPE blocks */
		CHECK_EQ(f[off], 0);
	for (unsigned int off = 116; off < 129; off++) /* RESET_REG, RESET_VALUE */
		CHECK_EQ(f[off], 0);
	for (unsigned int off = 148; off < 268; off++) /* the X_ blocks, sleep registers */
		CHECK_EQ(f[off], 0);
	CHECK_EQ(rd(f + 132, 8), 0); /* X_FIRMWARE_CTRL */
	CHECK_EQ(rd(f + 140, 8), t.dsdt_gpa);
	CHECK(!memcmp(f + 268, "EMBER", 5));
	free(ram);
}

/* Only [LAYOUT_RSDP_START, LAYOUT_ACPI_END) is written, whatever the RAM size. */
TEST(writes_only_the_acpi_area)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, 2 * MiB);
	struct acpi_mmio_dev *devs = make_devs(8);
	uint64_t rsdp;

	memset(ram, 0xa5, 2 * MiB);
	CHECK_EQ(acpi_write(&gm, 8, devs, 8, &rsdp), 0);
	for (size_t i = 0; i < LAYOUT_RSDP_START; i++)
		if (ram[i] != 0xa5)
			FAIL_AT("byte 0x%zx written", i);
	for (size_t i = LAYOUT_ACPI_END; i < 2 * MiB; i++)
		if (ram[i] != 0xa5)
			FAIL_AT("byte 0x%zx written", i);
	CHECK(!memcmp(ram + rsdp, "RSD PTR ", 8));
	free(devs);
	free(ram);
}

TEST(ram_too_small)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, LAYOUT_RSDP_START); /* RAM ends where the tables start */
	uint64_t rsdp = 42;

	CHECK_EQ(acpi_write(&gm, 1, NULL, 0, &rsdp), -EFAULT);
	CHECK_EQ(rsdp, 42);
	free(ram);
	ram = low_ram(&gm, LAYOUT_ACPI_END - 1); /* one byte short */
	CHECK_EQ(acpi_write(&gm, 1, NULL, 0, &rsdp), -EFAULT);
	CHECK_EQ(rsdp, 42);
	for (size_t i = 0; i < LAYOUT_ACPI_END - 1; i++)
		CHECK_EQ(ram[i], 0);
	free(ram);
}

TEST(bad_arguments)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, MiB);
	struct acpi_mmio_dev d = {LAYOUT_VIRTIO_MMIO_START, 0x1000, 5};
	uint64_t rsdp;

	CHECK_EQ(acpi_write(&gm, 0, NULL, 0, &rsdp), -EINVAL);
	CHECK_EQ(acpi_write(&gm, LAYOUT_MAX_VCPUS + 1, NULL, 0, &rsdp), -EINVAL);
	CHECK_EQ(acpi_write(&gm, 1, NULL, 0, NULL), -EINVAL);
	CHECK_EQ(acpi_write(&gm, 1, NULL, 1, &rsdp), -EINVAL);
	CHECK_EQ(acpi_write(&gm, 1, &d, ACPI_MAX_MMIO_DEVS + 1, &rsdp), -EINVAL);
	d.gsi = ACPI_IOAPIC_PINS; /* not an IOAPIC pin */
	CHECK_EQ(acpi_write(&gm, 1, &d, 1, &rsdp), -EINVAL);
	d.gsi = ACPI_IOAPIC_PINS - 1;
	d.size = 0;
	CHECK_EQ(acpi_write(&gm, 1, &d, 1, &rsdp), -EINVAL);
	d = (struct acpi_mmio_dev){0x100000000ULL - 0x1000, 0x1001, 5}; /* crosses 4 GiB */
	CHECK_EQ(acpi_write(&gm, 1, &d, 1, &rsdp), -EINVAL);
	d.size = 0x1000; /* ends exactly at 4 GiB: fine */
	CHECK_EQ(acpi_write(&gm, 1, &d, 1, &rsdp), 0);
	free(ram);
}

/* The most devices the names allow overflow the area: -ENOSPC, guest memory untouched. */
TEST(too_many_devices)
{
	struct guest_mem gm;
	uint8_t *ram = low_ram(&gm, MiB);
	struct acpi_mmio_dev *devs = make_devs(ACPI_MAX_MMIO_DEVS);
	uint64_t rsdp = 42;

	CHECK_EQ(acpi_write(&gm, 1, devs, ACPI_MAX_MMIO_DEVS, &rsdp), -ENOSPC);
	CHECK_EQ(rsdp, 42);
	for (size_t i = 0; i < MiB; i++)
		if (ram[i])
			FAIL_AT("byte 0x%zx written", i);
	free(devs);
	free(ram);
}

/* The AML encoder on its own: integer forms, EisaId, PkgLength sizes, sticky overflow. */
TEST(aml_encodings)
{
	static const uint8_t ints[] = {0x00, 0x01, 0x0a, 0xff, 0x0b, 0x00, 0x01,
				       0x0c, 0x00, 0x00, 0x01, 0x00, 0x0e, 0,
				       0,    0,	   0,	 1,    0,    0,	   0};
	static const uint8_t eisa[] = {0x0c, 0x41, 0xd0, 0x05, 0x01}; /* PNP0501, as iasl */
	uint8_t buf[128], small[4];
	struct aml a = {.p = buf, .cap = sizeof(buf)};
	size_t start;

	aml_integer(&a, 0);
	aml_integer(&a, 1);
	aml_integer(&a, 0xff);
	aml_integer(&a, 0x100);
	aml_integer(&a, 0x10000);
	aml_integer(&a, 1ULL << 32);
	CHECK_EQ(a.len, sizeof(ints));
	CHECK(!memcmp(buf, ints, sizeof(ints)));
	a.len = 0;
	aml_eisa_id(&a, "PNP0501");
	CHECK_EQ(a.len, sizeof(eisa));
	CHECK(!memcmp(buf, eisa, sizeof(eisa)));

	/* Device (seg) with a body of 62 bytes in all: a 1-byte PkgLength; one more, 2 bytes. */
	a.len = 0;
	start = aml_device(&a, "DEV_");
	while (a.len - start < 62)
		aml_integer(&a, 0);
	aml_pkg_close(&a, start);
	CHECK_EQ(buf[start], 63);
	CHECK_EQ(a.len, start + 63);
	a.len = 0;
	start = aml_device(&a, "DEV_");
	while (a.len - start < 63)
		aml_integer(&a, 0);
	aml_pkg_close(&a, start);
	CHECK_EQ(buf[start], 0x40 | ((63 + 2) & 0xf));
	CHECK_EQ(buf[start + 1], (63 + 2) >> 4);
	CHECK(!memcmp(buf + start + 2, "DEV_", 4));
	CHECK(!a.overflow);

	/* Past the end: nothing more is written (NameOp fit, the name did not); it stays so. */
	a = (struct aml){.p = small, .cap = sizeof(small)};
	aml_name(&a, "_HID");
	CHECK(a.overflow);
	CHECK_EQ(a.len, 1);
	aml_integer(&a, 0);
	CHECK(a.overflow);
	CHECK_EQ(a.len, 1);
}

TEST_MAIN(TEST_ENTRY(one_cpu_no_devices), TEST_ENTRY(max_cpus_and_devices),
	  TEST_ENTRY(large_dsdt_pkg_lengths), TEST_ENTRY(fadt_hw_reduced),
	  TEST_ENTRY(writes_only_the_acpi_area), TEST_ENTRY(ram_too_small),
	  TEST_ENTRY(bad_arguments), TEST_ENTRY(too_many_devices), TEST_ENTRY(aml_encodings))
