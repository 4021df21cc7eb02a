// SPDX-License-Identifier: Apache-2.0
/* MMDS's ARP/IPv4/TCP endpoint (devices/mmds/stack.c) with crafted frames. */
#include "mmds_frames.h"
#include "test.h"

#include <stdlib.h>

#define MMDS_IP MMDS_DEFAULT_IPV4
#define REQ	"GET /latest/meta-data/ami-id HTTP/1.1\r\nHost: x\r\n\r\n"

static struct mmds svc;
static struct mmds_stack st;
static uint8_t frame[MMDS_STACK_IN_MAX], out[70000];
static uint64_t now = 1000;

static void setup(void)
{
	char err[MMDS_ERR_MAX];
	static const char data[] = "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-1234\"}}}";

	CHECK_EQ(mmds_init(&svc, 0), 0);
	CHECK_EQ(mmds_put(&svc, data, strlen(data), err), 0);
	CHECK_EQ(mmds_stack_init(&st, &svc), 0);
}

static void teardown(void)
{
	mmds_stack_destroy(&st);
	mmds_destroy(&svc);
}

static bool send_frame(size_t len)
{
	struct iovec iov = {frame, len};

	return mmds_stack_tx(&st, &iov, 1, now);
}

static bool seg(uint16_t sport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		const char *data)
{
	return send_frame(
	    f_tcp(frame, MMDS_IP, sport, 80, seq, ack, flags, win, data, data ? strlen(data) : 0));
}

static struct f_reply recv_frame(void)
{
	/* Two buffers, as a guest's chain: the header alone, then the rest. */
	struct iovec iov[2] = {{out, HDR}, {out + HDR, sizeof(out) - HDR}};

	return f_parse(out, mmds_stack_rx(&st, iov, 2, now));
}

/* A handshake from @sport (ISN 1000): the SYN-ACK's sequence number. */
static uint32_t connect_port(uint16_t sport, uint16_t win)
{
	struct f_reply r;

	CHECK(seg(sport, 1000, 0, F_SYN, win, NULL));
	r = recv_frame();
	CHECK_EQ(r.flags, F_SYN | F_ACK);
	CHECK_EQ(r.ack, 1001);
	CHECK(r.csum_ok);
	CHECK(seg(sport, 1001, r.seq + 1, F_ACK, win, NULL));
	return r.seq;
}

TEST(arp_for_mmds_is_answered_others_pass)
{
	static const uint8_t mmds_mac[6] = MMDS_STACK_MAC, gmac[6] = G_MAC;
	struct iovec iov;
	size_t n;

	setup();
	iov = (struct iovec){frame, f_arp(frame, 0x0a000001)};
	CHECK(!mmds_stack_tx(&st, &iov, 1, now)); /* another host's: to the TAP */
	CHECK(!mmds_stack_pending(&st, now));
	iov.iov_len = f_arp(frame, MMDS_IP);
	CHECK(mmds_stack_tx(&st, &iov, 1, now));
	CHECK(mmds_stack_pending(&st, now));
	iov = (struct iovec){out, sizeof(out)};
	n = mmds_stack_rx(&st, &iov, 1, now);
	CHECK_EQ(n, HDR + 14 + 28);
	CHECK(!memcmp(out + HDR, gmac, 6));
	CHECK_EQ(f_be16(out + HDR + 12), 0x0806);
	CHECK_EQ(f_be16(out + HDR + 14 + 6), 2);
	CHECK(!memcmp(out + HDR + 14 + 8, mmds_mac, 6));
	CHECK_EQ(f_be32(out + HDR + 14 + 14), MMDS_IP);
	CHECK_EQ(f_be32(out + HDR + 14 + 24), G_IP);
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted, 1);
	teardown();
}

TEST(other_destinations_pass_untouched)
{
	setup();
	CHECK(!send_frame(f_tcp(frame, 0x0a000001, 5000, 80, 1, 0, F_SYN, 65535, NULL, 0)));
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted, 0);
	teardown();
}

