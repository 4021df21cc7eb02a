#!/usr/bin/env bash
# Checks that every #include of a project header under src/ points down the layer
# table (scripts/layers.txt): prints each include that points up or sideways, or
# at a header in no layer, with its file, line and header, and exits 1.
#   scripts/check-layers.sh [SRC_DIR] [TABLE]     (defaults: src, scripts/layers.txt)
# An include is what the compiler sees: comments are stripped first, "..." is
# looked up next to the including file and then in SRC_DIR (-Isrc), <...> in
# SRC_DIR only (anything else is a system header). tests/layers.sh tests this.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(realpath "${1:-$here/../src}")
table=${2:-$here/layers.txt}
declare -A rank=()
declare -A edge=()
while read -r kind a b _; do
	case $kind in
	'') ;;
	layer) rank[$a]=$b ;;
	edge) edge["$a $b"]=1 ;;
	*)
		echo "check-layers: $table: unknown line \"$kind $a $b\" (layer or edge)"
		exit 2
		;;
	esac
done < <(sed 's/#.*//' "$table")

layer_of() { # a path relative to src/ -> its layer ("" if none)
	case $1 in
	main.c) echo main ;;
	../*) echo "" ;;
	*/*) echo "${1%%/*}" ;;
	*) echo "" ;;
	esac
}

# Prints LINE<tab>KIND<tab>NAME for each #include in the file on stdin, with
# comments (block, line) removed and string and character literals skipped:
# KIND is q ("..."), a (<...>) or m (a macro: cannot be followed).
includes() {
	awk '
	{
		line = $0; out = ""; i = 1; n = length(line)
		while (i <= n) {
			if (incomment) {
				j = index(substr(line, i), "*/")
				if (j == 0) { i = n + 1; break }
				i += j + 1; incomment = 0; out = out " "; continue
			}
			two = substr(line, i, 2); ch = substr(line, i, 1)
			if (two == "/*") { incomment = 1; i += 2; continue }
			if (two == "//") break
			if (ch == "\"" || ch == "'\''") {
				j = i + 1
				while (j <= n && substr(line, j, 1) != ch) {
					if (substr(line, j, 1) == "\\") j++
					j++
				}
				out = out substr(line, i, j - i + 1); i = j + 1; continue
			}
			out = out ch; i++
		}
		if (match(out, /^[ \t]*#[ \t]*include[ \t]*/)) {
			rest = substr(out, RSTART + RLENGTH)
			if (match(rest, /^"[^"]*"/))
				printf "%d\tq\t%s\n", NR, substr(rest, 2, RLENGTH - 2)
			else if (match(rest, /^<[^>]*>/))
				printf "%d\ta\t%s\n", NR, substr(rest, 2, RLENGTH - 2)
			else
				printf "%d\tm\t%s\n", NR, rest
		}
	}'
}

bad=0 files=0
while IFS= read -r -d '' f; do
	rel=${f#"$src"/}
	dir=$(dirname "$f")
	from=$(layer_of "$rel")
	files=$((files + 1))
	if [ -z "$from" ] || [ -z "${rank[$from]:-}" ]; then
		echo "check-layers: src/$rel: not in any layer of $(basename "$table")"
		bad=1
		continue
	fi
	while IFS=$'\t' read -r line kind inc; do
		case $kind in
		q)
			shown="\"$inc\""
			# As the compiler looks: next to the including file first, then -Isrc.
			if [ -f "$dir/$inc" ]; then
				path=$(realpath -m --relative-to="$src" "$dir/$inc")
			else
				path=$(realpath -m --relative-to="$src" "$src/$inc")
			fi
			;;
		a)
			shown="<$inc>"
			[ -f "$src/$inc" ] || continue # a system header
			path=$(realpath -m --relative-to="$src" "$src/$inc")
			;;
		*)
			echo "check-layers: src/$rel:$line: includes $inc, a macro the check cannot follow"
			bad=1
			continue
			;;
		esac
		[ "$path" = "$inc" ] || shown="$shown -> src/$path"
		to=$(layer_of "$path")
		if [ -z "$to" ] || [ -z "${rank[$to]:-}" ]; then
			echo "check-layers: src/$rel:$line: includes $shown, which is in no layer"
			bad=1
		elif [ "$to" = "$from" ] || [ -n "${edge["$from $path"]:-}" ]; then
			:
		elif [ "${rank[$to]}" -ge "${rank[$from]}" ]; then
			direction=up
			[ "${rank[$to]}" -eq "${rank[$from]}" ] && direction=sideways
			echo "check-layers: src/$rel:$line: $from includes $shown ($to): points $direction"
			bad=1
		fi
	done < <(includes <"$f")
done < <(find "$src" \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
[ "$bad" -eq 0 ] && echo "check-layers: $files files, every include points down"
exit "$bad"
