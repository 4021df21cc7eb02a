#!/usr/bin/env bash
# ember's resident memory outside guest RAM, measured as bench/run.sh does (firstbyte's
# memory mode: the idle payload prints READY, smaps is read 20 ms later): the median of 5
# runs must stay within the 1 MiB target (README "Benchmarks"). It fails when the link
# order goes stale (scripts/hot-order.py: new start-up code in cold windows) or a start-up
# allocation grows. Needs build/bench/firstbyte and build/bench/idle.elf (make test builds
# them). Run by tests/run.sh, or on its own: bash tests/memory.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

MEMORY_TARGET_KIB=1024

memory_overhead() {
	local name=memory:idle-overhead-rss fb=$ROOT/build/bench/firstbyte
	local idle=$ROOT/build/bench/idle.elf out got
	want "$name" || return 0
	if [ $KVM_OK = 0 ]; then
		skip "$name" "$KVM_WHY"
		return 0
	fi
	if [ ! -x "$fb" ] || [ ! -f "$idle" ]; then
		skip "$name" "build/bench/firstbyte or build/bench/idle.elf missing (make test builds them)"
		return 0
	fi
	printf '{ "boot-source": { "kernel_image_path": "%s", "boot_args": "console=ttyS0" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 128 } }\n' "$idle" >"$TMP/memory.json"
	out=$TMP/memory.out
	if ! "$fb" -n 5 -l ember -x -15 -m READY -r 128 -b 12 -- "$EMBER" --no-api \
		--config-file "$TMP/memory.json" >"$out" 2>&1; then
		fail "$name" "firstbyte failed: $(tail -n 5 "$out" | tr '\n' '|')"
		return 0
	fi
	got=$(awk '$1 == "overhead-rss-kib" { printf "%d", $3 }' "$out")
	if [ -z "$got" ]; then
		fail "$name" "no overhead-rss-kib line: $(head -c 300 "$out")"
	elif ((got > MEMORY_TARGET_KIB)); then
		fail "$name" "median $got KiB > $MEMORY_TARGET_KIB KiB; largest mappings:" \
			"$(grep '^#  ' "$out" | tr -s ' ' | tr '\n' '|')"
	else
		pass "$name"
	fi
}
memory_overhead

suite_end