TEST(request_gets_response_then_fin_and_close)
{
	uint32_t iss;
	struct f_reply r;
	char body[4096] = "";
	size_t blen = 0;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK | F_PSH, 65535, REQ));
	for (;;) {
		r = recv_frame();
		CHECK(r.len);
		CHECK(r.csum_ok);
		CHECK_EQ(r.seq, iss + 1 + blen);
		CHECK_EQ(r.ack, 1001 + strlen(REQ));
		memcpy(body + blen, r.data, r.dlen);
		blen += r.dlen;
		if (r.flags & F_FIN)
			break;
	}
	body[blen] = '\0';
	CHECK_CONTAINS(body, "HTTP/1.1 200");
	CHECK_CONTAINS(body, "\r\n\r\nami-1234");
	CHECK(!mmds_stack_pending(&st, now));
	/* The guest acknowledges everything and closes: the connection ends. */
	CHECK(seg(40000, 1001 + strlen(REQ), iss + 2 + blen, F_ACK | F_FIN, 65535, NULL));
	r = recv_frame();
	CHECK_EQ(r.flags, F_ACK);
	CHECK_EQ(r.ack, 1001 + strlen(REQ) + 1);
	CHECK_EQ(svc.m.connections_created, 1);
	CHECK_EQ(svc.m.connections_destroyed, 1);
	CHECK_EQ(svc.m.rx_count, 1);
	teardown();
}

TEST(bad_checksums_are_dropped_unless_left_to_the_device)
{
	size_t n;

	setup();
	n = f_tcp(frame, MMDS_IP, 40000, 80, 1000, 0, F_SYN, 65535, NULL, 0);
	frame[HDR + 14 + 10] ^= 1; /* IPv4 header checksum */
	CHECK(send_frame(n));
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted_err, 1);
	n = f_tcp(frame, MMDS_IP, 40000, 80, 1000, 0, F_SYN, 65535, NULL, 0);
	frame[HDR + 14 + 20 + 16] ^= 1; /* TCP checksum */
	CHECK(send_frame(n));
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted_err, 2);
	frame[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM: the guest left it partial */
	CHECK(send_frame(n));
	CHECK(mmds_stack_pending(&st, now));
	teardown();
}

TEST(fragments_and_other_protocols_are_dropped)
{
	size_t n;

	setup();
	n = f_tcp(frame, MMDS_IP, 40000, 80, 1000, 0, F_SYN, 65535, NULL, 0);
	frame[HDR + 14 + 6] = 0x20; /* more fragments */
	frame[HDR + 14 + 10] = frame[HDR + 14 + 11] = 0;
	f_put16(frame + HDR + 14 + 10, f_csum(0, frame + HDR + 14, 20));
	CHECK(send_frame(n));
	CHECK(!mmds_stack_pending(&st, now));
	n = f_tcp(frame, MMDS_IP, 40000, 80, 1000, 0, F_SYN, 65535, NULL, 0);
	frame[HDR + 14 + 9] = 17; /* UDP */
	frame[HDR + 14 + 10] = frame[HDR + 14 + 11] = 0;
	f_put16(frame + HDR + 14 + 10, f_csum(0, frame + HDR + 14, 20));
	CHECK(send_frame(n));
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted_unusual, 2);
	/* Truncated: the IPv4 length runs past the frame. */
	n = f_tcp(frame, MMDS_IP, 40000, 80, 1000, 0, F_SYN, 65535, NULL, 0);
	CHECK(send_frame(n - 4));
	CHECK(!mmds_stack_pending(&st, now));
	CHECK_EQ(svc.m.rx_accepted_err, 1);
	teardown();
}

TEST(other_ports_and_unknown_connections_get_resets)
{
	struct f_reply r;

	setup();
	CHECK(send_frame(f_tcp(frame, MMDS_IP, 40000, 81, 7, 0, F_SYN, 65535, NULL, 0)));
	r = recv_frame();
	CHECK_EQ(r.flags, F_RST | F_ACK);
	CHECK_EQ(r.ack, 8);
	CHECK_EQ(r.sport, 81);
	CHECK(seg(40001, 5, 777, F_ACK, 65535, "x"));
	r = recv_frame();
	CHECK_EQ(r.flags, F_RST);
	CHECK_EQ(r.seq, 777);
	/* A reset is never answered. */
	CHECK(seg(40001, 5, 777, F_RST, 0, NULL));
	CHECK(!mmds_stack_pending(&st, now));
	teardown();
}

