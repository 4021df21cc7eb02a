// SPDX-License-Identifier: Apache-2.0
/*
 * ember's entry point: parse Firecracker's command line, read the
 * configuration, build the VM, run it, tear it down.
 */
#include "api/api.h"
#include "api/api_thread.h"
#include "api/http_server.h"
#include "seccomp/seccomp.h"
#include "util/log.h"
#include "config/config.h"
#include "vmm/vm.h"
#include "vmm/controller.h"
#include "vmm/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_API_SOCK "/run/firecracker.socket"

struct cli {
	const char *api_sock;
	const char *config_file;
	const char *metrics_path;
	const char *id;
	const char *log_path;
	const char *level;
	bool no_api;
	bool boot_timer;
	bool no_pvm_profile;
	const char *sample_rip;
	const char *describe_snapshot;
	bool show_level;
	bool show_log_origin;
	bool no_seccomp;
	const char *seccomp_filter;
	long long start_time_us;
	long long start_time_cpu_us;
	long long http_max_payload;
	long long mmds_size_limit; /* 0: the API's max payload */
	const char *metadata;	   /* --metadata: the MMDS data store's first contents */
};

enum {
	OPT_API_SOCK = 256,
	OPT_BOOT_TIMER,
	OPT_CONFIG_FILE,
	OPT_HELP,
	OPT_ID,
	OPT_LEVEL,
	OPT_LOG_PATH,
	OPT_NO_API,
	OPT_NO_SECCOMP,
	OPT_SECCOMP_FILTER,
	OPT_SHOW_LEVEL,
	OPT_SHOW_LOG_ORIGIN,
	OPT_VERSION,
	OPT_START_TIME_US,
	OPT_START_TIME_CPU_US,
	OPT_PARENT_CPU_TIME_US,
	OPT_HTTP_MAX_PAYLOAD,
	OPT_MMDS_SIZE_LIMIT,
	OPT_METADATA,
	/* Firecracker flags for features that have not landed in ember yet. */
	OPT_METRICS_PATH,
	OPT_NO_PVM_PROFILE,
	OPT_SAMPLE_RIP,
	OPT_DESCRIBE_SNAPSHOT,
	OPT_NOT_YET,
};

