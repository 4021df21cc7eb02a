/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The microVM: every piece of a VM's state hangs off struct vm. One thread per
 * vCPU runs a tight KVM_RUN loop; the caller owns the event loop (vm->loop),
 * which serves host input, device work and the exit request: vm_start() starts
 * the vCPUs, vm_stop() joins them.
 */
#ifndef EMBER_VMM_VM_H
#define EMBER_VMM_VM_H

#include "boot/boot.h"
#include "boot/cmdline.h"
#include "devices/legacy/boot_timer.h"
#include "devices/legacy/cmos_rtc.h"
#include "devices/legacy/vmgenid.h"
#include "devices/legacy/i8042.h"
#include "devices/legacy/uart8250.h"
#include "devices/virtio/virtio_mmio.h"
#include "core/bus.h"
#include "config/config.h"
#include "core/event_loop.h"
#include "core/guest_mem.h"
#include "seccomp/seccomp.h"
#include "vmm/kvm.h"
#include "vmm/pause.h"
#include "vmm/sampler.h"
#include "vmm/vcpu.h"
#include "vmm/virtio_slots.h"

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* How a VM ended: the process's exit status (Firecracker's codes). */
enum vm_exit_code {
	VM_EXIT_OK = 0,		   /* the guest reset or powered off */
	VM_EXIT_ERROR = 1,	   /* a guest or VMM failure (triple fault, emulation, ...) */
	VM_EXIT_BAD_CONFIG = 152,  /* the configuration could not be applied */
	VM_EXIT_ARG_PARSING = 153, /* bad command line */
};

/* The guest's console: the UART's host side. */
struct vm_console {
	int out_fd;   /* where the guest's console goes (stdout by default) */
	int in_fd;    /* host input for the guest's console, -1 for none */
	int uart_evt; /* eventfd: the UART has room for host input again (vCPU -> loop) */
	struct ev_handler uart_space_h;
	struct ev_handler in_h;
	bool in_watched;
};

/*
 * A KVM memory slot of a device's own, outside guest RAM (a pmem device's
 * file): recorded while the devices are added, registered once the KVM VM
 * exists (slots from GUEST_MEM_MAX_REGIONS on).
 */
struct vm_memslot {
	uint64_t gpa, size;
	void *hva;
	bool read_only;
};
#define VM_MAX_MEMSLOTS	  CONFIG_MAX_PMEM
#define VM_DEV_MEM_ALIGN  (1ULL << 30)	 /* device memory starts on a GiB above RAM */
#define VM_DEV_SLOT_ALIGN (128ULL << 20) /* each device's region: a memory section */

struct vm {
	struct vm_config cfg;
	bool boot_timer_enabled;
	bool no_pvm_profile; /* --no-pvm-profile: add nothing to a kvm_pvm guest's command line */
	bool pvm_profile;    /* the kvm_pvm guest profile was added (pvm_profile.c) */
	struct rip_sampler sampler;
	const struct seccomp_prog *seccomp_vcpu;  /* each vCPU thread's filter; NULL: none */
	const struct seccomp_prog *seccomp_setup; /* the late thread's (kvm.c) */
	bool seccomp_own_vmm; /* this thread's filter is off or ember's own, not a file's */

	int kvm_fd;
	int vm_fd;
	struct kvm_late kvm_late; /* stopped before vm_fd closes (kvm.c) */
	bool pvm;		  /* KVM is kvm_pvm: complete what its emulator cannot (pvm.c) */
	struct kvm_cpuid2 *supported_cpuid;

	struct guest_mem mem;
	/* Device memory above RAM (and virtio-mem's region): where the next one goes. */
	uint64_t dev_mem_next;
	struct vm_memslot memslots[VM_MAX_MEMSLOTS];
	unsigned int nr_memslots;
	struct bus pio;
	struct bus mmio;

	struct vcpu vcpus[CONFIG_MAX_VCPUS];
	unsigned int nr_vcpus;

	struct boot_image boot;
	struct cmdline cmdline;
	uint64_t initrd_addr;
	uint64_t initrd_size;