TEST(out_of_order_and_out_of_window_segments_get_a_duplicate_ack)
{
	uint32_t iss;
	struct f_reply r;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001 + 5, iss + 1, F_ACK, 65535, "later")); /* a gap */
	r = recv_frame();
	CHECK_EQ(r.flags, F_ACK);
	CHECK_EQ(r.ack, 1001);
	CHECK_EQ(r.dlen, 0);
	CHECK(seg(40000, 1001 + 100000, iss + 1, F_ACK, 65535, "far")); /* out of window */
	r = recv_frame();
	CHECK_EQ(r.ack, 1001);
	/* An ACK for what MMDS never sent: ACKed back, nothing else. */
	CHECK(seg(40000, 1001, iss + 500, F_ACK, 65535, NULL));
	r = recv_frame();
	CHECK_EQ(r.ack, 1001);
	CHECK_EQ(r.seq, iss + 1);
	CHECK(!mmds_stack_pending(&st, now));
	teardown();
}

TEST(retransmitted_data_is_taken_once)
{
	uint32_t iss;
	struct f_reply r;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, "GET /latest/"));
	r = recv_frame();
	CHECK_EQ(r.ack, 1001 + 12);
	/* The same bytes again, then overlapping ones with the rest. */
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, "GET /latest/"));
	r = recv_frame();
	CHECK_EQ(r.ack, 1001 + 12);
	CHECK_EQ(r.dlen, 0);
	CHECK(seg(40000, 1001 + 4, iss + 1, F_ACK, 65535, "/latest/ HTTP/1.0\r\n\r\n"));
	r = recv_frame();
	CHECK_EQ(r.ack, 1001 + 4 + strlen("/latest/ HTTP/1.0\r\n\r\n"));
	CHECK(r.dlen > 0);
	CHECK(!memcmp(r.data, "HTTP/1.1 200", 12));
	CHECK(strstr((const char *)r.data, "\r\n\r\nmeta-data/"));
	CHECK_EQ(svc.m.rx_count, 1);
	teardown();
}

TEST(retransmitted_syn_gets_the_syn_ack_again)
{
	struct f_reply r1, r2;

	setup();
	CHECK(seg(40000, 1000, 0, F_SYN, 65535, NULL));
	r1 = recv_frame();
	CHECK(seg(40000, 1000, 0, F_SYN, 65535, NULL));
	r2 = recv_frame();
	CHECK_EQ(r2.flags, F_SYN | F_ACK);
	CHECK_EQ(r2.seq, r1.seq);
	CHECK_EQ(svc.m.connections_created, 1);
	teardown();
}

TEST(duplicate_ack_sends_again_from_the_first_unacked_byte)
{
	uint32_t iss;
	struct f_reply r;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, REQ));
	r = recv_frame();
	CHECK_EQ(r.seq, iss + 1);
	CHECK(r.dlen > 0);
	r = recv_frame(); /* FIN */
	CHECK(r.flags & F_FIN);
	CHECK(!mmds_stack_pending(&st, now));
	/* The guest says it has nothing yet: a duplicate of its last ACK. */
	CHECK(seg(40000, 1001 + strlen(REQ), iss + 1, F_ACK, 65535, NULL));
	r = recv_frame();
	CHECK_EQ(r.seq, iss + 1);
	CHECK(r.dlen > 0);
	CHECK(!memcmp(r.data, "HTTP/1.1 200", 12));
	teardown();
}

TEST(rst_in_window_ends_the_connection_out_of_window_does_not)
{
	uint32_t iss;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001 + 70000, 0, F_RST, 0, NULL));
	CHECK_EQ(svc.m.connections_destroyed, 0);
	CHECK(seg(40000, 1001, 0, F_RST, 0, NULL));
	CHECK_EQ(svc.m.connections_destroyed, 1);
	/* Gone: its next segment is answered with a reset. */
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, "x"));
	CHECK_EQ(recv_frame().flags, F_RST);
	teardown();
}

