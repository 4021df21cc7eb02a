// SPDX-License-Identifier: Apache-2.0
/*
 * virtio-vsock through its registers and rings (tests/unit/virtio_fake_driver.h),
 * with real Unix sockets in a temporary directory, watched through the fake
 * host (virtio_fake_host.h) that the test pumps by hand (epoll_wait on its
 * watched fds, their handlers, then the device's run when due): host clients
 * connect to uds_path, listeners serve "<uds_path>_<port>", and the test plays
 * the guest driver on the rx, tx and event queues. The clock is the fake
 * host's, moved by hand.
 */
#include "test.h"
#include "virtio_fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "devices/virtio/vsock.h"

#define RAM	    (8ULL << 20)
#define QS	    16
#define CID	    3
#define RX_LEN	    (VSOCK_HDR_SIZE + 4096)
#define RX_GPA(i)   (FD_BUF_GPA + 0x1100ULL * (i))	    /* 256 of them: up to 0x211000 */
#define TX_GPA(i)   (0x300000ULL + 0x10100ULL * ((i) % QS)) /* 64 KiB + header each */
#define HOST_PORT0  VSOCK_HOST_PORT_FIRST
#define GUEST_BUF   (64 * 1024) /* the guest's buf_alloc unless a test says otherwise */
#define WAIT_ROUNDS 300		/* pump rounds of 10 ms */

struct rig {
	bool live;
	struct fake_driver f; /* f.host: the device's host */
	struct virtio_vsock v;
	char dir[40];
	char uds[64];
	uint16_t qsize;
	uint16_t rx_seen;  /* rx used entries consumed */
	uint16_t tx_count; /* tx chains posted */
};

static struct rig R; /* big (the device holds chains): not on the stack */
static struct virtio_vsock other;
static struct fake_host other_host; /* another device, another host */

struct pkt {
	struct virtio_vsock_hdr h;
	uint32_t len; /* payload bytes */
	uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
};

static struct pkt P;

/* One round of the host: waits up to @ms for events, runs their handlers, then a due run. */
static int pump(int ms)
{
	return fh_pump(&R.f.host, ms);
}

static void pump_idle(void)
{
	for (int i = 0; i < 5; i++)
		pump(5);
}

static void rx_post(uint16_t head)
{
	fd_chain(&R.f, VSOCK_QUEUE_RX, head, 1, &(struct fd_buf){RX_GPA(head), RX_LEN, true});
	fd_post(&R.f, VSOCK_QUEUE_RX, head);
}

static void rig_cleanup(void)
{
	char path[256];

	if (!R.live)
		return;
	R.live = false;
	virtio_vsock_destroy(&R.v);
	fd_destroy(&R.f);
	for (int p = 0; p < 100; p++) {
		snprintf(path, sizeof(path), "%s/v.sock_%d", R.dir, p);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/v.sock", R.dir);
	unlink(path);
	rmdir(R.dir);
}

static void bring_up(uint16_t qsize)
{
	R.qsize = qsize;
	R.rx_seen = 0;
	R.tx_count = 0;
	fd_bring_up(&R.f, VIRTIO_ID_VSOCK, 0, 3, qsize);
	for (uint16_t i = 0; i < qsize; i++)
		rx_post(i);
	fd_notify(&R.f, VSOCK_QUEUE_RX);
}

static void setup_q(uint16_t qsize)
{
	struct vsock_config cfg = {.present = true, .guest_cid = CID};

	rig_cleanup();
	memset(&R, 0, sizeof(R));
	snprintf(R.dir, sizeof(R.dir), "/tmp/ember-vsock.XXXXXX");
	if (!mkdtemp(R.dir))
		FAIL_AT("mkdtemp: %s", strerror(errno));
	snprintf(R.uds, sizeof(R.uds), "%s/v.sock", R.dir);
	cfg.uds_path = R.uds;
	fd_init(&R.f, RAM); /* the fake host's clock: 1 s */
	R.live = true;
	CHECK_EQ(virtio_vsock_init(&R.v, &cfg, fd_host_ops(), &R.f.host, &R.f.gm), 0);
	fd_attach(&R.f, &R.v.dev);
	CHECK_EQ(R.f.host.nr_watches, 1); /* the listener */
	bring_up(qsize);
	pump_idle(); /* the activation kick */
}

static void setup(void)
{
	setup_q(QS);
}

/* --- the guest's side --- */

/* The next packet the device put on the rx queue, if any (its buffer is posted again). */
static bool rx_next(struct pkt *p)
{
	uint32_t id, len;

	if (fd_used_idx(&R.f, VSOCK_QUEUE_RX) == R.rx_seen)
		return false;
	fd_used(&R.f, VSOCK_QUEUE_RX, R.rx_seen, &id, &len);
	R.rx_seen++;
	CHECK(id < R.qsize);
	CHECK(len >= VSOCK_HDR_SIZE);
	CHECK(len <= RX_LEN);
	memcpy(&p->h, fd_at(&R.f, RX_GPA(id)), VSOCK_HDR_SIZE);
	p->len = len - VSOCK_HDR_SIZE;
	CHECK_EQ(p->h.len, p->len);
	memcpy(p->data, fd_at(&R.f, RX_GPA(id) + VSOCK_HDR_SIZE), p->len);
	CHECK_EQ(p->h.src_cid, VSOCK_HOST_CID);
	CHECK_EQ(p->h.dst_cid, CID);
	CHECK_EQ(p->h.type, VSOCK_TYPE_STREAM);
	rx_post((uint16_t)id);
	fd_notify(&R.f, VSOCK_QUEUE_RX);
	return true;
}

/* Waits (pumping the loop) for the next rx packet. */
static void rx_wait(struct pkt *p)
{
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		if (rx_next(p))
			return;
		pump(10);
	}
	FAIL_AT("no packet from the device");
}

static void rx_expect(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	rx_wait(&P);
	if (P.h.op != op || P.h.src_port != src_port || P.h.dst_port != dst_port)
		FAIL_AT("got op %u %u -> %u, expected op %u %u -> %u", P.h.op, P.h.src_port,
			P.h.dst_port, op, src_port, dst_port);
}

static void rx_none(void)
{
	pump_idle();
	if (rx_next(&P))
		FAIL_AT("unexpected packet: op %u %u -> %u len %u", P.h.op, P.h.src_port,
			P.h.dst_port, P.len);
}

/* Posts one tx chain made of @n buffers and notifies; checks the device consumed it. */
static void tx_chain(unsigned int n, const struct fd_buf *bufs)
{
	uint16_t head = (uint16_t)((R.tx_count * 4) % R.qsize);
	uint16_t used = fd_used_idx(&R.f, VSOCK_QUEUE_TX);

	R.tx_count++;
	fd_chain(&R.f, VSOCK_QUEUE_TX, head, n, bufs);
	fd_post(&R.f, VSOCK_QUEUE_TX, head);
	fd_notify(&R.f, VSOCK_QUEUE_TX);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_TX), (uint16_t)(used + 1));
}

