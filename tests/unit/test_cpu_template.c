// SPDX-License-Identifier: Apache-2.0
/*
 * CPU templates (issue 15): CpuConfig parsed and written back, modifiers
 * applied to a CPUID list and checked after a read-back, the static
 * templates' vendor rule; PUT /serial's body; the logger's module filter.
 */
#include "test.h"
#include "arch/x86_64/cpu_template.h"
#include "config/config.h"
#include "util/log.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static struct vm_config cfg;
static char err[CONFIG_ERR_MAX];

#define UPDATE(section, json) config_update(&cfg, section, json, strlen(json), false, err)
#define CPU_REFUSED(json, msg)                                      \
	do {                                                        \
		config_init(&cfg);                                  \
		CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, json), -EINVAL); \
		CHECK_CONTAINS(err, msg);                           \
		CHECK(!cfg.cpu.present);                            \
		config_free(&cfg);                                  \
	} while (0)

#define LEAF1_ECX "{\"leaf\": \"0x1\", \"subleaf\": \"0b0\", \"flags\": 0, \"modifiers\": "

TEST(cpu_config_parsed)
{
	config_init(&cfg);
	CHECK_EQ(
	    UPDATE(CONFIG_CPU_CONFIG,
		   "{\"kvm_capabilities\": [\"121\", \"!56\"], \"cpuid_modifiers\": [" LEAF1_ECX
		   "[{\"register\": \"ecx\", \"bitmap\": "
		   "\"0bxxxx_xxxx_xxxx_xxxx_xxxx_xxxx_xxxx_x01x\"}]}, {\"leaf\": 7, "
		   "\"subleaf\": \"0\", \"flags\": 1, \"modifiers\": []}], \"msr_modifiers\": "
		   "[{\"addr\": \"266\", \"bitmap\": \"0b" /* 64 bits: the top one set */
		   "1xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0\"}], "
		   "\"reg_modifiers\": [], \"vcpu_features\": null}"),
	    0);
	CHECK(cfg.cpu.present);
	CHECK_EQ(cfg.cpu.tmpl->nr_cpuid, 2);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[0].leaf, 1);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[0].regs, 1u << CPUID_ECX);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[0].filter[CPUID_ECX], 0x6);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[0].value[CPUID_ECX], 0x2);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[1].leaf, 7);
	CHECK_EQ(cfg.cpu.tmpl->cpuid[1].flags, 1);
	CHECK_EQ(cfg.cpu.tmpl->nr_msrs, 1);
	CHECK_EQ(cfg.cpu.tmpl->msrs[0].addr, 0x10a);
	CHECK(cfg.cpu.tmpl->msrs[0].filter == 0x8000000000000001ULL);
	CHECK(cfg.cpu.tmpl->msrs[0].value == 0x8000000000000000ULL);
	CHECK_EQ(cfg.cpu.tmpl->nr_caps, 2);
	CHECK(!cfg.cpu.tmpl->caps[0].remove && cfg.cpu.tmpl->caps[0].cap == 121);
	CHECK(cfg.cpu.tmpl->caps[1].remove && cfg.cpu.tmpl->caps[1].cap == 56);

	/* GET /vm/config writes it back; the file parser reads that to the same template. */
	char *json = config_to_json(&cfg);
	struct vm_config again;

	CHECK(json);
	CHECK_CONTAINS(json, "\"bitmap\":\"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxx01x\"");
	CHECK_CONTAINS(json, "\"kvm_capabilities\":[\"121\",\"!56\"]");
	config_init(&again);
	CHECK_EQ(config_parse_string(&again, json, err), 0);
	CHECK(again.cpu.present && !memcmp(again.cpu.tmpl, cfg.cpu.tmpl, sizeof(*cfg.cpu.tmpl)));
	free(json);
	config_free(&again);
	config_free(&cfg);
}

