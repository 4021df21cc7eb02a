// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-net through the transport's registers (tests/unit/virtio_fake_driver.h),
 * with a SOCK_SEQPACKET socket pair standing in for the TAP: the test holds
 * the peer end, reads what the device transmits and sends what it receives.
 * The device's host is the fake (virtio_fake_host.h): the TAP's interest is
 * its watch's, the retries are its scheduled runs, the limiters' clock is its.
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio/net.h"

#define QSIZE 256
#define RXQ   VIRTIO_NET_RXQ
#define TXQ   VIRTIO_NET_TXQ
#define HDR   VIRTIO_NET_HDR_LEN
#define RXBUF (FD_BUF_GPA)	      /* receive buffers: 1 MiB .. */
#define TXBUF (FD_BUF_GPA + 0x200000) /* transmit buffers: 3 MiB .. */

#define F(bit) (1ULL << (bit))

struct rig {
	struct virtio_net n;
	struct fake_driver f;
	int peer;
	uint16_t rx_head, tx_head; /* next free descriptor per queue */
};

static struct rig rig; /* struct virtio_net holds two vq_chains: not on the stack */
/* Whether the device wants frames: EPOLLIN on its watch of the backend. */
static bool interest(void)
{
	return rig.n.tap_w.watched && (rig.n.tap_w.events & EPOLLIN);
}

static const uint8_t test_mac[6] = {0x06, 0x00, 0xac, 0x10, 0x00, 0x02};

static void setup_cfg(const struct net_config *cfg, uint64_t features)
{
	int sv[2];

	memset(&rig, 0, sizeof(rig));
	fd_init(&rig.f, 4 << 20); /* the fake host's clock: 1 s */
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	rig.peer = sv[1];
	/* Room for many frames in flight (the kernel caps it at twice wmem_max). */
	setsockopt(rig.peer, SOL_SOCKET, SO_SNDBUF, &(int){1 << 22}, sizeof(int));
	CHECK_EQ(virtio_net_init(&rig.n, cfg, sv[0], false, fd_host_ops(), &rig.f.host, &rig.f.gm),
		 0);
	fd_attach(&rig.f, &rig.n.dev);
	CHECK(rig.n.tap_w.watched && !interest()); /* registered, not polled yet */
	fd_bring_up(&rig.f, VIRTIO_ID_NET, features, 2, QSIZE);
}

static void setup(uint64_t features)
{
	struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "tap0"};

	setup_cfg(&cfg, features);
}

static void teardown(void)
{
	virtio_net_destroy(&rig.n);
	close(rig.peer);
	fd_destroy(&rig.f);
}

/* The entry points run with dev.lock held (the VM glue takes it). */
static void run_rx(void)
{
	pthread_mutex_lock(&rig.n.dev.lock);
	virtio_net_rx(&rig.n);
	pthread_mutex_unlock(&rig.n.dev.lock);
}

static void run_retry(void)
{
	pthread_mutex_lock(&rig.n.dev.lock);
	virtio_net_retry(&rig.n);
	pthread_mutex_unlock(&rig.n.dev.lock);
}

/* Fills @len bytes at @p with a pattern seeded by @seed. */
static void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
}

/* A frame as the TAP hands it over: a 12-byte header (flags @flags) and @len frame bytes. */
static size_t make_packet(uint8_t *buf, size_t len, unsigned int seed, uint8_t flags)
{
	memset(buf, 0, HDR);
	buf[0] = flags;
	buf[10] = 0xee; /* the TAP leaves num_buffers alone: the device must write it */
	buf[11] = 0xee;
	pattern(buf + HDR, len, seed);
	return HDR + len;
}

static void peer_send(const uint8_t *buf, size_t len)
{
	CHECK_EQ(send(rig.peer, buf, len, 0), (ssize_t)len);
}

/* Posts one receive chain of @n writable buffers of @len bytes each at @gpa. */
static uint16_t post_rx(uint64_t gpa, uint32_t len, unsigned int n)
{
	struct fd_buf bufs[4];
	uint16_t head = rig.rx_head;

	for (unsigned int i = 0; i < n; i++)
		bufs[i] = (struct fd_buf){gpa + (uint64_t)i * len, len, true};
	fd_chain(&rig.f, RXQ, head, n, bufs);
	fd_post(&rig.f, RXQ, head);
	rig.rx_head = (uint16_t)((head + n) % QSIZE);
	return head;
}

