#!/usr/bin/env bash
# MMDS through the API and the command line, end to end on ember's socket (no VM):
# PUT /mmds/config and its refusals, the data store (PUT, PATCH as RFC 7396, GET),
# --mmds-size-limit, --metadata, mmds-config in --config-file, the metrics group; and
# MMDS's endpoint serving the host's own TCP/IP stack on a TAP (mmds:host-stack); a
# snapshot keeps MMDS's configuration, not its store (mmds:snapshot).
# The guest's side (a token, metadata over virtio-net) is boot C of tests/linux.sh;
# the frames and the HTTP answers are unit tests (test_mmds_stack, test_mmds_imds).
# Run by tests/run.sh, or on its own: bash tests/mmds.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh

NET0='{"iface_id": "eth0", "host_dev_name": "embtap9"}'

if want_group mmds: && ! command -v curl >/dev/null; then
	skip mmds: "curl is not installed (scripts/install-deps.sh)"
elif want_group mmds:api; then
	if ! api_start mmds; then
		fail mmds:api-start "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		want mmds:api-config &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": ["eth0"]}' 400 \
				'mmds-config.network_interfaces\[0\]: no network interface \\"eth0\\"' &&
			expect_api mmds:api-config PUT /network-interfaces/eth0 "$NET0" 204 '^$' &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": []}' 400 'is empty' &&
			expect_api mmds:api-config PUT /mmds/config '{"version": "V2"}' 400 \
				'missing required key \\"network_interfaces\\"' &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": ["eth0"], "ipv4_address": "169.254.0.1"}' 400 \
				'ipv4_address: 169.254.0.1 is not a link-local address' &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": ["eth0"], "mode": 1}' 400 \
				'unknown key \\"mode\\"' &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": ' 400 'invalid JSON' &&
			expect_api mmds:api-config PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V2", "ipv4_address": "169.254.170.2", "imds_compat": true}' 204 '^$' &&
			expect_api mmds:api-config GET /vm/config - 200 \
				'"mmds-config":\{"version":"V2","network_interfaces":\["eth0"\],"ipv4_address":"169.254.170.2","imds_compat":true\}' &&
			pass mmds:api-config
		want mmds:api-store &&
			expect_api mmds:api-store GET /mmds - 200 '^\{\}$' &&
			expect_api mmds:api-store PATCH /mmds '{"a": 1}' 400 'The MMDS data store is not initialized.' &&
			expect_api mmds:api-store PUT /mmds '{"latest": {"meta-data": {"id": "i-1", "tags": {"a": "1", "b": "2"}}}}' 204 '^$' &&
			expect_api mmds:api-store PATCH /mmds '{"latest": {"meta-data": {"tags": {"a": null, "c": "3"}}}}' 204 '^$' &&
			expect_api mmds:api-store GET /mmds - 200 \
				'^\{"latest":\{"meta-data":\{"id":"i-1","tags":\{"b":"2","c":"3"\}\}\}\}$' &&
			expect_api mmds:api-store PUT /mmds '{"latest": ' 400 'PUT /mmds: invalid JSON' &&
			expect_api mmds:api-store PUT /mmds '["text"]' 400 'must be a JSON object' &&
			expect_api mmds:api-store PUT /mmds - 400 'Empty PUT request.' &&
			expect_api mmds:api-store GET /mmds - 200 '"id":"i-1"' &&
			pass mmds:api-store
		want mmds:metrics &&
			expect_api mmds:metrics PUT /metrics "{\"metrics_path\": \"$TMP/mmds-metrics.json\"}" 204 '^$' &&
			expect_api mmds:metrics PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$' &&
			if grep -q '"mmds":{"rx_accepted":0,"rx_accepted_err":0,"rx_accepted_unusual":0,"rx_bad_eth":0,"rx_invalid_token":0,"rx_no_token":0,"rx_count":0,"tx_bytes":0,"tx_count":0,"tx_errors":0,"tx_frames":0,"connections_created":0,"connections_destroyed":0}' "$TMP/mmds-metrics.json"; then
				pass mmds:metrics
			else
				fail mmds:metrics "no mmds group in: $(tail -c 300 "$TMP/mmds-metrics.json")"
			fi
		api_stop
	fi
fi

# --mmds-size-limit: PUT and PATCH that would make the store larger are refused whole.
if want mmds:size-limit; then
	if ! api_start mmds-limit --mmds-size-limit 40; then
		fail mmds:size-limit "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		expect_api mmds:size-limit PUT /mmds '{"k": "0123456789012345678901234567890123456789"}' 400 \
			'would take 48 bytes, over its limit of 40' &&
			expect_api mmds:size-limit PUT /mmds '{"k": "v"}' 204 '^$' &&
			expect_api mmds:size-limit PATCH /mmds '{"l": "0123456789012345678901234567890"}' 400 \
				'over its limit of 40' &&
			expect_api mmds:size-limit GET /mmds - 200 '^\{"k":"v"\}$' &&
			pass mmds:size-limit
		api_stop
	fi
