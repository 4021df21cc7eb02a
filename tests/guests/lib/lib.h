/* lib.h - helpers shared by the freestanding PVH test guests (32-bit, paging off). */
#ifndef EMBER_GUEST_LIB_H
#define EMBER_GUEST_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- PVH boot contract --- */
#define HVM_START_MAGIC 0x336ec578u

struct hvm_start_info {
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

/* Physical address of the hvm_start_info, saved by start.S from %ebx. */
extern uint32_t pvh_start_info;

/* --- port I/O (each access is a VM exit: use sparingly) --- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* --- MMIO (paging is off: physical == linear) --- */
static inline uint32_t mmio_read32(uint32_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint32_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static inline uint8_t mmio_read8(uint32_t addr)
{
	return *(volatile uint8_t *)addr;
}

static inline void mmio_write8(uint32_t addr, uint8_t v)
{
	*(volatile uint8_t *)addr = v;
}

/* --- CPU --- */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

static inline void sti(void)
{
	__asm__ volatile("sti" ::: "memory");
}

/* Enable interrupts and halt atomically (sti's one-instruction shadow covers hlt), so an
 * interrupt that became pending after the caller's cli + check still wakes us. */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* Busy-wait about `cycles` TSC ticks (real time, however slowly instructions run). */
void delay_cycles(uint64_t cycles);

/* --- 8250 UART at 0x3f8 --- */
#define UART_BASE     0x3f8
#define UART_RBR      0 /* read: receive buffer */
#define UART_THR      0 /* write: transmit holding */
#define UART_IER      1
#define UART_FCR      2 /* write */
#define UART_IIR      2 /* read */
#define UART_LCR      3
#define UART_MCR      4
#define UART_LSR      5
#define UART_LSR_DR   0x01
#define UART_LSR_THRE 0x20

void uart_putc(char c);
void puts(const char *s);  /* no newline added */
void putln(const char *s); /* s + "\n" */
void put_hex(uint32_t v);  /* 0x%08x */
void put_dec(uint32_t v);
/* printf subset: %s %c %u %d %x (always 0x%08x) %%. */
__attribute__((format(printf, 1, 2))) void print(const char *fmt, ...);

/* --- leaving --- */
/* Reset through the i8042 (outb 0x64, 0xFE): ember exits with status 0. Never returns. */
__attribute__((noreturn)) void reset(void);
/* Print "FAIL: <msg>\n" and reset. */
__attribute__((noreturn)) void fail(const char *msg);
__attribute__((noreturn)) void halt_forever(void);

/* --- IDT (32-bit interrupt gates, selector 0x08) --- */
#define CODE_SEL 0x08
#define DATA_SEL 0x10

/* What the interrupt stubs in start.S leave on the stack; handlers may change eip. */
struct trap_frame {
	uint32_t edi, esi, ebp, esp, ebx, edx, ecx, eax; /* pushal */
	uint32_t vector, error;				 /* error is 0 if the CPU pushed none */
	uint32_t eip, cs, eflags;
};

typedef void (*trap_handler_t)(struct trap_frame *f);

/* Point all 256 gates at the stubs in start.S and lidt. Vectors without a handler print
 * "FAIL: unexpected exception/interrupt N ..." and reset; the LAPIC spurious vector is
 * ignored. Handlers return through an IRET-free epilogue (see start.S). */
void idt_init(void);
void set_handler(uint8_t vec, trap_handler_t h);
/* Low level: point gate `vec` at `entry` (type: 0x8E = DPL0 32-bit interrupt gate). */
void idt_set_gate(uint8_t vec, void *entry, uint8_t type);

/* --- local APIC (xAPIC MMIO at 0xFEE00000) --- */
#define LAPIC_BASE	0xFEE00000u
#define LAPIC_ID	0x020
#define LAPIC_EOI	0x0B0
#define LAPIC_SVR	0x0F0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TMR	0x320
#define LAPIC_LVT0	0x350
#define LAPIC_LVT1	0x360
#define LAPIC_TMR_ICR	0x380
#define LAPIC_TMR_CCR	0x390
#define LAPIC_TMR_DCR	0x3E0
#define SPURIOUS_VECTOR 0xFF

static inline uint32_t lapic_read(uint32_t reg)
{
	return mmio_read32(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	mmio_write32(LAPIC_BASE + reg, v);
}

static inline uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

static inline void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* Software-enable the LAPIC (SVR bit 8, spurious vector 0xFF, which idt_init() ignores),
 * and mask LINT0 so an unprogrammed 8259 can't inject ExtINT garbage. */
void lapic_enable(void);
/* Send an IPI: ICR high = dest << 24, then ICR low = `lo`; waits (bounded) for idle. */
void lapic_send_ipi(uint32_t dest, uint32_t lo);
/* One-shot LAPIC timer on `vector` firing after about `ms` milliseconds (assumes KVM's
 * 1 GHz APIC bus; divide by 128). For timeouts only. */
void lapic_timer_oneshot(uint8_t vector, uint32_t ms);
void lapic_timer_stop(void);

/* Mask both 8259 PICs (two port writes). */
void pic_mask_all(void);

/* --- IOAPIC at 0xFEC00000 --- */
#define IOAPIC_BASE 0xFEC00000u
uint32_t ioapic_read(uint32_t reg);
void ioapic_write(uint32_t reg, uint32_t v);
/* Route GSI `irq` to `vector` on APIC `dest`: fixed, physical, edge, active high, unmasked. */
void ioapic_route(uint32_t irq, uint8_t vector, uint32_t dest);

/* --- SMP --- */
typedef struct {
	volatile uint32_t v;
} spinlock_t;

void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
/* Serialises output from several CPUs: take it around multi-part prints. */
extern spinlock_t print_lock;

static inline uint32_t atomic_inc(volatile uint32_t *p)
{
	uint32_t v = 1;
	__asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) : : "memory");
	return v + 1;
}

/* AP bring-up: the real-mode trampoline in start.S (ap_tramp_start..ap_tramp_end) is copied to
 * a 4 KiB-aligned address below 1 MiB; SIPI vector = address >> 12. Each AP gets its own stack
 * (MAX_APS at most) and calls ap_main() (weak default: halt). */
#define MAX_APS 31
extern char ap_tramp_start[], ap_tramp_end[];
void ap_main(void);

/* --- misc --- */
/* Is `word` one of the space-separated words of the PVH command line? */
bool cmdline_has(const char *word);
/* The PVH command line, or "" if there is none. */
const char *cmdline(void);
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
size_t strlen(const char *s);
int memcmp(const void *a, const void *b, size_t n);

#endif
