/* SPDX-License-Identifier: Apache-2.0 */
/* The guest kernel command line: built once, length-checked at every step. */
#ifndef EMBER_BOOT_CMDLINE_H
#define EMBER_BOOT_CMDLINE_H

#include "arch/x86_64/layout.h"

#include <stddef.h>

/* Firecracker's default, used when boot-source has no boot_args. */
#define CMDLINE_DEFAULT                                                                          \
	"reboot=k panic=1 pci=off nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.nopnp " \
	"i8042.dumbkbd"

struct cmdline {
	char buf[LAYOUT_CMDLINE_MAX]; /* NUL-terminated */
	size_t len;		      /* strlen(buf) */
};

/* Starts from @base (NULL = CMDLINE_DEFAULT). -E2BIG if it does not fit. */
int cmdline_init(struct cmdline *cl, const char *base);

/*
 * Adds the kernel parameter @arg: at the end, or before a bare "--" (what
 * follows it is init's arguments). -E2BIG if the result, with its NUL and a
 * separating space, would exceed LAYOUT_CMDLINE_MAX; the line is then
 * unchanged.
 */
int cmdline_append(struct cmdline *cl, const char *arg);

/* Whether a parameter named @key ("nopv", "console") is on the line. */
int cmdline_has(const struct cmdline *cl, const char *key);

#endif
