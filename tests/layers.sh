#!/usr/bin/env bash
# The layer check (scripts/check-layers.sh, make check-layers). On the real tree it must pass; on a
# copy of src/ with one bad include added it must fail and print exactly one line
# naming the file, the line and the header; includes the compiler never sees
# (comments) must not count.
# Run by tests/run.sh, or on its own: bash tests/layers.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

# layers_case NAME FILE TEXT WANT: copies src/, inserts TEXT (one or more lines) as
# lines 2.. of FILE (created if missing) and runs the check on the copy. WANT is the
# one line it must print, exiting 1; "" means it must pass.
layers_case() {
	local name="layers:$1" file=$2 text=$3 expect=${4-} dir=$TMP/layers-$1 out rc
	want "$name" || return 0
	rm -rf "$dir" && mkdir -p "$dir" && cp -r "$ROOT/src" "$dir/src"
	if [ -f "$dir/src/$file" ]; then
		TEXT=$text awk 'NR == 2 { print ENVIRON["TEXT"] } { print }' "$dir/src/$file" >"$dir/tmp" &&
			mv "$dir/tmp" "$dir/src/$file"
	else
		printf '// SPDX-License-Identifier: Apache-2.0\n%s\n' "$text" >"$dir/src/$file"
	fi
	out=$(bash "$ROOT/scripts/check-layers.sh" "$dir/src" 2>&1)
	rc=$?
	if [ -z "$expect" ]; then
		if [ $rc -eq 0 ]; then pass "$name"; else fail "$name" "exit $rc: $out"; fi
	elif [ $rc -ne 1 ]; then
		fail "$name" "exit $rc, expected 1: $out"
	elif [ "$out" != "$expect" ]; then
		fail "$name" "printed '$out', expected '$expect'"
	else
		pass "$name"
	fi
}

if want layers:real-tree; then
	out=$(bash scripts/check-layers.sh 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [[ "$out" == "check-layers: "*" files, every include points down" ]]; then
		pass layers:real-tree
	else
		fail layers:real-tree "exit $rc: $(tr '\n' ' ' <<<"$out")"
	fi
fi

P="check-layers: src"
layers_case upward util/log.c '#include "vmm/vm.h"' \
	"$P/util/log.c:2: util includes \"vmm/vm.h\" (vmm): points up"
layers_case sideways arch/x86_64/cpuid.c '#include "devices/virtio/virtio_mmio.h"' \
	"$P/arch/x86_64/cpuid.c:2: arch includes \"devices/virtio/virtio_mmio.h\" (devices): points sideways"
# The cycle issue 9 broke: arch includes nothing of boot/ (boot may include layout.h only).
layers_case arch-to-boot arch/x86_64/arch.h '#include "boot/cmdline.h"' \
	"$P/arch/x86_64/arch.h:2: arch includes \"boot/cmdline.h\" (boot): points sideways"
layers_case boot-edge-is-one-header boot/loader.c '#include "arch/x86_64/arch.h"' \
	"$P/boot/loader.c:2: boot includes \"arch/x86_64/arch.h\" (arch): points sideways"
# <...> finds project headers too (-Isrc); a real system header is not checked.
layers_case angle-brackets core/bus.c $'#include <stdio.h>\n#  include <api/api.h>' \
	"$P/core/bus.c:3: core includes <api/api.h> (api): points up"
# "..." is looked up next to the including file first, as the compiler does.
layers_case relative-path arch/x86_64/pvm.c '#include "../../vmm/vm.h"' \
	"$P/arch/x86_64/pvm.c:2: arch includes \"../../vmm/vm.h\" -> src/vmm/vm.h (vmm): points up"
layers_case macro-include util/log.c '#include LOG_EXTRA_HEADER' \
	"$P/util/log.c:2: includes LOG_EXTRA_HEADER, a macro the check cannot follow"
layers_case no-layer stray.c '#include "util/log.h"' \
	"$P/stray.c: not in any layer of layers.txt"
# Comments hide includes from the compiler; a "/*" inside a string does not.
layers_case comments-ignored util/rate_limiter.c \
	$'/*\n#include "vmm/vm.h"\n */\n// #include "api/api.h"\n#include "util/log.h" /* "vmm/vm.h" */'
layers_case string-is-not-comment util/rate_limiter.c \
	$'static const char *const probe = "/*";\n#include "config/config.h" // */' \
	"$P/util/rate_limiter.c:3: util includes \"config/config.h\" (config): points up"

suite_end
