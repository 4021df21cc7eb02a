// SPDX-License-Identifier: Apache-2.0
/*
 * i8042 keyboard controller model. Writes are processed synchronously, so the
 * input buffer is never full (status IBF stays clear) and a reply is readable
 * as soon as the guest polls OBF.
 */
#include "devices/legacy/i8042.h"

#include <errno.h>
#include <string.h>

#define OFS_DATA   0 /* port 0x60 */
#define OFS_STATUS 4 /* port 0x64: status on read, command on write */

/* Status register. */
#define STS_OBF 0x01 /* output buffer full: port 0x60 has a byte */
#define STS_SYS 0x04 /* system flag, mirrors CTR bit 2 */
#define STS_A2	0x08 /* last write was a command (port 0x64) */
#define STS_INH 0x10 /* 1 = keyboard not inhibited */

/* Controller configuration byte (CTR). */
#define CTR_KBD_INT 0x01
#define CTR_AUX_INT 0x02
#define CTR_SYS	    0x04
#define CTR_KBD_DIS 0x10
#define CTR_AUX_DIS 0x20
#define CTR_XLATE   0x40
/*
 * Keyboard interrupt on, POST passed, and no scancode translation: Linux sees
 * XLATE clear, drives the port untranslated and decodes raw set-2 codes, which
 * is what i8042_send_ctrl_alt_del() queues.
 */
#define CTR_DEFAULT (CTR_KBD_INT | CTR_SYS)

/* Output port: bit 0 is the CPU reset line (active low), bit 1 the A20 gate. */
#define OUTP_RESET   0x01
#define OUTP_A20     0x02
#define OUTP_DEFAULT (OUTP_RESET | OUTP_A20)

/* Controller commands (port 0x64). */
#define CMD_READ_CTR	  0x20
#define CMD_WRITE_CTR	  0x60
#define CMD_AUX_DISABLE	  0xa7
#define CMD_AUX_ENABLE	  0xa8
#define CMD_SELF_TEST	  0xaa
#define CMD_KBD_TEST	  0xab
#define CMD_KBD_DISABLE	  0xad
#define CMD_KBD_ENABLE	  0xae
#define CMD_READ_MODE	  0xca
#define CMD_WRITE_MODE	  0xcb
#define CMD_READ_OUTP	  0xd0
#define CMD_WRITE_OUTP	  0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_WRITE_AUX_OUT 0xd3
#define CMD_WRITE_AUX	  0xd4
#define CMD_PULSE_BASE	  0xf0 /* 0xf0-0xff: pulse output port bits 0-3 where clear */

#define SELF_TEST_OK 0x55
#define KBD_TEST_OK  0x00

/* Keyboard commands (port 0x60) and replies. */
#define KBD_SET_LEDS	 0xed
#define KBD_ECHO	 0xee
#define KBD_SCANCODE	 0xf0
#define KBD_GET_ID	 0xf2
#define KBD_TYPEMATIC	 0xf3
#define KBD_ENABLE	 0xf4
#define KBD_DISABLE	 0xf5
#define KBD_RESET	 0xff
#define KBD_ACK		 0xfa
#define KBD_BAT_OK	 0xaa
#define KBD_RESEND	 0xfe
#define KBD_ID1		 0xab
#define KBD_ID2		 0x83
#define KBD_SCANCODE_SET 0x02

/* Ctrl, Alt, Del down, then Del, Alt, Ctrl up: scancode set 2, as Firecracker sends. */
static const uint8_t ctrl_alt_del[] = {
    0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0, 0x71, 0xf0, 0x11, 0xf0, 0x14,
};

/* A byte became readable at port 0x60: an edge on IRQ 1 if the guest enabled it. */
static void pulse_irq(struct i8042 *k)
{
	if (!(k->ctr & CTR_KBD_INT) || !k->ops || !k->ops->set_irq)
		return;
	k->ops->set_irq(k->opaque, 1);
	k->ops->set_irq(k->opaque, 0);
}

static unsigned int buf_room(const struct i8042 *k)
{
	return I8042_BUF_SIZE - k->count;
}

/* Keyboard data: queued behind what the guest has not read yet. */
static void push_tail(struct i8042 *k, uint8_t b)
{
	if (!buf_room(k)) {
		k->error_count++;
		return;
	}
	k->buf[(k->head + k->count) % I8042_BUF_SIZE] = b;
	if (k->count++ == 0)
		pulse_irq(k);
}

/*
 * A controller reply goes in front of queued keyboard data: the guest polls
 * OBF right after its command and must read the reply, not a keystroke (a
 * real controller holds the keyboard off while it executes a command).
 */
