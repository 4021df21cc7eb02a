// SPDX-License-Identifier: Apache-2.0
/*
 * The controller's state machine without a VM (the backend is a fake): every
 * action in every state (Not started, Running, Paused) is done, done by the
 * VM, nothing to do, or refused with Firecracker's exact message; what an
 * action needs configured is checked before the state; a failed action leaves
 * the state as it was. The expectations are written out here, apart from the
 * table in vmm/actions.c, so that a change to either shows.
 */
#include "vmm/actions.h"
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static struct {
	int calls; /* backend operations the actions asked for */
	int fail;  /* what the next operation returns (0: it works) */
	int stops;
} fake;

static int op_result(char err[VMM_ERR_MAX], const char *what)
{
	fake.calls++;
	if (fake.fail)
		snprintf(err, VMM_ERR_MAX, "%s: the fake VM refused", what);
	return fake.fail;
}

static int fake_start(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, "start");
}

static int fake_stop(struct controller *ctl)
{
	(void)ctl;
	fake.stops++;
	return 0;
}

static void fake_request_exit(struct controller *ctl, int code)
{
	(void)ctl;
	(void)code;
}

static int fake_pause(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, "pause");
}

static int fake_resume(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, "resume");
}

static int fake_cad(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, "ctrl-alt-del");
}

static int fake_set_log_path(struct controller *ctl, const char *path, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, path);
}

static int fake_balloon_target(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)mib;
	return op_result(err, "balloon target");
}

static int fake_balloon_interval(struct controller *ctl, uint32_t s, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)s;
	return op_result(err, "balloon interval");
}

static int fake_balloon_stats(struct controller *ctl, struct balloon_stats *out,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	out->target_mib = 8;
	return op_result(err, "balloon stats");
}

static int fake_drive_update(struct controller *ctl, const char *id, const char *path,
			     const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)path;
	(void)rl;
	return op_result(err, id);
}

static int fake_net_update(struct controller *ctl, const char *id,
			   const struct rate_limiter_config *rx,
			   const struct rate_limiter_config *tx, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)rx;
	(void)tx;
	return op_result(err, id);
}

static int fake_pmem_update(struct controller *ctl, const char *id,
			    const struct rate_limiter_config *rl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)rl;
	return op_result(err, id);
}

static int fake_hotplug_request(struct controller *ctl, uint32_t mib, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)mib;
	return op_result(err, "hotplug request");
}

static int fake_hotplug_sizes(struct controller *ctl, uint64_t *plugged, uint64_t *requested,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	*plugged = 2;
	*requested = 4;
	return op_result(err, "hotplug sizes");
}

static int fake_hint_start(struct controller *ctl, bool ack, char err[VMM_ERR_MAX])
{
	(void)ctl;
	(void)ack;
	return op_result(err, "hint start");
}

static int fake_hint_stop(struct controller *ctl, char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, "hint stop");
}

static int fake_hint_status(struct controller *ctl, uint32_t *host, uint32_t *guest,
			    bool *has_guest, char err[VMM_ERR_MAX])
{
	(void)ctl;
	*host = 2;
	*guest = 0;
	*has_guest = false;
	return op_result(err, "hint status");
}

static int fake_snapshot_create(struct controller *ctl, const struct snapshot_create_params *p,
				char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, p->snapshot_path);
}

static int fake_snapshot_load(struct controller *ctl, const struct snapshot_load_params *p,
			      char err[VMM_ERR_MAX])
{
	(void)ctl;
	return op_result(err, p->snapshot_path);
}

static const struct vm_backend_ops fake_ops = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_cad,
    .set_log_path = fake_set_log_path,
    .balloon_set_target = fake_balloon_target,
    .balloon_set_stats_interval = fake_balloon_interval,
    .balloon_stats = fake_balloon_stats,
    .drive_update = fake_drive_update,
    .net_update = fake_net_update,
    .balloon_hint_start = fake_hint_start,
    .balloon_hint_stop = fake_hint_stop,
    .balloon_hint_status = fake_hint_status,
    .pmem_update = fake_pmem_update,
    .memory_hotplug_request = fake_hotplug_request,
    .memory_hotplug_sizes = fake_hotplug_sizes,
    .snapshot_create = fake_snapshot_create,
    .snapshot_load = fake_snapshot_load,
};

/* A VM without the after-boot device operations. */
static const struct vm_backend_ops fake_ops_no_devices = {
    .start = fake_start,
    .stop = fake_stop,
    .request_exit = fake_request_exit,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_cad,
    .set_log_path = fake_set_log_path,
};

static const char *const after_boot =
    "The requested operation is not supported after starting the microVM.";
static const char *const before_boot =
    "The requested operation is not supported before starting the microVM.";
static const char *const snapshot_running =
    "Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore "
    "unavailable while running";
static const char *const load_not_fresh = "Load snapshot error: Loading a microVM snapshot not "
					  "allowed after configuring boot-specific resources.";
