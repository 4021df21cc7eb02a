// SPDX-License-Identifier: Apache-2.0
/* The VM's CPU template (see cpu_template.h): arch applies it to each vCPU. */
#include "vmm/cpu_template.h"

#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>

/*
 * "N": the VM needs capability N, refused where KVM lacks it. "!N": Firecracker
 * drops N from the capabilities it requires; ember's own (vmm/kvm.c) are what
 * it cannot run without, so a removal changes nothing here.
 */
static int check_caps(const struct cpu_template *t, int kvm_fd)
{
	for (unsigned int i = 0; i < t->nr_caps; i++) {
		const struct kvm_cap_mod *c = &t->caps[i];

		if (c->remove)
			continue;
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, c->cap) <= 0) {
			log_error("cpu-config.kvm_capabilities[%u]: \"%u\": this host's KVM does "
				  "not have capability %u",
				  i, c->cap, c->cap);
			return -ENOTSUP;
		}
	}
	return 0;
}

int vm_cpu_template(const struct vm_config *cfg, int kvm_fd, const struct cpu_template **out,
		    char name[VM_TMPL_NAME_MAX])
{
	enum cpu_static_template st = cfg->machine.cpu_template;
	char why[CPU_TMPL_ERR_MAX];

	*out = NULL;
	name[0] = '\0';
	if (st != CPU_STATIC_NONE) {
		snprintf(name, VM_TMPL_NAME_MAX, "machine-config.cpu_template \"%s\"",
			 cpu_static_name(st));
		*out = cpu_static_template(st, why);
		if (!*out) {
			log_error("%s: %s", name, why);
			return -ENOTSUP;
		}
		return 0;
	}
	if (!cfg->cpu.present)
		return 0;
	snprintf(name, VM_TMPL_NAME_MAX, "cpu-config");
	*out = cfg->cpu.tmpl;
	return check_caps(*out, kvm_fd);
}