TEST(cpu_config_refused_naming_field_and_value)
{
	CPU_REFUSED("{\"cpuid_modifiers\": [" LEAF1_ECX
		    "[{\"register\": \"ecx\", \"bitmap\": \"0b0101\"}]}]}",
		    "cpu-config.cpuid_modifiers[0].modifiers[0].bitmap: \"0b0101\" has 4 bits; it "
		    "must have 32");
	CPU_REFUSED(
	    "{\"cpuid_modifiers\": [" LEAF1_ECX
	    "[{\"register\": \"ecx\", \"bitmap\": \"0b0000000000000000000000000000000000\"}]}]}",
	    "has more than 32 bits; it must have 32");
	CPU_REFUSED(
	    "{\"cpuid_modifiers\": [" LEAF1_ECX
	    "[{\"register\": \"ecx\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx2x\"}]}]}",
	    "'2' is not 0, 1 or x");
	CPU_REFUSED("{\"cpuid_modifiers\": [" LEAF1_ECX
		    "[{\"register\": \"ecx\", \"bitmap\": \"0x1\"}]}]}",
		    "bitmap: \"0x1\" is not a bitmap");
	CPU_REFUSED(
	    "{\"cpuid_modifiers\": [" LEAF1_ECX "[{\"register\": \"r8\", \"bitmap\": \"0b0\"}]}]}",
	    "modifiers[0].register: \"r8\" is not one of \"eax\", \"ebx\", \"ecx\", \"edx\"");
	CPU_REFUSED(
	    "{\"cpuid_modifiers\": [" LEAF1_ECX
	    "[{\"register\": \"eax\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}, "
	    "{\"register\": \"eax\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}]}",
	    "modifiers[1].register: \"eax\" is modified twice");
	CPU_REFUSED("{\"cpuid_modifiers\": [{\"leaf\": \"0xg\", \"subleaf\": \"0\", \"flags\": 0, "
		    "\"modifiers\": []}]}",
		    "cpu-config.cpuid_modifiers[0].leaf: \"0xg\" is not a number");
	CPU_REFUSED("{\"cpuid_modifiers\": [{\"leaf\": \"0x100000000\", \"subleaf\": \"0\", "
		    "\"flags\": 0, \"modifiers\": []}]}",
		    "leaf: \"0x100000000\" is out of range");
	CPU_REFUSED("{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"flags\": -1, "
		    "\"modifiers\": []}]}",
		    "cpuid_modifiers[0].flags: -1 is out of range");
	CPU_REFUSED("{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"flags\": 0, \"modifiers\": []}]}",
		    "cpuid_modifiers[0]: missing required key \"subleaf\"");
	CPU_REFUSED("{\"cpuid_modifiers\": [{\"leaf\": \"1\", \"subleaf\": \"0\", \"flags\": 0, "
		    "\"modifiers\": []}, {\"leaf\": \"0x1\", \"subleaf\": \"0\", \"flags\": 0, "
		    "\"modifiers\": []}]}",
		    "cpuid_modifiers[1]: leaf 0x1 subleaf 0x0 is already modified by "
		    "cpuid_modifiers[0]");
	CPU_REFUSED("{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b1\"}]}",
		    "msr_modifiers[0].bitmap: \"0b1\" has 1 bits; it must have 64");
	CPU_REFUSED("{\"msr_modifiers\": [{\"bitmap\": \"0b1\"}]}",
		    "msr_modifiers[0]: missing required key \"addr\"");
	CPU_REFUSED("{\"kvm_capabilities\": [121]}",
		    "kvm_capabilities[0]: 121 is not a capability");
	CPU_REFUSED("{\"kvm_capabilities\": [\"!x\"]}",
		    "kvm_capabilities[0]: \"x\" is not a number");
	CPU_REFUSED("{\"reg_modifiers\": [{\"addr\": \"0x1\", \"bitmap\": \"0b1\"}]}",
		    "cpu-config.reg_modifiers: aarch64 only");
	CPU_REFUSED("{\"cpuid_modifiers\": {}}",
		    "cpu-config.cpuid_modifiers: expected an array, got an object");
	CPU_REFUSED("{\"cpu_template\": \"T2\"}", "cpu-config: unknown key \"cpu_template\"");
}

