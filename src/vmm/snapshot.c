// SPDX-License-Identifier: Apache-2.0
/* Snapshots of a VM: save, read back, restore (see snapshot.h). */
#include "vmm/snapshot.h"

#include "arch/x86_64/arch.h"
#include "util/log.h"
#include "vmm/device_table.h"
#include "vmm/memory_hotplug.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* A state file is kilobytes (a few per vCPU and device); anything near this is not one. */
#define STATE_FILE_MAX	(64ULL << 20)
#define CONFIG_JSON_MAX (1U << 20)

/* --- saving --- */

static int check_devices(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_virtio; i++) {
		const struct vm_device_type *t = vm->virtio[i].type;

		if (!t->save) {
			log_error("snapshotting a VM with %s devices is not supported yet",
				  t->name);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}

/* The machine configuration, so that a restore builds the same VM. */
static int save_config(struct vm *vm, struct state_writer *w)
{
	char *json = config_to_json(&vm->cfg);

	if (!json) {
		log_error("snapshot: out of memory writing the machine configuration");
		return -ENOMEM;
	}
	state_section_begin(w, "config", 0);
	sw_blob(w, json, (uint32_t)strlen(json));
	sw_u64(w, vm->mem.ram_size);
	state_section_end(w);
	free(json);
	return 0;
}

static int save_state(struct vm *vm, struct state_writer *w)
{
	int ret;

	if (!vm->snap_caps_ready) {
		ret = arch_snapshot_caps_init(&vm->snap_caps, vm->kvm_fd, vm->vm_fd, vm->pvm);
		if (ret)
			return ret;
		vm->snap_caps_ready = true;
	}
	ret = save_config(vm, w);
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = arch_vcpu_save(vm->vcpus[i].fd, i, &vm->snap_caps, w);
	if (!ret)
		ret = arch_vm_save(vm->vm_fd, w);
	if (ret)
		return ret;
	uart8250_save(&vm->uart, w);
	i8042_save(&vm->i8042, w);
	if (vm->boot_timer_enabled)
		boot_timer_save(&vm->boot_timer, w);
	vmgenid_save(&vm->vmgenid, w);
	for (unsigned int i = 0; !ret && i < vm->nr_virtio; i++)
		ret = vm->virtio[i].type->save(vm, &vm->virtio[i], w);
	return ret;
}

static int write_state_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0) {
		ret = -errno;
		log_error("snapshot_path %s: cannot create: %s", path, strerror(errno));
		return ret;
	}
	while (len && !ret) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = n < 0 ? -errno : -EIO;
		else
			data += n, len -= (size_t)n;
	}
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		log_error("snapshot_path %s: writing: %s", path, strerror(-ret));
	close(fd);
	return ret;
}

/*
 * The pages written since the last read, per region (KVM's dirty log and
 * ember's own bitmap, both cleared): a bitmap each, malloc'd into @maps.
 */
static int dirty_log(struct vm *vm, uint64_t **maps)
{
	for (unsigned int r = 0; r < vm->mem.nr_regions; r++) {
		struct kvm_dirty_log d = {.slot = r};
		int ret;

		maps[r] = calloc(1, snapshot_bitmap_bytes(vm->mem.regions[r].size));
		if (!maps[r])
			return -ENOMEM;
		d.dirty_bitmap = maps[r];
		if (vm->mem.has_hotplug && r == vm->mem.nr_regions - 1) {
			/* memory-hotplug's region: a KVM slot per slot the guest has. */
			ret = memory_hotplug_dirty_log(vm, maps[r]);
			if (ret)
				return ret;
		} else if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
			log_error("KVM_GET_DIRTY_LOG slot %u: %s", r, strerror(errno));
			return -errno;
		}
		/* And the pages ember wrote (devices), which KVM's log never sees. */
		gm_dirty_take(&vm->mem, r, maps[r]);
	}
	return 0;
}

/*
 * The memory file. A Diff goes into an existing file of the right size as it
 * is (so a diff can be taken straight onto a copy of its base, as
 * Firecracker allows), else into a fresh sparse one; a Full always starts from
 * an empty file, since it leaves zero pages as holes.
 */
static int write_memory(struct vm *vm, const struct snapshot_create_params *p)
{
	const char *path = p->mem_file_path;
	uint64_t *maps[GUEST_MEM_MAX_REGIONS] = {NULL};
	bool diff = p->type == SNAPSHOT_DIFF && !vm->mem_untracked;
	bool log_read = false;
	struct stat st;
	int fd, ret;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (diff ? 0 : O_TRUNC), 0600);
	if (fd < 0) {
		ret = -errno;
		log_error("mem_file_path %s: cannot create: %s", path, strerror(errno));
		return ret;
	}
	ret = fstat(fd, &st) < 0 ? -errno : 0;
	if (!ret && diff && (uint64_t)st.st_size != vm->mem.ram_size && ftruncate(fd, 0) < 0)
		ret = -errno;
	if (!ret && ftruncate(fd, (off_t)vm->mem.ram_size) < 0)
		ret = -errno;
	if (ret) {
		log_error("mem_file_path %s: %s", path, strerror(-ret));
		goto out;
	}
	/* Read (and so cleared) before the write: after a Full too, so the next Diff is against it.
	 */
	if (vm->cfg.machine.track_dirty_pages) {
		log_read = true;
		ret = dirty_log(vm, maps);
		if (ret)
			goto out;
	}
	ret = snapshot_mem_write(&vm->mem, fd, diff ? maps : NULL, vm->pagemap_fd);
	if (!ret && fsync(fd) < 0)
		ret = -errno;
	if (ret)
		log_error("mem_file_path %s: writing guest memory: %s", path, strerror(-ret));