/* A packet from the guest: header (the fields given) + payload in one buffer. */
static void tx_full(uint64_t src_cid, uint64_t dst_cid, uint16_t type, uint16_t op,
		    uint32_t src_port, uint32_t dst_port, const void *data, uint32_t len,
		    uint32_t flags, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	struct virtio_vsock_hdr h = {src_cid, dst_cid, src_port, dst_port,  len,
				     type,    op,      flags,	 buf_alloc, fwd_cnt};
	uint64_t gpa = TX_GPA(R.tx_count);

	memcpy(fd_at(&R.f, gpa), &h, sizeof(h));
	if (len)
		memcpy(fd_at(&R.f, gpa + VSOCK_HDR_SIZE), data, len);
	tx_chain(1, &(struct fd_buf){gpa, VSOCK_HDR_SIZE + len, false});
}

static void tx(uint16_t op, uint32_t src_port, uint32_t dst_port, const void *data, uint32_t len,
	       uint32_t fwd_cnt)
{
	tx_full(CID, VSOCK_HOST_CID, VSOCK_TYPE_STREAM, op, src_port, dst_port, data, len, 0,
		GUEST_BUF, fwd_cnt);
}

static void tx_flags(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags)
{
	tx_full(CID, VSOCK_HOST_CID, VSOCK_TYPE_STREAM, op, src_port, dst_port, NULL, 0, flags,
		GUEST_BUF, 0);
}

/* --- the host's side --- */

static int unix_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct timeval tv = {2, 0};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		FAIL_AT("connect %s: %s", path, strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static int unix_listen(int port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	CHECK(fd >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%d", R.uds, port);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0)
		FAIL_AT("listen %s: %s", sa.sun_path, strerror(errno));
	return fd;
}

static int accept_one(int lfd)
{
	struct timeval tv = {2, 0};
	int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

	CHECK(fd >= 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
	CHECK_EQ(send(fd, data, len, MSG_NOSIGNAL), (long long)len);
}

/* Reads exactly @len bytes (the device writes synchronously: no pumping needed). */
static void recv_exact(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, 0);

		if (n <= 0)
			FAIL_AT("recv: %s after %zu of %zu bytes", n ? strerror(errno) : "EOF", got,
				len);
		got += (size_t)n;
	}
}

static void recv_str(int fd, const char *want)
{
	char buf[128];
	size_t len = strlen(want);

	CHECK(len < sizeof(buf));
	recv_exact(fd, buf, len);
	buf[len] = '\0';
	CHECK_STR(buf, want);
}

/* Pumps until the device closed @fd's peer: recv() returns 0. */
static void expect_eof(int fd)
{
	for (int i = 0; i < WAIT_ROUNDS; i++) {
		char c;
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return;
		if (n > 0)
			FAIL_AT("data (0x%02x) instead of EOF", c);
		pump(10);
	}
	FAIL_AT("the device did not close the socket");
}

/* A host-initiated connection to guest port @port, accepted: returns the client fd. */
static int host_connect(uint32_t port, uint32_t expect_host_port, uint32_t guest_buf)
{
	char line[64];
	int c = unix_connect(R.uds);

	snprintf(line, sizeof(line), "CONNECT %u\n", port);
	send_all(c, line, strlen(line));
	rx_expect(VSOCK_OP_REQUEST, expect_host_port, port);
	CHECK_EQ(P.h.len, 0);
	CHECK_EQ(P.h.buf_alloc, VSOCK_CONN_BUF_SIZE);
	CHECK_EQ(P.h.fwd_cnt, 0);
	tx_full(CID, VSOCK_HOST_CID, VSOCK_TYPE_STREAM, VSOCK_OP_RESPONSE, port, expect_host_port,
		NULL, 0, 0, guest_buf, 0);
	snprintf(line, sizeof(line), "OK %u\n", expect_host_port);
	recv_str(c, line);
	return c;
}

/* --- tests --- */

#define EV_GPA 0x2c0000ULL /* the event queue's buffer */

/* The device rebuilt from its configuration (a new process's: a new listener), restored. */
static int restore_fresh(struct fd_snap *snap)
{
	struct vsock_config cfg = {.present = true, .guest_cid = CID, .uds_path = R.uds};

	virtio_vsock_destroy(&R.v);
	CHECK_EQ(virtio_vsock_init(&R.v, &cfg, fd_host_ops(), &R.f.host, &R.f.gm), 0);
	R.f.host.run_pending = false;
	return virtio_dev_restore(&R.v.dev, &snap->f, 0);
}

/*
 * As Firecracker: no connection survives; the guest gets TRANSPORT_RESET on
 * the event queue; the listener is there again and the rings go on.
 */
TEST(snapshot_resets_transport)
{
	struct fd_snap snap;
	uint32_t id, len;
	int c, irqs;

	setup();
	memset(fd_at(&R.f, EV_GPA), 0xee, 8);
	fd_chain(&R.f, VSOCK_QUEUE_EVENT, 0, 1, &(struct fd_buf){EV_GPA, 8, true});
	fd_post(&R.f, VSOCK_QUEUE_EVENT, 0);
	fd_notify(&R.f, VSOCK_QUEUE_EVENT);
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	CHECK_EQ(R.v.nr_conns, 1);
	fd_snap_save(&snap, &R.v.dev);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_EVENT), 0); /* the running VM is not disturbed */

	irqs = R.f.host.interrupts;
	CHECK_EQ(restore_fresh(&snap), 0);
	CHECK_EQ(R.v.nr_conns, 0);
	expect_eof(c); /* the old process's connection is gone */
	close(c);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_EVENT), 1);
	fd_used(&R.f, VSOCK_QUEUE_EVENT, 0, &id, &len);
	CHECK_EQ(id, 0);
	CHECK_EQ(len, 4);
	CHECK_EQ(fd_get32(&R.f, EV_GPA), 0); /* VIRTIO_VSOCK_EVENT_TRANSPORT_RESET */
	CHECK_EQ(fd_at(&R.f, EV_GPA)[4], 0xee);
	CHECK_EQ(R.f.host.interrupts, irqs + 1);
	CHECK(R.f.host.run_pending);
	pump_idle();
	/*
	 * A new client: its REQUEST waits until the driver took the event (it posts
	 * the buffer again), or Linux would reset the connection with the event.
	 */
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 53\n", 11);
	rx_none();
	CHECK_EQ(R.v.nr_conns, 1);
	fd_post(&R.f, VSOCK_QUEUE_EVENT, 0);
	fd_notify(&R.f, VSOCK_QUEUE_EVENT);
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 53);
	tx(VSOCK_OP_RST, 53, HOST_PORT0, NULL, 0, 0);
	expect_eof(c);
	close(c);
	/* Then through the listener at the same path, on the same rings, as before. */
	c = host_connect(54, HOST_PORT0 + 1, GUEST_BUF);
	send_all(c, "ping", 4);
	rx_expect(VSOCK_OP_RW, HOST_PORT0 + 1, 54);
	CHECK(!memcmp(P.data, "ping", 4));
	close(c);
	fd_snap_free(&snap);
	rig_cleanup();
}

