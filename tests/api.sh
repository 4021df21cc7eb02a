#!/usr/bin/env bash
# The REST API end to end, with curl and socat on the Unix socket. Guests print to
# ember's stdout, its log goes to stderr.
# Run by tests/run.sh, or on its own: bash tests/api.sh [FILTER]

# shellcheck source=tests/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=tests/lib/api.sh
source tests/lib/api.sh
# shellcheck source=tests/lib/vm.sh
source tests/lib/vm.sh
# shellcheck source=tests/lib/net.sh
source tests/lib/net.sh
# shellcheck source=tests/lib/vsock.sh
source tests/lib/vsock.sh
# shellcheck source=tests/lib/fuzz.sh
source tests/lib/fuzz.sh

API_TOOLS=1
for tool in curl socat; do
	command -v $tool >/dev/null || { API_TOOLS=0 API_WHY="$tool is not installed (scripts/install-deps.sh)"; }
done

# --- the server alone (no VM: these run without /dev/kvm too) ---
if want_group api: && [ $API_TOOLS = 0 ]; then
	skip api: "$API_WHY"
elif want_group api:server; then
	if ! api_start server; then
		fail api:server-start "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		# Firecracker's version where clients read it (the swagger's: the API ember
		# implements), ember's own in app_name.
		want api:server-instance-info &&
			expect_api api:server-instance-info GET / - 200 \
				"^\\{\"id\":\"anonymous-instance\",\"state\":\"Not started\",\"vmm_version\":\"${SWAGGER_VERSION//./\\.}\",\"app_name\":\"ember v[0-9]+\\.[0-9]+\\.[0-9]+\"\\}\$" &&
			pass api:server-instance-info
		want api:server-version &&
			expect_api api:server-version GET /version - 200 "^\\{\"firecracker_version\":\"${SWAGGER_VERSION//./\\.}\"\\}\$" &&
			pass api:server-version
		want api:server-unknown-path &&
			expect_api api:server-unknown-path GET /nope - 400 \
				'^\{"fault_message":"Invalid request method and/or path: GET /nope."\}$' &&
			expect_api api:server-unknown-path DELETE / - 400 'Invalid request method and/or path: DELETE /' &&
			pass api:server-unknown-path
		want api:server-not-yet &&
			expect_api api:server-not-yet PUT /drives/v '{"drive_id": "v", "is_root_device": false, "socket": "/s"}' 400 \
				'vhost-user block devices are not supported yet' &&
			pass api:server-not-yet
		want api:server-bad-body &&
			expect_api api:server-bad-body PUT /machine-config '{"vcpu_count": 64, "mem_size_mib": 128}' 400 \
				'machine-config.vcpu_count: 64 is out of range \(1 to 32\)' &&
			expect_api api:server-bad-body PUT /boot-source '{"kernel_image_path": "/k", "x": 1}' 400 \
				'boot-source: unknown key \\"x\\"' &&
			expect_api api:server-bad-body PUT /actions - 400 'Empty PUT request.' &&
			pass api:server-bad-body

		# Several requests on one keep-alive connection (curl reuses it), answered in order.
		if want api:server-keep-alive; then
			out=$(curl -sv --max-time 10 --unix-socket "$API_SOCK" http://localhost/ \
				http://localhost/version http://localhost/machine-config 2>&1)
			conns=$(grep -c '^\* .*Connected to' <<<"$out")
			order=$(grep -o '"state"\|"firecracker_version"\|"vcpu_count"' <<<"$out" | tr '\n' ' ')
			if [ "$conns" != 1 ] || ! grep -q 'Re-using existing connection' <<<"$out"; then
				fail api:server-keep-alive "expected one connection, reused: $(grep '^\*' <<<"$out" | tr '\n' ' ')"
			elif [ "$order" != '"state" "firecracker_version" "vcpu_count" ' ]; then
				fail api:server-keep-alive "answers out of order: $order"
			else
				pass api:server-keep-alive
			fi
		fi

		# Pipelined: three requests in one write, the answers in order, then closed.
		if want api:server-pipelining; then
			out=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\nPATCH /machine-config HTTP/1.1\r\nContent-Length: 18\r\n\r\n{"vcpu_count": 2}\nGET /machine-config HTTP/1.1\r\nConnection: close\r\n\r\n' | raw_http | tr -d '\r')
			order=$(grep -o 'HTTP/1.1 [0-9]*\|"state"\|"vcpu_count":[0-9]' <<<"$out" | tr '\n' ' ')
			if [ "$order" != 'HTTP/1.1 200 "state" HTTP/1.1 204 HTTP/1.1 200 "vcpu_count":2 ' ]; then
				fail api:server-pipelining "got: $order"
			else
				pass api:server-pipelining
			fi
			api_req PATCH /machine-config '{"vcpu_count": 1}'
		fi

		# A body over --http-api-max-payload-size (51200 by default): 400, Firecracker's words.
		if want api:server-oversize-body; then
			big=$(head -c 51201 /dev/zero | tr '\0' ' ')
			expect_api api:server-oversize-body PUT /boot-source "$big" 400 \
				'^\{"fault_message":"Request payload with size 51201 is larger than the limit of 51200 allowed by server."\}$' &&
				expect_api api:server-oversize-body PUT /boot-source "${big:0:51100}{}" 400 \
					'boot-source: missing required key' &&
				pass api:server-oversize-body
		fi

		# Malformed HTTP: an error status, the connection closed (socat returns), the server goes on.
		# Any protocol but HTTP/1.0 and HTTP/1.1 is refused, as Firecracker does (HTTX/1.1 too).
		if want api:server-malformed; then
			ok=1
			for junk in 'GARBAGE\r\n\r\n' 'GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n' \
				'GET / HTTP/7.0\r\n\r\n' 'PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n' \
				'GET / HTTX/1.1\r\n\r\n' 'GET /version HTTP/1.2\r\nHost: x\r\n\r\n'; do
				start=$SECONDS
				# shellcheck disable=SC2059 # the escapes in $junk are meant
				out=$(printf "$junk" | raw_http)
				if ! grep -q '^HTTP/1.1 400 Bad Request' <<<"$out" || ! grep -q 'Connection: close' <<<"$out" ||
					! grep -q '"fault_message":"Malformed HTTP request' <<<"$out"; then
					fail api:server-malformed "for $junk: $(tr '\r\n' '  ' <<<"$out")"
					ok=0
					break
				elif [ $((SECONDS - start)) -gt 1 ]; then
					fail api:server-malformed "for $junk: the connection was not closed"
					ok=0
					break
				fi
			done
			head -c 4096 /dev/urandom | raw_http >/dev/null
			[ $ok = 1 ] && expect_api api:server-malformed GET / - 200 'Not started' && pass api:server-malformed
		fi

		# Clients that leave mid-request, or connect and say nothing: the server goes on.
		if want api:server-client-leaves; then
			printf 'PUT /boot-source HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"kern' | timeout 5 socat -t 0.2 - "UNIX-CONNECT:$API_SOCK" >/dev/null 2>&1
			printf 'GET /ver' | timeout 5 socat -t 0.2 - "UNIX-CONNECT:$API_SOCK" >/dev/null 2>&1
			timeout 5 socat -u /dev/null "UNIX-CONNECT:$API_SOCK" 2>/dev/null
			# Nothing configured yet: no boot-source, and no null (the swagger has none).
			if expect_api api:server-client-leaves GET / - 200 'Not started' &&
				expect_api api:server-client-leaves GET /vm/config - 200 '^\{"machine-config":\{"vcpu_count":1,'; then
				if grep -q 'boot-source\|null' <<<"$RESP"; then
					fail api:server-client-leaves "GET /vm/config before PUT /boot-source: $RESP"
				else
					pass api:server-client-leaves
				fi
			fi
		fi

		# A second ember on the same socket is refused with one line; the first one goes on.
		if want api:server-second-refused; then
			"$EMBER" --api-sock "$API_SOCK" </dev/null >"$TMP/second.out" 2>&1
			rc=$?
			if [ $rc -eq 0 ] || [ "$(grep -c . "$TMP/second.out")" -ne 1 ] ||
				! grep -q "API socket $API_SOCK: another process is serving it" "$TMP/second.out"; then
				fail api:server-second-refused "exit $rc: $(tr '\n' '|' <"$TMP/second.out")"
			else
				expect_api api:server-second-refused GET / - 200 'Not started' && pass api:server-second-refused
			fi
		fi

		# SIGTERM before any VM: killed by it (as Firecracker is), the socket file removed.
		api_stop
		if want api:server-sigterm; then
			if [ $RC -ne $KILLED_BY_TERM ]; then
				fail api:server-sigterm "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			elif [ -e "$API_SOCK" ]; then
				fail api:server-sigterm "the socket file $API_SOCK is still there"
			else
				pass api:server-sigterm
			fi
		fi
	fi
fi

# --- what the GETs answer, checked against the swagger file's definitions as strictly as
# Firecracker's clients read them (tests/lib/swagger_check.py): every key in the schema,
# the right types, nothing null. Before any configuration, then with every object set. ---
if want api:schema && [ $API_TOOLS = 1 ]; then
	why=$(python3 "$ROOT/tests/lib/swagger_check.py" "$SWAGGER" FirecrackerVersion <<<'{"firecracker_version": "1"}')
	if [ $? = 2 ]; then
		skip api:schema "$why"
	elif ! api_start schema; then
		fail api:schema "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		# schema_get PATH DEFINITION: the GET's body checked; false (and fail) if it is not.
		schema_get() {
			local problems
			api_req GET "$1"
			if [ "$CODE" != 200 ]; then
				fail api:schema "GET $1: status $CODE: $RESP"
				return 1
			fi
			if ! problems=$(python3 "$ROOT/tests/lib/swagger_check.py" "$SWAGGER" "$2" <<<"$RESP"); then
				fail api:schema "GET $1 as $2: $(tr '\n' ';' <<<"$problems") in $RESP"
				return 1
			fi
		}
		: >"$TMP/schema-kernel"
		: >"$TMP/schema-initrd"
		: >"$TMP/schema-root.img"
		: >"$TMP/schema-data.img"
		rl='{"bandwidth": {"size": 1000, "refill_time": 100}, "ops": {"size": 10, "one_time_burst": 5, "refill_time": 100}}'
		schema_get / InstanceInfo && schema_get /version FirecrackerVersion &&
			schema_get /machine-config MachineConfiguration &&
			schema_get /vm/config FullVmConfiguration &&
			expect_api api:schema PUT /boot-source "{\"kernel_image_path\": \"$TMP/schema-kernel\", \"initrd_path\": \"$TMP/schema-initrd\"}" 204 '^$' &&
			schema_get /vm/config FullVmConfiguration &&
			expect_api api:schema PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 256, "smt": false, "track_dirty_pages": true, "huge_pages": "None"}' 204 '^$' &&
			expect_api api:schema PUT /drives/root "{\"drive_id\": \"root\", \"path_on_host\": \"$TMP/schema-root.img\", \"is_root_device\": true, \"partuuid\": \"0eaa91a0-01\", \"cache_type\": \"Writeback\", \"io_engine\": \"Async\", \"rate_limiter\": $rl}" 204 '^$' &&
			expect_api api:schema PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/schema-data.img\", \"is_root_device\": false}" 204 '^$' &&
			expect_api api:schema PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"embtap9\", \"guest_mac\": \"06:00:ac:10:00:02\", \"mtu\": 1500, \"rx_rate_limiter\": $rl}" 204 '^$' &&
			expect_api api:schema PUT /network-interfaces/eth1 '{"iface_id": "eth1", "host_dev_name": "embtap8"}' 204 '^$' &&
			expect_api api:schema PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/schema-vsock.sock\"}" 204 '^$' &&
			expect_api api:schema PUT /balloon '{"amount_mib": 16, "deflate_on_oom": true, "stats_polling_interval_s": 1}' 204 '^$' &&
			expect_api api:schema PUT /entropy "{\"rate_limiter\": $rl}" 204 '^$' &&
			expect_api api:schema PUT /logger "{\"log_path\": \"$TMP/schema.log\", \"level\": \"Debug\", \"show_level\": true, \"module\": \"vmm\"}" 204 '^$' &&
			expect_api api:schema PUT /cpu-config '{"kvm_capabilities": ["!56"], "cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0, "modifiers": [{"register": "ecx", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0x"}]}], "msr_modifiers": [{"addr": "0x1a0", "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx1"}]}' 204 '^$' &&
			expect_api api:schema PUT /metrics "{\"metrics_path\": \"$TMP/schema-metrics.json\", \"emit_id\": true, \"properties\": {\"team\": \"ember\"}}" 204 '^$' &&
			schema_get /vm/config FullVmConfiguration &&
			schema_get /machine-config MachineConfiguration &&
			schema_get /balloon Balloon &&
			pass api:schema
		api_stop
	fi
