// SPDX-License-Identifier: Apache-2.0
/* vCPU threads: a tight KVM_RUN loop per vCPU, exits routed to the buses. */
#include "arch/x86_64/arch.h"
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/*
 * The kick signal only interrupts KVM_RUN (-EINTR); its handler does nothing.
 * Firecracker uses the first real-time signal for the same purpose.
 */
#define VCPU_KICK_SIGNAL (SIGRTMIN + 0)

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_create(struct vm *vm, struct vcpu *vcpu, unsigned int id)
{
	int mmap_size, ret;

	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, id);
	if (vcpu->fd < 0) {
		ret = -errno;
		log_error("KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return ret;
	}
	mmap_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size < (int)sizeof(struct kvm_run)) {
		ret = mmap_size < 0 ? -errno : -EINVAL;
		log_error("KVM_GET_VCPU_MMAP_SIZE: %d", mmap_size);
		goto err_close;
	}
	vcpu->run = mmap(NULL, (size_t)mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		vcpu->run = NULL;
		log_error("vcpu %u: mapping kvm_run: %s", id, strerror(errno));
		goto err_close;
	}
	vcpu->run_size = (size_t)mmap_size;
	return 0;

err_close:
	close(vcpu->fd);
	vcpu->fd = -1;
	return ret;
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	vcpu->stats.exit_io++;
	/* A string instruction (rep outsb, ...) hands over `count` items at once. */
	if (is_write)
		vcpu->stats.exit_io_out += run->io.count;
	else
		vcpu->stats.exit_io_in += run->io.count;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (!bus_access(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write)) {
			vcpu->stats.io_unhandled++;
			log_debug("vcpu %u: unhandled port %s 0x%x (size %u)", vcpu->id,
				  is_write ? "write" : "read", run->io.port, run->io.size);
		}
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len;

	vcpu->stats.exit_mmio++;
	if (run->mmio.is_write)
		vcpu->stats.exit_mmio_write++;
	else
		vcpu->stats.exit_mmio_read++;
	if (len > sizeof(run->mmio.data))
		len = sizeof(run->mmio.data);
	if (!bus_access(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
			run->mmio.is_write)) {
		/*
		 * Nothing backs it: reads see an open bus (all ones), writes are dropped.
		 * Logged, rate-limited: a guest can trigger this at will.
		 */
		vcpu->stats.mmio_unhandled++;
		log_warn_rl("vcpu %u: %s of %u bytes at unbacked MMIO address 0x%llx", vcpu->id,
			    run->mmio.is_write ? "write" : "read", len,
			    (unsigned long long)run->mmio.phys_addr);
	}
}