static void push_head(struct i8042 *k, uint8_t b)
{
	if (!buf_room(k)) {
		k->count--; /* make room by dropping the newest keyboard byte */
		k->error_count++;
	}
	k->head = (k->head + I8042_BUF_SIZE - 1) % I8042_BUF_SIZE;
	k->buf[k->head] = b;
	k->count++;
	pulse_irq(k);
}

static uint8_t read_data(struct i8042 *k)
{
	uint8_t b;

	if (!k->count) {
		k->missed_read_count++;
		return 0;
	}
	b = k->buf[k->head];
	k->head = (k->head + 1) % I8042_BUF_SIZE;
	k->count--;
	k->read_count++;
	/* Linux reads one byte per interrupt: the next byte needs its own edge. */
	if (k->count)
		pulse_irq(k);
	return b;
}

static uint8_t read_status(const struct i8042 *k)
{
	uint8_t s = STS_INH;

	if (k->count)
		s |= STS_OBF;
	if (k->ctr & CTR_SYS)
		s |= STS_SYS;
	if (k->last_was_cmd)
		s |= STS_A2;
	return s;
}

static void write_ctr(struct i8042 *k, uint8_t v)
{
	bool was_enabled = k->ctr & CTR_KBD_INT;

	k->ctr = v;
	/* Enabling the interrupt with a byte waiting is a rising edge on IRQ 1. */
	if (!was_enabled && (v & CTR_KBD_INT) && k->count)
		pulse_irq(k);
}

/* Returns true when the guest asked for a CPU reset. */
static bool write_command(struct i8042 *k, uint8_t cmd)
{
	k->pending_cmd = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		push_head(k, k->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_MODE:
	case CMD_WRITE_OUTP:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		k->pending_cmd = cmd; /* the next data-port write is its argument */
		break;
	case CMD_AUX_DISABLE:
		k->ctr |= CTR_AUX_DIS;
		break;
	case CMD_AUX_ENABLE:
		k->ctr &= (uint8_t)~CTR_AUX_DIS;
		break;
	case CMD_SELF_TEST:
		push_head(k, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST:
		push_head(k, KBD_TEST_OK);
		break;
	case CMD_KBD_DISABLE:
		k->ctr |= CTR_KBD_DIS;
		break;
	case CMD_KBD_ENABLE:
		k->ctr &= (uint8_t)~CTR_KBD_DIS;
		break;
	case CMD_READ_MODE:
		push_head(k, k->mode);
		break;
	case CMD_READ_OUTP:
		push_head(k, k->outp);
		break;
	default:
		/* 0xf0-0xff pulse the output port bits that are clear in the command. */
		if (cmd >= CMD_PULSE_BASE) {
			if (!(cmd & OUTP_RESET))
				return true;
			break;
		}
		/* No AUX port, so its test (0xa9) and the rest get no reply. */
		k->missed_write_count++;
		break;
	}
	return false;
}

/* A data-port byte the keyboard receives. */
static void write_keyboard(struct i8042 *k, uint8_t v)
{
	uint8_t param_of = k->kbd_cmd;

	k->kbd_cmd = 0;
	if (param_of) {
		push_tail(k, KBD_ACK);
		/* "F0 00" asks for the current set; only set 2 is offered. */
		if (param_of == KBD_SCANCODE && v == 0)
			push_tail(k, KBD_SCANCODE_SET);
		return;
	}
	switch (v) {
	case KBD_RESET:
		k->kbd_scanning = true;
		push_tail(k, KBD_ACK);
		push_tail(k, KBD_BAT_OK);
		break;
	case KBD_ECHO:
		push_tail(k, KBD_ECHO);
		break;
	case KBD_GET_ID:
		push_tail(k, KBD_ACK);
		push_tail(k, KBD_ID1);
		push_tail(k, KBD_ID2);
		break;
	case KBD_SET_LEDS:
	case KBD_TYPEMATIC:
	case KBD_SCANCODE:
		k->kbd_cmd = v;
		push_tail(k, KBD_ACK);
		break;
	case KBD_ENABLE:
		k->kbd_scanning = true;
		push_tail(k, KBD_ACK);
		break;
	case KBD_DISABLE:
		k->kbd_scanning = false;
		push_tail(k, KBD_ACK);
		break;
	default:
		/* 0xf6-0xfe (defaults, typematic modes, resend): acknowledged. */
		push_tail(k, v > KBD_DISABLE ? KBD_ACK : KBD_RESEND);
		break;
	}
}

/* Returns true when the guest asked for a CPU reset. */
static bool write_data(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->pending_cmd;

	k->pending_cmd = 0;
	switch (cmd) {
	case 0:
		write_keyboard(k, v);
		break;
	case CMD_WRITE_CTR:
		write_ctr(k, v);
		break;
	case CMD_WRITE_MODE:
		k->mode = v;
		break;
	case CMD_WRITE_OUTP:
		k->outp = v;
		/* The reset line is active low. */
		if (!(v & OUTP_RESET))
			return true;
		break;
	case CMD_WRITE_KBD_OUT:
		push_tail(k, v); /* as if the keyboard had sent it */
		break;
	default:
		break; /* 0xd3/0xd4: there is no AUX device to take the byte */
	}
	return false;
}

void i8042_init(struct i8042 *k, const struct i8042_ops *ops, void *opaque)
{
	memset(k, 0, sizeof(*k));
	pthread_mutex_init(&k->lock, NULL);
	k->ops = ops;
	k->opaque = opaque;
	k->ctr = CTR_DEFAULT;
	k->outp = OUTP_DEFAULT;
	k->kbd_scanning = true;
}

void i8042_destroy(struct i8042 *k)
{
	pthread_mutex_destroy(&k->lock);
}

void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	bool reset = false;

	if (!len)
		return;
	if (!is_write)
		memset(data, offset < I8042_NR_PORTS ? 0 : 0xff, len);
	if (offset != OFS_DATA && offset != OFS_STATUS) {
		/* Ports 0x61-0x63 are not ours to model: read 0, ignore writes. */
		return;
	}

	/* 8-bit ports: a wider access uses its first byte. */
	pthread_mutex_lock(&k->lock);
	if (!is_write) {
		data[0] = offset == OFS_DATA ? read_data(k) : read_status(k);
	} else {
		k->write_count++;
		k->last_was_cmd = offset == OFS_STATUS;
		if (offset == OFS_STATUS)
			reset = write_command(k, data[0]);
		else
			reset = write_data(k, data[0]);
		if (reset)
			k->reset_count++;
	}
	pthread_mutex_unlock(&k->lock);

	/* Outside the lock: the VMM may tear the machine down from here. */
	if (reset && k->ops && k->ops->reset)
		k->ops->reset(k->opaque);
}

