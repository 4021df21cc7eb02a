#!/usr/bin/env bash
# ember's command line, its configuration file and malformed inputs. Every refusal
# must exit non-zero with exactly one line that names the problem.
# Run by tests/run.sh, or on its own: bash tests/cli.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

# expect_refusal NAME EXIT_CODE REGEX ARGS...
expect_refusal() {
	local name="cli:$1" want_rc=$2 regex=$3 out rc lines
	shift 3
	want "$name" || return 0
	out=$TMP/cli.out
	timeout 20 "$EMBER" "$@" </dev/null >"$out" 2>&1
	rc=$?
	lines=$(grep -c . "$out")
	if [ $rc -ne "$want_rc" ]; then
		fail "$name" "exit $rc, expected $want_rc: $(head -c 300 "$out")"
	elif [ "$lines" -ne 1 ]; then
		fail "$name" "expected one line, got $lines: $(head -c 300 "$out" | tr '\n' '|')"
	elif ! grep -Eq -- "$regex" "$out"; then
		fail "$name" "output does not match /$regex/: $(head -c 300 "$out")"
	else
		pass "$name"
	fi
}

# expect_ok NAME REGEX ARGS...: exit 0 and output matching REGEX
expect_ok() {
	local name="cli:$1" regex=$2 out rc
	shift 2
	want "$name" || return 0
	out=$TMP/cli.out
	timeout 20 "$EMBER" "$@" </dev/null >"$out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		fail "$name" "exit $rc: $(head -c 300 "$out")"
	elif ! grep -Eq -- "$regex" "$out"; then
		fail "$name" "output does not match /$regex/: $(head -c 300 "$out")"
	else
		pass "$name"
	fi
}

# config NAME JSON: writes $TMP/NAME.json
config() { printf '%s\n' "$2" >"$TMP/$1.json"; }

HELLO=$ROOT/build/guests/hello.elf
MC='"machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }'
BS="\"boot-source\": { \"kernel_image_path\": \"$HELLO\" }"