/* Posts one transmit chain: the header in one buffer, the frame (@len bytes) in another. */
static uint16_t post_tx(uint64_t gpa, uint32_t len, unsigned int seed)
{
	struct fd_buf bufs[2] = {{gpa, HDR, false}, {gpa + 0x100, len, false}};
	uint16_t head = rig.tx_head;

	memset(fd_at(&rig.f, gpa), 0, HDR);
	fd_at(&rig.f, gpa)[0] = 1; /* NEEDS_CSUM: passed through untouched */
	pattern(fd_at(&rig.f, gpa + 0x100), len, seed);
	fd_chain(&rig.f, TXQ, head, 2, bufs);
	fd_post(&rig.f, TXQ, head);
	rig.tx_head = (uint16_t)((head + 2) % QSIZE);
	return head;
}

static ssize_t peer_recv(uint8_t *buf, size_t len)
{
	return recv(rig.peer, buf, len, MSG_DONTWAIT);
}

static uint16_t num_buffers(uint64_t gpa)
{
	return fd_get16(&rig.f, gpa + 10);
}

TEST(features_and_config_space)
{
	struct net_config cfg = {.iface_id = "eth0",
				 .host_dev_name = "tap0",
				 .has_guest_mac = true,
				 .has_mtu = true,
				 .mtu = 1400};
	uint64_t feat;
	uint8_t c[16];
	uint16_t v16;

	memcpy(cfg.guest_mac, test_mac, 6);
	setup_cfg(&cfg, 0);
	feat = fd_device_features(&rig.f);
	CHECK(feat & F(VIRTIO_F_VERSION_1));
	CHECK(feat & F(VIRTIO_F_RING_EVENT_IDX));
	CHECK(feat & F(VIRTIO_NET_F_CSUM));
	CHECK(feat & F(VIRTIO_NET_F_GUEST_CSUM));
	CHECK(feat & F(VIRTIO_NET_F_GUEST_TSO4));
	CHECK(feat & F(VIRTIO_NET_F_GUEST_TSO6));
	CHECK(feat & F(VIRTIO_NET_F_GUEST_UFO));
	CHECK(feat & F(VIRTIO_NET_F_HOST_TSO4));
	CHECK(feat & F(VIRTIO_NET_F_HOST_TSO6));
	CHECK(feat & F(VIRTIO_NET_F_HOST_UFO));
	CHECK(feat & F(VIRTIO_NET_F_MRG_RXBUF));
	CHECK(feat & F(VIRTIO_NET_F_MAC));
	CHECK(feat & F(VIRTIO_NET_F_MTU));
	CHECK(!(feat & F(VIRTIO_NET_F_STATUS)));
	CHECK_EQ(rig.n.dev.ops->device_id, VIRTIO_ID_NET);

	memset(c, 0xff, sizeof(c));
	fd_cfg_read(&rig.f, 0, c, 6);
	CHECK(!memcmp(c, test_mac, 6));
	fd_cfg_read(&rig.f, 3, c, 1); /* any width, any offset */
	CHECK_EQ(c[0], 0x10);
	fd_cfg_read(&rig.f, VIRTIO_NET_CFG_MTU, &v16, 2);
	CHECK_EQ(v16, 1400);
	fd_cfg_read(&rig.f, VIRTIO_NET_CFG_MAX_PAIRS, &v16, 2);
	CHECK_EQ(v16, 1);
	fd_cfg_read(&rig.f, 8, c, 8); /* runs past the end: zeros there */
	CHECK_EQ(c[4], 0);
	CHECK_EQ(c[7], 0);
	fd_cfg_read(&rig.f, 64, c, 4);
	CHECK_EQ(c[0] | c[1] | c[2] | c[3], 0);

	/* Writes are refused: the MAC stays. */
	c[0] = 0x42;
	virtio_mmio_io(&rig.n.dev, VIRTIO_MMIO_CONFIG, c, 1, true);
	fd_cfg_read(&rig.f, 0, c, 6);
	CHECK(!memcmp(c, test_mac, 6));
	CHECK_EQ(rig.n.dev.cfg_fails, 1);
	teardown();

	/* Without guest_mac and mtu: neither feature, and the MAC reads zero. */
	setup(0);
	feat = fd_device_features(&rig.f);
	CHECK(!(feat & F(VIRTIO_NET_F_MAC)));
	CHECK(!(feat & F(VIRTIO_NET_F_MTU)));
	fd_cfg_read(&rig.f, 0, c, 6);
	CHECK_EQ(c[0] | c[1] | c[2] | c[3] | c[4] | c[5], 0);
	teardown();
}