/* A driver that never takes the reset event holds the rx queue for VSOCK_RESET_HOLD_MS only. */
TEST(snapshot_reset_hold_ends_at_its_deadline)
{
	struct fd_snap snap;
	int c;

	setup();
	fd_chain(&R.f, VSOCK_QUEUE_EVENT, 0, 1, &(struct fd_buf){EV_GPA, 8, true});
	fd_post(&R.f, VSOCK_QUEUE_EVENT, 0);
	fd_notify(&R.f, VSOCK_QUEUE_EVENT);
	fd_snap_save(&snap, &R.v.dev);
	CHECK_EQ(restore_fresh(&snap), 0);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_EVENT), 1);
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 52\n", 11);
	rx_none();
	R.f.host.now += (VSOCK_RESET_HOLD_MS - 1) * 1000000ULL;
	rx_none();
	R.f.host.now += 2000000ULL;
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 52);
	close(c);
	fd_snap_free(&snap);
	rig_cleanup();
}

/* Without an event buffer the restore still works (logged: the guest is not told). */
TEST(snapshot_without_event_buffer)
{
	struct fd_snap snap;

	setup();
	fd_snap_save(&snap, &R.v.dev);
	CHECK_EQ(restore_fresh(&snap), 0);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_EVENT), 0);
	pump_idle();
	close(host_connect(52, HOST_PORT0, GUEST_BUF));
	fd_snap_free(&snap);
	rig_cleanup();
}

