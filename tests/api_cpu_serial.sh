#!/usr/bin/env bash
# PUT /cpu-config and machine-config.cpu_template, PUT /serial, the logger's module
# filter and huge_pages "2M", end to end on the API socket: success, the errors their
# schemas imply, the before/after-boot rules, and what the guest sees (the cpuid
# payload prints its CPUID; the log says which registers KVM did not keep).
# Run by tests/run.sh, or on its own: bash tests/api_cpu_serial.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh

CPUID_ELF=$ROOT/build/guests/cpuid.elf HELLO=$ROOT/build/guests/hello.elf
UART_RX=$ROOT/build/guests/uart_rx.elf
LEAF1='"leaf": "0x1", "subleaf": "0x0", "flags": 0'
X31='xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'

# boot_and_wait NAME: InstanceStart, then the guest's end (RC; its console in $API_OUT).
boot_and_wait() {
	expect_api "$1" PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' || return 1
	wait_exit "$API_PID" 20
	exec {API_IN}>&-
}

if [ "$KVM_OK" != 1 ]; then
	want_group cpu: && skip cpu: "$KVM_WHY"
	want_group serial: && skip serial: "$KVM_WHY"
	want_group hugepages: && skip hugepages: "$KVM_WHY"
	want_group logger: && skip logger: "$KVM_WHY"
elif ! command -v curl >/dev/null; then
	skip cpu-serial: "curl is not installed (scripts/install-deps.sh)"
