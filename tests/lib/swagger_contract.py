#!/usr/bin/env python3
# tests/lib/swagger_contract.py SWAGGER SOCKET PHASE TMPDIR: walks every operation of
# Firecracker's swagger file (tests/reference/) on ember's API socket and validates
# each answer against the operation's responses with jsonschema (Debian:
# python3-jsonschema): the status is one the operation lists (or its default), a 204
# has no body, a body is JSON valid against the response's schema (Error included).
# Each operation is called with a body built from its schema (required keys; the
# ids, paths and values below where the schema's own would not do), then, if it takes
# a body, with a body its schema refuses. Prints "PASS: contract:PHASE:METHOD PATH"
# or "FAIL: ...: why" per operation; exit status 2 if the checker cannot run.
import http.client
import json
import os
import socket
import sys

try:
    import jsonschema
    import yaml
except ImportError as e:
    print(f"python3 cannot import {e.name} (Debian: python3-jsonschema, python3-yaml)")
    sys.exit(2)


class SwaggerLoader(yaml.SafeLoader):
    """YAML 1.1 reads Off/On/Yes/No as booleans: the logger's "Off" level must stay a string."""


SwaggerLoader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.unix_path)


def strict(defs):
    """Firecracker reads its objects with deny_unknown_fields: so are the answers checked."""
    for d in defs.values():
        if d.get("type", "object") == "object" and "properties" in d:
            d.setdefault("additionalProperties", False)
    return defs


def sample(spec, schema, depth=0):
    """A minimal instance of @schema: its required keys, the first enum value, the minimum."""
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].split("/")[-1]]
    kind = schema.get("type", "object" if "properties" in schema else None)
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        props = schema.get("properties", {})
        if depth > 4:
            return {}
        return {k: sample(spec, props[k], depth + 1) for k in schema.get("required", []) if k in props}
    if kind == "array":
        return []
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "boolean":
        return False
    if kind == "string":
        return "x"
    return {}