static const char *const no_balloon =
    "balloon: the balloon device is not configured (PUT /balloon first).";
static const char *const no_stats = "balloon: statistics are not enabled "
				    "(stats_polling_interval_s is 0 when the device was "
				    "configured).";

static struct controller ctl;
static struct logger lg;
static bool ctl_live;

#define BODY(s) s, strlen(s)

static const enum ctrl_state states[] = {CTRL_NOT_STARTED, CTRL_RUNNING, CTRL_PAUSED};

enum {
	WITH_BALLOON = 1,
	WITH_STATS = 2, /* the balloon's statistics enabled */
	WITH_METRICS = 4,
	WITH_HOTPLUG = 8, /* pmem "p" and memory-hotplug */
};

/* A controller in @state with a kernel, drive "d", interface "e" and what @with says. */
static void fixture(enum ctrl_state state, unsigned int with, const struct vm_backend_ops *ops)
{
	struct ctrl_error e = {0};

	if (ctl_live)
		ctrl_destroy(&ctl);
	memset(&fake, 0, sizeof(fake));
	lg = (struct logger){.level = LOG_OFF};
	log_set(&lg);
	ctrl_init(&ctl, NULL, &lg, ops);
	ctl_live = true;
	CHECK_EQ(ctrl_configure(&ctl, CONFIG_BOOT_SOURCE, BODY("{\"kernel_image_path\": \"/k\"}"),
				false, &e),
		 0);
	CHECK_EQ(ctrl_configure(&ctl, CONFIG_DRIVE,
				BODY("{\"drive_id\": \"d\", \"path_on_host\": \"/d\", "
				     "\"is_root_device\": false}"),
				false, &e),
		 0);
	CHECK_EQ(ctrl_configure(&ctl, CONFIG_NET,
				BODY("{\"iface_id\": \"e\", \"host_dev_name\": \"tap0\"}"), false,
				&e),
		 0);
	if (with & WITH_BALLOON) {
		const char *b =
		    (with & WITH_STATS)
			? "{\"amount_mib\": 8, \"deflate_on_oom\": true, "
			  "\"stats_polling_interval_s\": 1, \"free_page_hinting\": true}"
			: "{\"amount_mib\": 8, \"deflate_on_oom\": true}";

		CHECK_EQ(ctrl_configure(&ctl, CONFIG_BALLOON, BODY(b), false, &e), 0);
	}
	if (with & WITH_HOTPLUG) {
		CHECK_EQ(ctrl_configure(&ctl, CONFIG_PMEM,
					BODY("{\"id\": \"p\", \"path_on_host\": \"/p\"}"), false,
					&e),
			 0);
		CHECK_EQ(ctrl_configure(&ctl, CONFIG_MEMORY_HOTPLUG,
					BODY("{\"total_size_mib\": 256}"), false, &e),
			 0);
	}
	if (with & WITH_METRICS)
		CHECK_EQ(ctrl_put_metrics(&ctl, BODY("{\"metrics_path\": \"/dev/null\"}"), &e), 0);
	if (state != CTRL_NOT_STARTED)
		CHECK_EQ(ctrl_instance_start(&ctl, &e), 0);
	if (state == CTRL_PAUSED)
		CHECK_EQ(ctrl_pause(&ctl, &e), 0);
	CHECK_EQ(ctl.state, state);
	fake.calls = 0;
}

static bool is_get(enum ctrl_action a)
{
	return a == CTRL_GET_INSTANCE_INFO || a == CTRL_GET_VERSION ||
	       a == CTRL_GET_MACHINE_CONFIG || a == CTRL_GET_VM_CONFIG || a == CTRL_GET_BALLOON ||
	       a == CTRL_GET_BALLOON_STATS || a == CTRL_GET_MMDS || a == CTRL_GET_MEMORY_HOTPLUG ||
	       a == CTRL_HINT_STATUS;
}