static const struct option options[] = {
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"help", no_argument, NULL, OPT_HELP},
    {"id", required_argument, NULL, OPT_ID},
    {"level", required_argument, NULL, OPT_LEVEL},
    {"log-path", required_argument, NULL, OPT_LOG_PATH},
    {"no-api", no_argument, NULL, OPT_NO_API},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"show-level", no_argument, NULL, OPT_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, OPT_SHOW_LOG_ORIGIN},
    {"version", no_argument, NULL, OPT_VERSION},
    {"start-time-us", required_argument, NULL, OPT_START_TIME_US},
    {"start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US},
    {"parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_TIME_US},
    {"http-api-max-payload-size", required_argument, NULL, OPT_HTTP_MAX_PAYLOAD},
    {"metadata", required_argument, NULL, OPT_METADATA},
    {"metrics-path", required_argument, NULL, OPT_METRICS_PATH},
    {"no-pvm-profile", no_argument, NULL, OPT_NO_PVM_PROFILE},
    {"sample-rip", required_argument, NULL, OPT_SAMPLE_RIP},
    {"mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT},
    {"module", required_argument, NULL, OPT_NOT_YET},
    {"seccomp-filter", required_argument, NULL, OPT_SECCOMP_FILTER},
    {"describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT},
    {"enable-pci", no_argument, NULL, OPT_NOT_YET},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fputs(
	    "ember " EMBER_VERSION ": a microVM monitor on KVM, with Firecracker's interface\n"
	    "(Firecracker API " FIRECRACKER_VERSION ")\n"
	    "\n"
	    "usage: ember [--api-sock PATH] [--config-file vm.json] [options]\n"
	    "       ember --no-api --config-file vm.json [options]\n"
	    "\n"
	    "  --api-sock PATH        serve Firecracker's REST API on the Unix socket PATH\n"
	    "                         (default " DEFAULT_API_SOCK ")\n"
	    "  --config-file PATH     boot the VM described by PATH (Firecracker's\n"
	    "                         FullVmConfiguration JSON) at once\n"
	    "  --no-api               do not serve the REST API (requires --config-file)\n"
	    "  --id ID                the microVM's id in log lines (default anonymous-instance)\n"
	    "  --log-path PATH        write the log to PATH instead of stderr\n"
	    "  --metrics-path PATH    write metrics (one JSON line per flush, every 60 s) to PATH\n"
	    "  --no-pvm-profile       on a kvm_pvm host, do not add nopv noxsave clearcpuid=...\n"
	    "                         to the guest kernel command line\n"
	    "  --sample-rip FILE      every 10 ms, write each vCPU's rip to FILE\n"
	    "                         (scripts/guest-profile.py FILE System.map: where time goes)\n"
	    "  --level LEVEL          Error, Warning, Info (default), Debug, Trace or Off\n"
	    "  --show-level           put the level in each log line\n"
	    "  --show-log-origin      put the source file and line in each log line\n"
	    "  --boot-timer           log the guest's boot time when it writes 123 to the\n"
	    "                         boot-timer MMIO address (0xc0000000)\n"
	    "  --start-time-us N      the monotonic time (us) the boot timer counts from\n"
	    "  --start-time-cpu-us N  the process CPU time (us) the boot timer counts from\n"
	    "  --http-api-max-payload-size N  largest API request body (default 51200)\n"
	    "  --mmds-size-limit N    largest MMDS data store, bytes (default: the above)\n"
	    "  --metadata FILE        the MMDS data store's first contents (JSON)\n"
	    "  --describe-snapshot FILE  print the format version of the snapshot state\n"
	    "                         file FILE (v1.0.0) and exit\n"
	    "  --seccomp-filter FILE  per-thread seccomp filters from FILE (Firecracker's\n"
	    "                         seccompiler JSON) instead of the built-in ones\n"
	    "  --no-seccomp           install no seccomp filter (not for production)\n"
	    "  --version              print the Firecracker version ember implements, then\n"
	    "                         ember's own, and exit\n"
	    "  --help                 this text\n"
	    "\n"
	    "Exit status: 0 when the guest resets or powers off, 1 on a guest or VMM failure,\n"
	    "152 for a bad configuration, 153 for a bad command line. SIGTERM and SIGINT stop\n"
	    "the VM and clean up, then kill ember, as they kill Firecracker.\n",
	    out);
}

/*
 * main's helpers with buffers (load_metadata, parse_cli, setup_logger) are noinline:
 * inlined, their buffers would stay in main's frame, under every call of the VM's
 * start, and each page of the main stack a start touches stays resident.
 */

/* --metadata FILE: the MMDS data store's contents, as PUT /mmds would give them. */
__attribute__((noinline)) static int load_metadata(struct controller *ctl, const char *path)
{
	char err[MMDS_ERR_MAX], *buf = NULL;
	size_t cap = 0, len = 0;
	FILE *f = fopen(path, "re");
	int ret;

	if (!f) {
		log_error("--metadata %s: %s", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			char *b = realloc(buf, cap = cap ? 2 * cap : 4096);

			if (!b) {
				free(buf);
				fclose(f);
				log_error("--metadata %s: out of memory", path);
				return -ENOMEM;
			}
			buf = b;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (!n)
			break;
	}
	fclose(f);
	ret = mmds_put(&ctl->mmds, buf, len, err);
	free(buf);
	if (ret)
		log_error("--metadata %s: %s", path, err);
	return ret;
}

static int parse_ll(const char *flag, const char *s, long long min, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < min) {
		log_error("--%s: \"%s\" is not a valid number (at least %lld)", flag, s, min);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/* Returns 0 to go on, 1 for "done, exit 0", or -EINVAL. */
__attribute__((noinline)) static int parse_cli(int argc, char **argv, struct cli *cli)
{
	enum log_level ignored_level;
	char err[CONFIG_ERR_MAX];
	long long ignored;
	int opt, idx;

	opterr = 0;
	while ((opt = getopt_long_only(argc, argv, "", options, &idx)) != -1) {
		switch (opt) {
		case OPT_API_SOCK:
			cli->api_sock = optarg;
			break;
		case OPT_BOOT_TIMER:
			cli->boot_timer = true;
			break;
		case OPT_CONFIG_FILE:
			cli->config_file = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 1;
		case OPT_ID:
			/* Firecracker's rule for instance ids (config/id.c). */
			if (config_check_id(optarg, CONFIG_ID_INSTANCE, "--id", err)) {
				log_error("%s", err);
				return -EINVAL;
			}
			cli->id = optarg;
			break;
		case OPT_LEVEL:
			if (log_level_parse(optarg, &ignored_level)) {
				log_error(
				    "--level: \"%s\" is not one of Error, Warning, Info, Debug, "
				    "Trace, Off",
				    optarg);
				return -EINVAL;
			}
			cli->level = optarg;
			break;
		case OPT_LOG_PATH:
			cli->log_path = optarg;
			break;
		case OPT_NO_API:
			cli->no_api = true;
			break;
		case OPT_NO_SECCOMP:
			cli->no_seccomp = true;
			break;
		case OPT_SECCOMP_FILTER:
			cli->seccomp_filter = optarg;
			break;
		case OPT_SHOW_LEVEL:
			cli->show_level = true;
			break;
		case OPT_SHOW_LOG_ORIGIN:
			cli->show_log_origin = true;
			break;
		case OPT_VERSION:
			/* Firecracker's line first: the Go SDK parses "Firecracker vX.Y.Z". */
			printf("Firecracker v%s\nember v%s\n", FIRECRACKER_VERSION, EMBER_VERSION);
			return 1;
		case OPT_START_TIME_US:
			if (parse_ll("start-time-us", optarg, 0, &cli->start_time_us))
				return -EINVAL;
			break;
		case OPT_START_TIME_CPU_US:
			if (parse_ll("start-time-cpu-us", optarg, 0, &cli->start_time_cpu_us))
				return -EINVAL;
			break;
		case OPT_PARENT_CPU_TIME_US:
			if (parse_ll("parent-cpu-time-us", optarg, 0, &ignored))
				return -EINVAL;
			break;
		case OPT_HTTP_MAX_PAYLOAD:
			if (parse_ll("http-api-max-payload-size", optarg, 1,
				     &cli->http_max_payload))
				return -EINVAL;
			break;
		case OPT_MMDS_SIZE_LIMIT:
			if (parse_ll("mmds-size-limit", optarg, 1, &cli->mmds_size_limit))
				return -EINVAL;
			break;
		case OPT_METADATA:
			cli->metadata = optarg;
			break;
		case OPT_SAMPLE_RIP:
			cli->sample_rip = optarg;
			break;
		case OPT_NO_PVM_PROFILE:
			cli->no_pvm_profile = true;
			break;
		case OPT_METRICS_PATH:
			cli->metrics_path = optarg;
			break;
		case OPT_DESCRIBE_SNAPSHOT:
			cli->describe_snapshot = optarg;
			break;
		case OPT_NOT_YET:
			log_error("--%s: not supported yet by ember", options[idx].name);
			return -EINVAL;
		case '?':
		default:
			log_error("option \"%s\": unknown, or missing its value (see --help)",
				  argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		log_error("unexpected argument \"%s\" (see --help)", argv[optind]);
		return -EINVAL;
	}
	if (cli->no_seccomp && cli->seccomp_filter) {
		/* As Firecracker: each flag forbids the other. */
		log_error("--seccomp-filter %s and --no-seccomp: give one or the other",
			  cli->seccomp_filter);
		return -EINVAL;
	}
	return 0;
}

__attribute__((noinline)) static int setup_logger(struct logger *lg, const struct cli *cli,
						  const struct logger_config *lc)
{
	const char *path = lc->present && lc->log_path ? lc->log_path : cli->log_path;
	char err[VMM_ERR_MAX];

	if (lc->present) {
		lg->level = lc->level;
		lg->show_level = lc->show_level;
		lg->show_origin = lc->show_log_origin;
		if (lc->module)
			log_set_module(lg, lc->module); /* checked by config/logger.c */
	}
	if (cli->level)
		log_level_parse(cli->level, &lg->level); /* checked by parse_cli */
	lg->show_level |= cli->show_level;
	lg->show_origin |= cli->show_log_origin;
	/* A file or a named pipe, as Firecracker's logger takes. */
	if (path) {
		if (ctrl_open_log(lg, path, err)) {
			log_error("%s", err);
			return -EINVAL;
		}
		ctrl_log_started();
	}
	return 0;
}

static void us_to_ts(long long us, struct timespec *ts)
{
	ts->tv_sec = us / 1000000;
	ts->tv_nsec = (us % 1000000) * 1000;
}

int main(int argc, char **argv)
{
	struct logger lg = {.level = LOG_INFO};
	struct termios saved_tio;
	bool tio_saved = false;
	struct cli cli = {0};
	char err[CONFIG_ERR_MAX];
	struct timespec start_mono, start_cpu;
	struct event_loop loop = {.epfd = -1, .wake_fd = -1};
	struct http_server api;
	struct api_thread api_thread = {0};
	struct seccomp_progs seccomp = {0};
	struct controller ctl;
	long ready_us = 0;
	int ret, end_signal;

	/* First thing: the reference for the boot timer. */
	clock_gettime(CLOCK_MONOTONIC, &start_mono);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start_cpu);
	log_set(&lg);
	/* A console reader or API client that goes away must not kill the VMM. */
	signal(SIGPIPE, SIG_IGN);
	/*
	 * One malloc arena: a thread's first malloc would otherwise make an arena of its own
	 * (64 MiB reserved, its first pages touched) for the few small blocks ember's threads
	 * allocate; they are set up once, nothing contends for the lock.
	 */
	mallopt(M_ARENA_MAX, 1);

	ret = parse_cli(argc, argv, &cli);
	if (ret)
		return ret > 0 ? 0 : VM_EXIT_ARG_PARSING;
	if (cli.describe_snapshot) {
		/* As Firecracker: "v<major>.<minor>.<patch>" on stdout, and nothing else runs. */
		uint16_t major, minor;

		if (vm_snapshot_describe(cli.describe_snapshot, &major, &minor))
			return VM_EXIT_ERROR;
		printf("v%u.%u.0\n", major, minor);
		return 0;
	}
	if (cli.id)
		snprintf(lg.id, sizeof(lg.id), "%s", cli.id);
	if (cli.no_api && !cli.config_file) {
		log_error("--no-api needs --config-file: without the API the VM is described by a "
			  "configuration file");
		return VM_EXIT_ARG_PARSING;
	}

	/* The API socket before anything slow: clients may connect right away. */
	http_server_init(&api, (size_t)cli.http_max_payload, api_http_handler, &ctl);
	if (!cli.no_api && http_server_listen(&api, cli.api_sock ? cli.api_sock : DEFAULT_API_SOCK,
					      err, sizeof(err))) {
		log_error("%s", err);
		return VM_EXIT_ERROR;
	}
	if (!cli.no_api) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ready_us = (now.tv_sec - start_mono.tv_sec) * 1000000 +
			   (now.tv_nsec - start_mono.tv_nsec) / 1000;
	}

	/* The file is parsed straight into the controller's configuration: no copy on the stack. */
	ctrl_init(&ctl, &loop, &lg, &kvm_backend_ops);
	if (cli.config_file) {
		ret = config_parse_file(&ctl.cfg, cli.config_file, err);
		if (!ret)
			ret = config_validate(&ctl.cfg, err);
		if (ret) {
			log_error("configuration: %s", err);
			ctrl_destroy(&ctl);
			http_server_close(&api);
			return VM_EXIT_BAD_CONFIG;
		}
	}
	if (setup_logger(&lg, &cli, &ctl.cfg.logger)) {
		ctrl_destroy(&ctl);
		http_server_close(&api);
		return VM_EXIT_BAD_CONFIG;
	}
	/* --metrics-path is the flag form of the metrics section; the file's wins. */
	if (cli.metrics_path && !ctl.cfg.metrics.present) {
		ctl.cfg.metrics.metrics_path = strdup(cli.metrics_path);
		ctl.cfg.metrics.present = ctl.cfg.metrics.metrics_path != NULL;
	}
	/* Compiled now, installed by each thread (seccomp.h); as Firecracker, a bad file is 1. */
	if (!cli.no_seccomp && seccomp_progs_load(&seccomp, cli.seccomp_filter, err)) {
		log_error("%s%s", cli.seccomp_filter ? "--seccomp-filter " : "seccomp: ", err);
		ctrl_destroy(&ctl);
		http_server_close(&api);
		return VM_EXIT_ERROR;
	}
	if (cli.start_time_us)
		us_to_ts(cli.start_time_us, &start_mono);
	if (cli.start_time_cpu_us)
		us_to_ts(cli.start_time_cpu_us, &start_cpu);

	ctl.put_checks = true;
	/* As Firecracker: the API's max payload unless said otherwise. */
	if (cli.mmds_size_limit || cli.http_max_payload)
		ctl.mmds.size_limit =
		    (size_t)(cli.mmds_size_limit ? cli.mmds_size_limit : cli.http_max_payload);
	if (cli.metadata && load_metadata(&ctl, cli.metadata)) {
		ret = VM_EXIT_BAD_CONFIG;
		goto out;
	}
	ctl.boot_timer = cli.boot_timer;
	ctl.no_pvm_profile = cli.no_pvm_profile;
	ctl.sample_rip_path = cli.sample_rip;
	ctl.seccomp = &seccomp;
	ctl.start_mono = start_mono;
	ctl.start_cpu = start_cpu;
	ctl.serial_out_fd = STDOUT_FILENO;
	ctl.serial_in_fd = fcntl(STDIN_FILENO, F_GETFD) < 0 ? -1 : STDIN_FILENO;
	if (ctl.serial_in_fd >= 0 && isatty(ctl.serial_in_fd) &&
	    !tcgetattr(ctl.serial_in_fd, &saved_tio)) {
		/* Keys go to the guest as typed; Ctrl-C still stops ember (ISIG stays). */
		struct termios raw = saved_tio;

		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		tio_saved = !tcsetattr(ctl.serial_in_fd, TCSANOW, &raw);
	}

	ret = ev_init(&loop);
	if (!ret)
		ret = ctrl_watch_signals(&ctl);
	if (!ret && !cli.no_api)
		ret = api_thread_start(&api_thread, &api, &loop,
				       seccomp_progs_get(&seccomp, SECCOMP_API));
	if (ret) {
		log_error("event loop, API thread: %s", strerror(-ret));
		ret = VM_EXIT_ERROR;
		goto out;
	}
	if (ctrl_configure_metrics(&ctl, err)) {
		log_error("metrics: %s", err);
		ret = VM_EXIT_BAD_CONFIG;
		goto out;
	}
	if (cli.config_file) {
		/* Boot at once, as Firecracker does; vm_create has logged why it failed. */
		struct ctrl_error e;

		ret = ctrl_instance_start(&ctl, &e);
		if (ret) {
			ret = ctl.start_bad_input ? VM_EXIT_BAD_CONFIG : VM_EXIT_ERROR;
			goto out;
		}
	}
	if (!cli.no_api)
		log_info("API server listening on %s (accepting %ld us after start)", api.path,
			 ready_us);
	/* While the process waits for its first request: KVM's VM, for a restore or a boot. */
	if (!cli.no_api && !cli.config_file)
		kvm_prewarm_start(&ctl.prewarm);
	ret = ctrl_run(&ctl);
out:
	end_signal = ctl.end_signal;
	api_thread_stop(&api_thread);
	http_server_close(&api);
	ctrl_destroy(&ctl);
	kvm_prewarm_release(&ctl.prewarm);
	ev_destroy(&loop);
	seccomp_progs_free(&seccomp);
	if (tio_saved)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	log_debug("exiting with status %d", ret);
	if (lg.fd)
		close(lg.fd);
	log_set(NULL);
	/* Killed by SIGTERM/SIGINT as Firecracker is, now that everything is cleaned up. */
	return ctrl_exit(end_signal, ret);
}
