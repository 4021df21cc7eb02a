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
#include "devices/legacy/i8042.h"
#include "devices/legacy/uart8250.h"
#include "devices/virtio/rng.h"
#include "devices/virtio/virtio_mmio.h"
#include "core/bus.h"
#include "config/config.h"
#include "core/event_loop.h"
#include "core/guest_mem.h"

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

/*
 * Per-vCPU counters; each written only by its vCPU thread. The metrics read
 * them from the event loop while the vCPU runs: aligned 64-bit loads cannot
 * tear on x86-64, and a count a few exits old is all a metric needs.
 */
struct vcpu_stats {
	uint64_t exits;
	uint64_t exit_io;
	uint64_t exit_io_in, exit_io_out; /* items: a rep string instruction counts each */
	uint64_t exit_mmio;
	uint64_t exit_mmio_read, exit_mmio_write;
	uint64_t io_unhandled;
	uint64_t mmio_unhandled;
	uint64_t failures;
	uint64_t pvm_completions[8]; /* indexed like the completion table (pvm.c) */
};

struct vcpu {
	struct vm *vm;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	size_t run_size;
	pthread_t thread;
	bool started;
	atomic_bool sample_pending; /* --sample-rip: record rip at the next exit */
	struct vcpu_stats stats;
};

/*
 * --sample-rip: a timer on the event loop pokes every vCPU out of KVM_RUN every
 * period; each records "<vcpu> <ms since start> 0x<rip> <cpl>" in the file
 * (scripts/guest-profile.py symbolizes it with the guest's System.map). Where
 * an interpreted guest kernel spends its time, found from the outside.
 */
struct rip_sampler {
	int fd; /* the samples file, -1: off */
	struct ev_handler timer_h;
	struct timespec start;
};

int vm_sampler_start(struct vm *vm, const char *path, unsigned int period_ms);
void vm_sampler_stop(struct vm *vm);
void vcpu_sample(struct vcpu *vcpu);
void vcpu_poke(struct vcpu *vcpu);

/* A virtio device's place in the VM: its irqfd and one ioeventfd per queue. */
#define VM_MAX_VIRTIO CONFIG_MAX_VIRTIO
struct virtio_slot;
struct virtio_notify {
	struct ev_handler h; /* the queue's ioeventfd on the event loop */
	struct virtio_slot *slot;
	unsigned int queue;
	bool registered, watched;
};
struct virtio_slot {
	struct virtio_dev *dev;
	int irqfd;
	struct virtio_notify notify[VIRTIO_MAX_QUEUES];
	struct rate_limiter rl;	   /* the device's limiter (inactive: no limit) */
	struct ev_handler timer_h; /* timerfd: retry once the limiter has tokens */
	bool timer_armed;
};

/* The virtio devices' VM wiring (vmm/dev_*.c), opaque here. */
struct vm_drive;
struct vm_net;
struct virtio_balloon;
struct virtio_vsock;

struct vm {
	struct vm_config cfg;
	bool boot_timer_enabled;
	bool no_pvm_profile; /* --no-pvm-profile: add nothing to a kvm_pvm guest's command line */
	bool pvm_profile;    /* the kvm_pvm guest profile was added (pvm_profile.c) */
	struct rip_sampler sampler;
	int serial_out_fd; /* where the guest's console goes (stdout by default) */
	int serial_in_fd;  /* host input for the guest's console, -1 for none */

	int kvm_fd;
	int vm_fd;
	bool pvm; /* KVM is kvm_pvm: complete what its emulator cannot (pvm.c) */
	struct kvm_cpuid2 *supported_cpuid;

	struct guest_mem mem;
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
	struct virtio_slot virtio[VM_MAX_VIRTIO];
	unsigned int nr_virtio;
	struct virtio_rng rng;
	bool has_rng;
	/*
	 * Each virtio device's wiring into the VM, owned by its dev_*.c: added by
	 * vm_create(), freed by vm_destroy(), looked up from the event loop's
	 * thread (the API, pause); vCPU threads reach a device through its MMIO
	 * window, never through these.
	 */
	struct vm_drive *drives[VM_MAX_VIRTIO]; /* in configuration order */
	unsigned int nr_drives;
	struct vm_net *nets; /* a list, in configuration order */
	struct virtio_vsock *vsock;
	struct virtio_balloon *balloon;
	bool devices_ready; /* the device models are initialized (teardown) */
	bool bad_input;	    /* vm_create failed on the configuration or its files */

	/* The event loop (owned by the caller) and the VM's handlers on it. */
	struct event_loop *loop;
	int uart_evt; /* eventfd: the UART has room for host input again (vCPU -> loop) */
	struct ev_handler uart_space_h;
	struct ev_handler stdin_h;
	bool stdin_watched;

	/* Lifecycle: the first exit request wins; vCPU threads see `stopping`. */
	atomic_int exit_code; /* -1 while running */
	atomic_bool stopping;

	/*
	 * Pause (vm_pause.c). pause_requested, nr_parked and nr_exited are under
	 * pause_lock; vCPU threads wait on resume_cv while pause_requested, and
	 * vm_pause() waits on parked_cv until every vCPU is parked or gone.
	 * `paused` is the event loop's own flag (no device work while set).
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t resume_cv;
	pthread_cond_t parked_cv;
	bool pause_ready; /* the lock and conditions are initialized */
	bool pause_requested;
	unsigned int nr_parked;
	unsigned int nr_exited;
	bool paused;
	struct timespec start_mono;
	struct timespec start_cpu;
};