/* Does @a with a request that is right in itself; a GET's answer must be JSON text. */
static int run(enum ctrl_action a, struct ctrl_error *e)
{
	char *json = NULL;
	int ret = -1;

	memset(e, 0, sizeof(*e));
	switch (a) {
	case CTRL_GET_INSTANCE_INFO:
		ret = ctrl_get_instance_info(&ctl, &json, e);
		break;
	case CTRL_GET_VERSION:
		ret = ctrl_get_version(&ctl, &json, e);
		break;
	case CTRL_GET_MACHINE_CONFIG:
		ret = ctrl_get_machine_config(&ctl, &json, e);
		break;
	case CTRL_GET_VM_CONFIG:
		ret = ctrl_get_vm_config(&ctl, &json, e);
		break;
	case CTRL_CONFIGURE:
		ret = ctrl_configure(&ctl, CONFIG_MACHINE,
				     BODY("{\"vcpu_count\": 2, \"mem_size_mib\": 256}"), false, e);
		break;
	case CTRL_PUT_METRICS:
		ret = ctrl_put_metrics(&ctl, BODY("{\"metrics_path\": \"/dev/null\"}"), e);
		break;
	case CTRL_PUT_LOGGER:
		ret = ctrl_update_logger(&ctl, BODY("{\"level\": \"Off\"}"), e);
		break;
	case CTRL_INSTANCE_START:
		ret = ctrl_instance_start(&ctl, e);
		break;
	case CTRL_FLUSH_METRICS:
		ret = ctrl_flush_metrics(&ctl, e);
		break;
	case CTRL_SEND_CTRL_ALT_DEL:
		ret = ctrl_send_ctrl_alt_del(&ctl, e);
		break;
	case CTRL_PAUSE:
		ret = ctrl_pause(&ctl, e);
		break;
	case CTRL_RESUME:
		ret = ctrl_resume(&ctl, e);
		break;
	case CTRL_PATCH_DRIVE:
		ret = ctrl_patch_drive(&ctl,
				       BODY("{\"drive_id\": \"d\", \"path_on_host\": \"/d2\"}"), e);
		break;
	case CTRL_PATCH_NET:
		ret = ctrl_patch_net(&ctl,
				     BODY("{\"iface_id\": \"e\", \"rx_rate_limiter\": {\"ops\": "
					  "{\"size\": 1, \"refill_time\": 1}}}"),
				     e);
		break;
	case CTRL_GET_BALLOON:
		ret = ctrl_get_balloon(&ctl, &json, e);
		break;
	case CTRL_PUT_MMDS:
		ret = ctrl_put_mmds(&ctl, BODY("{\"a\": \"b\"}"), e);
		break;
	case CTRL_PATCH_MMDS: /* a PATCH needs a store: a PUT first */
		ret = ctrl_put_mmds(&ctl, BODY("{\"a\": \"b\"}"), e);
		if (!ret)
			ret = ctrl_patch_mmds(&ctl, BODY("{\"a\": null}"), e);
		break;
	case CTRL_GET_MMDS:
		ret = ctrl_get_mmds(&ctl, &json, e);
		break;
	case CTRL_PATCH_BALLOON:
		ret = ctrl_patch_balloon(&ctl, BODY("{\"amount_mib\": 4}"), e);
		break;
	case CTRL_GET_BALLOON_STATS:
		ret = ctrl_get_balloon_stats(&ctl, &json, e);
		break;
	case CTRL_PATCH_BALLOON_STATS:
		ret = ctrl_patch_balloon_stats(&ctl, BODY("{\"stats_polling_interval_s\": 3}"), e);
		break;
	case CTRL_SNAPSHOT_CREATE:
		ret = ctrl_snapshot_create(
		    &ctl, BODY("{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}"), e);
		break;
	case CTRL_SNAPSHOT_LOAD:
		ret = ctrl_snapshot_load(
		    &ctl,
		    BODY("{\"snapshot_path\": \"/s\", \"mem_backend\": "
			 "{\"backend_type\": \"File\", \"backend_path\": \"/m\"}}"),
		    e);
		break;
	case CTRL_PATCH_PMEM:
		ret = ctrl_patch_pmem(&ctl,
				      BODY("{\"id\": \"p\", \"rate_limiter\": {\"ops\": "
					   "{\"size\": 1, \"refill_time\": 1}}}"),
				      e);
		break;
	case CTRL_GET_MEMORY_HOTPLUG:
		ret = ctrl_get_memory_hotplug(&ctl, &json, e);
		break;
	case CTRL_PATCH_MEMORY_HOTPLUG:
		ret = ctrl_patch_memory_hotplug(&ctl, BODY("{\"requested_size_mib\": 128}"), e);
		break;
	case CTRL_HINT_START:
		ret = ctrl_hint_start(&ctl, BODY("{\"acknowledge_on_stop\": true}"), e);
		break;
	case CTRL_HINT_STATUS:
		ret = ctrl_hint_status(&ctl, &json, e);
		break;
	case CTRL_HINT_STOP:
		ret = ctrl_hint_stop(&ctl, e);
		break;
	case CTRL_NR_ACTIONS:
		break;
	}
	if (!ret && is_get(a) && (!json || json[0] != '{'))
		FAIL_AT("%s: answered %s", ctrl_action_name(a), json ? json : "nothing");
	if (ret && json)
		FAIL_AT("%s: failed with an answer", ctrl_action_name(a));
	free(json);
	return ret;
}

/*
 * What each action does in each state: "ok" (done without the VM), "vm"
 * (done by the VM: one backend operation), "same" (nothing to do), or the
 * exact message it is refused with.
 */