TEST(activation_watches_backend_and_sets_offloads)
{
	setup(0);
	CHECK(interest()); /* activated: frames may come in */
	CHECK_EQ(rig.n.tap_offloads, 0);
	teardown();

	setup(F(VIRTIO_NET_F_GUEST_CSUM) | F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_UFO));
	CHECK_EQ(rig.n.tap_offloads, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_UFO);
	teardown();

	/* TSO without GUEST_CSUM (the spec forbids it): the TAP gets no offloads. */
	setup(F(VIRTIO_NET_F_GUEST_TSO4));
	CHECK_EQ(rig.n.tap_offloads, 0);
	/* A reset stops reading the backend. */
	fd_wr(&rig.f, VIRTIO_MMIO_STATUS, 0);
	CHECK(!interest());
	teardown();
}

TEST(tx_frame_reaches_backend)
{
	uint8_t got[2048], want[HDR + 60];
	uint32_t id, len;
	uint16_t head;

	setup(0);
	head = post_tx(TXBUF, 60, 1);
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	fd_used(&rig.f, TXQ, 0, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, 0);
	CHECK_EQ(rig.f.host.interrupts, 1);
	/* One datagram: the guest's 12-byte header as is, then the frame. */
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
	memset(want, 0, HDR);
	want[0] = 1;
	pattern(want + HDR, 60, 1);
	CHECK(!memcmp(got, want, sizeof(want)));
	CHECK_EQ(peer_recv(got, sizeof(got)), -1);
	CHECK_EQ(rig.n.m.tx_packets_count, 1);
	CHECK_EQ(rig.n.m.tx_bytes_count, 60);
	CHECK_EQ(rig.n.m.tx_queue_event_count, 1);

	/* A batch: three frames, one interrupt. */
	for (unsigned int i = 0; i < 3; i++)
		post_tx(TXBUF + 0x1000 * (i + 1), 100 + i, 2 + i);
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 4);
	CHECK_EQ(rig.f.host.interrupts, 2);
	for (unsigned int i = 0; i < 3; i++) {
		CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 100 + i);
		pattern(want + HDR, 60, 2 + i);
		CHECK(!memcmp(got + HDR, want + HDR, 60));
	}
	CHECK_EQ(rig.n.m.tx_packets_count, 4);
	teardown();
}