expect_ok version '^ember v[0-9]' --version
# --version as firecracker-go-sdk reads it: its expression on the output (it panics
# without a match); the version is the swagger file's, ember's own on the second line.
if want cli:version-sdk; then
	out=$("$EMBER" --version 2>&1)
	got=$(python3 -c 'import re, sys
m = re.search(r"Firecracker v(?P<version>[0-9]+\.[0-9]+\.[0-9]+-?.*)", sys.argv[1])
print(m.group("version") if m else "no match")' "$out")
	if [ "$got" != "$SWAGGER_VERSION" ]; then
		fail cli:version-sdk "the SDK's expression gives '$got', the swagger's version is '$SWAGGER_VERSION': $(tr '\n' '|' <<<"$out")"
	elif [ "$(head -n 1 <<<"$out")" != "Firecracker v$SWAGGER_VERSION" ] ||
		! [[ "$(sed -n 2p <<<"$out")" =~ ^ember\ v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
		fail cli:version-sdk "expected 'Firecracker v$SWAGGER_VERSION' then 'ember vX.Y.Z': $(tr '\n' '|' <<<"$out")"
	else
		pass cli:version-sdk
	fi
fi
expect_ok help 'usage: ember' --help
expect_refusal unknown-flag 153 'bogus' --bogus
expect_refusal flag-missing-value 153 'config-file' --no-api --config-file
expect_refusal api-with-bad-config 152 'configuration: /dev/null: invalid JSON' --api-sock "$TMP/cli-api.sock" --config-file /dev/null
expect_refusal config-needed 153 'needs --config-file' --no-api
expect_refusal bad-level 153 'Loud' --no-api --level Loud --config-file /dev/null
expect_refusal bad-id 153 '"a b" is not a valid id' --no-api --id 'a b' --config-file /dev/null
expect_refusal not-yet-flag 153 'module: not supported yet' --no-api --module /x
expect_refusal metadata-missing 152 "metadata $TMP/none.json: No such file" --api-sock "$TMP/cli-meta.sock" --metadata "$TMP/none.json"
expect_refusal stray-argument 153 'unexpected argument "extra"' --no-api extra

expect_refusal config-missing 152 "$TMP/none.json: No such file" --no-api --config-file "$TMP/none.json"
config bad-json '{ "boot-source": '
expect_refusal config-invalid-json 152 'invalid JSON at line' --no-api --config-file "$TMP/bad-json.json"
config dup-key "{ $BS, $BS }"
expect_refusal config-duplicate-key 152 'duplicate' --no-api --config-file "$TMP/dup-key.json"
config top-array '[]'
expect_refusal config-not-object 152 'must be a JSON object' --no-api --config-file "$TMP/top-array.json"
config unknown-key "{ $BS, \"frobnicate\": 1 }"
expect_refusal config-unknown-key 152 'unknown key "frobnicate"' --no-api --config-file "$TMP/unknown-key.json"
config unknown-mc-key "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64, \"turbo\": true } }"
expect_refusal config-unknown-nested-key 152 'machine-config: unknown key "turbo"' --no-api --config-file "$TMP/unknown-mc-key.json"
config vcpus-33 "{ $BS, \"machine-config\": { \"vcpu_count\": 33, \"mem_size_mib\": 64 } }"
expect_refusal config-vcpus-range 152 'machine-config.vcpu_count: 33 is out of range \(1 to 32\)' --no-api --config-file "$TMP/vcpus-33.json"
config vcpus-0 "{ $BS, \"machine-config\": { \"vcpu_count\": 0, \"mem_size_mib\": 64 } }"
expect_refusal config-vcpus-zero 152 'vcpu_count: 0 is out of range' --no-api --config-file "$TMP/vcpus-0.json"
config vcpus-str "{ $BS, \"machine-config\": { \"vcpu_count\": \"2\", \"mem_size_mib\": 64 } }"
expect_refusal config-vcpus-type 152 'vcpu_count: expected an integer, got a string "2"' --no-api --config-file "$TMP/vcpus-str.json"
config vcpus-real "{ $BS, \"machine-config\": { \"vcpu_count\": 2.5, \"mem_size_mib\": 64 } }"
expect_refusal config-vcpus-real 152 'vcpu_count: expected an integer' --no-api --config-file "$TMP/vcpus-real.json"
config mem-0 "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 0 } }"
expect_refusal config-mem-zero 152 'mem_size_mib: 0 is out of range' --no-api --config-file "$TMP/mem-0.json"
config mem-neg "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": -5 } }"
expect_refusal config-mem-negative 152 'mem_size_mib: -5 is out of range' --no-api --config-file "$TMP/mem-neg.json"
config mc-missing "{ $BS, \"machine-config\": { \"vcpu_count\": 1 } }"
expect_refusal config-mem-required 152 'missing required key "mem_size_mib"' --no-api --config-file "$TMP/mc-missing.json"
config huge "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64, \"huge_pages\": \"1G\" } }"
expect_refusal config-huge-pages-enum 152 'huge_pages: "1G" is not one of "None", "Transparent", "2M"' --no-api --config-file "$TMP/huge.json"
config smt-odd "{ $BS, \"machine-config\": { \"vcpu_count\": 3, \"mem_size_mib\": 64, \"smt\": true } }"
expect_refusal config-smt-odd 152 'vcpu_count: 3 is odd' --no-api --config-file "$TMP/smt-odd.json"
config smt-type "{ $BS, \"machine-config\": { \"vcpu_count\": 2, \"mem_size_mib\": 64, \"smt\": \"yes\" } }"
expect_refusal config-bool-type 152 'smt: expected a boolean, got a string "yes"' --no-api --config-file "$TMP/smt-type.json"
# Static templates are served (issue 15); one for another architecture is refused, saying so.
config tmpl "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 64, \"cpu_template\": \"V1N1\" } }"
expect_refusal config-cpu-template 152 'machine-config.cpu_template: "V1N1" is for aarch64' --no-api --config-file "$TMP/tmpl.json"
config drives "{ $BS, $MC, \"drives\": [ { \"drive_id\": \"rootfs\", \"path_on_host\": \"/r\" } ] }"
expect_refusal config-drive-required 152 'drives\[0\]: missing required key "is_root_device"' --no-api --config-file "$TMP/drives.json"
config vsock "{ $BS, $MC, \"vsock\": { \"guest_cid\": 2, \"uds_path\": \"/tmp/v\" } }"
expect_refusal config-vsock-cid 152 'vsock.guest_cid: 2 is out of range \(3 to 4294967294\)' --no-api --config-file "$TMP/vsock.json"
config pmem "{ $BS, $MC, \"pmem\": [ { \"id\": \"p0\", \"path_on_host\": \"/p\" } ] }"
expect_refusal config-pmem-missing-file 152 'pmem p0: path_on_host /p: No such file or directory' --no-api --config-file "$TMP/pmem.json"
config no-boot "{ $MC }"
expect_refusal config-no-boot-source 152 'boot-source: missing' --no-api --config-file "$TMP/no-boot.json"
config no-kernel "{ \"boot-source\": { \"boot_args\": \"x\" }, $MC }"
expect_refusal config-no-kernel 152 'boot-source: missing required key "kernel_image_path"' --no-api --config-file "$TMP/no-kernel.json"
config bs-unknown "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"kernel\": \"x\" }, $MC }"
expect_refusal config-boot-source-unknown 152 'boot-source: unknown key "kernel"' --no-api --config-file "$TMP/bs-unknown.json"
config logger-level "{ $BS, $MC, \"logger\": { \"level\": \"Chatty\" } }"
expect_refusal config-logger-level 152 'logger.level: "Chatty" is not one of' --no-api --config-file "$TMP/logger-level.json"

# --- malformed boot inputs: these open /dev/kvm only after the files are checked ---
config kernel-missing "{ \"boot-source\": { \"kernel_image_path\": \"$TMP/no-vmlinux\" }, $MC }"
expect_refusal kernel-missing 152 "$TMP/no-vmlinux: .*No such file" --no-api --config-file "$TMP/kernel-missing.json"
printf 'this is not a kernel\n' >"$TMP/text-kernel"
config kernel-text "{ \"boot-source\": { \"kernel_image_path\": \"$TMP/text-kernel\" }, $MC }"
expect_refusal kernel-not-a-kernel 152 "$TMP/text-kernel: .*not a kernel" --no-api --config-file "$TMP/kernel-text.json"
: >"$TMP/empty-kernel"
config kernel-empty "{ \"boot-source\": { \"kernel_image_path\": \"$TMP/empty-kernel\" }, $MC }"
expect_refusal kernel-empty 152 "$TMP/empty-kernel: .*empty" --no-api --config-file "$TMP/kernel-empty.json"
config kernel-dir "{ \"boot-source\": { \"kernel_image_path\": \"$TMP\" }, $MC }"
expect_refusal kernel-directory 152 "$TMP: .*not a regular file" --no-api --config-file "$TMP/kernel-dir.json"
if [ -f "$HELLO" ]; then
	head -c 40 "$HELLO" >"$TMP/trunc-elf"
	config kernel-trunc "{ \"boot-source\": { \"kernel_image_path\": \"$TMP/trunc-elf\" }, $MC }"
	expect_refusal kernel-truncated-elf 152 "$TMP/trunc-elf: .*(truncated|too short)" --no-api --config-file "$TMP/kernel-trunc.json"
	head -c 300 "$HELLO" >"$TMP/trunc-elf2"
	config kernel-trunc2 "{ \"boot-source\": { \"kernel_image_path\": \"$TMP/trunc-elf2\" }, $MC }"
	expect_refusal kernel-segment-past-eof 152 "$TMP/trunc-elf2: " --no-api --config-file "$TMP/kernel-trunc2.json"
	config kernel-ram "{ $BS, \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 1 } }"
	expect_refusal kernel-outside-ram 152 "$HELLO: .*outside guest RAM" --no-api --config-file "$TMP/kernel-ram.json"
	truncate -s 200M "$TMP/big-initrd"
	config initrd-big "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"initrd_path\": \"$TMP/big-initrd\" }, $MC }"
	expect_refusal initrd-too-large 152 "$TMP/big-initrd: .*too large" --no-api --config-file "$TMP/initrd-big.json"
	config initrd-missing "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"initrd_path\": \"$TMP/no-initrd\" }, $MC }"
	expect_refusal initrd-missing 152 "$TMP/no-initrd: .*No such file" --no-api --config-file "$TMP/initrd-missing.json"
	long=$(head -c 5000 /dev/zero | tr '\0' 'a')
	config cmdline-long "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"boot_args\": \"$long\" }, $MC }"
	expect_refusal cmdline-too-long 152 'boot_args: 5000 bytes, longer than the 4095-byte limit' --no-api --config-file "$TMP/cmdline-long.json"
fi

# --- the log in Firecracker's line format, which its clients read: "Running Firecracker
# vX.Y.Z" first, then [id:thread(:LEVEL)(:file:line)] with the threads named main and
# fc_vcpu N (the boot timer's line comes from the vCPU that wrote the magic value) ---
if want cli:log-format && [ $KVM_OK = 1 ] && [ -f "$ROOT/build/guests/boot_timer.elf" ]; then
	ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}'
	config logfmt "{ \"boot-source\": { \"kernel_image_path\": \"$ROOT/build/guests/boot_timer.elf\" }, $MC }"
	rm -f "$TMP/logfmt.log" "$TMP/logfmt2.log"
	"$EMBER" --no-api --config-file "$TMP/logfmt.json" --log-path "$TMP/logfmt.log" --level Debug \
		--show-level --show-log-origin --boot-timer </dev/null >"$TMP/logfmt.out" 2>&1
	rc=$?
	"$EMBER" --no-api --config-file "$TMP/logfmt.json" --log-path "$TMP/logfmt2.log" --id vm-42 \
		</dev/null >>"$TMP/logfmt.out" 2>&1
	rc2=$?
	bad=$(grep -cvE "^$ts \[anonymous-instance:(main|fc_api|fc_vcpu [0-9]+):(ERROR|WARN|INFO|DEBUG|TRACE):src/[a-z0-9_/]+\.c:[0-9]+\] " "$TMP/logfmt.log")
	if [ $rc != 0 ] || [ $rc2 != 0 ]; then
		fail cli:log-format "exit $rc and $rc2: $(tail -n 3 "$TMP/logfmt.out" | tr '\n' ' ')"
	elif ! head -n 1 "$TMP/logfmt.log" | grep -Eq "^$ts \[anonymous-instance:main:INFO:src/[a-z_/]+\.c:[0-9]+\] Running Firecracker v${SWAGGER_VERSION//./\\.} "; then
		fail cli:log-format "first line: $(head -n 1 "$TMP/logfmt.log")"
	elif [ "$bad" != 0 ]; then
		fail cli:log-format "$bad lines not in Firecracker's format: $(grep -vE "^$ts \[" "$TMP/logfmt.log" | head -n 2 | tr '\n' '|')"
	elif ! grep -Eq "\[anonymous-instance:fc_vcpu 0:INFO:[^]]+\] Guest-boot-time = " "$TMP/logfmt.log"; then
		fail cli:log-format "no boot-timer line from fc_vcpu 0: $(head -c 600 "$TMP/logfmt.log" | tr '\n' '|')"
	elif ! head -n 1 "$TMP/logfmt2.log" | grep -Eq "^$ts \[vm-42:main\] Running Firecracker v"; then
		fail cli:log-format "without --show-level/--show-log-origin, with --id: $(head -n 1 "$TMP/logfmt2.log")"
	else
		pass cli:log-format
	fi
fi

# --- a running VM ends cleanly on SIGTERM, then killed by it, as Firecracker is ---
if want cli:sigterm && [ $KVM_OK = 1 ] && [ -f "$ROOT/build/guests/uart_rx.elf" ]; then
	# uart_rx waits (up to 10 s) for console input that never comes.
	config sigterm "{ \"boot-source\": { \"kernel_image_path\": \"$ROOT/build/guests/uart_rx.elf\" }, $MC }"
	mkfifo "$TMP/sigterm.in"
	exec 7<>"$TMP/sigterm.in" # held open, never written: the console input stays silent
	"$EMBER" --no-api --config-file "$TMP/sigterm.json" <"$TMP/sigterm.in" >"$TMP/sigterm.out" 2>&1 &
	pid=$!
	sleep 1
	kill -TERM $pid
	wait $pid
	rc=$?
	exec 7>&-
	if [ $rc -ne $KILLED_BY_TERM ]; then
		fail cli:sigterm "exit $rc: $(tail -n 3 "$TMP/sigterm.out" | tr '\n' ' ')"
	elif ! grep -q 'received signal 15' "$TMP/sigterm.out"; then
		fail cli:sigterm "no 'received signal 15' line: $(tail -n 3 "$TMP/sigterm.out" | tr '\n' ' ')"
	else
		pass cli:sigterm
	fi
fi

# --- the parent's view of the signals, as Firecracker's (firecracker-go-sdk's Wait reports
# "signal: terminated" as an error, and its tests expect it): SIGTERM and SIGINT kill ember
# once it has cleaned up (the socket removed, the last metrics line written); SIGHUP and
# SIGXCPU end it cleanly with Firecracker's exit status; the faults (SIGSEGV, SIGBUS,
# SIGILL, SIGXFSZ) end it at once with Firecracker's status and its log line. A running
# VM (uart_rx waits for input) where there is KVM. ---
if want cli:signals; then
	vmcfg=-
	if [ $KVM_OK = 1 ] && [ -f "$ROOT/build/guests/uart_rx.elf" ]; then
		config signals "{ \"boot-source\": { \"kernel_image_path\": \"$ROOT/build/guests/uart_rx.elf\" }, $MC }"
		vmcfg=$TMP/signals.json
	fi
	problems=$(python3 - "$EMBER" "$TMP" "$vmcfg" <<'PY'
import json, os, signal, subprocess, sys, time
ember, tmp, cfg = sys.argv[1:4]
# (signal, how the parent sees the end: -signo is "killed by it", whether ember cleans up)
cases = [("TERM", -signal.SIGTERM, True), ("INT", -signal.SIGINT, True), ("HUP", 156, True),
         ("XCPU", 154, True), ("SEGV", 150, False), ("BUS", 149, False), ("ILL", 157, False),
         ("XFSZ", 151, False)]
for name, want, clean in cases:
    sig = getattr(signal, "SIG" + name)
    sock, met, log = (f"{tmp}/sig-{name}.{x}" for x in ("sock", "metrics", "log"))
    args = [ember, "--api-sock", sock, "--metrics-path", met, "--log-path", log]
    if cfg != "-":
        args += ["--config-file", cfg]
    # stdin a pipe held open and silent: the guest's console input never comes.
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 5 and p.poll() is None:
        text = open(log).read() if os.path.exists(log) else ""
        if os.path.exists(sock) and (cfg == "-" or "VM started" in text):
            break
        time.sleep(0.02)
    p.send_signal(sig)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        print(f"SIG{name}: still running 10 s later")
        continue
    text = open(log).read() if os.path.exists(log) else ""
    lines = open(met).read().splitlines() if os.path.exists(met) else []
    said = "received signal %d" % sig if want < 0 else \
        "Shutting down VM after intercepting signal %d, code" % sig
    if rc != want:
        print(f"SIG{name}: the parent sees {rc}, expected {want}")
    elif said not in text:
        print(f"SIG{name}: no '{said}' in the log: {text[-200:]!r}")
    elif clean and os.path.exists(sock):
        print(f"SIG{name}: the socket {sock} was not removed")
    elif clean and (not lines or "api_server" not in json.loads(lines[-1])):
        print(f"SIG{name}: no metrics line written at the end: {lines[-1:]!r}")
PY
)
	if [ -n "$problems" ]; then
		fail cli:signals "$(tr '\n' ';' <<<"$problems")"
	else
		pass cli:signals
	fi
fi

# --- the kvm_pvm guest profile on the kernel command line (the hello payload prints it) ---
if want cli:pvm-profile && [ $KVM_OK = 1 ] && [ -f "$HELLO" ]; then
	config profile "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 clearcpuid=pcid -- init-arg\" }, $MC }"
	"$EMBER" --no-api --config-file "$TMP/profile.json" </dev/null >"$TMP/profile.out" 2>&1
	line=$(grep '^cmdline:' "$TMP/profile.out")
	"$EMBER" --no-api --no-pvm-profile --config-file "$TMP/profile.json" </dev/null >"$TMP/profile2.out" 2>&1
	line2=$(grep '^cmdline:' "$TMP/profile2.out")
	if [ -e /sys/module/kvm_pvm ]; then
		# Added before "--", the user's clearcpuid kept as given, the TSC rate from KVM.
		want_line='^cmdline: console=ttyS0 clearcpuid=pcid nopv noxsave percpu_alloc=page noreplace-smp rcupdate.rcu_cpu_stall_suppress_at_boot=1 tsc_early_khz=[0-9]+ -- init-arg$'
	else
		want_line='^cmdline: console=ttyS0 clearcpuid=pcid -- init-arg$'
	fi
	if ! [[ "$line" =~ $want_line ]]; then
		fail cli:pvm-profile "got '$line', expected '$want_line'"
	elif [ "$line2" != 'cmdline: console=ttyS0 clearcpuid=pcid -- init-arg' ]; then
		fail cli:pvm-profile "--no-pvm-profile: got '$line2'"
	else
		pass cli:pvm-profile
	fi
fi

# --- a virtio device's virtio_mmio.device= reaches the kernel, before init's "--" ---
if want cli:virtio-cmdline && [ $KVM_OK = 1 ] && [ -f "$HELLO" ]; then
	config vcl "{ \"boot-source\": { \"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0 -- init-arg\" }, $MC, \"entropy\": {} }"
	"$EMBER" --no-api --no-pvm-profile --config-file "$TMP/vcl.json" </dev/null >"$TMP/vcl.out" 2>&1
	line=$(grep '^cmdline:' "$TMP/vcl.out")
	if [ "$line" != 'cmdline: console=ttyS0 virtio_mmio.device=4K@0xc0001000:5 -- init-arg' ]; then
		fail cli:virtio-cmdline "got '$line'"
	else
		pass cli:virtio-cmdline
	fi
fi

# --- --sample-rip: each vCPU's rip every 10 ms, one line per sample ---
if want cli:sample-rip && [ $KVM_OK = 1 ] && [ -f "$ROOT/build/guests/uart_rx.elf" ]; then
	config sample "{ \"boot-source\": { \"kernel_image_path\": \"$ROOT/build/guests/uart_rx.elf\" }, \"machine-config\": { \"vcpu_count\": 2, \"mem_size_mib\": 64 } }"
	rm -f "$TMP/sample.in"
	mkfifo "$TMP/sample.in"
	exec 7<>"$TMP/sample.in" # silent console input: uart_rx waits
	"$EMBER" --no-api --config-file "$TMP/sample.json" --sample-rip "$TMP/rip.txt" \
		<"$TMP/sample.in" >"$TMP/sample.out" 2>&1 &
	pid=$!
	sleep 1
	kill -TERM $pid
	wait $pid
	rc=$?
	exec 7>&-
	n=$(grep -cE '^[01] [0-9]+ 0x[0-9a-f]+ [0-3]$' "$TMP/rip.txt" 2>/dev/null)
	bad=$(grep -cvE '^[01] [0-9]+ 0x[0-9a-f]+ [0-3]$' "$TMP/rip.txt" 2>/dev/null)
	if [ $rc -ne $KILLED_BY_TERM ] || [ "${n:-0}" -lt 20 ] || [ "${bad:-1}" -ne 0 ]; then
		fail cli:sample-rip "exit $rc, $n good and $bad bad lines: $(head -c 200 "$TMP/rip.txt" 2>/dev/null)"
	else
		pass cli:sample-rip
	fi
fi

# --- the kernel/initrd loaders under libFuzzer for a bounded time (make fuzz runs longer) ---
if want cli:fuzz-loader; then
	run_fuzzer cli:fuzz-loader fuzz_loader 20 tests/fuzz/corpus_loader
fi

suite_end
