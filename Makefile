# ember: one Makefile for the VMM, its unit tests, the payload guests and the benches.
#   make            build/ember, build/ember-jailer (Firecracker's jailer, src/jailer/) and
#                   build/ember-sandbox (a fresh microVM per request, src/sandbox/)
#   make guests     build/guests/<name>.elf (tiny PVH test payloads)
#   make unit       unit-test binaries (and build/asan/: the same under ASan + UBSan)
#   make test       the whole suite (tests/run.sh), last line "N passed, N failed"
#   make demo       the main job
#   make fuzz       build/fuzz/fuzz_{api,loader,virtio,state,seccomp,sandbox,mmds} (libFuzzer, clang), FUZZ_TIME s each (60)
#   make format     clang-format in place; make format-check: CI's check
#   make check-layers  every #include under src/ points down the layers (scripts/layers.txt)
#   make guest      build/guest/: the Linux guest (vmlinux, initramfs.cpio, rootfs.ext4)
#   make sandbox-template  build/sandbox/template/: the sandbox's snapshot (one Linux boot)
#   V=1             show the commands

CC      ?= gcc
BUILD   := build
Q       := $(if $(V),,@)

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wcast-qual -Wpointer-arith -Wformat=2 -Wundef -Wvla -Wnull-dereference \
           -Wimplicit-fallthrough
HARDEN  := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS  ?= -O2 -g
# One section per function and object: ember's link drops the unused ones and puts the
# ones a VM's start and idle touch together (scripts/hot-order.ld). No merged constants:
# ld pools equal strings across the hot and cold sections, and a hot function's "" could
# read a page of cold data.
SECTIONS := -ffunction-sections -fdata-sections -fno-merge-constants
ALL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) $(HARDEN) $(SECTIONS) $(CFLAGS) -Isrc -MMD -MP
LDFLAGS_ALL := -pie -Wl,-z,relro,-z,now,-z,noexecstack $(LDFLAGS)
LDLIBS  := -ljansson -lhttp_parser -luring -llzma -lseccomp -lnettle -lpthread

# ember-jailer (src/jailer/) and ember-sandbox (src/sandbox/) are programs of their own:
# none of their objects go into ember; bpfgen.c is a build tool (below), not part of ember.
BPFGEN_SRC := src/seccomp/bpfgen.c
SRCS     := $(filter-out $(BPFGEN_SRC),$(sort $(shell find src -name '*.c' -not -path 'src/jailer/*' \
            -not -path 'src/sandbox/*')))
