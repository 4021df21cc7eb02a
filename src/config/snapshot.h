/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Firecracker's snapshot request bodies (the swagger file's
 * SnapshotCreateParams and SnapshotLoadParams, with MemoryBackend,
 * NetworkOverride and VsockOverride), parsed with config/'s strict rules and
 * messages. Plain data: the VM does the work (vmm/snapshot.h).
 */
#ifndef EMBER_CONFIG_SNAPSHOT_H
#define EMBER_CONFIG_SNAPSHOT_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

enum snapshot_type {
	SNAPSHOT_FULL, /* every page of guest memory */
	SNAPSHOT_DIFF, /* the pages dirtied since the last snapshot */
};

/* PUT /snapshot/create. */
struct snapshot_create_params {
	enum snapshot_type type; /* snapshot_type; Full when absent */
	char *snapshot_path;	 /* required */
	char *mem_file_path;	 /* required */
};

enum mem_backend_type {
	MEM_BACKEND_FILE,
	MEM_BACKEND_UFFD,
};

/* SnapshotLoadParams.huge_pages: what the restored VM's memory uses. */
enum snapshot_huge_pages {
	SNAPSHOT_HUGE_PAGES_SNAPSHOT, /* as saved (the default) */
	SNAPSHOT_HUGE_PAGES_NONE,
	SNAPSHOT_HUGE_PAGES_TRANSPARENT,
	SNAPSHOT_HUGE_PAGES_2M,
};

struct net_override {
	char *iface_id;
	char *host_dev_name;
};

/* PUT /snapshot/load. */
struct snapshot_load_params {
	char *snapshot_path; /* required */
	/* mem_backend, or the deprecated mem_file_path (a File backend): exactly one. */
	enum mem_backend_type backend;
	char *mem_path;
	bool mem_file_path_used;
	bool track_dirty_pages; /* or the deprecated enable_diff_snapshots */
	bool resume_vm;
	bool clock_realtime;
	enum snapshot_huge_pages huge_pages;
	struct net_override *net_overrides;
	unsigned int nr_net_overrides;
	char *vsock_uds_path; /* vsock_override.uds_path; NULL: none */
};

/* 0, or -EINVAL with one line in @err naming the key ("snapshot/create.mem_file_path: ..."). */
int config_parse_snapshot_create(const char *json, size_t len, struct snapshot_create_params *p,
				 char err[CONFIG_ERR_MAX]);
void config_snapshot_create_free(struct snapshot_create_params *p);
int config_parse_snapshot_load(const char *json, size_t len, struct snapshot_load_params *p,
			       char err[CONFIG_ERR_MAX]);
void config_snapshot_load_free(struct snapshot_load_params *p);

#endif
