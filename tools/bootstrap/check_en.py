"""Check an English text file against its worklist: coverage, language, YAML shape.

Usage: python tools/bootstrap/check_en.py N   (checks tools/bootstrap/en/bucketN.yaml
against build/worklists/bucketN.json)
"""

import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
FOREIGN = re.compile(r"[\u0400-\u04FF\u3000-\u30FF\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")
NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


def main() -> int:
    n = sys.argv[1]
    wl = json.loads((ROOT / "build" / "worklists" / f"bucket{n}.json").read_text())
    path = ROOT / "tools" / "bootstrap" / "en" / f"bucket{n}.yaml"
    data = yaml.safe_load(path.read_text()) or {}
    problems: list[str] = []

    def text(where: str, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}: missing or empty")
        elif FOREIGN.search(value):
            problems.append(f"{where}: contains Cyrillic or CJK text")

    ops = data.get("operations") or {}
    for o in wl["operations"]:
        e = ops.get(o["operation_id"]) or {}
        text(f"operation {o['operation_id']} summary", e.get("summary"))
        text(f"operation {o['operation_id']} description", e.get("description"))
        if e.get("response") is not None:
            text(f"operation {o['operation_id']} response", e.get("response"))
    schemas = data.get("schemas") or {}
    for s in wl["schemas"]:
        e = schemas.get(s["key"])
        if e is None:
            problems.append(f"schema {s['key']} ({s['name']}): missing")
            continue
        text(f"schema {s['key']} description", e.get("description"))
        if e.get("rename") is not None and not NAME.match(str(e["rename"])):
            problems.append(f"schema {s['key']}: rename {e['rename']!r} is not a CamelCase identifier")
        props = e.get("properties") or {}
        for p in s.get("properties") or {}:
            text(f"schema {s['key']} property {p}", props.get(p))
        for p in props:
            if p not in (s.get("properties") or {}):
                problems.append(f"schema {s['key']}: unknown property {p}")
    for lim in data.get("limits") or []:
        if not {"schema", "property", "maxItems"} <= set(lim):
            problems.append(f"limit entry {lim}: needs schema, property, maxItems")
    for oid, ex in (data.get("examples") or {}).items():
        if not isinstance(ex, dict) or not set(ex) <= {"request", "response"}:
            problems.append(f"examples.{oid}: must map request/response to JSON values")
    for p in problems:
        print(p)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