TEST(tx_malformed_chains_are_dropped)
{
	uint8_t got[2048];
	uint32_t id, len;

	setup(0);
	/* Readable then writable: a transmit chain has no device-writable part. */
	fd_chain(&rig.f, TXQ, 0, 2,
		 (struct fd_buf[]){{TXBUF, HDR + 60, false}, {TXBUF + 0x1000, 64, true}});
	fd_post(&rig.f, TXQ, 0);
	/* Larger than 65562 bytes. */
	fd_chain(&rig.f, TXQ, 2, 2,
		 (struct fd_buf[]){{TXBUF, HDR, false}, {TXBUF + 0x1000, 65551, false}});
	fd_post(&rig.f, TXQ, 2);
	/* Only a header (no Ethernet header behind it). */
	fd_chain(&rig.f, TXQ, 4, 1, (struct fd_buf[]){{TXBUF, HDR, false}});
	fd_post(&rig.f, TXQ, 4);
	/* A buffer outside guest memory: malformed for the virtqueue already. */
	fd_chain(&rig.f, TXQ, 5, 1, (struct fd_buf[]){{(4 << 20) - 16, 64, false}});
	fd_post(&rig.f, TXQ, 5);
	rig.tx_head = 6;
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 4);
	for (uint16_t k = 0; k < 4; k++) {
		fd_used(&rig.f, TXQ, k, &id, &len);
		CHECK_EQ(len, 0);
	}
	CHECK_EQ(rig.n.m.tx_malformed_frames, 3);
	CHECK_EQ(rig.n.dev.event_fails, 1);
	CHECK_EQ(peer_recv(got, sizeof(got)), -1); /* nothing reached the backend */
	CHECK_EQ(rig.f.host.interrupts, 1);

	/* Exactly 65562 bytes is fine, and the device goes on. */
	fd_chain(&rig.f, TXQ, 6, 2,
		 (struct fd_buf[]){{TXBUF, HDR, false}, {TXBUF + 0x1000, 65550, false}});
	fd_post(&rig.f, TXQ, 6);
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 5);
	{
		static uint8_t big[70000];

		CHECK_EQ(peer_recv(big, sizeof(big)), 65562);
	}
	CHECK_EQ(rig.n.m.tx_packets_count, 1);
	CHECK(!(fd_rd(&rig.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	teardown();
}

TEST(rx_frame_lands_in_guest_buffer)
{
	uint8_t pkt[2048];
	size_t plen;
	uint32_t id, len;
	uint16_t head;

	setup(0);
	head = post_rx(RXBUF, 1526, 1);
	fd_notify(&rig.f, RXQ); /* no frame yet: nothing happens, the backend stays watched */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 0);
	CHECK(interest());

	plen = make_packet(pkt, 100, 7, VIRTIO_NET_HDR_F_DATA_VALID);
	peer_send(pkt, plen);
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, HDR + 100);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + HDR), pkt + HDR, 100));
	CHECK_EQ(num_buffers(RXBUF), 1); /* 1 without MRG_RXBUF too (virtio 1.x) */
	/* Without GUEST_CSUM the DATA_VALID flag is cleared. */
	CHECK_EQ(fd_at(&rig.f, RXBUF)[0], 0);
	CHECK_EQ(rig.f.host.interrupts, 1);
	CHECK_EQ(rig.n.m.rx_packets_count, 1);
	CHECK_EQ(rig.n.m.rx_bytes_count, 100);
	CHECK(!interest()); /* no buffer left: the backend waits for the next rx notification */

	/* Header and frame in separate descriptors of one chain. */
	{
		struct fd_buf bufs[2] = {{RXBUF + 0x1000, HDR, true}, {RXBUF + 0x2000, 1514, true}};

		fd_chain(&rig.f, RXQ, 5, 2, bufs);
		fd_post(&rig.f, RXQ, 5);
	}
	plen = make_packet(pkt, 1514, 8, 0);
	peer_send(pkt, plen);
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	fd_used(&rig.f, RXQ, 1, &id, &len);
	CHECK_EQ(id, 5);
	CHECK_EQ(len, HDR + 1514);
	CHECK_EQ(num_buffers(RXBUF + 0x1000), 1);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x2000), pkt + HDR, 1514));
	teardown();
}

TEST(rx_guest_csum_keeps_flags)
{
	uint8_t pkt[256];

	setup(F(VIRTIO_NET_F_GUEST_CSUM));
	post_rx(RXBUF, 1526, 1);
	peer_send(pkt, make_packet(pkt, 64, 1, VIRTIO_NET_HDR_F_DATA_VALID));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	CHECK_EQ(fd_at(&rig.f, RXBUF)[0], VIRTIO_NET_HDR_F_DATA_VALID);
	teardown();
}

TEST(rx_mrg_rxbuf_spans_two_buffers)
{
	uint8_t pkt[2048];
	uint32_t id, len;
	uint16_t h0, h1;

	setup(F(VIRTIO_NET_F_MRG_RXBUF));
	h0 = post_rx(RXBUF, 1024, 1);
	h1 = post_rx(RXBUF + 0x1000, 1024, 1);
	peer_send(pkt, make_packet(pkt, 1500, 3, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(id, h0);
	CHECK_EQ(len, 1024);
	fd_used(&rig.f, RXQ, 1, &id, &len);
	CHECK_EQ(id, h1);
	CHECK_EQ(len, HDR + 1500 - 1024);
	CHECK_EQ(num_buffers(RXBUF), 2);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + HDR), pkt + HDR, 1024 - HDR));
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x1000), pkt + 1024, HDR + 1500 - 1024));
	CHECK_EQ(rig.f.host.interrupts, 1);
	CHECK_EQ(rig.n.m.rx_packets_count, 1);

	/* A small frame takes one buffer: num_buffers 1. */
	post_rx(RXBUF + 0x2000, 1024, 1);
	peer_send(pkt, make_packet(pkt, 80, 4, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 3);
	CHECK_EQ(num_buffers(RXBUF + 0x2000), 1);
	teardown();
}