out:
	/* A dirty log read but not written out is lost: the next Diff must write everything. */
	if (!ret)
		vm->mem_untracked = false;
	else if (log_read)
		vm->mem_untracked = true;
	for (unsigned int r = 0; r < GUEST_MEM_MAX_REGIONS; r++)
		free(maps[r]);
	close(fd);
	return ret;
}

int vm_snapshot_save(struct vm *vm, const struct snapshot_create_params *p)
{
	bool full = p->type == SNAPSHOT_FULL || vm->mem_untracked;
	struct state_writer w;
	uint8_t *data;
	size_t len;
	int ret;

	if (p->type == SNAPSHOT_DIFF && !vm->cfg.machine.track_dirty_pages) {
		log_error(
		    "Diff snapshots are not allowed on uVMs with dirty page tracking disabled.");
		return -EINVAL;
	}
	ret = check_devices(vm);
	if (ret)
		return ret;
	state_write_init(&w);
	ret = save_state(vm, &w);
	if (ret) {
		state_write_free(&w);
		return ret;
	}
	ret = state_write_finish(&w, &data, &len);
	if (ret) {
		log_error("snapshot: out of memory building the state file");
		return ret;
	}
	/* The state file first, then memory, as Firecracker writes them. */
	ret = write_state_file(p->snapshot_path, data, len);
	free(data);
	if (!ret)
		ret = write_memory(vm, p);
	if (!ret)
		log_info("snapshot created: %s (%zu bytes of state), %s (%s)", p->snapshot_path,
			 len, p->mem_file_path,
			 full ? "every page" : "the pages dirtied since the last snapshot");
	return ret;
}

/* --- reading back --- */

