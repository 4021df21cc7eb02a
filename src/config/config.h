/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The VM's configuration: Firecracker's FullVmConfiguration (the swagger file's
 * schema), parsed strictly. Unknown keys, wrong types and out-of-range values
 * are refused with a message naming the key and the value; a schema key that
 * ember does not support yet is refused saying so. Plain data and functions
 * taking JSON text: jansson stays inside config/ (json.h), one file per object.
 */
#ifndef EMBER_CONFIG_CONFIG_H
#define EMBER_CONFIG_CONFIG_H

#include "util/log.h"
#include "util/rate_limiter.h"
#include "arch/x86_64/cpu_template.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_ERR_MAX	  512
#define CONFIG_MAX_VCPUS  32
#define CONFIG_MAX_VIRTIO 16 /* virtio-mmio slots per VM (vm.h) */

enum huge_pages {
	HUGE_PAGES_NONE,
	HUGE_PAGES_TRANSPARENT,
	HUGE_PAGES_2M,
};

struct boot_source_config {
	char *kernel_image_path; /* required */
	char *initrd_path;	 /* NULL: none */
	char *boot_args;	 /* NULL: Firecracker's default command line */
};

struct machine_config {
	unsigned int vcpu_count;
	uint64_t mem_size_mib;
	bool smt;
	bool track_dirty_pages;
	enum huge_pages huge_pages;
	enum cpu_static_template cpu_template; /* a static template; None with a custom one */
};

struct logger_config {
	bool present;
	char *log_path;
	enum log_level level;
	bool show_level;
	bool show_log_origin;
	char *module; /* only lines of this module (util/log.h); NULL: all */
};

/*
 * CpuConfig (cpu_config.c): a custom CPU template, applied before boot. Rare
 * and ~8 KiB, so out of line: every copy of a configuration would carry it.
 */
struct cpu_config {
	bool present;		   /* tmpl is set */
	struct cpu_template *tmpl; /* owned (config_free); NULL: none */
};

/* SerialDevice (serial.c, PUT /serial only): the guest console's output. */
struct serial_config {
	bool present;
	char *serial_out_path; /* NULL: ember's stdout */
	bool has_rate_limiter;
	struct token_bucket_config rate_limiter; /* bytes */
};

/*
 * The virtio devices' configuration structures are theirs (Firecracker's
 * Drive, NetworkInterface, Vsock and Balloon objects). config/ is above
 * devices/ and uses their headers for these structs and constants only: it
 * links no device code (the API fuzzer relies on that).
 */
#include "devices/mmds/mmds.h"
#include "devices/virtio/balloon.h"
#include "devices/virtio/block.h"
#include "devices/virtio/mem.h"
#include "devices/virtio/net.h"
#include "devices/virtio/pmem.h"
#include "devices/virtio/vsock.h"

/* At most this many drives, and network interfaces (each takes a virtio slot). */
#define CONFIG_MAX_DRIVES 16
#define CONFIG_MAX_NETS	  16
#define CONFIG_MAX_PMEM	  8
/* Ids (id.c): at most this many characters, and at least one. */
#define CONFIG_ID_MAX 64

struct entropy_config {
	bool present;
	struct rate_limiter_config rate_limiter;
};

/* Metrics: where the lines go, whether they carry the instance id, extra properties. */
struct metrics_config {
	bool present;
	char *metrics_path;
	bool emit_id;
	char *properties_json; /* an object of strings, compact JSON; NULL: none */
};

/* MmdsConfig: which interfaces answer MMDS requests, its version and address. */
struct mmds_config {
	bool present;
	enum mmds_version version;
	bool imds_compat;
	uint32_t ipv4; /* host order */
	char **ifaces; /* iface_ids */
	unsigned int nr_ifaces;
};

struct vm_config {
	bool has_boot_source;
	struct boot_source_config boot;
	bool has_machine_config;
	struct machine_config machine;
	struct logger_config logger;
	struct entropy_config entropy;
	struct metrics_config metrics;
	/*
	 * Block devices in Firecracker's order: the root device (at most one)
	 * first, then the others in the order they were added.
	 */
	struct drive_config *drives;
	unsigned int nr_drives;
	struct net_config *nets; /* in the order they were added */
	unsigned int nr_nets;
	struct vsock_config vsock; /* vsock.present */
	bool has_balloon;
	struct balloon_config balloon;
	struct cpu_config cpu;
	struct serial_config serial;
	struct mmds_config mmds;
	struct pmem_config *pmems; /* in the order they were added: /dev/pmem0, ... */
	unsigned int nr_pmems;
	struct memory_hotplug_config memory_hotplug; /* memory_hotplug.present */
};

/* Firecracker's defaults: 1 vCPU, 128 MiB, no SMT, no huge pages. */
void config_init(struct vm_config *cfg);
void config_free(struct vm_config *cfg);