TEST(connections_are_bounded_the_idlest_is_evicted)
{
	struct f_reply r;
	unsigned int rst = 0;

	setup();
	for (unsigned int i = 0; i < MMDS_STACK_CONNS + 1; i++) {
		now++;
		CHECK(seg((uint16_t)(30000 + i), 1000, 0, F_SYN, 65535, NULL));
	}
	CHECK_EQ(svc.m.connections_created, MMDS_STACK_CONNS + 1);
	CHECK_EQ(svc.m.connections_destroyed, 1);
	while ((r = recv_frame()).len) {
		if (r.flags & F_RST) {
			rst++;
			CHECK_EQ(r.dport, 30000); /* the oldest */
		}
	}
	CHECK_EQ(rst, 1);
	teardown();
}

TEST(a_guest_that_never_reads_gets_nothing_until_its_window_opens)
{
	uint32_t iss;
	struct f_reply r;

	setup();
	iss = connect_port(40000, 0);
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 0, REQ));
	r = recv_frame(); /* the ACK of the request only */
	CHECK_EQ(r.dlen, 0);
	CHECK(!(r.flags & F_FIN));
	CHECK(!mmds_stack_pending(&st, now));
	/* Room for 10 bytes: 10 bytes. */
	CHECK(seg(40000, 1001 + strlen(REQ), iss + 1, F_ACK, 10, NULL));
	r = recv_frame();
	CHECK_EQ(r.dlen, 10);
	CHECK(!mmds_stack_pending(&st, now));
	teardown();
}

TEST(a_request_larger_than_the_buffer_is_refused)
{
	static char big[MMDS_STACK_REQ_MAX + 1];
	uint32_t iss;
	struct f_reply r;

	setup();
	memset(big, 'a', MMDS_STACK_REQ_MAX);
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, big));
	r = recv_frame();
	CHECK_EQ(r.ack, 1001 + MMDS_STACK_REQ_MAX); /* the window's worth only */
	CHECK(!memcmp(r.data, "HTTP/1.1 400", 12));
	teardown();
}

TEST(syn_then_fin_without_a_request_closes)
{
	uint32_t iss;
	struct f_reply r;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK | F_FIN, 65535, NULL));
	r = recv_frame();
	CHECK_EQ(r.flags, F_ACK | F_FIN);
	CHECK_EQ(r.ack, 1002);
	CHECK(seg(40000, 1002, iss + 2, F_ACK, 65535, NULL));
	CHECK_EQ(svc.m.connections_destroyed, 1);
	teardown();
}

TEST(the_timer_sends_again_then_gives_up)
{
	uint32_t iss;
	struct f_reply r;
	uint64_t t0;

	setup();
	/* A SYN-ACK the guest never acknowledges goes again after the timer. */
	CHECK(seg(40000, 1000, 0, F_SYN, 65535, NULL));
	r = recv_frame();
	iss = r.seq;
	CHECK_EQ(mmds_stack_deadline(&st), now + MMDS_STACK_RTO_NS);
	CHECK(!mmds_stack_pending(&st, now + MMDS_STACK_RTO_NS - 1));
	now += MMDS_STACK_RTO_NS;
	CHECK(mmds_stack_pending(&st, now));
	r = recv_frame();
	CHECK_EQ(r.flags, F_SYN | F_ACK);
	CHECK_EQ(r.seq, iss);
	CHECK_EQ(mmds_stack_deadline(&st), now + 2 * MMDS_STACK_RTO_NS); /* doubled */
	/* Established, then the response is lost: it comes again from the first byte. */
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, REQ));
	CHECK_EQ(mmds_stack_deadline(&st), 0); /* nothing in flight */
	r = recv_frame();
	CHECK(!memcmp(r.data, "HTTP/1.1 200", 12));
	recv_frame(); /* FIN */
	t0 = now;
	for (unsigned int i = 0; i < MMDS_STACK_RETRIES; i++) {
		now = mmds_stack_deadline(&st);
		CHECK_EQ(now, t0 + (MMDS_STACK_RTO_NS << i)); /* doubled each time */
		CHECK(mmds_stack_pending(&st, now));
		r = recv_frame();
		CHECK_EQ(r.seq, iss + 1);
		CHECK(!memcmp(r.data, "HTTP/1.1 200", 12));
		recv_frame(); /* FIN */
		t0 = now;
	}
	/* Given up: a reset, and the connection is gone. */
	now = mmds_stack_deadline(&st);
	CHECK(mmds_stack_pending(&st, now));
	r = recv_frame();
	CHECK_EQ(r.flags, F_RST | F_ACK);
	CHECK_EQ(svc.m.connections_destroyed, 1);
	CHECK_EQ(mmds_stack_deadline(&st), 0);
	teardown();
}

