/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Whole lines to the log or the metrics file, which may be a named pipe that
 * nobody reads yet: firecracker-go-sdk and firectl create the FIFOs and read
 * them later, or never. As Firecracker does, the path is opened read-write and
 * non-blocking, so the open does not fail (ENXIO) or wait for a reader; what
 * does not fit in the pipe is dropped, a whole line at a time, so a reader
 * that comes later never sees half a line. A regular file works the same way
 * (appended to, created if missing).
 */
#ifndef EMBER_UTIL_LINE_OUT_H
#define EMBER_UTIL_LINE_OUT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Opens @path; *fd is at least 3 (0 is never a log or metrics descriptor, so
 * a zeroed logger means stderr) and *is_pipe says whether it is a FIFO.
 * 0 or -errno.
 */
int line_out_open(const char *path, int *fd, bool *is_pipe);

/*
 * Writes @len bytes (one or more whole lines) to @fd: all of them, or none
 * when a pipe has no room for them (-EAGAIN: dropped). 0 or -errno.
 */
int line_out_write(int fd, bool is_pipe, const char *buf, size_t len);

#endif