TEST(rx_mrg_waits_for_the_next_buffer)
{
	uint8_t pkt[4096];
	uint32_t id, len;

	setup(F(VIRTIO_NET_F_MRG_RXBUF));
	post_rx(RXBUF, 1024, 1);
	peer_send(pkt, make_packet(pkt, 3000, 5, 0));
	run_rx();
	/* Read, but held: nothing published until the whole frame has buffers. */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 0);
	CHECK_EQ(rig.n.m.no_rx_avail_buffer, 1);
	CHECK(!interest());
	CHECK(rig.n.rx.active);

	post_rx(RXBUF + 0x1000, 1024, 1);
	fd_notify(&rig.f, RXQ); /* still one short */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 0);
	post_rx(RXBUF + 0x2000, 2048, 1);
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 3);
	fd_used(&rig.f, RXQ, 2, &id, &len);
	CHECK_EQ(len, HDR + 3000 - 2048);
	CHECK_EQ(num_buffers(RXBUF), 3);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x2000), pkt + 2048, HDR + 3000 - 2048));
	CHECK(!interest()); /* every buffer used */
	teardown();
}

/* A fresh device over a new backend (a restore reopens the TAP), restored from @snap. */
static int restore_fresh(struct fd_snap *snap)
{
	struct net_config cfg = {.iface_id = "eth0", .host_dev_name = "tap0"};
	int sv[2];

	virtio_net_destroy(&rig.n);
	close(rig.peer);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	rig.peer = sv[1];
	CHECK_EQ(virtio_net_init(&rig.n, &cfg, sv[0], false, fd_host_ops(), &rig.f.host, &rig.f.gm),
		 0);
	rig.f.host.run_pending = false;
	return virtio_dev_restore(&rig.n.dev, &snap->f, 0);
}

/*
 * A frame half received is dropped at the snapshot (its chain given back
 * empty); the restored device reads its new backend, sends what the guest
 * posted before the snapshot, and receives into the same ring.
 */
TEST(snapshot_round_trip)
{
	uint8_t pkt[4096], got[4096];
	struct fd_snap snap;
	uint32_t id, len;

	setup(F(VIRTIO_NET_F_MRG_RXBUF));
	post_rx(RXBUF, 1024, 1);
	peer_send(pkt, make_packet(pkt, 3000, 5, 0));
	run_rx();
	CHECK(rig.n.rx.active);
	post_tx(TXBUF, 100, 9); /* posted, not notified */
	fd_snap_save(&snap, &rig.n.dev);
	CHECK(!rig.n.rx.active);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(len, 0);

	CHECK_EQ(restore_fresh(&snap), 0);
	CHECK(rig.n.dev.activated);
	CHECK(interest());
	CHECK(rig.f.host.run_pending);
	fh_run(&rig.f.host);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 100);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	post_rx(RXBUF + 0x1000, 2048, 1);
	post_rx(RXBUF + 0x2000, 2048, 1);
	fd_notify(&rig.f, RXQ);
	peer_send(pkt, make_packet(pkt, 3000, 6, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 3);
	CHECK_EQ(num_buffers(RXBUF + 0x1000), 2);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x1000 + HDR), pkt + HDR, 2048 - HDR));
	fd_snap_free(&snap);
	teardown();
}

/* A restored bucket that limits with size 0 is refused. */
TEST(snapshot_bad_limiter_refused)
{
	struct fd_snap snap;
	uint8_t *p;
	size_t off;

	setup(0);
	fd_snap_save(&snap, &rig.n.dev);
	/* The transport (41 bytes), two queues (37 each), then the rx limiter's first bucket. */
	off = 41 + 2 * 37;
	p = fd_snap_section(&snap) + off;
	CHECK_EQ(*p, 0);
	*p = 1; /* limits, with size 0 */
	CHECK_EQ(restore_fresh(&snap), -EINVAL);
	*p = 2; /* not a bool */
	CHECK_EQ(restore_fresh(&snap), -EINVAL);
	*p = 0;
	CHECK_EQ(restore_fresh(&snap), 0);
	fd_snap_free(&snap);
	teardown();
}