static const struct {
	enum ctrl_action a;
	const char *in[3]; /* Not started, Running, Paused */
	int then;	   /* the state after "vm", or -1: unchanged */
} expected[] = {
    {CTRL_GET_INSTANCE_INFO, {"ok", "ok", "ok"}, -1},
    {CTRL_GET_VERSION, {"ok", "ok", "ok"}, -1},
    {CTRL_GET_MACHINE_CONFIG, {"ok", "ok", "ok"}, -1},
    {CTRL_GET_VM_CONFIG, {"ok", "ok", "ok"}, -1},
    {CTRL_CONFIGURE, {"ok", after_boot, after_boot}, -1},
    {CTRL_PUT_METRICS, {"ok", after_boot, after_boot}, -1},
    {CTRL_PUT_LOGGER, {"ok", "ok", "ok"}, -1},
    {CTRL_INSTANCE_START, {"vm", after_boot, after_boot}, CTRL_RUNNING},
    {CTRL_FLUSH_METRICS, {"ok", "ok", "ok"}, -1},
    {CTRL_SEND_CTRL_ALT_DEL, {before_boot, "vm", "vm"}, -1},
    {CTRL_PAUSE, {before_boot, "vm", "same"}, CTRL_PAUSED},
    {CTRL_RESUME, {before_boot, "same", "vm"}, CTRL_RUNNING},
    {CTRL_PATCH_DRIVE, {before_boot, "vm", "vm"}, -1},
    {CTRL_PATCH_NET, {before_boot, "vm", "vm"}, -1},
    {CTRL_GET_BALLOON, {"ok", "ok", "ok"}, -1},
    {CTRL_PATCH_BALLOON, {"ok", "vm", "vm"}, -1},
    {CTRL_GET_BALLOON_STATS, {before_boot, "vm", "vm"}, -1},
    {CTRL_PATCH_BALLOON_STATS, {"ok", "vm", "vm"}, -1},
    {CTRL_SNAPSHOT_CREATE, {before_boot, snapshot_running, "vm"}, -1},
    /* The fixture configured a boot source: not a fresh process (see snapshot_load_rules). */
    {CTRL_SNAPSHOT_LOAD, {load_not_fresh, after_boot, after_boot}, -1},
    {CTRL_PUT_MMDS, {"ok", "ok", "ok"}, -1},
    {CTRL_PATCH_MMDS, {"ok", "ok", "ok"}, -1},
    {CTRL_GET_MMDS, {"ok", "ok", "ok"}, -1},
    {CTRL_PATCH_PMEM, {before_boot, "vm", "vm"}, -1},
    {CTRL_GET_MEMORY_HOTPLUG, {"ok", "vm", "vm"}, -1},
    {CTRL_PATCH_MEMORY_HOTPLUG, {before_boot, "vm", "vm"}, -1},
    {CTRL_HINT_START, {before_boot, "vm", "vm"}, -1},
    {CTRL_HINT_STATUS, {before_boot, "vm", "vm"}, -1},
    {CTRL_HINT_STOP, {before_boot, "vm", "vm"}, -1},
};

TEST(every_action_in_every_state)
{
	CHECK_EQ(sizeof(expected) / sizeof(expected[0]), CTRL_NR_ACTIONS);
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		enum ctrl_action a = expected[i].a;

		for (int s = 0; s < 3; s++) {
			const char *want = expected[i].in[s];
			const char *name = ctrl_action_name(a);
			bool refused =
			    strcmp(want, "ok") && strcmp(want, "vm") && strcmp(want, "same");
			struct ctrl_error e;
			int check, ret;

			fixture(states[s],
				WITH_BALLOON | WITH_STATS | WITH_HOTPLUG |
				    (a == CTRL_PUT_METRICS ? 0 : WITH_METRICS),
				&fake_ops);
			/* ctrl_check tells beforehand what the action will do. */
			check = ctrl_check(&ctl, a, &e);
			if (refused ? check >= 0 || strcmp(e.msg, want)
				    : check != !strcmp(want, "same"))
				FAIL_AT("%s in %s: ctrl_check %d \"%s\", expected %s", name,
					ctrl_state_name(states[s]), check, check < 0 ? e.msg : "",
					want);
			ret = run(a, &e);
			if (refused) {
				if (!ret || strcmp(e.msg, want) || e.fault != CTRL_FAULT_STATE)
					FAIL_AT("%s in %s: %d (fault %d) \"%s\", expected \"%s\"",
						name, ctrl_state_name(states[s]), ret, e.fault,
						ret ? e.msg : "", want);
			} else if (ret) {
				FAIL_AT("%s in %s: refused: %s", name, ctrl_state_name(states[s]),
					e.msg);
			}
			/* Only what the VM does reaches the backend, and only that moves the state.
			 */
			if (fake.calls != !strcmp(want, "vm"))
				FAIL_AT("%s in %s: %d backend operations", name,
					ctrl_state_name(states[s]), fake.calls);
			if (!strcmp(want, "vm") && expected[i].then >= 0)
				CHECK_EQ(ctl.state, expected[i].then);
			else
				CHECK_EQ(ctl.state, states[s]);
		}
	}
}

