#!/usr/bin/env bash
# Sourced by tests/run.sh: Linux guests (make guest: build/guest/) under ember.
# A boot takes one to three minutes on a kvm_pvm host (the guest kernel is
# interpreted), so there are two boots, each with several checks:
#   A  initramfs, 2 vCPUs, virtio-rng: uname, both CPUs run user processes,
#      entropy before init, the boot timer, reboot -f ends ember with status 0.
#   B  ext4 root on a virtio-blk drive, read-write: the guest writes a file,
#      then init dies: the kernel panics (panic=-1 reboot=k), resets through the
#      i8042 and ember exits 0; the file is on the host's image afterwards.
# Uses run.sh's pass/fail/skip/want helpers, $EMBER, $ROOT, $TMP and $KVM_OK.

LINUX_TIMEOUT=${LINUX_TIMEOUT:-900}
VMLINUX=$ROOT/build/guest/vmlinux
INITRAMFS=$ROOT/build/guest/initramfs.cpio
ROOTFS=$ROOT/build/guest/rootfs.ext4

# linux_boot NAME CONFIG_JSON: boots with --boot-timer; output in $TMP/NAME.out, status in RC.
linux_boot() {
	printf '%s\n' "$2" >"$TMP/$1.json"
	timeout "$LINUX_TIMEOUT" "$EMBER" --no-api --boot-timer --config-file "$TMP/$1.json" \
		</dev/null >"$TMP/$1.raw" 2>&1
	RC=$?
	# The guest's tty writes CRLF (ONLCR): compare lines without the CR.
	tr -d '\r' <"$TMP/$1.raw" >"$TMP/$1.out"
}

# linux_check NAME REGEX WHAT: one check on a boot's output.
linux_check() {
	if grep -Eq -- "$2" "$TMP/$1.out"; then
		pass "linux:$1:$3"
	else
		fail "linux:$1:$3" "no line matching /$2/; last lines: $(tail -n 4 "$TMP/$1.out" | tr '\n' '|')"
	fi
}

linux_ready() {
	if [ $KVM_OK = 0 ]; then
		skip "linux:$1" "$KVM_WHY"
		return 1
	fi
	if [ ! -f "$VMLINUX" ] || [ ! -f "$INITRAMFS" ] || [ ! -f "$ROOTFS" ]; then
		skip "linux:$1" "no Linux guest in build/guest/ (make guest builds it)"
		return 1
	fi
	return 0
}

if want linux:initramfs && linux_ready initramfs; then
	cmd='uname -a; echo "ember-cpus: $(nproc)"; for c in 0 1; do taskset -c $c cut -d" " -f39 /proc/self/stat | sed "s/^/ember-ran-on-cpu: /"; done'
	linux_boot initramfs "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\", \"initrd_path\": \"$INITRAMFS\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off -- ${cmd//\"/\\\"}\" },
  \"machine-config\": { \"vcpu_count\": 2, \"mem_size_mib\": 256 },
  \"entropy\": {}
}"
	if [ "$RC" -ne 0 ]; then
		fail linux:initramfs:exit "ember exited $RC, expected 0 (reboot -f): $(tail -n 4 "$TMP/initramfs.out" | tr '\n' '|')"
	else
		pass linux:initramfs:reboot-exit-0
	fi
	linux_check initramfs '^Linux ember 6\.1\.[0-9]+' uname
	linux_check initramfs '^ember-cpus: 2$' two-cpus
	linux_check initramfs '^ember-ran-on-cpu: 0$' user-process-on-cpu0
	linux_check initramfs '^ember-ran-on-cpu: 1$' user-process-on-cpu1
	linux_check initramfs 'Guest-boot-time = ' boot-timer
	linux_check initramfs '^ember-init: command exited with status 0$' init-command
	# virtio-rng seeds the pool before user space starts.
	crng=$(grep -n 'random: crng init done' "$TMP/initramfs.out" | head -1 | cut -d: -f1)
	init=$(grep -n 'Run /init as init process' "$TMP/initramfs.out" | head -1 | cut -d: -f1)
	if [ -n "$crng" ] && [ -n "$init" ] && [ "$crng" -lt "$init" ]; then
		pass linux:initramfs:entropy-before-init
	else
		fail linux:initramfs:entropy-before-init "crng init done at line '${crng:-none}', init at line '${init:-none}'"
	fi
fi

if want linux:rootfs && linux_ready rootfs; then
	img=$TMP/rootfs.ext4
	cp "$ROOTFS" "$img"
	cmd='echo ember-wrote-this >/hello.txt; sync; echo ember-rootfs-written; exec /bin/false'
	linux_boot rootfs "{
  \"boot-source\": { \"kernel_image_path\": \"$VMLINUX\",
    \"boot_args\": \"console=ttyS0 reboot=k panic=-1 pci=off -- ${cmd//\"/\\\"}\" },
  \"machine-config\": { \"vcpu_count\": 1, \"mem_size_mib\": 256 },
  \"drives\": [ { \"drive_id\": \"rootfs\", \"path_on_host\": \"$img\", \"is_root_device\": true,
                \"is_read_only\": false } ]
}"
	if [ "$RC" -ne 0 ]; then
		fail linux:rootfs:panic-exit-0 "ember exited $RC, expected 0 (panic=-1 reboot=k): $(tail -n 4 "$TMP/rootfs.out" | tr '\n' '|')"
	else
		pass linux:rootfs:panic-exit-0
	fi
	linux_check rootfs 'EXT4-fs \(vda\): mounted filesystem' ext4-root-mounted
	linux_check rootfs '^ember-rootfs-written$' guest-wrote
	linux_check rootfs 'Kernel panic - not syncing: Attempted to kill init' panic
	got=$(debugfs -R 'cat /hello.txt' "$img" 2>/dev/null)
	if [ "$got" = ember-wrote-this ]; then
		pass linux:rootfs:file-on-host
	else
		fail linux:rootfs:file-on-host "debugfs cat /hello.txt: '$got'"
	fi
fi