MAIN_SRC := src/main.c
LIB_SRCS := $(filter-out $(MAIN_SRC),$(SRCS)) $(BUILD)/gen/seccomp_bpf.c
OBJS     := $(SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/$(BUILD)/gen/seccomp_bpf.o
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
JAILER_SRCS     := $(sort $(wildcard src/jailer/*.c))
JAILER_LIB_SRCS := $(filter-out src/jailer/main.c,$(JAILER_SRCS))
JAILER_OBJS     := $(JAILER_SRCS:%.c=$(BUILD)/obj/%.o)
JAILER_LIB_OBJS := $(JAILER_LIB_SRCS:%.c=$(BUILD)/obj/%.o)
# ember-sandbox (src/sandbox/) too: it drives ember processes through their API sockets.
SANDBOX_SRCS    := $(sort $(wildcard src/sandbox/*.c))
SANDBOX_OBJS    := $(SANDBOX_SRCS:%.c=$(BUILD)/obj/%.o)
SANDBOX_LIB_SRCS := $(filter-out src/sandbox/main.c,$(SANDBOX_SRCS))
SANDBOX_LIB_OBJS := $(SANDBOX_LIB_SRCS:%.c=$(BUILD)/obj/%.o)

.PHONY: all guests unit test demo format format-check bench clean guest fuzz check-layers musl \
        sandbox-template
# Keep every object: ASan, unit-test and guest objects are intermediates of pattern rules.
.SECONDARY:
all: $(BUILD)/ember $(BUILD)/ember-jailer $(BUILD)/ember-sandbox

# ember itself is a static PIE: no dynamic loader at start-up and no shared-library
# pages in its resident set (bench/: start to first byte, memory overhead).
EMBER_LDFLAGS := -static-pie -Wl,-z,relro,-z,now,-z,noexecstack $(LDFLAGS)
# ember's resident set (README "Benchmarks"): the kernel maps a binary's text in 64 KiB
# windows around each page touched, so scripts/hot-order.ld (made by scripts/hot-order.py)
# puts what a VM's start and idle run first; unused sections go (--gc-sections) and the
# relative relocations are packed (RELR: 1 KiB where RELA took 66 KiB, all read at start).
HOT_ORDER := scripts/hot-order.ld
EMBER_LINK := -Wl,--gc-sections -Wl,-z,pack-relative-relocs -Wl,-T,$(HOT_ORDER) \
              -Wl,-Map=$(BUILD)/ember.map

$(BUILD)/ember: $(OBJS) $(HOT_ORDER)
	@echo "  LD      $@"
	$(Q)$(CC) $(EMBER_LDFLAGS) $(EMBER_LINK) -o $@ $(OBJS) $(LDLIBS)

# The jailer, static too: it runs before any jail exists and needs no library.
$(BUILD)/ember-jailer: $(JAILER_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(EMBER_LDFLAGS) -o $@ $^

$(BUILD)/ember-sandbox: $(SANDBOX_OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(EMBER_LDFLAGS) -o $@ $^ -ljansson -lhttp_parser -lpthread

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The built-in seccomp filters (src/seccomp/filter_*.c) compiled to BPF while ember is built,
# as Firecracker's are: bpfgen runs libseccomp and writes the programs as C, which ember links.
BPFGEN_OBJS := $(addprefix $(BUILD)/obj/src/,seccomp/bpfgen.o seccomp/seccomp.o \
               seccomp/filter_vmm.o seccomp/filter_api.o seccomp/filter_vcpu.o \
               seccomp/filter_setup.o \
               seccomp/syscall_names.o util/log.o util/line_out.o)

$(BUILD)/tools/bpfgen: $(BPFGEN_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -lseccomp

$(BUILD)/gen/seccomp_bpf.c: $(BUILD)/tools/bpfgen
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$< > $@.tmp && mv $@.tmp $@

# --- unit tests: one binary per tests/unit/test_*.c, linked with every module of ember;
# tests/unit/test_jailer*.c with the jailer's modules instead (the more specific rule),
# tests/unit/test_sandbox*.c with ember-sandbox's ---
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HARNESS   := $(BUILD)/obj/tests/unit/harness.o

$(BUILD)/tests/test_jailer%: $(BUILD)/obj/tests/unit/test_jailer%.o $(HARNESS) $(JAILER_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^

$(BUILD)/tests/test_sandbox%: $(BUILD)/obj/tests/unit/test_sandbox%.o $(HARNESS) $(SANDBOX_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ -ljansson -lhttp_parser -lpthread

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(HARNESS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -c -o $@ $<

# The same unit tests under ASan + UBSan (no FORTIFY: it conflicts with ASan).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g $(SAN_FLAGS) -Isrc -Itests/unit -MMD -MP
ASAN_LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
ASAN_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/asan/tests/%)
ASAN_JAILER_LIB_OBJS := $(JAILER_LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)
ASAN_SANDBOX_LIB_OBJS := $(SANDBOX_LIB_SRCS:%.c=$(BUILD)/asan/obj/%.o)

$(BUILD)/asan/tests/test_sandbox%: $(BUILD)/asan/obj/tests/unit/test_sandbox%.o \
		$(BUILD)/asan/obj/tests/unit/harness.o $(ASAN_SANDBOX_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (asan)"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -ljansson -lhttp_parser -lpthread

$(BUILD)/asan/tests/test_jailer%: $(BUILD)/asan/obj/tests/unit/test_jailer%.o \
		$(BUILD)/asan/obj/tests/unit/harness.o $(ASAN_JAILER_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (asan)"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^

$(BUILD)/asan/tests/%: $(BUILD)/asan/obj/tests/unit/%.o $(BUILD)/asan/obj/tests/unit/harness.o $(ASAN_LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (asan)"
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (asan)"
	$(Q)$(CC) $(SAN_CFLAGS) -c -o $@ $<

unit: $(UNIT_BINS) $(ASAN_BINS)

# tests/mmds.sh: MMDS's endpoint on a TAP, with the host's own TCP/IP stack as the guest.
$(BUILD)/tools/mmds_tap: $(BUILD)/obj/tests/tools/mmds_tap.o $(LIB_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/tests/tools/%.o: tests/tools/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --- fuzz: libFuzzer over the API (router and HTTP connection core), built with clang.
# Only what the API needs is linked: the router, the HTTP connection (no server: no socket),
# the controller and its actions (and the MMDS store they keep); the VM is a fake
# (tests/fuzz/fuzz_api.c), and the PUT checks stay off (no host file is touched). config/
# checks the objects' fields itself, so no other device code comes along.
FUZZ_CC     ?= clang
FUZZ_TIME   ?= 60
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
               -Isrc -MMD -MP
FUZZ_SRCS   := src/api/api.c src/api/http_conn.c src/vmm/actions.c src/vmm/actions_hotplug.c \
               src/vmm/put_checks.c \
               src/vmm/serial.c src/vmm/hugepages.c src/arch/x86_64/cpu_template.c \
               src/vmm/controller.c src/vmm/metrics.c src/vmm/mmds.c \
               $(sort $(wildcard src/config/*.c)) src/devices/mmds/store.c \
               src/core/event_loop.c src/seccomp/syscall_names.c \
               src/util/log.c src/util/line_out.c tests/fuzz/fuzz_api.c
FUZZ_OBJS   := $(FUZZ_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_api: $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -ljansson -lhttp_parser -lnettle

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

# The kernel and initrd loaders (src/boot/): parsers of untrusted files.
FUZZ_LOADER_SRCS := src/boot/elf.c src/boot/bzimage.c src/boot/loader.c src/core/guest_mem.c \
                    tests/fuzz/fuzz_loader.c
FUZZ_LOADER_OBJS := $(FUZZ_LOADER_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_loader: $(FUZZ_LOADER_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^

# The snapshot state file parser (src/core/state.c): a file ember reads back from disk.
FUZZ_STATE_SRCS := src/core/state.c tests/fuzz/fuzz_state.c
FUZZ_STATE_OBJS := $(FUZZ_STATE_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_state: $(FUZZ_STATE_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -llzma

# The seccomp filter file's parser (src/seccomp/parse.c) and what it hands to libseccomp
# (seccomp.c compiles; the SIGSYS handler there logs, hence util/log.c).
FUZZ_SECCOMP_SRCS := src/seccomp/parse.c src/seccomp/seccomp.c src/seccomp/syscall_names.c \
                     src/util/log.c src/util/line_out.c tests/fuzz/fuzz_seccomp.c
FUZZ_SECCOMP_OBJS := $(FUZZ_SECCOMP_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_seccomp: $(FUZZ_SECCOMP_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -ljansson -lseccomp

# The virtio devices as the guest drives them (tests/fuzz/fuzz_virtio.c): the transport,
# the virtqueue library and the rng, block (Sync), net, balloon and vsock devices, with the
# unit tests' fake of their host (tests/unit/virtio_fake_host.h) instead of a VM. The Async
# engine is linked, not driven: the block device picks its engine from the drive's io_engine.
FUZZ_VIRTIO_SRCS := src/devices/virtio/virtqueue.c src/devices/virtio/virtio_mmio.c \
                    src/devices/virtio/virtio_snapshot.c \
                    src/devices/virtio/rng.c src/devices/virtio/block.c \
                    src/devices/virtio/block_sync.c src/devices/virtio/block_async.c \
                    src/devices/virtio/net.c src/devices/virtio/balloon.c \
                    src/devices/virtio/balloon_hint.c src/devices/virtio/vsock.c \
                    src/devices/virtio/vsock_conn.c src/devices/virtio/vsock_host.c \
                    src/devices/virtio/pmem.c src/devices/virtio/mem.c \
                    src/core/guest_mem.c src/core/iov.c src/core/state.c src/util/log.c \
                    src/util/line_out.c src/util/rate_limiter.c tests/fuzz/fuzz_virtio.c
FUZZ_VIRTIO_OBJS := $(FUZZ_VIRTIO_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_virtio: $(FUZZ_VIRTIO_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -luring -lpthread -llzma

# ember-sandbox's parsers (tests/fuzz/fuzz_sandbox.c): the agent's frames, POST /v1/run's body.
FUZZ_SANDBOX_SRCS := src/sandbox/job.c tests/fuzz/fuzz_sandbox.c
FUZZ_SANDBOX_OBJS := $(FUZZ_SANDBOX_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_sandbox: $(FUZZ_SANDBOX_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -ljansson

# MMDS's network endpoint and HTTP side from a guest's frames (tests/fuzz/fuzz_mmds.c).
FUZZ_MMDS_SRCS := src/devices/mmds/stack.c src/devices/mmds/imds.c src/devices/mmds/store.c \
                  src/core/iov.c tests/fuzz/fuzz_mmds.c
FUZZ_MMDS_OBJS := $(FUZZ_MMDS_SRCS:%.c=$(BUILD)/fuzz/obj/%.o)

$(BUILD)/fuzz/fuzz_mmds: $(FUZZ_MMDS_OBJS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@ (libFuzzer)"
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -ljansson -lhttp_parser -lnettle

# New inputs go to build/fuzz/corpus*. Seeds: tests/fuzz/corpus and corpus_loader; the
# virtio seeds are written by tests/fuzz/virtio_seeds.py.
fuzz: $(BUILD)/fuzz/fuzz_api $(BUILD)/fuzz/fuzz_loader $(BUILD)/fuzz/fuzz_virtio $(BUILD)/fuzz/fuzz_state \
      $(BUILD)/fuzz/fuzz_seccomp $(BUILD)/fuzz/fuzz_sandbox $(BUILD)/fuzz/fuzz_mmds
	@mkdir -p $(BUILD)/fuzz/corpus $(BUILD)/fuzz/corpus_loader $(BUILD)/fuzz/corpus_virtio \
		$(BUILD)/fuzz/corpus_state $(BUILD)/fuzz/corpus_seccomp $(BUILD)/fuzz/corpus_mmds
	python3 tests/fuzz/virtio_seeds.py $(BUILD)/fuzz/seeds_virtio
	$(BUILD)/fuzz/fuzz_api -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus tests/fuzz/corpus
	$(BUILD)/fuzz/fuzz_state -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_state tests/fuzz/corpus_state
	$(BUILD)/fuzz/fuzz_loader -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_loader tests/fuzz/corpus_loader
	$(BUILD)/fuzz/fuzz_virtio -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_virtio $(BUILD)/fuzz/seeds_virtio
	$(BUILD)/fuzz/fuzz_seccomp -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_seccomp tests/fuzz/corpus_seccomp
	@mkdir -p $(BUILD)/fuzz/corpus_sandbox
	$(BUILD)/fuzz/fuzz_sandbox -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_sandbox
	$(BUILD)/fuzz/fuzz_mmds -max_total_time=$(FUZZ_TIME) -artifact_prefix=$(BUILD)/fuzz/ \
		$(BUILD)/fuzz/corpus_mmds tests/fuzz/corpus_mmds

# --- payload guests: freestanding 32-bit PVH ELFs, one per tests/guests/<name>.c ---
GUEST_LIB_SRCS := $(wildcard tests/guests/lib/*.c tests/guests/lib/*.S)
GUEST_LIB_OBJS := $(patsubst tests/guests/lib/%,$(BUILD)/obj/guests/lib/%.o,$(GUEST_LIB_SRCS))
GUEST_SRCS := $(sort $(wildcard tests/guests/*.c))
GUEST_ELFS := $(GUEST_SRCS:tests/guests/%.c=$(BUILD)/guests/%.elf)
GUEST_CFLAGS := -std=c17 -m32 -march=i686 -ffreestanding -nostdlib -fno-pic -fno-pie \
                -fno-stack-protector -fno-builtin -mgeneral-regs-only -fno-asynchronous-unwind-tables \
                -Os -g -Wall -Wextra -Werror -Itests/guests/lib -MMD -MP

$(BUILD)/guests/%.elf: $(BUILD)/obj/guests/%.o $(GUEST_LIB_OBJS) tests/guests/lib/guest.ld
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)ld -m elf_i386 -nostdlib -static -T tests/guests/lib/guest.ld -o $@.32 $(filter %.o,$^)
	@# ember, like Firecracker, loads ELF64 kernels only: wrap the 32-bit code in ELF64.
	$(Q)objcopy -I elf32-i386 -O elf64-x86-64 $@.32 $@ && rm -f $@.32

$(BUILD)/obj/guests/%.o: tests/guests/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/obj/guests/lib/%.c.o: tests/guests/lib/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(BUILD)/obj/guests/lib/%.S.o: tests/guests/lib/%.S
	@mkdir -p $(dir $@)
	@echo "  AS      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

# 64-bit assembly payloads (tests/guests/*.S): ELF64 without a PVH note, so ember boots
# them with the Linux 64-bit boot protocol (long mode, %rsi = zero page).
GUEST64_SRCS := $(sort $(wildcard tests/guests/*.S))
GUEST64_ELFS := $(GUEST64_SRCS:tests/guests/%.S=$(BUILD)/guests/%.elf)

$(BUILD)/guests/%.elf: tests/guests/%.S
	@mkdir -p $(dir $@) $(BUILD)/obj/guests
	@echo "  AS      $< (guest, 64-bit)"
	$(Q)$(CC) -c -o $(BUILD)/obj/guests/$*.S64.o $<
	$(Q)ld -m elf_x86_64 -nostdlib -static -Ttext=0x200000 -e _start -o $@ $(BUILD)/obj/guests/$*.S64.o

guests: $(GUEST_ELFS) $(GUEST64_ELFS)

# --- suite, main job, benches ---
# The Linux guest (make guest) is cached outside the clone: built once per config.
test: $(BUILD)/ember $(BUILD)/ember-jailer $(BUILD)/ember-sandbox unit guests guest \
      $(BUILD)/bench/firstbyte $(BUILD)/bench/idle.elf
	$(Q)bash tests/run.sh

demo: $(BUILD)/ember guest
	$(Q)bash scripts/demo.sh

# --- musl: build/musl/ember, the same sources against musl (Debian's musl-tools), static,
# not PIE: 0.4 MiB of text where glibc's static-pie is 1.3 MiB (bench: overhead RSS). Opt-in:
# the suite runs the glibc build. The libraries are Debian's glibc-built static archives:
# they link, once scripts/musl/fortify.c supplies the three glibc _chk functions jansson
# calls. musl has no _FORTIFY_SOURCE: ember's own fortify checks are off in this build. ---
MUSL_CC   ?= musl-gcc
MUSL_INC  := $(BUILD)/musl/include
MUSL_OBJS := $(SRCS:%.c=$(BUILD)/musl/obj/%.o) $(BUILD)/musl/obj/scripts/musl/fortify.o
MUSL_CFLAGS := -std=c17 -D_GNU_SOURCE $(WARN) -fstack-protector-strong -ffunction-sections \
               -fdata-sections $(CFLAGS) -Isrc -I$(MUSL_INC) -MMD -MP

# Only the libraries' headers and the kernel's, never glibc's: a symlink farm.
$(MUSL_INC)/.stamp:
	@mkdir -p $(MUSL_INC)
	$(Q)for h in jansson.h jansson_config.h http_parser.h liburing.h liburing lzma.h lzma \
		linux asm-generic x86_64-linux-gnu/asm; do ln -sfn /usr/include/$$h $(MUSL_INC)/; done
	$(Q)mkdir -p $(BUILD)/musl/lib && for l in jansson http_parser uring lzma; do \
		ln -sfn /usr/lib/x86_64-linux-gnu/lib$$l.a $(BUILD)/musl/lib/; done
	@touch $@

$(BUILD)/musl/obj/%.o: %.c $(MUSL_INC)/.stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $< (musl)"
	$(Q)$(MUSL_CC) $(MUSL_CFLAGS) -c -o $@ $<

$(BUILD)/musl/ember: $(MUSL_OBJS)
	@echo "  LD      $@ (musl)"
	$(Q)$(MUSL_CC) -static -Wl,--gc-sections -Wl,-z,relro,-z,now,-z,noexecstack $(LDFLAGS) \
		-o $@ $^ -L$(BUILD)/musl/lib -ljansson -lhttp_parser -luring -llzma

musl: $(BUILD)/musl/ember
-include $(MUSL_OBJS:.o=.d)
# --- end musl ---

# --- bench: bench/run.sh's helpers, under build/bench/ ---
#   firstbyte  the driver (bench/firstbyte.c): first UART byte, run time, smaps
#   idle.elf   the memory payload (bench/idle.S): prints READY, then cli; hlt forever
#   apibench   the API driver (bench/apibench.c): start to the socket's first connect,
#              request latency on one keep-alive connection
#   nethost    the net bench's host side (bench/nethost.c): TAP reference writes and reads,
#              the frame source for the guest's receive
#   minvmm     the floor VMM (bench/minvmm.c): KVM set-up, PVH entry, COM1, i8042 reset;
#              static, like ember, so both pay the same exec
#   rate       creation rate (bench/rate.c): whole runs per second with N in flight
#   density    idle VMs at once (bench/density.c): start time, PSS and kernel memory per VM
BENCH_TOOLS := $(BUILD)/bench/firstbyte $(BUILD)/bench/idle.elf $(BUILD)/bench/apibench \
               $(BUILD)/bench/nethost $(BUILD)/bench/minvmm $(BUILD)/bench/rate \
               $(BUILD)/bench/density

$(BUILD)/bench/rate: bench/rate.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $<

$(BUILD)/bench/density: bench/density.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $<

$(BUILD)/bench/minvmm: bench/minvmm.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) -static-pie -o $@ $<

$(BUILD)/bench/firstbyte: bench/firstbyte.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $<

$(BUILD)/bench/apibench: bench/apibench.c
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $<

$(BUILD)/bench/nethost: bench/nethost.c bench/netframe.h
	@mkdir -p $(dir $@)
	@echo "  CC      $@"
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS_ALL) -o $@ $<

$(BUILD)/bench/idle.elf: bench/idle.S bench/idle.ld
	@mkdir -p $(dir $@)
	@echo "  AS      $< (guest)"
	$(Q)$(CC) -m32 -c -o $(BUILD)/bench/idle.o $<
	$(Q)ld -m elf_i386 -nostdlib -static -T bench/idle.ld -o $@.32 $(BUILD)/bench/idle.o
	$(Q)objcopy -I elf32-i386 -O elf64-x86-64 $@.32 $@ && rm -f $@.32

# bench/devices.sh's payloads, built like the test guests (tests/guests/lib):
#   exits.elf    bench/exits.c: 50000 port writes to 0x80, then reset
#   blkread.elf  bench/blkread.c: reads the whole virtio-blk drive in 1 MiB requests
#   netbench.elf bench/netbench.c: sends (or receives) frames through virtio-net, then reset
BENCH_TOOLS += $(BUILD)/bench/exits.elf $(BUILD)/bench/blkread.elf $(BUILD)/bench/netbench.elf
# bench/snapshot.py's payload: bench/ticker.c prints READY, then a '.' every ~1 ms
BENCH_TOOLS += $(BUILD)/bench/ticker.elf

$(BUILD)/bench/%.elf: $(BUILD)/obj/bench/%.o $(GUEST_LIB_OBJS) tests/guests/lib/guest.ld
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)ld -m elf_i386 -nostdlib -static -T tests/guests/lib/guest.ld -o $@.32 $(filter %.o,$^)
	$(Q)objcopy -I elf32-i386 -O elf64-x86-64 $@.32 $@ && rm -f $@.32

$(BUILD)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (guest)"
	$(Q)$(CC) $(GUEST_CFLAGS) -c -o $@ $<

bench: $(BUILD)/ember $(BUILD)/ember-jailer guests $(BENCH_TOOLS)
	$(Q)bash bench/run.sh
# --- end bench ---

# --- guest: the Linux guest (linux-guest/README.md) ---
#   build/guest/vmlinux         kernel, PVH ELF (linux-guest/kernel/build.sh, cached in ~/.cache/ember)
#   build/guest/initramfs.cpio  busybox + linux-guest/rootfs/init, uncompressed newc
#   build/guest/rootfs.ext4     the same tree as an ext4 image
guest:
	$(Q)bash linux-guest/kernel/build.sh && bash linux-guest/rootfs/build.sh
# --- end guest ---

# --- sandbox-template: build/sandbox/ (linux-guest/sandbox/README.md): the guest agent,
# the sandbox's initramfs, and one boot of it snapshotted once the agent is ready.
# Skipped when nothing it is made from changed (the manifest records their hashes).
sandbox-template: $(BUILD)/ember $(BUILD)/ember-sandbox
	$(Q)[ -f $(BUILD)/guest/vmlinux ] || $(MAKE) guest
	$(Q)bash linux-guest/sandbox/template.sh

# What git tracks (a clone has nothing else); find where there is no git.
FORMAT_FILES = $(shell git ls-files '*.[ch]' 2>/dev/null || find src tests bench -name '*.[ch]')
format:
	$(Q)clang-format -i $(FORMAT_FILES)
format-check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_FILES)

check-layers:
	$(Q)bash scripts/check-layers.sh

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
