// SPDX-License-Identifier: Apache-2.0
/*
 * A CPU template on a vCPU (see cpu_template.h): the KVM side, apart from the
 * pure part so that config/ and the API fuzzer link no ioctl.
 */
#include "arch/x86_64/cpu_template.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

int cpu_template_set_cpuid(int fd, unsigned int id, struct kvm_cpuid2 *cpuid, size_t size,
			   const struct cpu_template *t, const char *name)
{
	char why[CPU_TMPL_ERR_MAX];
	struct kvm_cpuid2 *got;
	int ret = cpu_template_apply_cpuid(cpuid, t, why);

	if (ret) {
		log_error("%s: %s", name, why);
		return ret;
	}
	if (ioctl(fd, KVM_SET_CPUID2, cpuid) < 0) {
		ret = -errno;
		log_error("%s: vcpu %u: KVM_SET_CPUID2 refused the templated CPUID: %s", name, id,
			  strerror(-ret));
		return ret;
	}
	/* KVM may adjust what it is given: what it holds now is what the guest gets. */
	got = calloc(1, size);
	if (!got)
		return -ENOMEM;
	got->nent = cpuid->nent;
	if (ioctl(fd, KVM_GET_CPUID2, got) < 0) {
		ret = -errno;
		log_error("%s: vcpu %u: KVM_GET_CPUID2: %s", name, id, strerror(-ret));
	} else if (id == 0) {
		unsigned int kept = 0;

		for (unsigned int i = 0; i < t->nr_cpuid; i++) {
			if (!cpu_template_check_leaf(got, t, i, why))
				kept++;
			else
				log_warn("%s: not kept by KVM (the guest sees KVM's value): %s",
					 name, why);
		}
		log_debug("%s: %u of %u CPUID leaves read back as templated (KVM_GET_CPUID2)", name,
			  kept, t->nr_cpuid);
	}
	free(got);
	return ret;
}

int cpu_template_set_msrs(int fd, unsigned int id, const struct cpu_template *t, const char *name)
{
	for (unsigned int i = 0; i < t->nr_msrs; i++) {
		struct {
			struct kvm_msrs hdr;
			struct kvm_msr_entry e;
		} m;

		memset(&m, 0, sizeof(m));
		m.hdr.nmsrs = 1;
		m.e.index = t->msrs[i].addr;
		/* Both return how many MSRs they did: 0 for one KVM does not have. */
		if (ioctl(fd, KVM_GET_MSRS, &m) != 1) {
			log_error("%s: msr_modifiers[%u]: MSR 0x%x: this host's KVM does not offer "
				  "it",
				  name, i, t->msrs[i].addr);
			return -ENOENT;
		}
		m.e.data = cpu_template_msr_value(&t->msrs[i], m.e.data);
		if (ioctl(fd, KVM_SET_MSRS, &m) != 1) {
			log_error("%s: msr_modifiers[%u]: MSR 0x%x: KVM refused the value 0x%llx",
				  name, i, t->msrs[i].addr, (unsigned long long)m.e.data);
			return -EINVAL;
		}
		if (id == 0)
			log_debug("%s: MSR 0x%x set to 0x%llx", name, t->msrs[i].addr,
				  (unsigned long long)m.e.data);
	}
	return 0;
}