/*
 * Parses a FullVmConfiguration document. On error returns -EINVAL (or
 * -ENOENT / -EIO for the file variant) with one line in @err, e.g.
 * "machine-config.vcpu_count: 33 is out of range (1 to 32)".
 */
int config_parse_string(struct vm_config *cfg, const char *json, char err[CONFIG_ERR_MAX]);
int config_parse_file(struct vm_config *cfg, const char *path, char err[CONFIG_ERR_MAX]);

/* Cross-field checks before boot (a kernel is set, SMT with an even count, ...). */
int config_validate(const struct vm_config *cfg, char err[CONFIG_ERR_MAX]);
/* The machine-config section's own cross-field checks (SMT with an even count). */
int config_validate_machine(const struct machine_config *mc, char err[CONFIG_ERR_MAX]);

/*
 * The sections the API's PUT and PATCH bodies update: FullVmConfiguration's
 * objects in GET /vm/config's order, then the bodies that only update one.
 */
enum config_section {
	CONFIG_BOOT_SOURCE,    /* PUT /boot-source: BootSource */
	CONFIG_MACHINE,	       /* PUT, PATCH /machine-config: MachineConfiguration */
	CONFIG_LOGGER,	       /* PUT /logger: Logger */
	CONFIG_ENTROPY,	       /* PUT /entropy: EntropyDevice */
	CONFIG_DRIVE,	       /* PUT /drives/{id}: Drive, added or replacing the same drive_id */
	CONFIG_NET,	       /* PUT /network-interfaces/{id}: NetworkInterface, likewise */
	CONFIG_BALLOON,	       /* PUT /balloon: Balloon */
	CONFIG_VSOCK,	       /* PUT /vsock: Vsock */
	CONFIG_METRICS,	       /* PUT /metrics: Metrics */
	CONFIG_PMEM,	       /* PUT /pmem/{id}: Pmem, added or replacing the same id */
	CONFIG_MEMORY_HOTPLUG, /* PUT /hotplug/memory: MemoryHotplugConfig */
	CONFIG_BALLOON_UPDATE, /* PATCH /balloon before boot: BalloonUpdate */
	CONFIG_BALLOON_STATS,  /* PATCH /balloon/statistics before boot: BalloonStatsUpdate */
	CONFIG_CPU_CONFIG,     /* PUT /cpu-config: CpuConfig */
	CONFIG_SERIAL,	       /* PUT /serial: SerialDevice */
	CONFIG_MMDS,	       /* PUT /mmds/config: MmdsConfig */
};

/*
 * Parses @json (@len bytes, one JSON object) as @section with the same parser,
 * rules and messages as the configuration file, and applies it to @cfg, all or
 * nothing. Without @patch the object replaces the section: its required keys
 * must be there and absent optional keys take their defaults (PUT). With
 * @patch only the keys given change and none is required, but the object must
 * set at least one (PATCH /machine-config). The logger section always works
 * like a patch, as Firecracker's logger does. The section's cross-field rules
 * are checked too (SMT with an even vCPU count, the balloon against the
 * guest's memory). -EINVAL with one line in @err.
 */
int config_update(struct vm_config *cfg, enum config_section section, const char *json, size_t len,
		  bool patch, char err[CONFIG_ERR_MAX]);

/*
 * The bodies of the after-boot updates, parsed with the same rules: the
 * router checks them, the device applies them, and only then does
 * config_apply_*() record them in the configuration.
 *
 * PartialDrive: drive_id required; path_on_host and rate_limiter optional.
 * A rate_limiter's buckets replace the drive's, bucket by bucket (a bucket
 * that is absent stays as it was; size or refill_time 0 turns it off).
 */
struct drive_update {
	char *drive_id;
	char *path_on_host; /* NULL: unchanged */
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter; /* the buckets the body gave */
};
int config_parse_drive_update(const char *json, size_t len, struct drive_update *u,
			      char err[CONFIG_ERR_MAX]);
void config_drive_update_free(struct drive_update *u);
/* The drive's rate limiter once @u is applied (its buckets over the configured ones). */
void config_drive_update_limiter(const struct drive_config *d, const struct drive_update *u,
				 struct rate_limiter_config *out);
/* Records an applied update in @cfg (-ENOENT: no such drive, -ENOMEM). */
int config_apply_drive_update(struct vm_config *cfg, const struct drive_update *u);
struct drive_config *config_find_drive(const struct vm_config *cfg, const char *drive_id);

/* A guest MAC: "aa:bb:cc:dd:ee:ff" (hex, either case) -> bytes, 0 or -EINVAL; and back. */
int config_mac_parse(const char *s, uint8_t mac[VIRTIO_NET_ETH_ALEN]);
void config_mac_format(const uint8_t mac[VIRTIO_NET_ETH_ALEN], char out[18]);

