// SPDX-License-Identifier: Apache-2.0
/* Kernel format dispatch, file reading and initrd placement. */
#include "boot/boot.h"

#include "arch/x86_64/layout.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A vmlinux with debug info can be hundreds of MiB; anything past this is a mistake. */
#define BOOT_KERNEL_FILE_MAX (1ULL << 30)
#define BOOT_PAGE_SIZE	     4096ULL

int boot_load_kernel_buf(const struct guest_mem *gm, const uint8_t *buf, size_t size,
			 struct boot_image *img, char err[BOOT_ERR_MAX])
{
	memset(img, 0, sizeof(*img));
	if (!size) {
		snprintf(err, BOOT_ERR_MAX, "kernel image is empty");
		return -ENOEXEC;
	}
	if (size >= SELFMAG && !memcmp(buf, ELFMAG, SELFMAG))
		return boot_load_elf(gm, buf, size, img, err);
	if (size >= 0x206 && !memcmp(buf + 0x202, "HdrS", 4))
		return boot_load_bzimage(gm, buf, size, img, err);
	snprintf(err, BOOT_ERR_MAX, "not a kernel image: neither ELF nor bzImage");
	return -ENOEXEC;
}

/* boot_read_file, also reporting the file's size when it is over @max. */
static int read_file(const char *path, size_t max, uint8_t **buf, size_t *size, uint64_t *file_size,
		     char *err)
{
	size_t len, done = 0;
	struct stat st;
	uint8_t *p;
	int fd, ret;

	*buf = NULL;
	*size = 0;
	/* O_NONBLOCK: opening a FIFO must not hang before fstat can refuse it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, BOOT_ERR_MAX, "%s: cannot open: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, BOOT_ERR_MAX, "%s: fstat: %s", path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, BOOT_ERR_MAX, "%s: not a regular file", path);
		goto out_close;
	}
	if (file_size)
		*file_size = (uint64_t)st.st_size;
	if ((uint64_t)st.st_size > max) {
		ret = -EFBIG;
		snprintf(err, BOOT_ERR_MAX, "%s: file too large (%jd bytes, limit %zu)", path,
			 (intmax_t)st.st_size, max);
		goto out_close;
	}
	len = (size_t)st.st_size;
	p = malloc(len ? len : 1);
	if (!p) {
		ret = -ENOMEM;
		snprintf(err, BOOT_ERR_MAX, "%s: out of memory reading %zu bytes", path, len);
		goto out_close;
	}
	while (done < len) {
		ssize_t n = read(fd, p + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, BOOT_ERR_MAX, "%s: read: %s", path, strerror(-ret));
			free(p);
			goto out_close;
		}
		if (n == 0) {
			ret = -EIO;
			snprintf(err, BOOT_ERR_MAX,
				 "%s: file shrank while being read (%zu of %zu bytes)", path, done,
				 len);
			free(p);
			goto out_close;
		}
		done += (size_t)n;
	}
	*buf = p;
	*size = len;
	ret = 0;
out_close:
	close(fd);
	return ret;
}

/* "path: why", cut to one buffer (marked "...") when the path is long. */
static void prefix_path(char *err, const char *path, const char *why)
{
	if (snprintf(err, BOOT_ERR_MAX, "%s: %s", path, why) >= BOOT_ERR_MAX)
		memcpy(err + BOOT_ERR_MAX - 4, "...", 4);
}

int boot_read_file(const char *path, size_t max, uint8_t **buf, size_t *size,
		   char err[BOOT_ERR_MAX])
{
	return read_file(path, max, buf, size, NULL, err);
}

int boot_load_kernel(const struct guest_mem *gm, const char *path, struct boot_image *img,
		     char err[BOOT_ERR_MAX])
{
	char why[BOOT_ERR_MAX];
	uint8_t *buf;
	size_t size;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = boot_read_file(path, BOOT_KERNEL_FILE_MAX, &buf, &size, err);
	if (ret)
		return ret;
	ret = boot_load_kernel_buf(gm, buf, size, img, why);
	free(buf);
	if (ret)
		prefix_path(err, path, why);
	return ret;
}

/*
 * The window an initrd may occupy: [page-aligned kernel end, top), top being
 * the end of the RAM region at 0 (capped below the MMIO gap) or the image's
 * initrd_addr_max + 1 if lower.
 */
static int initrd_window(const struct guest_mem *gm, const struct boot_image *img, uint64_t *lo,
			 uint64_t *hi, char *err)
{
	uint64_t top = 0;

	for (unsigned int i = 0; i < gm->nr_regions; i++) {
		if (gm->regions[i].gpa == 0)
			top = gm->regions[i].size;
	}
	if (!top) {
		snprintf(err, BOOT_ERR_MAX, "guest RAM has no region at address 0 for the initrd");
		return -ENOSPC;
	}
	if (top > LAYOUT_MMIO_GAP_START)
		top = LAYOUT_MMIO_GAP_START;
	if (img->initrd_addr_max && (uint64_t)img->initrd_addr_max + 1 < top)
		top = (uint64_t)img->initrd_addr_max + 1;
	*hi = top;
	/* kernel_end lies inside guest RAM, so aligning it up cannot overflow. */
	*lo = (img->kernel_end + BOOT_PAGE_SIZE - 1) & ~(BOOT_PAGE_SIZE - 1);
	return 0;
}

static int initrd_too_large(uint64_t size, uint64_t lo, uint64_t hi, char *err)
{
	snprintf(err, BOOT_ERR_MAX,
		 "initrd too large: %" PRIu64 " bytes do not fit between the kernel end 0x%" PRIx64
		 " and 0x%" PRIx64,
		 size, lo, hi);
	return -ENOSPC;
}

int boot_load_initrd_buf(const struct guest_mem *gm, const struct boot_image *img,
			 const uint8_t *buf, size_t size, uint64_t *addr, char err[BOOT_ERR_MAX])
{
	uint64_t lo, hi, at;
	int ret;

	if (!size) {
		snprintf(err, BOOT_ERR_MAX, "initrd is empty");
		return -EINVAL;
	}
	ret = initrd_window(gm, img, &lo, &hi, err);
	if (ret)
		return ret;
	if (size > hi)
		return initrd_too_large(size, lo, hi, err);
	at = (hi - size) & ~(BOOT_PAGE_SIZE - 1);
	if (at < lo)
		return initrd_too_large(size, lo, hi, err);
	if (gm_write(gm, at, buf, size)) {
		snprintf(err, BOOT_ERR_MAX,
			 "initrd at 0x%" PRIx64 " (%zu bytes) lies outside guest RAM", at, size);
		return -ENOSPC;
	}
	*addr = at;
	return 0;
}

int boot_load_initrd(const struct guest_mem *gm, const struct boot_image *img, const char *path,
		     uint64_t *addr, uint64_t *size, char err[BOOT_ERR_MAX])
{
	uint64_t lo, hi, file_size = 0;
	char why[BOOT_ERR_MAX];
	uint8_t *buf;
	size_t len;
	int ret;

	ret = initrd_window(gm, img, &lo, &hi, why);
	if (ret) {
		prefix_path(err, path, why);
		return ret;
	}
	/* Never read more than could be placed. */
	ret = read_file(path, hi > lo ? hi - lo : 0, &buf, &len, &file_size, err);
	if (ret == -EFBIG) {
		initrd_too_large(file_size, lo, hi, why);
		prefix_path(err, path, why);
		return -ENOSPC;
	}
	if (ret)
		return ret;
	ret = boot_load_initrd_buf(gm, img, buf, len, addr, why);
	free(buf);
	if (ret) {
		prefix_path(err, path, why);
		return ret;
	}
	*size = len;
	return 0;
}
