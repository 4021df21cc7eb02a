#!/usr/bin/env bash
# ember-jailer (build/ember-jailer, src/jailer/), as root, from outside the jail:
#   jailer:hello             build/guests/hello.elf runs to its end inside a jail; --id reaches ember
#   jailer:kvm-pvm           int3.elf, which needs ember's kvm_pvm completions, inside a jail
#   jailer:confined:*        uart_rx.elf waits for a line while /proc shows the jailed ember:
#                            uid/gid and no groups, no capabilities, NoNewPrivs, its own mount
#                            namespace with the jail as root (old root gone), cgroup v1 membership
#                            and the values written, rlimits, no fd or environment of the parent,
#                            the device nodes, the pid file, ember's arguments, --netns; then the
#                            line goes in and the guest ends well
#   jailer:new-pid-ns        ember is pid 1 of a new PID namespace; its host pid in ember.pid
#   jailer:daemonize         Kata's way (uid 0, --daemonize): detached (own session, stdio on
#                            /dev/null), no capability even as root; its API socket inside the jail
#   jailer:parent-death      a parent-death signal its parent set survives the uid change: the
#                            jailed ember dies with that parent (as ember-sandbox's clones must)
#   jailer:cgroup-v2         on a cgroup2 mount this script makes: the controller enabled in the
#                            parent's subtree_control, the value written, ember a member
#   jailer:net-tap           virtio_net.elf in the jail, through a TAP of a namespace given by --netns
#   jailer:linux:*           one Linux boot (build/guest/; skipped without it) in a jail with a cgroup
#                            limit and a namespace of its own (--netns) holding a TAP owned by the
#                            jailed uid; the kernel, a root drive (a copy of rootfs.ext4 holding the
#                            guest's script) and vsock's uds_path inside the chroot. From outside:
#                            uid/gid, no capabilities, the cgroup, the namespace, the socket in the
#                            jail. The guest runs its script from the drive, pings the host and
#                            fetches a file over TCP through the TAP, talks vsock both ways
#                            (vsock-echo), writes a file on the drive and resets: ember exits 0
#   jailer:undo:*            a step that fails (a cgroup file, a device node in the jail) names the
#                            step and leaves nothing of what the jailer created
#   jailer:bad:*             every bad argument refused with one line naming it, nothing created
#   jailer:help, jailer:version
# Everything made here (jails under $TMP, cgroups under ember-jailer-test-PID*, the network
# namespaces, the cgroup2 mount, helper processes) is removed on every path (an exit hook
# while the tests run).
# Needs root; the guest runs need /dev/kvm. Run by tests/run.sh, or alone: bash tests/jailer.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh
# shellcheck source=tests/lib/net.sh
source tests/lib/net.sh
# shellcheck source=tests/lib/vsock.sh
source tests/lib/vsock.sh

JAILER=$ROOT/build/ember-jailer
JUID=10123 JGID=10124 # nobody's: the jailed ember owns only its jail
JBASE=$TMP/jails
JPARENT=ember-jailer-test-$$ # the parent cgroup of every jail made here
JNS=ember-jail-$$
JTAP=embjtap0
JCG2=$TMP/cgroup2 # this script's own cgroup2 mount
JCG2_ENABLED=     # the controller this script found off in the cgroup2 root
JAIL_PIDS=()      # jailed embers and helpers: killed by jail_cleanup
JLNS=ember-jaillinux-$$ # jailer:linux's namespace and TAP
JLTAP=embjtap1

# The mount point of the cgroup v1 hierarchy with CONTROLLER.
v1_mount() {
	awk -v c="$1" '$3 == "cgroup" { n = split($4, o, ","); for (i = 1; i <= n; i++) if (o[i] == c) { print $2; exit } }' /proc/mounts
}

jail_cleanup() {
	local p m d
	# Each one waited for right after its kill: a child of ours reaped by wait (bash would
	# report one reaped otherwise: "Killed"); one that is not (ember under --new-pid-ns or
	# --daemonize), polled.
	for p in "${JAIL_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
		for _ in $(seq 100); do
			[ -d "/proc/$p" ] || break
			sleep 0.02
		done
	done
	JAIL_PIDS=()
	while read -r m; do
		for d in "$m/$JPARENT"*; do
			[ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done < <(awk '$3 == "cgroup" || $3 == "cgroup2" { print $2 }' /proc/mounts)
	if [ -n "$JCG2_ENABLED" ] && mountpoint -q "$JCG2"; then
		echo "-$JCG2_ENABLED" >"$JCG2/cgroup.subtree_control" 2>/dev/null
	fi
	JCG2_ENABLED=
	mountpoint -q "$JCG2" && umount "$JCG2"
	ip netns del "$JNS" 2>/dev/null
	ip netns del "$JLNS" 2>/dev/null
	rm -rf "$JBASE"
}

jail_root() { echo "$JBASE/ember/$1/root"; }

# jail_prepare ID PAYLOAD [EXTRA_JSON]: the jail's root made beforehand with the guest
# and its configuration (/guest.elf, /vm.json: paths inside the jail).
jail_prepare() {
	local root
	root=$(jail_root "$1")
	mkdir -p "$root"
	cp "$ROOT/build/guests/$2.elf" "$root/guest.elf"
	write_config "$root/vm.json" /guest.elf 1 "" "" "${3:-}"
	chmod 644 "$root/guest.elf" "$root/vm.json"
}

# jail_wait_exec PID: waits until PID runs ember (its cmdline starts with /ember); false if not.
jail_wait_exec() {
	local cmd
	for _ in $(seq 250); do
		cmd=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null) || return 1
		[[ "$cmd" == /ember\ * ]] && return 0
		sleep 0.02
	done
	return 1
}

