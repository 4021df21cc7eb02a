/*
 * virtio_vsock: a minimal virtio-vsock driver (virtio-mmio v2, polling, no
 * interrupts) for ember's vsock device. The kernel command line picks one test:
 *
 *   vsock=listen   listens on port 52: answers the host's REQUEST with RESPONSE,
 *                  answers "ping" with "pong" (echoes anything else), and ends
 *                  with SUCCESS when the host closes (SHUTDOWN or RST).
 *   vsock=connect  connects to host port 53 (the host listens on <uds_path>_53),
 *                  sends "hello", prints the answer ("vsock: got ..."), closes
 *                  with SHUTDOWN and waits for the device's RST: SUCCESS.
 *   vsock=refused  connects to host port 54, where nobody listens: expects RST.
 *
 * The device is found by scanning the virtio-mmio windows from 0xC0001000.
 * Three queues of 8 (rx, tx, event); 4 rx buffers of a header + 256 bytes; one
 * packet per tx chain, sent synchronously. Small on purpose: CPL0 code is
 * interpreted on kvm_pvm hosts.
 */
#include "lib.h"

#define VIRTIO_FIRST 0xC0001000u
#define VIRTIO_SLOTS 8

#define REG_MAGIC	      0x000
#define REG_VERSION	      0x004
#define REG_DEVICE_ID	      0x008
#define REG_DEVICE_FEATURES   0x010
#define REG_DEVICE_FEAT_SEL   0x014
#define REG_DRIVER_FEATURES   0x020
#define REG_DRIVER_FEAT_SEL   0x024
#define REG_QUEUE_SEL	      0x030
#define REG_QUEUE_NUM_MAX     0x034
#define REG_QUEUE_NUM	      0x038
#define REG_QUEUE_READY	      0x044
#define REG_QUEUE_NOTIFY      0x050
#define REG_STATUS	      0x070
#define REG_QUEUE_DESC_LOW    0x080
#define REG_QUEUE_DESC_HIGH   0x084
#define REG_QUEUE_DRIVER_LOW  0x090
#define REG_QUEUE_DRIVER_HIGH 0x094
#define REG_QUEUE_DEVICE_LOW  0x0a0
#define REG_QUEUE_DEVICE_HIGH 0x0a4
#define REG_CONFIG	      0x100

#define S_ACK	      1
#define S_DRIVER      2
#define S_DRIVER_OK   4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 64

#define DESC_F_WRITE 2
#define QSIZE	     8
#define NR_RX	     4
#define PAYLOAD	     256
#define HDR	     44
#define GUEST_BUF    4096
#define WAIT_CYCLES  60000000000ULL /* many seconds of TSC: the host side takes its time */

#define HOST_CID	 2
#define OP_REQUEST	 1
#define OP_RESPONSE	 2
#define OP_RST		 3
#define OP_SHUTDOWN	 4
#define OP_RW		 5
#define OP_CREDIT_UPDATE 6
#define OP_CREDIT_REQ	 7

struct hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vq {
	struct desc desc[QSIZE] __attribute__((aligned(16)));
	volatile uint16_t avail[2 + QSIZE + 1] __attribute__((aligned(2))); /* flags idx ring */
	volatile uint32_t used[1 + 2 * QSIZE + 1] __attribute__((aligned(4)));
	uint16_t avail_idx;
	uint16_t used_seen;
};

static struct vq vqs[3];
static uint8_t rx_buf[NR_RX][HDR + PAYLOAD];
static uint8_t tx_buf[HDR + PAYLOAD];
static uint32_t base;
static uint64_t guest_cid;
static uint32_t fwd_cnt; /* payload bytes we consumed on the connection */

static uint32_t rd(uint32_t off)
{
	return mmio_read32(base + off);
}

static void wr(uint32_t off, uint32_t v)
{
	mmio_write32(base + off, v);
}

static void barrier(void)
{
	__asm__ volatile("" ::: "memory");
}

static void set_status(uint32_t s)
{
	wr(REG_STATUS, s);
	if (rd(REG_STATUS) != s) {
		print("status %x reads back %x\n", s, rd(REG_STATUS));
		fail("device status refused");
	}
}

static void find_device(void)
{
	for (uint32_t i = 0; i < VIRTIO_SLOTS; i++) {
		base = VIRTIO_FIRST + i * 0x1000u;
		if (rd(REG_MAGIC) == 0x74726976u && rd(REG_VERSION) == 2 && rd(REG_DEVICE_ID) == 19)
			return;
	}
	fail("no virtio-mmio v2 vsock device (id 19)");
}

