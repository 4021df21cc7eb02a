// SPDX-License-Identifier: Apache-2.0
/*
 * libFuzzer over the snapshot state file parser (src/core/state.c): any bytes
 * as a state file; whatever parses, every section is read field by field past
 * its end. The parser and the readers must never read outside the input.
 * Restore code of the VM and the devices reads fields through the same readers.
 */
#include "core/state.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly @size bytes: ASan sees any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	struct state_file f;
	char err[STATE_ERR_MAX];

	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (state_file_parse(&f, copy, size, err) == 0) {
		for (uint32_t i = 0; i < f.nr_sections; i++) {
			struct state_reader r;
			uint8_t buf[64];

			if (state_section_find(&f, f.sections[i].name, f.sections[i].instance, &r))
				abort(); /* a parsed section must be found */
			while (sr_ok(&r)) {
				switch (sr_u8(&r) % 6) {
				case 0:
					(void)sr_u16(&r);
					break;
				case 1:
					(void)sr_u32(&r);
					break;
				case 2:
					(void)sr_u64(&r);
					break;
				case 3:
					(void)sr_bool(&r);
					break;
				case 4:
					(void)sr_blob(&r, buf, sizeof(buf));
					break;
				default:
					sr_bytes(&r, buf, sr_u8(&r) % sizeof(buf));
					break;
				}
			}
		}
		state_file_free(&f);
	}
	free(copy);
	return 0;
}