# jail_wait_pid_file ID: waits for the jail's ember.pid; its content in JPID.
jail_wait_pid_file() {
	local f
	f=$(jail_root "$1")/ember.pid
	JPID=
	for _ in $(seq 250); do
		[ -s "$f" ] && JPID=$(cat "$f") && return 0
		sleep 0.02
	done
	return 1
}

# jail_wait_gone PID SECONDS: waits until PID (not a child of ours) is gone.
jail_wait_gone() {
	for _ in $(seq $(($2 * 50))); do
		[ -d "/proc/$1" ] || return 0
		sleep 0.02
	done
	return 1
}

# expect NAME COND-STATUS WHY: pass NAME if the last command succeeded, else fail with WHY.
expect() {
	if [ "$2" -eq 0 ]; then pass "$1"; else fail "$1" "$3"; fi
}

jail_hello() {
	local out=$TMP/jail-hello.out rc
	jail_prepare hello hello
	timeout 60 "$JAILER" --id hello --exec-file "$EMBER" --uid $JUID --gid $JGID \
		--chroot-base-dir "$JBASE" -- --no-api --config-file /vm.json </dev/null >"$out" 2>&1
	rc=$?
	check_result jailer:hello 0 '^SUCCESS$' $rc "$out"
	if want jailer:hello:id && ! grep -q '\[hello:' "$out"; then
		fail jailer:hello:id "ember's log lines do not carry the id: $(grep -m1 '\[' "$out")"
	elif want jailer:hello:id; then
		pass jailer:hello:id
	fi
}

# On a kvm_pvm host ember completes int3 itself once it sees /sys/module/kvm_pvm: the jail
# must show it that (the jailer makes the directory), or int3.elf fails.
jail_kvm_pvm() {
	local n=jailer:kvm-pvm out=$TMP/jail-pvm.out rc
	if [ ! -d /sys/module/kvm_pvm ]; then
		skip "$n" "KVM here is not kvm_pvm"
		return
	fi
	jail_prepare pvm int3
	timeout 60 "$JAILER" --id pvm --exec-file "$EMBER" --uid $JUID --gid $JGID \
		--chroot-base-dir "$JBASE" -- --no-api --config-file /vm.json </dev/null >"$out" 2>&1
	rc=$?
	check_result "$n" 0 '^SUCCESS$' $rc "$out"
}

