// SPDX-License-Identifier: Apache-2.0
/*
 * nethost - the host side of the net-throughput benchmark (bench/devices.sh), run inside the
 * benchmark's network namespace, next to the TAP the VMMs use. The frames are the guest
 * payload's (bench/netframe.h).
 *
 *   nethost write [-g] [-n RUNS] TAP FRAMES
 *       The host reference for transmit: opens TAP as ember does (IFF_TAP | IFF_NO_PI |
 *       IFF_VNET_HDR, a 12-byte vnet header, no offloads) and writes FRAMES frames (MTU
 *       frames, or 64 KiB GSO frames with -g), each one write() of header + frame, RUNS times
 *       after one warm-up; each run timed from the first write to the last.
 *   nethost read [-n RUNS] TAP FRAMES
 *       The host reference for receive: opens TAP the same way and reads FRAMES frames (each
 *       must be an MTU frame), RUNS times after one warm-up; each run timed from the open
 *       (frames flow in from then on) to the last frame. Needs `nethost send` running.
 *   nethost send TAP
 *       The receive benchmark's source: sends MTU frames addressed to the guest's MAC out of
 *       TAP through an AF_PACKET socket (qdisc bypassed, sendmmsg batches), as fast as it can,
 *       until SIGTERM or SIGINT. The TAP's queue holds 1000 frames (txqueuelen) and refuses
 *       more (ENOBUFS) while its reader (the VMM) is behind: then the sender sleeps 200 us,
 *       instead of spinning on a CPU the VMM needs.
 *       Prints "ready" once sending, and at the end how many frames the socket took.
 *
 * write and read print "total-ms min median max" (bench/firstbyte's format).
 */
#include "netframe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RUNS   1000
#define BATCH	   64	  /* frames per sendmmsg */
#define BACKOFF_NS 200000 /* send: the TAP's queue is full (1000 frames): sleep this long */

static uint8_t frame[NETFRAME_HDR + NETFRAME_GSO_LEN];
static volatile sig_atomic_t stop;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void print_times(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	printf("%-20s %12.2f %12.2f %12.2f\n", "total-ms", v[0],
	       n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2, v[n - 1]);
}

/* Opens the existing TAP @name as ember's net_tap_open() does, blocking. */
static int tap_open(const char *name)
{
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), hdr = NETFRAME_HDR;
	struct ifreq ifr;

	if (fd < 0) {
		fprintf(stderr, "nethost: /dev/net/tun: %s\n", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		fprintf(stderr, "nethost: TAP %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int do_write(const char *tap, long frames, int runs, bool gso)
{
	static const uint8_t mac[6] = NETFRAME_GUEST_MAC;
	size_t len = NETFRAME_HDR + netframe_len(gso);
	double t[MAX_RUNS];
	int fd = tap_open(tap);

	if (fd < 0)
		return 1;
	netframe_build(frame, gso, mac);
	for (int r = -1; r < runs; r++) {
		double t0 = now_ms();

		for (long i = 0; i < frames; i++) {
			ssize_t w = write(fd, frame, len);

			if (w != (ssize_t)len) {
				fprintf(stderr, "nethost: writing frame %ld to %s: %s\n", i, tap,
					w < 0 ? strerror(errno) : "short write");
				close(fd);
				return 1;
			}
		}
		if (r >= 0)
			t[r] = now_ms() - t0;
	}
	close(fd);
	printf("# nethost write: %d runs of %ld %s frames to %s (ms)\n", runs, frames,
	       gso ? "GSO" : "MTU", tap);
	print_times(t, runs);
	return 0;
}

static int do_read(const char *tap, long frames, int runs)
{
	double t[MAX_RUNS];

	for (int r = -1; r < runs; r++) {
		double t0 = now_ms();
		int fd = tap_open(tap);

		if (fd < 0)
			return 1;
		for (long i = 0; i < frames; i++) {
			ssize_t n = read(fd, frame, sizeof(frame));

			if (n != NETFRAME_HDR + NETFRAME_MTU_LEN ||
			    frame[NETFRAME_HDR + 12] != NETFRAME_ETHERTYPE >> 8) {
				fprintf(stderr, "nethost: frame %ld from %s: %s %zd bytes\n", i,
					tap, n < 0 ? strerror(errno) : "not the sender's:", n);
				close(fd);
				return 1;
			}
		}
		if (r >= 0)
			t[r] = now_ms() - t0;
		close(fd);
	}
	printf("# nethost read: %d runs of %ld MTU frames from %s (ms)\n", runs, frames, tap);
	print_times(t, runs);
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int do_send(const char *tap)
{
	static const uint8_t guest[6] = NETFRAME_GUEST_MAC, src[6] = NETFRAME_DST;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct sigaction sa = {.sa_handler = on_signal};
	const struct timespec backoff = {0, BACKOFF_NS};
	struct mmsghdr msgs[BATCH];
	struct iovec iov;
	unsigned long long sent = 0;
	int s, one = 1;

	/* An MTU frame to the guest (the netframe layout, with the addresses swapped). */
	netframe_build(frame, false, src);
	memcpy(frame + NETFRAME_HDR, guest, 6);
	iov = (struct iovec){frame + NETFRAME_HDR, NETFRAME_MTU_LEN};
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	sll.sll_ifindex = (int)if_nametoindex(tap);
	if (s < 0 || !sll.sll_ifindex ||
	    setsockopt(s, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "nethost: an AF_PACKET socket on %s: %s\n", tap, strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		int n = sendmmsg(s, msgs, BATCH, 0);

		if (n > 0) {
			sent += (unsigned long long)n;
		} else if (n < 0 && errno == ENOBUFS) {
			/* The TAP's queue is full (its reader is behind): let the CPU go to the
			 * reader for a while instead of spinning; the queue stays far from empty.
			 */
			nanosleep(&backoff, NULL);
		} else if (n < 0 && errno != EINTR && errno != EAGAIN) {
			fprintf(stderr, "nethost: sending on %s: %s\n", tap, strerror(errno));
			return 1;
		}
	}
	printf("sent %llu frames\n", sent);
	return 0;
}

static void usage(FILE *out)
{
	fputs("usage: nethost write [-g] [-n RUNS] TAP FRAMES\n"
	      "       nethost read [-n RUNS] TAP FRAMES\n"
	      "       nethost send TAP\n"
	      "See bench/nethost.c and bench/README.md.\n",
	      out);
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	long runs = 5, frames = 0;
	bool gso = false;
	char *end;
	int c;

	if (!strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	optind = 2;
	while (argc > 1 && (c = getopt(argc, argv, "gn:h")) != -1) {
		switch (c) {
		case 'g':
			gso = true;
			break;
		case 'n':
			runs = strtol(optarg, &end, 10);
			if (*end || runs < 1 || runs > MAX_RUNS) {
				fprintf(stderr, "nethost: -n %s: expected 1 to %d\n", optarg,
					MAX_RUNS);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!strcmp(cmd, "send") && argc - optind == 1)
		return do_send(argv[optind]);
	if ((!strcmp(cmd, "write") || !strcmp(cmd, "read")) && argc - optind == 2) {
		frames = strtol(argv[optind + 1], &end, 10);
		if (*end || frames < 1) {
			fprintf(stderr, "nethost: %s: not a number of frames\n", argv[optind + 1]);
			return 2;
		}
		return cmd[0] == 'w' ? do_write(argv[optind], frames, (int)runs, gso)
				     : do_read(argv[optind], frames, (int)runs);
	}
	usage(stderr);
	return 2;
}