/*
 * Builds the whole VM from @cfg, its handlers on vm->loop (set by the caller):
 * KVM checks, memory, irqchip, devices, kernel and initrd, boot tables, vCPUs. Takes ownership of
 * @cfg's strings. On error returns a negative errno after logging one line saying what failed and
 * with which input; vm_destroy() is still safe to call.
 */
int vm_create(struct vm *vm, struct vm_config *cfg);

/* Starts the vCPU threads; the caller runs vm->loop. */
int vm_start(struct vm *vm);

/*
 * Stops and joins the vCPU threads; returns the exit code the VM ended with
 * (VM_EXIT_OK if nothing asked it to end: the VMM stopped it).
 */
int vm_stop(struct vm *vm);

/* Stops and joins every thread and closes every fd. Safe on a partly built VM. */
void vm_destroy(struct vm *vm);

/* Asks the VM to end with @code (first request wins). Any thread. */
void vm_request_exit(struct vm *vm, int code);

/*
 * vm_pause.c: pause and resume, from the event loop's thread, on a started VM.
 * vm_pause() kicks every vCPU out of KVM_RUN (immediate_exit + signal) and
 * returns once each one is parked between two KVM_RUNs (an exit it was
 * handling is finished first) or has ended; the event loop then stops serving
 * console input, virtio queue notifications and rate-limiter timers, so no
 * device work happens until vm_resume(). Pausing a paused
 * VM, or resuming a running one, does nothing. 0, or -ESHUTDOWN if the VM is
 * ending.
 */
int vm_pause(struct vm *vm);
int vm_resume(struct vm *vm);
/* For vm_create/vm_stop/vm_destroy: set up, wake every parked vCPU (stop), tear down. */
void vm_pause_init(struct vm *vm);
void vm_pause_wake_all(struct vm *vm);
void vm_pause_destroy(struct vm *vm);
/*
 * For vCPU threads: after KVM_RUN returned EINTR/EAGAIN (a kick), parks while a
 * pause is requested, then re-arms KVM_RUN (clears immediate_exit) unless the VM
 * is stopping. vm_vcpu_exiting(): the thread leaves its run loop for good.
 */
void vm_vcpu_kicked(struct vcpu *vcpu);
void vm_vcpu_exiting(struct vcpu *vcpu);

/*
 * virtio_slots.c: vm_virtio_place() gives a device the next MMIO window and
 * GSI and puts it on the kernel command line (before the boot tables are
 * written); vm_virtio_connect() wires its irqfd and queue ioeventfds once the
 * KVM VM exists; vm_virtio_disconnect() undoes that.
 */
int vm_virtio_place(struct vm *vm, struct virtio_dev *d);
int vm_virtio_connect(struct vm *vm);
void vm_virtio_disconnect(struct vm *vm);
const struct virtio_host_ops *vm_virtio_host_ops(void);
/* The entropy device (virtio-rng), with its rate limiter, from cfg.entropy. */
int vm_add_rng(struct vm *vm);

/* vcpu.c */
int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id);
int vcpu_start(struct vcpu *vcpu);
void vcpu_kick(struct vcpu *vcpu);
void vcpu_destroy(struct vcpu *vcpu);
void vcpu_dump_state(struct vcpu *vcpu);

/*
 * kvm.c: what the VM needs from /dev/kvm, prepared while vm_create() checks its
 * inputs, because KVM's own set-up dominates ember's start-up time: a
 * short-lived thread opens /dev/kvm, creates the VM, registers guest RAM, and
 * creates the IRQ chip and PIT,
 * while the caller fetches KVM_GET_SUPPORTED_CPUID in kvm_prep_finish().
 */
#define KVM_PREP_CPUID_MAX 256
struct kvm_prep {
	const struct guest_mem *mem; /* mapped before the thread starts, slots 0.. */
	bool dirty_log;
	pthread_t thread;
	bool threaded;
	int kvm_fd;
	int vm_fd;
	int max_vcpus; /* KVM_CAP_MAX_VCPUS, <= 0 if unknown */
	bool pvm;
	struct kvm_cpuid2 *cpuid; /* KVM_GET_SUPPORTED_CPUID */
	int err;		  /* 0, or -errno with msg set */
	char msg[256];
};

int kvm_prep_start(struct kvm_prep *p, const struct guest_mem *mem, bool dirty_log);
/* Fetches the CPUID list, waits for the thread; 0, or -errno with p->msg set. */
int kvm_prep_finish(struct kvm_prep *p);
/* Waits, then closes and frees whatever the VM did not take over. */
void kvm_prep_release(struct kvm_prep *p);
bool kvm_host_is_pvm(void);

/*
 * One KVM ioctl; on failure logs "[vcpu N: ]NAME: error" and returns -errno
 * (saved before logging can change it). KVM_CALL names the request itself.
 */
int kvm_call(int fd, unsigned long req, void *arg, const char *name, const struct vcpu *vcpu);
#define KVM_CALL(fd, req, arg, vcpu) kvm_call((fd), (req), (arg), #req, (vcpu))

#endif