jail_confined() {
	local n=jailer:confined root out=$TMP/jail-confined.out in=$TMP/jail-confined.in
	local marker=$TMP/jail-leak-marker pid fd leak st cpu cpuset pids f bad line want_dev
	root=$(jail_root confined)
	jail_prepare confined uart_rx
	rm -f "$in" && mkfifo "$in" && exec {fd}<>"$in"
	: >"$marker" && exec {leak}<"$marker"
	# An fd and a variable of the caller's that must not reach ember.
	EMBER_JAIL_SECRET=1 "$JAILER" --id confined --exec-file "$EMBER" --uid $JUID --gid $JGID \
		--chroot-base-dir "$JBASE" --parent-cgroup "$JPARENT" --cgroup cpu.shares=123 \
		--cgroup cpuset.cpus=0 --cgroup pids.max=64 --resource-limit no-file=512 \
		--resource-limit fsize=1048576 --netns "/var/run/netns/$JNS" \
		-- --no-api --config-file /vm.json <"$in" >"$out" 2>&1 &
	pid=$!
	JAIL_PIDS+=("$pid")
	exec {leak}<&-
	if ! jail_wait_exec "$pid"; then
		fail "$n" "ember did not start in the jail: $(tail -n 3 "$out" | tr '\n' ' ')"
		exec {fd}>&-
		return
	fi
	st=/proc/$pid/status

	[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" = "$JUID $JUID $JUID $JUID" ] &&
		[ "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" = "$JGID $JGID $JGID $JGID" ] &&
		[ "$(awk '/^Groups:/ { print NF }' "$st")" = 1 ]
	expect "$n:uid-gid" $? "$(grep -E '^(Uid|Gid|Groups):' "$st" | tr '\n\t' '  ')"
	[ "$(grep -cE '^Cap(Inh|Prm|Eff|Bnd|Amb):[[:space:]]+0000000000000000$' "$st")" = 5 ]
	expect "$n:capabilities" $? "$(grep '^Cap' "$st" | tr '\n\t' '  ')"
	[ "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" = 1 ]
	expect "$n:no-new-privs" $? "$(grep NoNewPrivs "$st")"

	# Its own mount namespace, holding one mount: the jail's root (the old root is gone).
	[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
		[ "$(stat -Lc %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$root")" ] &&
		[ "$(wc -l <"/proc/$pid/mountinfo")" = 1 ] &&
		[ -x "/proc/$pid/root/ember" ] && [ ! -e "/proc/$pid/root/old_root" ]
	expect "$n:mount-ns-root" $? "mnt $(readlink "/proc/$pid/ns/mnt"), root $(stat -Lc %d:%i "/proc/$pid/root") vs $(stat -c %d:%i "$root"), $(wc -l <"/proc/$pid/mountinfo") mounts"

	cpu=$(v1_mount cpu) cpuset=$(v1_mount cpuset) pids=$(v1_mount pids)
	grep -qE "^[0-9]+:([a-z_]+,)*cpu(,[a-z_]+)*:/$JPARENT/confined\$" "/proc/$pid/cgroup" &&
		grep -qE "^[0-9]+:cpuset:/$JPARENT/confined\$" "/proc/$pid/cgroup" &&
		grep -qE "^[0-9]+:pids:/$JPARENT/confined\$" "/proc/$pid/cgroup" &&
		[ "$(cat "$cpu/$JPARENT/confined/cpu.shares")" = 123 ] &&
		[ "$(cat "$cpuset/$JPARENT/confined/cpuset.cpus")" = 0 ] &&
		[ "$(cat "$pids/$JPARENT/confined/pids.max")" = 64 ] &&
		grep -qx "$pid" "$cpu/$JPARENT/confined/cgroup.procs"
	expect "$n:cgroups-v1" $? "$(tr '\n' ' ' <"/proc/$pid/cgroup")"

	[ "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$pid/limits")" = "512 512" ] &&
		[ "$(awk '/^Max file size/ { print $4, $5 }' "/proc/$pid/limits")" = "1048576 1048576" ]
	expect "$n:rlimits" $? "$(grep -E 'open files|file size' "/proc/$pid/limits" | tr -s ' ' | tr '\n' ';')"

	# Past stdio, no fd of ember reaches anything of this script's.
	bad=
	for f in "/proc/$pid/fd/"*; do
		case ${f##*/} in 0 | 1 | 2) continue ;; esac
		line=$(readlink "$f")
		[[ "$line" == "$TMP"* ]] && bad="$bad ${f##*/}->$line"
	done
	[ -z "$bad" ]
	expect "$n:no-leaked-fd" $? "fds of the caller in ember:$bad"
	[ "$(tr '\0' '\n' <"/proc/$pid/environ" | grep -c .)" = 0 ]
	expect "$n:environment" $? "ember's environment: $(tr '\0' ' ' <"/proc/$pid/environ")"

	bad=
	for line in "dev/kvm a:e8" "dev/net/tun a:c8" "dev/urandom 1:9"; do
		want_dev="character special file ${line#* } $JUID:$JGID 600"
		[ "$(stat -c '%F %t:%T %u:%g %a' "$root/${line% *}" 2>&1)" = "$want_dev" ] ||
			bad="$bad ${line% *}: $(stat -c '%F %t:%T %u:%g %a' "$root/${line% *}" 2>&1);"
	done
	line=$(awk '$2 == "userfaultfd" { print $1 }' /proc/misc)
	if [ -n "$line" ]; then
		want_dev="character special file a:$(printf %x "$line") $JUID:$JGID 600"
		[ "$(stat -c '%F %t:%T %u:%g %a' "$root/dev/userfaultfd" 2>&1)" = "$want_dev" ] ||
			bad="$bad dev/userfaultfd;"
	fi
	[ "$(stat -c '%u:%g %a' "$root")" = "$JUID:$JGID 700" ] || bad="$bad root: $(stat -c '%u:%g %a' "$root")"
	[ -z "$bad" ]
	expect "$n:devices" $? "$bad"

	[ "$(cat "$root/ember.pid" 2>&1)" = "$pid" ]
	expect "$n:pid-file" $? "ember.pid: $(cat "$root/ember.pid" 2>&1), ember is $pid"
	[[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" =~ ^/ember\ --id\ confined\ --start-time-us\ [0-9]+\ --start-time-cpu-us\ 0\ --parent-cpu-time-us\ [0-9]+\ --no-api\ --config-file\ /vm.json\ $ ]]
	expect "$n:ember-arguments" $? "$(tr '\0' ' ' <"/proc/$pid/cmdline")"
	[ "$(readlink "/proc/$pid/ns/net")" = "net:[$(stat -Lc %i "/var/run/netns/$JNS")]" ]
	expect jailer:netns $? "ember's $(readlink "/proc/$pid/ns/net"), $JNS is $(stat -Lc %i "/var/run/netns/$JNS")"

	printf 'ping\n' >&"$fd"
	wait_exit "$pid" 30
	exec {fd}>&-
	check_result "$n:runs-to-end" 0 '^SUCCESS: ping$' $RC "$out"
}

jail_new_pid_ns() {
	local n=jailer:new-pid-ns root out=$TMP/jail-pidns.out in=$TMP/jail-pidns.in jpid fd rc
	root=$(jail_root pidns)
	jail_prepare pidns uart_rx
	rm -f "$in" && mkfifo "$in" && exec {fd}<>"$in"
	"$JAILER" --id pidns --exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$JBASE" \
		--new-pid-ns -- --no-api --config-file /vm.json <"$in" >"$out" 2>&1 &
	jpid=$!
	wait_exit "$jpid" 10
	rc=$RC
	if [ $rc -ne 0 ] || ! jail_wait_pid_file pidns; then
		fail "$n" "the jailer exited $rc; ember.pid: $(cat "$root/ember.pid" 2>&1); $(tail -n 2 "$out" | tr '\n' ' ')"
		exec {fd}>&-
		return
	fi
	JAIL_PIDS+=("$JPID")
	jail_wait_exec "$JPID"
	# The jailer's child, pid 1 in its namespace; the pid file has the host's view.
	[ "$JPID" != "$jpid" ] &&
		[ "$(awk '/^NSpid:/ { print $2, $3 }' "/proc/$JPID/status")" = "$JPID 1" ] &&
		[ "$(readlink "/proc/$JPID/ns/pid")" != "$(readlink /proc/self/ns/pid)" ] &&
		[ "$(awk '/^CapEff:/ { print $2 }' "/proc/$JPID/status")" = 0000000000000000 ]
	expect "$n" $? "jailer $jpid, ember.pid $JPID: $(grep -E '^(NSpid|CapEff):' "/proc/$JPID/status" | tr '\n\t' '  ')"
	printf 'ping\n' >&"$fd"
	jail_wait_gone "$JPID" 30
	exec {fd}>&-
	grep -q '^SUCCESS: ping$' "$out"
	expect "$n:runs-to-end" $? "$(tail -n 3 "$out" | tr '\n' ' ')"
}

jail_daemonize() {
	local n=jailer:daemonize root out=$TMP/jail-daemon.out rc sid f bad=
	root=$(jail_root daemon)
	# Kata's command line: uid 0, gid 0, --daemonize. No configuration: ember waits on its
	# API socket, /run/api.sock inside the jail. Root, but with no capability left.
	timeout 10 "$JAILER" --id daemon --exec-file "$EMBER" --uid 0 --gid 0 \
		--chroot-base-dir "$JBASE" --daemonize -- --api-sock /run/api.sock >"$out" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || ! jail_wait_pid_file daemon; then
		fail "$n" "the jailer exited $rc; $(tail -n 2 "$out" | tr '\n' ' ')"
		return
	fi
	JAIL_PIDS+=("$JPID")
	jail_wait_exec "$JPID"
	for _ in $(seq 250); do
		[ -S "$root/run/api.sock" ] && break
		sleep 0.02
	done
	# Its own session, not as its leader; stdio on /dev/null.
	sid=$(awk '{ print $6 }' "/proc/$JPID/stat")
	[ "$sid" != "$(awk '{ print $6 }' /proc/$$/stat)" ] && [ "$sid" != "$JPID" ] || bad="session $sid;"
	for f in 0 1 2; do
		[ "$(readlink "/proc/$JPID/fd/$f")" = /dev/null ] || bad="$bad fd $f: $(readlink "/proc/$JPID/fd/$f");"
	done
	[ "$(grep -cE '^Cap(Inh|Prm|Eff|Bnd|Amb):[[:space:]]+0000000000000000$' "/proc/$JPID/status")" = 5 ] &&
		[ "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$JPID/status")" = 1 ] ||
		bad="$bad uid 0 keeps: $(grep -E '^(Cap|NoNewPrivs)' "/proc/$JPID/status" | tr '\n\t' '  ');"
	API_SOCK=$root/run/api.sock
	api_get_root
	[ "$CODE" = 200 ] || bad="$bad GET / on $API_SOCK: $CODE;"
	[ -z "$bad" ]
	expect "$n" $? "$bad"
	kill -KILL "$JPID"
	jail_wait_gone "$JPID" 5
}

# A parent that gives its jailer a parent-death signal (ember-sandbox does, so that no VM
# outlives it): the uid change clears it in the kernel; the jailer sets it again, so the
# jailed ember (an idle API process) dies with that parent.
jail_parent_death() {
	local n=jailer:parent-death root out=$TMP/jail-pdeath.out ppid epid
	root=$(jail_root pdeath)
	mkdir -p "$root"
	python3 - "$JAILER" "$EMBER" $JUID $JGID "$JBASE" >"$out" 2>&1 <<'PY' &
import ctypes, os, signal, sys, time
jailer, ember, uid, gid, base = sys.argv[1:]
pid = os.fork()
if pid == 0:
    ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.execv(jailer, [jailer, "--id", "pdeath", "--exec-file", ember, "--uid", uid, "--gid", gid,
                      "--chroot-base-dir", base, "--", "--api-sock", "/run/api.sock"])
print(pid, flush=True)
time.sleep(60)
PY
	ppid=$!
	JAIL_PIDS+=("$ppid")
	for _ in $(seq 250); do
		[ -S "$root/run/api.sock" ] && break
		sleep 0.02
	done
	epid=$(head -n 1 "$out")
	if ! [[ "$epid" =~ ^[0-9]+$ ]] || ! jail_wait_exec "$epid" || [ ! -S "$root/run/api.sock" ]; then
		fail "$n" "the jailed ember did not start: $(tr '\n' ' ' <"$out")"
		return
	fi
	JAIL_PIDS+=("$epid")
	[ "$(awk '/^Uid:/ { print $2 }' "/proc/$epid/status")" = $JUID ] &&
		kill -KILL "$ppid" && jail_wait_gone "$epid" 5
	expect "$n" $? "ember $epid (uid $(awk '/^Uid:/ { print $2 }' "/proc/$epid/status" 2>/dev/null)) still runs 5 s after its parent $ppid was killed"
}

# GET / on $API_SOCK: CODE (no curl: 000).
api_get_root() {
	CODE=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' --unix-socket "$API_SOCK" http://localhost/ 2>/dev/null)
}

jail_cgroup_v2() {
	local n=jailer:cgroup-v2 root out=$TMP/jail-v2.out in=$TMP/jail-v2.in pid fd dir ctl
	mkdir -p "$JCG2"
	if ! mount -t cgroup2 none "$JCG2" 2>"$TMP/jail-v2.mount"; then
		skip "$n" "cannot mount cgroup2: $(head -n 1 "$TMP/jail-v2.mount")"
		return
	fi
	# One hierarchy: the jailer may find it at another mount point (the host's), same files.
	if ! grep -qw hugetlb "$JCG2/cgroup.controllers" || [ ! -d /sys/kernel/mm/hugepages/hugepages-2048kB ]; then
		skip "$n" "the cgroup2 hierarchy offers no controller to test with (cgroup.controllers: $(cat "$JCG2/cgroup.controllers"); v1 holds the rest)"
		return
	fi
	grep -qw hugetlb "$JCG2/cgroup.subtree_control" || JCG2_ENABLED=hugetlb
	root=$(jail_root v2)
	dir=$JCG2/$JPARENT/v2
	jail_prepare v2 uart_rx
	rm -f "$in" && mkfifo "$in" && exec {fd}<>"$in"
	"$JAILER" --id v2 --exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$JBASE" \
		--cgroup-version 2 --parent-cgroup "$JPARENT" --cgroup hugetlb.2MB.max=0 \
		-- --no-api --config-file /vm.json <"$in" >"$out" 2>&1 &
	pid=$!
	JAIL_PIDS+=("$pid")
	if ! jail_wait_exec "$pid"; then
		fail "$n" "ember did not start in the jail: $(tail -n 3 "$out" | tr '\n' ' ')"
		exec {fd}>&-
		return
	fi
	ctl=$(cat "$JCG2/$JPARENT/cgroup.subtree_control" 2>&1)
	grep -qx "0::/$JPARENT/v2" "/proc/$pid/cgroup" && [ "$(cat "$dir/hugetlb.2MB.max")" = 0 ] &&
		[[ " $ctl " == *" hugetlb "* ]] && grep -qx "$pid" "$dir/cgroup.procs"
	expect "$n" $? "$(grep '^0::' "/proc/$pid/cgroup"); $dir/hugetlb.2MB.max: $(cat "$dir/hugetlb.2MB.max" 2>&1); parent's subtree_control: $ctl"
	printf 'ping\n' >&"$fd"
	wait_exit "$pid" 30
	exec {fd}>&-
	check_result "$n:runs-to-end" 0 '^SUCCESS: ping$' $RC "$out"
}

jail_net_tap() {
	local n=jailer:net-tap root out=$TMP/jail-net.out hout=$TMP/jail-net-helper.out
	local py=$TMP/jail_net_helper.py hpid rc
	# Made as Kata makes it (no owner): the jailed ember attaches it with no capability.
	if ! ip -n "$JNS" tuntap add dev "$JTAP" mode tap 2>"$hout" ||
		! ip -n "$JNS" link set lo up || ! ip -n "$JNS" link set "$JTAP" up; then
		skip "$n" "cannot make the TAP: $(head -n 1 "$hout")"
		return
	fi
	root=$(jail_root net)
	jail_prepare net virtio_net \
		"\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"$JTAP\", \"guest_mac\": \"$NET_MAC\"}]"
	net_write_helper "$py"
	ip netns exec "$JNS" "$(command -v python3)" "$py" "$JTAP" "$NET_MAC" 40 >"$hout" 2>&1 &
	hpid=$!
	for _ in $(seq 100); do
		grep -q READY "$hout" 2>/dev/null && break
		sleep 0.05
	done
	timeout 60 "$JAILER" --id net --exec-file "$EMBER" --uid $JUID --gid $JGID \
		--chroot-base-dir "$JBASE" --netns "/var/run/netns/$JNS" \
		-- --no-api --config-file /vm.json </dev/null >"$out" 2>&1
	rc=$?
	for _ in $(seq 40); do
		kill -0 $hpid 2>/dev/null || break
		sleep 0.05
	done
	kill $hpid 2>/dev/null
	wait $hpid 2>/dev/null
	check_result "$n" 0 '^SUCCESS$' $rc "$out"
}

# The guest's script for jailer:linux, put on the root drive (/jail.sh): run by init (" -- sh
# /jail.sh"), so that it runs at all shows the root is the drive.
# shellcheck disable=SC2016 # expanded by the guest's shell
JAIL_LINUX_SCRIPT='echo ember-jail-script-on-drive
ip link set eth0 up
ip addr add 10.0.2.2/30 dev eth0
ping -c 2 -W 5 10.0.2.1 && echo ember-ping-ok
wget -q -O /tmp/blob http://10.0.2.1:8000/blob &&
	echo "ember-wget: $(md5sum </tmp/blob | cut -c1-32) $(wc -c </tmp/blob)"
rm -f /tmp/blob
vsock-echo connect 2 5001 hello-from-guest
vsock-echo listen 5000
echo ember-wrote-in-jail >/from-guest.txt
sync'

# Why jailer:linux cannot run here (empty: it can).
jail_linux_unavailable() {
	local f t
	for f in vmlinux rootfs.ext4; do
		[ -f "$ROOT/build/guest/$f" ] || { echo "no Linux guest in build/guest/ (make guest builds it)"; return; }
	done
	for t in python3 debugfs; do
		command -v $t >/dev/null || { echo "$t is not installed"; return; }
	done
	netns_unavailable
}

# jail_linux_wait PID REGEX SECONDS: 0 once the console output matches; 1 if ember ends
# first or the time runs out.
jail_linux_wait() {
	local n=$(($3 * 10))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$TMP/jail-linux.raw" 2>/dev/null && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
		n=$((n - 1))
	done
	grep -Eq -- "$2" "$TMP/jail-linux.raw" 2>/dev/null
}

# jail_linux_check REGEX WHAT: one check on the boot's console output.
jail_linux_check() {
	grep -Eq -- "$1" "$TMP/jail-linux.out"
	expect "jailer:linux:$2" $? "no line matching /$1/; last lines: $(tail -n 4 "$TMP/jail-linux.out" | tr '\n' '|')"
}

# One Linux boot in a jail (about a minute or two on a kvm_pvm host). Paths in vm.json are
# the jail's: /vmlinux, /rootfs.ext4, /v.sock (on the host, under the jail's root).
jail_linux() {
	local n=jailer:linux root why www=$TMP/jail-linux-www sum size pid st pids client='' got
	local timeout=${LINUX_TIMEOUT:-900}
	why=$(jail_linux_unavailable)
	if [ -n "$why" ]; then
		skip "$n" "$why"
		return
	fi
	# The TAP is owned by the jailed uid (net-tap covers one with no owner).
	if ! why=$(netns_tap_add "$JLNS" "$JLTAP" 10.0.2.1/30 "$JUID"); then
		skip "$n" "$why"
		return
	fi
	root=$(jail_root linux)
	mkdir -p "$root" "$www"
	cp "$ROOT/build/guest/vmlinux" "$root/vmlinux"
	cp "$ROOT/build/guest/rootfs.ext4" "$root/rootfs.ext4"
	printf '%s\n' "$JAIL_LINUX_SCRIPT" >"$TMP/jail-linux.sh"
	if ! why=$(debugfs -w -R "write $TMP/jail-linux.sh /jail.sh" "$root/rootfs.ext4" 2>&1) ||
		[[ "$why" == *[Ee]rror* ]]; then
		fail "$n" "debugfs write /jail.sh: $why"
		return
	fi
	# A read-write root drive: the jailed uid's, as a caller would give it.
	chown "$JUID:$JGID" "$root/rootfs.ext4" && chmod 600 "$root/rootfs.ext4"
	chmod 644 "$root/vmlinux"
	cat >"$root/vm.json" <<EOF
{
  "boot-source": { "kernel_image_path": "/vmlinux",
    "boot_args": "console=ttyS0 reboot=k panic=-1 pci=off -- sh /jail.sh" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 },
  "drives": [ { "drive_id": "rootfs", "path_on_host": "/rootfs.ext4", "is_root_device": true,
    "is_read_only": false } ],
  "network-interfaces": [ { "iface_id": "eth0", "host_dev_name": "$JLTAP",
    "guest_mac": "$NET_MAC" } ],
  "vsock": { "guest_cid": 3, "uds_path": "/v.sock" }
}
EOF
	chmod 644 "$root/vm.json"

	# The host's side: an HTTP server in the namespace (ip netns exec execs it: $! is
	# python3), the vsock listener on <uds_path>_5001 in the jail, the jailed uid's to
	# connect to.
	head -c 131072 /dev/urandom >"$www/blob"
	sum=$(md5sum <"$www/blob" | cut -c1-32)
	size=$(stat -c %s "$www/blob")
	ip netns exec "$JLNS" python3 -m http.server --bind 10.0.2.1 --directory "$www" 8000 \
		>"$TMP/jail-linux-http.log" 2>&1 &
	JAIL_PIDS+=($!)
	python3 -c "$LINUX_VSOCK_LISTENER" "$root/v.sock_5001" "$TMP/jail-linux-listener.txt" \
		"$timeout" 2>"$TMP/jail-linux-listener.err" &
	JAIL_PIDS+=($!)
	for _ in $(seq 100); do
		[ -S "$root/v.sock_5001" ] && break
		sleep 0.05
	done
	chown "$JUID:$JGID" "$root/v.sock_5001"

	"$JAILER" --id linux --exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$JBASE" \
		--parent-cgroup "$JPARENT" --cgroup pids.max=32 --netns "/var/run/netns/$JLNS" \
		-- --no-api --boot-timer --config-file /vm.json </dev/null >"$TMP/jail-linux.raw" 2>&1 &
	pid=$!
	JAIL_PIDS+=("$pid")
	SECONDS=0
	if ! jail_wait_exec "$pid"; then
		fail "$n" "ember did not start in the jail: $(tail -n 3 "$TMP/jail-linux.raw" | tr '\n' ' ')"
		return
	fi

	# From outside, while the guest boots.
	st=/proc/$pid/status
	[ "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" = "$JUID $JUID $JUID $JUID" ] &&
		[ "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" = "$JGID $JGID $JGID $JGID" ]
	expect "$n:uid-gid" $? "$(grep -E '^(Uid|Gid):' "$st" | tr '\n\t' '  ')"
	[ "$(grep -cE '^Cap(Inh|Prm|Eff|Bnd|Amb):[[:space:]]+0000000000000000$' "$st")" = 5 ] &&
		[ "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" = 1 ]
	expect "$n:no-capabilities" $? "$(grep -E '^(Cap|NoNewPrivs)' "$st" | tr '\n\t' '  ')"
	pids=$(v1_mount pids)
	grep -qE "^[0-9]+:pids:/$JPARENT/linux\$" "/proc/$pid/cgroup" &&
		[ "$(cat "$pids/$JPARENT/linux/pids.max")" = 32 ]
	expect "$n:cgroup" $? "$(grep pids "/proc/$pid/cgroup"); pids.max: $(cat "$pids/$JPARENT/linux/pids.max" 2>&1)"
	[ "$(readlink "/proc/$pid/ns/net")" = "net:[$(stat -Lc %i "/var/run/netns/$JLNS")]" ] &&
		[ "$(stat -Lc %d:%i "/proc/$pid/root")" = "$(stat -c %d:%i "$root")" ]
	expect "$n:netns-root" $? "ember's $(readlink "/proc/$pid/ns/net"), $JLNS is $(stat -Lc %i "/var/run/netns/$JLNS"); root $(stat -Lc %d:%i "/proc/$pid/root") vs $(stat -c %d:%i "$root")"
	for _ in $(seq 100); do
		[ -S "$root/v.sock" ] && break
		sleep 0.05
	done
	[ "$(stat -c '%F %u:%g' "$root/v.sock" 2>&1)" = "socket $JUID:$JGID" ]
	expect "$n:vsock-uds-in-jail" $? "$root/v.sock: $(stat -c '%F %u:%g' "$root/v.sock" 2>&1)"

	# The guest listens on vsock port 5000 after the net and guest -> host steps.
	if jail_linux_wait "$pid" 'vsock-echo: listening on port 5000' "$timeout"; then
		client=$(timeout 40 python3 -c "$LINUX_VSOCK_CLIENT" "$root/v.sock" 2>&1)
	else
		client="the guest never listened on port 5000"
	fi
	# Then it writes its file, syncs and resets: ember exits by itself.
	wait_exit "$pid" 120
	echo "jailer:linux: the boot took $SECONDS s" >&2
	tr -d '\r' <"$TMP/jail-linux.raw" >"$TMP/jail-linux.out"

	jail_linux_check 'EXT4-fs \(vda\): mounted filesystem' ext4-root
	jail_linux_check '^ember-jail-script-on-drive$' script-from-drive
	jail_linux_check '^ember-ping-ok$' net-ping
	jail_linux_check "^ember-wget: $sum $size\$" net-tcp-download
	got=$(cat "$TMP/jail-linux-listener.txt" 2>/dev/null)
	[ "$got" = "got b'hello-from-guest\\n'" ] &&
		grep -q '^vsock-echo: reply: host-got-hello-from-guest$' "$TMP/jail-linux.out"
	expect "$n:vsock-guest-to-host" $? "listener: '$got' $(head -c 200 "$TMP/jail-linux-listener.err" 2>/dev/null); guest: $(grep -m1 '^vsock-echo' "$TMP/jail-linux.out")"
	[[ "$client" =~ ^OK\ [0-9]+\ echo\ b\'ping-from-host\\n\'$ ]] &&
		grep -q '^vsock-echo: echoed 15 bytes$' "$TMP/jail-linux.out"
	expect "$n:vsock-host-to-guest" $? "host side: $client; guest: $(grep 'vsock-echo: echoed' "$TMP/jail-linux.out")"
	jail_linux_check '^ember-init: command exited with status 0$' init-command
	[ "$RC" -eq 0 ]
	expect "$n:exit-0" $? "ember exited $RC, expected 0 (reboot -f): $(tail -n 4 "$TMP/jail-linux.out" | tr '\n' '|')"
	got=$(debugfs -R 'cat /from-guest.txt' "$root/rootfs.ext4" 2>/dev/null)
	[ "$got" = ember-wrote-in-jail ]
	expect "$n:file-on-drive" $? "debugfs cat /from-guest.txt: '$got'"
}

# jail_undo_check NAME WANT ID CGROUP-PARENT OUT RC: exit 1 with one line naming the step,
# no cgroup left, no mount of the jail left on the host.
jail_undo_check() {
	local n=$1 want=$2 id=$3 parent=$4 out=$5 rc=$6 cpu
	cpu=$(v1_mount cpu)
	if [ "$rc" != 1 ]; then
		fail "$n" "exit $rc, expected 1: $(tr '\n' ' ' <"$out")"
	elif [ "$(wc -l <"$out")" != 1 ] || ! grep -q "^ember-jailer: $want" "$out"; then
		fail "$n" "expected one line 'ember-jailer: $want...', got: $(tr '\n' ' ' <"$out")"
	elif [ -e "$cpu/$parent" ]; then
		fail "$n" "$cpu/$parent is left"
	elif grep -q "$JBASE/ember/$id" /proc/mounts; then
		fail "$n" "a mount of the jail is left on the host"
	else
		return 0
	fi
	return 1
}

jail_undo_tests() {
	local out=$TMP/jail-undo.out rc root
	# A cgroup value that cannot be written: the chroot directory and cgroups are removed.
	if want jailer:undo:cgroup; then
		"$JAILER" --id undo1 --exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$JBASE" \
			--parent-cgroup "$JPARENT-undo1" --cgroup cpu.shares=100 --cgroup cpu.no_such_file=1 \
			</dev/null >"$out" 2>&1
		rc=$?
		if jail_undo_check jailer:undo:cgroup 'cgroups: --cgroup "cpu.no_such_file=1": writing' \
			undo1 "$JPARENT-undo1" "$out" $rc; then
			[ ! -e "$JBASE/ember/undo1" ]
			expect jailer:undo:cgroup $? "$(find "$JBASE/ember/undo1" 2>&1 | tr '\n' ' ')"
		fi
	fi
	# A device node that cannot be made, inside the jail: back on the host, everything the
	# jailer made goes; what was there before (the root, its dev/kvm) stays.
	if want jailer:undo:in-jail; then
		root=$(jail_root undo2)
		mkdir -p "$root/dev" && : >"$root/dev/kvm"
		"$JAILER" --id undo2 --exec-file "$EMBER" --uid $JUID --gid $JGID --chroot-base-dir "$JBASE" \
			--parent-cgroup "$JPARENT-undo2" --cgroup cpu.shares=100 </dev/null >"$out" 2>&1
		rc=$?
		if jail_undo_check jailer:undo:in-jail 'devices: mknod /dev/kvm' undo2 "$JPARENT-undo2" \
			"$out" $rc; then
			[ "$(cd "$root" && find . | sort | tr '\n' ' ')" = ". ./dev ./dev/kvm " ] &&
				[ -f "$root/dev/kvm" ]
			expect jailer:undo:in-jail $? "left in the jail: $(cd "$root" && find . | tr '\n' ' ')"
		fi
	fi
}

# jail_bad NAME WANT ARGS...: refused (exit 1) with one line "ember-jailer: WANT...",
# nothing made in the base directory nor in the cpu hierarchy.
jail_bad() {
	local n=jailer:bad:$1 want=$2 out=$TMP/jail-bad.out rc base=$TMP/jails-bad cpu
	shift 2
	want "$n" || return 0
	cpu=$(v1_mount cpu)
	mkdir -p "$base"
	"$JAILER" "$@" </dev/null >"$out" 2>&1
	rc=$?
	if [ $rc -ne 1 ]; then
		fail "$n" "exit $rc, expected 1: $(tr '\n' ' ' <"$out")"
	elif [ "$(wc -l <"$out")" != 1 ] || [[ "$(cat "$out")" != "ember-jailer: $want"* ]]; then
		fail "$n" "expected one line 'ember-jailer: $want...', got: $(tr '\n' ' ' <"$out")"
	elif [ -n "$(ls -A "$base")" ] || [ -e "$cpu/$JPARENT-bad" ]; then
		fail "$n" "something was created: $(ls -A "$base") $(ls -d "$cpu/$JPARENT-bad" 2>/dev/null)"
	else
		pass "$n"
	fi
}

jail_bad_tests() {
	local b=$TMP/jails-bad notns=$TMP/not-a-netns long
	local id=(--id bad) ex=(--exec-file "$EMBER") u=(--uid "$JUID") g=(--gid "$JGID")
	local base=(--chroot-base-dir "$b") pc=(--parent-cgroup "$JPARENT-bad")
	local ok=("${id[@]}" "${ex[@]}" "${u[@]}" "${g[@]}" "${base[@]}" "${pc[@]}")
	long=$(printf 'a%.0s' {1..65})
	: >"$notns"
	jail_bad id-slash '--id "a/b"' --id a/b "${ex[@]}" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad id-dotdot '--id ".."' --id .. "${ex[@]}" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad id-long "--id \"$long\": 65 characters, at most 64" --id "$long" "${ex[@]}" \
		"${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad missing-id '--id is required' "${ex[@]}" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad missing-exec-file '--exec-file is required' "${id[@]}" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad missing-uid '--uid is required' "${id[@]}" "${ex[@]}" "${g[@]}" "${base[@]}"
	jail_bad missing-gid '--gid is required' "${id[@]}" "${ex[@]}" "${u[@]}" "${base[@]}"
	jail_bad uid '--uid "root": not a number' "${id[@]}" "${ex[@]}" --uid root "${g[@]}" "${base[@]}"
	jail_bad exec-not-regular '--exec-file "/dev/null": not a regular file' "${id[@]}" \
		--exec-file /dev/null "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad exec-directory "--exec-file \"$TMP\": not a regular file" "${id[@]}" \
		--exec-file "$TMP" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad exec-missing "--exec-file \"$TMP/nope\": No such file or directory" "${id[@]}" \
		--exec-file "$TMP/nope" "${u[@]}" "${g[@]}" "${base[@]}"
	jail_bad base-missing "--chroot-base-dir \"$TMP/nope\": No such file or directory" \
		"${id[@]}" "${ex[@]}" "${u[@]}" "${g[@]}" --chroot-base-dir "$TMP/nope"
	jail_bad cgroup-no-equals '--cgroup "cpu.shares": expected FILE=VALUE' "${ok[@]}" \
		--cgroup cpu.shares
	jail_bad cgroup-outside-controller '--cgroup "../../tasks=1": "../../tasks" is not a controller' \
		"${ok[@]}" --cgroup ../../tasks=1
	jail_bad cgroup-own-file '--cgroup "cgroup.procs=1": "cgroup.procs" is the cgroup' "${ok[@]}" \
		--cgroup cgroup.procs=1
	jail_bad cgroup-no-controller '--cgroup "nosuch.max=1": no cgroup v1 hierarchy has the "nosuch"' \
		"${ok[@]}" --cgroup nosuch.max=1
	jail_bad cgroup-version '--cgroup-version "3": must be 1 or 2' "${ok[@]}" --cgroup-version 3
	jail_bad parent-cgroup '--parent-cgroup "/abs": must be a relative path' "${id[@]}" "${ex[@]}" \
		"${u[@]}" "${g[@]}" "${base[@]}" --parent-cgroup /abs
	jail_bad resource-unknown '--resource-limit "nproc=10": unknown resource "nproc"' "${ok[@]}" \
		--resource-limit nproc=10
	jail_bad resource-format '--resource-limit "no-file": expected RESOURCE=N' "${ok[@]}" \
		--resource-limit no-file
	jail_bad resource-value '--resource-limit "fsize=big": "big" is not a number' "${ok[@]}" \
		--resource-limit fsize=big
	jail_bad netns-not-a-namespace "--netns \"$notns\": not a network namespace" "${ok[@]}" \
		--netns "$notns"
	jail_bad netns-missing "--netns \"/var/run/netns/nope-$$\": No such file" "${ok[@]}" \
		--netns "/var/run/netns/nope-$$"
	jail_bad unknown-flag 'unknown flag "--node"' "${ok[@]}" --node 0
	jail_bad stray-argument 'unexpected argument "vm.json"' "${ok[@]}" vm.json
}

jail_main() {
	local t out
	# Each test checks its own name against the filter (jailer:bad:id-slash, ...).
	if [ ! -x "$JAILER" ]; then
		want_group jailer: && fail jailer "$JAILER is missing: run make"
		return
	fi
	if want jailer:help; then
		out=$("$JAILER" --help)
		[[ $? -eq 0 && "$out" == *"--exec-file PATH"* && "$out" == *"--resource-limit"* ]]
		expect jailer:help $? "$out"
	fi
	if want jailer:version; then
		out=$("$JAILER" --version)
		[[ $? -eq 0 && "$out" =~ ^ember-jailer\ v[0-9]+\.[0-9]+\.[0-9]+$ ]]
		expect jailer:version $? "$out"
	fi
	if [ "$(id -u)" != 0 ]; then
		for t in hello kvm-pvm confined new-pid-ns daemonize parent-death cgroup-v2 net-tap linux undo bad; do
			want "jailer:$t" && skip "jailer:$t" "needs root (chroot, namespaces, cgroups)"
		done
		return
	fi
	exit_hook_push jail_cleanup
	mkdir -p "$JBASE"
	jail_bad_tests
	want_group jailer:undo && jail_undo_tests
	if [ "$KVM_OK" = 0 ]; then
		for t in hello kvm-pvm confined netns new-pid-ns daemonize parent-death cgroup-v2 net-tap linux; do
			want "jailer:$t" && skip "jailer:$t" "$KVM_WHY"
		done
	else
		want jailer:hello && jail_hello
		want jailer:kvm-pvm && jail_kvm_pvm
		if want_group jailer:confined || want jailer:netns; then
			if ! out=$(ip netns add "$JNS" 2>&1); then
				fail jailer:confined "ip netns add $JNS: $out"
			else
				jail_confined
			fi
		fi
		want jailer:new-pid-ns && jail_new_pid_ns
		want jailer:daemonize && jail_daemonize
		want jailer:parent-death && jail_parent_death
		want jailer:cgroup-v2 && jail_cgroup_v2
		if want jailer:net-tap; then
			[ -e "/var/run/netns/$JNS" ] || ip netns add "$JNS"
			jail_net_tap
		fi
		want_group jailer:linux && jail_linux
	fi
	jail_cleanup
	exit_hook_pop
}

jail_main

suite_end
