/* SPDX-License-Identifier: Apache-2.0 */
/*
 * seccomp/'s own header, for the built-in allowlists (filter_*.c): a rule per
 * line, its reason beside it. Conditions compare an argument's low 32 bits
 * (a "dword", as Firecracker's files mostly do); MASKED tests some bits only.
 */
#ifndef EMBER_SECCOMP_RULES_H
#define EMBER_SECCOMP_RULES_H

#include "seccomp/seccomp.h"

#include <seccomp.h>
#include <signal.h>
#include <sys/mman.h>

/* Any arguments. */
#define ALLOW(name, reason)                        \
	{                                          \
		.syscall = (name), .why = (reason) \
	}

/* Only when every condition holds; a syscall may have several such rules (any one matches). */
#define ALLOW_IF(name, reason, ...)                                                             \
	{                                                                                       \
		.syscall = (name), .why = (reason),                                             \
		.nconds =                                                                       \
		    sizeof((struct seccomp_cond[]){__VA_ARGS__}) / sizeof(struct seccomp_cond), \
		.conds = {__VA_ARGS__},                                                         \
	}

/* Argument @i (0-5) equals @v (its low 32 bits). */
#define EQ(i, v)                                                        \
	{                                                               \
		.index = (i), .op = SECCOMP_OP_EQ, .val = (uint64_t)(v) \
	}
/* (argument @i & @m) == @v, low 32 bits. */
#define MASKED(i, m, v)                                                          \
	{                                                                        \
		.index = (i), .op = SECCOMP_OP_MASKED_EQ, .mask = (uint64_t)(m), \
		.val = (uint64_t)(v)                                             \
	}

/* Firecracker's actions for its own filters: trap what is not listed, allow what is. */
#define BUILTIN_FILTER(name, rules)                                                 \
	const struct seccomp_filter name = {SCMP_ACT_TRAP, SCMP_ACT_ALLOW, (rules), \
					    sizeof(rules) / sizeof((rules)[0])}

/* malloc's mappings: private, anonymous, at an address of the kernel's choosing. */
#define MALLOC_MAP_MASK (MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)

/*
 * glibc's SIGRTMIN: it keeps the first two real-time signals for itself. The
 * vCPU kick (vcpu.c) is SIGRTMIN; the unit tests check the two agree.
 */
#define KICK_SIGNAL (__SIGRTMIN + 2)

#endif