static void setup_queue(uint32_t q)
{
	struct vq *v = &vqs[q];

	wr(REG_QUEUE_SEL, q);
	if (rd(REG_QUEUE_READY) != 0)
		fail("queue ready before set-up");
	if (rd(REG_QUEUE_NUM_MAX) < QSIZE)
		fail("queue too small");
	wr(REG_QUEUE_NUM, QSIZE);
	wr(REG_QUEUE_DESC_LOW, (uint32_t)v->desc);
	wr(REG_QUEUE_DESC_HIGH, 0);
	wr(REG_QUEUE_DRIVER_LOW, (uint32_t)v->avail);
	wr(REG_QUEUE_DRIVER_HIGH, 0);
	wr(REG_QUEUE_DEVICE_LOW, (uint32_t)v->used);
	wr(REG_QUEUE_DEVICE_HIGH, 0);
	wr(REG_QUEUE_READY, 1);
}

/* Makes descriptor @head available on queue @q and notifies. */
static void post(uint32_t q, uint16_t head)
{
	struct vq *v = &vqs[q];

	v->avail[2 + v->avail_idx % QSIZE] = head;
	barrier();
	v->avail_idx++;
	v->avail[1] = v->avail_idx;
	barrier();
	wr(REG_QUEUE_NOTIFY, q);
}

static void post_rx(uint16_t i)
{
	vqs[0].desc[i] = (struct desc){(uint32_t)rx_buf[i], HDR + PAYLOAD, DESC_F_WRITE, 0};
	post(0, i);
}

static uint16_t used_idx(uint32_t q)
{
	return (uint16_t)(vqs[q].used[0] >> 16);
}

static void bring_up(void)
{
	find_device();
	set_status(0);
	set_status(S_ACK);
	set_status(S_ACK | S_DRIVER);
	wr(REG_DEVICE_FEAT_SEL, 1);
	if (!(rd(REG_DEVICE_FEATURES) & 1))
		fail("VIRTIO_F_VERSION_1 not offered");
	wr(REG_DRIVER_FEAT_SEL, 0);
	wr(REG_DRIVER_FEATURES, 0);
	wr(REG_DRIVER_FEAT_SEL, 1);
	wr(REG_DRIVER_FEATURES, 1); /* VERSION_1 only: stream sockets */
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK);
	for (uint32_t q = 0; q < 3; q++)
		setup_queue(q);
	set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	guest_cid = rd(REG_CONFIG) | (uint64_t)rd(REG_CONFIG + 4) << 32;
	for (uint16_t i = 0; i < NR_RX; i++)
		post_rx(i);
}

/* One packet to the host, synchronously (waits until the device consumed it). */
static void send(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		 const char *data, uint32_t len)
{
	struct hdr *h = (struct hdr *)tx_buf;
	struct vq *v = &vqs[1];
	uint16_t head = v->avail_idx % QSIZE;
	uint16_t want = (uint16_t)(used_idx(1) + 1);
	uint64_t start;

	h->src_cid = guest_cid;
	h->dst_cid = HOST_CID;
	h->src_port = src_port;
	h->dst_port = dst_port;
	h->len = len;
	h->type = 1;
	h->op = op;
	h->flags = flags;
	h->buf_alloc = GUEST_BUF;
	h->fwd_cnt = fwd_cnt;
	memcpy(tx_buf + HDR, data, len);
	v->desc[head] = (struct desc){(uint32_t)tx_buf, HDR + len, 0, 0};
	post(1, head);
	start = rdtsc();
	while (used_idx(1) != want) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail("the device did not take our packet");
		cpu_relax();
	}
}

/* Waits for the next packet from the host; its payload (NUL-terminated) into @data. */
static void recv(struct hdr *h, char *data)
{
	struct vq *v = &vqs[0];
	uint64_t start = rdtsc();
	uint32_t id, len;

	while (used_idx(0) == v->used_seen) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail("no packet from the host");
		if (rd(REG_STATUS) & S_NEEDS_RESET)
			fail("device needs a reset");
		cpu_relax();
	}
	barrier();
	id = v->used[1 + 2 * (v->used_seen % QSIZE)];
	len = v->used[2 + 2 * (v->used_seen % QSIZE)];
	v->used_seen++;
	if (id >= NR_RX || len < HDR || len > HDR + PAYLOAD) {
		print("rx used element: id %u len %u\n", id, len);
		fail("bad rx used element");
	}
	memcpy(h, rx_buf[id], HDR);
	if (h->len != len - HDR || h->src_cid != HOST_CID || h->dst_cid != guest_cid ||
	    h->type != 1) {
		print("rx header: op %u len %u (used %u) cid %u -> %u type %u\n", h->op, h->len,
		      len, (uint32_t)h->src_cid, (uint32_t)h->dst_cid, h->type);
		fail("bad rx header");
	}
	memcpy(data, rx_buf[id] + HDR, h->len);
	data[h->len] = '\0';
	post_rx((uint16_t)id);
}