/* What an action needs configured comes before the state, in every state. */
TEST(needs_come_before_the_state)
{
	static const enum ctrl_action balloon[] = {
	    CTRL_GET_BALLOON, CTRL_PATCH_BALLOON, CTRL_GET_BALLOON_STATS, CTRL_PATCH_BALLOON_STATS};
	struct ctrl_error e;

	for (int s = 0; s < 3; s++) {
		for (size_t i = 0; i < sizeof(balloon) / sizeof(balloon[0]); i++) {
			fixture(states[s], 0, &fake_ops);
			CHECK(ctrl_check(&ctl, balloon[i], &e) < 0);
			CHECK_STR(e.msg, no_balloon);
			CHECK(run(balloon[i], &e) < 0);
			CHECK_STR(e.msg, no_balloon);
			CHECK_EQ(e.fault, CTRL_FAULT_STATE);
			CHECK_EQ(fake.calls, 0);
		}
		/* A balloon without statistics: no GET of them, before or after boot. */
		fixture(states[s], WITH_BALLOON, &fake_ops);
		CHECK(run(CTRL_GET_BALLOON_STATS, &e) < 0);
		CHECK_STR(e.msg, no_stats);
		CHECK_EQ(e.fault, CTRL_FAULT_STATE);
		CHECK_EQ(run(CTRL_GET_BALLOON, &e), 0);
		CHECK_EQ(run(CTRL_PATCH_BALLOON_STATS, &e), 0);
		CHECK_EQ(ctl.cfg.balloon.stats_polling_interval_s, 3);
	}
}

/* An after-boot update the backend cannot do is refused saying so; nothing changes. */
TEST(missing_device_ops)
{
	static const struct {
		enum ctrl_action a;
		const char *msg;
	} cases[] = {
	    {CTRL_PATCH_DRIVE, "PATCH /drives: not supported by ember on a running microVM."},
	    {CTRL_PATCH_NET,
	     "PATCH /network-interfaces: not supported by ember on a running microVM."},
	    {CTRL_PATCH_BALLOON, "PATCH /balloon: not supported by ember on a running microVM."},
	    {CTRL_GET_BALLOON_STATS,
	     "GET /balloon/statistics: not supported by ember on a running microVM."},
	    {CTRL_PATCH_BALLOON_STATS,
	     "PATCH /balloon/statistics: not supported by ember on a running microVM."},
	};
	struct ctrl_error e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fixture(CTRL_RUNNING, WITH_BALLOON | WITH_STATS, &fake_ops_no_devices);
		CHECK_EQ(ctrl_check(&ctl, cases[i].a, &e), 0);
		CHECK(run(cases[i].a, &e) < 0);
		CHECK_STR(e.msg, cases[i].msg);
		CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
		CHECK_STR(ctl.cfg.drives[0].path_on_host, "/d");
		CHECK_EQ(ctl.cfg.balloon.amount_mib, 8);
		CHECK_EQ(ctl.cfg.balloon.stats_polling_interval_s, 1);
	}
	/* Before boot the balloon's PATCHes go to the configuration: no op is needed. */
	fixture(CTRL_NOT_STARTED, WITH_BALLOON, &fake_ops_no_devices);
	CHECK_EQ(run(CTRL_PATCH_BALLOON, &e), 0);
	CHECK_EQ(ctl.cfg.balloon.amount_mib, 4);
}

/* A VM operation that fails leaves the state as it was, with the VM's reason. */
TEST(failures_keep_the_state)
{
	struct ctrl_error e;

	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	fake.fail = -ENOENT;
	CHECK(run(CTRL_INSTANCE_START, &e) < 0);
	CHECK_STR(e.msg, "InstanceStart failed: start: the fake VM refused");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK_EQ(ctl.state, CTRL_NOT_STARTED);
	CHECK(ctl.start_bad_input == false);
	fake.fail = 0;
	CHECK_EQ(run(CTRL_INSTANCE_START, &e), 0);
	CHECK_EQ(ctl.state, CTRL_RUNNING);

	fake.fail = -EBUSY;
	CHECK(run(CTRL_PAUSE, &e) < 0);
	CHECK_STR(e.msg, "pause: the fake VM refused");
	CHECK_EQ(ctl.state, CTRL_RUNNING);
	fake.fail = 0;
	CHECK_EQ(run(CTRL_PAUSE, &e), 0);
	fake.fail = -EIO;
	CHECK(run(CTRL_RESUME, &e) < 0);
	CHECK_EQ(ctl.state, CTRL_PAUSED);
	CHECK(run(CTRL_PATCH_DRIVE, &e) < 0);
	CHECK_STR(e.msg, "d: the fake VM refused");
	CHECK_STR(ctl.cfg.drives[0].path_on_host, "/d");
	fake.fail = 0;

	/* A configuration that does not validate never reaches the VM. */
	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	CHECK_EQ(ctrl_configure(&ctl, CONFIG_MACHINE, BODY("{\"smt\": true}"), true, &e), 0);
	CHECK(ctrl_configure(&ctl, CONFIG_MACHINE, BODY("{\"vcpu_count\": 3}"), true, &e) < 0);
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK_CONTAINS(e.msg, "vcpu_count: 3 is odd");
	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops); /* no boot source */
	CHECK(run(CTRL_INSTANCE_START, &e) < 0);
	CHECK_CONTAINS(e.msg, "InstanceStart failed: boot-source: missing");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK(ctl.start_bad_input);
	CHECK_EQ(fake.calls, 0);
}

