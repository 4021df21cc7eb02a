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
#include "virtio.h"

#define VIRTIO_SLOTS 8

#define NR_RX	    4
#define PAYLOAD	    256
#define HDR	    44
#define GUEST_BUF   4096
#define WAIT_CYCLES 60000000000ULL /* many seconds of TSC: the host side takes its time */

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

static struct virtq vqs[3]; /* rx, tx, event */
static uint8_t rx_buf[NR_RX][HDR + PAYLOAD];
static uint8_t tx_buf[HDR + PAYLOAD];
static uint64_t guest_cid;
static uint32_t fwd_cnt; /* payload bytes we consumed on the connection */

/* Makes descriptor @head available on queue @q and notifies. */
static void post(uint32_t q, uint16_t head)
{
	virtq_post(&vqs[q], head);
	virtq_notify(&vqs[q]);
}

static void post_rx(uint16_t i)
{
	vqs[0].desc[i] =
	    (struct virtq_desc){(uint32_t)rx_buf[i], HDR + PAYLOAD, VIRTQ_DESC_F_WRITE, 0};
	post(0, i);
}

static void bring_up(void)
{
	virtio_find(19, VIRTIO_SLOTS, "no virtio-mmio v2 vsock device (id 19)");
	virtio_begin();
	virtio_features_ok(0); /* VERSION_1 only: stream sockets */
	for (uint32_t q = 0; q < 3; q++)
		virtq_setup(&vqs[q], q);
	virtio_driver_ok();
	guest_cid = virtio_rd(VIRTIO_REG_CONFIG) | (uint64_t)virtio_rd(VIRTIO_REG_CONFIG + 4) << 32;
	for (uint16_t i = 0; i < NR_RX; i++)
		post_rx(i);
}

/* One packet to the host, synchronously (waits until the device consumed it). */
static void send(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t flags,
		 const char *data, uint32_t len)
{
	struct hdr *h = (struct hdr *)tx_buf;
	struct virtq *v = &vqs[1];
	uint16_t head = v->avail_idx % VIRTQ_SIZE;
	uint32_t used_len;

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
	v->desc[head] = (struct virtq_desc){(uint32_t)tx_buf, HDR + len, 0, 0};
	post(1, head);
	virtq_wait_used(v, WAIT_CYCLES, "the device did not take our packet", &used_len);
}

/* Waits for the next packet from the host; its payload (NUL-terminated) into @data. */
static void recv(struct hdr *h, char *data)
{
	struct virtq *v = &vqs[0];
	uint64_t start = rdtsc();
	uint32_t id, len;

	while (virtq_used_idx(v) == v->used_seen) {
		if (rdtsc() - start > WAIT_CYCLES)
			fail("no packet from the host");
		if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
			fail("device needs a reset");
		cpu_relax();
	}
	id = virtq_pop(v, &len);
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
	if (virtio_rd(VIRTIO_REG_STATUS) & VIRTIO_S_NEEDS_RESET)
		fail("device needs a reset");
	virtio_set_status(0);
	putln("SUCCESS");
	reset();
}
