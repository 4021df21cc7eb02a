// SPDX-License-Identifier: Apache-2.0
/*
 * MMDS's endpoint (devices/mmds/stack.c) on a TAP, for tests/mmds.sh: the host
 * kernel's own TCP/IP stack, on the TAP's side, plays the guest (curl to
 * 169.254.169.254), so the endpoint meets a real TCP (its options, its
 * timers) without booting Linux. The frames the kernel sends to the TAP are
 * what a guest would transmit; the endpoint's answers are written back.
 *   mmds_tap TAP V1|V2 STORE.json SECONDS
 */
#include "devices/mmds/stack.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

int main(int argc, char **argv)
{
	static uint8_t buf[MMDS_STACK_IN_MAX];
	static char store[65536];
	char err[MMDS_ERR_MAX];
	struct mmds_stack st;
	struct mmds svc;
	struct ifreq ifr = {0};
	uint64_t end;
	size_t n;
	FILE *f;
	int fd;

	if (argc != 5) {
		fprintf(stderr, "usage: mmds_tap TAP V1|V2 STORE.json SECONDS\n");
		return 2;
	}
	f = fopen(argv[3], "r");
	n = f ? fread(store, 1, sizeof(store), f) : 0;
	if (f)
		fclose(f);
	if (mmds_init(&svc, 0) || mmds_put(&svc, store, n, err) || mmds_stack_init(&st, &svc)) {
		fprintf(stderr, "mmds_tap: %s: the store: %s\n", argv[3], err);
		return 1;
	}
	mmds_set_config(&svc, strcmp(argv[2], "V2") ? MMDS_V1 : MMDS_V2, false, MMDS_DEFAULT_IPV4);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "mmds_tap: TAP %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("mmds_tap: ready\n");
	fflush(stdout);
	end = now_ns() + strtoull(argv[4], NULL, 10) * 1000000000ULL;
	while (now_ns() < end) {
		struct pollfd p = {fd, POLLIN, 0};
		uint64_t d = mmds_stack_deadline(&st), now = now_ns();
		int ms = d ? (int)((d > now ? d - now : 0) / 1000000) : 100;
		ssize_t r;

		if (poll(&p, 1, ms > 100 ? 100 : ms) > 0 && (p.revents & POLLIN)) {
			/* No vnet header on this TAP: a header of zeros, checksums complete. */
			memset(buf, 0, MMDS_STACK_HDR);
			r = read(fd, buf + MMDS_STACK_HDR, sizeof(buf) - MMDS_STACK_HDR);
			if (r > 0) {
				struct iovec iov = {buf, MMDS_STACK_HDR + (size_t)r};

				mmds_stack_tx(&st, &iov, 1, now_ns());
			}
		}
		while (mmds_stack_pending(&st, now_ns())) {
			struct iovec iov = {buf, sizeof(buf)};

			n = mmds_stack_rx(&st, &iov, 1, now_ns());
			if (!n)
				break;
			if (write(fd, buf + MMDS_STACK_HDR, n - MMDS_STACK_HDR) < 0)
				perror("mmds_tap: write");
		}
	}
	printf("mmds_tap: %llu connections, %llu requests, %llu closed\n",
	       svc.m.connections_created, svc.m.rx_count, svc.m.connections_destroyed);
	mmds_stack_destroy(&st);
	mmds_destroy(&svc);
	return 0;
}