fi

# --metadata FILE: the store before anything else; a file that is not a JSON object is refused.
if want mmds:metadata-flag; then
	printf '%s\n' '{"latest": {"user-data": "hello"}}' >"$TMP/mmds-meta.json"
	printf '%s\n' '[1, 2]' >"$TMP/mmds-bad.json"
	if ! api_start mmds-meta --metadata "$TMP/mmds-meta.json"; then
		fail mmds:metadata-flag "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		expect_api mmds:metadata-flag GET /mmds - 200 '^\{"latest":\{"user-data":"hello"\}\}$' &&
			ok=1
		api_stop
		"$EMBER" --api-sock "$TMP/mmds-bad.sock" --metadata "$TMP/mmds-bad.json" </dev/null \
			>"$TMP/mmds-bad.out" 2>&1
		rc=$?
		if [ "${ok:-0}" = 1 ] && [ $rc = 152 ] &&
			grep -q -- "--metadata $TMP/mmds-bad.json: PUT /mmds: the MMDS data store must be a JSON object" "$TMP/mmds-bad.out"; then
			pass mmds:metadata-flag
		elif [ "${ok:-0}" = 1 ]; then
			fail mmds:metadata-flag "a bad --metadata file: exit $rc, $(tail -n 2 "$TMP/mmds-bad.out" | tr '\n' ' ')"
		fi
	fi
fi

# mmds-config in a configuration file: an interface that is not configured is refused
# before anything boots (exit 152, the key and the id named).
if want mmds:config-file; then
	printf '%s\n' "{\"boot-source\": {\"kernel_image_path\": \"$ROOT/build/guests/hello.elf\"},
	  \"network-interfaces\": [$NET0],
	  \"mmds-config\": {\"network_interfaces\": [\"eth1\"]}}" >"$TMP/mmds-cfg.json"
	"$EMBER" --no-api --config-file "$TMP/mmds-cfg.json" </dev/null >"$TMP/mmds-cfg.out" 2>&1
	rc=$?
	if [ $rc = 152 ] && grep -q 'mmds-config.network_interfaces\[0\]: no network interface "eth1"' "$TMP/mmds-cfg.out"; then
		pass mmds:config-file
	else
		fail mmds:config-file "exit $rc: $(tail -n 2 "$TMP/mmds-cfg.out" | tr '\n' ' ')"
	fi
fi