def main():
    swagger, sock, phase, tmp = sys.argv[1:5]
    spec = yaml.load(open(swagger), Loader=SwaggerLoader)
    defs = strict(spec["definitions"])
    ids = {"drive_id": "rootfs", "iface_id": "eth0", "id": "pmem0"}
    img = os.path.join(tmp, "contract.img")
    with open(img, "wb") as f:
        f.truncate(1 << 20)
    # Where a schema's minimal instance would say nothing useful: real files, a valid
    # template, an action that neither boots nor ends the VM (the phases do that).
    overrides = {
        ("put", "/actions"): {"action_type": "FlushMetrics"},
        ("put", "/boot-source"): {"kernel_image_path": os.path.join(tmp, "contract-kernel")},
        ("put", "/drives/{drive_id}"): {"drive_id": "rootfs", "path_on_host": img,
                                        "is_root_device": True, "is_read_only": True},
        ("patch", "/drives/{drive_id}"): {"drive_id": "rootfs", "path_on_host": img},
        ("put", "/pmem/{id}"): {"id": "pmem0", "path_on_host": img},
        ("put", "/machine-config"): {"vcpu_count": 1, "mem_size_mib": 64},
        ("patch", "/machine-config"): {"mem_size_mib": 64},
        ("put", "/metrics"): {"metrics_path": os.path.join(tmp, "contract-metrics.json")},
        ("put", "/logger"): {"level": "Info"},
        ("put", "/cpu-config"): {"cpuid_modifiers": [{"leaf": "0x1", "subleaf": "0x0", "flags": 0,
                                 "modifiers": [{"register": "ecx",
                                                "bitmap": "0b" + "x" * 30 + "0x"}]}]},
        ("put", "/serial"): {"serial_out_path": os.path.join(tmp, "contract-serial.out")},
        ("put", "/vsock"): {"guest_cid": 3, "uds_path": os.path.join(tmp, "contract-v.sock")},
        ("put", "/network-interfaces/{iface_id}"): {"iface_id": "eth0", "host_dev_name": "embnotap0"},
        ("put", "/balloon"): {"amount_mib": 0, "deflate_on_oom": True, "stats_polling_interval_s": 1},
        ("put", "/snapshot/create"): {"snapshot_path": os.path.join(tmp, "contract.snap"),
                                      "mem_file_path": os.path.join(tmp, "contract.mem")},
        ("put", "/snapshot/load"): {"snapshot_path": os.path.join(tmp, "contract-none.snap"),
                                    "mem_backend": {"backend_type": "File",
                                                    "backend_path": os.path.join(tmp, "none.mem")}},
        ("put", "/hotplug/memory"): {"total_size_mib": 1024, "block_size_mib": 2, "slot_size_mib": 128},
        ("put", "/mmds"): {"latest": {"meta-data": {"ami-id": "ami-1"}}},
        ("patch", "/mmds"): {"latest": {"meta-data": {"ami-id": "ami-2"}}},
    }
    failed = 0
    # The validator itself: answers that break the schema must be caught.
    for definition, doc in (("FirecrackerVersion", {"firecracker_version": 1}),
                            ("Error", {"fault_message": "x", "extra": 1}),
                            ("InstanceInfo", {"id": "a", "state": "Paused", "vmm_version": "1"}),
                            ("MachineConfiguration", {"vcpu_count": 1, "mem_size_mib": None})):
        schema = {"$ref": "#/definitions/" + definition, "definitions": defs}
        if jsonschema.Draft4Validator(schema).is_valid(doc):
            failed += 1
            print(f"FAIL: contract:{phase}:validator: {json.dumps(doc)} passed as {definition}")
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "put", "patch"):
                continue
            name = f"contract:{phase}:{method.upper()} {path}"
            url = spec.get("basePath", "/").rstrip("/") + path
            for key, value in ids.items():
                url = url.replace("{" + key + "}", value)
            body_param = [p for p in op.get("parameters", []) if p.get("in") == "body"]
            bodies = [None]
            if body_param:
                good = overrides.get((method, path), sample(spec, body_param[0]["schema"]))
                for key, value in ids.items():
                    if "{" + key + "}" in path and isinstance(good, dict):
                        good[key] = value
                # A body its schema refuses: an unknown key (or, for free-form MMDS, a non-object).
                bad = [1] if path == "/mmds" else dict(good, not_in_the_schema=1)
                bodies = [good, bad]
            problems = []
            for body in bodies:
                conn = UnixConnection(sock)
                try:
                    data = json.dumps(body) if body is not None else None
                    headers = {"Content-Type": "application/json"} if data else {}
                    conn.request(method.upper(), url, body=data, headers=headers)
                    resp = conn.getresponse()
                    status, raw = resp.status, resp.read()
                except OSError as e:
                    problems.append(f"no answer: {e}")
                    continue
                finally:
                    conn.close()
                responses = op["responses"]
                entry = responses.get(status, responses.get(str(status), responses.get("default")))
                what = f"{status} to {json.dumps(body)[:60] if body is not None else 'no body'}"
                if entry is None:
                    problems.append(f"{what}: status not in the operation's responses")
                    continue
                print(f"  {name}: {status} {raw[:100].decode(errors='replace')}", file=sys.stderr)
                if "schema" not in entry:
                    if raw.strip():
                        problems.append(f"{what}: a body where the schema has none: {raw[:80]!r}")
                    continue
                try:
                    doc = json.loads(raw)
                except ValueError:
                    problems.append(f"{what}: not JSON: {raw[:80]!r}")
                    continue
                schema = dict(entry["schema"], definitions=defs)
                errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc))
                for e in errors[:3]:
                    where = "/".join(str(p) for p in e.absolute_path) or "(body)"
                    problems.append(f"{what}: {where}: {e.message[:160]}")
            if problems:
                failed += 1
                print(f"FAIL: {name}: {'; '.join(problems)}")
            else:
                print(f"PASS: {name}")
    sys.exit(1 if failed else 0)


main()