TEST(config_space_and_features)
{
	uint64_t cid = 0;
	uint32_t lo = 0, hi = 0xffffffff;
	uint8_t b = 0xff;
	char err[256];
	char longpath[200];

	setup();
	fd_cfg_read(&R.f, 0, &cid, 8);
	CHECK_EQ(cid, CID);
	fd_cfg_read(&R.f, 0, &lo, 4);
	fd_cfg_read(&R.f, 4, &hi, 4);
	CHECK_EQ(lo, CID);
	CHECK_EQ(hi, 0);
	fd_cfg_read(&R.f, 8, &b, 1); /* past the space */
	CHECK_EQ(b, 0);
	/* Only the transport's features: stream sockets, no device bits. */
	CHECK_EQ(fd_device_features(&R.f), (1ULL << VIRTIO_F_VERSION_1) |
					       (1ULL << VIRTIO_F_RING_EVENT_IDX) |
					       (1ULL << VIRTIO_F_RING_INDIRECT_DESC));
	for (unsigned int q = 0; q < 3; q++) {
		fd_wr(&R.f, VIRTIO_MMIO_QUEUE_SEL, q);
		CHECK_EQ(fd_rd(&R.f, VIRTIO_MMIO_QUEUE_NUM_MAX), VIRTIO_VSOCK_QUEUE_SIZE);
	}
	CHECK(access(R.uds, F_OK) == 0);

	/* The checks the configuration parser uses. */
	struct vsock_config cfg = {.guest_cid = 2, .uds_path = R.uds};

	CHECK_EQ(virtio_vsock_check_config(&cfg, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "vsock.guest_cid: 2 is out of range (3 to 4294967294)");
	cfg.guest_cid = UINT32_MAX;
	CHECK_EQ(virtio_vsock_check_config(&cfg, err, sizeof(err)), -EINVAL);
	cfg.guest_cid = 3;
	CHECK_EQ(virtio_vsock_check_config(&cfg, err, sizeof(err)), 0);
	cfg.uds_path = "";
	CHECK_EQ(virtio_vsock_check_config(&cfg, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "vsock.uds_path");
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	cfg.uds_path = longpath;
	CHECK_EQ(virtio_vsock_check_config(&cfg, err, sizeof(err)), -EINVAL);
	CHECK_CONTAINS(err, "longer than 107 bytes");
	rig_cleanup();
	CHECK(access(R.uds, F_OK) != 0); /* removed at destroy */
}

TEST(uds_path_in_use)
{
	struct vsock_config cfg = {.present = true, .guest_cid = CID};
	char path[160];
	int fd;

	setup();
	CHECK_EQ(fh_init(&other_host), 0);
	/* Something serves there (our own device): refused. */
	cfg.uds_path = R.uds;
	CHECK_EQ(virtio_vsock_init(&other, &cfg, fd_host_ops(), &other_host, &R.f.gm), -EADDRINUSE);
	virtio_vsock_destroy(&other);
	CHECK(access(R.uds, F_OK) == 0); /* not ours to remove */
	/* A regular file: refused. */
	snprintf(path, sizeof(path), "%s/v.sock_1", R.dir);
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	CHECK(fd >= 0);
	close(fd);
	cfg.uds_path = path;
	CHECK_EQ(virtio_vsock_init(&other, &cfg, fd_host_ops(), &other_host, &R.f.gm), -EEXIST);
	virtio_vsock_destroy(&other);
	unlink(path);
	/* A stale socket (nobody listening): replaced. */
	fd = unix_listen(2);
	close(fd);
	snprintf(path, sizeof(path), "%s_2", R.uds);
	cfg.uds_path = path;
	CHECK_EQ(virtio_vsock_init(&other, &cfg, fd_host_ops(), &other_host, &R.f.gm), 0);
	close(unix_connect(path));
	virtio_vsock_destroy(&other);
	CHECK_EQ(other_host.nr_watches, 0); /* the listener is unwatched */
	CHECK(access(path, F_OK) != 0);
	fh_destroy(&other_host);
	rig_cleanup();
}

TEST(host_initiated_both_ways_and_close)
{
	int c;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	CHECK_EQ(R.v.nr_conns, 1);

	/* host -> guest */
	send_all(c, "ping", 4);
	rx_expect(VSOCK_OP_RW, HOST_PORT0, 52);
	CHECK_EQ(P.len, 4);
	CHECK(!memcmp(P.data, "ping", 4));
	CHECK_EQ(P.h.buf_alloc, VSOCK_CONN_BUF_SIZE);

	/* guest -> host */
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "pong", 4, 4);
	recv_str(c, "pong");
	CHECK_EQ(R.v.tx_bytes_count, 4);
	CHECK_EQ(R.v.rx_bytes_count, 4);

	/* A second client gets the next host port. */
	int c2 = host_connect(52, HOST_PORT0 + 1, GUEST_BUF);

	/* The host closes: SHUTDOWN(RCV|SEND); the guest's RST ends it. */
	close(c);
	rx_expect(VSOCK_OP_SHUTDOWN, HOST_PORT0, 52);
	CHECK_EQ(P.h.flags, VSOCK_SHUTDOWN_BOTH);
	CHECK_EQ(R.v.nr_conns, 2);
	tx(VSOCK_OP_RST, 52, HOST_PORT0, NULL, 0, 4);
	CHECK_EQ(R.v.nr_conns, 1);
	rx_none();

	/* The guest closes the other one: SHUTDOWN(RCV|SEND) is answered with RST. */
	tx_flags(VSOCK_OP_SHUTDOWN, 52, HOST_PORT0 + 1, VSOCK_SHUTDOWN_BOTH);
	rx_expect(VSOCK_OP_RST, HOST_PORT0 + 1, 52);
	expect_eof(c2);
	close(c2);
	CHECK_EQ(R.v.nr_conns, 0);
	CHECK_EQ(R.v.conns_added, 2);
	CHECK_EQ(R.v.pkt_fails, 0);
	CHECK(!(fd_rd(&R.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	rig_cleanup();
}

TEST(connect_line_split_and_followed_by_data)
{
	int c;

	setup();
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 5", 9);
	rx_none();
	send_all(c, "2\nearly bytes", 13); /* the rest of the line, and data */
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 52);
	rx_none(); /* no data before the guest accepted */
	tx(VSOCK_OP_RESPONSE, 52, HOST_PORT0, NULL, 0, 0);
	recv_str(c, "OK 1073741824\n");
	rx_expect(VSOCK_OP_RW, HOST_PORT0, 52);
	CHECK_EQ(P.len, 11);
	CHECK(!memcmp(P.data, "early bytes", 11));
	close(c);
	rig_cleanup();
}

TEST(guest_initiated_both_ways)
{
	int l, s;
	uint8_t hdr[VSOCK_HDR_SIZE];
	struct virtio_vsock_hdr h = {
	    CID, VSOCK_HOST_CID, 1234, 53, 0, VSOCK_TYPE_STREAM, VSOCK_OP_REQUEST, 0, GUEST_BUF, 0};

	setup();
	l = unix_listen(53);
	/* The REQUEST's header split over two descriptors. */
	memcpy(hdr, &h, sizeof(hdr));
	memcpy(fd_at(&R.f, TX_GPA(0)), hdr, 20);
	memcpy(fd_at(&R.f, TX_GPA(1)), hdr + 20, VSOCK_HDR_SIZE - 20);
	tx_chain(
	    2, (struct fd_buf[]){{TX_GPA(0), 20, false}, {TX_GPA(1), VSOCK_HDR_SIZE - 20, false}});
	rx_expect(VSOCK_OP_RESPONSE, 53, 1234);
	CHECK_EQ(P.h.buf_alloc, VSOCK_CONN_BUF_SIZE);
	s = accept_one(l);

	/* guest -> host, the payload in its own descriptor */
	h.op = VSOCK_OP_RW;
	h.len = 5;
	memcpy(fd_at(&R.f, TX_GPA(2)), &h, sizeof(h));
	memcpy(fd_at(&R.f, TX_GPA(3)), "hello", 5);
	tx_chain(2, (struct fd_buf[]){{TX_GPA(2), VSOCK_HDR_SIZE, false}, {TX_GPA(3), 5, false}});
	recv_str(s, "hello");

	/* host -> guest */
	send_all(s, "world", 5);
	rx_expect(VSOCK_OP_RW, 53, 1234);
	CHECK_EQ(P.len, 5);
	CHECK(!memcmp(P.data, "world", 5));

	/* The guest closes: RST, and the host sees EOF. */
	tx_flags(VSOCK_OP_SHUTDOWN, 1234, 53, VSOCK_SHUTDOWN_BOTH);
	rx_expect(VSOCK_OP_RST, 53, 1234);
	expect_eof(s);
	CHECK_EQ(R.v.nr_conns, 0);
	close(s);
	close(l);
	rig_cleanup();
}

TEST(guest_connect_without_listener_gets_rst)
{
	char path[160];
	int fd;

	setup();
	tx(VSOCK_OP_REQUEST, 1234, 99, NULL, 0, 0); /* no such socket */
	rx_expect(VSOCK_OP_RST, 99, 1234);
	fd = unix_listen(98); /* a socket file nobody listens on any more */
	close(fd);
	tx(VSOCK_OP_REQUEST, 1235, 98, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, 98, 1235);
	snprintf(path, sizeof(path), "%s_97", R.uds); /* not a socket */
	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	tx(VSOCK_OP_REQUEST, 1236, 97, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, 97, 1236);
	CHECK_EQ(R.v.conns_refused, 3);
	CHECK_EQ(R.v.nr_conns, 0);
	rx_none();
	unlink(path);
	rig_cleanup();
}

TEST(bad_connect_lines_close_the_client)
{
	static const char *const bad[] = {
	    "CONNEC 52\n",
	    "CONNECT\n",
	    "CONNECT \n",
	    "CONNECT 5x\n",
	    "connect 52\n",
	    "CONNECT  52\n",
	    "CONNECT 4294967296\n",
	    "CONNECT 99999999999\n",
	    "CONNECT -1\n",
	    "CONNECT 52 \n",
	    "\n",
	    "CONNECT 0000000000000000000000000000052\n", /* longer than the line limit */
	};
	int c;

	setup();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = unix_connect(R.uds);
		send_all(c, bad[i], strlen(bad[i]));
		expect_eof(c);
		close(c);
	}
	/* No newline within the limit. */
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 52 and a lot more text without end", 42);
	expect_eof(c);
	close(c);
	/* Gone before the line. */
	c = unix_connect(R.uds);
	send_all(c, "CONN", 4);
	pump_idle();
	close(c);
	pump_idle();
	CHECK_EQ(R.v.bad_connect_lines, 14); /* 12 lines, no newline, gone mid-line */
	CHECK_EQ(R.v.nr_conns, 0);
	rx_none(); /* the guest heard of none */
	/* A good one still works, with the largest port. */
	c = host_connect(UINT32_MAX, HOST_PORT0, GUEST_BUF);
	close(c);
	rig_cleanup();
}

TEST(guest_rst_closes_the_client)
{
	int c;

	setup();
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 60\n", 11);
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 60);
	tx(VSOCK_OP_RST, 60, HOST_PORT0, NULL, 0, 0); /* nobody listens on 60 */
	expect_eof(c);
	close(c);
	CHECK_EQ(R.v.nr_conns, 0);
	rx_none();
	rig_cleanup();
}

TEST(request_timeout)
{
	int c;

	setup();
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 61\n", 11);
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 61);
	R.f.host.now += (VSOCK_REQUEST_TIMEOUT_MS - 1) * 1000000ULL;
	pthread_mutex_lock(&R.v.dev.lock);
	virtio_vsock_expire(&R.v);
	pthread_mutex_unlock(&R.v.dev.lock);
	CHECK_EQ(R.v.nr_conns, 1);
	R.f.host.now += 2000000ULL;
	pthread_mutex_lock(&R.v.dev.lock);
	virtio_vsock_expire(&R.v);
	virtio_vsock_process(&R.v);
	pthread_mutex_unlock(&R.v.dev.lock);
	rx_expect(VSOCK_OP_RST, HOST_PORT0, 61); /* the guest forgets it too */
	expect_eof(c);
	close(c);
	CHECK_EQ(R.v.timeouts, 1);
	CHECK_EQ(R.v.nr_conns, 0);
	/* A late RESPONSE is for an unknown connection: RST. */
	tx(VSOCK_OP_RESPONSE, 61, HOST_PORT0, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, HOST_PORT0, 61);
	rig_cleanup();
}

