#!/usr/bin/env python3
# tests/lib/swagger_check.py SWAGGER DEFINITION: checks the JSON document on stdin
# against DEFINITION of Firecracker's swagger file (tests/reference/) with jsonschema
# (Debian: python3-jsonschema), as strictly as Firecracker's own parser reads it
# (serde, deny_unknown_fields): every object of the swagger that lists its properties
# takes no other key. jsonschema checks the required keys, the types and enums, and
# refuses null (the swagger has none: an absent optional object or field is left out).
# Prints one line per problem; exit status 1 if there is any, 2 if the checker cannot
# run (no jsonschema or PyYAML: tests skip).
import json
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


def main():
    spec = yaml.load(open(sys.argv[1]), Loader=SwaggerLoader)
    defs = spec["definitions"]
    for d in defs.values():
        if d.get("type", "object") == "object" and "properties" in d:
            d.setdefault("additionalProperties", False)
    name = sys.argv[2]
    try:
        doc = json.load(sys.stdin)
    except ValueError as e:
        print(f"not JSON: {e}")
        sys.exit(1)
    schema = {"$ref": "#/definitions/" + name, "definitions": defs}
    problems = 0
    for e in jsonschema.Draft4Validator(schema).iter_errors(doc):
        where = ".".join(str(p) for p in e.absolute_path)
        print(f"{name}{'.' + where if where else ''}: {e.message}")
        problems += 1
    sys.exit(1 if problems else 0)


main()
