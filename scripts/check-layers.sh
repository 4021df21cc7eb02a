#!/usr/bin/env bash
# Checks that every #include "..." under src/ points down the layer table
# (scripts/layers.txt): prints each include that points up or sideways and exits 1.
#   scripts/check-layers.sh [SRC_DIR] [TABLE]     (defaults: src, scripts/layers.txt)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${1:-$here/../src}
table=${2:-$here/layers.txt}
declare -A rank=()
declare -A edge=()
while read -r kind a b _; do
	case $kind in
	layer) rank[$a]=$b ;;
	edge) edge["$a $b"]=1 ;;
	esac
done < <(sed 's/#.*//' "$table")

layer_of() { # a path relative to src/ -> its layer ("" if none)
	case $1 in
	main.c) echo main ;;
	*/*) echo "${1%%/*}" ;;
	*) echo "" ;;
	esac
}

bad=0 files=0
while IFS= read -r -d '' f; do
	rel=${f#"$src"/}
	from=$(layer_of "$rel")
	files=$((files + 1))
	if [ -z "$from" ] || [ -z "${rank[$from]:-}" ]; then
		echo "check-layers: src/$rel: not in any layer of $(basename "$table")"
		bad=1
		continue
	fi
	while IFS=: read -r line inc; do
		to=$(layer_of "$inc")
		if [ -z "$to" ] || [ -z "${rank[$to]:-}" ]; then
			echo "check-layers: src/$rel:$line: includes \"$inc\", which is in no layer"
			bad=1
		elif [ "$to" = "$from" ] || [ -n "${edge["$from $inc"]:-}" ]; then
			:
		elif [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
			dir=up; [ "${rank[$to]}" -eq "${rank[$from]}" ] && dir=sideways
			echo "check-layers: src/$rel:$line: $from includes \"$inc\" ($to): points $dir"
			bad=1
		fi
	done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
		sed 's/^\([0-9]*\):[^"]*"\([^"]*\)".*/\1:\2/')
done < <(find "$src" \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
[ "$bad" -eq 0 ] && echo "check-layers: $files files, every include points down"
exit "$bad"