static int read_state_file(struct vm_snapshot *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t got = 0;

	if (fd < 0) {
		log_error("snapshot_path %s: cannot open: %s", path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > STATE_FILE_MAX) {
		log_error("snapshot_path %s: not a snapshot state file (%s)", path,
			  S_ISREG(st.st_mode) ? "far too large" : "not a regular file");
		close(fd);
		return -EINVAL;
	}
	s->len = (size_t)st.st_size;
	s->data = malloc(s->len ? s->len : 1);
	while (s->data && got < s->len) {
		ssize_t n = read(fd, s->data + got, s->len - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!s->data || got != s->len) {
		log_error("snapshot_path %s: cannot read it: %s", path,
			  s->data ? "short read" : "out of memory");
		return -EIO;
	}
	return 0;
}

/* The saved configuration and memory size (section "config"). */
static int read_config(struct vm_snapshot *s, const char *path)
{
	char err[CONFIG_ERR_MAX];
	struct state_reader r;
	uint32_t n;
	char *json;
	int ret;

	if (state_section_find(&s->file, "config", 0, &r) || r.len > CONFIG_JSON_MAX + 16) {
		log_error("snapshot_path %s: no machine configuration in it", path);
		return -EINVAL;
	}
	json = malloc(r.len + 1);
	if (!json)
		return -ENOMEM;
	n = sr_blob(&r, json, (uint32_t)r.len);
	json[n] = '\0';
	s->mem_size = sr_u64(&r);
	if (!sr_ok(&r)) {
		log_error("snapshot_path %s: its machine configuration is corrupt", path);
		free(json);
		return -EINVAL;
	}
	ret = config_parse_string(&s->cfg, json, err);
	free(json);
	if (ret) {
		log_error("snapshot_path %s: its machine configuration does not parse: %s", path,
			  err);
		return -EINVAL;
	}
	/* Guest memory: RAM, then memory-hotplug's region (guest_mem.h). */
	if (s->mem_size != (s->cfg.machine.mem_size_mib << 20) +
			       ((uint64_t)s->cfg.memory_hotplug.total_size_mib << 20)) {
		log_error("snapshot_path %s: corrupt: %llu bytes of guest memory for a %llu MiB "
			  "machine",
			  path, (unsigned long long)s->mem_size,
			  (unsigned long long)s->cfg.machine.mem_size_mib);
		return -EINVAL;
	}
	return 0;
}

static int open_memory(struct vm_snapshot *s, const struct snapshot_load_params *p)
{
	const char *what = p->mem_file_path_used ? "mem_file_path" : "mem_backend.backend_path";
	struct stat st;

	s->mem_fd = open(p->mem_path, O_RDONLY | O_CLOEXEC);
	if (s->mem_fd < 0) {
		log_error("%s %s: cannot open: %s", what, p->mem_path, strerror(errno));
		return -EINVAL;
	}
	if (fstat(s->mem_fd, &st) < 0 || (uint64_t)st.st_size != s->mem_size) {
		log_error("%s %s: %lld bytes, but the snapshot's guest memory is %llu bytes (%llu "
			  "MiB): not its memory file",
			  what, p->mem_path, (long long)st.st_size, (unsigned long long)s->mem_size,
			  (unsigned long long)(s->mem_size >> 20));
		return -EINVAL;
	}
	return 0;
}

int vm_snapshot_open(struct vm_snapshot *s, const struct snapshot_load_params *p)
{
	char err[STATE_ERR_MAX];
	int ret;

	memset(s, 0, sizeof(*s));
	s->mem_fd = -1;
	config_init(&s->cfg);
	if (p->huge_pages == SNAPSHOT_HUGE_PAGES_2M) {
		log_error("huge_pages: \"2M\" (hugetlbfs) is not supported yet by ember");
		return -EOPNOTSUPP;
	}
	ret = read_state_file(s, p->snapshot_path);
	if (ret)
		return ret;
	if (state_file_parse(&s->file, s->data, s->len, err)) {
		log_error("snapshot_path %s: %s", p->snapshot_path, err);
		return -EINVAL;
	}
	ret = read_config(s, p->snapshot_path);
	/* With Uffd the memory file is the handler's: it checks and serves it. */
	if (!ret && p->backend == MEM_BACKEND_FILE)
		ret = open_memory(s, p);
	return ret;
}

int vm_snapshot_describe(const char *path, uint16_t *major, uint16_t *minor)
{
	char err[STATE_ERR_MAX];
	struct vm_snapshot s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.mem_fd = -1;
	ret = read_state_file(&s, path);
	if (!ret && state_file_parse(&s.file, s.data, s.len, err)) {
		log_error("snapshot_path %s: %s", path, err);
		ret = -EINVAL;
	}
	*major = s.file.major;
	*minor = s.file.minor;
	vm_snapshot_close(&s);
	return ret;
}

void vm_snapshot_close(struct vm_snapshot *s)
{
	state_file_free(&s->file);
	free(s->data);
	s->data = NULL;
	config_free(&s->cfg);
	if (s->mem_fd >= 0)
		close(s->mem_fd);
	s->mem_fd = -1;
}

/* --- restoring --- */

static int restore_legacy(struct vm *vm, const struct state_file *f)
{
	int ret = uart8250_restore(&vm->uart, f);

	if (ret) {
		log_error("the UART's state is %s", ret == -ENOENT ? "missing" : "corrupt");
		return -EINVAL;
	}
	ret = i8042_restore(&vm->i8042, f);
	if (ret) {
		log_error("the i8042's state is %s", ret == -ENOENT ? "missing" : "corrupt");
		return -EINVAL;
	}
	/* Only with --boot-timer here; a snapshot taken without it has none: not an error. */
	ret = vm->boot_timer_enabled ? boot_timer_restore(&vm->boot_timer, f) : 0;
	if (ret && ret != -ENOENT) {
		log_error("the boot timer's state is corrupt");
		return -EINVAL;
	}
	return 0;
}

int vm_restore(struct vm *vm, struct vm_snapshot *s, const struct snapshot_load_params *p)
{
	int ret = vm_create_restored(vm, &s->cfg, s->mem_fd);

	/* The handler first: restoring KVM's state may already touch guest memory. */
	if (!ret && p->backend == MEM_BACKEND_UFFD)
		ret = vm_uffd_attach(vm, p->mem_path);
	if (ret)
		return ret;
	ret = arch_snapshot_caps_init(&vm->snap_caps, vm->kvm_fd, vm->vm_fd, vm->pvm);
	if (ret)
		return ret;
	vm->snap_caps_ready = true;
	/* Firecracker's order: the vCPUs, then the VM's PIT, clock and irqchip, then the devices.
	 */
	for (unsigned int i = 0; !ret && i < vm->nr_vcpus; i++)
		ret = arch_vcpu_restore(vm->vcpus[i].fd, i, &vm->snap_caps, &s->file);
	if (!ret)
		ret = arch_vm_restore(vm->vm_fd, &s->file, p->clock_realtime);
	if (!ret)
		ret = restore_legacy(vm, &s->file);
	for (unsigned int i = 0; !ret && i < vm->nr_virtio; i++) {
		struct virtio_slot *slot = &vm->virtio[i];

		if (!slot->type->restore) {
			log_error("restoring %s devices is not supported yet", slot->type->name);
			ret = -EOPNOTSUPP;
		} else {
			ret = slot->type->restore(vm, slot, &s->file);
		}
	}
	/*
	 * Last, with the interrupt controllers restored: a new generation id and
	 * its interrupt, which the guest takes once it runs. A snapshot without
	 * the device (none: -ENOENT) keeps its memory as it is.
	 */
	if (!ret) {
		ret = vmgenid_restore(&vm->vmgenid, &s->file);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret)
			ret = -EINVAL;
	}
	return ret;
}
