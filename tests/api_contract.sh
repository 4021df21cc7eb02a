#!/usr/bin/env bash
# The API's contract: every operation of Firecracker's swagger file, called on ember's
# socket, answers a status the operation lists with a body its schema accepts, checked
# by jsonschema (tests/lib/swagger_contract.py; Debian's python3-jsonschema), not by a
# hand-written checker. Twice: before boot, then with a guest running (paused midway by
# the walk's own PATCH /vm). An operation ember does not serve yet answers 400 with an
# Error body, which the contract allows; no operation may answer outside it.
# Run by tests/run.sh, or on its own: bash tests/api_contract.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh

# contract_walk PHASE: the walk on $API_SOCK; its PASS/FAIL lines counted here.
contract_walk() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS:\ *) want "${line#PASS: }" && pass "${line#PASS: }" ;;
		FAIL:\ *)
			local rest=${line#FAIL: }
			want "${rest%%: *}" && fail "${rest%%: *}" "${rest#*: }"
			;;
		esac
	done < <("$CONTRACT_PY" "$ROOT/tests/lib/swagger_contract.py" "$SWAGGER" "$API_SOCK" "$1" "$TMP" 2>"$TMP/contract-$1.trace")
}

if want_group contract:; then
	CONTRACT_PY= CONTRACT_WHY="python3 cannot import jsonschema and yaml (scripts/install-deps.sh: python3-jsonschema, python3-yaml)"
	# Debian's python3 first where another python3 comes first on PATH (pyenv).
	for py in python3 /usr/bin/python3; do
		if command -v "$py" >/dev/null && "$py" -c 'import jsonschema, yaml' 2>/dev/null; then
			CONTRACT_PY=$py
			break
		fi
	done
	for tool in curl socat; do
		command -v $tool >/dev/null || CONTRACT_WHY="$tool is not installed (scripts/install-deps.sh)"
	done
	if [ -z "$CONTRACT_PY" ] || ! command -v curl >/dev/null; then
		skip contract: "$CONTRACT_WHY"
	else
		: >"$TMP/contract-kernel"
		if api_start contract-pre; then
			contract_walk pre-boot
			api_stop
		else
			fail contract:pre-boot "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		fi
		if [ "$KVM_OK" != 1 ]; then
			skip contract:running "$KVM_WHY"
		elif ! api_start contract-run; then
			fail contract:running "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
		else
			# uart_rx waits 10 s for console input: the walk runs while it waits.
			# 32 MiB: the walk's PUT /snapshot/create writes the guest's memory to $TMP.
			if expect_api contract:running PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/uart_rx.elf\"}" 204 '^$' &&
				expect_api contract:running PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 32}' 204 '^$' &&
				expect_api contract:running PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
				contract_walk running
			fi
			api_stop
		fi
	fi
fi

suite_end
