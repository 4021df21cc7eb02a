// SPDX-License-Identifier: Apache-2.0
/* Bounded iovec helpers. See iov.h for the rules they share. */
#include "core/iov.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

size_t iov_size(const struct iovec *iov, unsigned int n)
{
	size_t total = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > SIZE_MAX - total)
			return SIZE_MAX;
		total += iov[i].iov_len;
	}
	return total;
}

/* Both copies: walk to byte @off, then move up to @len bytes one segment at a time. */
static size_t iov_copy(const struct iovec *iov, unsigned int n, size_t off, uint8_t *buf,
		       size_t len, bool to_iov)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len, k;
		uint8_t *seg = (uint8_t *)iov[i].iov_base;

		if (off >= l) {
			off -= l;
			continue;
		}
		k = l - off < len - done ? l - off : len - done;
		if (to_iov)
			memcpy(seg + off, buf + done, k);
		else
			memcpy(buf + done, seg + off, k);
		done += k;
		off = 0;
	}
	return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t off, void *dst, size_t len)
{
	return iov_copy(iov, n, off, dst, len, false);
}

size_t iov_from_buf(const struct iovec *iov, unsigned int n, size_t off, const void *src,
		    size_t len)
{
	/* Only read from: iov_copy's buffer is the source when it copies into @iov. */
	return iov_copy(iov, n, off, (uint8_t *)(uintptr_t)src, len, true);
}

unsigned int iov_slice(const struct iovec *iov, unsigned int n, size_t off, size_t len,
		       struct iovec *out, unsigned int out_max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len && k < out_max; i++) {
		size_t l = iov[i].iov_len;

		if (off >= l) {
			off -= l;
			continue;
		}
		out[k].iov_base = (uint8_t *)iov[i].iov_base + off;
		out[k].iov_len = l - off < len ? l - off : len;
		len -= out[k].iov_len;
		k++;
		off = 0;
	}
	return k;
}

void *iov_byte(const struct iovec *iov, unsigned int n, size_t off)
{
	for (unsigned int i = 0; i < n; i++) {
		if (off < iov[i].iov_len)
			return (uint8_t *)iov[i].iov_base + off;
		off -= iov[i].iov_len;
	}
	return NULL;
}
