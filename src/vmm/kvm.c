// SPDX-License-Identifier: Apache-2.0
/* Opening /dev/kvm and checking what ember needs of it. */
#include "util/log.h"
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	int cap;
	const char *name;
} required_caps[] = {
    {KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
    {KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
    {KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR"},
    {KVM_CAP_PIT2, "KVM_CAP_PIT2"},
    {KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID"},
    {KVM_CAP_IRQFD, "KVM_CAP_IRQFD"},
    {KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD"},
    {KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE"},
    {KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS"},
    {KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"},
    {KVM_CAP_NR_MEMSLOTS, "KVM_CAP_NR_MEMSLOTS"},
};

bool kvm_host_is_pvm(void)
{
	/* kvm_pvm registers itself as a module; hardware KVM is kvm_intel / kvm_amd. */
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

int kvm_open_checked(bool *pvm)
{
	int fd, ret;

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		if (errno == ENOENT)
			log_error("/dev/kvm does not exist: this host has no KVM (load kvm_intel, "
				  "kvm_amd or kvm_pvm, or run on a host with virtualization)");
		else if (errno == EACCES || errno == EPERM)
			log_error(
			    "/dev/kvm: permission denied: run as a user with read-write access "
			    "to /dev/kvm (e.g. in the kvm group)");
		else
			log_error("/dev/kvm: cannot open: %s", strerror(errno));
		return ret;
	}
	ret = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		log_error("/dev/kvm: KVM API version %d, ember needs %d", ret, KVM_API_VERSION);
		close(fd);
		return -ENOTSUP;
	}
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_error("/dev/kvm: missing required capability %s",
				  required_caps[i].name);
			close(fd);
			return -ENOTSUP;
		}
	}
	*pvm = kvm_host_is_pvm();
	return fd;
}