TEST(rx_without_buffers_waits_then_delivers)
{
	uint8_t pkt[256];
	uint32_t id, len;

	setup(0);
	peer_send(pkt, make_packet(pkt, 64, 9, 0));
	peer_send(pkt, make_packet(pkt, 65, 10, 0));
	run_rx(); /* the TAP is readable, the guest has no buffer */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 0);
	CHECK_EQ(rig.n.m.no_rx_avail_buffer, 1);
	CHECK(!interest()); /* stop reading the backend: the frames wait there */
	CHECK_EQ(rig.n.m.rx_count, 0);

	post_rx(RXBUF, 1526, 1);
	fd_notify(&rig.f, RXQ); /* the guest's notification resumes */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(len, HDR + 64);
	CHECK(!interest()); /* the second frame waits for the next buffer */

	post_rx(RXBUF + 0x1000, 1526, 1);
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	fd_used(&rig.f, RXQ, 1, &id, &len);
	CHECK_EQ(len, HDR + 65);
	pattern(pkt, 65, 10);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x1000 + HDR), pkt, 65));
	CHECK_EQ(rig.n.m.rx_fails, 0);
	teardown();
}

TEST(rx_too_big_without_mrg_is_dropped)
{
	static uint8_t pkt[70000];
	uint32_t id, len;
	uint16_t head;

	setup(0);
	head = post_rx(RXBUF, 1526, 1);
	peer_send(pkt, make_packet(pkt, 2000, 1, 0));
	peer_send(pkt, make_packet(pkt, 100, 2, 0));
	run_rx();
	/* The big one is dropped; the same chain takes the next frame. */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(id, head);
	CHECK_EQ(len, HDR + 100);
	CHECK_EQ(rig.n.m.rx_fails, 1);

	/* A 64 KiB frame fits a 65562-byte buffer (GUEST_TSO drivers post those). */
	post_rx(RXBUF + 0x10000, VIRTIO_NET_MAX_BUFFER, 1);
	peer_send(pkt, make_packet(pkt, VIRTIO_NET_MAX_BUFFER - HDR, 3, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	fd_used(&rig.f, RXQ, 1, &id, &len);
	CHECK_EQ(len, VIRTIO_NET_MAX_BUFFER);
	CHECK(
	    !memcmp(fd_at(&rig.f, RXBUF + 0x10000 + HDR), pkt + HDR, VIRTIO_NET_MAX_BUFFER - HDR));
	teardown();
}

TEST(rx_malformed_chains_are_refused)
{
	uint8_t pkt[256];
	uint32_t id, len;

	setup(0);
	/* A device-readable buffer, and a chain shorter than the header. */
	fd_chain(&rig.f, RXQ, 0, 1, (struct fd_buf[]){{RXBUF, 1526, false}});
	fd_post(&rig.f, RXQ, 0);
	fd_chain(&rig.f, RXQ, 1, 1, (struct fd_buf[]){{RXBUF, 8, true}});
	fd_post(&rig.f, RXQ, 1);
	rig.rx_head = 2;
	post_rx(RXBUF + 0x1000, 1526, 1);
	peer_send(pkt, make_packet(pkt, 64, 1, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 3);
	fd_used(&rig.f, RXQ, 0, &id, &len);
	CHECK_EQ(len, 0);
	fd_used(&rig.f, RXQ, 1, &id, &len);
	CHECK_EQ(len, 0);
	fd_used(&rig.f, RXQ, 2, &id, &len);
	CHECK_EQ(id, 2);
	CHECK_EQ(len, HDR + 64);
	CHECK_EQ(rig.n.dev.event_fails, 2);
	teardown();
}

TEST(rx_work_is_bounded)
{
	uint8_t pkt[256];

	setup(0);
	for (unsigned int i = 0; i < 150; i++) {
		post_rx(RXBUF + 0x800ULL * i, 1526, 1);
		peer_send(pkt, make_packet(pkt, 60, i, 0));
	}
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), VIRTIO_NET_RX_BUDGET);
	CHECK(interest()); /* the backend is still readable: the event loop calls again */
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 150);
	CHECK_EQ(rig.f.host.interrupts, 2);
	CHECK_EQ(rig.n.m.rx_packets_count, 150);
	teardown();
}

