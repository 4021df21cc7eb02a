/* SPDX-License-Identifier: Apache-2.0 */
/* ember-sandbox's commands (main.c dispatches): run, serve, ping. */
#ifndef EMBER_SANDBOX_SANDBOX_H
#define EMBER_SANDBOX_SANDBOX_H

#include <stddef.h>
#include <stdint.h>

#define SB_EXIT_TIMEOUT 124 /* as timeout(1) */
#define SB_EXIT_FAIL	125 /* ember-sandbox itself failed: no status from the command */
#define SB_EXIT_USAGE	2

int sb_run_main(int argc, char **argv, const char *ember);
int sb_serve_main(int argc, char **argv, const char *ember);

/* The whole of PATH into a malloc'd buffer. Negative errno on failure. */
int sb_read_file(const char *path, uint8_t **data, size_t *len);

#endif