# MMDS's endpoint on a TAP in a namespace of its own (build/tools/mmds_tap), the host's
# TCP/IP stack playing the guest with curl: a V2 token, a listing, JSON, a 24 KiB value
# in many segments, 401 without a token, a reset on port 81, 20 clients at once.
mmds_host_stack() {
	local ns=ember-mmds-$$ tap=embmmds0 tok big got codes
	if ! why=$(netns_tap_add "$ns" "$tap" 10.9.0.1/24) ||
		! ip -n "$ns" route add 169.254.169.254/32 dev "$tap"; then
		fail mmds:host-stack "$why"
		return
	fi
	big=$(head -c 18432 /dev/urandom | base64 -w0)
	printf '{"latest": {"meta-data": {"id": "i-1", "net": {"mac": "aa"}, "big": "%s"}}}' "$big" \
		>"$TMP/mmds-tap.json"
	ip netns exec "$ns" build/tools/mmds_tap "$tap" V2 "$TMP/mmds-tap.json" 20 >"$TMP/mmds-tap.out" 2>&1 &
	local pid=$!
	for _ in $(seq 50); do
		grep -q ready "$TMP/mmds-tap.out" && break
		sleep 0.1
	done
	c() { ip netns exec "$ns" curl -s -m 5 "$@"; }
	tok=$(c -X PUT -H 'X-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token)
	got="$(c -H "X-metadata-token: $tok" http://169.254.169.254/latest/meta-data/ | tr '\n' ,)"
	got+=" $(c -H "X-metadata-token: $tok" -H 'Accept: application/json' http://169.254.169.254/latest/meta-data/net)"
	got+=" $(c -o /dev/null -w '%{http_code}' http://169.254.169.254/latest/meta-data/id)"
	got+=" $(c -o /dev/null -w '%{http_code}' http://169.254.169.254:81/)"
	if [ "$(c -H "X-metadata-token: $tok" http://169.254.169.254/latest/meta-data/big)" = "$big" ]; then
		got+=" big-ok"
	fi
	codes=$(for i in $(seq 20); do
		c -o /dev/null -w '%{http_code}\n' -H "X-metadata-token: $tok" \
			http://169.254.169.254/latest/meta-data/id &
	done | sort | uniq -c | tr -s ' ')
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	if [ "$got" = 'big,id,net/ {"mac": "aa"} 401 000 big-ok' ] && [ "$codes" = ' 20 200' ]; then
		pass mmds:host-stack
	else
		fail mmds:host-stack "got '$got', 20 clients: '$codes'; $(tail -n 2 "$TMP/mmds-tap.out" | tr '\n' ' ')"
	fi
}

# ms_ember NS NAME: ember serving $TMP/NAME.sock inside the namespace NS (its TAPs are
# there); sets API_SOCK and MS_PID.
ms_ember() {
	API_SOCK=$TMP/$2.sock
	ip netns exec "$1" "$EMBER" --api-sock "$API_SOCK" </dev/null >"$TMP/$2.out" 2>&1 &
	MS_PID=$!
	for _ in $(seq 200); do
		[ -S "$API_SOCK" ] && return 0
		sleep 0.01
	done
	return 1
}

ms_stop() {
	kill -TERM "$MS_PID" 2>/dev/null
	wait "$MS_PID" 2>/dev/null
}

# A snapshot keeps MMDS's configuration and not its store (as Firecracker's): a paused
# VM with MMDS V2 on eth0 is snapshotted, a new process loads it.
mmds_snapshot() {
	local ns=ember-mmdss-$$ tap=embmmds1 n=mmds:snapshot st=$TMP/mmds-snap.state mem=$TMP/mmds-snap.mem
	if ! why=$(netns_tap_add "$ns" "$tap"); then
		fail $n "$why"
		ip netns del "$ns" 2>/dev/null
		return
	fi
	if ! ms_ember "$ns" mmds-snap1; then
		fail $n "ember did not start: $(tail -n 2 "$TMP/mmds-snap1.out" | tr '\n' ' ')"
	elif expect_api $n PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/uart_rx.elf\"}" 204 '^$' &&
		expect_api $n PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$tap\"}" 204 '^$' &&
		expect_api $n PUT /mmds/config '{"network_interfaces": ["eth0"], "version": "V2", "ipv4_address": "169.254.170.2", "imds_compat": true}' 204 '^$' &&
		expect_api $n PUT /mmds '{"secret": "not-in-snapshots"}' 204 '^$' &&
		expect_api $n PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
		expect_api $n PATCH /vm '{"state": "Paused"}' 204 '^$' &&
		expect_api $n PUT /snapshot/create "{\"snapshot_path\": \"$st\", \"mem_file_path\": \"$mem\"}" 204 '^$'; then
		ms_stop
		if ! ms_ember "$ns" mmds-snap2; then
			fail $n "the second ember did not start"
		elif expect_api $n PUT /snapshot/load "{\"snapshot_path\": \"$st\", \"mem_backend\": {\"backend_type\": \"File\", \"backend_path\": \"$mem\"}}" 204 '^$' &&
			expect_api $n GET /vm/config - 200 \
				'"mmds-config":\{"version":"V2","network_interfaces":\["eth0"\],"ipv4_address":"169.254.170.2","imds_compat":true\}' &&
			expect_api $n GET /mmds - 200 '^\{\}$'; then
			pass $n
		fi
	fi
	ms_stop
	ip netns del "$ns" 2>/dev/null
	rm -f "$st" "$mem"
}

if want mmds:snapshot; then
	# shellcheck source=scripts/lib/netns.sh
	source "$ROOT/scripts/lib/netns.sh"
	why=$(netns_unavailable)
	if [ -n "$why" ]; then
		skip mmds:snapshot "$why"
	elif [ "$KVM_OK" = 0 ]; then
		skip mmds:snapshot "$KVM_WHY"
	elif [ ! -f "$ROOT/build/guests/uart_rx.elf" ]; then
		skip mmds:snapshot "no build/guests/uart_rx.elf (make guests)"
	else
		mmds_snapshot
	fi
fi

if want mmds:host-stack; then
	# shellcheck source=scripts/lib/netns.sh
	source "$ROOT/scripts/lib/netns.sh"
	why=$(netns_unavailable)
	if [ -n "$why" ]; then
		skip mmds:host-stack "$why"
	elif ! make -s build/tools/mmds_tap >"$TMP/mmds-tap.build" 2>&1; then
		fail mmds:host-stack "build: $(tail -n 3 "$TMP/mmds-tap.build" | tr '\n' ' ')"
	else
		mmds_host_stack
	fi
fi

suite_end
