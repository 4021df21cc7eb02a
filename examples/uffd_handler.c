// SPDX-License-Identifier: Apache-2.0
/*
 * An example page-fault handler for PUT /snapshot/load with the Uffd memory
 * backend (Firecracker's protocol, which ember follows exactly):
 *
 *   cc -O2 -o uffd_handler examples/uffd_handler.c
 *   ./uffd_handler /tmp/uffd.sock vm.mem &
 *   curl --unix-socket /tmp/ember.sock -X PUT http://localhost/snapshot/load -d \
 *     '{"snapshot_path": "vm.state", "mem_backend": {"backend_type": "Uffd",
 *       "backend_path": "/tmp/uffd.sock"}, "resume_vm": true}'
 *
 * It listens on SOCKET; the VMM connects and sends one message: a JSON array
 * of its guest memory regions, [{"base_host_virt_addr", "size", "offset",
 * "page_size", "page_size_kib"}, ...] (offset: where the region lies in the
 * memory file), with the userfaultfd that covers them attached (SCM_RIGHTS).
 * Then each first touch of a guest page arrives as a UFFD_EVENT_PAGEFAULT and
 * is answered with UFFDIO_COPY of that page from MEMFILE (mapped read-only, so
 * many handlers share its page cache). The handler exits when the VMM closes
 * the socket (its VM is gone), printing how many pages it served.
 *
 * One VM per handler; a real one would serve several, prefetch the pages a
 * guest is known to touch first, and watch UFFD_EVENT_REMOVE (a balloon).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_REGIONS 8

struct region {
	uint64_t base, size, offset, page_size;
};

static void die(const char *what)
{
	fprintf(stderr, "uffd_handler: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The number after "key": in @obj (the text of one JSON object), or -1. */
static long long field(const char *obj, const char *end, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(obj, pat);
	if (!p || p >= end)
		return -1;
	return strtoll(p + strlen(pat), NULL, 10);
}

/* The regions of the JSON array @json; returns how many. */
static int parse_regions(const char *json, struct region *r)
{
	const char *obj = json;
	int n = 0;

	while (n < MAX_REGIONS && (obj = strchr(obj, '{'))) {
		const char *end = strchr(obj, '}');

		if (!end)
			break;
		r[n].base = (uint64_t)field(obj, end, "base_host_virt_addr");
		r[n].size = (uint64_t)field(obj, end, "size");
		r[n].offset = (uint64_t)field(obj, end, "offset");
		r[n].page_size = (uint64_t)field(obj, end, "page_size");
		n++;
		obj = end;
	}
	return n;
}

/* Receives the one message: its JSON into @buf, the userfaultfd returned. */
static int receive(int conn, char *buf, size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {buf, len - 1};
	struct msghdr msg = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(conn, &msg, 0);
	int fd;

	if (n <= 0)
		die("receiving the regions");
	buf[n] = '\0';
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS) {
		fprintf(stderr, "uffd_handler: the message carried no file descriptor\n");
		exit(1);
	}
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	return fd;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct region regions[MAX_REGIONS];
	unsigned long long served = 0;
	int lsock, conn, uffd, mem_fd, nr;
	char json[4096];
	struct stat st;
	uint8_t *mem;

	if (argc != 3 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: %s SOCKET MEMFILE\n", argv[0]);
		return 2;
	}
	mem_fd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0 || fstat(mem_fd, &st) < 0)
		die(argv[2]);
	mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, mem_fd, 0);
	if (mem == MAP_FAILED)
		die("mapping the memory file");
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lsock < 0 || bind(lsock, (struct sockaddr *)&addr, sizeof(addr)) || listen(lsock, 1))
		die(argv[1]);
	conn = accept(lsock, NULL, NULL);
	if (conn < 0)
		die("accept");
	uffd = receive(conn, json, sizeof(json));
	nr = parse_regions(json, regions);
	for (int i = 0; i < nr; i++) {
		if (regions[i].offset + regions[i].size > (uint64_t)st.st_size) {
			fprintf(stderr, "uffd_handler: region %d runs past the end of %s\n", i,
				argv[2]);
			return 1;
		}
	}

	for (;;) {
		struct pollfd fds[2] = {{uffd, POLLIN, 0}, {conn, POLLIN, 0}};
		struct uffd_msg m;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll");
		}
		if (fds[1].revents) /* the VMM closed the socket: its VM is gone */
			break;
		if (read(uffd, &m, sizeof(m)) != sizeof(m))
			continue; /* EAGAIN: another reader took it */
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		for (int i = 0; i < nr; i++) {
			const struct region *r = &regions[i];
			uint64_t page = m.arg.pagefault.address & ~(r->page_size - 1);
			struct uffdio_copy copy;

			if (page < r->base || page >= r->base + r->size)
				continue;
			copy = (struct uffdio_copy){
			    .dst = page,
			    .src = (uintptr_t)(mem + r->offset + (page - r->base)),
			    .len = r->page_size,
			};
			/* EEXIST: another thread of the VM faulted the same page in first. */
			if (ioctl(uffd, UFFDIO_COPY, &copy) < 0 && errno != EEXIST)
				die("UFFDIO_COPY");
			served++;
			break;
		}
	}
	fprintf(stderr, "uffd_handler: served %llu pages\n", served);
	return 0;
}