int i8042_send_ctrl_alt_del(struct i8042 *k)
{
	int ret = 0;

	pthread_mutex_lock(&k->lock);
	if (buf_room(k) < sizeof(ctrl_alt_del)) {
		ret = -ENOSPC;
	} else {
		for (size_t i = 0; i < sizeof(ctrl_alt_del); i++)
			push_tail(k, ctrl_alt_del[i]);
	}
	pthread_mutex_unlock(&k->lock);
	return ret;
}

void i8042_get_metrics(struct i8042 *k, struct i8042_metrics *m)
{
	pthread_mutex_lock(&k->lock);
	m->error_count = k->error_count;
	m->missed_read_count = k->missed_read_count;
	m->missed_write_count = k->missed_write_count;
	m->read_count = k->read_count;
	m->reset_count = k->reset_count;
	m->write_count = k->write_count;
	pthread_mutex_unlock(&k->lock);
}

/*
 * Section "i8042", version 1: ctr outp mode pending_cmd kbd_cmd (u8),
 * last_was_cmd kbd_scanning (bool), count (u8), then the output buffer's
 * bytes oldest first.
 */
void i8042_save(struct i8042 *k, struct state_writer *w)
{
	pthread_mutex_lock(&k->lock);
	state_section_begin(w, "i8042", 0);
	sw_u8(w, k->ctr);
	sw_u8(w, k->outp);
	sw_u8(w, k->mode);
	sw_u8(w, k->pending_cmd);
	sw_u8(w, k->kbd_cmd);
	sw_bool(w, k->last_was_cmd);
	sw_bool(w, k->kbd_scanning);
	sw_u8(w, (uint8_t)k->count);
	for (unsigned int i = 0; i < k->count; i++)
		sw_u8(w, k->buf[(k->head + i) % I8042_BUF_SIZE]);
	state_section_end(w);
	pthread_mutex_unlock(&k->lock);
}

int i8042_restore(struct i8042 *k, const struct state_file *f)
{
	struct state_reader r;
	uint8_t n;

	if (state_section_find(f, "i8042", 0, &r))
		return -ENOENT;
	pthread_mutex_lock(&k->lock);
	k->ctr = sr_u8(&r);
	k->outp = sr_u8(&r);
	k->mode = sr_u8(&r);
	k->pending_cmd = sr_u8(&r);
	k->kbd_cmd = sr_u8(&r);
	k->last_was_cmd = sr_bool(&r);
	k->kbd_scanning = sr_bool(&r);
	n = sr_u8(&r);
	if (n > I8042_BUF_SIZE)
		sr_fail(&r);
	else
		sr_bytes(&r, k->buf, n);
	k->head = 0;
	k->count = sr_ok(&r) ? n : 0;
	pthread_mutex_unlock(&k->lock);
	return sr_ok(&r) ? 0 : -EINVAL;
}