/* Bad input is the action's own refusal, after the state allowed it. */
TEST(bad_input_is_input)
{
	struct ctrl_error e;

	fixture(CTRL_NOT_STARTED, WITH_BALLOON, &fake_ops);
	CHECK(ctrl_configure(&ctl, CONFIG_BOOT_SOURCE, BODY("{"), false, &e) < 0);
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK(ctrl_flush_metrics(&ctl, &e) < 0);
	CHECK_STR(e.msg, "FlushMetrics: metrics not configured (PUT /metrics first)");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	fixture(CTRL_RUNNING, WITH_BALLOON, &fake_ops);
	CHECK(ctrl_patch_drive(&ctl, BODY("{\"drive_id\": \"x\", \"path_on_host\": \"/x\"}"), &e) <
	      0);
	CHECK_STR(e.msg, "drive x: no such drive.");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK(ctrl_patch_net(&ctl,
			     BODY("{\"iface_id\": \"x\", \"tx_rate_limiter\": {\"ops\": "
				  "{\"size\": 1, \"refill_time\": 1}}}"),
			     &e) < 0);
	CHECK_STR(e.msg, "network interface x: no such interface.");
	CHECK(ctrl_patch_balloon(&ctl, BODY("{\"amount_mib\": \"4\"}"), &e) < 0);
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK_EQ(fake.calls, 0);
}

/*
 * PUT /snapshot/load: only on a fresh controller (the logger and metrics
 * may be set first; any other section, even a failed attempt, rules it
 * out); Paused once loaded, Running with resume_vm; a failed load leaves
 * the controller fresh.
 */
TEST(snapshot_load_rules)
{
	static const char *const load = "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}";
	static const char *const load_resume =
	    "{\"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\", \"resume_vm\": true}";
	struct ctrl_error e;

	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	CHECK_EQ(ctrl_update_logger(&ctl, BODY("{\"level\": \"Off\"}"), &e), 0);
	CHECK_EQ(ctrl_put_metrics(&ctl, BODY("{\"metrics_path\": \"/dev/null\"}"), &e), 0);
	fake.fail = -EINVAL;
	CHECK(ctrl_snapshot_load(&ctl, BODY(load), &e) < 0);
	CHECK_STR(e.msg, "Load snapshot error: /s: the fake VM refused");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK_EQ(ctl.state, CTRL_NOT_STARTED);
	fake.fail = 0;
	CHECK_EQ(ctrl_snapshot_load(&ctl, BODY(load), &e), 0);
	CHECK_EQ(ctl.state, CTRL_PAUSED);
	CHECK_EQ(fake.calls, 2);

	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	CHECK_EQ(ctrl_snapshot_load(&ctl, BODY(load_resume), &e), 0);
	CHECK_EQ(ctl.state, CTRL_RUNNING);

	/* A configuration attempt that fails still rules the load out, as in Firecracker. */
	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	CHECK(ctrl_configure(&ctl, CONFIG_MACHINE, BODY("{\"vcpu_count\": 0}"), false, &e) < 0);
	CHECK(ctrl_snapshot_load(&ctl, BODY(load), &e) < 0);
	CHECK_STR(e.msg, load_not_fresh);
	CHECK_EQ(e.fault, CTRL_FAULT_STATE);
	/* A body that does not parse: refused as input, before the VM is asked. */
	ctrl_destroy(&ctl);
	ctrl_init(&ctl, NULL, &lg, &fake_ops);
	fake.calls = 0;
	CHECK(ctrl_snapshot_load(&ctl, BODY("{\"snapshot_path\": \"/s\"}"), &e) < 0);
	CHECK_STR(e.msg, "snapshot/load: missing field: either `mem_backend` or `mem_file_path` is "
			 "required");
	CHECK_EQ(e.fault, CTRL_FAULT_INPUT);
	CHECK_EQ(fake.calls, 0);
	CHECK_EQ(ctl.state, CTRL_NOT_STARTED);
}