/* PartialNetworkInterface: iface_id required; rx_rate_limiter, tx_rate_limiter optional. */
struct net_update {
	char *iface_id;
	bool has_rx, has_tx;
	struct rate_limiter_config rx, tx; /* the buckets the body gave */
};
int config_parse_net_update(const char *json, size_t len, struct net_update *u,
			    char err[CONFIG_ERR_MAX]);
void config_net_update_free(struct net_update *u);
/* The interface's limiters once @u is applied. */
void config_net_update_limiters(const struct net_config *n, const struct net_update *u,
				struct rate_limiter_config *rx, struct rate_limiter_config *tx);
int config_apply_net_update(struct vm_config *cfg, const struct net_update *u);
struct net_config *config_find_net(const struct vm_config *cfg, const char *iface_id);

/* PartialPmem: id required; rate_limiter (its buckets over the device's). */
struct pmem_update {
	char *id;
	bool has_rate_limiter;
	struct rate_limiter_config rate_limiter;
};
int config_parse_pmem_update(const char *json, size_t len, struct pmem_update *u,
			     char err[CONFIG_ERR_MAX]);
void config_pmem_update_free(struct pmem_update *u);
struct pmem_config *config_find_pmem(const struct vm_config *cfg, const char *id);
/* MemoryHotplugSizeUpdate: requested_size_mib (required here: it is the update). */
int config_parse_memory_hotplug_update(const char *json, size_t len, uint32_t *requested_mib,
				       char err[CONFIG_ERR_MAX]);

/* BalloonUpdate (amount_mib) and BalloonStatsUpdate (stats_polling_interval_s). */
int config_parse_balloon_update(const char *json, size_t len, uint32_t *amount_mib,
				char err[CONFIG_ERR_MAX]);
int config_parse_balloon_stats_update(const char *json, size_t len, uint32_t *interval_s,
				      char err[CONFIG_ERR_MAX]);

/* BalloonStartCmd (acknowledge_on_stop, true by default); an empty body is the defaults. */
int config_parse_balloon_start(const char *json, size_t len, bool *ack_on_stop,
			       char err[CONFIG_ERR_MAX]);

/* The swagger's name for a balloon statistics tag ("swap_in", ...), NULL if unknown. */
const char *config_balloon_stat_name(unsigned int tag);

/*
 * JSON for the API's GETs: Balloon (GET /balloon). free() the result; NULL
 * when out of memory.
 */
char *config_balloon_to_json(const struct balloon_config *bc);

/* Firecracker's rules for ids, and whose ids follow which. */
enum config_id_rule {
	CONFIG_ID_RESOURCE, /* drive_id, iface_id, in bodies and API paths: [A-Za-z0-9_]{1,64} */
	CONFIG_ID_INSTANCE, /* the microVM's id (--id): [A-Za-z0-9-]{1,64} */
};
/*
 * 0 if @id follows @rule, else -EINVAL with a message naming it as @what:
 * "drives[0].drive_id: \"a-b\" may contain only alphanumeric characters and
 * underscores", "--id: \"a b\" is not a valid id (1 to 64 letters, digits or '-')".
 */
int config_check_id(const char *id, enum config_id_rule rule, const char *what,
		    char err[CONFIG_ERR_MAX]);
/*
 * The resource rule for the {id} of an API path (@route "/drives", the body's
 * @id_key "drive_id"), in the API's words: "/drives: the path needs an id
 * (/drives/{drive_id}).", "/drives/a-b: API resource ids can only contain ...".
 */
int config_check_path_id(const char *route, const char *id_key, const char *id,
			 char err[CONFIG_ERR_MAX]);

/*
 * The API's small bodies, with the same rules and messages. A body whose only
 * key is @key, a string among @names (NULL-terminated), as InstanceActionInfo
 * and Vm are: returns the string's index, or -EINVAL with the reason in @err,
 * which names the body as @what ("actions.action_type: ...").
 */
int config_parse_choice(const char *json, size_t len, const char *what, const char *key,
			const char *const *names, char err[CONFIG_ERR_MAX]);
/*
 * Where the swagger file has a resource's id both in the path (@route/@id,
 * e.g. "/drives" and "rootfs") and in the body (@key), they must agree: 0 if
 * the body is a JSON object whose @key is absent or @id, else -EINVAL.
 */
int config_check_body_id(const char *json, size_t len, const char *route, const char *key,
			 const char *id, char err[CONFIG_ERR_MAX]);

/* A deep copy (strings duplicated); 0 or -ENOMEM. Free both with config_free(). */
int config_copy(struct vm_config *dst, const struct vm_config *src);

/*
 * FullVmConfiguration (GET /vm/config) as compact JSON, which
 * config_parse_string() reads back to the same configuration; NULL when out of
 * memory. config_machine_to_json: MachineConfiguration (GET /machine-config).
 * free() the result.
 */
char *config_to_json(const struct vm_config *cfg);
char *config_machine_to_json(const struct machine_config *mc);

#endif