/* A static template and a custom one replace each other; "None" drops both. */
TEST(static_and_custom_replace_each_other)
{
	char vendor[13];
	const char *mine, *other;

	cpu_host_vendor(vendor);
	mine = !strcmp(vendor, "AuthenticAMD") ? "T2A" : "T2";
	other = !strcmp(vendor, "AuthenticAMD") ? "T2" : "T2A";
	config_init(&cfg);
	CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, "{\"kvm_capabilities\": [\"1\"]}"), 0);
	CHECK(cfg.cpu.present);

	char body[128];

	snprintf(body, sizeof(body),
		 "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": "
		 "\"%s\"}",
		 other);
	CHECK_EQ(UPDATE(CONFIG_MACHINE, body), -EINVAL);
	CHECK_CONTAINS(err, "machine-config.cpu_template: \"");
	CHECK_CONTAINS(err, "this host's CPU is");
	CHECK(cfg.cpu.present); /* refused: nothing changed */

	snprintf(body, sizeof(body),
		 "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": "
		 "\"%s\"}",
		 mine);
	CHECK_EQ(UPDATE(CONFIG_MACHINE, body), 0);
	CHECK(!cfg.cpu.present);
	CHECK_STR(cpu_static_name(cfg.machine.cpu_template), mine);
	/* A PUT without the key keeps the template. */
	CHECK_EQ(UPDATE(CONFIG_MACHINE, "{\"vcpu_count\": 2, \"mem_size_mib\": 64}"), 0);
	CHECK_STR(cpu_static_name(cfg.machine.cpu_template), mine);
	char *json = config_machine_to_json(&cfg.machine);

	CHECK(json && strstr(json, "\"cpu_template\":\""));
	free(json);
	CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, "{}"), 0);
	CHECK(cfg.cpu.present);
	CHECK_EQ(cfg.machine.cpu_template, CPU_STATIC_NONE);
	CHECK_EQ(UPDATE(CONFIG_MACHINE, "{\"vcpu_count\": 1, \"mem_size_mib\": 64, "
					"\"cpu_template\": \"None\"}"),
		 0);
	CHECK(!cfg.cpu.present);
	config_free(&cfg);
}

/*
 * The custom template is the configuration's own heap object: a copy gets its
 * own, a PUT replaces it, a refused one keeps it, and config_free() releases
 * it (the ASan run finds a leak or a use after free).
 */
TEST(cpu_config_copied_replaced_freed)
{
	static const char none[] =
	    "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"None\"}";
	struct vm_config copy;
	const struct cpu_template *old;

	config_init(&cfg);
	CHECK(!cfg.cpu.present && !cfg.cpu.tmpl);
	CHECK_EQ(config_copy(&copy, &cfg), 0); /* none: none in the copy */
	CHECK(!copy.cpu.present && !copy.cpu.tmpl);
	config_free(&copy);

	CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, "{\"kvm_capabilities\": [\"121\"]}"), 0);
	CHECK(cfg.cpu.present && cfg.cpu.tmpl);
	CHECK_EQ(config_copy(&copy, &cfg), 0);
	CHECK(copy.cpu.present && copy.cpu.tmpl && copy.cpu.tmpl != cfg.cpu.tmpl);
	CHECK(!memcmp(copy.cpu.tmpl, cfg.cpu.tmpl, sizeof(*cfg.cpu.tmpl)));

	/* A new PUT replaces the template in @cfg only; the copy keeps the old one. */
	CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, "{\"kvm_capabilities\": [\"!56\", \"7\"]}"), 0);
	CHECK_EQ(cfg.cpu.tmpl->nr_caps, 2);
	CHECK(cfg.cpu.tmpl->caps[0].remove && cfg.cpu.tmpl->caps[0].cap == 56);
	CHECK_EQ(copy.cpu.tmpl->nr_caps, 1);
	CHECK(!copy.cpu.tmpl->caps[0].remove && copy.cpu.tmpl->caps[0].cap == 121);

	/* A refused PUT leaves the template as it was. */
	old = cfg.cpu.tmpl;
	CHECK_EQ(UPDATE(CONFIG_CPU_CONFIG, "{\"kvm_capabilities\": [7]}"), -EINVAL);
	CHECK(cfg.cpu.present && cfg.cpu.tmpl == old && cfg.cpu.tmpl->nr_caps == 2);

	/* Freeing the original leaves the copy whole; "None" drops the copy's template. */
	config_free(&cfg);
	CHECK(!cfg.cpu.present && !cfg.cpu.tmpl);
	CHECK_EQ(copy.cpu.tmpl->caps[0].cap, 121);
	CHECK_EQ(config_update(&copy, CONFIG_MACHINE, none, strlen(none), false, err), 0);
	CHECK(!copy.cpu.present && !copy.cpu.tmpl);
	config_free(&copy);

	/* The configuration file's "cpu-config" is the same object. */
	config_init(&cfg);
	CHECK_EQ(
	    config_parse_string(&cfg, "{\"cpu-config\": {\"kvm_capabilities\": [\"1\"]}}", err), 0);
	CHECK(cfg.cpu.present && cfg.cpu.tmpl->nr_caps == 1);
	config_free(&cfg);
}

