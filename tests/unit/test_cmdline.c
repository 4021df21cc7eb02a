// SPDX-License-Identifier: Apache-2.0
/*
 * The kernel command-line builder: defaults, appends, the length limit, lookups;
 * and the kvm_pvm guest profile that edits it.
 */
#include "test.h"

#include "boot/cmdline.h"
#include "boot/pvm_profile.h"
#include "util/log.h"

#include <errno.h>

static struct cmdline cl;
static char big[LAYOUT_CMDLINE_MAX + 2];

/* A string of @n 'a's in big[]. */
static const char *as(size_t n)
{
	memset(big, 'a', n);
	big[n] = '\0';
	return big;
}

TEST(default_line)
{
	CHECK_EQ(cmdline_init(&cl, NULL), 0);
	CHECK_STR(cl.buf, CMDLINE_DEFAULT);
	CHECK_EQ(cl.len, strlen(CMDLINE_DEFAULT));
	CHECK_CONTAINS(cl.buf, "reboot=k panic=1 pci=off");
}

TEST(custom_base)
{
	CHECK_EQ(cmdline_init(&cl, "console=ttyS0 quiet"), 0);
	CHECK_STR(cl.buf, "console=ttyS0 quiet");
	CHECK_EQ(cl.len, 19);
	CHECK_EQ(cmdline_init(&cl, ""), 0);
	CHECK_STR(cl.buf, "");
	CHECK_EQ(cl.len, 0);
}

TEST(append)
{
	CHECK_EQ(cmdline_init(&cl, ""), 0);
	CHECK_EQ(cmdline_append(&cl, "console=ttyS0"), 0);
	CHECK_STR(cl.buf, "console=ttyS0"); /* no leading space */
	CHECK_EQ(cmdline_append(&cl, "nopv"), 0);
	CHECK_STR(cl.buf, "console=ttyS0 nopv");
	CHECK_EQ(cmdline_append(&cl, ""), 0); /* no stray space */
	CHECK_STR(cl.buf, "console=ttyS0 nopv");
	CHECK_EQ(cl.len, strlen(cl.buf));
	CHECK_EQ(cmdline_append(&cl, NULL), -EINVAL);

	CHECK_EQ(cmdline_init(&cl, NULL), 0);
	CHECK_EQ(cmdline_append(&cl, "root=/dev/vda"), 0);
	CHECK_STR(cl.buf, CMDLINE_DEFAULT " root=/dev/vda");
	CHECK_EQ(cl.len, strlen(cl.buf));
}

TEST(init_capacity)
{
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX - 1)), 0);
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 1);
	CHECK_EQ(cl.buf[LAYOUT_CMDLINE_MAX - 1], '\0');
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX)), -E2BIG);
	CHECK_EQ(cl.len, 0);
	CHECK_STR(cl.buf, "");
}

TEST(append_capacity)
{
	char before[LAYOUT_CMDLINE_MAX];

	/* On an empty line: exactly LAYOUT_CMDLINE_MAX - 1 characters fit. */
	CHECK_EQ(cmdline_init(&cl, ""), 0);
	CHECK_EQ(cmdline_append(&cl, as(LAYOUT_CMDLINE_MAX)), -E2BIG);
	CHECK_EQ(cl.len, 0);
	CHECK_EQ(cmdline_append(&cl, as(LAYOUT_CMDLINE_MAX - 1)), 0);
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 1);
	CHECK_EQ(cmdline_append(&cl, "x"), -E2BIG);
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 1);
	CHECK_EQ(strlen(cl.buf), LAYOUT_CMDLINE_MAX - 1);

	/* The separating space counts: 4093 + " x" is 4095 and fits, + " y" does not. */
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX - 3)), 0);
	CHECK_EQ(cmdline_append(&cl, "x"), 0);
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 1);
	CHECK_EQ(cl.buf[LAYOUT_CMDLINE_MAX - 3], ' ');
	CHECK_EQ(cl.buf[LAYOUT_CMDLINE_MAX - 2], 'x');
	memcpy(before, cl.buf, sizeof(before));
	CHECK_EQ(cmdline_append(&cl, "y"), -E2BIG);
	CHECK(!memcmp(before, cl.buf, sizeof(before)));
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 1);

	/* 4094 characters: appending one more would need a space, so two bytes. */
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX - 2)), 0);
	CHECK_EQ(cmdline_append(&cl, "x"), -E2BIG);
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 2);
	CHECK_EQ(strlen(cl.buf), LAYOUT_CMDLINE_MAX - 2);
}

