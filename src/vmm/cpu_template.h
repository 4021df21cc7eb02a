/* SPDX-License-Identifier: Apache-2.0 */
/* Which CPU template the vCPUs of a VM get, and the KVM capabilities it asks for. */
#ifndef EMBER_VMM_CPU_TEMPLATE_H
#define EMBER_VMM_CPU_TEMPLATE_H

#include "config/config.h"

#define VM_TMPL_NAME_MAX 64

/*
 * From @cfg: machine-config.cpu_template's static template (checked against
 * this host's CPU vendor), else cpu-config's custom one, else none (*out
 * NULL). The custom template's kvm_capabilities are checked on @kvm_fd. Its
 * name for messages goes in @name. 0, or -errno after logging why.
 */
int vm_cpu_template(const struct vm_config *cfg, int kvm_fd, const struct cpu_template **out,
		    char name[VM_TMPL_NAME_MAX]);

#endif