	struct uart8250 uart;
	struct i8042 i8042;
	struct boot_timer boot_timer;
	struct vmgenid vmgenid; /* its id at LAYOUT_VMGENID_ADDR, its interrupt LAYOUT_GED_GSI */
	struct cmos_rtc rtc;
	/*
	 * The virtio devices, each on the heap in its slot (virtio_slots.h), in
	 * slot order: added by vm_create() from the device table
	 * (device_table.h), removed by vm_destroy(), looked up from the event
	 * loop's thread (the API); vCPU threads reach a device through its MMIO
	 * window, never through these.
	 */
	struct virtio_slot virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;
	bool devices_ready; /* the legacy device models are initialized (teardown) */
	bool bad_input;	    /* vm_create failed on the configuration or its files */

	/* The event loop (owned by the caller): every handler of the VM's runs on it. */
	struct event_loop *loop;
	/* A VM KVM made while the process idled, taken if ready (kvm.h); may be NULL. */
	struct kvm_prewarm *prewarm;
	struct vm_console console;
	struct mmds *mmds; /* the controller's metadata store, served on mmds-config's interfaces */

	/* Lifecycle: the first exit request wins; vCPU threads see `stopping`. */
	atomic_int exit_code; /* -1 while running */
	atomic_bool stopping;

	struct vm_pause pause; /* pause.h */
	struct timespec start_mono;
	struct timespec start_cpu;

	/* Snapshots (snapshot.c). */
	struct arch_snapshot_caps snap_caps; /* what KVM offers, learnt at the first save */
	bool snap_caps_ready;
	/*
	 * Guest memory holds pages KVM's dirty log never saw written: ember's own
	 * writes at boot (kernel, boot tables). The first Diff snapshot after a
	 * boot therefore writes every page that is not zero, as a Full does.
	 */
	bool mem_untracked;
	/* A Uffd restore: the userfaultfd and the page-fault handler's socket, kept open; -1: none.
	 */
	int uffd, uffd_sock;
	/*
	 * /proc/self/pagemap (or -1): a Full snapshot skips the anonymous pages the
	 * host never mapped. Opened at build time, before the vmm seccomp filter,
	 * which allows no read-only open.
	 */
	int pagemap_fd;
};

/*
 * Builds the whole VM from @cfg, its handlers on vm->loop (set by the caller):
 * KVM checks, memory, irqchip, devices, kernel and initrd, boot tables, vCPUs. Takes ownership of
 * @cfg's strings. On error returns a negative errno after logging one line saying what failed and
 * with which input; vm_destroy() is still safe to call.
 */
int vm_create(struct vm *vm, struct vm_config *cfg);

/*
 * For a restore (snapshot.c): the same VM built from @cfg (ownership as
 * vm_create) around the snapshot's memory file @mem_fd, mapped privately (-1:
 * anonymous memory, for a userfaultfd to fill), without loading a kernel or
 * writing boot tables: the vCPUs are created and left for their saved state,
 * the devices are added from @cfg.
 */
int vm_create_restored(struct vm *vm, struct vm_config *cfg, int mem_fd);

/* Starts the vCPU threads; the caller runs vm->loop. */
int vm_start(struct vm *vm);

/*
 * Stops and joins the vCPU threads; returns the exit code the VM ended with
 * (VM_EXIT_OK if nothing asked it to end: the VMM stopped it).
 */
int vm_stop(struct vm *vm);

/* Stops and joins every thread and closes every fd. Safe on a partly built VM. */
void vm_destroy(struct vm *vm);

/*
 * Phase 1 (a device's add): @size bytes of device memory at @hva get the next
 * aligned guest physical address above RAM (*gpa) and a KVM slot once the KVM
 * VM exists. 0, or -ENOSPC after logging one line naming @what.
 */
int vm_add_memslot(struct vm *vm, const char *what, void *hva, uint64_t size, bool read_only,
		   uint64_t *gpa);

/* Asks the VM to end with @code (first request wins). Any thread. */
void vm_request_exit(struct vm *vm, int code);

#endif