TEST(has_whole_words)
{
	CHECK_EQ(cmdline_init(&cl, "nopvx console=ttyS0 xnopv quiet foo.bar=1"), 0);
	CHECK(!cmdline_has(&cl, "nopv"));
	CHECK(cmdline_has(&cl, "console"));
	CHECK(!cmdline_has(&cl, "cons"));
	CHECK(!cmdline_has(&cl, "ttyS0"));
	CHECK(!cmdline_has(&cl, "console=ttyS"));
	CHECK(cmdline_has(&cl, "console=ttyS0"));
	CHECK(cmdline_has(&cl, "nopvx"));
	CHECK(cmdline_has(&cl, "quiet"));
	CHECK(cmdline_has(&cl, "foo.bar"));
	CHECK(!cmdline_has(&cl, "foo"));
	CHECK(!cmdline_has(&cl, ""));

	CHECK_EQ(cmdline_append(&cl, "nopv"), 0); /* last word */
	CHECK(cmdline_has(&cl, "nopv"));
	CHECK_EQ(cmdline_init(&cl, "nopv=1 a"), 0); /* first word, with a value */
	CHECK(cmdline_has(&cl, "nopv"));
	CHECK_EQ(cmdline_init(&cl, "  a\tnopv  "), 0); /* any whitespace */
	CHECK(cmdline_has(&cl, "nopv"));
	CHECK_EQ(cmdline_init(&cl, ""), 0);
	CHECK(!cmdline_has(&cl, "nopv"));
	CHECK_EQ(cmdline_init(&cl, NULL), 0);
	CHECK(cmdline_has(&cl, "i8042.dumbkbd"));
	CHECK(cmdline_has(&cl, "reboot"));
	CHECK(!cmdline_has(&cl, "console"));
}

TEST(has_quotes_and_init_args)
{
	/* A quoted value is one word: its inner words are not parameters. */
	CHECK_EQ(cmdline_init(&cl, "dyndbg=\"file a.c nopv\" b"), 0);
	CHECK(cmdline_has(&cl, "dyndbg"));
	CHECK(!cmdline_has(&cl, "nopv"));
	CHECK(cmdline_has(&cl, "b"));
	CHECK_EQ(cmdline_init(&cl, "\"nopv\""), 0);
	CHECK(cmdline_has(&cl, "nopv"));
	/* After "--" the words are init's, not the kernel's. */
	CHECK_EQ(cmdline_init(&cl, "quiet -- nopv"), 0);
	CHECK(cmdline_has(&cl, "quiet"));
	CHECK(!cmdline_has(&cl, "nopv"));
	CHECK_EQ(cmdline_init(&cl, "a --x nopv"), 0);
	CHECK(cmdline_has(&cl, "nopv"));
}

TEST(append_goes_before_init_args)
{
	CHECK_EQ(cmdline_init(&cl, "console=ttyS0 -- uname -a"), 0);
	CHECK_EQ(cmdline_append(&cl, "virtio_mmio.device=4K@0xc0001000:5"), 0);
	CHECK_STR(cl.buf, "console=ttyS0 virtio_mmio.device=4K@0xc0001000:5 -- uname -a");
	CHECK_EQ(cl.len, strlen(cl.buf));
	CHECK(cmdline_has(&cl, "virtio_mmio.device"));
	CHECK_EQ(cmdline_init(&cl, "-- sh"), 0);
	CHECK_EQ(cmdline_append(&cl, "nopv"), 0);
	CHECK_STR(cl.buf, "nopv -- sh");
	/* A quoted "--" is a value, not the separator. */
	CHECK_EQ(cmdline_init(&cl, "a=\"x -- y\""), 0);
	CHECK_EQ(cmdline_append(&cl, "b"), 0);
	CHECK_STR(cl.buf, "a=\"x -- y\" b");
	/* "--x" is a word, not the separator. */
	CHECK_EQ(cmdline_init(&cl, "--x -- init"), 0);
	CHECK_EQ(cmdline_append(&cl, "k"), 0);
	CHECK_STR(cl.buf, "--x k -- init");
}

