#!/usr/bin/env bash
# Snapshots (PUT /snapshot/create, /snapshot/load), end to end with the progress payload
# (tests/guests/progress.S: CPL0 and CPL3 code, LAPIC timer interrupts in flight, SSE
# state): paused at several points, snapshotted, restored in a new process and resumed,
# the console output of the two processes together must be the bytes of an uninterrupted
# run. Then Full + Diff laid onto it, three clones at once, the Uffd backend with
# examples/uffd_handler.c, every bad state or memory file
# refused with a 400 (the process stays usable), the state rules; virtio devices
# (tests/guests/virtio_progress.c: an entropy device and a drive in use, paused mid-way;
# tests/guests/vsock_reset.c: the transport reset a restored vsock sends; tests/guests/vmgenid.c:
# a new VMGenID generation id on every restore); and the state file
# parser under libFuzzer for a bounded time (make fuzz runs longer; seeds in
# tests/fuzz/corpus_state).
# Run by tests/run.sh, or on its own: bash tests/snapshot.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

SNAP_KERNEL=$ROOT/build/guests/progress.elf
SNAP_REF=$TMP/snap-ref.out # the uninterrupted run's output

# snap_config FILE VCPUS [TRACK_DIRTY]: the payload's configuration.
snap_config() {
	write_config "$1" "$SNAP_KERNEL" "$2" "" 128
	if [ "${3:-false}" = true ]; then
		sed -i 's/"mem_size_mib": 128/"mem_size_mib": 128, "track_dirty_pages": true/' "$1"
	fi
}

