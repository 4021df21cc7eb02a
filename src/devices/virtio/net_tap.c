// SPDX-License-Identifier: Apache-2.0
/* Opening the TAP behind a virtio-net device (net.h), apart from the device model. */
#include "devices/virtio/net.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int net_tap_open(const char *name, int *fdp, char *err, size_t err_len)
{
	struct ifreq ifr;
	int fd, hdr = VIRTIO_NET_HDR_LEN, e;
	const char *why;

	*fdp = -1;
	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		snprintf(err, err_len, "TAP \"%s\": not an interface name (1 to %d bytes)",
			 name ? name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	/* TUNSETIFF would create a missing device (with CAP_NET_ADMIN): look first. */
	if (!if_nametoindex(name) && errno == ENODEV) {
		snprintf(err, err_len,
			 "TAP \"%s\" does not exist: ember does not create TAP devices (create it "
			 "first, e.g. ip tuntap add dev %s mode tap)",
			 name, name);
		return -ENODEV;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, err_len, "TAP \"%s\": cannot open /dev/net/tun: %s%s", name,
			 strerror(e),
			 e == ENOENT		     ? " (no tun driver: modprobe tun)"
			 : e == EACCES || e == EPERM ? " (no permission)"
						     : "");
		return -e;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		e = errno;
		switch (e) {
		case EPERM:
		case EACCES:
			why = "no permission to attach to it (it belongs to another user or group: "
			      "run as its owner, or with CAP_NET_ADMIN)";
			break;
		case EBUSY:
			why = "it is in use (another process has it open)";
			break;
		case EINVAL:
			why = "it is not a TAP device (or was created with other flags, e.g. "
			      "multi_queue)";
			break;
		default:
			why = strerror(e);
			break;
		}
		snprintf(err, err_len, "TAP \"%s\": %s", name, why);
		close(fd);
		return -e;
	}
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 || ioctl(fd, TUNSETOFFLOAD, 0UL) < 0) {
		e = errno;
		snprintf(err, err_len, "TAP \"%s\": setting its vnet header and offloads: %s", name,
			 strerror(e));
		close(fd);
		return -e;
	}
	*fdp = fd;
	return 0;
}
