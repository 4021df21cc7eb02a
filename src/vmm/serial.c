// SPDX-License-Identifier: Apache-2.0
/* PUT /serial (see serial.h). */
#include "vmm/serial.h"

#include "util/line_out.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The descriptors main gives the controller are stdin/stdout; any other is ours. */
#define OWNED(fd) ((fd) > STDERR_FILENO)

void ctrl_serial_close(struct controller *ctl)
{
	if (OWNED(ctl->serial_out_fd))
		close(ctl->serial_out_fd);
	ctl->serial_out_fd = STDOUT_FILENO;
}

int ctrl_put_serial(struct controller *ctl, const char *body, size_t len, struct ctrl_error *e)
{
	struct vm_config next;
	bool is_pipe;
	int ret = ctrl_check(ctl, CTRL_CONFIGURE, e), fd = -1;

	if (ret < 0)
		return ret;
	ctl->boot_path = true; /* as every section that builds the VM */
	if (config_copy(&next, &ctl->cfg)) {
		e->fault = CTRL_FAULT_INTERNAL;
		snprintf(e->msg, sizeof(e->msg), "serial: out of memory");
		return -ENOMEM;
	}
	ret = config_update(&next, CONFIG_SERIAL, body, len, false, e->msg);
	/* Without the host checks (unit tests, the fuzzer) no file is touched. */
	if (!ret && next.serial.serial_out_path && ctl->put_checks) {
		ret = line_out_open(next.serial.serial_out_path, &fd, &is_pipe);
		if (ret)
			snprintf(e->msg, sizeof(e->msg), "serial.serial_out_path: %s: %s",
				 next.serial.serial_out_path, strerror(-ret));
	}
	if (ret) {
		config_free(&next);
		e->fault = CTRL_FAULT_INPUT;
		return ret;
	}
	config_free(&ctl->cfg);
	ctl->cfg = next;
	/* A new path replaces the old; none sends the console back to stdout. */
	if (fd >= 0 || !next.serial.serial_out_path)
		ctrl_serial_close(ctl);
	if (fd >= 0)
		ctl->serial_out_fd = fd;
	return 0;
}
