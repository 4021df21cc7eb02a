/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounded iovec helpers: copies between an iovec array and a flat buffer, a
 * byte range of an iovec array as another array, one byte of it. The devices
 * use them on the buffers of a popped chain (guest memory, checked by the
 * virtqueue library), so the rules are the same everywhere:
 *
 *  - one argument order: the iovec array and its count first, then the byte
 *    offset into what it describes, then the flat side (buffer, length);
 *  - nothing is read or written outside the @n iovecs given, nor past @len
 *    bytes of the flat buffer, nor past @out_max entries of an output array;
 *    an offset or length past the end is not an error, the result is short
 *    (0 bytes, no iovecs, NULL), and the return value says how much was done;
 *  - zero-length iovecs anywhere are skipped; lengths are size_t and no sum
 *    can wrap (every running total is bounded by @len).
 */
#ifndef EMBER_CORE_IOV_H
#define EMBER_CORE_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* The bytes @iov[0..@n) describe in total (saturates at SIZE_MAX). */
size_t iov_size(const struct iovec *iov, unsigned int n);

/* Copies up to @len bytes, from byte @off of @iov on, into @dst. Returns how many. */
size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *dst, size_t len);

/* Copies up to @len bytes of @src into @iov, from its byte @off on. Returns how many. */
size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *src,
		    size_t len);

/*
 * The bytes [@off, @off + @len) of @iov as an iovec array in @out (at most
 * @out_max entries, pointing into the same buffers; never a zero-length one).
 * Returns the number of entries written; the range is cut where @iov or
 * @out_max ends (iov_size() of the result says how many bytes it holds).
 */
unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len,
		       struct iovec *out, unsigned int out_max);

/* A pointer to byte @off of @iov, or NULL past its end. */
void *iov_byte(const struct iovec *iov, unsigned int n, size_t off);

#endif
