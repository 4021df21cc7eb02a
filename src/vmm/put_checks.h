/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What Firecracker checks on the host when a resource is PUT, before boot:
 * it opens the kernel and the initrd (PUT /boot-source) and the drive's
 * backing file (PUT /drives/{id}), and binds the vsock's Unix socket
 * (PUT /vsock), and answers 400 at once if it cannot. Clients rely on the
 * early answer (Firecracker's own API test expects "The kernel file cannot be
 * opened"), so ember checks the same at the PUT, with Firecracker's messages
 * and the path named; the VM's start opens the files again and checks the rest
 * (the kernel's format, sizes).
 */
#ifndef EMBER_VMM_PUT_CHECKS_H
#define EMBER_VMM_PUT_CHECKS_H

#include "vmm/controller.h"

/*
 * @next is the configuration once the PUT of @section is applied, @cur the one
 * before it: the objects the PUT adds or changes are checked. 0, or -errno
 * with Firecracker's message in @err, e.g. "Boot source error: The kernel file
 * cannot be opened: No such file or directory (os error 2): /k".
 */
int ctrl_put_checks(const struct vm_config *cur, const struct vm_config *next,
		    enum config_section section, char err[VMM_ERR_MAX]);

#endif
