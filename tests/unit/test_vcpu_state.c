// SPDX-License-Identifier: Apache-2.0
/*
 * arch's snapshot helpers that need no KVM: the order the saved MSRs go back
 * in (IA32_TSC_DEADLINE after IA32_TSC, a zero deadline fixed), and a vCPU or
 * VM section that is missing or corrupt refused before any ioctl (the fds are
 * -1: a call that reached KVM would fail differently).
 */
#include "test.h"

#include "arch/x86_64/arch.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>

#define TSC	 0x10
#define DEADLINE 0x6e0

TEST(deadline_goes_last)
{
	struct kvm_msr_entry e[] = {
	    {.index = 0x174, .data = 1},
	    {.index = DEADLINE, .data = 777},
	    {.index = TSC, .data = 5000},
	    {.index = 0xc0000080, .data = 0x500},
	};
	unsigned int regular = arch_msrs_for_restore(e, 4);

	CHECK_EQ(regular, 3);
	CHECK_EQ(e[0].index, 0x174);
	CHECK_EQ(e[1].index, TSC);
	CHECK_EQ(e[2].index, 0xc0000080);
	CHECK_EQ(e[3].index, DEADLINE);
	CHECK_EQ(e[3].data, 777); /* a deadline that is set stays */
}

TEST(zero_deadline_takes_the_tsc)
{
	struct kvm_msr_entry e[] = {
	    {.index = DEADLINE, .data = 0},
	    {.index = TSC, .data = 123456},
	};

	CHECK_EQ(arch_msrs_for_restore(e, 2), 1);
	CHECK_EQ(e[0].index, TSC);
	CHECK_EQ(e[1].index, DEADLINE);
	CHECK_EQ(e[1].data, 123456);
}

TEST(no_deadline_nothing_moves)
{
	struct kvm_msr_entry e[] = {{.index = TSC, .data = 9}, {.index = 0x1a0, .data = 1}};

	CHECK_EQ(arch_msrs_for_restore(e, 2), 2);
	CHECK_EQ(e[0].index, TSC);
	CHECK_EQ(e[1].index, 0x1a0);
	CHECK_EQ(arch_msrs_for_restore(e, 0), 0);
}

/* A state file with one section @name/0 holding @n bytes of @data. */
static void one_section(struct state_file *f, uint8_t **buf, const char *name, const void *data,
			size_t n)
{
	char err[STATE_ERR_MAX];
	struct state_writer w;
	size_t len;

	state_write_init(&w);
	state_section_begin(&w, name, 0);
	sw_bytes(&w, data, n);
	state_section_end(&w);
	CHECK_EQ(state_write_finish(&w, buf, &len), 0);
	CHECK_EQ(state_file_parse(f, *buf, len, err), 0);
}

TEST(corrupt_sections_never_reach_kvm)
{
	struct arch_snapshot_caps caps = {.xsave_size = 4096};
	struct logger lg = {.level = LOG_OFF};
	static const uint8_t junk[40] = {1, 2, 3};
	struct state_file f;
	uint8_t *buf;

	log_set(&lg);
	one_section(&f, &buf, "vcpu", junk, sizeof(junk));
	/* vCPU 1 has no section; vCPU 0's is far too short. */
	CHECK_EQ(arch_vcpu_restore(-1, 1, &caps, &f), -EINVAL);
	CHECK_EQ(arch_vcpu_restore(-1, 0, &caps, &f), -EINVAL);
	CHECK_EQ(arch_vm_restore(-1, &f, false), -EINVAL); /* no "vm" section */
	state_file_free(&f);
	free(buf);
	one_section(&f, &buf, "vm", junk, sizeof(junk));
	CHECK_EQ(arch_vm_restore(-1, &f, false), -EINVAL);
	state_file_free(&f);
	free(buf);
	log_set(NULL);
}

TEST_MAIN(TEST_ENTRY(deadline_goes_last), TEST_ENTRY(zero_deadline_takes_the_tsc),
	  TEST_ENTRY(no_deadline_nothing_moves), TEST_ENTRY(corrupt_sections_never_reach_kvm))
