#!/usr/bin/env python3
# tests/lib/swagger_check.py SWAGGER DEFINITION: checks the JSON document on stdin
# against DEFINITION of Firecracker's swagger file (tests/reference/), as strictly as
# Firecracker's own parser reads it (serde, deny_unknown_fields): every key is one of
# the definition's properties, the required ones are there, each value has the type
# and enum the schema gives, and nothing is null (the swagger has no null: an absent
# optional object or field is left out). Prints one line per problem; exit status 1
# if there is any, 2 if the checker cannot run (no PyYAML: tests skip).
import json
import sys

try:
    import yaml
except ImportError:
    print("python3 has no yaml module (Debian: python3-yaml)")
    sys.exit(2)


def check(spec, schema, v, where, problems):
    while "$ref" in schema:
        schema = spec["definitions"][schema["$ref"].split("/")[-1]]
    if v is None:
        problems.append(f"{where}: null")
        return
    kind = schema.get("type", "object" if "properties" in schema else None)
    ok = {
        "object": isinstance(v, dict),
        "array": isinstance(v, list),
        "string": isinstance(v, str),
        "boolean": isinstance(v, bool),
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, (int, float)) and not isinstance(v, bool),
        None: True,
    }[kind]
    if not ok:
        problems.append(f"{where}: expected {kind}, got {json.dumps(v)}")
        return
    if "enum" in schema and str(v) not in schema["enum"]:
        problems.append(f"{where}: {json.dumps(v)} is not one of {schema['enum']}")
    if kind == "integer" and "minimum" in schema and v < int(schema["minimum"]):
        problems.append(f"{where}: {v} is below the minimum {schema['minimum']}")
    if kind == "array":
        for i, e in enumerate(v):
            check(spec, schema.get("items", {}), e, f"{where}[{i}]", problems)
    if kind == "object" and "properties" in schema:
        props = schema["properties"]
        for key in schema.get("required", []):
            if key not in v:
                problems.append(f"{where}: required key {key!r} missing")
        for key, e in v.items():
            if key not in props:
                problems.append(f"{where}: key {key!r} is not in the schema")
            else:
                check(spec, props[key], e, f"{where}.{key}", problems)
    elif kind == "object":
        # A free-form object (Metrics.properties): still no null inside.
        for key, e in v.items():
            if e is None:
                problems.append(f"{where}.{key}: null")


def main():
    # BaseLoader: every scalar a string, so "Off" in an enum stays "Off" (YAML 1.1
    # would make it false).
    spec = yaml.load(open(sys.argv[1]), Loader=yaml.BaseLoader)
    name = sys.argv[2]
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        print(f"not JSON: {e}")
        sys.exit(1)
    problems = []
    check(spec, {"$ref": "#/definitions/" + name}, doc, name, problems)
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


main()