fi

# --- the log and metrics FIFOs as firecracker-go-sdk and firectl make them: created before
# ember opens them, read later (the SDK's readers) or never. PUT /logger and PUT /metrics
# must work without a reader; what does not fit is dropped a whole line at a time, and
# ember never waits on a pipe. ---
if want api:fifo-read-later && [ $API_TOOLS = 1 ]; then
	rm -f "$TMP/sdk-log.fifo" "$TMP/sdk-metrics.fifo"
	mkfifo "$TMP/sdk-log.fifo" "$TMP/sdk-metrics.fifo"
	ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{9}'
	if ! api_start fifo; then
		fail api:fifo-read-later "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		if expect_api api:fifo-read-later PUT /logger "{\"log_path\": \"$TMP/sdk-log.fifo\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}" 204 '^$' &&
			expect_api api:fifo-read-later PUT /metrics "{\"metrics_path\": \"$TMP/sdk-metrics.fifo\"}" 204 '^$' &&
			expect_api api:fifo-read-later PUT /machine-config '{"vcpu_count": 99, "mem_size_mib": 64}' 400 'vcpu_count' &&
			expect_api api:fifo-read-later PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$'; then
			log=$(fifo_drain "$TMP/sdk-log.fifo")
			metrics=$(fifo_drain "$TMP/sdk-metrics.fifo")
			requests=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1].splitlines()[0])["api_server"]["requests"])' "$metrics" 2>&1)
			if ! head -n 1 <<<"$log" | grep -Eq "^$ts \[anonymous-instance:main:INFO:[^]]+\] Running Firecracker v${SWAGGER_VERSION//./\\.} "; then
				fail api:fifo-read-later "the log's first line: $(head -n 1 <<<"$log")"
			elif ! grep -Eq "^$ts \[anonymous-instance:fc_api:INFO:src/api/api\.c:[0-9]+\] API: PUT /machine-config: 400: " <<<"$log"; then
				fail api:fifo-read-later "no fc_api line for the refused request: $(tr '\n' '|' <<<"$log" | head -c 400)"
			elif [ "$requests" != 3 ]; then
				fail api:fifo-read-later "metrics line: api_server.requests '$requests': $(head -c 300 <<<"$metrics")"
			else
				pass api:fifo-read-later
			fi
		fi
		api_stop
	fi