TEST(static_templates_by_vendor)
{
	char why[CPU_TMPL_ERR_MAX], vendor[13];
	bool amd;

	cpu_host_vendor(vendor);
	amd = !strcmp(vendor, "AuthenticAMD");
	CHECK(!cpu_static_template(CPU_STATIC_NONE, why) && !why[0]);
	CHECK(!cpu_static_template(CPU_STATIC_V1N1, why));
	CHECK_CONTAINS(why, "aarch64");
	for (int t = CPU_STATIC_C3; t <= CPU_STATIC_T2A; t++) {
		const struct cpu_template *tmpl = cpu_static_template(t, why);
		bool for_amd = t == CPU_STATIC_T2A;

		struct cpu_host h;

		cpu_host_id(&h);
		if (!amd && t == CPU_STATIC_T2CL && !cpu_static_template_for(t, &h, why)) {
			CHECK_CONTAINS(why, "Cascade Lake or newer"); /* an older Intel host */
			continue;
		}
		if (amd == for_amd) {
			CHECK(tmpl != NULL);
			/* Every one fixes leaf 1's family/model and masks leaf 7. */
			CHECK_EQ(tmpl->cpuid[0].leaf, 1);
			CHECK_EQ(tmpl->cpuid[0].filter[CPUID_EAX], 0x0fff3fff);
			CHECK_EQ(tmpl->cpuid[1].leaf, 7);
			CHECK(tmpl->nr_cpuid >= 5);
		} else {
			CHECK(tmpl == NULL);
			CHECK_CONTAINS(why, for_amd ? "is for AMD CPUs" : "is for Intel CPUs");
		}
	}
}

TEST(t2cl_needs_cascade_lake)
{
	static const struct {
		const char *vendor;
		uint32_t signature;
		bool ok;
	} hosts[] = {
	    {"GenuineIntel", 0x50654, false},  /* Skylake-SP */
	    {"GenuineIntel", 0x406f1, false},  /* Broadwell-EP */
	    {"GenuineIntel", 0x50657, true},   /* Cascade Lake */
	    {"GenuineIntel", 0x606a6, true},   /* Ice Lake-SP */
	    {"GenuineIntel", 0x806f8, true},   /* Sapphire Rapids */
	    {"AuthenticAMD", 0xa00f11, false}, /* Milan: the vendor */
	};
	char why[CPU_TMPL_ERR_MAX];

	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct cpu_host h = {.signature = hosts[i].signature};
		const struct cpu_template *tmpl;

		snprintf(h.vendor, sizeof(h.vendor), "%s", hosts[i].vendor);
		tmpl = cpu_static_template_for(CPU_STATIC_T2CL, &h, why);
		CHECK_EQ(tmpl != NULL, hosts[i].ok);
		if (!hosts[i].ok && hosts[i].vendor[0] == 'G')
			CHECK_CONTAINS(why, "Cascade Lake or newer");
		/* T2S and T2 take any Intel CPU, as Firecracker's vendor check. */
		CHECK_EQ(cpu_static_template_for(CPU_STATIC_T2S, &h, why) != NULL,
			 hosts[i].vendor[0] == 'G');
	}
	{
		struct cpu_host h = {"GenuineIntel", 0x50654};

		cpu_static_template_for(CPU_STATIC_T2CL, &h, why);
		CHECK_CONTAINS(why, "family 6, model 0x55, stepping 4");
	}
}