/* A slow guest: its ACK comes after the timer asked for the SYN-ACK again. */
TEST(an_ack_after_the_syn_ack_timer_is_taken)
{
	struct f_reply r;
	uint32_t iss;

	setup();
	CHECK(seg(40000, 1000, 0, F_SYN, 65535, NULL));
	iss = recv_frame().seq;
	now += MMDS_STACK_RTO_NS;
	CHECK(mmds_stack_pending(&st, now)); /* a SYN-ACK is due again */
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, REQ));
	r = recv_frame();
	CHECK(!(r.flags & (F_RST | F_SYN)));
	CHECK(!memcmp(r.data, "HTTP/1.1 200", 12));
	/* An ACK of no SYN-ACK sent is refused with a reset; the handshake goes on. */
	CHECK(seg(40001, 1000, 0, F_SYN, 65535, NULL));
	CHECK(seg(40001, 1001, 5, F_ACK, 65535, NULL));
	while ((r = recv_frame()).len && r.dport != 40001)
		;
	CHECK_EQ(r.flags, F_RST); /* resets go before connections' frames */
	CHECK_EQ(r.seq, 5);
	r = recv_frame();
	CHECK_EQ(r.flags, F_SYN | F_ACK);
	teardown();
}

TEST(an_ack_stops_the_timer)
{
	uint32_t iss;
	struct f_reply r;
	size_t sent = 0;

	setup();
	iss = connect_port(40000, 65535);
	CHECK(seg(40000, 1001, iss + 1, F_ACK, 65535, REQ));
	while (!((r = recv_frame()).flags & F_FIN))
		sent += r.dlen;
	CHECK(mmds_stack_deadline(&st));
	CHECK(seg(40000, 1001 + strlen(REQ), iss + 2 + sent, F_ACK, 65535, NULL));
	CHECK_EQ(mmds_stack_deadline(&st), 0);
	CHECK(!mmds_stack_pending(&st, now + 100 * MMDS_STACK_RTO_NS));
	teardown();
}

TEST_MAIN(TEST_ENTRY(the_timer_sends_again_then_gives_up), TEST_ENTRY(an_ack_stops_the_timer),
	  TEST_ENTRY(an_ack_after_the_syn_ack_timer_is_taken),
	  TEST_ENTRY(arp_for_mmds_is_answered_others_pass),
	  TEST_ENTRY(other_destinations_pass_untouched),
	  TEST_ENTRY(request_gets_response_then_fin_and_close),
	  TEST_ENTRY(bad_checksums_are_dropped_unless_left_to_the_device),
	  TEST_ENTRY(fragments_and_other_protocols_are_dropped),
	  TEST_ENTRY(other_ports_and_unknown_connections_get_resets),
	  TEST_ENTRY(out_of_order_and_out_of_window_segments_get_a_duplicate_ack),
	  TEST_ENTRY(retransmitted_data_is_taken_once),
	  TEST_ENTRY(retransmitted_syn_gets_the_syn_ack_again),
	  TEST_ENTRY(duplicate_ack_sends_again_from_the_first_unacked_byte),
	  TEST_ENTRY(rst_in_window_ends_the_connection_out_of_window_does_not),
	  TEST_ENTRY(connections_are_bounded_the_idlest_is_evicted),
	  TEST_ENTRY(a_guest_that_never_reads_gets_nothing_until_its_window_opens),
	  TEST_ENTRY(a_request_larger_than_the_buffer_is_refused),
	  TEST_ENTRY(syn_then_fin_without_a_request_closes))