# wait_lines FILE N: until FILE has N lines (10 s at most); false on time-out.
wait_lines() {
	local i
	for ((i = 0; i < 1000; i++)); do
		[ "$(wc -l <"$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
		sleep 0.01
	done
	return 1
}

# snap_req NAME METHOD PATH BODY: one request, expected to succeed (204); fails NAME if not.
snap_req() {
	api_req "$2" "$3" "$4"
	[ "$CODE" = 204 ] && return 0
	fail "$1" "$2 $3: status $CODE: $RESP"
	return 1
}

# snap_take NAME CONFIG LINE STATE MEM: boots CONFIG with the API, pauses once its output
# has LINE lines, snapshots into STATE and MEM (Full), stops; the output so far in
# $TMP/NAME.out. False (NAME failed) on any problem.
snap_take() {
	local name=$1 cfg=$2 line=$3 state=$4 mem=$5
	api_start "$name" --config-file "$cfg" || {
		fail "$name" "ember did not start: $(tail -n 3 "$TMP/$name.err" | tr '\n' ' ')"
		return 1
	}
	if ! wait_lines "$API_OUT" "$line"; then
		fail "$name" "the payload did not print $line lines: $(tail -n 2 "$API_OUT" | tr '\n' ' ')"
		api_stop
		return 1
	fi
	snap_req "$name" PATCH /vm '{"state": "Paused"}' &&
		snap_req "$name" PUT /snapshot/create \
			"{\"snapshot_path\": \"$state\", \"mem_file_path\": \"$mem\", \"snapshot_type\": \"Full\"}"
	local ok=$?
	api_stop
	return $ok
}

# snap_restore NAME STATE MEM [RESUME_VM]: a new process loads the snapshot and runs it to
# its end; its output in $TMP/NAME.out, its status in RC. With RESUME_VM false the load
# leaves it Paused and a PATCH resumes it.
snap_restore() {
	local name=$1 state=$2 mem=$3 resume=${4:-true}
	api_start "$name" || {
		fail "$name" "ember did not start"
		return 1
	}
	snap_req "$name" PUT /snapshot/load \
		"{\"snapshot_path\": \"$state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$mem\"}, \"resume_vm\": $resume}" || {
		api_stop
		return 1
	}
	if [ "$resume" = false ]; then
		expect_api "$name" GET / - 200 '"state":"Paused"' &&
			snap_req "$name" PATCH /vm '{"state": "Resumed"}' || {
			api_stop
			return 1
		}
	fi
	wait_exit "$API_PID" 60
	exec {API_IN}>&-
}

# same_as_ref NAME BEFORE AFTER: pass when BEFORE's bytes and then AFTER's are the reference run's.
same_as_ref() {
	if [ "$RC" -ne 0 ]; then
		fail "$1" "the restored VM exited with $RC: $(tail -n 3 "$3" | tr '\n' ' ')"
	elif ! cat "$2" "$3" | cmp -s - "$SNAP_REF"; then
		fail "$1" "output differs from the uninterrupted run's: $(cat "$2" "$3" | diff - "$SNAP_REF" | head -n 4 | tr '\n' ' ')"
	else
		pass "$1"
	fi
}

# merge_extents DIFF BASE: copies the data extents of the sparse file DIFF over BASE.
merge_extents() {
	python3 - "$1" "$2" <<'EOF'
import os, sys
src = os.open(sys.argv[1], os.O_RDONLY)
dst = os.open(sys.argv[2], os.O_WRONLY)
end = os.fstat(src).st_size
off = 0
while off < end:
    try:
        data = os.lseek(src, off, os.SEEK_DATA)
    except OSError:
        break
    hole = os.lseek(src, data, os.SEEK_HOLE)
    while data < hole:
        chunk = os.pread(src, min(1 << 20, hole - data), data)
        os.pwrite(dst, chunk, data)
        data += len(chunk)
    off = hole
EOF
}

# The restore points: LINE (pause once the output has that many lines):VCPUS:RESUME_VM.
SNAP_POINTS="1:1:true 6:1:true 15:1:false 9:2:true"
snap_point_name() { # LINE VCPUS RESUME
	echo "snapshot:restore:line$1:${2}cpu$([ "$3" = false ] && echo :paused-load)"
}
SNAP_TESTS=()
for point in $SNAP_POINTS; do
	IFS=: read -r line vcpus resume <<<"$point"
	SNAP_TESTS+=("$(snap_point_name "$line" "$vcpus" "$resume")")
done
SNAP_TESTS+=(snapshot:describe snapshot:diff snapshot:clones snapshot:uffd snapshot:bad-files
	snapshot:rules)
# The virtio payload (tests/guests/virtio_progress.c: an entropy device and a drive in use).
SNAP_TESTS+=(snapshot:virtio:sync snapshot:virtio:async snapshot:virtio:drive-size
	snapshot:virtio:patched-drive snapshot:diff-devices
	snapshot:vsock-reset snapshot:net snapshot:vmgenid)
SNAP_WANTED=()
for t in "${SNAP_TESTS[@]}"; do want "$t" && SNAP_WANTED+=("$t"); done

if [ ${#SNAP_WANTED[@]} -gt 0 ]; then
	if [ $KVM_OK = 0 ]; then
		for t in "${SNAP_WANTED[@]}"; do skip "$t" "$KVM_WHY"; done
	elif [ ! -f "$SNAP_KERNEL" ]; then
		for t in "${SNAP_WANTED[@]}"; do fail "$t" "$SNAP_KERNEL is missing (make guests)"; done
	else
		snap_config "$TMP/snap.json" 1
		snap_config "$TMP/snap2.json" 2
		snap_config "$TMP/snap-track.json" 1 true
		timeout 60 "$EMBER" --no-api --config-file "$TMP/snap.json" >"$SNAP_REF" 2>"$TMP/snap-ref.err" </dev/null
		if ! grep -q '^SUCCESS' "$SNAP_REF"; then
			fail snapshot:reference "the uninterrupted run failed: $(tail -n 2 "$SNAP_REF" "$TMP/snap-ref.err" | tr '\n' ' ')"
		fi

		# Paused at several points (kernel mode just up, mid-run, near the end; and two
		# vCPUs, the second never started), restored in a new process, resumed.
		for point in $SNAP_POINTS; do
			IFS=: read -r line vcpus resume <<<"$point"
			name=$(snap_point_name "$line" "$vcpus" "$resume")
			# The describe, clone and bad-file tests use line 6's snapshot.
			want "$name" || { [ "$line" = 6 ] &&
				{ want snapshot:describe || want snapshot:clones || want snapshot:uffd ||
					want snapshot:bad-files; }; } || continue
			cfg=$TMP/snap.json
			[ "$vcpus" = 2 ] && cfg=$TMP/snap2.json
			[ "$vcpus" = 2 ] && timeout 60 "$EMBER" --no-api --config-file "$cfg" >"$TMP/snap-ref2.out" 2>/dev/null </dev/null
			snap_take "$name" "$cfg" "$line" "$TMP/r$line.state" "$TMP/r$line.mem" || continue
			cp "$API_OUT" "$TMP/r$line.before"
			if grep -q '^SUCCESS' "$TMP/r$line.before"; then
				fail "$name" "the payload finished before the pause"
				continue
			fi
			want "$name" || continue
			snap_restore "$name" "$TMP/r$line.state" "$TMP/r$line.mem" "$resume" || continue
			if [ "$vcpus" = 2 ]; then
				SNAP_REF=$TMP/snap-ref2.out same_as_ref "$name" "$TMP/r$line.before" "$API_OUT"
			else
				same_as_ref "$name" "$TMP/r$line.before" "$API_OUT"
			fi
		done

		# --describe-snapshot: Firecracker's "v<major>.<minor>.<patch>".
		if want snapshot:describe && [ -f "$TMP/r6.state" ]; then
			out=$("$EMBER" --describe-snapshot "$TMP/r6.state" 2>&1)
			if [ "$out" = v1.0.0 ]; then pass snapshot:describe; else fail snapshot:describe "printed: $out"; fi
		fi

		# Full, resumed, then Diff (the pages dirtied since): the diff's data extents over
		# the full file make the second snapshot's memory. Then, resumed again, a Diff
		# taken straight into a copy of that merged file (one of guest-memory size: written
		# in place, as Firecracker does) makes the third's.
		if want snapshot:diff; then
			name=snapshot:diff
			if api_start diff --config-file "$TMP/snap-track.json" && wait_lines "$API_OUT" 3 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d1.state\", \"mem_file_path\": \"$TMP/d.full\"}" &&
				snap_req $name PATCH /vm '{"state": "Resumed"}' && wait_lines "$API_OUT" 8 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d2.state\", \"mem_file_path\": \"$TMP/d.diff\", \"snapshot_type\": \"Diff\"}" &&
				cp "$API_OUT" "$TMP/d2.before" &&
				cp --sparse=always "$TMP/d.full" "$TMP/d.merged" &&
				merge_extents "$TMP/d.diff" "$TMP/d.merged" &&
				cp --sparse=always "$TMP/d.merged" "$TMP/d.direct" &&
				snap_req $name PATCH /vm '{"state": "Resumed"}' && wait_lines "$API_OUT" 12 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/d3.state\", \"mem_file_path\": \"$TMP/d.direct\", \"snapshot_type\": \"Diff\"}"; then
				api_stop
				cp "$API_OUT" "$TMP/d3.before"
				full_kib=$(du -k "$TMP/d.full" | cut -f1) diff_kib=$(du -k "$TMP/d.diff" | cut -f1)
				if [ "$(stat -c %s "$TMP/d.diff")" != $((128 << 20)) ]; then
					fail $name "the diff is not a file of guest-memory size: $(stat -c %s "$TMP/d.diff")"
				elif [ "$diff_kib" -ge "$full_kib" ] || [ "$diff_kib" -ge 4096 ]; then
					fail $name "the diff is not sparse: $diff_kib KiB on disk, the full $full_kib KiB"
				elif snap_restore $name "$TMP/d2.state" "$TMP/d.merged" &&
					cp "$API_OUT" "$TMP/d2.after" &&
					snap_restore $name "$TMP/d3.state" "$TMP/d.direct"; then
					if ! cat "$TMP/d2.before" "$TMP/d2.after" | cmp -s - "$SNAP_REF"; then
						fail $name "restored from the merged diff, the output differs"
					else
						same_as_ref $name "$TMP/d3.before" "$API_OUT"
					fi
				fi
			else
				fail $name "a step failed: $(tail -n 2 "$API_ERR" | tr '\n' ' ')"
				api_stop
			fi
		fi

		# Three clones restored from one snapshot at once, each running on to the same end.
		if want snapshot:clones && [ -f "$TMP/r6.state" ]; then
			pids=() socks=() ins=()
			for i in 1 2 3; do
				api_start clone$i && pids+=("$API_PID") socks+=("$API_SOCK") ins+=("$API_IN")
			done
			body="{\"snapshot_path\": \"$TMP/r6.state\", \"mem_file_path\": \"$TMP/r6.mem\", \"resume_vm\": true}"
			curls=()
			for s in "${socks[@]}"; do
				curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' --unix-socket "$s" \
					-X PUT -d "$body" http://localhost/snapshot/load >>"$TMP/clones.codes" &
				curls+=($!)
			done
			wait "${curls[@]}"
			for i in "${!pids[@]}"; do
				wait_exit "${pids[i]}" 60
				fd=${ins[i]}
				exec {fd}>&-
			done
			ok=1
			for i in 1 2 3; do
				if ! cat "$TMP/r6.before" "$TMP/clone$i.out" | cmp -s - "$SNAP_REF"; then
					ok=0
					fail snapshot:clones "clone $i's output differs: $(tail -n 2 "$TMP/clone$i.out" | tr '\n' ' ')"
				fi
			done
			[ "$(grep -c '^204$' "$TMP/clones.codes")" = 3 ] || {
				ok=0
				fail snapshot:clones "loads answered: $(tr '\n' ' ' <"$TMP/clones.codes")"
			}
			[ $ok = 1 ] && pass snapshot:clones
		fi

		# The Uffd memory backend (Firecracker's protocol) with the example handler
		# (examples/uffd_handler.c): it serves each page from the memory file.
		if want snapshot:uffd && [ -f "$TMP/r6.state" ]; then
			name=snapshot:uffd
			if ! ${CC:-cc} -O2 -Wall -Wextra -Werror -o "$TMP/uffd_handler" examples/uffd_handler.c 2>"$TMP/uffd.cc"; then
				fail $name "building examples/uffd_handler.c: $(head -n 3 "$TMP/uffd.cc" | tr '\n' ' ')"
			else
				"$TMP/uffd_handler" "$TMP/pf-handler.sock" "$TMP/r6.mem" 2>"$TMP/uffd.err" &
				handler=$!
				for _ in $(seq 200); do [ -S "$TMP/pf-handler.sock" ] && break; sleep 0.01; done
				if api_start uffd && snap_req $name PUT /snapshot/load \
					"{\"snapshot_path\": \"$TMP/r6.state\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/pf-handler.sock\"}, \"resume_vm\": true}"; then
					wait_exit "$API_PID" 60
					exec {API_IN}>&-
					wait_exit "$handler" 10
					if [ "$RC" != 0 ] || ! grep -q 'served [1-9][0-9]* pages' "$TMP/uffd.err"; then
						fail $name "the handler: status $RC, $(tr '\n' ' ' <"$TMP/uffd.err")"
					else
						RC=0 same_as_ref $name "$TMP/r6.before" "$API_OUT"
					fi
				else
					api_stop
					kill "$handler" 2>/dev/null
				fi
			fi
		fi

		# Bad files: each refused with a 400 naming the file and the problem; the same
		# process then loads the good snapshot and runs it correctly.
		if want snapshot:bad-files && [ -f "$TMP/r6.state" ]; then
			good=$TMP/r6.state
			bad=$TMP/bad.state
			load() { # load STATE MEM
				api_req PUT /snapshot/load "{\"snapshot_path\": \"$1\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$2\"}, \"resume_vm\": true}"
			}
			refused() { # refused WHAT REGEX (after load)
				if [ "$CODE" != 400 ] || ! grep -Eq -- "$2" <<<"$RESP"; then
					fail snapshot:bad-files "$1: status $CODE: $RESP"
					return 1
				fi
			}
			patch_byte() { # patch_byte OFFSET HEXBYTE: a copy of the good file with one byte changed
				cp "$good" "$bad" && printf "\\x$2" | dd of="$bad" bs=1 seek="$1" conv=notrunc status=none
			}
			if api_start badfiles; then
				ok=1
				patch_byte 0 58 && load "$bad" "$TMP/r6.mem" &&
					refused "wrong magic" "Load snapshot error: snapshot_path $bad: not an ember snapshot state file \(bad magic\)" || ok=0
				patch_byte 8 02 && load "$bad" "$TMP/r6.mem" &&
					refused "unknown major" "snapshot_path $bad: unsupported version 2\.0 \(this ember reads 1\.0 to 1\.0\)" || ok=0
				patch_byte 10 01 && load "$bad" "$TMP/r6.mem" &&
					refused "newer minor" "snapshot_path $bad: unsupported version 1\.1" || ok=0
				patch_byte 200 ff && load "$bad" "$TMP/r6.mem" &&
					refused "bad checksum" "snapshot_path $bad: checksum mismatch" || ok=0
				head -c 3000 "$good" >"$bad" && load "$bad" "$TMP/r6.mem" &&
					refused "truncated" "snapshot_path $bad: truncated or padded" || ok=0
				head -c 10 "$good" >"$bad" && load "$bad" "$TMP/r6.mem" &&
					refused "a stub" "snapshot_path $bad: truncated: 10 bytes" || ok=0
				load "$TMP/nonexistent.state" "$TMP/r6.mem" &&
					refused "missing state file" "snapshot_path $TMP/nonexistent.state: cannot open: No such file" || ok=0
				truncate -s 64M "$TMP/short.mem" && load "$good" "$TMP/short.mem" &&
					refused "memory file size" "mem_backend.backend_path $TMP/short.mem: 67108864 bytes, but the snapshot's guest memory is 134217728 bytes \(128 MiB\)" || ok=0
				# Found only once the VM is being built: it is torn down again.
				api_req PUT /snapshot/load "{\"snapshot_path\": \"$good\", \"mem_backend\": {\"backend_type\": \"Uffd\", \"backend_path\": \"$TMP/nobody.sock\"}}"
				refused "no page-fault handler" "mem_backend.backend_path $TMP/nobody.sock: cannot connect to the page-fault handler" || ok=0
				expect_api snapshot:bad-files GET / - 200 '"state":"Not started"' || ok=0
				if [ $ok = 1 ]; then
					load "$good" "$TMP/r6.mem"
					if [ "$CODE" != 204 ]; then
						fail snapshot:bad-files "the good load after the bad ones: $CODE $RESP"
					else
						wait_exit "$API_PID" 60
						exec {API_IN}>&-
						same_as_ref snapshot:bad-files "$TMP/r6.before" "$API_OUT"
					fi
				else
					api_stop
				fi
			else
				fail snapshot:bad-files "ember did not start"
			fi
		fi

		# The state rules, with Firecracker's messages.
		if want snapshot:rules; then
			ok=1
			api_start rules || ok=0
			expect_api snapshot:rules PUT /snapshot/create "{\"snapshot_path\": \"$TMP/x.state\", \"mem_file_path\": \"$TMP/x.mem\"}" 400 \
				'The requested operation is not supported before starting the microVM.' || ok=0
			expect_api snapshot:rules PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 128}' 204 '' || ok=0
			expect_api snapshot:rules PUT /snapshot/load "{\"snapshot_path\": \"$TMP/r6.state\", \"mem_file_path\": \"$TMP/r6.mem\"}" 400 \
				'^\{"fault_message":"Load snapshot error: Loading a microVM snapshot not allowed after configuring boot-specific resources."\}$' || ok=0
			api_stop
			api_start rules2 --config-file "$TMP/snap.json" || ok=0
			expect_api snapshot:rules PUT /snapshot/create "{\"snapshot_path\": \"$TMP/x.state\", \"mem_file_path\": \"$TMP/x.mem\"}" 400 \
				'Create snapshot error: Cannot save the microVM state: Operation not allowed: save/restore unavailable while running' || ok=0
			expect_api snapshot:rules PATCH /vm '{"state": "Paused"}' 204 '' || ok=0
			expect_api snapshot:rules PUT /snapshot/create "{\"snapshot_path\": \"$TMP/x.state\", \"mem_file_path\": \"$TMP/x.mem\", \"snapshot_type\": \"Diff\"}" 400 \
				'Diff snapshots are not allowed on uVMs with dirty page tracking disabled' || ok=0
			expect_api snapshot:rules PUT /snapshot/load "{\"snapshot_path\": \"$TMP/r6.state\", \"mem_file_path\": \"$TMP/r6.mem\"}" 400 \
				'The requested operation is not supported after starting the microVM.' || ok=0
			[ -e "$TMP/x.state" ] && ok=0 && fail snapshot:rules "a refused create left $TMP/x.state"
			api_stop
			[ $ok = 1 ] && pass snapshot:rules
		fi
	fi
fi

# snapshot:virtio:*: the virtio payload, paused mid-way with its entropy device and drive in
# use (and, for async, an Async drive and an idle vsock and balloon), snapshotted, restored
# in a new process (which reopens the drive and re-creates the vsock listener): the two
# outputs together are the uninterrupted run's. Then a restore over a drive file of
# another size is refused with a 400 naming the drive. And a Diff carries the pages only the
# devices wrote (snapshot:diff-devices).
VIRTIO_KERNEL=$ROOT/build/guests/virtio_progress.elf
# virtio_config FILE DRIVE ENGINE [EXTRA_JSON]
virtio_config() {
	write_config "$1" "$VIRTIO_KERNEL" 1 "" 128 "\"drives\": [{\"drive_id\": \"d\", \"path_on_host\": \"$2\", \"is_root_device\": false, \"is_read_only\": false, \"io_engine\": \"$3\"}], \"entropy\": {}${4:+, $4}"
}
# fresh_drive FILE: the payload's drive, zeroed (64 KiB)
fresh_drive() { rm -f "$1" && truncate -s 64K "$1"; }
VIRTIO_WANTED=0
VIRTIO_NAMES="snapshot:virtio:sync snapshot:virtio:async snapshot:virtio:drive-size snapshot:virtio:patched-drive snapshot:diff-devices"
for t in $VIRTIO_NAMES; do
	want "$t" && VIRTIO_WANTED=1
done
if [ $VIRTIO_WANTED = 1 ]; then
	if [ $KVM_OK = 0 ]; then
		for t in $VIRTIO_NAMES; do
			want "$t" && skip "$t" "$KVM_WHY"
		done
	elif [ ! -f "$VIRTIO_KERNEL" ]; then
		fail snapshot:virtio "$VIRTIO_KERNEL is missing (make guests)"
	else
		fresh_drive "$TMP/vref.img"
		virtio_config "$TMP/vref.json" "$TMP/vref.img" Sync
		timeout 60 "$EMBER" --no-api --config-file "$TMP/vref.json" >"$TMP/vref.out" 2>"$TMP/vref.err" </dev/null
		if ! grep -q '^SUCCESS' "$TMP/vref.out"; then
			fail snapshot:virtio "the uninterrupted run failed: $(tail -n 2 "$TMP/vref.out" "$TMP/vref.err" | tr '\n' ' ')"
		else
			for point in sync:3:Sync async:9:Async; do
				IFS=: read -r kind line engine <<<"$point"
				name=snapshot:virtio:$kind
				want "$name" || { [ "$kind" = sync ] && want snapshot:virtio:drive-size; } || continue
				extra=
				[ "$kind" = async ] && extra="\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$TMP/v-$kind.sock\"}, \"balloon\": {\"amount_mib\": 0, \"deflate_on_oom\": false, \"stats_polling_interval_s\": 1}"
				fresh_drive "$TMP/v-$kind.img"
				virtio_config "$TMP/v-$kind.json" "$TMP/v-$kind.img" "$engine" "$extra"
				snap_take "$name" "$TMP/v-$kind.json" "$line" "$TMP/v-$kind.state" "$TMP/v-$kind.mem" || continue
				cp "$API_OUT" "$TMP/v-$kind.before"
				cp "$TMP/v-$kind.img" "$TMP/v-$kind.img.saved"
				if grep -q '^SUCCESS' "$TMP/v-$kind.before"; then
					fail "$name" "the payload finished before the pause"
					continue
				fi
				want "$name" || continue
				snap_restore "$name" "$TMP/v-$kind.state" "$TMP/v-$kind.mem" &&
					SNAP_REF=$TMP/vref.out same_as_ref "$name" "$TMP/v-$kind.before" "$API_OUT"
			done
		fi
		# A drive moved to a copy of its file (PATCH /drives) before the snapshot: the
		# restore opens the copy, the original gone.
		if want snapshot:virtio:patched-drive && grep -q '^SUCCESS' "$TMP/vref.out"; then
			name=snapshot:virtio:patched-drive
			fresh_drive "$TMP/vp.img"
			virtio_config "$TMP/vp.json" "$TMP/vp.img" Sync
			if api_start vpatch --config-file "$TMP/vp.json" && wait_lines "$API_OUT" 4 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				cp "$TMP/vp.img" "$TMP/vp-copy.img" &&
				snap_req $name PATCH /drives/d "{\"drive_id\": \"d\", \"path_on_host\": \"$TMP/vp-copy.img\"}" &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/vp.state\", \"mem_file_path\": \"$TMP/vp.mem\"}"; then
				api_stop
				cp "$API_OUT" "$TMP/vp.before"
				rm -f "$TMP/vp.img"
				snap_restore $name "$TMP/vp.state" "$TMP/vp.mem" &&
					SNAP_REF=$TMP/vref.out same_as_ref $name "$TMP/vp.before" "$API_OUT"
			else
				fail $name "a step failed: $(tail -n 2 "$API_ERR" | tr '\n' ' ')"
				api_stop
			fi
		fi
		# Diff with pages only the devices wrote (the payload's random bytes and block
		# read buffer, each on a page the guest never writes): Full, run, Diff, then a
		# Full at the same point; the Full's data with the diff laid over it must be that
		# second Full byte for byte, and restore and run on as the uninterrupted run.
		if want snapshot:diff-devices && grep -q '^SUCCESS' "$TMP/vref.out"; then
			name=snapshot:diff-devices
			fresh_drive "$TMP/dd.img"
			virtio_config "$TMP/dd.json" "$TMP/dd.img" Sync
			sed -i 's/"mem_size_mib": 128/"mem_size_mib": 128, "track_dirty_pages": true/' "$TMP/dd.json"
			if api_start ddiff --config-file "$TMP/dd.json" && wait_lines "$API_OUT" 2 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/dd1.state\", \"mem_file_path\": \"$TMP/dd.full\"}" &&
				snap_req $name PATCH /vm '{"state": "Resumed"}' && wait_lines "$API_OUT" 4 &&
				snap_req $name PATCH /vm '{"state": "Paused"}' &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/dd2.state\", \"mem_file_path\": \"$TMP/dd.diff\", \"snapshot_type\": \"Diff\"}" &&
				snap_req $name PUT /snapshot/create "{\"snapshot_path\": \"$TMP/dd3.state\", \"mem_file_path\": \"$TMP/dd.full2\"}"; then
				api_stop
				cp "$API_OUT" "$TMP/dd.before"
				cp --sparse=always "$TMP/dd.full" "$TMP/dd.merged"
				merge_extents "$TMP/dd.diff" "$TMP/dd.merged"
				if grep -q '^SUCCESS' "$TMP/dd.before"; then
					fail $name "the payload finished before the pause"
				elif ! cmp -s "$TMP/dd.merged" "$TMP/dd.full2"; then
					fail $name "Full + Diff differs from a Full at the same point: pages $(cmp -l "$TMP/dd.merged" "$TMP/dd.full2" | awk '{printf "0x%x\n", int(($1 - 1) / 4096) * 4096}' | uniq | head -n 8 | tr '\n' ' ')"
				else
					snap_restore $name "$TMP/dd2.state" "$TMP/dd.merged" &&
						SNAP_REF=$TMP/vref.out same_as_ref $name "$TMP/dd.before" "$API_OUT"
				fi
			else
				fail $name "a step failed: $(tail -n 2 "$API_ERR" | tr '\n' ' ')"
				api_stop
			fi
		fi
		if want snapshot:virtio:drive-size && [ -f "$TMP/v-sync.state" ]; then
			name=snapshot:virtio:drive-size
			cp "$TMP/v-sync.img.saved" "$TMP/v-sync.img" && truncate -s 128K "$TMP/v-sync.img"
			if api_start drivesize; then
				api_req PUT /snapshot/load "{\"snapshot_path\": \"$TMP/v-sync.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/v-sync.mem\"}}"
				if [ "$CODE" != 400 ] || ! grep -q "drive d: $TMP/v-sync.img is 131072 bytes, but the snapshot's drive was 65536 bytes" <<<"$RESP"; then
					fail $name "status $CODE: $RESP"
				else
					expect_api $name GET / - 200 '"state":"Not started"' && pass $name
				fi
				api_stop
			else
				fail $name "ember did not start"
			fi
		fi
	fi
fi

# snapshot:vsock-reset: the vsock_reset payload waits on its vsock event queue; snapshotted
# and restored with a vsock_override, it gets VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, and the
# listener is at the override's path.
if want snapshot:vsock-reset; then
	name=snapshot:vsock-reset
	kernel=$ROOT/build/guests/vsock_reset.elf
	if [ $KVM_OK = 0 ]; then
		skip $name "$KVM_WHY"
	elif [ ! -f "$kernel" ]; then
		fail $name "$kernel is missing (make guests)"
	else
		write_config "$TMP/vr.json" "$kernel" 1 "" 128 "\"vsock\": {\"guest_cid\": 3, \"uds_path\": \"$TMP/vr.sock\"}"
		if snap_take $name "$TMP/vr.json" 1 "$TMP/vr.state" "$TMP/vr.mem"; then
			cp "$API_OUT" "$TMP/vr.before"
			if api_start vr-restore && snap_req $name PUT /snapshot/load \
				"{\"snapshot_path\": \"$TMP/vr.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/vr.mem\"}, \"vsock_override\": {\"uds_path\": \"$TMP/vr2.sock\"}, \"resume_vm\": false}"; then
				if [ ! -S "$TMP/vr2.sock" ]; then
					fail $name "no listener at the vsock_override's uds_path"
					api_stop
				else
					snap_req $name PATCH /vm '{"state": "Resumed"}'
					wait_exit "$API_PID" 60
					exec {API_IN}>&-
					if [ "$RC" = 0 ] && grep -q '^vsock: event id 0, 4 bytes' "$API_OUT" &&
						grep -q '^SUCCESS' "$API_OUT" && ! grep -q SUCCESS "$TMP/vr.before"; then
						pass $name
					else
						fail $name "status $RC: $(tr '\n' ' ' <"$API_OUT")"
					fi
				fi
			else
				api_stop
			fi
		fi
	fi
fi

# snapshot:vmgenid: the vmgenid payload prints the generation id ember wrote at boot and
# polls it; snapshotted while it waits, each of two restores from the one snapshot writes a
# new id (the payload sees it change), a different one each: clones never share an id.
if want snapshot:vmgenid; then
	name=snapshot:vmgenid
	kernel=$ROOT/build/guests/vmgenid.elf
	if [ $KVM_OK = 0 ]; then
		skip $name "$KVM_WHY"
	elif [ ! -f "$kernel" ]; then
		fail $name "$kernel is missing (make guests)"
	else
		write_config "$TMP/vg.json" "$kernel" 1 "" 128
		if snap_take $name "$TMP/vg.json" 2 "$TMP/vg.state" "$TMP/vg.mem"; then
			first=$(sed -n 's/^vmgenid: \(0x[0-9a-f]* 0x[0-9a-f]* 0x[0-9a-f]* 0x[0-9a-f]*\)$/\1/p' "$API_OUT")
			ok=1 ids=()
			for i in 1 2; do
				snap_restore $name "$TMP/vg.state" "$TMP/vg.mem" || {
					ok=0
					break
				}
				id=$(sed -n 's/^vmgenid: changed to //p' "$API_OUT")
				if [ "$RC" != 0 ] || [ -z "$id" ] || [ "$id" = "$first" ] || ! grep -q '^SUCCESS' "$API_OUT"; then
					fail $name "restore $i: status $RC, boot id '$first': $(tr '\n' ' ' <"$API_OUT")"
					ok=0
					break
				fi
				ids+=("$id")
			done
			if [ $ok = 1 ]; then
				if [ -z "$first" ]; then
					fail $name "no generation id printed at boot"
				elif [ "${ids[0]}" = "${ids[1]}" ]; then
					fail $name "two restores got the same id: ${ids[0]}"
				else
					pass $name
				fi
			fi
		fi
	fi
fi

# snapshot:net: the net_wait payload, on a TAP nobody sends on, snapshotted while it waits
# for a frame; restored with network_overrides to a second TAP where a helper sends the
# frame: the restored device reopened the (overridden) TAP and delivers it, and the
# guest's answer reaches the helper. Needs root, ip netns and python3 (tests/lib/net.sh).
snap_net() {
	local name=snapshot:net kernel=$ROOT/build/guests/net_wait.elf why py=$TMP/net_send.py
	local wrap=$TMP/ember-in-ns hrc
	why=$(net_unavailable)
	[ -z "$why" ] && [ ! -f "$kernel" ] && why="$kernel is missing (make guests)"
	if [ -n "$why" ]; then
		skip $name "$why"
		return
	fi
	exit_hook_push net_cleanup
	if ! why=$(net_setup) || ! why=$({ ip -n "$NET_NS" tuntap add dev embtap1 mode tap &&
		ip -n "$NET_NS" link set embtap1 up; } 2>&1); then
		skip $name "$why"
		net_cleanup
		exit_hook_pop
		return
	fi
	printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$NET_NS" "$EMBER" >"$wrap"
	chmod +x "$wrap"
	cat >"$py" <<'PY'
import socket, sys, time
tap, mac = sys.argv[1], bytes.fromhex(sys.argv[2].replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88B5))
s.bind((tap, 0x88B5))
s.settimeout(0.05)
with open("/sys/class/net/%s/address" % tap) as f:
    host_mac = bytes.fromhex(f.read().strip().replace(":", ""))
frame = mac + host_mac + b"\x88\xb5" + b"ember virtio-net host->guest"
frame += bytes(60 - len(frame))
print("READY", flush=True)
end = time.time() + 30
while time.time() < end:
    s.send(frame)
    try:
        got, addr = s.recvfrom(65536)
    except socket.timeout:
        continue
    if addr[2] != 4 and got[6:12] == mac and got[14:42] == b"ember virtio-net guest->host":
        print("guest frame", flush=True)
        sys.exit(0)
print("no frame from the guest in 30 s")
sys.exit(1)
PY
	write_config "$TMP/net.json" "$kernel" 1 "" 128 \
		"\"network-interfaces\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"$NET_TAP\", \"guest_mac\": \"$NET_MAC\"}]"
	if EMBER=$wrap snap_take $name "$TMP/net.json" 1 "$TMP/net.state" "$TMP/net.mem" &&
		! grep -q 'got the host' "$API_OUT"; then
		ip netns exec "$NET_NS" python3 "$py" embtap1 "$NET_MAC" >"$TMP/net-helper.out" 2>&1 &
		NET_HELPER_PID=$!
		for _ in $(seq 100); do grep -q READY "$TMP/net-helper.out" && break; sleep 0.05; done
		if EMBER=$wrap api_start net-restore && snap_req $name PUT /snapshot/load \
			"{\"snapshot_path\": \"$TMP/net.state\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$TMP/net.mem\"}, \"network_overrides\": [{\"iface_id\": \"eth0\", \"host_dev_name\": \"embtap1\"}], \"resume_vm\": true}"; then
			wait_exit "$API_PID" 60
			exec {API_IN}>&-
			wait "$NET_HELPER_PID"
			hrc=$?
			NET_HELPER_PID=
			if [ "$RC" = 0 ] && [ "$hrc" = 0 ] && grep -q '^SUCCESS' "$API_OUT"; then
				pass $name
			else
				fail $name "status $RC, helper $hrc: $(tr '\n' ' ' <"$API_OUT") $(tr '\n' ' ' <"$TMP/net-helper.out")"
			fi
		else
			api_stop
		fi
	fi
	net_cleanup
	exit_hook_pop
}
if want snapshot:net; then
	# shellcheck source=tests/lib/net.sh
	source tests/lib/net.sh
	snap_net
fi

if want snapshot:fuzz-state; then
	run_fuzzer snapshot:fuzz-state fuzz_state 20 tests/fuzz/corpus_state
fi

suite_end