/* A CPUID list as KVM_GET_SUPPORTED_CPUID gives one: leaf 1 and leaf 7.0. */
static struct kvm_cpuid2 *fake_cpuid(void)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));

	c->nent = 2;
	c->entries[0] = (struct kvm_cpuid_entry2){
	    .function = 1, .eax = 0x00a20f12, .ecx = 0xfef8320b, .edx = 0x178bfbff};
	c->entries[1] = (struct kvm_cpuid_entry2){
	    .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xffffffff};
	return c;
}

TEST(modifiers_applied_and_checked)
{
	struct cpu_template t = {.nr_cpuid = 1,
				 .cpuid = {{.leaf = 1,
					    .regs = 1u << CPUID_ECX | 1u << CPUID_EAX,
					    .filter = {[CPUID_EAX] = 0xff, [CPUID_ECX] = 0x3},
					    .value = {[CPUID_EAX] = 0x42, [CPUID_ECX] = 0x2}}}};
	struct kvm_cpuid2 *c = fake_cpuid();
	char why[CPU_TMPL_ERR_MAX];

	CHECK_EQ(cpu_template_check_leaf(c, &t, 0, why), -EIO); /* not applied yet */
	CHECK_CONTAINS(why, "leaf 0x1 subleaf 0x0 eax: KVM holds 0x00a20f12, the template sets "
			    "0x00000042 under 0x000000ff");
	CHECK_CONTAINS(why, "; leaf 0x1 subleaf 0x0 ecx: KVM holds 0xfef8320b");
	CHECK_EQ(cpu_template_apply_cpuid(c, &t, why), 0);
	CHECK_EQ(c->entries[0].eax, 0x00a20f42);
	CHECK_EQ(c->entries[0].ecx, 0xfef8320a);
	CHECK_EQ(c->entries[0].edx, 0x178bfbff); /* no modifier: kept */
	CHECK_EQ(c->entries[1].ebx, 0xffffffff);
	CHECK_EQ(cpu_template_check_leaf(c, &t, 0, why), 0);

	/* A leaf the host does not offer is refused, naming it. */
	t.cpuid[0].leaf = 0x40000010;
	CHECK_EQ(cpu_template_apply_cpuid(c, &t, why), -ENOENT);
	CHECK_STR(why, "cpuid_modifiers[0]: leaf 0x40000010 subleaf 0x0: the host's KVM does not "
		       "offer this leaf");
	free(c);

	struct msr_mod m = {.addr = 0x10a, .filter = 0xff00, .value = 0x1234};

	CHECK(cpu_template_msr_value(&m, 0xffffffffffffffffULL) == 0xffffffffffff12ffULL);
}

TEST(serial_body)
{
	config_init(&cfg);
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{\"serial_out_path\": \"/tmp/x\", \"rate_limiter\": "
				       "{\"size\": 100, \"refill_time\": 10}}"),
		 0);
	CHECK(cfg.serial.present && cfg.serial.has_rate_limiter);
	CHECK_STR(cfg.serial.serial_out_path, "/tmp/x");
	CHECK_EQ(cfg.serial.rate_limiter.size, 100);
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{}"), 0);
	CHECK(!cfg.serial.serial_out_path && !cfg.serial.has_rate_limiter);
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{\"rate_limiter\": {\"size\": 1}}"), -EINVAL);
	CHECK_CONTAINS(err, "serial.rate_limiter: missing required key \"refill_time\"");
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{\"serial_out_path\": 7}"), -EINVAL);
	CHECK_CONTAINS(err, "serial.serial_out_path: expected a string");
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{\"serial_out_path\": \"\"}"), -EINVAL);
	CHECK_EQ(UPDATE(CONFIG_SERIAL, "{\"speed\": 9600}"), -EINVAL);
	CHECK_CONTAINS(err, "serial: unknown key \"speed\"");
	/* Not a FullVmConfiguration key. */
	char *json = config_to_json(&cfg);

	CHECK(json && !strstr(json, "serial"));
	free(json);
	config_free(&cfg);
}

