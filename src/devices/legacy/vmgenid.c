// SPDX-License-Identifier: Apache-2.0
/* VMGenID: the generation id and its notification (see vmgenid.h). */
#include "devices/legacy/vmgenid.h"

#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void vmgenid_init(struct vmgenid *g, const struct guest_mem *mem, uint64_t gpa,
		  void (*notify)(void *opaque), void *opaque)
{
	memset(g, 0, sizeof(*g));
	g->mem = mem;
	g->gpa = gpa;
	g->notify = notify;
	g->opaque = opaque;
}

int vmgenid_generate(struct vmgenid *g, bool notify_guest)
{
	size_t got = 0;
	int ret;

	while (got < sizeof(g->id)) {
		ssize_t n = getrandom(g->id + got, sizeof(g->id) - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			log_error("vmgenid: getrandom: %s", strerror(errno));
			return ret;
		}
		got += (size_t)n;
	}
	/* gm_write: a Diff snapshot after a restore carries the new id's page. */
	ret = gm_write(g->mem, g->gpa, g->id, sizeof(g->id));
	if (ret) {
		log_error("vmgenid: 0x%llx is not guest RAM", (unsigned long long)g->gpa);
		return ret;
	}
	if (notify_guest && g->notify)
		g->notify(g->opaque);
	return 0;
}

void vmgenid_save(const struct vmgenid *g, struct state_writer *w)
{
	state_section_begin(w, "vmgenid", 0);
	sw_u64(w, g->gpa);
	state_section_end(w);
}

int vmgenid_restore(struct vmgenid *g, const struct state_file *f)
{
	struct state_reader r;
	uint64_t gpa;

	if (state_section_find(f, "vmgenid", 0, &r))
		return -ENOENT;
	gpa = sr_u64(&r);
	/* The address is the layout's: a snapshot naming another is not one ember wrote. */
	if (!sr_ok(&r) || gpa != g->gpa) {
		log_error("vmgenid: the snapshot's generation id address 0x%llx is not 0x%llx",
			  (unsigned long long)gpa, (unsigned long long)g->gpa);
		return -EINVAL;
	}
	return vmgenid_generate(g, true);
}
