#!/usr/bin/env bash
# Metrics through the API and the command line, one JSON line per flush, counters
# as deltas since the previous line.
# Run by tests/run.sh, or on its own: bash tests/metrics.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh

# metrics_line FILE N KEY.PATH: prints that value of line N (1-based).
metrics_value() {
	python3 -c 'import json,sys
line = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1]
v = json.loads(line)
for k in sys.argv[3].split("."):
    v = v[k]
print(v)' "$@" 2>/dev/null
}

if want metrics:api; then
	m=$TMP/api-metrics.json
	rm -f "$m"
	if ! api_start metrics; then
		fail metrics:api "ember did not come up: $(tail -n 3 "$TMP/metrics.err" | tr '\n' ' ')"
	else
		ok=1
		expect_api metrics:api PUT /actions '{"action_type": "FlushMetrics"}' 400 \
			'not configured' || ok=0
		expect_api metrics:api PUT /metrics '{"metrics_path": 7}' 400 \
			'metrics.metrics_path: expected a string' || ok=0
		expect_api metrics:api PUT /metrics "{\"metrics_path\": \"$m\", \"emit_id\": true, \"properties\": {\"team\": \"ember\"}}" 204 '^$' || ok=0
		expect_api metrics:api PUT /metrics "{\"metrics_path\": \"$m\"}" 400 'already configured' || ok=0
		expect_api metrics:api PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$' || ok=0
		expect_api metrics:api GET / - 200 'Not started' || ok=0
		expect_api metrics:api PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$' || ok=0
		api_stop
		# A request is counted once answered, so a line never includes the flush
		# that wrote it. Line 1: the 4 requests before the first flush (3 refused).
		# Line 2, a delta: that flush and GET /. Line 3, at exit: the second flush.
		if [ $ok = 1 ]; then
			l1=$(metrics_value "$m" 1 api_server.requests)
			f1=$(metrics_value "$m" 1 api_server.request_fails)
			l2=$(metrics_value "$m" 2 api_server.requests)
			l3=$(metrics_value "$m" 3 api_server.requests)
			id=$(metrics_value "$m" 1 id)
			team=$(metrics_value "$m" 2 properties.team)
			lines=$(wc -l <"$m")
			if [ "$RC" != $KILLED_BY_TERM ]; then
				fail metrics:api "ember exited $RC after SIGTERM"
			elif [ "$lines" != 3 ] || [ "$l1" != 4 ] || [ "$f1" != 3 ] || [ "$l2" != 2 ] ||
				[ "$l3" != 1 ] || [ "$id" != anonymous-instance ] || [ "$team" != ember ]; then
				fail metrics:api "lines $lines, requests $l1/$l2/$l3, fails $f1, id '$id', team '$team': $(head -c 300 "$m")"
			else
				pass metrics:api
			fi
		fi
	fi
fi

if want metrics:vm && [ $KVM_OK = 1 ] && [ -f "$ROOT/build/guests/virtio_rng.elf" ]; then
	m=$TMP/vm-metrics.json
	rm -f "$m"
	cat >"$TMP/metrics-vm.json" <<JSON
{ "boot-source": { "kernel_image_path": "$ROOT/build/guests/virtio_rng.elf" },
  "machine-config": { "vcpu_count": 1, "mem_size_mib": 64 }, "entropy": {},
  "metrics": { "metrics_path": "$m" } }
JSON
	timeout 30 "$EMBER" --no-api --config-file "$TMP/metrics-vm.json" </dev/null >"$TMP/metrics-vm.out" 2>&1
	rc=$?
	bytes=$(metrics_value "$m" 1 entropy.entropy_bytes)
	resets=$(metrics_value "$m" 1 i8042.reset_count)
	outs=$(metrics_value "$m" 1 vcpu.exit_io_out)
	written=$(metrics_value "$m" 1 uart.write_count)
	if [ $rc != 0 ]; then
		fail metrics:vm "exit $rc: $(tail -n 3 "$TMP/metrics-vm.out" | tr '\n' ' ')"
	elif [ "$bytes" != 64 ] || [ "$resets" != 1 ] || [ -z "$outs" ] || [ "$outs" -lt "${written:-1}" ]; then
		fail metrics:vm "entropy_bytes '$bytes', reset_count '$resets', exit_io_out '$outs', uart.write_count '$written'"
	else
		pass metrics:vm
	fi
fi

suite_end