/* A Diff needs dirty page tracking; the VM is not asked otherwise. */
TEST(snapshot_create_rules)
{
	static const char *const diff =
	    "{\"snapshot_type\": \"Diff\", \"snapshot_path\": \"/s\", \"mem_file_path\": \"/m\"}";
	struct ctrl_error e;

	fixture(CTRL_PAUSED, 0, &fake_ops);
	CHECK(ctrl_snapshot_create(&ctl, BODY(diff), &e) < 0);
	CHECK_STR(e.msg, "The requested operation is not supported: Diff snapshots are not allowed "
			 "on uVMs with dirty page tracking disabled.");
	CHECK_EQ(fake.calls, 0);
	ctl.cfg.machine.track_dirty_pages = true;
	CHECK_EQ(ctrl_snapshot_create(&ctl, BODY(diff), &e), 0);
	CHECK_EQ(fake.calls, 1);
	fake.fail = -EIO;
	CHECK(ctrl_snapshot_create(&ctl, BODY(diff), &e) < 0);
	CHECK_STR(e.msg, "Create snapshot error: /s: the fake VM refused");
	CHECK_EQ(ctl.state, CTRL_PAUSED);
	fake.fail = 0;
	CHECK(ctrl_snapshot_create(&ctl, BODY("{\"snapshot_path\": \"/s\"}"), &e) < 0);
	CHECK_STR(e.msg, "snapshot/create: missing required key \"mem_file_path\"");
	CHECK(ctrl_snapshot_create(&ctl,
				   BODY("{\"snapshot_type\": \"Half\", \"snapshot_path\": \"/s\", "
					"\"mem_file_path\": \"/m\"}"),
				   &e) < 0);
	CHECK_CONTAINS(e.msg,
		       "snapshot/create.snapshot_type: \"Half\" is not one of \"Full\", \"Diff\"");
}

TEST(names_and_request_counts)
{
	for (int a = 0; a < CTRL_NR_ACTIONS; a++) {
		CHECK(ctrl_action_name((enum ctrl_action)a)[0] != '\0');
		for (int b = 0; b < a; b++)
			CHECK(strcmp(ctrl_action_name((enum ctrl_action)a),
				     ctrl_action_name((enum ctrl_action)b)));
	}
	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	ctrl_count_request(&ctl, false);
	ctrl_count_request(&ctl, true);
	ctrl_count_request(&ctl, false);
	CHECK_EQ(ctl.api_requests, 3);
	CHECK_EQ(ctl.api_faults, 1);
	ctrl_destroy(&ctl);
	ctl_live = false;
	CHECK_EQ(fake.stops, 0);
}

/* PUT @body to @section: the result, with the message in @e. */
static int put(enum config_section section, const char *body, struct ctrl_error *e)
{
	memset(e, 0, sizeof(*e));
	return ctrl_configure(&ctl, section, body, strlen(body), false, e);
}

/*
 * With put_checks (main's setting), what a PUT names is checked on the host at
 * once, with Firecracker's messages; a refused PUT changes nothing.
 */
TEST(put_checks_on_the_host)
{
	char dir[] = "/tmp/ember-put-XXXXXX", body[1024], want[512], file[300], sock[300];
	static char args[5001];
	struct ctrl_error e;

	CHECK(mkdtemp(dir));
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(sock, sizeof(sock), "%s/v.sock", dir);
	CHECK_EQ(close(open(file, O_CREAT | O_WRONLY, 0600)), 0);
	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	ctl.put_checks = true;

	/* boot-source: the kernel, then the initrd, must open. */
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s/none\"}", dir);
	CHECK(put(CONFIG_BOOT_SOURCE, body, &e) < 0);
	snprintf(want, sizeof(want),
		 "Boot source error: The kernel file cannot be opened: No such file or directory "
		 "(os error 2): %s/none",
		 dir);
	CHECK_STR(e.msg, want);
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k"); /* the fixture's, unchanged */
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s/i\"}",
		 file, dir);
	CHECK(put(CONFIG_BOOT_SOURCE, body, &e) < 0);
	CHECK_CONTAINS(e.msg, "Boot source error: The initrd file cannot be opened: No such file");
	memset(args, 'a', sizeof(args) - 1);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"%s\", \"boot_args\": \"%.600s\"}",
		 file, args);
	CHECK_EQ(put(CONFIG_BOOT_SOURCE, body, &e), 0);
	CHECK_STR(ctl.cfg.boot.kernel_image_path, file);

	/* drives: the backing file opens (read-write unless read-only) and has a size. */
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"x\", \"path_on_host\": \"%s/none\", \"is_root_device\": false}",
		 dir);
	CHECK(put(CONFIG_DRIVE, body, &e) < 0);
	snprintf(want, sizeof(want),
		 "Drive config error: Unable to create the virtio block device: Virtio backend "
		 "error: Error manipulating the backing file: No such file or directory (os error "
		 "2) %s/none",
		 dir);
	CHECK_STR(e.msg, want);
	CHECK_EQ(ctl.cfg.nr_drives, 1);
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"x\", \"path_on_host\": \"%s\", \"is_root_device\": false}", dir);
	CHECK(put(CONFIG_DRIVE, body, &e) < 0);
	CHECK_CONTAINS(e.msg, "Is a directory (os error 21)");
	CHECK_EQ(put(CONFIG_DRIVE,
		     "{\"drive_id\": \"x\", \"path_on_host\": \"/dev/null\", \"is_root_device\": "
		     "true}",
		     &e),
		 0);
	CHECK_EQ(ctl.cfg.nr_drives, 2);
	/* The fixture's drive "d" (/d, never checked) is not what this PUT changes. */
	snprintf(body, sizeof(body),
		 "{\"drive_id\": \"y\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
		 "\"is_read_only\": true}",
		 file);
	CHECK_EQ(put(CONFIG_DRIVE, body, &e), 0);

	/* vsock: the socket can be bound; nothing is left behind. */
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s/no/v.sock\"}", dir);
	CHECK(put(CONFIG_VSOCK, body, &e) < 0);
	CHECK_CONTAINS(e.msg, "Vsock config error: Cannot create backend for vsock device: Error "
			      "binding to the host-side Unix socket: No such file or directory (os "
			      "error 2)");
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", file);
	CHECK(put(CONFIG_VSOCK, body, &e) < 0);
	CHECK_CONTAINS(e.msg, "Address already in use (os error 98)");
	CHECK(!ctl.cfg.vsock.present);
	snprintf(body, sizeof(body), "{\"guest_cid\": 3, \"uds_path\": \"%s\"}", sock);
	CHECK_EQ(put(CONFIG_VSOCK, body, &e), 0);
	CHECK(access(sock, F_OK) < 0);
	CHECK_STR(ctl.cfg.vsock.uds_path, sock);

	/* Without put_checks (the unit tests' and the fuzzer's paths), nothing is opened. */
	ctl.put_checks = false;
	CHECK_EQ(put(CONFIG_BOOT_SOURCE, "{\"kernel_image_path\": \"/no/such/k\"}", &e), 0);
	unlink(file);
	rmdir(dir);
}