TEST(credit_guest_buf_alloc_is_respected)
{
	uint8_t data[300], got[300];
	uint32_t total = 0;
	int c, requests = 0;

	setup();
	for (int i = 0; i < 300; i++)
		data[i] = (uint8_t)(i * 7);
	c = host_connect(52, HOST_PORT0, 100); /* the guest has room for 100 bytes */
	send_all(c, data, sizeof(data));
	for (int round = 0; round < 3; round++) {
		/* Everything the device sends now fits in the credit it has. */
		for (;;) {
			pump_idle();
			if (!rx_next(&P))
				break;
			if (P.h.op == VSOCK_OP_CREDIT_REQUEST) {
				requests++;
				continue;
			}
			CHECK_EQ(P.h.op, VSOCK_OP_RW);
			CHECK(total + P.len <= 100 * (uint32_t)(round + 1));
			memcpy(got + total, P.data, P.len);
			total += P.len;
		}
		CHECK_EQ(total, 100 * (uint32_t)(round + 1));
		/* The guest read it all: its fwd_cnt moves, the credit with it. */
		tx_full(CID, VSOCK_HOST_CID, VSOCK_TYPE_STREAM, VSOCK_OP_CREDIT_UPDATE, 52,
			HOST_PORT0, NULL, 0, 0, 100, total);
	}
	CHECK_EQ(total, 300);
	CHECK(!memcmp(got, data, 300));
	CHECK(requests >= 1); /* out of credit with data waiting: the device asked */

	/* CREDIT_REQUEST is answered with CREDIT_UPDATE (our buf_alloc and fwd_cnt). */
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "abc", 3, 300);
	recv_str(c, "abc");
	tx(VSOCK_OP_CREDIT_REQUEST, 52, HOST_PORT0, NULL, 0, 300);
	rx_expect(VSOCK_OP_CREDIT_UPDATE, HOST_PORT0, 52);
	CHECK_EQ(P.h.buf_alloc, VSOCK_CONN_BUF_SIZE);
	CHECK_EQ(P.h.fwd_cnt, 3);
	close(c);
	rig_cleanup();
}

TEST(credit_rx_buffer_and_packet_caps)
{
	static uint8_t data[100000];
	uint32_t total = 0;
	int c;

	setup();
	memset(data, 'x', sizeof(data));
	c = host_connect(52, HOST_PORT0, 1 << 20);
	send_all(c, data, sizeof(data));
	while (total < sizeof(data)) {
		rx_wait(&P);
		CHECK_EQ(P.h.op, VSOCK_OP_RW);
		CHECK(P.len <= RX_LEN - VSOCK_HDR_SIZE); /* never more than the buffer */
		total += P.len;
	}
	CHECK_EQ(total, sizeof(data));
	close(c);
	rig_cleanup();
}

TEST(credit_update_from_the_device)
{
	static uint8_t data[32 * 1024], got[32 * 1024];
	uint32_t sent = 0;
	int c;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	/* 112 KiB from the guest: it sees our free space fall to 16 KiB. */
	for (int i = 0; i < 4; i++) {
		uint32_t len = i < 3 ? 32 * 1024 : 16 * 1024;

		memset(data, 'a' + i, len);
		tx(VSOCK_OP_RW, 52, HOST_PORT0, data, len, 0);
		sent += len;
		recv_exact(c, got, len); /* the host reads as it comes */
		CHECK(!memcmp(got, data, len));
	}
	rx_expect(VSOCK_OP_CREDIT_UPDATE, HOST_PORT0, 52);
	CHECK_EQ(P.h.fwd_cnt, sent);
	CHECK_EQ(P.h.buf_alloc, VSOCK_CONN_BUF_SIZE);
	rx_none(); /* once */
	close(c);
	rig_cleanup();
}

TEST(guest_beyond_our_credit_gets_rst)
{
	static uint8_t data[VSOCK_MAX_PKT_PAYLOAD];
	uint64_t sent = 0;
	int c, i;

	setup();
	memset(data, 'z', sizeof(data));
	c = host_connect(52, HOST_PORT0, GUEST_BUF); /* the host never reads */
	for (i = 0; i < 64 && R.v.nr_conns; i++) {
		tx(VSOCK_OP_RW, 52, HOST_PORT0, data, sizeof(data), 0);
		sent += sizeof(data);
	}
	CHECK_EQ(R.v.nr_conns, 0);
	CHECK_EQ(R.v.credit_overruns, 1);
	CHECK(sent > VSOCK_CONN_BUF_SIZE); /* the buffer took its share first */
	/* An RST (possibly after a credit update) for the guest, and the host is cut off. */
	do
		rx_wait(&P);
	while (P.h.op == VSOCK_OP_CREDIT_UPDATE);
	CHECK_EQ(P.h.op, VSOCK_OP_RST);
	CHECK_EQ(P.h.dst_port, 52);
	close(c);
	rig_cleanup();
}

TEST(buffered_data_is_flushed_when_the_host_reads)
{
	static uint8_t data[VSOCK_MAX_PKT_PAYLOAD], got[VSOCK_MAX_PKT_PAYLOAD];
	uint64_t total = 0;
	int c, n = 0, rounds = 0;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	/* Fill the host socket until the device has to keep some of the guest's bytes. */
	while (!R.v.buffered_bytes && n < 64) {
		memset(data, 'A' + (n % 26), sizeof(data));
		tx(VSOCK_OP_RW, 52, HOST_PORT0, data, sizeof(data), 0);
		n++;
	}
	CHECK(R.v.buffered_bytes > 0);
	CHECK_EQ(R.v.nr_conns, 1);
	/* Read everything: the device flushes its buffer on EPOLLOUT, in order. */
	for (int k = 0; k < n; k++) {
		size_t got_n = 0;

		while (got_n < sizeof(got)) {
			ssize_t r = recv(c, got + got_n, sizeof(got) - got_n, MSG_DONTWAIT);

			if (r > 0) {
				got_n += (size_t)r;
				continue;
			}
			pump(10);
			if (++rounds > 2000)
				FAIL_AT("stuck after %llu bytes", (unsigned long long)total);
		}
		for (size_t j = 0; j < sizeof(got); j++)
			if (got[j] != 'A' + (k % 26))
				FAIL_AT("byte %zu of packet %d", j, k);
		total += got_n;
	}
	CHECK_EQ(total, R.v.tx_bytes_count);
	CHECK_EQ(R.v.buffered_bytes, 0);
	CHECK_EQ(R.v.nr_conns, 1);
	/* The guest learned of the room: it sees at least the threshold free. */
	uint32_t fwd = 0;

	pump_idle();
	while (rx_next(&P)) {
		CHECK_EQ(P.h.op, VSOCK_OP_CREDIT_UPDATE);
		fwd = P.h.fwd_cnt;
	}
	CHECK((uint32_t)total - fwd <= VSOCK_CONN_BUF_SIZE - VSOCK_CREDIT_THRESHOLD);
	close(c);
	rig_cleanup();
}

