/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A sandbox template: the directory `make sandbox-template` writes
 * (linux-guest/sandbox/template.sh): state (ember's snapshot state file), memory (its
 * memory file) and manifest.json, which says what the snapshot was made from.
 */
#ifndef EMBER_SANDBOX_TEMPLATE_H
#define EMBER_SANDBOX_TEMPLATE_H

#include <limits.h>
#include <stddef.h>

#define SB_TEMPLATE_FORMAT "ember-sandbox-template/1"

struct sb_template {
	char dir[PATH_MAX];
	char state[PATH_MAX + 256]; /* DIR/name: names up to 255 bytes */
	char memory[PATH_MAX + 256];
	char ember_version[128];
	unsigned vcpus, mem_mib, port;
};

/*
 * Reads DIR/manifest.json and checks it against the files beside it and against
 * the ember binary EMBER (its --version must be the one that wrote the snapshot).
 * Negative errno with ERR naming the file and the problem.
 */
int sb_template_load(struct sb_template *t, const char *dir, const char *ember, char *err,
		     size_t errlen);

#endif