TEST(tx_rate_limiter_throttles)
{
	struct rate_limiter_config tx = {.has_ops = true,
					 .ops = {.size = 1, .refill_time_ms = 1000}};
	uint8_t got[256];

	setup(0);
	virtio_net_set_rate_limiters(&rig.n, NULL, &tx);
	post_tx(TXBUF, 60, 1);
	post_tx(TXBUF + 0x1000, 61, 2);
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	CHECK_EQ(rig.n.m.tx_rate_limiter_throttled, 1);
	CHECK_EQ(rig.f.host.schedules, 1);
	CHECK(rig.f.host.last_delay > 0 && rig.f.host.last_delay <= 1000000000ULL);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
	CHECK_EQ(peer_recv(got, sizeof(got)), -1);

	/* A notification while throttled changes nothing. */
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	CHECK_EQ(rig.n.m.tx_rate_limiter_throttled, 1);

	/* Too early: throttled again. */
	rig.f.host.now += rig.f.host.last_delay / 2;
	run_retry();
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	CHECK_EQ(rig.n.m.tx_rate_limiter_throttled, 2);

	rig.f.host.now += 1000000000ULL;
	run_retry();
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 2);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 61);
	CHECK_EQ(rig.n.m.tx_rate_limiter_event_count, 2);
	CHECK_EQ(rig.n.m.tx_packets_count, 2);
	teardown();
}

TEST(tx_rate_limiter_bytes)
{
	struct rate_limiter_config tx = {.has_bandwidth = true,
					 .bandwidth = {.size = 100, .refill_time_ms = 100}};
	uint8_t got[256];

	setup(0);
	virtio_net_set_rate_limiters(&rig.n, NULL, &tx);
	post_tx(TXBUF, 60, 1);
	post_tx(TXBUF + 0x1000, 60, 2); /* 120 bytes > 100 */
	fd_notify(&rig.f, TXQ);
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 1);
	CHECK_EQ(rig.n.m.tx_rate_limiter_throttled, 1);
	rig.f.host.now += 100000000ULL;
	run_retry();
	CHECK_EQ(fd_used_idx(&rig.f, TXQ), 2);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
	CHECK_EQ(peer_recv(got, sizeof(got)), HDR + 60);
	teardown();
}

TEST(rx_rate_limiter_holds_frame)
{
	struct rate_limiter_config rx = {.has_ops = true,
					 .ops = {.size = 1, .refill_time_ms = 1000}};
	uint8_t pkt[256];

	setup(0);
	virtio_net_set_rate_limiters(&rig.n, &rx, NULL);
	post_rx(RXBUF, 1526, 1);
	post_rx(RXBUF + 0x1000, 1526, 1);
	peer_send(pkt, make_packet(pkt, 64, 1, 0));
	peer_send(pkt, make_packet(pkt, 64, 2, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	CHECK_EQ(rig.n.m.rx_rate_limiter_throttled, 1);
	CHECK(!interest()); /* no reading while throttled */
	CHECK_EQ(rig.f.host.schedules, 1);
	CHECK(rig.f.host.last_delay > 0);

	/* Buffers posted meanwhile do not bypass the limiter. */
	post_rx(RXBUF + 0x2000, 1526, 1);
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);

	rig.f.host.now += 1000000000ULL;
	run_retry();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 2);
	pattern(pkt, 64, 2);
	CHECK(!memcmp(fd_at(&rig.f, RXBUF + 0x1000 + HDR), pkt, 64));
	CHECK_EQ(rig.n.m.rx_event_rate_limiter_count, 1);
	CHECK_EQ(rig.n.m.rx_packets_count, 2);
	CHECK(interest());
	teardown();
}

TEST(reset_drops_held_frame)
{
	uint8_t pkt[4096];

	setup(F(VIRTIO_NET_F_MRG_RXBUF));
	post_rx(RXBUF, 1024, 1);
	peer_send(pkt, make_packet(pkt, 3000, 5, 0));
	run_rx();
	CHECK(rig.n.rx.active);
	fd_wr(&rig.f, VIRTIO_MMIO_STATUS, 0);
	CHECK(!rig.n.rx.active);
	CHECK(!interest());
	run_rx(); /* not running: nothing */
	/* A new bring-up works from a clean state. */
	fd_bring_up(&rig.f, VIRTIO_ID_NET, 0, 2, QSIZE);
	rig.rx_head = 0;
	post_rx(RXBUF, 1526, 1);
	peer_send(pkt, make_packet(pkt, 70, 6, 0));
	run_rx();
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	CHECK_EQ(num_buffers(RXBUF), 1);
	teardown();
}