/* What the user set stays as set; the rest goes before init's arguments, in order. */
TEST(pvm_profile_keeps_user_params)
{
	CHECK_EQ(cmdline_init(&cl, "console=ttyS0 clearcpuid=pcid -- init-arg"), 0);
	CHECK_EQ(pvm_profile_apply(&cl), 0);
	CHECK_STR(cl.buf, "console=ttyS0 clearcpuid=pcid nopv noxsave percpu_alloc=page "
			  "noreplace-smp rcupdate.rcu_cpu_stall_suppress_at_boot=1 -- init-arg");
	CHECK_EQ(pvm_profile_finish(&cl, 2596122), 1);
	CHECK_STR(cl.buf, "console=ttyS0 clearcpuid=pcid nopv noxsave percpu_alloc=page "
			  "noreplace-smp rcupdate.rcu_cpu_stall_suppress_at_boot=1 "
			  "tsc_early_khz=2596122 -- init-arg");
	CHECK_EQ(cl.len, strlen(cl.buf));
	/* Applied twice, nothing changes. */
	CHECK_EQ(pvm_profile_apply(&cl), 0);
	CHECK_EQ(pvm_profile_finish(&cl, 1000), 0);
	CHECK(strstr(cl.buf, "tsc_early_khz=2596122 --"));
	CHECK(!strstr(cl.buf, "tsc_early_khz=1000"));
	CHECK_EQ(cmdline_init(&cl, ""), 0);
	CHECK_EQ(pvm_profile_apply(&cl), 0);
	CHECK_STR(cl.buf, "nopv noxsave clearcpuid=cx16,popcnt,erms,fsrm,clwb percpu_alloc=page "
			  "noreplace-smp rcupdate.rcu_cpu_stall_suppress_at_boot=1");
}

/* No TSC rate from KVM: nothing added (the guest calibrates); no room: -E2BIG, line kept. */
TEST(pvm_profile_no_rate_and_no_room)
{
	static struct logger quiet = {.level = LOG_OFF};

	log_set(&quiet);
	CHECK_EQ(cmdline_init(&cl, "quiet"), 0);
	CHECK_EQ(pvm_profile_finish(&cl, 0), 0);
	CHECK_EQ(pvm_profile_finish(&cl, -ENOTTY), 0);
	CHECK_STR(cl.buf, "quiet");
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX - 10)), 0);
	CHECK_EQ(pvm_profile_apply(&cl), -E2BIG);
	CHECK_EQ(cl.len, strlen(cl.buf));
	CHECK_EQ(cmdline_init(&cl, as(LAYOUT_CMDLINE_MAX - 10)), 0);
	log_capture_start();
	CHECK_EQ(pvm_profile_finish(&cl, 2596122), -E2BIG);
	CHECK_CONTAINS(log_capture_end(), "boot-source.boot_args: no room for \"tsc_early_khz=");
	CHECK_EQ(cl.len, LAYOUT_CMDLINE_MAX - 10);
	log_set(NULL);
}

TEST_MAIN(TEST_ENTRY(append_goes_before_init_args), TEST_ENTRY(default_line),
	  TEST_ENTRY(custom_base), TEST_ENTRY(append), TEST_ENTRY(init_capacity),
	  TEST_ENTRY(append_capacity), TEST_ENTRY(has_whole_words),
	  TEST_ENTRY(has_quotes_and_init_args), TEST_ENTRY(pvm_profile_keeps_user_params),
	  TEST_ENTRY(pvm_profile_no_rate_and_no_room))