TEST(half_close_both_ways)
{
	int c;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	/* The host is done sending: SHUTDOWN(SEND) only; it still receives. */
	shutdown(c, SHUT_WR);
	rx_expect(VSOCK_OP_SHUTDOWN, HOST_PORT0, 52);
	CHECK_EQ(P.h.flags, VSOCK_SHUTDOWN_SEND);
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "late", 4, 0);
	recv_str(c, "late");
	/* The guest is done sending: the host reads EOF. */
	tx_flags(VSOCK_OP_SHUTDOWN, 52, HOST_PORT0, VSOCK_SHUTDOWN_SEND);
	expect_eof(c);
	CHECK_EQ(R.v.nr_conns, 1);
	/* Data after SHUTDOWN(SEND) is a protocol error: RST. */
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "more", 4, 0);
	rx_expect(VSOCK_OP_RST, HOST_PORT0, 52);
	CHECK_EQ(R.v.nr_conns, 0);
	close(c);
	rig_cleanup();
}

TEST(malformed_packets_get_rst_and_the_device_goes_on)
{
	uint8_t junk[VSOCK_MAX_PKT_PAYLOAD + 8] = {0};
	int c, l, s;

	setup();
	/* Not even a header: the chain is returned, nothing to answer. */
	tx_chain(1, &(struct fd_buf){TX_GPA(0), 20, false});
	CHECK_EQ(R.v.tx_queue_event_fails, 1);
	/* A writable-only chain: no header either. */
	tx_chain(1, &(struct fd_buf){TX_GPA(0), 64, true});
	CHECK_EQ(R.v.tx_queue_event_fails, 2);
	rx_none();

	/* Wrong src_cid, dst_cid, type, op; len too large or past the chain; no connection. */
	tx_full(7, VSOCK_HOST_CID, 1, VSOCK_OP_REQUEST, 1000, 2000, NULL, 0, 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1000);
	tx_full(CID, 9, 1, VSOCK_OP_REQUEST, 1001, 2000, NULL, 0, 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1001);
	tx_full(CID, VSOCK_HOST_CID, 2, VSOCK_OP_REQUEST, 1002, 2000, NULL, 0, 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1002);
	tx_full(CID, VSOCK_HOST_CID, 1, 0, 1003, 2000, NULL, 0, 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1003);
	tx_full(CID, VSOCK_HOST_CID, 1, 99, 1004, 2000, NULL, 0, 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1004);
	tx_full(CID, VSOCK_HOST_CID, 1, VSOCK_OP_RW, 1005, 2000, junk, sizeof(junk), 0, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1005);
	{
		struct virtio_vsock_hdr h = {CID, VSOCK_HOST_CID, 1006, 2000, 100,
					     1,	  VSOCK_OP_RW,	  0,	0,    0};

		memcpy(fd_at(&R.f, TX_GPA(0)), &h, sizeof(h));
		tx_chain(1, &(struct fd_buf){TX_GPA(0), VSOCK_HDR_SIZE + 10, false});
		rx_expect(VSOCK_OP_RST, 2000, 1006);
	}
	tx(VSOCK_OP_RW, 1007, 2000, "x", 1, 0); /* no such connection */
	rx_expect(VSOCK_OP_RST, 2000, 1007);
	tx(VSOCK_OP_SHUTDOWN, 1008, 2000, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, 2000, 1008);
	tx(VSOCK_OP_RST, 1009, 2000, NULL, 0, 0); /* never an RST to an RST */
	tx_full(7, VSOCK_HOST_CID, 1, VSOCK_OP_RST, 1010, 2000, NULL, 0, 0, 0, 0);
	rx_none();
	CHECK_EQ(R.v.pkt_fails, 10); /* the RST with a bad header counts; the good one not */

	/* Unusable rx buffers: returned with length 0, counted, skipped. */
	c = unix_connect(R.uds);
	{
		uint16_t used = fd_used_idx(&R.f, VSOCK_QUEUE_RX);
		uint32_t id, len;

		/* Re-post two bad buffers in front (a fresh queue). */
		bring_up(QS);
		used = 0;
		fd_chain(&R.f, VSOCK_QUEUE_RX, 0, 1, &(struct fd_buf){RX_GPA(0), 20, true});
		fd_chain(&R.f, VSOCK_QUEUE_RX, 1, 1, &(struct fd_buf){RX_GPA(1), RX_LEN, false});
		send_all(c, "CONNECT 52\n", 11);
		pump_idle();
		CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_RX), used + 3);
		fd_used(&R.f, VSOCK_QUEUE_RX, 0, &id, &len);
		CHECK_EQ(len, 0);
		fd_used(&R.f, VSOCK_QUEUE_RX, 1, &id, &len);
		CHECK_EQ(len, 0);
		CHECK_EQ(R.v.rx_queue_event_fails, 2);
		R.rx_seen = 2;
		rx_post(0);
		rx_post(1);
	}
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 52);

	/* Misplaced ops on a live connection: RW before RESPONSE ends it. */
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "x", 1, 0);
	rx_expect(VSOCK_OP_RST, HOST_PORT0, 52);
	expect_eof(c);
	close(c);

	/* The device goes on. */
	CHECK(!(fd_rd(&R.f, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET));
	l = unix_listen(53);
	tx(VSOCK_OP_REQUEST, 1234, 53, NULL, 0, 0);
	rx_expect(VSOCK_OP_RESPONSE, 53, 1234);
	s = accept_one(l);
	/* A duplicate REQUEST ends the connection. */
	tx(VSOCK_OP_REQUEST, 1234, 53, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, 53, 1234);
	expect_eof(s);
	close(s);
	close(l);
	CHECK_EQ(R.v.nr_conns, 0);
	rig_cleanup();
}

TEST(connection_limit)
{
	int a, b, c, l;

	setup();
	R.v.max_conns = 2;
	a = unix_connect(R.uds);
	b = unix_connect(R.uds);
	pump_idle();
	CHECK_EQ(R.v.nr_conns, 2);
	c = unix_connect(R.uds); /* one too many */
	expect_eof(c);
	close(c);
	l = unix_listen(53);
	tx(VSOCK_OP_REQUEST, 1234, 53, NULL, 0, 0);
	rx_expect(VSOCK_OP_RST, 53, 1234);
	CHECK_EQ(R.v.conns_refused, 2);
	/* One leaves: room again. */
	close(a);
	pump_idle();
	CHECK_EQ(R.v.nr_conns, 1);
	tx(VSOCK_OP_REQUEST, 1234, 53, NULL, 0, 0);
	rx_expect(VSOCK_OP_RESPONSE, 53, 1234);
	close(b);
	close(l);
	rig_cleanup();
}

TEST(device_reset_closes_every_connection)
{
	int c, l, s;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	l = unix_listen(53);
	tx(VSOCK_OP_REQUEST, 1234, 53, NULL, 0, 0);
	rx_expect(VSOCK_OP_RESPONSE, 53, 1234);
	s = accept_one(l);
	CHECK_EQ(R.v.nr_conns, 2);
	fd_wr(&R.f, VIRTIO_MMIO_STATUS, 0);
	CHECK_EQ(R.v.nr_conns, 0);
	expect_eof(c);
	expect_eof(s);
	close(c);
	close(s);
	/* Up again: new connections work. */
	bring_up(QS);
	c = host_connect(52, HOST_PORT0 + 1, GUEST_BUF);
	close(c);
	close(l);
	rig_cleanup();
}

