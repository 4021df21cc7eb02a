// SPDX-License-Identifier: Apache-2.0
/* VM lifecycle: create (in phases), run (the event loop), destroy (in reverse). */
#include "vmm/vm.h"
#include "vmm/cpu_template.h"
#include "vmm/hugepages.h"
#include "vmm/memory_hotplug.h"

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "boot/pvm_profile.h"
#include "util/log.h"
#include "vmm/device_table.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

void vm_request_exit(struct vm *vm, int code)
{
	int running = -1;

	/* The first request decides the exit code; later ones change nothing. */
	atomic_compare_exchange_strong(&vm->exit_code, &running, code);
	atomic_store(&vm->stopping, true);
	ev_stop(vm->loop);
}

/* --- device glue: callbacks from the device models into KVM and the loop --- */

static void irq_line(struct vm *vm, unsigned int gsi, int level)
{
	struct kvm_irq_level irq = {.irq = gsi, .level = (uint32_t)level};

	if (ioctl(vm->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		log_error("KVM_IRQ_LINE gsi %u level %d: %s", gsi, level, strerror(errno));
}

static void uart_set_irq(void *opaque, int level)
{
	irq_line(opaque, LAYOUT_COM1_IRQ, level);
}

static void uart_rx_space(void *opaque)
{
	struct vm *vm = opaque;
	uint64_t one = 1;

	if (write(vm->console.uart_evt, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_error("uart eventfd: %s", strerror(errno));
}

static void i8042_set_irq(void *opaque, int level)
{
	irq_line(opaque, LAYOUT_I8042_IRQ, level);
}

/* The Generic Event Device's interrupt: an edge on its GSI (_EVT notifies VMGenID). */
static void vmgenid_notify(void *opaque)
{
	irq_line(opaque, LAYOUT_GED_GSI, 1);
	irq_line(opaque, LAYOUT_GED_GSI, 0);
}

static void i8042_reset(void *opaque)
{
	log_info("guest requested a reset through the i8042 (0xfe): stopping the VM");
	vm_request_exit(opaque, VM_EXIT_OK);
}

/*
 * Port 0x80 (POST codes / Linux's io_delay), and the boot-timer address without
 * --boot-timer: accepted and ignored, not an error.
 */
static void debug_port_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	(void)opaque;
	(void)offset;
	if (!is_write)
		memset(data, 0, len);
}

static const struct uart8250_ops uart_ops = {.set_irq = uart_set_irq, .rx_space = uart_rx_space};
static const struct i8042_ops i8042_ops = {.set_irq = i8042_set_irq, .reset = i8042_reset};

static int vm_init_devices(struct vm *vm)
{
	int ret;

	uart8250_init(&vm->uart, vm->console.out_fd, &uart_ops, vm);
	if (vm->cfg.serial.has_rate_limiter) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		uart8250_set_tx_limit(&vm->uart, &vm->cfg.serial.rate_limiter,
				      (uint64_t)now.tv_sec * 1000000000ULL + (uint64_t)now.tv_nsec);
	}
	i8042_init(&vm->i8042, &i8042_ops, vm);
	vmgenid_init(&vm->vmgenid, &vm->mem, LAYOUT_VMGENID_ADDR, vmgenid_notify, vm);
	vm->devices_ready = true;
	ret = bus_register(&vm->pio, LAYOUT_COM1_PORT, UART8250_NR_REGS, uart8250_io, &vm->uart,
			   "uart-com1");
	if (!ret)
		ret = bus_register(&vm->pio, LAYOUT_I8042_PORT, I8042_NR_PORTS, i8042_io,
				   &vm->i8042, "i8042");
	if (!ret)
		ret = bus_register(&vm->pio, 0x80, 1, debug_port_io, NULL, "debug-port");
	if (!ret) {
		cmos_rtc_init(&vm->rtc);
		ret = bus_register(&vm->pio, CMOS_RTC_PORT, CMOS_RTC_NR_PORTS, cmos_rtc_io,
				   &vm->rtc, "cmos-rtc");
	}
	if (!ret && vm->boot_timer_enabled) {
		boot_timer_init(&vm->boot_timer, &vm->start_mono, &vm->start_cpu);
		ret = bus_register(&vm->mmio, LAYOUT_BOOT_TIMER_ADDR, BOOT_TIMER_LEN, boot_timer_io,
				   &vm->boot_timer, "boot-timer");
	} else if (!ret) {
		/* Guests signal boot at every start: without --boot-timer that is not an error. */
		ret = bus_register(&vm->mmio, LAYOUT_BOOT_TIMER_ADDR, BOOT_TIMER_LEN, debug_port_io,
				   NULL, "boot-timer (off)");
	}
	if (ret) {
		log_error("registering the legacy devices: %s", strerror(-ret));
		return ret;
	}
	/*
	 * The virtio devices, from the device table in Firecracker's order, which
	 * is also their slot order (MMIO window 0xc0001000 + 4 KiB * slot, GSI 5
	 * + slot, and the order of the virtio_mmio.device= entries).
	 */
	return vm_devices_add(vm);
}

/*
 * Maps guest RAM: anonymous memory (a boot, or a restore whose pages come
 * through userfaultfd), or a snapshot's memory file @mem_fd (>= 0) mapped
 * privately. KVM learns of it in kvm_prep.
 */
__attribute__((noinline)) static int vm_init_memory(struct vm *vm, int mem_fd)
{
	const struct machine_config *mc = &vm->cfg.machine;
	const struct memory_hotplug_config *hp = &vm->cfg.memory_hotplug;
	uint64_t ram, top, hp_gpa, hp_size = 0;
	int ret;

	if (mem_fd < 0 && mc->huge_pages == HUGE_PAGES_2M) {
		char why[VMM_ERR_MAX];

		ret = vm_hugepages_check(mc->mem_size_mib, why);
		if (ret) {
			log_error("%s", why);
			vm->bad_input = true;
			return ret;
		}
		ret = guest_mem_init_hugetlb(&vm->mem, mc->mem_size_mib << 20,
					     LAYOUT_MMIO_GAP_START, LAYOUT_MMIO_GAP_END);
		if (ret)
			log_error("machine-config.huge_pages: \"2M\": cannot map %llu MiB in huge "
				  "pages: %s",
				  (unsigned long long)mc->mem_size_mib, strerror(-ret));
		return ret;
	}
	ram = mc->mem_size_mib << 20;
	top = ram <= LAYOUT_MMIO_GAP_START ? LAYOUT_MMIO_GAP_END
					   : LAYOUT_MMIO_GAP_END + (ram - LAYOUT_MMIO_GAP_START);
	/* Device memory (virtio-mem's region first, then pmem) above RAM and the MMIO gap. */
	hp_gpa = (top + VM_DEV_MEM_ALIGN - 1) & ~(VM_DEV_MEM_ALIGN - 1);
	if (hp->present)
		hp_size = (uint64_t)hp->total_size_mib << 20;
	vm->dev_mem_next = (hp_gpa + hp_size + VM_DEV_MEM_ALIGN - 1) & ~(VM_DEV_MEM_ALIGN - 1);
	ret = guest_mem_init_hotplug(&vm->mem, mem_fd, ram, LAYOUT_MMIO_GAP_START,
				     LAYOUT_MMIO_GAP_END, mc->huge_pages == HUGE_PAGES_TRANSPARENT,
				     hp_gpa, hp_size);
	if (ret)
		log_error("guest memory: cannot map %llu MiB%s: %s",
			  (unsigned long long)mc->mem_size_mib,
			  mem_fd >= 0 ? " of the memory file" : "", strerror(-ret));
	/* ember's own writes, which KVM's dirty log does not see, for Diff snapshots. */
	if (!ret && mc->track_dirty_pages && (ret = gm_track_dirty(&vm->mem)))
		log_error("guest memory: no memory for the dirty page bitmaps");
	if (!ret && vm->mem.untouched_is_zero)
		vm->pagemap_fd =
		    open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC); /* -1: no skipping */
	return ret;
}

/* The loader's boot protocol, as arch (which does not see boot/) names it. */
static enum arch_boot_proto vm_arch_boot_proto(const struct vm *vm)
{
	return vm->boot.proto == BOOT_PVH ? ARCH_BOOT_PVH : ARCH_BOOT_LINUX64;
}

__attribute__((noinline)) static int vm_load_boot(struct vm *vm)
{
	const struct boot_source_config *bs = &vm->cfg.boot;
	char err[BOOT_ERR_MAX];
	int ret;

	ret = boot_load_kernel(&vm->mem, bs->kernel_image_path, &vm->boot, err);
	if (ret) {
		log_error("kernel: %s", err);
		return ret;
	}
	if (bs->initrd_path) {
		ret = boot_load_initrd(&vm->mem, &vm->boot, bs->initrd_path, &vm->initrd_addr,
				       &vm->initrd_size, err);
		if (ret) {
			log_error("initrd: %s", err);
			return ret;
		}
	}
	ret = cmdline_init(&vm->cmdline, bs->boot_args);
	if (ret) {
		log_error("boot-source.boot_args: %zu bytes, longer than the %llu-byte limit",
			  strlen(bs->boot_args), LAYOUT_CMDLINE_MAX - 1);
		return ret;
	}
	/* Phase 1 runs before the KVM thread reports back: ask sysfs directly. */
	if (!vm->no_pvm_profile && kvm_host_is_pvm()) {
		vm->pvm_profile = true;
		ret = pvm_profile_apply(&vm->cmdline);
		if (ret) {
			log_error("boot-source.boot_args: no room for the kvm_pvm guest profile "
				  "(nopv noxsave clearcpuid=...) within %llu bytes; shorten the "
				  "line or run with --no-pvm-profile",
				  LAYOUT_CMDLINE_MAX - 1);
			return ret;
		}
	}
	return 0;
}

/* The profile's last parameter needs a vCPU to ask KVM for the TSC rate. */
static int vm_pvm_profile_finish(struct vm *vm)
{
	int ret;

	if (!vm->pvm_profile || !vm->nr_vcpus)
		return 0;
	ret = pvm_profile_finish(&vm->cmdline, arch_tsc_khz(vm->vcpus[0].fd));
	if (ret <= 0)
		return ret;
	return arch_update_cmdline(&vm->mem, vm_arch_boot_proto(vm), vm->cmdline.buf);
}

/*
 * The vCPUs, each set up by arch from the VM's CPUID, topology and boot entry;
 * for a restore (@boot false) only created: their state comes from the snapshot.
 */
static int vm_create_vcpus(struct vm *vm, bool boot)
{
	char tmpl_name[VM_TMPL_NAME_MAX];
	struct arch_vcpu_info info = {
	    .supported_cpuid = vm->supported_cpuid,
	    .nr_vcpus = vm->cfg.machine.vcpu_count,
	    .smt = vm->cfg.machine.smt,
	    .mem = &vm->mem,
	    .proto = vm_arch_boot_proto(vm),
	    .entry = vm->boot.entry,
	    .tmpl_name = tmpl_name,
	};
	int ret = boot ? vm_cpu_template(&vm->cfg, vm->kvm_fd, &info.tmpl, tmpl_name) : 0;

	if (ret) {
		vm->bad_input = true;
		return ret;
	}
	for (unsigned int i = 0; i < vm->cfg.machine.vcpu_count; i++) {
		ret = vcpu_create(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
		vm->nr_vcpus++;
		ret = boot ? arch_vcpu_init(vm->vcpus[i].fd, i, &info) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

int vm_add_memslot(struct vm *vm, const char *what, void *hva, uint64_t size, bool read_only,
		   uint64_t *gpa)
{
	if (vm->nr_memslots == VM_MAX_MEMSLOTS) {
		log_error("%s: the VM has no memory slot left (at most %d)", what, VM_MAX_MEMSLOTS);
		return -ENOSPC;
	}
	*gpa = vm->dev_mem_next;
	vm->dev_mem_next = (*gpa + size + VM_DEV_SLOT_ALIGN - 1) & ~(VM_DEV_SLOT_ALIGN - 1);
	vm->memslots[vm->nr_memslots++] = (struct vm_memslot){*gpa, size, hva, read_only};
	return 0;
}

/* Phase 2: the devices' memory slots, after guest RAM's. */
static int vm_register_memslots(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_memslots; i++) {
		const struct vm_memslot *m = &vm->memslots[i];
		struct kvm_userspace_memory_region r = {
		    .slot = GUEST_MEM_MAX_REGIONS + i,
		    .flags = m->read_only ? KVM_MEM_READONLY : 0,
		    .guest_phys_addr = m->gpa,
		    .memory_size = m->size,
		    .userspace_addr = (uintptr_t)m->hva,
		};

		if (m->read_only &&
		    ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0) {
			log_error("a read-only pmem device needs KVM_CAP_READONLY_MEM, which this "
				  "host's KVM does not offer");
			return -ENOTSUP;
		}
		if (KVM_CALL(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r, NULL))
			return -EINVAL;
	}
	return 0;
}

/* The boot tables from what the VM holds: memory, vCPUs, kernel, command line, devices. */
__attribute__((noinline)) static int vm_write_boot_tables(struct vm *vm)
{
	struct acpi_mmio_dev devs[VM_MAX_VIRTIO];

	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		const struct virtio_dev *d = vm->virtio[i].dev;

		devs[i] = (struct acpi_mmio_dev){d->mmio_base, VIRTIO_MMIO_WINDOW, d->gsi};
	}
	return arch_boot_tables(&(struct arch_boot_info){
	    .mem = &vm->mem,
	    .nr_vcpus = vm->cfg.machine.vcpu_count,
	    .proto = vm_arch_boot_proto(vm),
	    .cmdline = vm->cmdline.buf,
	    .setup_hdr = vm->boot.setup_hdr,
	    .setup_hdr_len = vm->boot.setup_hdr_len,
	    .initrd_addr = vm->initrd_addr,
	    .initrd_size = vm->initrd_size,
	    .devs = devs,
	    .nr_devs = vm->nr_virtio,
	});
}

/* --- host console input, on the event loop --- */

/*
 * Moves host input into the UART FIFO. Reading stops while the FIFO is full
 * (stdin leaves the epoll set) and resumes on the UART's rx_space callback:
 * input is never read and then dropped.
 */
static void stdin_ready(struct ev_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;
	size_t space = uart8250_rx_space(&vm->uart);
	uint8_t buf[64];
	ssize_t n;

	(void)events;
	if (!space) {
		ev_del(vm->loop, h);
		vm->console.in_watched = false;
		return;
	}
	n = read(h->fd, buf, space < sizeof(buf) ? space : sizeof(buf));
	if (n > 0) {
		uart8250_rx_push(&vm->uart, buf, (size_t)n);
	} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		/* End of input: the guest's console stays up, output only. */
		ev_del(vm->loop, h);
		vm->console.in_watched = false;
		vm->console.in_fd = -1;
	}
}

static void uart_space_ready(struct ev_handler *h, uint32_t events)
{
	struct vm *vm = h->opaque;
	uint64_t v;

	(void)events;
	while (read(h->fd, &v, sizeof(v)) == sizeof(v))
		;
	if (!vm->console.in_watched && vm->console.in_fd >= 0 && !vm->pause.paused)
		vm->console.in_watched = !ev_add(vm->loop, &vm->console.in_h, EPOLLIN);
}

static int vm_init_console_input(struct vm *vm)
{
	int ret;

	vm->console.uart_space_h = (struct ev_handler){vm->console.uart_evt, uart_space_ready, vm};
	ret = ev_add(vm->loop, &vm->console.uart_space_h, EPOLLIN);
	if (ret || vm->console.in_fd < 0)
		return ret;
	fcntl(vm->console.in_fd, F_SETFL, fcntl(vm->console.in_fd, F_GETFL) | O_NONBLOCK);
	vm->console.in_h = (struct ev_handler){vm->console.in_fd, stdin_ready, vm};
	/* A regular file or /dev/null cannot be polled: then there is no console input. */
	vm->console.in_watched = !ev_add(vm->loop, &vm->console.in_h, EPOLLIN);
	if (!vm->console.in_watched)
		vm->console.in_fd = -1;
	return 0;
}

/*
 * vm_create (@boot) and vm_create_restored (the snapshot's memory file @mem_fd, or -1).
 * Its phase-1 helpers with buffers are noinline: inlined, their buffers would sit in
 * this frame under the vCPUs' set-up, on the deepest path of a start, and every page
 * of the main stack a start touches stays resident for the VM's life.
 */
static int vm_build(struct vm *vm, struct vm_config *cfg, bool boot, int mem_fd)
{
	struct guest_mem kvm_mem; /* what the prep thread registers: read until kvm_prep_finish */
	struct kvm_prep prep;
	int ret;

	/* Fields that teardown looks at are valid before anything can fail. */
	vm->kvm_fd = vm->vm_fd = vm->console.uart_evt = vm->uffd = vm->uffd_sock = vm->pagemap_fd =
	    -1;
	kvm_late_init(&vm->kvm_late, vm->seccomp_setup, vm->seccomp_own_vmm ? vm->loop : NULL);
	vm->sampler.fd = vm->sampler.timer_h.fd = -1;
	vm->supported_cpuid = NULL;
	vm->nr_vcpus = 0;
	vm->nr_virtio = 0;
	vm->nr_memslots = 0;
	vm->devices_ready = false;
	vm->snap_caps_ready = false;
	vm->mem_untracked = boot;
	atomic_init(&vm->exit_code, -1);
	atomic_init(&vm->stopping, false);
	vm_pause_init(vm);
	vm->cfg = *cfg;
	memset(cfg, 0, sizeof(*cfg)); /* the VM owns the strings now */
	memset(&vm->mem, 0, sizeof(vm->mem));
	memset(&vm->pio, 0, sizeof(vm->pio));
	memset(&vm->mmio, 0, sizeof(vm->mmio));

	vm->console.uart_evt = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->console.uart_evt < 0) {
		ret = -errno;
		log_error("eventfd: %s", strerror(errno));
		return ret;
	}

	/*
	 * Phase 1: guest RAM, devices, kernel, initrd, command line and boot tables,
	 * while a thread opens /dev/kvm and creates the KVM VM. A bad input is
	 * reported alone, even on a host without KVM.
	 */
	ret = vm_init_memory(vm, mem_fd);
	if (ret) {
		vm->bad_input = true;
		return ret;
	}
	/* KVM gets RAM now; memory-hotplug's region slot by slot as the guest plugs it. */
	kvm_mem = vm->mem;
	kvm_mem.nr_regions -= vm->mem.has_hotplug;
	kvm_prep_start(&prep, &kvm_mem, vm->cfg.machine.track_dirty_pages, vm->prewarm,
		       &vm->kvm_late);
	/*
	 * The command line first: placing a device adds its virtio_mmio.device= to
	 * it. A restored guest booted long ago: no kernel, no line, no tables.
	 */
	ret = boot ? vm_load_boot(vm) : cmdline_init(&vm->cmdline, "");
	if (!ret)
		ret = vm_init_devices(vm);
	if (!ret)
		ret = vm_init_console_input(vm);
	if (!ret && boot)
		ret = vm_write_boot_tables(vm);
	/* A restore writes its new id in vm_restore, once the interrupt can be raised. */
	if (!ret && boot)
		ret = vmgenid_generate(&vm->vmgenid, false);
	if (ret) {
		vm->bad_input = true;
		kvm_prep_release(&prep);
		return ret;
	}

	/* Phase 2: the KVM VM, its memory slots, interrupt controllers and vCPUs. */
	ret = kvm_prep_finish(&prep);
	if (ret) {
		log_error("%s", prep.msg);
		kvm_prep_release(&prep);
		return ret;
	}
	vm->kvm_fd = prep.kvm_fd;
	vm->vm_fd = prep.vm_fd;
	vm->supported_cpuid = prep.cpuid;
	vm->pvm = prep.pvm;
	prep.kvm_fd = prep.vm_fd = -1; /* the VM owns them now */
	prep.cpuid = NULL;
	if (vm->pvm)
		log_debug(
		    "KVM is kvm_pvm: ember completes the instructions its emulator cannot run");
	if (prep.max_vcpus > 0 && vm->cfg.machine.vcpu_count > (unsigned int)prep.max_vcpus) {
		log_error("machine-config.vcpu_count: %u is more than this host's KVM allows (%d)",
			  vm->cfg.machine.vcpu_count, prep.max_vcpus);
		return -EINVAL;
	}
	ret = vm_register_memslots(vm);
	if (!ret)
		ret = memory_hotplug_connect(vm);
	if (!ret)
		ret = vm_virtio_connect(vm);
	if (ret)
		return ret;

	ret = vm_create_vcpus(vm, boot);
	if (ret || !boot)
		return ret;
	return vm_pvm_profile_finish(vm);
}