fi
if want api:fifo-never-read && [ $API_TOOLS = 1 ]; then
	rm -f "$TMP/never-log.fifo" "$TMP/never-metrics.fifo"
	mkfifo "$TMP/never-log.fifo" "$TMP/never-metrics.fifo"
	if ! api_start fifonever; then
		fail api:fifo-never-read "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		if expect_api api:fifo-never-read PUT /logger "{\"log_path\": \"$TMP/never-log.fifo\", \"level\": \"Info\"}" 204 '^$' &&
			expect_api api:fifo-never-read PUT /metrics "{\"metrics_path\": \"$TMP/never-metrics.fifo\"}" 204 '^$'; then
			# Each refused request logs a line (~150 bytes): 1000 of them overfill the 64 KiB pipe.
			big=$(for i in $(seq 1000); do printf 'GET /no-such-path-%04d HTTP/1.1\r\nHost: x\r\n\r\n' "$i"; done)
			start=$SECONDS
			printf '%sGET / HTTP/1.1\r\nConnection: close\r\n\r\n' "$big" | raw_http >"$TMP/never.out"
			answers=$(grep -o 'HTTP/1.1 [0-9]* ' "$TMP/never.out" | wc -l)
			if [ "$answers" != 1001 ] || [ $((SECONDS - start)) -gt 5 ]; then
				fail api:fifo-never-read "$answers answers of 1001 in $((SECONDS - start)) s"
			elif expect_api api:fifo-never-read GET / - 200 'Not started' &&
				expect_api api:fifo-never-read PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$'; then
				# A reader at last (the data goes with ember): whole lines only, the
				# first ones first; the lines dropped are counted in the metrics.
				log=$(fifo_drain "$TMP/never-log.fifo")
				missed=$(fifo_drain "$TMP/never-metrics.fifo" | python3 -c 'import json, sys; print(json.loads(sys.stdin.readline())["logger"]["missed_log_count"])' 2>&1)
				if ! head -n 1 <<<"$log" | grep -q 'Running Firecracker v' ||
					grep -vE '^[0-9]{4}-[^ ]+ \[anonymous-instance:(main|fc_api)\] ' <<<"$log" | grep -q .; then
					fail api:fifo-never-read "the FIFO holds something other than whole lines: $(head -c 300 <<<"$log")"
				elif ! [[ "$missed" =~ ^[0-9]+$ ]] || [ "$missed" -lt 100 ]; then
					fail api:fifo-never-read "logger.missed_log_count '$missed' (about 400 lines could not fit)"
				else
					pass api:fifo-never-read
				fi
			fi
		fi
		api_stop
	fi
fi

# --- what a PUT names is checked at the PUT, as Firecracker does, with its messages (its own
# API test expects "The kernel file cannot be opened"): the kernel and the initrd open, a
# drive's file opens and has a size (a character device such as /dev/null too: firectl's
# test boots with --root-drive /dev/null), the vsock socket can be bound; boot_args over
# the limit is refused there too. No /dev/kvm needed. ---
if want api:put-checks && [ $API_TOOLS = 1 ]; then
	if ! api_start putchecks; then
		fail api:put-checks "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		: >"$TMP/put-kernel"
		long=$(head -c 5000 /dev/zero | tr '\0' 'a')
		expect_api api:put-checks PUT /boot-source "{\"kernel_image_path\": \"$TMP/no-kernel\"}" 400 \
			"^\\{\"fault_message\":\"Boot source error: The kernel file cannot be opened: No such file or directory \\(os error 2\\): $TMP/no-kernel\"\\}\$" &&
			expect_api api:put-checks PUT /boot-source "{\"kernel_image_path\": \"$TMP/put-kernel\", \"initrd_path\": \"$TMP/no-initrd\"}" 400 \
				"Boot source error: The initrd file cannot be opened: No such file or directory \\(os error 2\\): $TMP/no-initrd" &&
			expect_api api:put-checks PUT /boot-source "{\"kernel_image_path\": \"$TMP/put-kernel\", \"boot_args\": \"$long\"}" 400 \
				'boot_args: 5000 bytes, longer than the 4095-byte limit' &&
			expect_api api:put-checks GET /vm/config - 200 '^\{"machine-config"' &&
			expect_api api:put-checks PUT /boot-source "{\"kernel_image_path\": \"$TMP/put-kernel\"}" 204 '^$' &&
			expect_api api:put-checks PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP/no-disk.img\", \"is_root_device\": true}" 400 \
				"Drive config error: Unable to create the virtio block device: Virtio backend error: Error manipulating the backing file: No such file or directory \\(os error 2\\) $TMP/no-disk.img" &&
			expect_api api:put-checks PUT /drives/rootfs "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$TMP\", \"is_root_device\": true}" 400 \
				'Is a directory \(os error 21\)' &&
			expect_api api:put-checks PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/dev/null", "is_root_device": true}' 204 '^$' &&
			expect_api api:put-checks PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/no-dir/v.sock\"}" 400 \
				"Vsock config error: Cannot create backend for vsock device: Error binding to the host-side Unix socket: No such file or directory \\(os error 2\\): $TMP/no-dir/v.sock" &&
			expect_api api:put-checks PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$API_SOCK\"}" 400 \
				'Address already in use \(os error 98\)' &&
			expect_api api:put-checks PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/put-v.sock\"}" 204 '^$' &&
			expect_api api:put-checks GET /vm/config - 200 "\"drives\":\\[\\{\"drive_id\":\"rootfs\",\"is_root_device\":true,.*\"path_on_host\":\"/dev/null\".*\"vsock\":\\{\"guest_cid\":3,\"uds_path\":\"$TMP/put-v.sock\"" &&
			pass api:put-checks
		api_stop
	fi
fi

# --- pmem and memory hotplug through the server: the pmem file is checked at the PUT, the
# configuration reads back, and a payload boots with both (their memory slots above RAM). ---
if want api:pmem-hotplug && [ $API_TOOLS = 1 ]; then
	if ! api_start pmemhp; then
		fail api:pmem-hotplug "no socket: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		head -c 3000000 /dev/zero >"$TMP/pmem.img"
		if expect_api api:pmem-hotplug PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/no-pmem.img\"}" 400 \
			"pmem.p0: path_on_host $TMP/no-pmem.img: No such file or directory" &&
			expect_api api:pmem-hotplug PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP\"}" 400 'Is a directory' &&
			expect_api api:pmem-hotplug PUT /pmem/p0 "{\"id\": \"p0\", \"path_on_host\": \"$TMP/pmem.img\", \"read_only\": true}" 204 '^$' &&
			expect_api api:pmem-hotplug PUT /hotplug/memory '{"total_size_mib": 256}' 204 '^$' &&
			expect_api api:pmem-hotplug GET /hotplug/memory - 200 \
				'^\{"total_size_mib":256,"slot_size_mib":128,"block_size_mib":2,"plugged_size_mib":0,"requested_size_mib":0\}$' &&
			expect_api api:pmem-hotplug GET /vm/config - 200 \
				"\"pmem\":\\[\\{\"id\":\"p0\",\"path_on_host\":\"$TMP/pmem.img\",\"root_device\":false,\"read_only\":true\\}\\],\"memory-hotplug\":\\{\"total_size_mib\":256" &&
			{ [ "$KVM_OK" = 0 ] || {
				expect_api api:pmem-hotplug PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/hello.elf\"}" 204 '^$' &&
					expect_api api:pmem-hotplug PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
					wait_exit $API_PID 30 && [ "$RC" = 0 ] && grep -q '^SUCCESS$' "$API_OUT" ||
					fail api:pmem-hotplug "the payload with pmem and memory-hotplug: exit ${RC:-?}: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			}; }; then
			pass api:pmem-hotplug
		fi
		api_stop
	fi
fi

# --- a stale socket (its process killed) is reused; an existing non-socket file is refused ---
if want api:stale-socket && [ $API_TOOLS = 1 ]; then
	api_start stale
	kill -KILL $API_PID
	wait $API_PID 2>/dev/null
	exec {API_IN}>&-
	if [ ! -S "$API_SOCK" ]; then
		fail api:stale-socket "no socket file left behind to test with"
	elif ! api_start stale; then
		fail api:stale-socket "not reused: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
	else
		expect_api api:stale-socket GET / - 200 'Not started' && pass api:stale-socket
		api_stop
	fi
fi
if want api:not-a-socket; then
	: >"$TMP/plain-file"
	"$EMBER" --api-sock "$TMP/plain-file" </dev/null >"$TMP/plain.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] || ! grep -q "API socket $TMP/plain-file: the path exists and is not a socket" "$TMP/plain.out" ||
		[ ! -f "$TMP/plain-file" ]; then
		fail api:not-a-socket "exit $rc: $(tr '\n' '|' <"$TMP/plain.out")"
	else
		pass api:not-a-socket
	fi
fi

# --- the socket accepts connections right after the process starts ---
if want api:socket-ready && command -v python3 >/dev/null; then
	ms=$(python3 - "$EMBER" "$TMP/ready.sock" <<'EOF'
import os, socket, subprocess, sys, time
ember, path = sys.argv[1], sys.argv[2]
best = None
for _ in range(5):
    t0 = time.monotonic()
    p = subprocess.Popen([ember, "--api-sock", path], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            break
        except OSError:
            if time.monotonic() - t0 > 5:
                p.kill()
                print("timeout")
                sys.exit(0)
        finally:
            s.close()
    t = (time.monotonic() - t0) * 1000
    best = t if best is None else min(best, t)
    p.terminate()
    p.wait()
print("%.2f" % best)
EOF
)
	# Measured from before fork+exec (Python's): a generous bound that still catches slow set-up.
	if [ "$ms" = timeout ] || ! awk -v ms="$ms" 'BEGIN { exit !(ms < 20) }'; then
		fail api:socket-ready "first connection after $ms ms (from spawn)"
	else
		pass "api:socket-ready (${ms} ms from spawn to first accepted connection)"
	fi
fi

# --- guests driven through the API ---
HELLO=$ROOT/build/guests/hello.elf UART_RX=$ROOT/build/guests/uart_rx.elf
if want_group api:guest && [ $API_TOOLS = 1 ] && [ "$KVM_OK" = 0 ]; then
	skip api:guest "$KVM_WHY"
elif want_group api:guest && [ $API_TOOLS = 1 ]; then
	# Configure, InstanceStart, the payload prints SUCCESS and resets: exit 0. GET /vm/config
	# taken before the start boots the same VM from a file.
	if want api:guest-hello; then
		api_start hello
		if expect_api api:guest-hello PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0\"}" 204 '^$' &&
			expect_api api:guest-hello PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' 204 '^$' &&
			expect_api api:guest-hello GET /vm/config - 200 '"vcpu_count":2' &&
			cp "$TMP/api.resp" "$TMP/hello-vmconfig.json" &&
			expect_api api:guest-hello PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			wait_exit $API_PID 30
			exec {API_IN}>&-
			if [ $RC -ne 0 ]; then
				fail api:guest-hello "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			elif ! grep -q '^SUCCESS$' "$API_OUT"; then
				fail api:guest-hello "no SUCCESS on stdout: $(tail -n 3 "$API_OUT" | tr '\n' ' ')"
			elif [ -e "$API_SOCK" ]; then
				fail api:guest-hello "the socket file is still there"
			else
				timeout 30 "$EMBER" --no-api --config-file "$TMP/hello-vmconfig.json" </dev/null >"$TMP/hello2.out" 2>&1
				rc=$?
				if [ $rc -ne 0 ] || ! grep -q '^SUCCESS$' "$TMP/hello2.out"; then
					fail api:guest-hello "GET /vm/config as --config-file: exit $rc: $(tail -n 3 "$TMP/hello2.out" | tr '\n' ' ')"
				else
					pass api:guest-hello
				fi
			fi
		else
			api_stop
		fi
	fi

	# PUT /entropy: the virtio-rng device, with a rate limiter, gives the payload random bytes.
	if want api:guest-entropy && [ -f "$ROOT/build/guests/virtio_rng.elf" ]; then
		api_start entropy
		if expect_api api:guest-entropy PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/virtio_rng.elf\"}" 204 '^$' &&
			expect_api api:guest-entropy PUT /entropy '{"rate_limiter": {"bandwidth": {"size": 4096, "refill_time": 100}}}' 204 '^$' &&
			expect_api api:guest-entropy GET /vm/config - 200 '"entropy":\{"rate_limiter":\{"bandwidth":\{"size":4096' &&
			expect_api api:guest-entropy PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			wait_exit $API_PID 30
			exec {API_IN}>&-
			if [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
				fail api:guest-entropy "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
			else
				pass api:guest-entropy
			fi
		else
			api_stop
		fi
	fi

	# The balloon through the API: PUT /balloon (with statistics), InstanceStart; the
	# payload touches 4 MiB, then inflates by the target once it reads a byte. Then
	# GET /balloon/statistics shows what the driver says it holds, PATCH /balloon
	# moves the target, and the metrics line has the balloon group.
	if want api:guest-balloon && [ -f "$ROOT/build/guests/virtio_balloon.elf" ]; then
		bm=$TMP/balloon-metrics.json
		rm -f "$bm"
		api_start balloonapi
		if expect_api api:guest-balloon GET /balloon - 400 'not configured' &&
			expect_api api:guest-balloon PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/virtio_balloon.elf\"}" 204 '^$' &&
			expect_api api:guest-balloon PUT /balloon '{"amount_mib": 200, "deflate_on_oom": true}' 400 \
				'balloon.amount_mib: Amount of pages requested is too large' &&
			expect_api api:guest-balloon PUT /balloon '{"amount_mib": 2, "deflate_on_oom": false, "stats_polling_interval_s": 1}' 204 '^$' &&
			expect_api api:guest-balloon PATCH /balloon '{"amount_mib": 4}' 204 '^$' &&
			expect_api api:guest-balloon GET /balloon - 200 \
				'^\{"amount_mib":4,"deflate_on_oom":false,"stats_polling_interval_s":1,"free_page_hinting":false,"free_page_reporting":false\}$' &&
			expect_api api:guest-balloon GET /balloon/statistics - 400 'not supported before starting' &&
			expect_api api:guest-balloon PUT /metrics "{\"metrics_path\": \"$bm\"}" 204 '^$' &&
			expect_api api:guest-balloon GET /vm/config - 200 '"balloon":\{"amount_mib":4,' &&
			expect_api api:guest-balloon PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			for _ in $(seq 600); do
				grep -q '^TOUCHED' "$API_OUT" && break
				kill -0 "$API_PID" 2>/dev/null || break
				sleep 0.1
			done
			printf 'x' >&$API_IN
			for _ in $(seq 300); do
				grep -q '^INFLATED' "$API_OUT" && break
				kill -0 "$API_PID" 2>/dev/null || break
				sleep 0.1
			done
			if ! grep -q '^INFLATED' "$API_OUT"; then
				fail api:guest-balloon "no INFLATED: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
				api_stop
			elif expect_api api:guest-balloon GET /balloon/statistics - 200 \
				'^\{"target_pages":1024,"actual_pages":1024,"target_mib":4,"actual_mib":4' &&
				expect_api api:guest-balloon PUT /balloon '{"amount_mib": 1, "deflate_on_oom": true}' 400 \
					'not supported after starting' &&
				expect_api api:guest-balloon PATCH /balloon '{"amount_mib": 1000}' 400 'amount_mib' &&
				expect_api api:guest-balloon PATCH /balloon '{"amount_mib": 2}' 204 '^$' &&
				expect_api api:guest-balloon GET /balloon - 200 '"amount_mib":2,' &&
				expect_api api:guest-balloon GET /balloon/statistics - 200 '"target_pages":512,.*"target_mib":2,' &&
				expect_api api:guest-balloon PATCH /balloon/statistics '{"stats_polling_interval_s": 0}' 400 \
					'statistics cannot be turned off' &&
				expect_api api:guest-balloon PATCH /balloon/statistics '{"stats_polling_interval_s": 3}' 204 '^$' &&
				expect_api api:guest-balloon PATCH /balloon/hinting/start - 400 'free page hinting is not enabled' &&
				expect_api api:guest-balloon GET /vm/config - 200 '"balloon":\{"amount_mib":2,"deflate_on_oom":false,"stats_polling_interval_s":3' &&
				expect_api api:guest-balloon PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$'; then
				api_stop
				inflates=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["balloon"]["inflate_count"])' "$bm" 2>/dev/null)
				if [ $RC -ne $KILLED_BY_TERM ]; then
					fail api:guest-balloon "exit $RC after SIGTERM: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
				elif [ -z "$inflates" ] || [ "$inflates" -lt 1 ]; then
					fail api:guest-balloon "metrics: balloon.inflate_count '$inflates': $(head -c 300 "$bm")"
				else
					pass api:guest-balloon
				fi
			else
				api_stop
			fi
		else
			api_stop
		fi
	fi

	# Drives through the API: PUT /drives (a second PUT with the same id replaces the
	# first), InstanceStart; the virtio_block payload reads and writes the image and
	# resets. The image then holds what it wrote.
	if want api:guest-drive && [ -f "$ROOT/build/guests/virtio_block.elf" ]; then
		img=$TMP/api-drive.img
		drive_image_create "$img"
		: >"$TMP/api-drive-first.img"
		api_start driveapi
		if expect_api api:guest-drive PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/virtio_block.elf\"}" 204 '^$' &&
			expect_api api:guest-drive PUT /drives/testdrive "{\"drive_id\": \"testdrive\", \"path_on_host\": \"$TMP/api-drive-first.img\", \"is_root_device\": false}" 204 '^$' &&
			expect_api api:guest-drive PUT /drives/testdrive "{\"drive_id\": \"testdrive\", \"path_on_host\": \"$img\", \"is_root_device\": false, \"cache_type\": \"Writeback\"}" 204 '^$' &&
			expect_api api:guest-drive PUT /drives/other '{"drive_id": "testdrive", "path_on_host": "/x", "is_root_device": false}' 400 \
				'does not match the id in the path' &&
			expect_api api:guest-drive PATCH /drives/testdrive '{"drive_id": "testdrive", "path_on_host": "/y"}' 400 \
				'not supported before starting' &&
			expect_api api:guest-drive GET /vm/config - 200 "\"drives\":\\[\\{\"drive_id\":\"testdrive\",\"is_root_device\":false,\"cache_type\":\"Writeback\",\"is_read_only\":false,\"path_on_host\":\"$img\"" &&
			expect_api api:guest-drive PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			wait_exit $API_PID 30
			exec {API_IN}>&-
			if [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
				fail api:guest-drive "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
			else
				drive_image_check api:guest-drive "$img"
			fi
		else
			api_stop
		fi
	fi

	# PATCH /drives after boot (uart_rx runs 10 s and ignores the drive): a new backing
	# file, a missing one (400, the old one stays), a rate limiter; the metrics count it.
	if want api:guest-drive-patch; then
		img=$TMP/api-patch-a.img img2=$TMP/api-patch-b.img dm=$TMP/drive-metrics.json
		drive_image_create "$img"
		drive_image_create "$img2"
		rm -f "$dm"
		api_start drivepatch
		if expect_api api:guest-drive-patch PUT /boot-source "{\"kernel_image_path\": \"$UART_RX\"}" 204 '^$' &&
			expect_api api:guest-drive-patch PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$img\", \"is_root_device\": false, \"io_engine\": \"Async\"}" 204 '^$' &&
			expect_api api:guest-drive-patch PUT /metrics "{\"metrics_path\": \"$dm\"}" 204 '^$' &&
			expect_api api:guest-drive-patch PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
			expect_api api:guest-drive-patch PUT /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$img\", \"is_root_device\": false}" 400 \
				'not supported after starting' &&
			expect_api api:guest-drive-patch PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$img2\"}" 204 '^$' &&
			expect_api api:guest-drive-patch PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$TMP/no-such.img\"}" 400 \
				'no-such.img' &&
			expect_api api:guest-drive-patch PATCH /drives/data '{"drive_id": "data", "rate_limiter": {"ops": {"size": 100, "refill_time": 1000}}}' 204 '^$' &&
			expect_api api:guest-drive-patch PATCH /drives/nope '{"drive_id": "nope", "path_on_host": "/x"}' 400 'no such drive' &&
			expect_api api:guest-drive-patch GET /vm/config - 200 "\"path_on_host\":\"$img2\",\"rate_limiter\":\\{\"ops\":\\{\"size\":100" &&
			expect_api api:guest-drive-patch PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$'; then
			api_stop
			updates=$(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); print(l["block_data"]["update_count"], l["block_data"]["update_fails"], l["block"]["update_count"])' "$dm" 2>/dev/null)
			if [ $RC -ne $KILLED_BY_TERM ]; then
				fail api:guest-drive-patch "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			elif [ "$updates" != "1 1 1" ]; then
				fail api:guest-drive-patch "metrics block_data.update_count/update_fails, block.update_count: '$updates': $(head -c 300 "$dm")"
			else
				pass api:guest-drive-patch
			fi
		else
			api_stop
		fi
	fi

	# vsock through the API (the host side in tests/lib/vsock.sh): PUT /vsock, the payload
	# listens on port 52; the host connects while the VM is paused (nothing may reach
	# the guest), then resumes: ping -> pong, SUCCESS. The metrics line ember writes at
	# exit has the vsock group.
	if want api:guest-vsock && [ -f "$ROOT/build/guests/virtio_vsock.elf" ]; then
		uds=$TMP/api-vsock.sock vm=$TMP/vsock-metrics.json
		rm -f "$vm"
		api_start vsockapi
		if expect_api api:guest-vsock PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/virtio_vsock.elf\", \"boot_args\": \"console=ttyS0 vsock=listen\"}" 204 '^$' &&
			expect_api api:guest-vsock PUT /vsock '{"guest_cid": 1, "uds_path": "/x"}' 400 'vsock.guest_cid: 1 is out of range' &&
			expect_api api:guest-vsock PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$TMP/api-vsock-old.sock\"}" 204 '^$' &&
			expect_api api:guest-vsock PUT /vsock "{\"guest_cid\": 3, \"uds_path\": \"$uds\"}" 204 '^$' &&
			expect_api api:guest-vsock GET /vm/config - 200 "\"vsock\":\\{\"guest_cid\":3,\"uds_path\":\"$uds\"\\}" &&
			expect_api api:guest-vsock PUT /metrics "{\"metrics_path\": \"$vm\"}" 204 '^$' &&
			expect_api api:guest-vsock PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
			expect_api api:guest-vsock PUT /vsock "{\"guest_cid\": 4, \"uds_path\": \"$uds\"}" 400 'not supported after starting'; then
			for _ in $(seq 600); do
				grep -q 'vsock: listening on port 52' "$API_OUT" && break
				kill -0 "$API_PID" 2>/dev/null || break
				sleep 0.05
			done
			if ! grep -q 'vsock: listening on port 52' "$API_OUT"; then
				fail api:guest-vsock "the guest never listened: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
				api_stop
			elif expect_api api:guest-vsock PATCH /vm '{"state": "Paused"}' 204 '^$'; then
				timeout 30 python3 -c "$VSOCK_CLIENT" "$uds" >"$TMP/api-vsock-client.out" 2>&1 &
				cpid=$!
				sleep 0.5
				if grep -q 'got ping' "$API_OUT"; then
					fail api:guest-vsock "the guest got data while paused"
					api_stop
				elif expect_api api:guest-vsock PATCH /vm '{"state": "Resumed"}' 204 '^$'; then
					wait $cpid
					crc=$?
					wait_exit $API_PID 30
					exec {API_IN}>&-
					conns=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])["vsock"]["conns_added"])' "$vm" 2>/dev/null)
					if [ $crc -ne 0 ]; then
						fail api:guest-vsock "host side: $(cat "$TMP/api-vsock-client.out" | tr '\n' ' ')"
					elif [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
						fail api:guest-vsock "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
					elif [ "$conns" != 1 ]; then
						fail api:guest-vsock "metrics vsock.conns_added '$conns': $(tail -c 400 "$vm")"
					elif [ -e "$uds" ]; then
						fail api:guest-vsock "$uds was not removed at exit"
					else
						pass api:guest-vsock
					fi
				else
					api_stop
				fi
			else
				api_stop
			fi
		else
			api_stop
		fi
	fi

	# Network interfaces through the API, in tests/lib/net.sh's namespace and TAP (root
	# only): the virtio_net payload's frame reaches the host side and the answer comes
	# back; then, with uart_rx running 10 s, PATCH /network-interfaces changes the rate
	# limiters and the metrics have the net_<iface_id> group.
	if want_group api:guest-net; then
		exit_hook_push net_cleanup
		why=$(net_unavailable)
		if [ -z "$why" ] && ! why=$(net_setup); then
			net_cleanup
		fi
		if [ -n "$why" ]; then
			want api:guest-net && skip api:guest-net "$why"
			want api:guest-net-patch && skip api:guest-net-patch "$why"
		else
			if want api:guest-net; then
				py=$TMP/api-net-helper.py hout=$TMP/api-net-helper.out
				net_write_helper "$py"
				ip netns exec "$NET_NS" "$(command -v python3)" "$py" "$NET_TAP" "$NET_MAC" 40 >"$hout" 2>&1 &
				hpid=$!
				for _ in $(seq 100); do
					grep -q READY "$hout" 2>/dev/null && break
					sleep 0.05
				done
				API_SOCK=$TMP/netapi.sock API_OUT=$TMP/netapi.out API_ERR=$TMP/netapi.err
				ip netns exec "$NET_NS" "$EMBER" --api-sock "$API_SOCK" </dev/null >"$API_OUT" 2>"$API_ERR" &
				API_PID=$!
				exec {API_IN}</dev/null
				for _ in $(seq 200); do
					[ -S "$API_SOCK" ] && break
					sleep 0.01
				done
				if expect_api api:guest-net PUT /boot-source "{\"kernel_image_path\": \"$ROOT/build/guests/virtio_net.elf\"}" 204 '^$' &&
					expect_api api:guest-net PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$NET_TAP\", \"guest_mac\": \"$NET_MAC\", \"rx_rate_limiter\": {\"bandwidth\": {\"size\": 1000000, \"refill_time\": 100}}}" 204 '^$' &&
					expect_api api:guest-net PUT /network-interfaces/eth1 "{\"iface_id\": \"eth1\", \"host_dev_name\": \"$NET_TAP\"}" 400 'is in use by interface \\"eth0\\"' &&
					expect_api api:guest-net PUT /network-interfaces/eth1 "{\"iface_id\": \"eth1\", \"host_dev_name\": \"x\", \"guest_mac\": \"nope\"}" 400 'guest_mac: \\"nope\\" is not a MAC address' &&
					expect_api api:guest-net GET /vm/config - 200 "\"network-interfaces\":\\[\\{\"iface_id\":\"eth0\",\"host_dev_name\":\"$NET_TAP\",\"guest_mac\":\"$NET_MAC\"" &&
					expect_api api:guest-net PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
					wait_exit $API_PID 60
					exec {API_IN}>&-
					wait $hpid
					hrc=$?
					if [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
						fail api:guest-net "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ') helper: $(tail -n 2 "$hout" | tr '\n' ' ')"
					elif [ $hrc -ne 0 ]; then
						fail api:guest-net "host side: $(tail -n 2 "$hout" | tr '\n' ' ')"
					else
						pass api:guest-net
					fi
				else
					api_stop
					kill $hpid 2>/dev/null
					wait $hpid 2>/dev/null
				fi
			fi
			if want api:guest-net-patch; then
				nm=$TMP/net-metrics.json
				rm -f "$nm"
				API_SOCK=$TMP/netpatch.sock API_OUT=$TMP/netpatch.out API_ERR=$TMP/netpatch.err
				ip netns exec "$NET_NS" "$EMBER" --api-sock "$API_SOCK" </dev/null >"$API_OUT" 2>"$API_ERR" &
				API_PID=$!
				exec {API_IN}</dev/null
				for _ in $(seq 200); do
					[ -S "$API_SOCK" ] && break
					sleep 0.01
				done
				if expect_api api:guest-net-patch PUT /boot-source "{\"kernel_image_path\": \"$UART_RX\"}" 204 '^$' &&
					expect_api api:guest-net-patch PUT /network-interfaces/eth0 "{\"iface_id\": \"eth0\", \"host_dev_name\": \"$NET_TAP\"}" 204 '^$' &&
					expect_api api:guest-net-patch PUT /metrics "{\"metrics_path\": \"$nm\"}" 204 '^$' &&
					expect_api api:guest-net-patch PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}' 400 'not supported before starting' &&
					expect_api api:guest-net-patch PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
					expect_api api:guest-net-patch PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "rx_rate_limiter": {"ops": {"size": 10, "refill_time": 100}}}' 204 '^$' &&
					expect_api api:guest-net-patch PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "tx_rate_limiter": {"bandwidth": {"size": 0, "refill_time": 0}}}' 204 '^$' &&
					expect_api api:guest-net-patch PATCH /network-interfaces/eth0 '{"iface_id": "eth0", "mtu": 1000}' 400 'unknown key \\"mtu\\"' &&
					expect_api api:guest-net-patch PATCH /network-interfaces/eth7 '{"iface_id": "eth7", "rx_rate_limiter": null}' 400 'no such interface' &&
					expect_api api:guest-net-patch GET /vm/config - 200 '"rx_rate_limiter":\{"ops":\{"size":10,"one_time_burst":0,"refill_time":100\}\}' &&
					expect_api api:guest-net-patch PUT /actions '{"action_type": "FlushMetrics"}' 204 '^$'; then
					api_stop
					group=$(python3 -c 'import json,sys; l=json.loads(open(sys.argv[1]).readline()); print("net_eth0" in l and "net" in l and "tx_packets_count" in l["net_eth0"])' "$nm" 2>/dev/null)
					if [ $RC -ne $KILLED_BY_TERM ]; then
						fail api:guest-net-patch "exit $RC: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
					elif [ "$group" != True ]; then
						fail api:guest-net-patch "no net_eth0 metrics group: $(head -c 300 "$nm")"
					else
						pass api:guest-net-patch
					fi
				else
					api_stop
				fi
			fi
			net_cleanup
		fi
		exit_hook_pop
	fi

	# A character device as the root drive, as firectl's test boots (--root-drive /dev/null):
	# Firecracker takes any file that opens and has a size. The VM starts with it (size 0,
	# on the kernel command line as root=/dev/vda) and the payload runs to its end.
	if want api:guest-dev-null-drive; then
		api_start devnull
		if expect_api api:guest-dev-null-drive PUT /boot-source "{\"kernel_image_path\": \"$HELLO\", \"boot_args\": \"console=ttyS0\"}" 204 '^$' &&
			expect_api api:guest-dev-null-drive PUT /drives/rootfs '{"drive_id": "rootfs", "path_on_host": "/dev/null", "is_root_device": true, "is_read_only": false}' 204 '^$' &&
			expect_api api:guest-dev-null-drive PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			wait_exit $API_PID 30
			exec {API_IN}>&-
			if [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
				fail api:guest-dev-null-drive "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
			elif ! grep -q '^cmdline: console=ttyS0 .*virtio_mmio.device=4K@0xc0001000:5 root=/dev/vda rw' "$API_OUT"; then
				fail api:guest-dev-null-drive "the drive is not on the command line: $(grep '^cmdline' "$API_OUT")"
			else
				pass api:guest-dev-null-drive
			fi
		else
			api_stop
		fi
	fi

	# InstanceStart failing (a file that is not a kernel): 400 with the reason; fixed, the
	# next start works. A kernel that does not exist is refused at the PUT already.
	if want api:guest-start-failure; then
		printf 'this is not a kernel\n' >"$TMP/text-vmlinux"
		api_start startfail
		if expect_api api:guest-start-failure PUT /boot-source "{\"kernel_image_path\": \"$TMP/no-vmlinux\"}" 400 \
			'The kernel file cannot be opened: No such file or directory \(os error 2\)' &&
			expect_api api:guest-start-failure PUT /boot-source "{\"kernel_image_path\": \"$TMP/text-vmlinux\"}" 204 '^$' &&
			expect_api api:guest-start-failure PUT /actions '{"action_type": "InstanceStart"}' 400 \
				"InstanceStart failed: kernel: $TMP/text-vmlinux: .*not a kernel" &&
			expect_api api:guest-start-failure GET / - 200 '"state":"Not started"' &&
			expect_api api:guest-start-failure PUT /boot-source "{\"kernel_image_path\": \"$HELLO\"}" 204 '^$' &&
			expect_api api:guest-start-failure PUT /actions '{"action_type": "InstanceStart"}' 204 '^$'; then
			wait_exit $API_PID 30
			exec {API_IN}>&-
			if [ $RC -ne 0 ] || ! grep -q '^SUCCESS$' "$API_OUT"; then
				fail api:guest-start-failure "exit $RC: $(tail -n 3 "$API_OUT" "$API_ERR" | tr '\n' ' ')"
			else
				pass api:guest-start-failure
			fi
		else
			api_stop
		fi
	fi

	# uart_rx waits 10 s for console input: SendCtrlAltDel (400 before boot, 204 after),
	# pause and resume with GET / showing the state, then SIGTERM: killed by it, cleanly.
	if want api:guest-actions; then
		api_start actions
		if expect_api api:guest-actions PUT /actions '{"action_type": "SendCtrlAltDel"}' 400 \
			'not supported before starting the microVM' &&
			expect_api api:guest-actions PATCH /vm '{"state": "Paused"}' 400 'not supported before starting' &&
			expect_api api:guest-actions PUT /boot-source "{\"kernel_image_path\": \"$UART_RX\"}" 204 '^$' &&
			expect_api api:guest-actions PUT /machine-config '{"vcpu_count": 2, "mem_size_mib": 64}' 204 '^$' &&
			expect_api api:guest-actions PUT /actions '{"action_type": "InstanceStart"}' 204 '^$' &&
			expect_api api:guest-actions GET / - 200 '"state":"Running"' &&
			expect_api api:guest-actions PUT /actions '{"action_type": "InstanceStart"}' 400 \
				'not supported after starting the microVM' &&
			expect_api api:guest-actions PUT /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}' 400 \
				'not supported after starting the microVM' &&
			expect_api api:guest-actions PUT /actions '{"action_type": "SendCtrlAltDel"}' 204 '^$' &&
			expect_api api:guest-actions PATCH /vm '{"state": "Paused"}' 204 '^$' &&
			expect_api api:guest-actions GET / - 200 '"state":"Paused"' &&
			expect_api api:guest-actions PATCH /vm '{"state": "Resumed"}' 204 '^$' &&
			expect_api api:guest-actions GET / - 200 '"state":"Running"' &&
			expect_api api:guest-actions PATCH /vm '{"state": "Paused"}' 204 '^$'; then
			# SIGTERM while paused: the parked vCPUs leave too.
			api_stop
			if [ $RC -ne $KILLED_BY_TERM ]; then
				fail api:guest-actions "exit $RC after SIGTERM: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			elif ! grep -q 'received signal 15' "$API_ERR" || [ -e "$API_SOCK" ]; then
				fail api:guest-actions "no clean stop: $(tail -n 3 "$API_ERR" | tr '\n' ' ')"
			else
				pass api:guest-actions
			fi
		else
			api_stop
		fi
	fi

	# While paused nothing runs: console input waits until the resume, then the guest gets it.
	if want api:guest-pause-holds-input; then
		# Booted from --config-file, with the API served too (as Firecracker does).
		printf '{"boot-source": {"kernel_image_path": "%s"}}\n' "$UART_RX" >"$TMP/pausein.json"
		api_start pausein --config-file "$TMP/pausein.json"
		for _ in $(seq 100); do
			grep -q 'waiting for a line' "$API_OUT" && break
			sleep 0.05
		done
		if expect_api api:guest-pause-holds-input GET / - 200 '"state":"Running"' &&
			expect_api api:guest-pause-holds-input PATCH /vm '{"state": "Paused"}' 204 '^$'; then
			printf 'ping\n' >&$API_IN
			sleep 0.5
			if grep -q SUCCESS "$API_OUT"; then
				fail api:guest-pause-holds-input "the guest ran while paused: $(tail -n 2 "$API_OUT" | tr '\n' ' ')"
				api_stop
			elif expect_api api:guest-pause-holds-input PATCH /vm '{"state": "Resumed"}' 204 '^$'; then
				wait_exit $API_PID 15
				exec {API_IN}>&-
				if [ $RC -ne 0 ] || ! grep -q '^SUCCESS: ping$' "$API_OUT"; then
					fail api:guest-pause-holds-input "exit $RC: $(tail -n 2 "$API_OUT" | tr '\n' ' ')"
				else
					pass api:guest-pause-holds-input
				fi
			else
				api_stop
			fi
		else
			api_stop
		fi
	fi
fi

# --- the router under libFuzzer for a bounded time (make fuzz runs it longer) ---
if want api:fuzz; then
	run_fuzzer api:fuzz fuzz_api 30 tests/fuzz/corpus
fi

suite_end
