// SPDX-License-Identifier: Apache-2.0
/* The i8042 model without KVM: fake irq and reset callbacks. */
#include "test.h"

#include <errno.h>

#include "devices/legacy/i8042.h"

#define DATA   0 /* port 0x60 */
#define STATUS 4 /* port 0x64 */

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_A2	0x08
#define STS_INH 0x10

struct fake {
	int level;
	int calls;  /* set_irq calls */
	int pulses; /* completed 1-then-0 pairs */
	int resets;
};

static void fake_set_irq(void *opaque, int level)
{
	struct fake *f = opaque;

	if (!level && f->level)
		f->pulses++;
	f->level = level;
	f->calls++;
}

static void fake_reset(void *opaque)
{
	struct fake *f = opaque;

	f->resets++;
}

static const struct i8042_ops fake_ops = {
    .set_irq = fake_set_irq,
    .reset = fake_reset,
};

static const uint8_t cad[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14};

static uint8_t rd(struct i8042 *k, unsigned int port)
{
	uint8_t v = 0xee;

	i8042_io(k, port, &v, 1, false);
	return v;
}

static void wr(struct i8042 *k, unsigned int port, uint8_t v)
{
	i8042_io(k, port, &v, 1, true);
}

/* Controller command with a data argument, as Linux's i8042_command() does it. */
static void cmd_arg(struct i8042 *k, uint8_t cmd, uint8_t arg)
{
	wr(k, STATUS, cmd);
	wr(k, DATA, arg);
}

TEST(reset_state)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	CHECK_EQ(rd(&k, STATUS), STS_SYS | STS_INH);
	CHECK_EQ(rd(&k, DATA), 0); /* empty output buffer */
	CHECK_EQ(k.missed_read_count, 1);
	for (unsigned int p = 1; p < 4; p++)
		CHECK_EQ(rd(&k, p), 0);
	CHECK_EQ(f.calls, 0);
	i8042_destroy(&k);
}

TEST(reset_command_calls_reset)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	wr(&k, STATUS, 0xfe);
	CHECK_EQ(f.resets, 1);
	CHECK_EQ(k.reset_count, 1);
	wr(&k, STATUS, 0xff); /* pulses no line */
	CHECK_EQ(f.resets, 1);
	/* Output port bit 0 is the reset line, active low. */
	cmd_arg(&k, 0xd1, 0xdf);
	CHECK_EQ(f.resets, 1);
	wr(&k, STATUS, 0xd0);
	CHECK_EQ(rd(&k, DATA), 0xdf);
	cmd_arg(&k, 0xd1, 0xde);
	CHECK_EQ(f.resets, 2);
	CHECK_EQ(k.reset_count, 2);
	i8042_destroy(&k);
}

TEST(ctrl_alt_del_sequence_and_irq)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(f.pulses, 1);
	CHECK_EQ(f.level, 0); /* an edge: asserted then deasserted */
	for (size_t i = 0; i < sizeof(cad); i++) {
		CHECK_EQ(rd(&k, STATUS) & STS_OBF, STS_OBF);
		CHECK_EQ(rd(&k, DATA), cad[i]);
		/* One edge per byte: the next one is announced after each read. */
		CHECK_EQ(f.pulses, i + 1 < sizeof(cad) ? (int)i + 2 : (int)sizeof(cad));
	}
	CHECK_EQ(rd(&k, STATUS) & STS_OBF, 0);
	CHECK_EQ(f.calls, 2 * (int)sizeof(cad));
	CHECK_EQ(k.read_count, sizeof(cad));
	i8042_destroy(&k);
}

TEST(ctrl_alt_del_irq_needs_ctr_bit0)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	cmd_arg(&k, 0x60, 0x04); /* keyboard interrupt off */
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(f.calls, 0);
	CHECK_EQ(rd(&k, STATUS) & STS_OBF, STS_OBF);
	CHECK_EQ(rd(&k, DATA), cad[0]);
	CHECK_EQ(f.calls, 0);
	/* Enabling it with data waiting is an edge. */
	cmd_arg(&k, 0x60, 0x05);
	CHECK_EQ(f.pulses, 1);
	CHECK_EQ(rd(&k, DATA), cad[1]);
	CHECK_EQ(f.pulses, 2);
	i8042_destroy(&k);
}

TEST(ctr_read_write)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	wr(&k, STATUS, 0x20);
	CHECK_EQ(rd(&k, STATUS), STS_OBF | STS_SYS | STS_A2 | STS_INH);
	/* XLATE (0x40) clear: Linux then decodes raw set-2 scancodes. */
	CHECK_EQ(rd(&k, DATA), 0x05);
	CHECK_EQ(rd(&k, STATUS), STS_SYS | STS_A2 | STS_INH);
	cmd_arg(&k, 0x60, 0x30);
	CHECK_EQ(rd(&k, STATUS), STS_INH); /* A2 clear after the data write; SYS follows CTR */
	wr(&k, STATUS, 0x20);
	CHECK_EQ(rd(&k, DATA), 0x30);
	/* 0xad/0xae and 0xa7/0xa8 toggle the CTR disable bits. */
	wr(&k, STATUS, 0xae);
	wr(&k, STATUS, 0xa8);
	wr(&k, STATUS, 0x20);
	CHECK_EQ(rd(&k, DATA), 0x00);
	wr(&k, STATUS, 0xad);
	wr(&k, STATUS, 0x20);
	CHECK_EQ(rd(&k, DATA), 0x10);
	CHECK_EQ(f.pulses, 1); /* only the first reply: CTR 0x30 has the interrupt off */
	i8042_destroy(&k);
}

