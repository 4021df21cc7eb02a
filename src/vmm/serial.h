/* SPDX-License-Identifier: Apache-2.0 */
/* PUT /serial: where the guest's console output goes, and its rate limit (before boot). */
#ifndef EMBER_VMM_SERIAL_H
#define EMBER_VMM_SERIAL_H

#include "vmm/actions.h"

/*
 * SerialDevice: serial_out_path (a file, appended to and created if missing,
 * or a named pipe, read yet or not: util/line_out.h) is opened now, so a bad
 * path is refused here, naming it; the VM built at InstanceStart writes its
 * console there. Without serial_out_path the console stays on stdout.
 */
int ctrl_put_serial(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e);

/* Closes the serial output ember opened (ctrl_destroy). */
void ctrl_serial_close(struct controller *ctl);

#endif
