#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Validate alert-stream JSON lines against docs/alerts.schema.json.

Usage: alerts_validate.py SCHEMA FILE... ('-' = stdin)
Every non-empty line must be one JSON object that the schema (draft
2020-12) accepts. Prints 'FILE:LINE: PATH: message' per problem and
'validated N lines' at the end. Exit 0 all valid, 1 a line is invalid
or no line was read, 2 usage or an unreadable schema/file.
Run it with /usr/bin/python3 (the Debian python3-jsonschema).
"""
import json
import sys

import jsonschema


def lines_of(name):
    f = sys.stdin if name == "-" else open(name, encoding="utf-8", errors="replace")
    with f:
        for n, line in enumerate(f, 1):
            if line.strip():
                yield n, line


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print(f"alerts_validate: failed to load schema {argv[1]}: {e}", file=sys.stderr)
        return 2
    v = jsonschema.Draft202012Validator(schema)
    total = bad = 0
    for name in argv[2:]:
        try:
            for n, line in lines_of(name):
                total += 1
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    print(f"{name}:{n}: not JSON: {e}")
                    bad += 1
                    continue
                errs = sorted(v.iter_errors(rec), key=lambda e: list(e.absolute_path))
                for e in errs:
                    path = "/".join(str(p) for p in e.absolute_path) or "(root)"
                    where = "/".join(str(p) for p in e.absolute_schema_path)
                    msg = e.message if len(e.message) <= 200 else f"fails {e.validator}"
                    print(f"{name}:{n}: {path}: {msg} (schema: {where})")
                bad += bool(errs)
        except OSError as e:
            print(f"alerts_validate: failed to read {name}: {e}", file=sys.stderr)
            return 2
    print(f"validated {total} lines, {bad} invalid")
    return 1 if bad or not total else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