/* The limit of the kernel command line is a configuration rule: refused at the PUT. */
TEST(boot_args_limit_at_the_put)
{
	static char body[6000];
	struct ctrl_error e;
	size_t at;

	fixture(CTRL_NOT_STARTED, 0, &fake_ops);
	snprintf(body, sizeof(body), "{\"kernel_image_path\": \"/k2\", \"boot_args\": \"");
	at = strlen(body);
	memset(body + at, 'a', 4096);
	strcat(body, "\"}");
	CHECK(put(CONFIG_BOOT_SOURCE, body, &e) < 0);
	CHECK_STR(e.msg, "boot-source.boot_args: 4096 bytes, longer than the 4095-byte limit of "
			 "the kernel command line");
	CHECK_STR(ctl.cfg.boot.kernel_image_path, "/k");
	memmove(body + at, body + at + 1, strlen(body + at)); /* 4095 bytes */
	CHECK_EQ(put(CONFIG_BOOT_SOURCE, body, &e), 0);
}

/* How the process ends after a signal, as Firecracker's parent sees it. */
TEST(exit_after_signals)
{
	int status;
	pid_t pid;

	CHECK_EQ(ctrl_exit(0, 7), 7);
	CHECK_EQ(ctrl_exit(SIGHUP, 0), CTRL_EXIT_SIGHUP);
	CHECK_EQ(ctrl_exit(SIGXCPU, 1), CTRL_EXIT_SIGXCPU);
	CHECK_EQ(ctrl_exit(SIGUSR2, 5), 5); /* not one ember handles */
	/* SIGTERM and SIGINT (blocked, as ctrl_watch_signals leaves them): killed by them. */
	for (int sig = SIGINT; sig; sig = sig == SIGINT ? SIGTERM : 0) {
		pid = fork();
		CHECK(pid >= 0);
		if (!pid) {
			sigset_t s;

			sigemptyset(&s);
			sigaddset(&s, sig);
			pthread_sigmask(SIG_BLOCK, &s, NULL);
			_exit(ctrl_exit(sig, 0) == 128 + sig ? 99 : 98);
		}
		CHECK_EQ(waitpid(pid, &status, 0), pid);
		CHECK(WIFSIGNALED(status));
		CHECK_EQ(WTERMSIG(status), sig);
	}
}

TEST_MAIN(TEST_ENTRY(every_action_in_every_state), TEST_ENTRY(needs_come_before_the_state),
	  TEST_ENTRY(missing_device_ops), TEST_ENTRY(failures_keep_the_state),
	  TEST_ENTRY(bad_input_is_input), TEST_ENTRY(snapshot_load_rules),
	  TEST_ENTRY(snapshot_create_rules), TEST_ENTRY(names_and_request_counts),
	  TEST_ENTRY(put_checks_on_the_host), TEST_ENTRY(boot_args_limit_at_the_put),
	  TEST_ENTRY(exit_after_signals))
