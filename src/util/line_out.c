// SPDX-License-Identifier: Apache-2.0
/* Whole lines to a file or a FIFO nobody may be reading (see line_out.h). */
#include "util/line_out.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int line_out_open(const char *path, int *fd, bool *is_pipe)
{
	struct stat st;
	int f = open(path, O_RDWR | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0640);
	int ret;

	if (f < 0)
		return -errno;
	if (f < 3) {
		/* stdin/stdout/stderr were closed: keep the descriptor out of their way. */
		int moved = fcntl(f, F_DUPFD_CLOEXEC, 3);

		ret = -errno;
		close(f);
		if (moved < 0)
			return ret;
		f = moved;
	}
	if (fstat(f, &st)) {
		ret = -errno;
		close(f);
		return ret;
	}
	*fd = f;
	*is_pipe = S_ISFIFO(st.st_mode);
	return 0;
}

int line_out_write(int fd, bool is_pipe, const char *buf, size_t len)
{
	size_t done = 0;

	/*
	 * Up to PIPE_BUF bytes, a write to a pipe is atomic: all or EAGAIN. A
	 * longer one could go out in part, so it goes only if the pipe has room
	 * for it, with two pages to spare (the pipe's pages at either end may be
	 * partly used).
	 */
	if (is_pipe && len > PIPE_BUF) {
		int used = 0, cap = fcntl(fd, F_GETPIPE_SZ);

		if (cap < 0 || ioctl(fd, FIONREAD, &used) < 0)
			return -errno;
		if ((size_t)used + len + 2 * PIPE_BUF > (size_t)cap)
			return -EAGAIN;
	}
	while (done < len) {
		ssize_t n = write(fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}