TEST(connect_before_the_driver_is_up)
{
	int c;

	setup();
	fd_wr(&R.f, VIRTIO_MMIO_STATUS, 0);
	c = unix_connect(R.uds);
	send_all(c, "CONNECT 52\n", 11);
	pump_idle();
	CHECK_EQ(R.v.nr_conns, 1);
	bring_up(QS); /* DRIVER_OK kicks the waiting REQUEST out */
	pump_idle();
	rx_expect(VSOCK_OP_REQUEST, HOST_PORT0, 52);
	close(c);
	rig_cleanup();
}

TEST(tx_work_is_bounded_per_run)
{
	struct virtio_vsock_hdr h = {CID, VSOCK_HOST_CID, 1, 2000, 0, 1, VSOCK_OP_RST, 0, 0, 0};
	uint16_t n = 200;

	setup_q(256);
	memcpy(fd_at(&R.f, TX_GPA(0)), &h, sizeof(h));
	for (uint16_t i = 0; i < n; i++) {
		fd_chain(&R.f, VSOCK_QUEUE_TX, i, 1,
			 &(struct fd_buf){TX_GPA(0), VSOCK_HDR_SIZE, false});
		fd_post(&R.f, VSOCK_QUEUE_TX, i);
	}
	fd_notify(&R.f, VSOCK_QUEUE_TX);
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_TX), VSOCK_TX_BUDGET);
	CHECK(R.v.tx_more);
	pump_idle(); /* the kick serves the rest */
	CHECK_EQ(fd_used_idx(&R.f, VSOCK_QUEUE_TX), n);
	CHECK_EQ(R.v.tx_packets_count, n);
	rig_cleanup();
}

TEST(paused_device_holds_its_work)
{
	int c;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	fh_pause(&R.f.host); /* as the VM's host: no watch served, no run */
	send_all(c, "held", 4);
	rx_none();
	fh_resume(&R.f.host);
	rx_expect(VSOCK_OP_RW, HOST_PORT0, 52);
	CHECK(!memcmp(P.data, "held", 4));
	close(c);
	rig_cleanup();
}

TEST(host_closing_waits_for_guest_rst_then_times_out)
{
	int c;

	setup();
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	close(c);
	rx_expect(VSOCK_OP_SHUTDOWN, HOST_PORT0, 52);
	CHECK_EQ(P.h.flags, VSOCK_SHUTDOWN_BOTH);
	/* Data from the guest now goes nowhere, quietly. */
	tx(VSOCK_OP_RW, 52, HOST_PORT0, "lost", 4, 0);
	rx_none();
	CHECK_EQ(R.v.nr_conns, 1);
	R.f.host.now += (VSOCK_CLOSE_TIMEOUT_MS + 1) * 1000000ULL;
	pthread_mutex_lock(&R.v.dev.lock);
	virtio_vsock_expire(&R.v);
	virtio_vsock_process(&R.v);
	pthread_mutex_unlock(&R.v.dev.lock);
	rx_expect(VSOCK_OP_RST, HOST_PORT0, 52);
	CHECK_EQ(R.v.nr_conns, 0);

	/* The guest's own SHUTDOWN while we wait for its RST: both are done, RST now. */
	c = host_connect(52, HOST_PORT0 + 1, GUEST_BUF);
	close(c);
	rx_expect(VSOCK_OP_SHUTDOWN, HOST_PORT0 + 1, 52);
	tx_flags(VSOCK_OP_SHUTDOWN, 52, HOST_PORT0 + 1, VSOCK_SHUTDOWN_BOTH);
	rx_expect(VSOCK_OP_RST, HOST_PORT0 + 1, 52);
	CHECK_EQ(R.v.nr_conns, 0);
	rig_cleanup();
}

TEST(many_connections_round_robin)
{
	int cs[8];
	int seen[8] = {0};

	setup();
	for (int i = 0; i < 8; i++)
		cs[i] = host_connect(100 + (uint32_t)i, HOST_PORT0 + (uint32_t)i, GUEST_BUF);
	for (int i = 0; i < 8; i++)
		send_all(cs[i], "0123456789", 10);
	for (int k = 0; k < 8; k++) {
		rx_wait(&P);
		CHECK_EQ(P.h.op, VSOCK_OP_RW);
		CHECK(P.h.dst_port >= 100 && P.h.dst_port < 108);
		seen[P.h.dst_port - 100] += (int)P.len;
	}
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(seen[i], 10);
		close(cs[i]);
	}
	for (int i = 0; i < 8; i++) {
		rx_wait(&P);
		CHECK_EQ(P.h.op, VSOCK_OP_SHUTDOWN);
		tx(VSOCK_OP_RST, P.h.dst_port, P.h.src_port, NULL, 0, 0);
	}
	CHECK_EQ(R.v.nr_conns, 0);
	rig_cleanup();
}

/* --- nothing is lost with a stalled guest reader (both ways) --- */

#define STREAM_LEN 200000u

static uint8_t pattern(uint32_t i)
{
	return (uint8_t)(i * 7u % 251u);
}

/*
 * The guest's socket as Linux keeps it: bytes queued (not read yet) up to its
 * buf_alloc; a packet that does not fit is dropped (virtio_transport_recv_enqueue),
 * which is what a device sending beyond the credit costs.
 */
struct gsock {
	uint32_t buf_alloc, fwd_cnt, queued;
	uint32_t received, dropped, requests;
	bool shut;    /* the host's SHUTDOWN came */
	uint8_t *got; /* STREAM_LEN bytes, in arrival order */
};

static void gsock_credit(struct gsock *g, uint16_t op)
{
	tx_full(CID, VSOCK_HOST_CID, VSOCK_TYPE_STREAM, op, 52, HOST_PORT0, NULL, 0, 0,
		g->buf_alloc, g->fwd_cnt);
}

/* Takes what the device put on the rx queue (buffers posted again). */
static void gsock_take(struct gsock *g)
{
	while (rx_next(&P)) {
		if (P.h.op == VSOCK_OP_CREDIT_REQUEST) {
			g->requests++;
			gsock_credit(g, VSOCK_OP_CREDIT_UPDATE);
			continue;
		}
		if (P.h.op == VSOCK_OP_SHUTDOWN) {
			CHECK_EQ(g->received, STREAM_LEN); /* only after every byte */
			g->shut = true;
			continue;
		}
		if (P.h.op != VSOCK_OP_RW || g->shut)
			FAIL_AT("op %u after %u bytes", P.h.op, g->received);
		CHECK_EQ(P.h.dst_port, 52);
		if (g->queued + P.len > g->buf_alloc) {
			g->dropped += P.len;
			continue;
		}
		if (g->received + P.len > STREAM_LEN)
			FAIL_AT("more than %u bytes", STREAM_LEN);
		memcpy(g->got + g->received, P.data, P.len);
		g->received += P.len;
		g->queued += P.len;
	}
}