int vm_create(struct vm *vm, struct vm_config *cfg)
{
	return vm_build(vm, cfg, true, -1);
}

int vm_create_restored(struct vm *vm, struct vm_config *cfg, int mem_fd)
{
	return vm_build(vm, cfg, false, mem_fd);
}

int vm_start(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		int ret = vcpu_start(&vm->vcpus[i]);

		if (ret) {
			vm_request_exit(vm, VM_EXIT_ERROR);
			return ret;
		}
	}
	return 0;
}

int vm_stop(struct vm *vm)
{
	int code;

	/* Kick every vCPU out of KVM_RUN, then join. */
	atomic_store(&vm->stopping, true);
	vm_pause_wake_all(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
	code = atomic_load(&vm->exit_code);
	return code < 0 ? VM_EXIT_OK : code;
}

static void vm_log_stats(const struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu_stats *s = &vm->vcpus[i].stats;

		log_debug(
		    "vcpu %u: %llu exits (%llu io, %llu mmio; %llu io and %llu mmio unhandled)", i,
		    (unsigned long long)s->exits, (unsigned long long)s->exit_io,
		    (unsigned long long)s->exit_mmio, (unsigned long long)s->io_unhandled,
		    (unsigned long long)s->mmio_unhandled);
		for (unsigned int j = 0; j < pvm_completion_count(); j++) {
			if (s->pvm_completions[j])
				log_debug("vcpu %u: pvm completed %s x%llu", i,
					  pvm_completion_name(j),
					  (unsigned long long)s->pvm_completions[j]);
		}
	}
}