else
	# --- the API's rules: refusals name the field and the value; pre-boot only ---
	if want cpu:api-rules && api_start cpu-rules; then
		ok=1
		expect_api cpu:api-rules PUT /cpu-config "{\"cpuid_modifiers\": [{$LEAF1, \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0b0101\"}]}]}" 400 \
			'cpu-config.cpuid_modifiers\[0\].modifiers\[0\].bitmap: \\"0b0101\\" has 4 bits; it must have 32' || ok=0
		expect_api cpu:api-rules PUT /cpu-config "{\"cpuid_modifiers\": [{$LEAF1, \"modifiers\": [{\"register\": \"esp\", \"bitmap\": \"0b${X31}1\"}]}]}" 400 \
			'register: \\"esp\\" is not one of' || ok=0
		expect_api cpu:api-rules PUT /cpu-config '{"msr_modifiers": [{"addr": "0x10a", "bitmap": "0b1"}]}' 400 \
			'msr_modifiers\[0\].bitmap: \\"0b1\\" has 1 bits; it must have 64' || ok=0
		expect_api cpu:api-rules PUT /cpu-config '{"kvm_capabilities": ["twelve"]}' 400 \
			'kvm_capabilities\[0\]: \\"twelve\\" is not a number' || ok=0
		expect_api cpu:api-rules PUT /cpu-config '{"vcpu_features": [{"index": 0, "bitmap": "0b1"}]}' 400 \
			'cpu-config.vcpu_features: aarch64 only' || ok=0
		expect_api cpu:api-rules PUT /cpu-config '[]' 400 'cpu-config: expected an object, got an array' || ok=0
		expect_api cpu:api-rules PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "V1N1"}' 400 \
			'machine-config.cpu_template: \\"V1N1\\" is for aarch64' || ok=0
		expect_api cpu:api-rules PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "cpu_template": "T3"}' 400 \
			'cpu_template: \\"T3\\" is not one of' || ok=0
		expect_api cpu:api-rules PUT /cpu-config "{\"cpuid_modifiers\": [{$LEAF1, \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0b${X31}x\"}]}]}" 204 '^$' || ok=0
		expect_api cpu:api-rules GET /vm/config - 200 '"cpu-config":\{"kvm_capabilities":\[\],"cpuid_modifiers":\[\{"leaf":"0x1"' || ok=0
		expect_api cpu:api-rules PUT /serial '{"serial_out_path": "/nonexistent-dir/serial.out"}' 400 \
			'serial.serial_out_path: /nonexistent-dir/serial.out: No such file or directory' || ok=0
		expect_api cpu:api-rules PUT /serial '{"rate_limiter": {"size": 10}}' 400 \
			'serial.rate_limiter: missing required key \\"refill_time\\"' || ok=0
		expect_api cpu:api-rules PUT /boot-source "{\"kernel_image_path\": \"$UART_RX\"}" 204 '^$' || ok=0
		expect_api cpu:api-rules PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' || ok=0
		# After boot: refused with Firecracker's words.
		expect_api cpu:api-rules PUT /cpu-config '{}' 400 'not supported after starting the microVM' || ok=0
		expect_api cpu:api-rules PUT /serial '{}' 400 'not supported after starting the microVM' || ok=0
		expect_api cpu:api-rules PUT /logger '{"module": "vmm::vcpu"}' 204 '^$' || ok=0
		api_stop
		[ $ok = 1 ] && pass cpu:api-rules
	fi

	# --- what KVM cannot offer fails InstanceStart, naming the input ---
	# cpu_start_refused NAME BODY REGEX: PUT /cpu-config BODY, then InstanceStart's 400.
	cpu_start_refused() {
		want "$1" || return 0
		if ! api_start cpu-refused; then
			fail "$1" "no socket"
			return
		fi
		expect_api "$1" PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			expect_api "$1" PUT /cpu-config "$2" 204 '^$' &&
			expect_api "$1" PUT /actions '{"action_type": "InstanceStart"}' 400 "$3" &&
			pass "$1"
		api_stop
	}
	cpu_start_refused cpu:leaf-not-offered \
		'{"cpuid_modifiers": [{"leaf": "0x4fffff00", "subleaf": "0x0", "flags": 0, "modifiers": []}]}' \
		'InstanceStart failed: cpu-config: cpuid_modifiers\[0\]: leaf 0x4fffff00 subleaf 0x0: the host.s KVM does not offer this leaf'
	cpu_start_refused cpu:msr-not-offered \
		'{"msr_modifiers": [{"addr": "0x4b564dff", "bitmap": "0b0000000000000000000000000000000000000000000000000000000000000001"}]}' \
		'cpu-config: msr_modifiers\[0\]: MSR 0x4b564dff: this host.s KVM does not offer it'
	cpu_start_refused cpu:kvm-capability-missing '{"kvm_capabilities": ["100000"]}' \
		'cpu-config.kvm_capabilities\[0\]: \\"100000\\": this host.s KVM does not have capability 100000'

	# --- what the guest sees: every templated register either shows in the guest's
	# CPUID, or ember said KVM did not keep it, and the guest sees what KVM holds ---
	# cpu_guest_check NAME: the cpuid guest's console ($API_OUT) against ember's log.
	cpu_guest_check() {
		python3 - "$API_OUT" "$API_ERR" "$2" <<'PY'
import json, re, sys
out, log, tmpl = open(sys.argv[1]).read(), open(sys.argv[2]).read(), json.loads(sys.argv[3])
seen = {}
for m in re.finditer(r"cpuid (0x[0-9a-f]+)\.(0x[0-9a-f]+): eax=(\S+) ebx=(\S+) ecx=(\S+) edx=(\S+)", out):
    seen[(int(m[1], 16), int(m[2], 16))] = dict(zip(("eax", "ebx", "ecx", "edx"), (int(v, 16) for v in m.groups()[2:])))
kept_not = {}
for m in re.finditer(r"leaf (0x[0-9a-f]+) subleaf (0x[0-9a-f]+) (e[a-d]x): KVM holds (0x[0-9a-f]+)", log):
    kept_not[(int(m[1], 16), int(m[2], 16), m[3])] = int(m[4], 16)
shown = unkept = 0
for leaf, sub, reg, filt, val in tmpl:
    got = seen.get((leaf, sub), {}).get(reg)
    if got is None:
        sys.exit(f"the guest printed no cpuid {leaf:#x}.{sub:#x}")
    if (leaf, sub, reg) in kept_not:
        if got != kept_not[(leaf, sub, reg)]:
            sys.exit(f"{leaf:#x}.{sub:#x} {reg}: the guest sees {got:#x}, KVM said it holds {kept_not[(leaf, sub, reg)]:#x}")
        unkept += 1
    elif got & filt != val & filt:
        sys.exit(f"{leaf:#x}.{sub:#x} {reg}: the guest sees {got:#x}, the template sets {val & filt:#x} under {filt:#x}")
    else:
        shown += 1
if not shown:
    sys.exit("no templated register showed in the guest")
print(f"{shown} registers as templated in the guest; {unkept} not kept by this host's KVM (logged, the guest sees KVM's value)")
PY
	}
	if want cpu:guest-custom && api_start cpu-guest --level Debug; then
		# Leaf 1 EAX: family 6 model 0x3a stepping 9; 0x80000001 ECX bit 7 and leaf 7 EBX bit 0
		# cleared; IA32_MISC_ENABLE's fast strings (bit 0, which ember sets at boot) cleared.
		expect_api cpu:guest-custom PUT /boot-source "{\"kernel_image_path\": \"$CPUID_ELF\"}" 204 '^$' &&
			expect_api cpu:guest-custom PUT /cpu-config "{\"cpuid_modifiers\": [
				{$LEAF1, \"modifiers\": [{\"register\": \"eax\", \"bitmap\": \"0bxxxx000000000011xx00011010101001\"}]},
				{\"leaf\": \"0x80000001\", \"subleaf\": \"0\", \"flags\": 0, \"modifiers\": [{\"register\": \"ecx\", \"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxx0xxxxxxx\"}]},
				{\"leaf\": \"7\", \"subleaf\": \"0\", \"flags\": 1, \"modifiers\": [{\"register\": \"ebx\", \"bitmap\": \"0b${X31}0\"}]}],
				\"msr_modifiers\": [{\"addr\": \"0x1a0\", \"bitmap\": \"0b${X31}${X31}x0\"}]}" 204 '^$' &&
			boot_and_wait cpu:guest-custom
		if [ "$RC" != 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
			fail cpu:guest-custom "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		elif ! grep -q 'cpu-config: [0-9] of 3 CPUID leaves read back as templated' "$API_ERR"; then
			fail cpu:guest-custom "no read-back line: $(grep cpu-config "$API_ERR" | tr '\n' ' ')"
		elif ! grep -q '^msr 0x000001a0: hi=0x00000000 lo=0x[0-9a-f]*[02468ace]$' "$API_OUT"; then
			fail cpu:guest-custom "the guest's IA32_MISC_ENABLE: $(grep '^msr' "$API_OUT")"
		elif why=$(cpu_guest_check cpu:guest-custom '[[1, 0, "eax", 268386303, 198313], [2147483649, 0, "ecx", 128, 0], [7, 0, "ebx", 1, 0]]' 2>&1); then
			echo "  cpu:guest-custom: $why"
			pass cpu:guest-custom
		else
			fail cpu:guest-custom "$why"
		fi
	fi
	# The static template for this host's vendor (T2A on AMD, T2 on Intel), the other refused.
	vendor=$(sed -n 's/^vendor_id[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	if [ "$vendor" = AuthenticAMD ]; then mine=T2A other=T2; else mine=T2 other=T2A; fi
	if want cpu:guest-static && api_start cpu-static --level Debug; then
		expect_api cpu:guest-static PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"$other\"}" 400 \
			"machine-config.cpu_template: \\\\\"$other\\\\\" is for (Intel|AMD) CPUs; this host's CPU is $vendor" &&
			expect_api cpu:guest-static PUT /machine-config "{\"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"$mine\"}" 204 '^$' &&
			expect_api cpu:guest-static GET /machine-config - 200 "\"cpu_template\":\"$mine\"" &&
			expect_api cpu:guest-static PUT /boot-source "{\"kernel_image_path\": \"$CPUID_ELF\"}" 204 '^$' &&
			boot_and_wait cpu:guest-static
		# Leaf 1 EAX: family 6 model 0x3f stepping 2 (T2, T2A); 0x80000001 EDX bit 26 (1 GiB pages) cleared.
		if [ "$RC" != 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
			fail cpu:guest-static "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		elif ! grep -q "machine-config.cpu_template \"$mine\": [0-9] of 6 CPUID leaves read back" "$API_ERR"; then
			fail cpu:guest-static "no read-back line: $(grep cpu_template "$API_ERR" | tr '\n' ' ')"
		elif why=$(cpu_guest_check cpu:guest-static '[[1, 0, "eax", 268386303, 198386], [2147483649, 0, "edx", 67108864, 0], [13, 1, "eax", 14, 0]]' 2>&1); then
			echo "  cpu:guest-static: $why"
			pass cpu:guest-static
		else
			fail cpu:guest-static "$why"
		fi
	fi

	# --- PUT /serial: the console to a file, a FIFO read later, and its rate limit ---
	if want serial:file && api_start serial-file; then
		rm -f "$TMP/serial.out"
		expect_api serial:file PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			expect_api serial:file PUT /serial "{\"serial_out_path\": \"$TMP/serial.out\"}" 204 '^$' &&
			boot_and_wait serial:file
		if [ "$RC" != 0 ] || ! grep -q '^SUCCESS$' "$TMP/serial.out" 2>/dev/null; then
			fail serial:file "exit $RC, serial file: $(head -c 200 "$TMP/serial.out" 2>&1)"
		elif [ -s "$API_OUT" ]; then
			fail serial:file "the console still went to stdout: $(head -c 200 "$API_OUT")"
		else
			pass serial:file
		fi
	fi
	if want serial:fifo && api_start serial-fifo; then
		rm -f "$TMP/serial.fifo"
		mkfifo "$TMP/serial.fifo"
		# Held open here (as a reader that comes later would find it): the pipe keeps
		# what ember wrote after ember is gone; ember itself never waits for a reader.
		exec {hold}<>"$TMP/serial.fifo"
		expect_api serial:fifo PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			expect_api serial:fifo PUT /serial "{\"serial_out_path\": \"$TMP/serial.fifo\"}" 204 '^$' &&
			boot_and_wait serial:fifo
		got=$(fifo_drain "$TMP/serial.fifo")
		exec {hold}>&-
		if [ "$RC" != 0 ]; then
			fail serial:fifo "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		elif ! grep -q '^Hello from ember guest$' <<<"$got" || ! grep -q '^SUCCESS$' <<<"$got"; then
			fail serial:fifo "the FIFO held: $(head -c 200 <<<"$got")"
		else
			pass serial:fifo
		fi
	fi
	if want serial:rate-limiter && api_start serial-rl; then
		rm -f "$TMP/serial-rl.out"
		# 16 bytes, refilled over 100 s: the guest's ~300 bytes mostly dropped, and counted.
		expect_api serial:rate-limiter PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			expect_api serial:rate-limiter PUT /metrics "{\"metrics_path\": \"$TMP/serial-rl.metrics\"}" 204 '^$' &&
			expect_api serial:rate-limiter PUT /serial "{\"serial_out_path\": \"$TMP/serial-rl.out\", \"rate_limiter\": {\"size\": 16, \"refill_time\": 100000}}" 204 '^$' &&
			boot_and_wait serial:rate-limiter
		bytes=$(wc -c <"$TMP/serial-rl.out" 2>/dev/null || echo -1)
		dropped=$(python3 -c 'import json, sys
print(sum(json.loads(l)["uart"]["rate_limiter_dropped_bytes"] for l in open(sys.argv[1]) if "uart" in l))' "$TMP/serial-rl.metrics" 2>&1)
		if [ "$RC" != 0 ]; then
			fail serial:rate-limiter "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		elif [ "$bytes" != 16 ]; then
			fail serial:rate-limiter "$bytes bytes reached the file, expected the bucket's 16"
		elif ! [ "$dropped" -gt 200 ] 2>/dev/null; then
			fail serial:rate-limiter "uart.rate_limiter_dropped_bytes: $dropped"
		else
			pass serial:rate-limiter
		fi
	fi

	# --- logger.module: only the lines of that module ---
	if want logger:module && api_start logger-module --level Debug; then
		expect_api logger:module PUT /logger '{"module": "api_server"}' 204 '^$' &&
			expect_api logger:module GET /vm/config - 200 '"logger":\{"level":"Debug",.*"module":"api_server"' &&
			expect_api logger:module PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			boot_and_wait logger:module
		after=$(sed -n '/API: PUT \/logger (/,$p' "$API_ERR" | tail -n +2)
		if [ "$RC" != 0 ]; then
			fail logger:module "exit $RC"
		elif ! grep -q 'API: PUT /boot-source' <<<"$after"; then
			fail logger:module "the API's own lines are gone: $(head -c 300 <<<"$after")"
		elif grep -q 'VM started\|kernel\|vcpu' <<<"$after"; then
			fail logger:module "lines of other modules: $(grep 'VM started\|kernel\|vcpu' <<<"$after" | head -n 2 | tr '\n' ' ')"
		else
			pass logger:module
		fi
	fi

	# --- huge_pages "2M": refused with the reason without a pool; with one (reserved
	# here as root, then given back), the guest runs in it ---
	if want hugepages:; then
		total=$(sed -n 's/^HugePages_Total: *//p' /proc/meminfo)
		if [ "$total" = 0 ] && api_start hugepages-none; then
			expect_api hugepages:refused PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}' 400 \
				'machine-config.huge_pages: \\"2M\\": this host has no huge pages \(HugePages_Total is 0' &&
				expect_api hugepages:refused PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 63, "huge_pages": "Transparent"}' 204 '^$' &&
				pass hugepages:refused
			api_stop
		fi
		if [ "$(id -u)" != 0 ] || [ ! -w /proc/sys/vm/nr_hugepages ]; then
			skip hugepages:backed "reserving huge pages needs root (/proc/sys/vm/nr_hugepages)"
		else
			saved=$(cat /proc/sys/vm/nr_hugepages)
			exit_hook_push "echo $saved >/proc/sys/vm/nr_hugepages"
			echo $((saved + 32)) >/proc/sys/vm/nr_hugepages
			free=$(sed -n 's/^HugePages_Free: *//p' /proc/meminfo)
			if [ "${free:-0}" -lt 32 ]; then
				skip hugepages:backed "the kernel reserved only ${free:-0} of 32 huge pages (fragmented memory)"
			elif api_start hugepages; then
				expect_api hugepages:backed PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 63, "huge_pages": "2M"}' 400 \
					'mem_size_mib: 63 is odd; with huge_pages \\"2M\\" it must be a multiple of 2' &&
					expect_api hugepages:backed PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128, "huge_pages": "2M"}' 400 \
						'128 MiB of guest memory needs 64 huge pages; the host has [0-9]+ free' &&
					expect_api hugepages:backed PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64, "huge_pages": "2M"}' 204 '^$' &&
					expect_api hugepages:backed PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
					boot_and_wait hugepages:backed
				if [ "$RC" != 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
					fail hugepages:backed "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
				else
					pass hugepages:backed
				fi
			fi
			echo "$saved" >/proc/sys/vm/nr_hugepages
			exit_hook_pop
		fi
	fi
fi

suite_end