static bool streq(const char *a, const char *b)
{
	size_t n = strlen(b);

	return strlen(a) == n && !memcmp(a, b, n);
}

/* (a) The host connects to our port 52 and says "ping". */
static void listen_test(void)
{
	static char data[PAYLOAD + 1];
	struct hdr h;
	uint32_t peer = 0;
	bool connected = false, answered = false;

	putln("vsock: listening on port 52");
	for (;;) {
		recv(&h, data);
		if (h.op == OP_REQUEST && h.dst_port == 52 && !connected) {
			peer = h.src_port;
			connected = true;
			print("vsock: connection from host port %u\n", peer);
			send(OP_RESPONSE, 52, peer, 0, "", 0);
		} else if (!connected || h.dst_port != 52 || h.src_port != peer) {
			if (h.op != OP_RST)
				send(OP_RST, h.dst_port, h.src_port, 0, "", 0);
		} else if (h.op == OP_RW) {
			fwd_cnt += h.len;
			print("vsock: got %s\n", data);
			if (streq(data, "ping"))
				send(OP_RW, 52, peer, 0, "pong", 4);
			else
				send(OP_RW, 52, peer, 0, data, h.len);
			answered = true;
		} else if (h.op == OP_CREDIT_REQ) {
			send(OP_CREDIT_UPDATE, 52, peer, 0, "", 0);
		} else if (h.op == OP_SHUTDOWN || h.op == OP_RST) {
			if (h.op == OP_SHUTDOWN)
				send(OP_RST, 52, peer, 0, "", 0);
			if (!answered)
				fail("the host closed before sending anything");
			putln("vsock: the host closed the connection");
			return;
		}
	}
}

/* (b) We connect to host port 53 and say "hello". */
static void connect_test(void)
{
	static char data[PAYLOAD + 1];
	struct hdr h;

	send(OP_REQUEST, 1234, 53, 0, "", 0);
	recv(&h, data);
	if (h.op == OP_RST)
		fail("the host refused the connection to port 53");
	if (h.op != OP_RESPONSE || h.src_port != 53 || h.dst_port != 1234) {
		print("op %u %u -> %u\n", h.op, h.src_port, h.dst_port);
		fail("expected RESPONSE");
	}
	putln("vsock: connected to host port 53");
	send(OP_RW, 1234, 53, 0, "hello", 5);
	for (;;) {
		recv(&h, data);
		if (h.op == OP_RW)
			break;
		if (h.op == OP_CREDIT_REQ)
			send(OP_CREDIT_UPDATE, 1234, 53, 0, "", 0);
		else if (h.op != OP_CREDIT_UPDATE) {
			print("op %u\n", h.op);
			fail("expected the host's answer");
		}
	}
	fwd_cnt += h.len;
	print("vsock: got %s\n", data);
	/* Close: SHUTDOWN both ways; the device answers RST. */
	send(OP_SHUTDOWN, 1234, 53, 3, "", 0);
	do
		recv(&h, data);
	while (h.op != OP_RST);
	putln("vsock: closed");
}

/* (c) Host port 54 has no listener: RST. */
static void refused_test(void)
{
	static char data[PAYLOAD + 1];
	struct hdr h;

	send(OP_REQUEST, 1235, 54, 0, "", 0);
	recv(&h, data);
	if (h.op != OP_RST || h.src_port != 54 || h.dst_port != 1235) {
		print("op %u %u -> %u\n", h.op, h.src_port, h.dst_port);
		fail("expected RST");
	}
	putln("vsock: port 54 refused");
}

int main(void);
int main(void)
{
	bring_up();
	print("vsock: guest cid %u\n", (uint32_t)guest_cid);
	if (cmdline_has("vsock=listen"))
		listen_test();
	else if (cmdline_has("vsock=connect"))
		connect_test();
	else if (cmdline_has("vsock=refused"))
		refused_test();
	else
		fail("no vsock=listen|connect|refused on the command line");
	if (rd(REG_STATUS) & S_NEEDS_RESET)
		fail("device needs a reset");
	set_status(0);
	putln("SUCCESS");
	reset();
}