TEST(corrupt_ring_needs_reset)
{
	setup(0);
	fd_set_avail_idx(&rig.f, TXQ, QSIZE + 1); /* more than the queue size ahead */
	fd_notify(&rig.f, TXQ);
	CHECK(fd_rd(&rig.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
	CHECK(!interest());
	run_rx(); /* ignored now */
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 0);
	teardown();
}

TEST(event_idx_rx)
{
	uint8_t pkt[256];

	setup(F(VIRTIO_F_RING_EVENT_IDX));
	CHECK(rig.n.dev.vqs[RXQ].event_idx);
	run_rx(); /* no buffer: asks the guest to notify for the next one (avail_event 0) */
	CHECK_EQ(fd_get16(&rig.f, FD_QUEUE_GPA(RXQ) + 0x2000 + 4 + 8 * QSIZE), 0);
	post_rx(RXBUF, 1526, 1);
	peer_send(pkt, make_packet(pkt, 64, 1, 0));
	fd_notify(&rig.f, RXQ);
	CHECK_EQ(fd_used_idx(&rig.f, RXQ), 1);
	CHECK_EQ(fd_get16(&rig.f, FD_QUEUE_GPA(RXQ) + 0x2000 + 4 + 8 * QSIZE), 1);
	teardown();
}

TEST(tap_open_errors_name_the_tap)
{
	char err[256] = "";
	int fd = 7;

	CHECK_EQ(net_tap_open("embnotap9", &fd, err, sizeof(err)), -ENODEV);
	CHECK_EQ(fd, -1);
	CHECK_CONTAINS(err, "embnotap9");
	CHECK_CONTAINS(err, "does not exist");
	CHECK_EQ(net_tap_open("a-name-much-too-long-for-linux", &fd, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "not an interface name");
	CHECK_EQ(net_tap_open("", &fd, err, sizeof(err)), -EINVAL);
}

TEST(bad_mtu_is_refused)
{
	struct net_config cfg = {.iface_id = "eth0", .has_mtu = true, .mtu = 67};
	static struct virtio_net n;
	int sv[2];

	CHECK_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	CHECK_EQ(virtio_net_init(&n, &cfg, sv[0], false, fd_host_ops(), NULL, NULL), -EINVAL);
	CHECK_EQ(n.fd, -1);	/* closed */
	virtio_net_destroy(&n); /* safe after a failed init */
	close(sv[1]);
}

TEST_MAIN(TEST_ENTRY(snapshot_round_trip), TEST_ENTRY(snapshot_bad_limiter_refused),
	  TEST_ENTRY(features_and_config_space),
	  TEST_ENTRY(activation_watches_backend_and_sets_offloads),
	  TEST_ENTRY(tx_frame_reaches_backend), TEST_ENTRY(tx_malformed_chains_are_dropped),
	  TEST_ENTRY(rx_frame_lands_in_guest_buffer), TEST_ENTRY(rx_guest_csum_keeps_flags),
	  TEST_ENTRY(rx_mrg_rxbuf_spans_two_buffers), TEST_ENTRY(rx_mrg_waits_for_the_next_buffer),
	  TEST_ENTRY(rx_without_buffers_waits_then_delivers),
	  TEST_ENTRY(rx_too_big_without_mrg_is_dropped),
	  TEST_ENTRY(rx_malformed_chains_are_refused), TEST_ENTRY(rx_work_is_bounded),
	  TEST_ENTRY(tx_rate_limiter_throttles), TEST_ENTRY(tx_rate_limiter_bytes),
	  TEST_ENTRY(rx_rate_limiter_holds_frame), TEST_ENTRY(reset_drops_held_frame),
	  TEST_ENTRY(corrupt_ring_needs_reset), TEST_ENTRY(event_idx_rx),
	  TEST_ENTRY(tap_open_errors_name_the_tap), TEST_ENTRY(bad_mtu_is_refused))