/* Returns true when the loop goes on. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	struct vm *vm = vcpu->vm;

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_SHUTDOWN:
		/* KVM reports a triple fault this way: the guest cannot go on. */
		log_error("vcpu %u: guest triple fault (KVM_EXIT_SHUTDOWN); stopping the VM",
			  vcpu->id);
		vcpu_dump_state(vcpu);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_SHUTDOWN:
		case KVM_SYSTEM_EVENT_RESET:
			log_info("vcpu %u: guest %s", vcpu->id,
				 run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset"
										  : "shutdown");
			vm_request_exit(vm, VM_EXIT_OK);
			return false;
		default:
			log_error("vcpu %u: guest system event %u (crash)", vcpu->id,
				  run->system_event.type);
			vm_request_exit(vm, VM_EXIT_ERROR);
			return false;
		}
	case KVM_EXIT_HLT:
		/* Only without an in-kernel LAPIC, which ember always has. */
		log_info("vcpu %u: guest halted", vcpu->id);
		vm_request_exit(vm, VM_EXIT_OK);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && vm->pvm) {
			int done = pvm_complete(vcpu->fd, vcpu->id, &vm->mem);

			if (done >= 0) {
				vcpu->stats.pvm_completions[done]++;
				return true;
			}
		}
		vcpu->stats.failures++;
		log_error("vcpu %u: KVM internal error, suberror %u%s", vcpu->id,
			  run->internal.suberror,
			  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
			      ? " (instruction emulation failed)"
			      : "");
		vcpu_dump_state(vcpu);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		log_error("vcpu %u: VM entry failed, hardware reason 0x%llx", vcpu->id,
			  (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_dump_state(vcpu);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	default:
		log_error("vcpu %u: unhandled KVM exit reason %u", vcpu->id, run->exit_reason);
		vcpu_dump_state(vcpu);
		vm_request_exit(vm, VM_EXIT_ERROR);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	char name[16];
	sigset_t kick;
	int ret;

	/* Firecracker's thread name, which tooling uses to find vCPU threads. */
	snprintf(name, sizeof(name), "fc_vcpu %u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	/* Before the first KVM_RUN: the guest is what comes from outside here. */
	ret = seccomp_install(vm->seccomp_vcpu);
	if (ret) {
		log_error("vcpu %u: installing its seccomp filter: %s", vcpu->id, strerror(-ret));
		vm_request_exit(vm, VM_EXIT_ERROR);
		vm_vcpu_exiting(vcpu);
		return NULL;
	}

	while (!atomic_load(&vm->stopping)) {
		ret = ioctl(vcpu->fd, KVM_RUN, 0);

		/* vCPU 0 has entered the guest: the VM's late thread may go (kvm.c). */
		if (ret >= 0 && vcpu->id == 0 && !vcpu->entered) {
			vcpu->entered = true;
			kvm_late_go(&vm->kvm_late);
		}

		/* Only with --sample-rip: a poke asked for this vCPU's rip. */
		if (atomic_load_explicit(&vcpu->sample_pending, memory_order_relaxed))
			vcpu_sample(vcpu);
		if (ret < 0) {
			/* A kick (or immediate_exit): park if paused, re-check `stopping`. */
			if (errno == EINTR || errno == EAGAIN) {
				vm_vcpu_kicked(vcpu);
				continue;
			}
			log_error("vcpu %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			vm_request_exit(vm, VM_EXIT_ERROR);
			break;
		}
		vcpu->stats.exits++;
		if (!handle_exit(vcpu))
			break;
	}
	vm_vcpu_exiting(vcpu);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	struct sigaction sa = {.sa_handler = kick_handler};
	sigset_t kick;
	int ret;

	/* No SA_RESTART: the signal must make KVM_RUN return -EINTR. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0)
		return -errno;
	/* Only vCPU threads take the kick: it stays blocked everywhere else. */
	sigemptyset(&kick);
	sigaddset(&kick, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &kick, NULL);
	ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (ret) {
		log_error("vcpu %u: pthread_create: %s", vcpu->id, strerror(ret));
		return -ret;
	}
	vcpu->started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	/*
	 * immediate_exit covers the window between the thread's `stopping` check
	 * and its next KVM_RUN; the signal covers a thread already inside KVM_RUN.
	 */
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

/* Interrupts KVM_RUN without stopping the vCPU (no immediate_exit): it goes on. */
void vcpu_poke(struct vcpu *vcpu)
{
	if (vcpu->started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_sample(struct vcpu *vcpu)
{
	struct rip_sampler *s = &vcpu->vm->sampler;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct timespec now;
	long long ms;
	int saved = errno; /* the caller still looks at KVM_RUN's errno */

	atomic_store(&vcpu->sample_pending, false);
	if (s->fd < 0 || ioctl(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (now.tv_sec - s->start.tv_sec) * 1000LL + (now.tv_nsec - s->start.tv_nsec) / 1000000;
	/* One write(2) per line (O_APPEND): lines from several vCPUs do not mix. */
	dprintf(s->fd, "%u %lld 0x%llx %u\n", vcpu->id, ms, (unsigned long long)regs.rip,
		sregs.cs.selector & 3);
out:
	errno = saved;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->run)
		munmap(vcpu->run, vcpu->run_size);
	vcpu->run = NULL;
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->fd = -1;
}

static void dump_seg(const char *name, const struct kvm_segment *s)
{
	log_error("  %-3s sel 0x%04x base 0x%llx limit 0x%x type 0x%x dpl %u db %u l %u", name,
		  s->selector, (unsigned long long)s->base, s->limit, s->type, s->dpl, s->db, s->l);
}

void vcpu_dump_state(struct vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_error("vcpu %u: cannot read registers: %s", vcpu->id, strerror(errno));
		return;
	}
	log_error("vcpu %u state: rip 0x%llx rsp 0x%llx rflags 0x%llx", vcpu->id,
		  (unsigned long long)r.rip, (unsigned long long)r.rsp,
		  (unsigned long long)r.rflags);
	log_error("  rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx rbp 0x%llx",
		  (unsigned long long)r.rax, (unsigned long long)r.rbx, (unsigned long long)r.rcx,
		  (unsigned long long)r.rdx, (unsigned long long)r.rsi, (unsigned long long)r.rdi,
		  (unsigned long long)r.rbp);
	log_error("  cr0 0x%llx cr2 0x%llx cr3 0x%llx cr4 0x%llx efer 0x%llx",
		  (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
		  (unsigned long long)s.cr4, (unsigned long long)s.efer);
	dump_seg("cs", &s.cs);
	dump_seg("ss", &s.ss);
	log_error("  gdt base 0x%llx limit 0x%x, idt base 0x%llx limit 0x%x",
		  (unsigned long long)s.gdt.base, s.gdt.limit, (unsigned long long)s.idt.base,
		  s.idt.limit);
}
