// SPDX-License-Identifier: Apache-2.0
/*
 * The Uffd memory backend of PUT /snapshot/load, Firecracker's protocol
 * exactly: guest memory is anonymous and registered with a userfaultfd
 * (missing-page faults), ember connects to the Unix socket backend_path and
 * sends one message, the JSON array of the regions
 * [{"base_host_virt_addr", "size", "offset", "page_size", "page_size_kib"}]
 * (offset: the region's place in the memory file; page_size_kib carries the
 * page size in bytes, as Firecracker's deprecated field does) with the
 * userfaultfd attached (SCM_RIGHTS). The handler on the other end fills each
 * page the guest (or KVM on its behalf) first touches, with UFFDIO_COPY from
 * the memory file; examples/uffd_handler.c is one. ember keeps both fds open
 * for the VM's life: the handler sees ember go when the socket closes.
 */
#include "vmm/snapshot.h"

#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#define PAGE_SIZE 4096

/* The regions as Firecracker describes them (GuestRegionUffdMapping), in @buf. */
static int mappings_json(const struct guest_mem *gm, char *buf, size_t len)
{
	const uint8_t *base = gm->mapping;
	size_t used = 0;
	int n;

	buf[used++] = '[';
	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		const struct guest_region *r = &gm->regions[i];

		n = snprintf(buf + used, len - used,
			     "%s{\"base_host_virt_addr\":%llu,\"size\":%llu,\"offset\":%llu,"
			     "\"page_size\":%d,\"page_size_kib\":%d}",
			     i ? "," : "", (unsigned long long)(uintptr_t)r->hva,
			     (unsigned long long)r->size, (unsigned long long)(r->hva - base),
			     PAGE_SIZE, PAGE_SIZE);
		if (n < 0 || (size_t)n >= len - used)
			return -ENOSPC;
		used += (size_t)n;
	}
	if (used + 2 > len)
		return -ENOSPC;
	buf[used++] = ']';
	buf[used] = '\0';
	return (int)used;
}

/* The one message: the JSON with the userfaultfd as SCM_RIGHTS. */
static int send_with_fd(int sock, const char *json, size_t len, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {(void *)(uintptr_t)json, len};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = ctl,
	    .msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *c;
	ssize_t n;

	memset(ctl, 0, sizeof(ctl));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int vm_uffd_attach(struct vm *vm, const char *path)
{
	struct uffdio_api api = {.api = UFFD_API};
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	char json[1024];
	int len, ret;

	/* Its missing pages are the snapshot's, not zero: a Full must read every one. */
	vm->mem.untouched_is_zero = false;
	vm->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (vm->uffd < 0) {
		log_error("mem_backend: userfaultfd: %s", strerror(errno));
		return -errno;
	}
	if (ioctl(vm->uffd, UFFDIO_API, &api) < 0) {
		log_error("mem_backend: UFFDIO_API: %s", strerror(errno));
		return -errno;
	}
	for (unsigned int i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];
		struct uffdio_register reg = {
		    .range = {(uintptr_t)r->hva, r->size},
		    .mode = UFFDIO_REGISTER_MODE_MISSING,
		};

		if (ioctl(vm->uffd, UFFDIO_REGISTER, &reg) < 0) {
			log_error("mem_backend: UFFDIO_REGISTER of %llu MiB: %s",
				  (unsigned long long)(r->size >> 20), strerror(errno));
			return -errno;
		}
	}
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error(
		    "mem_backend.backend_path %s: longer than a Unix socket path may be (%zu)",
		    path, sizeof(addr.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, path, strlen(path) + 1);
	vm->uffd_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (vm->uffd_sock < 0 || connect(vm->uffd_sock, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = -errno;
		log_error(
		    "mem_backend.backend_path %s: cannot connect to the page-fault handler: %s",
		    path, strerror(errno));
		return ret;
	}
	len = mappings_json(&vm->mem, json, sizeof(json));
	ret = len < 0 ? len : send_with_fd(vm->uffd_sock, json, (size_t)len, vm->uffd);
	if (ret)
		log_error(
		    "mem_backend.backend_path %s: sending the regions and the userfaultfd: %s",
		    path, strerror(-ret));
	return ret;
}
