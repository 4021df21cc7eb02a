#!/usr/bin/env bash
# The payload guests (build/guests/*.elf, tests/guests/), one run per row of
# tests/guests/cases.tsv: name, vCPUs, console input (printf format, - for none),
# expected exit status (!0: any failure), a regular expression the output must
# match, and extra arguments for ember (- for none). Each row is the test
# guest:NAME:<vCPUs>cpu (guest:smp:2cpu). Pseudo-flags in the extra column add
# devices to the configuration:
#   @drive[=Sync|Async]  the drive image of tests/lib/vm.sh, checked after the run
#                        by a second test; the engine names both
#                        (guest:virtio_block:1cpu:async, ...:async:host-file)
#   @KEY                 "KEY": {} (@entropy: "entropy": {})
# Run by tests/run.sh, or on its own: bash tests/guests.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh

if [ -f tests/guests/cases.tsv ]; then
	while IFS=$'\t' read -r name vcpus stdin want_rc regex extra; do
		[ -z "$name" ] || [[ "$name" == \#* ]] && continue
		tname="guest:$name:${vcpus}cpu"
		for word in $extra; do # a drive's engine names the row: ...:sync, ...:async
			case "$word" in
			@drive) tname="$tname:sync" ;;
			@drive=*) word=${word#@drive=} && tname="$tname:${word,,}" ;;
			esac
		done
		want "$tname" || continue
		if [ $KVM_OK = 0 ]; then
			skip "$tname" "$KVM_WHY"
			continue
		fi
		cfg=$TMP/$name-$vcpus.json out=$TMP/$name-$vcpus.out
		devices='' img=''
		for word in $extra; do
			case "$word" in
			@drive | @drive=*)
				img=$TMP/$name-$vcpus-${word#@drive=}.img engine=Sync
				[ "$word" = @drive ] || engine=${word#@drive=}
				drive_image_create "$img"
				devices="${devices:+$devices, }$(drive_config_json "$img" "$engine")"
				;;
			@*) devices="${devices:+$devices, }\"${word#@}\": {}" ;;
			esac
		done
		# shellcheck disable=SC2086 # the extra column is words
		extra=$(printf '%s\n' $extra | grep -v -e '^@' -e '^-$' | tr '\n' ' ')
		write_config "$cfg" "$ROOT/build/guests/$name.elf" "$vcpus" "" "" "$devices"
		if [ "$stdin" = - ]; then
			# shellcheck disable=SC2086
			timeout 60 "$EMBER" --no-api --config-file "$cfg" $extra </dev/null >"$out" 2>&1
		else
			# shellcheck disable=SC2086,SC2059
			printf "$stdin" | timeout 60 "$EMBER" --no-api --config-file "$cfg" $extra >"$out" 2>&1
		fi
		check_result "$tname" "$want_rc" "$regex" $? "$out"
		[ -z "$img" ] || drive_image_check "$tname:host-file" "$img"
	done <tests/guests/cases.tsv
fi

suite_end