void vm_destroy(struct vm *vm)
{
	vm_sampler_stop(vm);
	vm_log_stats(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
	vm->nr_vcpus = 0;
	/*
	 * The eventfds go before the devices they signal for; then the devices,
	 * in the reverse of their creation order, each safe when it was only
	 * half added.
	 */
	vm_virtio_disconnect(vm);
	vm_devices_remove(vm);
	if (vm->devices_ready) {
		uart8250_destroy(&vm->uart);
		i8042_destroy(&vm->i8042);
		if (vm->boot_timer_enabled)
			boot_timer_destroy(&vm->boot_timer);
		vm->devices_ready = false;
	}
	guest_mem_destroy(&vm->mem);
	if (vm->uffd_sock >= 0)
		close(vm->uffd_sock);
	if (vm->uffd >= 0)
		close(vm->uffd);
	if (vm->pagemap_fd >= 0)
		close(vm->pagemap_fd);
	vm->uffd = vm->uffd_sock = vm->pagemap_fd = -1;
	if (vm->snap_caps_ready)
		arch_snapshot_caps_free(&vm->snap_caps);
	vm->snap_caps_ready = false;
	free(vm->supported_cpuid);
	vm->supported_cpuid = NULL;
	kvm_late_stop(&vm->kvm_late);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	if (vm->console.in_watched)
		ev_del(vm->loop, &vm->console.in_h);
	if (vm->console.uart_evt >= 0) {
		ev_del(vm->loop, &vm->console.uart_space_h);
		close(vm->console.uart_evt);
	}
	vm->console.in_watched = false;
	vm->vm_fd = vm->kvm_fd = vm->console.uart_evt = -1;
	vm_pause_destroy(vm);
	config_free(&vm->cfg);
}