/* The host writes what its socket takes of @data[*off..len) (nonblocking). */
static void host_write_some(int fd, const uint8_t *data, size_t len, size_t *off)
{
	while (*off < len) {
		ssize_t n = send(fd, data + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n <= 0) {
			CHECK(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
			return;
		}
		*off += (size_t)n;
	}
}

TEST(stalled_guest_reader_loses_nothing)
{
	static uint8_t data[STREAM_LEN], got[STREAM_LEN];
	struct gsock g = {.buf_alloc = 16 * 1024, .got = got};
	size_t off = 0;
	int c, round;

	setup();
	for (uint32_t i = 0; i < STREAM_LEN; i++)
		data[i] = pattern(i);
	c = host_connect(52, HOST_PORT0, g.buf_alloc);
	/* The guest's reader stalls: nothing is read, its buffer fills. */
	for (round = 0; round < 40; round++) {
		host_write_some(c, data, sizeof(data), &off);
		pump(2);
		gsock_take(&g);
	}
	CHECK_EQ(g.dropped, 0);
	CHECK_EQ(g.queued, g.buf_alloc);
	/* It reads, but the rx ring is not served for a while: the device runs out of buffers. */
	g.fwd_cnt += g.queued;
	g.queued = 0;
	gsock_credit(&g, VSOCK_OP_CREDIT_UPDATE);
	for (round = 0; round < 20; round++) {
		host_write_some(c, data, sizeof(data), &off);
		pump(2);
	}
	/* Then it reads everything as it comes; the host shuts its side once it wrote all. */
	for (round = 0; round < 3000 && !g.shut; round++) {
		host_write_some(c, data, sizeof(data), &off);
		if (off == STREAM_LEN)
			shutdown(c, SHUT_WR);
		pump(1);
		gsock_take(&g);
		if (g.queued) {
			g.fwd_cnt += g.queued;
			g.queued = 0;
			gsock_credit(&g, VSOCK_OP_CREDIT_UPDATE);
		}
	}
	CHECK_EQ(off, STREAM_LEN);
	CHECK_EQ(g.dropped, 0);
	CHECK_EQ(g.received, STREAM_LEN);
	CHECK(g.shut);
	for (uint32_t i = 0; i < STREAM_LEN; i++)
		if (got[i] != pattern(i))
			FAIL_AT("byte %u: 0x%02x, expected 0x%02x", i, got[i], pattern(i));
	CHECK_EQ(R.v.rx_bytes_count, STREAM_LEN);
	close(c);
	rig_cleanup();
}

#define G2H_LEN 1000000u /* more than the host socket and our buffer together */

/*
 * The other way: the guest sends within our credit (buf_alloc and fwd_cnt from
 * our packets) while the host does not read; then the host reads everything.
 */
TEST(stalled_host_reader_loses_nothing)
{
	static uint8_t data[G2H_LEN], got[G2H_LEN];
	uint32_t sent = 0, our_alloc = VSOCK_CONN_BUF_SIZE, our_fwd = 0;
	size_t have = 0;
	int c, round;

	setup();
	for (uint32_t i = 0; i < G2H_LEN; i++)
		data[i] = pattern(i);
	c = host_connect(52, HOST_PORT0, GUEST_BUF);
	for (round = 0; round < 4000 && have < G2H_LEN; round++) {
		uint32_t used = sent - our_fwd;
		uint32_t credit = used >= our_alloc ? 0 : our_alloc - used;
		uint32_t n = G2H_LEN - sent;

		if (n > credit)
			n = credit;
		if (n > VSOCK_MAX_PKT_PAYLOAD)
			n = VSOCK_MAX_PKT_PAYLOAD;
		if (n) {
			tx(VSOCK_OP_RW, 52, HOST_PORT0, data + sent, n, 0);
			sent += n;
		}
		CHECK_EQ(R.v.nr_conns, 1); /* never beyond the credit: never an RST */
		pump(1);
		while (rx_next(&P)) {
			CHECK_EQ(P.h.op, VSOCK_OP_CREDIT_UPDATE);
			our_alloc = P.h.buf_alloc;
			our_fwd = P.h.fwd_cnt;
		}
		/* The host reader stalls for the first 50 rounds, then takes what there is. */
		while (round >= 50 && have < G2H_LEN) {
			ssize_t r = recv(c, got + have, G2H_LEN - have, MSG_DONTWAIT);

			if (r <= 0)
				break;
			have += (size_t)r;
		}
		if (round == 49)
			CHECK(R.v.buffered_bytes > 0); /* the socket was full: we kept the rest */
	}
	CHECK_EQ(sent, G2H_LEN);
	CHECK_EQ(have, G2H_LEN);
	for (uint32_t i = 0; i < G2H_LEN; i++)
		if (got[i] != pattern(i))
			FAIL_AT("byte %u: 0x%02x, expected 0x%02x", i, got[i], pattern(i));
	CHECK_EQ(R.v.tx_bytes_count, G2H_LEN);
	CHECK_EQ(R.v.buffered_bytes, 0);
	CHECK_EQ(R.v.credit_overruns, 0);
	close(c);
	rig_cleanup();
}

TEST_MAIN(
    TEST_ENTRY(snapshot_resets_transport), TEST_ENTRY(snapshot_reset_hold_ends_at_its_deadline),
    TEST_ENTRY(snapshot_without_event_buffer), TEST_ENTRY(config_space_and_features),
    TEST_ENTRY(uds_path_in_use), TEST_ENTRY(host_initiated_both_ways_and_close),
    TEST_ENTRY(connect_line_split_and_followed_by_data), TEST_ENTRY(guest_initiated_both_ways),
    TEST_ENTRY(guest_connect_without_listener_gets_rst),
    TEST_ENTRY(bad_connect_lines_close_the_client), TEST_ENTRY(guest_rst_closes_the_client),
    TEST_ENTRY(request_timeout), TEST_ENTRY(credit_guest_buf_alloc_is_respected),
    TEST_ENTRY(credit_rx_buffer_and_packet_caps), TEST_ENTRY(credit_update_from_the_device),
    TEST_ENTRY(guest_beyond_our_credit_gets_rst),
    TEST_ENTRY(buffered_data_is_flushed_when_the_host_reads), TEST_ENTRY(half_close_both_ways),
    TEST_ENTRY(malformed_packets_get_rst_and_the_device_goes_on), TEST_ENTRY(connection_limit),
    TEST_ENTRY(device_reset_closes_every_connection), TEST_ENTRY(connect_before_the_driver_is_up),
    TEST_ENTRY(tx_work_is_bounded_per_run), TEST_ENTRY(paused_device_holds_its_work),
    TEST_ENTRY(host_closing_waits_for_guest_rst_then_times_out),
    TEST_ENTRY(many_connections_round_robin), TEST_ENTRY(stalled_guest_reader_loses_nothing),
    TEST_ENTRY(stalled_host_reader_loses_nothing))
