// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer over ember-sandbox's parsers of untrusted bytes: the agent protocol's frame
 * reader (src/sandbox/proto.h; the guest's side of a clone is untrusted), fed the input
 * in chunks the input's first byte sizes, and POST /v1/run's body (src/sandbox/job.c),
 * answered as the service would.
 */
#include "sandbox/job.h"
#include "sandbox/proto.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[SB_FRAME_HDR + SB_FRAME_MAX];
	if (size == 0)
		return 0;
	size_t chunk = (size_t)data[0] % 17 + 1;
	struct sb_reader r = {.buf = buf};
	struct sb_job out = {.max_output = 1024};
	for (size_t off = 1; off < size;) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (n > sb_reader_room(&r))
			break;
		memcpy(r.buf + r.have, data + off, n);
		r.have += n;
		off += n;
		int type, got;
		const uint8_t *d;
		uint32_t len;
		while ((got = sb_reader_frame(&r, &type, &d, &len)) == 1) {
			if (type == SB_STDOUT || type == SB_STDERR)
				sb_job_output(&out, type == SB_STDOUT ? 1 : 2, d, len);
			sb_reader_consume(&r);
		}
		if (got < 0)
			break;
	}
	struct sb_job job = {.max_output = 64};
	char err[512];
	if (sb_job_parse(&job, (const char *)data, size, 1000, 60000, err, sizeof(err)) == 0) {
		struct sb_result res = {.outcome = SB_EXITED};
		free(sb_job_answer(&out, &res, 1, 1, 1, 3, 0, false));
		sb_job_free(&job);
	}
	sb_job_free(&out);
	return 0;
}