TEST(controller_replies)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	cmd_arg(&k, 0xcb, 0x01);
	wr(&k, STATUS, 0xca);
	CHECK_EQ(rd(&k, DATA), 0x01);
	wr(&k, STATUS, 0xaa);
	CHECK_EQ(rd(&k, DATA), 0x55);
	wr(&k, STATUS, 0xab);
	CHECK_EQ(rd(&k, DATA), 0x00);
	cmd_arg(&k, 0xd2, 0x42); /* write keyboard output buffer */
	CHECK_EQ(rd(&k, STATUS) & STS_OBF, STS_OBF);
	CHECK_EQ(rd(&k, DATA), 0x42);
	/* No AUX port: its loopback and write commands take their byte silently. */
	cmd_arg(&k, 0xd3, 0x5a);
	cmd_arg(&k, 0xd4, 0xf4);
	wr(&k, STATUS, 0xa9);
	CHECK_EQ(rd(&k, STATUS) & STS_OBF, 0);
	CHECK_EQ(k.missed_write_count, 1); /* 0xa9 */
	CHECK_EQ(f.resets, 0);
	i8042_destroy(&k);
}

TEST(keyboard_commands)
{
	static const struct {
		size_t nout, nin;
		uint8_t out[2], in[3];
	} cases[] = {
	    {1, 2, {0xff}, {0xfa, 0xaa}},	      /* reset: ACK, then BAT passed */
	    {1, 1, {0xf4}, {0xfa}},		      /* enable */
	    {1, 1, {0xf5}, {0xfa}},		      /* disable */
	    {1, 3, {0xf2}, {0xfa, 0xab, 0x83}},	      /* identify: an MF2 keyboard */
	    {2, 2, {0xed, 0x07}, {0xfa, 0xfa}},	      /* LEDs and their argument */
	    {2, 3, {0xf0, 0x00}, {0xfa, 0xfa, 0x02}}, /* current scancode set: 2 */
	    {2, 2, {0xf0, 0x02}, {0xfa, 0xfa}},	      /* select set 2 */
	    {1, 1, {0xee}, {0xee}},		      /* echo */
	    {1, 1, {0x12}, {0xfe}},		      /* not a command: resend */
	};
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t i = 0; i < cases[c].nout; i++)
			wr(&k, DATA, cases[c].out[i]);
		for (size_t i = 0; i < cases[c].nin; i++)
			CHECK_EQ(rd(&k, DATA), cases[c].in[i]);
		CHECK_EQ(rd(&k, STATUS) & STS_OBF, 0);
	}
	CHECK(f.pulses > 0);
	i8042_destroy(&k);
}

TEST(reply_goes_before_queued_keys)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	wr(&k, STATUS, 0x20);
	CHECK_EQ(rd(&k, DATA), 0x05);
	for (size_t i = 0; i < sizeof(cad); i++)
		CHECK_EQ(rd(&k, DATA), cad[i]);
	i8042_destroy(&k);
}

TEST(buffer_full_enospc)
{
	struct i8042 k;
	struct fake f = {0};

	i8042_init(&k, &fake_ops, &f);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), -ENOSPC);
	/* Nothing of the refused sequence was queued. */
	for (size_t i = 0; i < sizeof(cad); i++)
		CHECK_EQ(rd(&k, DATA), cad[i]);
	CHECK_EQ(rd(&k, STATUS) & STS_OBF, 0);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	i8042_destroy(&k);
}

TEST(wide_access_and_counters)
{
	struct i8042 k;
	struct i8042_metrics m;
	uint8_t d[4] = {0xee, 0xee, 0xee, 0xee};

	i8042_init(&k, NULL, NULL); /* no callbacks: must not crash */
	i8042_io(&k, STATUS, d, 4, false);
	CHECK_EQ(d[0], STS_SYS | STS_INH);
	CHECK_EQ(d[1] | d[2] | d[3], 0);
	wr(&k, 2, 0x12); /* ignored */
	wr(&k, STATUS, 0xfe);
	CHECK_EQ(i8042_send_ctrl_alt_del(&k), 0);
	rd(&k, DATA);
	i8042_get_metrics(&k, &m);
	CHECK_EQ(m.reset_count, 1);
	CHECK_EQ(m.write_count, 1);
	CHECK_EQ(m.read_count, 1);
	CHECK_EQ(m.error_count, 0);
	i8042_destroy(&k);
}

TEST_MAIN(TEST_ENTRY(reset_state), TEST_ENTRY(reset_command_calls_reset),
	  TEST_ENTRY(ctrl_alt_del_sequence_and_irq), TEST_ENTRY(ctrl_alt_del_irq_needs_ctr_bit0),
	  TEST_ENTRY(ctr_read_write), TEST_ENTRY(controller_replies), TEST_ENTRY(keyboard_commands),
	  TEST_ENTRY(reply_goes_before_queued_keys), TEST_ENTRY(buffer_full_enospc),
	  TEST_ENTRY(wide_access_and_counters))
