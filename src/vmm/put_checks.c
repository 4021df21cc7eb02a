// SPDX-License-Identifier: Apache-2.0
/* The host checks of a PUT, as Firecracker makes them (see put_checks.h). */
#include "vmm/put_checks.h"
#include "vmm/hugepages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Rust's io::Error as Firecracker prints it: "No such file or directory (os error 2)". */
#define OS_ERR(e) strerror(e), (e)

/* PUT /boot-source: the kernel and the initrd open (Firecracker's File::open). */
static int check_boot_source(const struct boot_source_config *bs, char *err)
{
	const char *what[2] = {"kernel", "initrd"},
		   *path[2] = {bs->kernel_image_path, bs->initrd_path};

	for (int i = 0; i < 2; i++) {
		/* O_NONBLOCK: a FIFO must not hang the API; the start refuses it. */
		int fd = path[i] ? open(path[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC) : -1;
		int e = errno;

		if (fd >= 0) {
			close(fd);
		} else if (path[i]) {
			snprintf(
			    err, VMM_ERR_MAX,
			    "Boot source error: The %s file cannot be opened: %s (os error %d): %s",
			    what[i], OS_ERR(e), path[i]);
			return -e;
		}
	}
	return 0;
}

/*
 * PUT /drives/{id}: the backing file opens as the drive will use it and has a
 * size (Firecracker opens it and seeks to its end): a regular file, a block
 * device or a character device such as /dev/null.
 */
static int check_drive(const struct drive_config *d, char *err)
{
	int fd = open(d->path_on_host,
		      (d->is_read_only ? O_RDONLY : O_RDWR) | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	struct stat st;
	int e = 0;

	if (fd < 0)
		e = errno;
	else if (fstat(fd, &st))
		e = errno;
	else if (S_ISDIR(st.st_mode))
		e = EISDIR;
	else if (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))
		e = ESPIPE; /* what Firecracker's seek meets there */
	else if (lseek(fd, 0, SEEK_END) < 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	if (!e)
		return 0;
	snprintf(err, VMM_ERR_MAX,
		 "Drive config error: Unable to create the virtio block device: Virtio backend "
		 "error: Error manipulating the backing file: %s (os error %d) %s",
		 OS_ERR(e), d->path_on_host);
	return -e;
}

/*
 * PUT /vsock: the host-side socket can be bound. A stale socket there is
 * fine (the device replaces it when the VM starts); a live one or another
 * kind of file is not.
 */
static int check_vsock(const struct vsock_config *v, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct stat st;
	int e = 0;

	if (fd < 0)
		e = errno;
	else if (strlen(v->uds_path) >= sizeof(sa.sun_path))
		e = ENAMETOOLONG;
	if (!e) {
		memcpy(sa.sun_path, v->uds_path, strlen(v->uds_path) + 1);
		if (!lstat(v->uds_path, &st)) {
			if (!S_ISSOCK(st.st_mode) ||
			    !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
				e = EADDRINUSE;
		} else if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			e = errno;
		} else {
			unlink(v->uds_path); /* only a test: the device binds it at the start */
		}
	}
	if (fd >= 0)
		close(fd);
	if (!e)
		return 0;
	snprintf(err, VMM_ERR_MAX,
		 "Vsock config error: Cannot create backend for vsock device: Error binding to the "
		 "host-side Unix socket: %s (os error %d): %s",
		 OS_ERR(e), v->uds_path);
	return -e;
}

/* PUT /pmem/{id}: the backing file opens in the device's mode and is a non-empty file. */
static int check_pmem(const struct vm_config *cur, const struct pmem_config *p, char *err)
{
	const struct pmem_config *old = config_find_pmem(cur, p->id);
	int fd, e = 0;
	struct stat st;

	if (old && !strcmp(old->path_on_host, p->path_on_host) && old->read_only == p->read_only)
		return 0;
	fd = open(p->path_on_host, (p->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		e = errno;
	else if (!S_ISREG(st.st_mode) || !st.st_size)
		e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (fd >= 0)
		close(fd);
	if (!e)
		return 0;
	snprintf(err, VMM_ERR_MAX, "pmem.%s: path_on_host %s: %s", p->id, p->path_on_host,
		 e == EINVAL ? "not a non-empty regular file" : strerror(e));
	return -e;
}

/* A drive of @next that @cur does not have as it is (new, or another file or mode). */
static bool drive_changed(const struct vm_config *cur, const struct drive_config *d)
{
	const struct drive_config *old = config_find_drive(cur, d->drive_id);

	return !old || strcmp(old->path_on_host, d->path_on_host) ||
	       old->is_read_only != d->is_read_only;
}

int ctrl_put_checks(const struct vm_config *cur, const struct vm_config *next,
		    enum config_section section, char err[VMM_ERR_MAX])
{
	int ret = 0;

	switch (section) {
	case CONFIG_BOOT_SOURCE:
		return check_boot_source(&next->boot, err);
	case CONFIG_DRIVE:
		for (unsigned int i = 0; i < next->nr_drives && !ret; i++)
			if (drive_changed(cur, &next->drives[i]))
				ret = check_drive(&next->drives[i], err);
		return ret;
	case CONFIG_VSOCK:
		return next->vsock.present ? check_vsock(&next->vsock, err) : 0;
	case CONFIG_MACHINE:
		return next->machine.huge_pages == HUGE_PAGES_2M
			   ? vm_hugepages_check(next->machine.mem_size_mib, err)
			   : 0;
	case CONFIG_PMEM:
		for (unsigned int i = 0; i < next->nr_pmems && !ret; i++)
			ret = check_pmem(cur, &next->pmems[i], err);
		return ret;
	default:
		return 0;
	}
}
