#!/usr/bin/env bash
# The balloon end to end. The payload (tests/guests/virtio_balloon.c) writes 4 MiB of
# its RAM and prints TOUCHED; the test reads ember's resident set and writes a byte
# to the guest's console; the guest inflates the balloon by those 4 MiB
# ("amount_mib": 4) and prints INFLATED. ember's resident set must have dropped by
# about as much (MADV_DONTNEED on the inflated pages). Then SIGTERM: killed by it, as
# Firecracker is.
# Run by tests/run.sh, or on its own: bash tests/balloon.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# balloon_rss_kb PID: VmRSS in kB (empty if PID is gone)
balloon_rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# balloon_wait_for PID FILE REGEX SECONDS: 0 once FILE matches REGEX; 1 when PID ends
# without it or the time runs out.
balloon_wait_for() {
	local pid=$1 file=$2 regex=$3 n=$(($4 * 10))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$regex" "$file" 2>/dev/null && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			grep -Eq -- "$regex" "$file" 2>/dev/null
			return
		fi
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}

balloon_e2e() {
	local name=guest:virtio_balloon:rss
	local cfg=$TMP/balloon.json out=$TMP/balloon.out fifo=$TMP/balloon.in
	local pid fd rss_touched='' rss_inflated='' why='' rc n
	want "$name" || return 0
	if [ "$KVM_OK" = 0 ]; then
		skip "$name" "$KVM_WHY"
		return 0
	fi
	cat >"$cfg" <<EOF
{
  "boot-source": { "kernel_image_path": "$ROOT/build/guests/virtio_balloon.elf", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 },
  "balloon": { "amount_mib": 4, "deflate_on_oom": false }
}
EOF
	# The guest's console input is a FIFO we keep open, so the byte goes when we say.
	rm -f "$fifo"
	mkfifo "$fifo"
	"$EMBER" --no-api --config-file "$cfg" <"$fifo" >"$out" 2>&1 &
	pid=$!
	exec {fd}>"$fifo"

	if ! balloon_wait_for "$pid" "$out" '^TOUCHED' 60; then
		if kill -0 "$pid" 2>/dev/null; then
			why="no TOUCHED within 60 s"
		elif grep -qi 'balloon' "$out"; then
			why="ember refused the configuration (is the \"balloon\" key wired?)"
		else
			why="ember ended before TOUCHED"
		fi
	else
		rss_touched=$(balloon_rss_kb "$pid")
		printf 'x' >&"$fd"
		if ! balloon_wait_for "$pid" "$out" '^INFLATED' 30; then
			why="no INFLATED after the byte"
		else
			# The pages are dropped before the device acknowledges the inflate.
			rss_inflated=$(balloon_rss_kb "$pid")
		fi
	fi

	kill -TERM "$pid" 2>/dev/null
	n=100
	while kill -0 "$pid" 2>/dev/null && [ $n -gt 0 ]; do
		sleep 0.1
		n=$((n - 1))
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	exec {fd}>&-
	rm -f "$fifo"

	if [ -z "$why" ] && { [ -z "$rss_touched" ] || [ -z "$rss_inflated" ]; }; then
		why="could not read ember's VmRSS"
	elif [ -z "$why" ] && [ $((rss_touched - rss_inflated)) -lt 3072 ]; then
		why="VmRSS went from $rss_touched kB to $rss_inflated kB: expected a drop of about 4096 kB"
	elif [ -z "$why" ] && [ "$rc" -ne $KILLED_BY_TERM ]; then
		why="exit $rc after SIGTERM, expected $KILLED_BY_TERM (killed by it)"
	fi
	if [ -n "$why" ]; then
		fail "$name" "$why; last output: $(tail -n 3 "$out" | tr '\n' ' ')"
	else
		pass "$name"
	fi
}

balloon_e2e

suite_end
