// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net with MMDS's endpoint in front of its TAP (net.h's intercept, as
 * vmm/network_interfaces.c wires it): through the transport's registers
 * (virtio_fake_driver.h), a socket pair standing in for the TAP. Frames for
 * MMDS are answered into the guest's receive buffers and never reach the
 * TAP; every other frame passes both ways as before.
 */
#include "mmds_frames.h"
#include "test.h"
#include "virtio_fake_driver.h"

#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net.h"

#define QSIZE 256
#define RXQ   VIRTIO_NET_RXQ
#define TXQ   VIRTIO_NET_TXQ
#define RXBUF (FD_BUF_GPA)
#define TXBUF (FD_BUF_GPA + 0x200000)

static struct {
	struct virtio_net n;
	struct fake_driver f;
	struct mmds svc;
	struct mmds_stack st;
	struct net_intercept icpt;
	int peer;
	uint16_t rx_head, tx_head;
} rig;

static bool icpt_tx(void *o, const struct iovec *iov, unsigned int nr, uint64_t now)
{
	return mmds_stack_tx(o, iov, nr, now);
}

static size_t icpt_rx(void *o, const struct iovec *iov, unsigned int nr, uint64_t now)
{
	return mmds_stack_rx(o, iov, nr, now);
}

static bool icpt_pending(void *o, uint64_t now)
{
	return mmds_stack_pending(o, now);
}

static uint64_t icpt_deadline(void *o)
{
	return mmds_stack_deadline(o);
}

static void setup(void)
{
	struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "tap0"};
	int sv[2];

	memset(&rig, 0, sizeof(rig));
	fd_init(&rig.f, 4 << 20);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	rig.peer = sv[1];
	CHECK_EQ(virtio_net_init(&rig.n, &cfg, sv[0], false, fd_host_ops(), &rig.f.host, &rig.f.gm),
		 0);
	CHECK_EQ(mmds_init(&rig.svc, 0), 0);
	CHECK_EQ(mmds_stack_init(&rig.st, &rig.svc), 0);
	rig.icpt = (struct net_intercept){icpt_tx, icpt_rx, icpt_pending, icpt_deadline, &rig.st};
	rig.n.icpt = &rig.icpt;
	fd_attach(&rig.f, &rig.n.dev);
	fd_bring_up(&rig.f, VIRTIO_ID_NET, 0, 2, QSIZE);
}

static void teardown(void)
{
	virtio_net_destroy(&rig.n);
	mmds_stack_destroy(&rig.st);
	mmds_destroy(&rig.svc);
	close(rig.peer);
	fd_destroy(&rig.f);
}

static void post_rx(uint64_t gpa)
{
	struct fd_buf b = {gpa, 1526, true};

	fd_chain(&rig.f, RXQ, rig.rx_head, 1, &b);
	fd_post(&rig.f, RXQ, rig.rx_head);
	rig.rx_head = (uint16_t)((rig.rx_head + 1) % QSIZE);
}

/* The guest sends @len bytes (header + frame) at @frame. */
static void guest_send(const uint8_t *frame, size_t len)
{
	uint64_t gpa = TXBUF + 0x1000ULL * rig.tx_head;
	struct fd_buf b = {gpa, (uint32_t)len, false};

	memcpy(fd_at(&rig.f, gpa), frame, len);
	fd_chain(&rig.f, TXQ, rig.tx_head, 1, &b);
	fd_post(&rig.f, TXQ, rig.tx_head);
	rig.tx_head = (uint16_t)((rig.tx_head + 1) % QSIZE);
	fd_notify(&rig.f, TXQ);
}

TEST(mmds_frames_are_answered_others_reach_the_tap)
{
	static const uint8_t mmds_mac[6] = MMDS_STACK_MAC;
	uint8_t frame[256], got[2048];
	uint32_t id, len;

	setup();
	post_rx(RXBUF);
	fd_notify(&rig.f, RXQ);
	/* An ARP request for MMDS: answered into the receive buffer, nothing on the TAP. */
	guest_send(frame, f_arp(frame, MMDS_DEFAULT_IPV4));
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	CHECK_EQ(recv(rig.peer, got, sizeof(got), MSG_DONTWAIT), -1);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(len, HDR + 14 + 28);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + HDR + 14 + 8), mmds_mac, 6));
	CHECK_EQ(rig.n.m.tx_packets_count, 0);
	CHECK_EQ(rig.svc.m.rx_accepted, 1);

	/* An ARP request for another host: to the TAP, untouched. */
	guest_send(frame, f_arp(frame, 0x0a000201));
	CHECK_EQ(recv(rig.peer, got, sizeof(got), MSG_DONTWAIT), HDR + 14 + 28);
	CHECK(!memcmp(got, frame, HDR + 14 + 28));
	CHECK_EQ(rig.n.m.tx_packets_count, 1);

	/* A SYN to MMDS while the guest has no buffer: the SYN-ACK waits for one. */
	guest_send(frame, f_tcp(frame, MMDS_DEFAULT_IPV4, 40000, 80, 1, 0, F_SYN, 65535, NULL, 0));
	CHECK_EQ(recv(rig.peer, got, sizeof(got), MSG_DONTWAIT), -1);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	post_rx(RXBUF + 0x1000);
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	CHECK_EQ(f_parse(fd_at(&rig.f, RXBUF + 0x1000), HDR + 14 + 44).flags, F_SYN | F_ACK);

	/* The TAP's frames still come in. */
	memset(frame, 0, sizeof(frame));
	frame[HDR + 20] = 0x5a;
	CHECK_EQ(send(rig.peer, frame, HDR + 60, 0), HDR + 60);
	post_rx(RXBUF + 0x2000);
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 3);
	fd_used(&rig.f, RXQ, 2, &id, &len);
	CHECK_EQ(len, HDR + 60);
	CHECK_EQ(fd_at(&rig.f, RXBUF + 0x2000)[HDR + 20], 0x5a);
	teardown();
}

TEST_MAIN(TEST_ENTRY(mmds_frames_are_answered_others_reach_the_tap))