static const char *logged(struct logger *lg, char *buf, size_t len)
{
	ssize_t n = pread(lg->fd, buf, len - 1, 0);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

TEST(logger_module_filter)
{
	static struct logger lg;
	static char buf[4096];
	int fd = memfd_create("ember-log", MFD_CLOEXEC);

	CHECK(fd >= 3);
	lg = (struct logger){.fd = fd, .level = LOG_INFO};
	log_set(&lg);
	CHECK_EQ(log_set_module(&lg, "vmm::vcpu"), 0);
	log_write(LOG_INFO, "src/vmm/vcpu.c", 1, "kept-1");
	log_write(LOG_INFO, "src/vmm/vcpu_state.c", 1, "dropped-1"); /* another name */
	log_write(LOG_INFO, "src/vmm/vm.c", 1, "dropped-2");
	CHECK_EQ(log_set_module(&lg, "api_server"), 0); /* Firecracker's name for the API */
	log_write(LOG_INFO, "src/api/api.c", 1, "kept-2");
	log_write(LOG_INFO, "src/api_x/y.c", 1, "dropped-3");
	CHECK_EQ(log_set_module(&lg, "devices/virtio"), 0);
	log_write(LOG_INFO, "src/devices/virtio/net.c", 1, "kept-3");
	CHECK_EQ(log_set_module(&lg, "vmm::"), -EINVAL);
	CHECK_EQ(log_set_module(&lg, "a b"), -EINVAL);
	CHECK_EQ(log_set_module(&lg, ":::a"), -EINVAL);
	CHECK_EQ(log_module_check("vmm::vcpu"), 0);
	CHECK_EQ(log_set_module(&lg, ""), 0); /* every module again */
	log_write(LOG_INFO, "src/boot/elf.c", 1, "kept-4");
	logged(&lg, buf, sizeof(buf));
	log_set(NULL);
	close(fd);
	CHECK(strstr(buf, "kept-1") && strstr(buf, "kept-2") && strstr(buf, "kept-3") &&
	      strstr(buf, "kept-4"));
	CHECK(!strstr(buf, "dropped"));
}

/* Huge pages: an even size, and no balloon (it frees 4 KiB pages). */
TEST(huge_pages_rules)
{
	config_init(&cfg);
	CHECK_EQ(UPDATE(CONFIG_MACHINE, "{\"vcpu_count\": 1, \"mem_size_mib\": 65, \"huge_pages\": "
					"\"2M\"}"),
		 -EINVAL);
	CHECK_CONTAINS(err, "machine-config.mem_size_mib: 65 is odd");
	CHECK_EQ(UPDATE(CONFIG_MACHINE, "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": "
					"\"2M\"}"),
		 0);
	cfg.has_boot_source = true;
	cfg.boot.kernel_image_path = strdup("/k");
	CHECK_EQ(config_validate(&cfg, err), 0);
	CHECK_EQ(UPDATE(CONFIG_BALLOON, "{\"amount_mib\": 0, \"deflate_on_oom\": false}"), 0);
	CHECK_EQ(config_validate(&cfg, err), -EINVAL);
	CHECK_CONTAINS(err, "balloon: cannot give back guest memory backed by 2M huge pages");
	config_free(&cfg);
}

TEST_MAIN(TEST_ENTRY(huge_pages_rules), TEST_ENTRY(cpu_config_parsed),
	  TEST_ENTRY(cpu_config_refused_naming_field_and_value),
	  TEST_ENTRY(static_and_custom_replace_each_other),
	  TEST_ENTRY(cpu_config_copied_replaced_freed), TEST_ENTRY(static_templates_by_vendor),
	  TEST_ENTRY(t2cl_needs_cascade_lake), TEST_ENTRY(modifiers_applied_and_checked),
	  TEST_ENTRY(serial_body), TEST_ENTRY(logger_module_filter))
