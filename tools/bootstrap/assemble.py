"""One-time bootstrap, step 2: turn build/draft.json into an OpenAPI 3.1 document.

Merges duplicated structures, names schemas, picks and repairs examples (recording every repair),
and, when English texts exist in tools/bootstrap/en/*.yaml, writes spec/openapi.yaml.
Without English texts it writes build/spec_draft.json and build/worklists/*.json for the writers.

Not part of the build; see importer.py.
"""

from __future__ import annotations

import copy
import json
import keyword
import re
import sys
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
EN_DIR = ROOT / "tools" / "bootstrap" / "en"

STRUCT_IGNORE = {"x-ru", "x-notes", "x-schema-example", "deprecated", "x-declared", "default"}


def camel(s: str) -> str:
    parts = re.split(r"[^0-9a-zA-Z]+", s)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


# --------------------------------------------------------------------------- naming of operations
def op_names(method: str, path: str, group: str, group_py: str) -> tuple[str, str, str]:
    """Return (python method name, operationId, root schema base name)."""
    segs = [s for s in path.strip("/").split("/")]
    ver = segs[0]
    assert re.fullmatch(r"v\d+", ver), path
    rest = segs[1:]
    norm = [s.replace("-", "_") for s in rest]
    if norm and norm[0] == group_py.rstrip("_"):
        norm = norm[1:]
    name = "_".join(norm) if norm else "list"
    name = f"{name}_{ver}"
    op_id = f"{group_py.rstrip('_')}_{name}"
    base = "".join(camel(s) for s in rest) + ver.upper()
    return name, op_id, base


def group_python_name(group: str) -> str:
    if group == "其他":
        return "other"
    g = group.replace("-", "_")
    if keyword.iskeyword(g):
        g += "_"
    return g


# --------------------------------------------------------------------------- schema helpers
def canon(schema: Any, cls: dict[str, str]) -> Any:
    if isinstance(schema, dict):
        out = {}
        for k in sorted(schema):
            if k in STRUCT_IGNORE:
                continue
            v = schema[k]
            if k == "$ref":
                out[k] = cls[v]
            else:
                out[k] = canon(v, cls)
        return out
    if isinstance(schema, list):
        return [canon(v, cls) for v in schema]
    return schema


def walk_refs(schema: Any):
    if isinstance(schema, dict):
        if "$ref" in schema:
            yield schema
        for k, v in schema.items():
            if k in ("x-schema-example",):
                continue
            yield from walk_refs(v)
    elif isinstance(schema, list):
        for v in schema:
            yield from walk_refs(v)


class Assembler:
    def __init__(self, draft: dict[str, Any]) -> None:
        self.ops = draft["operations"]
        self.comps: dict[str, dict[str, Any]] = draft["components"]
        self.repairs: list[str] = []

    # ----------------------------------------------------------------------- dedup
    def dedup(self) -> None:
        keys = list(self.comps)
        order = {k: i for i, k in enumerate(keys)}
        cls = {k: k for k in keys}
        while True:
            groups: dict[str, list[str]] = defaultdict(list)
            for k in keys:
                sch = self.comps[k]["schema"]
                sig = json.dumps(canon(sch, cls), sort_keys=True)
                if sch.get("type") not in ("object", None) and not sch.get("enum"):
                    # plain scalar aliases are named for what they mean; never merge them
                    sig = k
                groups[sig].append(k)
            new = {}
            for members in groups.values():
                rep = min(members, key=lambda m: order[m])
                for m in members:
                    new[m] = rep
            # refine only within previous classes
            if new == cls:
                break
            cls = new
        self.alias = cls
        merged: dict[str, dict[str, Any]] = {}
        for k in keys:
            rep = cls[k]
            if rep not in merged:
                merged[rep] = copy.deepcopy(self.comps[rep])
                merged[rep]["origins"] = []
                merged[rep]["ru_alts"] = []
            c = self.comps[k]
            merged[rep]["origins"].append(c.get("origin") or k)
            s = c["schema"]
            if s and s.get("x-ru") and s["x-ru"] != merged[rep]["schema"].get("x-ru"):
                merged[rep]["ru_alts"].append(s["x-ru"])
            # union property-level notes and descriptions
            if k != rep and s and "properties" in s:
                mp = merged[rep]["schema"]["properties"]
                for pn, ps in s["properties"].items():
                    if pn in mp:
                        for nk in ("x-notes",):
                            if ps.get(nk):
                                mp[pn].setdefault(nk, [])
                                for n in ps[nk]:
                                    if n not in mp[pn][nk]:
                                        mp[pn][nk].append(n)
                        if not mp[pn].get("x-ru") and ps.get("x-ru"):
                            mp[pn]["x-ru"] = ps["x-ru"]
        self.comps = merged

        def fix(x: Any) -> None:
            for r in walk_refs(x):
                r["$ref"] = cls[r["$ref"]]

        for c in self.comps.values():
            fix(c["schema"])
        for o in self.ops:
            for part in ("request", "response"):
                if o[part] and o[part]["schema"]:
                    fix(o[part]["schema"])

    # ----------------------------------------------------------------------- graph
    def build_graph(self) -> None:
        self.parents: dict[str, list[tuple[str, str, bool]]] = defaultdict(list)
        for k, c in self.comps.items():
            s = c["schema"]
            for pn, ps in (s.get("properties") or {}).items():
                if "$ref" in ps:
                    self.parents[ps["$ref"]].append((k, pn, False))
                elif ps.get("type") == "array" and "$ref" in (ps.get("items") or {}):
                    self.parents[ps["items"]["$ref"]].append((k, pn, True))
                elif ps.get("type") == "object" and "$ref" in (ps.get("additionalProperties") or {}):
                    self.parents[ps["additionalProperties"]["$ref"]].append((k, pn, False))
        self.roots: dict[str, list[tuple[dict[str, Any], str]]] = defaultdict(list)
        for o in self.ops:
            for part in ("request", "response"):
                if o[part] and o[part]["schema"] and "$ref" in o[part]["schema"]:
                    self.roots[o[part]["schema"]["$ref"]].append((o, part))

    # ----------------------------------------------------------------------- naming
    @staticmethod
    def clean(origin: str) -> str:
        if "." in origin:
            parts = [p for p in origin.split(".") if p and p[0].isupper()]
            origin = "".join(parts)
        origin = re.sub(r"^[a-z][a-z0-9_]*(?=[A-Z])", "", origin)
        origin = re.sub(r"V\d+(?=[A-Z]|$)", "", origin)
        origin = re.sub(r"^Get(?=[A-Z])", "", origin)
        origin = camel(origin.replace("_", " "))
        return origin or "Unnamed"

    def assign_names(self, overrides: dict[str, str]) -> None:
        names: dict[str, str] = {}
        used: dict[str, str] = {}

        def claim(k: str, name: str) -> None:
            base = name
            if name in used and used[name] != k:
                i = 2
                while f"{base}{i}" in used:
                    i += 1
                name = f"{base}{i}"
            names[k] = name
            used[name] = k

        # roots first
        ordered_ops = sorted(self.ops, key=lambda o: (o["path"], o["method"]))
        for o in ordered_ops:
            for part, suffix in (("request", "Request"), ("response", "Response")):
                sch = o[part] and o[part]["schema"]
                if sch and "$ref" in sch and sch["$ref"] not in names:
                    claim(sch["$ref"], o["base"] + suffix)

        # then the rest, breadth-first from roots so parents are named before children
        pending = [k for k in self.comps if k not in names]
        for _ in range(20):
            progress = False
            for k in list(pending):
                c = self.comps[k]
                origin = c.get("origin")
                if origin:
                    claim(k, self.clean(origin))
                    pending.remove(k)
                    progress = True
                    continue
                par = self.parents.get(k)
                if not par:
                    claim(k, self.clean(k.split(":")[-1]))
                    pending.remove(k)
                    progress = True
                    continue
                pk, pn, is_arr = par[0]
                if pk in names:
                    claim(k, names[pk] + camel(singular(pn) if is_arr else pn))
                    pending.remove(k)
                    progress = True
            if not pending or not progress:
                break
        for k in pending:
            claim(k, self.clean(k.split(":")[-1]))
        # apply overrides (by auto name)
        inv = {v: k for k, v in names.items()}
        for old, new in overrides.items():
            if old in inv:
                k = inv[old]
                if new in used and used[new] != k:
                    raise SystemExit(f"rename {old} -> {new} collides")
                del used[old]
                names[k] = new
                used[new] = k
        self.names = names


# --------------------------------------------------------------------------- example checking
INT_RE = re.compile(r"^-?[0-9]+$")


def is_datetime(v: str) -> bool:
    try:
        msgspec.json.decode(json.dumps(v).encode(), type=datetime)
        return True
    except msgspec.ValidationError:
        return False



# --------------------------------------------------------------------------- structural repairs
# Each entry: (op path, part, dotted location, replacement kind, note). Found by running the
# checker over every example in the references; see the notes for what each one repairs.
STRUCT_FIXES: list[tuple[str, str, str, str, str]] = [
    ("/v1/finance/cash-flow-statement/list", "response", "result.details", "object",
     "Ozon's schema declares `type: array` with `items: null` beside a `$ref`, but every example sends a single object; an object."),
    ("/v2/returns/rfbs/list", "response", "returns", "array",
     "Ozon's schema declares an object but its examples send a list of returns; an array."),
    ("/v4/product/info/attributes", "response", "result.images", "string-items",
     "Ozon's schema declares image objects (with the invalid type `array of strings`), but the examples send plain URL strings; an array of strings."),
    ("/v1/report/warehouse/stock", "request", "warehouseId", "int64-array-50",
     "Ozon's schema declares a string with `items` and `maxLength: 50`; the examples send a list of warehouse ids, so it is an array of at most 50 ids."),
    ("/v3/posting/fbs/get", "response", "result.tariffication", "one-or-many",
     "Ozon's newest example sends an object, older examples a list of such objects; both are accepted."),
    ("/v3/posting/fbs/list", "response", "result.postings.tariffication", "one-or-many",
     "Ozon's newest example sends an object, older examples a list of such objects; both are accepted."),
    ("/v3/posting/fbs/unfulfilled/list", "response", "result.postings.tariffication", "one-or-many",
     "Ozon's newest example sends an object, older examples a list of such objects; both are accepted."),
]

# (op path, part, dotted location, replacement schema keys, note): type repairs decided by hand
# from the examples (the automatic checker would take these values for placeholders).
PROPERTY_PATCHES: list[tuple[str, str, str, dict[str, Any], str]] = [
    ("/v1/actions/products", "request", "last_id", {"type": ["string", "number"]},
     "Ozon declares a number, but its examples send an opaque string cursor; a string (numbers are accepted too)."),
    ("/v1/actions/products", "response", "result.last_id", {"type": ["string", "number"]},
     "Ozon declares a number, but its examples send an opaque string cursor; a string (numbers are accepted too)."),
    ("/v1/actions/candidates", "request", "last_id", {"type": ["string", "number"]},
     "Ozon declares a number, but its examples send an opaque string cursor; a string (numbers are accepted too)."),
    ("/v1/actions/candidates", "response", "result.last_id", {"type": ["string", "number"]},
     "Ozon declares a number, but its examples send an opaque string cursor; a string (numbers are accepted too)."),
    ("/v1/pricing-strategy/product/info", "response", "result.strategy_competitor_id", {"type": "string"},
     "Ozon declares an integer, but its example sends a UUID string; a string."),
    ("/v1/warehouse/fbs/update", "request", "name", {"type": "string", "maxLength": 100, "minLength": None},
     "Ozon's schema says `minLength: 100`; a name of at least 100 characters is implausible and the limit is a maximum."),
    ("/v1/warehouse/fbs/update", "request", "phone", {"type": "string", "pattern": None},
     "Ozon's schema gives the format hint `+7(XXX)XXX-XX-XX` as a pattern; it is not a regular expression of the real values and is dropped."),
    ("/v2/actions/discounts-task/list", "response", "tasks.edited_till", {"pattern": None},
     "Ozon's schema gives the format hint ` YYYY-MM-DD` as a pattern, which no real value matches; dropped."),
    ("/v1/product/info/stocks-by-warehouse/fbs", "request", "offer_id", {"type": "array", "items": {"type": "string"}},
     "Ozon's schema types the seller's article codes as 64-bit integers; `offer_id` is a free-form string everywhere else."),
    ("/v1/product/info/stocks-by-warehouse/fbs", "response", "result.offer_id", {"type": "string"},
     "Ozon's schema types the seller's article code as a 64-bit integer; `offer_id` is a free-form string everywhere else."),
    ("/v2/returns/rfbs/list", "request", "last_id", {"type": ["integer", "string"], "format": "int64", "pattern": "^-?[0-9]+$"},
     "Ozon declares a 32-bit integer, but the value is a `return_id`, a 64-bit identifier elsewhere."),
]

# (op path, part, dotted location of the object, property names): required flags Ozon sets on
# alternatives (either of these filters may be used), removed.
NOT_REQUIRED: list[tuple[str, str, str, list[str], str]] = [
    ("/v1/report/list", "request", "", ["page_size"],
     "Ozon marks `page_size` required but documents a default of 100; optional."),
    ("/v3/posting/fbs/unfulfilled/list", "request", "filter", ["cutoff_from", "cutoff_to"],
     "Ozon marks `cutoff_from` and `cutoff_to` required, but its text allows filtering by `delivering_date_from`/`delivering_date_to` instead; neither pair is required by itself."),
]

# (op path, part, dotted location of the object, alternatives, note): objects that need one of
# several identifying fields, where Ozon marks only one of them required.
REQUIRE_ONE_OF: list[tuple[str, str, str, list[str], str]] = [
    ("/v2/products/stocks", "request", "stocks", ["offer_id", "product_id"],
     "Ozon marks `product_id` required, but its text says either `offer_id` or `product_id` identifies the product (`offer_id` wins when both are given); at least one of them is required."),
]

# (op path, part, dotted location in the example, note): example values to wrap in a list.
EXAMPLE_FIXES = [
    ("/v1/product/action/timer/update", "request", "product_ids",
     "Ozon's example sends a single number for the `product_ids` list; wrapped in a list."),
    ("/v1/product/action/timer/status", "request", "product_ids",
     "Ozon's example sends a single number for the `product_ids` list; wrapped in a list."),
]

PROPERTY_FIXES = {
    "jw_uin": ({"type": ["array", "string"], "items": {"type": "string"}},
               "Ozon's newest schema declares `array of strings` (an invalid type name); its examples send a plain string (often empty). Both a list of strings and a string are accepted."),
}


def locate(asm: "Assembler", o: dict[str, Any], part: str, dotted: str) -> tuple[dict[str, Any], str]:
    node = o[part]["schema"]
    if not dotted:
        return {"properties": {"": node}}, ""
    parts = dotted.split(".")
    for i, name in enumerate(parts):
        t = node
        while True:
            if "$ref" in t:
                t = asm.comps[t["$ref"]]["schema"]
            elif t.get("type") == "array":
                t = t["items"]
            else:
                break
        if i == len(parts) - 1:
            return t, name
        node = t["properties"][name]
    raise AssertionError


def apply_struct_fixes(asm: "Assembler") -> None:
    by_path = {o["path"]: o for o in asm.ops}
    for path, part, dotted, kind, note in STRUCT_FIXES:
        parent, name = locate(asm, by_path[path], part, dotted)
        old = parent["properties"][name]
        if kind == "array":
            item = {k: v for k, v in old.items() if k not in ("x-ru", "x-notes")}
            new = {"type": "array", "items": item}
            if old.get("x-ru"):
                new["x-ru"] = old["x-ru"]
        elif kind == "object":
            new = {**old["items"], "x-ru": old.get("x-ru")}
        elif kind == "string-items":
            new = {**old, "items": {"type": "string"}}
        elif kind == "int64-array-50":
            new = {"type": "array", "maxItems": 50, "items": {"type": ["integer", "string"], "format": "int64", "pattern": INT_RE.pattern}, "x-ru": old.get("x-ru")}
        elif kind == "one-or-many":
            new = {**old, "x-one-or-many": True}
        else:
            raise AssertionError(kind)
        new["x-notes"] = [*old.get("x-notes", []), note]
        parent["properties"][name] = new
    for path, part, dotted, patch, note in PROPERTY_PATCHES:
        parent, name = locate(asm, by_path[path], part, dotted)
        old = parent["properties"][name]
        new = dict(old)
        if "type" in patch:
            for k in ("format", "pattern", "minimum", "maximum", "items"):
                new.pop(k, None)
        new.update(patch)
        new = {k: v for k, v in new.items() if v is not None}
        new["x-notes"] = [*old.get("x-notes", []), note]
        parent["properties"][name] = new
    for path, part, dotted, names, note in NOT_REQUIRED:
        parent, name = locate(asm, by_path[path], part, dotted)
        obj = parent["properties"][name]
        while "$ref" in obj:
            obj = asm.comps[obj["$ref"]]["schema"]
        obj["required"] = [r for r in obj.get("required", []) if r not in names]
        if not obj["required"]:
            del obj["required"]
        obj.setdefault("x-notes", []).append(note)
    for path, part, dotted, alts, note in REQUIRE_ONE_OF:
        parent, name = locate(asm, by_path[path], part, dotted)
        obj = parent["properties"][name]
        while "$ref" in obj or obj.get("type") == "array":
            obj = asm.comps[obj["$ref"]]["schema"] if "$ref" in obj else obj["items"]
        obj["required"] = [r for r in obj.get("required", []) if r not in alts]
        obj["oneOf"] = [{"required": [a]} for a in alts]
        obj.setdefault("x-notes", []).append(note)
    for path, pag in PAGINATION.items():
        obj = by_path[path]["request"]["schema"]
        while "$ref" in obj:
            obj = asm.comps[obj["$ref"]]["schema"]
        if pag["position"] in (obj.get("required") or []):
            obj["required"] = [r for r in obj["required"] if r != pag["position"]]
            if not obj["required"]:
                del obj["required"]
            obj.setdefault("x-notes", []).append(
                f"Ozon marks `{pag['position']}` required; leaving it out starts from the first page, so it is optional here."
            )
    for c in asm.comps.values():
        props = (c["schema"] or {}).get("properties") or {}
        for pname, (repl, note) in PROPERTY_FIXES.items():
            if pname in props:
                old = props[pname]
                props[pname] = {**copy.deepcopy(repl), "x-ru": old.get("x-ru"), "x-notes": [note]}


RESPONSE_NOTES = {
    "/v4/posting/fbs/list": "Ozon's 2026-05 Russian reference shows an example wrapped in `result` with other field names (`status_alias`, `cutoff`, money as `units`/`nanos`); its schema and its 2026-06 Chinese reference agree on the top-level form described here, which is what this document follows.",
    "/v3/posting/fbs/unfulfilled/list": "Ozon's 2026-05 Russian reference shows the answer of `/v4/posting/fbs/unfulfilled/list` as the example of this method; the schema and the older examples agree on the `result` form described here.",
}


def apply_response_notes(asm: "Assembler") -> None:
    for o in asm.ops:
        note = RESPONSE_NOTES.get(o["path"])
        if note:
            sch = asm.comps[o["response"]["schema"]["$ref"]]["schema"]
            sch.setdefault("x-notes", []).append(note)


def apply_limits(asm: "Assembler", limits: list[dict[str, Any]]) -> None:
    by_name = {v: k for k, v in asm.names.items()}
    for lim in limits:
        key = lim["schema"]
        if key not in asm.comps:
            key = by_name.get(key, key)
        if key not in asm.comps:
            print(f"LIMIT: unknown schema {lim['schema']}", file=sys.stderr)
            continue
        props = asm.comps[key]["schema"].get("properties") or {}
        node = props.get(lim["property"])
        if node is None or node.get("type") != "array":
            print(f"LIMIT: {lim['schema']}.{lim['property']} is not an array property", file=sys.stderr)
            continue
        node["maxItems"] = int(lim["maxItems"])


def apply_example_fixes(o: dict[str, Any]) -> None:
    for path, part, dotted, note in EXAMPLE_FIXES:
        if o["path"] != path or not o.get(part):
            continue
        for ex in [o[part].get("example"), (o.get("page") or {}).get("request_example" if part == "request" else "response_200"), *[(v or {}).get(part) for v in o.get("other_examples", {}).values()]]:
            if isinstance(ex, dict) and dotted in ex and not isinstance(ex[dotted], list):
                ex[dotted] = [ex[dotted]]
        o[part]["example_fix_notes"] = [note]


class Checker:
    """Walk an example alongside an internal schema, repairing the schema (or the example) and
    recording each repair. ``add_missing`` adds properties the schema lacks."""

    def __init__(self, asm: Assembler, op: dict[str, Any], part: str, add_missing: bool) -> None:
        self.asm = asm
        self.op = op
        self.part = part
        self.add_missing = add_missing
        self.example_repairs: list[str] = []
        self.unresolved: list[str] = []

    def note(self, node: dict[str, Any], text: str) -> None:
        node.setdefault("x-notes", [])
        if text not in node["x-notes"]:
            node["x-notes"].append(text)

    def target(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self.asm.comps[node["$ref"]]["schema"]
        return node

    def check(self, node: dict[str, Any], value: Any, loc: str, holder: Any = None, hkey: Any = None) -> None:
        if node.get("x-one-or-many") and isinstance(value, list):
            for i, v in enumerate(value):
                self.check({k: v2 for k, v2 in node.items() if k != "x-one-or-many"}, v, f"{loc}[{i}]", value, i)
            return
        t = self.target(node)
        if value is None:
            if not node.get("x-nullable"):
                node["x-nullable"] = True
                self.note(node, "Ozon's examples send `null` here although the schema does not say so; nullable.")
            return
        if t.get("x-untyped"):
            return
        ty = t.get("type")
        types = ty if isinstance(ty, list) else [ty]
        if "object" in types or "properties" in t:
            if isinstance(value, dict):
                props = t.setdefault("properties", {})
                for k, v in value.items():
                    if k not in props:
                        if t.get("additionalProperties") is not None and not props:
                            self.check(t["additionalProperties"], v, f"{loc}.{k}")
                            continue
                        if not self.add_missing:
                            continue
                        props[k] = self.infer(v, self.comp_key_of(t) + camel(k), k)
                        props[k]["x-notes"] = [*props[k].get("x-notes", []), "Present in Ozon's example but missing from its schema; added."]
                        props[k]["x-added"] = True
                        continue
                    self.check(props[k], v, f"{loc}.{k}", value, k)
                return
            if isinstance(value, list) and not value and t.get("properties") is not None:
                self.unresolved.append(f"{loc}: [] where an object is declared")
                return
            self.unresolved.append(f"{loc}: {type(value).__name__} where object declared")
            return
        if "array" in types:
            if isinstance(value, list):
                for i, v in enumerate(value):
                    self.check(t["items"], v, f"{loc}[{i}]", value, i)
                return
            if isinstance(value, str) and "string" in types:
                return
            # scalar where array declared
            self.unresolved.append(f"{loc}: {value!r} where array declared")
            return
        if "integer" in types:
            if isinstance(value, bool):
                self.unresolved.append(f"{loc}: bool where integer declared")
                return
            if isinstance(value, int):
                lo, hi = t.get("minimum"), t.get("maximum")
                if self.part == "request" and holder is not None and ((lo is not None and value < lo) or (hi is not None and value > hi)):
                    self.fix_example(holder, hkey, lo if lo is not None and value < lo else hi, loc, value, "number outside the declared range")
                return
            if isinstance(value, float) and value.is_integer():
                return
            if isinstance(value, str) and INT_RE.match(value):
                if "string" not in types:
                    t["type"] = ["integer", "string"]
                    t["pattern"] = INT_RE.pattern
                    self.note(t, "Ozon's examples send this integer as a decimal string; both forms are accepted.")
                return
            if isinstance(value, str) and holder is not None:
                self.fix_example(holder, hkey, 0, loc, value, "integer")
                return
            if isinstance(value, float):
                t["type"] = "number"
                t.pop("format", None)
                self.note(t, "Ozon declares an integer but its examples send fractional numbers; a number.")
                return
            self.unresolved.append(f"{loc}: {value!r} where integer declared")
            return
        if "number" in types:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return
            if isinstance(value, str):
                try:
                    float(value)
                    if "string" not in types:
                        t["type"] = ["number", "string"]
                        self.note(t, "Ozon's examples send this number as a decimal string; both forms are accepted.")
                    return
                except ValueError:
                    pass
                if holder is not None:
                    self.fix_example(holder, hkey, 0, loc, value, "number")
                    return
            self.unresolved.append(f"{loc}: {value!r} where number declared")
            return
        if "boolean" in types:
            if isinstance(value, bool):
                return
            if value in ("true", "false"):
                if "string" not in types:
                    t["type"] = ["boolean", "string"]
                    t["enum"] = [True, False, "true", "false"]
                    self.note(t, "Ozon's examples send this boolean as the string `\"true\"`/`\"false\"`; both forms are accepted.")
                return
            if isinstance(value, str) and holder is not None:
                self.fix_example(holder, hkey, False, loc, value, "boolean")
                return
            self.unresolved.append(f"{loc}: {value!r} where boolean declared")
            return
        if "string" in types:
            if isinstance(value, list) and not value:
                t["x-empty-array-as-string"] = True
                self.note(t, "Ozon's examples send `[]` here when there is no value although a string is declared; `[]` is accepted.")
                return
            if not isinstance(value, str):
                if isinstance(value, (int, float)) and not isinstance(value, bool) and t.get("format") not in ("date-time",):
                    t["type"] = ["string", "number"]
                    if t.get("enum"):
                        t["enum"] = list(t["enum"]) + [int(e) for e in t["enum"] if isinstance(e, str) and INT_RE.match(e) and int(e) not in t["enum"]]
                    self.note(t, "Ozon declares a string but its examples send a number; both are accepted.")
                    return
                self.unresolved.append(f"{loc}: {value!r} where string declared")
                return
            if t.get("enum") and value not in t["enum"] and self.part == "request" and holder is not None:
                low = {str(e).lower(): e for e in t["enum"]}
                self.fix_example(holder, hkey, low.get(value.lower(), t["enum"][0]), loc, value, "value outside the declared list")
                return
            if t.get("enum") and value not in t["enum"]:
                low = {str(e).lower(): e for e in t["enum"]}
                if value.lower() in low:
                    msg = f"Ozon's examples send `{value}` where the schema lists `{low[value.lower()]}` (case differs); both are accepted."
                elif value == "string" and holder is not None:
                    self.fix_example(holder, hkey, t["enum"][0], loc, value, "enum")
                    return
                else:
                    msg = f"Ozon's examples send `{value}`, which the schema's value list does not include; added."
                t["enum"].append(value)
                self.note(t, msg)
                return
            fmt = t.get("format")
            if fmt == "date-time":
                if value == "" :
                    t.pop("format")
                    t["x-was-date-time"] = True
                    self.note(t, "Ozon declares a date-time but sends an empty string when there is no date; a plain string.")
                elif value == "string" and holder is not None:
                    self.fix_example(holder, hkey, "2024-05-14T10:30:00Z", loc, value, "date-time")
                elif not is_datetime(value):
                    t.pop("format")
                    t["x-was-date-time"] = True
                    self.note(t, f"Ozon declares a date-time but its examples send `{value}`; a plain string.")
            if fmt == "date" and not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                if value == "string" and holder is not None:
                    self.fix_example(holder, hkey, "2024-05-14", loc, value, "date")
                else:
                    t.pop("format")
                    self.note(t, f"Ozon declares a date but its examples send `{value}`; a plain string.")
            return
        self.unresolved.append(f"{loc}: unhandled schema {t}")

    def fix_example(self, holder: Any, key: Any, new: Any, loc: str, old: Any, kind: str) -> None:
        holder[key] = new
        self.example_repairs.append(f"{loc}: Ozon's example has the placeholder {json.dumps(old, ensure_ascii=False)} for a {kind}; replaced by {json.dumps(new)}.")

    def comp_key_of(self, t: dict[str, Any]) -> str:
        for k, c in self.asm.comps.items():
            if c["schema"] is t:
                return k
        return "Inline"

    def infer(self, v: Any, ctx: str, key: str = "") -> dict[str, Any]:
        idlike = key == "id" or key.endswith(("_id", "_ids", "Id")) or key in ("sku", "skus")
        countlike = key in ("quantity", "count", "days", "total", "limit", "offset", "page", "page_count") or key.endswith(("_count", "_quantity"))
        if v is None:
            return {"x-untyped": True, "x-notes": ["Ozon's example only shows `null` here, so the type is unknown; any JSON value is accepted."]}
        if isinstance(v, bool):
            return {"type": "boolean"}
        if isinstance(v, int):
            if idlike:
                return {"type": ["integer", "string"], "format": "int64", "pattern": INT_RE.pattern}
            if countlike:
                return {"type": "integer", "format": "int32"}
            return {"type": "number", "format": "double"}
        if isinstance(v, float):
            return {"type": "number", "format": "double"}
        if isinstance(v, str):
            if is_datetime(v) and "T" in v:
                return {"type": "string", "format": "date-time"}
            if INT_RE.match(v) and idlike:
                return {"type": ["integer", "string"], "format": "int64", "pattern": INT_RE.pattern}
            return {"type": "string"}
        if isinstance(v, list):
            kinds = {type(x).__name__ for x in v if x is not None}
            if not v or len(kinds) != 1:
                return {"type": "array", "items": {"x-untyped": True}}
            first = next(x for x in v if x is not None)
            return {"type": "array", "items": self.infer(first, ctx, key[:-1] if key.endswith("s") else key)}
        if isinstance(v, dict):
            obj = {"type": "object", "properties": {k: self.infer(x, ctx + camel(k), k) for k, x in v.items()}}
            self.asm.comps[ctx] = {"origin": None, "doc": "example", "schema": obj, "origins": [ctx], "ru_alts": []}
            return {"$ref": ctx}
        raise TypeError(v)


def fit_score(asm: "Assembler", node: dict[str, Any], value: Any, depth: int = 0) -> int:
    """How badly an example fits a schema: unknown keys plus shape mismatches (no mutation)."""
    if value is None or depth > 30:
        return 0
    while "$ref" in node:
        node = asm.comps[node["$ref"]]["schema"]
    if node.get("x-untyped"):
        return 0
    ty = node.get("type")
    types = ty if isinstance(ty, list) else [ty]
    if "object" in types or "properties" in node:
        if not isinstance(value, dict):
            return 5
        props = node.get("properties") or {}
        if not props and node.get("additionalProperties") is not None:
            return 0
        score = 0
        for k, v in value.items():
            if k not in props:
                score += 1
            else:
                score += fit_score(asm, props[k], v, depth + 1)
        return score
    if "array" in types:
        if not isinstance(value, list):
            return 0 if "string" in types and isinstance(value, str) else 5
        return sum(fit_score(asm, node.get("items") or {}, v, depth + 1) for v in value[:3])
    if isinstance(value, (dict, list)) and "string" not in types:
        return 5
    return 0


def strip_unknown(asm: "Assembler", node: dict[str, Any], value: Any, loc: str, out: list[str]) -> None:
    """Remove keys the request schema does not know from a request example (recorded)."""
    while "$ref" in node:
        node = asm.comps[node["$ref"]]["schema"]
    if isinstance(value, dict) and node.get("properties") is not None:
        props = node["properties"]
        for k in list(value):
            if k not in props and props:
                out.append(f"{loc}.{k}: not a field of the request schema; removed from Ozon's example.")
                del value[k]
            elif k in props:
                strip_unknown(asm, props[k], value[k], f"{loc}.{k}", out)
    elif isinstance(value, list) and node.get("type") == "array":
        for i, v in enumerate(value):
            strip_unknown(asm, node.get("items") or {}, v, f"{loc}[{i}]", out)


def pick_examples(o: dict[str, Any], part: str) -> list[tuple[str, Any]]:
    out = []
    main = o[part] and o[part].get("example")
    if main is not None:
        out.append((o["source"], main))
    page = o.get("page") or {}
    pv = page.get("request_example") if part == "request" else page.get("response_200")
    if pv is not None:
        out.append(("docs-zh-pages", pv))
    for k, ex in (o.get("other_examples") or {}).items():
        if part in ex and ex[part] is not None:
            out.append((k, ex[part]))
    return out



# --------------------------------------------------------------------------- operation tables
SAFE_OVERRIDES = {
    "/v1/actions/products": True,
    "/v1/pricing-strategy/status": False,
    "/v1/product/import/prices": False,
    "/v2/products/stocks": False,
}
SAFE_LAST = {
    "list", "info", "get", "count", "status", "tree", "attribute", "values", "search", "history",
    "candidates", "data", "details", "summary", "limit", "stocks", "prices", "attributes",
    "description", "discounted", "subscription", "wrong-volume", "rating-by-sku", "cancel-reason",
    "get-by-barcode", "validate", "strategy-ids-by-product-ids", "postings", "realization", "by-day",
    "posting", "compensation", "decompensation", "average-delivery-time", "product-queries", "totals",
    "roles", "actions", "fbs", "package-label",
}

RATE_LIMITS = {
    "/v2/products/stocks": {"requests": 80, "period": 60},
    "/v1/report/discounted/create": {"requests": 1, "period": 60},
    "/v1/analytics/data": {"requests": 1, "period": 60},
    "/v1/barcode/add": {"requests": 20, "period": 60},
    "/v1/barcode/generate": {"requests": 20, "period": 60},
}

P = lambda **kw: kw  # noqa: E731
PAGINATION = {
    # offset
    "/v1/analytics/data": P(style="offset", position="offset", limit="limit", items="result.data"),
    "/v1/analytics/average-delivery-time/details": P(style="offset", position="offset", limit="limit", items="data", total="total_rows"),
    "/v1/delivery-method/list": P(style="offset", position="offset", limit="limit", items="result", has_next="has_next"),
    "/v3/posting/fbs/list": P(style="offset", position="offset", limit="limit", items="result.postings", has_next="result.has_next"),
    "/v3/posting/fbs/unfulfilled/list": P(style="offset", position="offset", limit="limit", items="result.postings", total="result.count"),
    "/v1/review/comment/list": P(style="offset", position="offset", limit="limit", items="comments"),
    "/v2/chat/list": P(style="offset", position="offset", limit="limit", items="chats", total="total_chats_count"),
    # last_id
    "/v1/actions/products": P(style="last_id", position="last_id", limit="limit", items="result.products", next="result.last_id", total="result.total"),
    "/v1/actions/candidates": P(style="last_id", position="last_id", limit="limit", items="result.products", next="result.last_id", total="result.total"),
    "/v2/conditional-cancellation/list": P(style="last_id", position="last_id", limit="limit", items="result", next="last_id"),
    "/v3/product/list": P(style="last_id", position="last_id", limit="limit", items="result.items", next="result.last_id", total="result.total"),
    "/v4/product/info/attributes": P(style="last_id", position="last_id", limit="limit", items="result", next="last_id", total="total"),
    "/v3/products/info/attributes": P(style="last_id", position="last_id", limit="limit", items="result", next="last_id", total="total"),
    "/v1/returns/list": P(style="last_id", position="last_id", limit="limit", items="returns", next_from_item="id", has_next="has_next"),
    "/v2/returns/rfbs/list": P(style="last_id", position="last_id", limit="limit", items="returns", next_from_item="return_id"),
    "/v1/review/list": P(style="last_id", position="last_id", limit="limit", items="reviews", next="last_id", has_next="has_next"),
    "/v2/review/list": P(style="last_id", position="last_id", limit="limit", items="reviews", next="last_id", has_next="has_next"),
    "/v2/actions/discounts-task/list": P(style="last_id", position="last_id", limit="limit", items="tasks", next_from_item="id"),
    # cursor
    "/v3/chat/list": P(style="cursor", position="cursor", limit="limit", items="chats", next="cursor", has_next="has_next"),
    "/v1/pass/list": P(style="cursor", position="cursor", limit="limit", items="arrival_passes", next="cursor"),
    "/v1/product/info/wrong-volume": P(style="cursor", position="cursor", limit="limit", items="products", next="cursor"),
    "/v4/product/info/stocks": P(style="cursor", position="cursor", limit="limit", items="items", next="cursor", total="total"),
    "/v1/product/info/warehouse/stocks": P(style="cursor", position="cursor", limit="limit", items="stocks", next="cursor", has_next="has_next"),
    "/v5/product/info/prices": P(style="cursor", position="cursor", limit="limit", items="items", next="cursor", total="total"),
    "/v2/warehouse/list": P(style="cursor", position="cursor", limit="limit", items="warehouses", next="cursor", has_next="has_next"),
    "/v4/posting/fbs/list": P(style="cursor", position="cursor", limit="limit", items="postings", next="cursor", has_next="has_next"),
    "/v4/posting/fbs/unfulfilled/list": P(style="cursor", position="cursor", limit="limit", items="postings", next="cursor", has_next="has_next"),
    "/v2/delivery-method/list": P(style="cursor", position="cursor", limit="limit", items="delivery_methods", next="cursor", has_next="has_next"),
    "/v2/carriage/delivery/list": P(style="cursor", position="cursor", limit="limit", items="methods", next="cursor", has_next="has_next"),
    "/v2/product/info/stocks-by-warehouse/fbs": P(style="cursor", position="cursor", limit="limit", items="products", next="cursor", has_next="has_next"),
    # page
    "/v1/actions/discounts-task/list": P(style="page", position="page", limit="limit", items="result", first_page=1),
    "/v1/analytics/product-queries": P(style="page", position="page", limit="page_size", items="items", page_count="page_count", first_page=0),
    "/v1/analytics/product-queries/details": P(style="page", position="page", limit="page_size", items="queries", page_count="page_count", first_page=0),
    "/v3/finance/transaction/list": P(style="page", position="page", limit="page_size", items="result.operations", page_count="result.page_count", first_page=1),
    "/v1/finance/cash-flow-statement/list": P(style="page", position="page", limit="page_size", items="result.cash_flows", page_count="result.page_count", first_page=1),
    "/v1/pricing-strategy/competitors/list": P(style="page", position="page", limit="limit", items="competitor", total="total", first_page=1),
    "/v1/pricing-strategy/list": P(style="page", position="page", limit="limit", items="strategies", total="total", first_page=1),
    "/v1/report/list": P(style="page", position="page", limit="page_size", items="result.reports", total="result.total", first_page=1),
}


def is_safe(path: str) -> bool:
    if path in SAFE_OVERRIDES:
        return SAFE_OVERRIDES[path]
    return path.rstrip("/").split("/")[-1] in SAFE_LAST


# --------------------------------------------------------------------------- emission
def load_en() -> dict[str, Any]:
    ops: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    limits: list[dict[str, Any]] = []
    examples: dict[str, Any] = {}
    if EN_DIR.exists():
        for f in sorted(EN_DIR.glob("*.yaml")):
            data = yaml.safe_load(f.read_text()) or {}
            ops.update(data.get("operations") or {})
            for key, entry in (data.get("schemas") or {}).items():
                merged = schemas.setdefault(key, {})
                props = {**(merged.get("properties") or {}), **(entry.get("properties") or {})}
                merged.update(entry)
                if props:
                    merged["properties"] = props
            limits.extend(data.get("limits") or [])
            examples.update(data.get("examples") or {})
    return {"operations": ops, "schemas": schemas, "limits": limits, "examples": examples}


class Emitter:
    def __init__(self, asm: Assembler, en: dict[str, Any], draft_mode: bool) -> None:
        self.asm = asm
        self.en = en
        self.draft = draft_mode
        self.missing: list[str] = []

    def ref(self, key: str) -> str:
        return "#/components/schemas/" + self.asm.names[key]

    def desc(self, text: str | None, ru: str | None, where: str) -> str | None:
        if text:
            return text.strip()
        self.missing.append(where)
        if self.draft:
            return "RU: " + (ru or "").strip()
        return None

    def node(self, n: dict[str, Any], where: str, en_text: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if "$ref" in n:
            r = {"$ref": self.ref(n["$ref"])}
            alts = [r]
            if n.get("x-one-or-many"):
                alts.append({"type": "array", "items": {"$ref": self.ref(n["$ref"])}})
            if n.get("x-nullable"):
                alts.append({"type": "null"})
            if len(alts) == 1:
                out.update(r)
            else:
                out["anyOf"] = alts
        else:
            ty = n.get("type")
            if ty is not None:
                types = list(ty) if isinstance(ty, list) else [ty]
                if n.get("x-empty-array-as-string") and "array" not in types:
                    types.append("array")
                if n.get("x-nullable") and "null" not in types:
                    types.append("null")
                out["type"] = types[0] if len(types) == 1 else types
            if n.get("pattern") and re.search(r"YYYY|XXX", n["pattern"]):
                hint = n["pattern"]
                n = {k: v for k, v in n.items() if k != "pattern"}
                n["x-notes"] = [*n.get("x-notes", []), f"Ozon's schema gives the format hint `{hint.strip()}` as a pattern, which real values do not match; dropped."]
            for k in ("format", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength", "multipleOf", "minItems", "maxItems", "uniqueItems"):
                if k in n:
                    out[k] = n[k]
            if n.get("x-empty-array-as-string"):
                out["maxItems"] = 0
            if "enum" in n:
                vals = list(n["enum"])
                if "default" in n and n["default"] not in vals:
                    vals.append(n["default"])
                    n.setdefault("x-notes", []).append(f"Ozon's default `{n['default']}` is missing from its value list; added.")
                out["enum"] = vals + ([None] if n.get("x-nullable") else [])
            if "items" in n:
                out["items"] = self.node(n["items"], where + "[]", None)
                out["items"].pop("description", None)
            if "additionalProperties" in n:
                out["additionalProperties"] = self.node(n["additionalProperties"], where + "{}", None)
                out["additionalProperties"].pop("description", None)
            if n.get("x-untyped"):
                pass
            if "default" in n:
                dflt = n["default"]
                if out.get("type") == "array" and not isinstance(dflt, list):
                    dflt = [dflt]
                    n.setdefault("x-notes", []).append("Ozon gives a single value as the default of this list; it is a one-item list.")
                out["default"] = dflt
        d = self.desc(en_text, n.get("x-ru"), where)
        if d is not None:
            out = {"description": d, **out}
        if n.get("deprecated"):
            out["deprecated"] = True
        notes = list(n.get("x-notes") or [])
        if n.get("x-declared") == "string":
            notes.append("Ozon declares this 64-bit integer as a string here and as a number elsewhere; both forms are accepted.")
        if notes:
            out["x-ozon-note"] = " ".join(dict.fromkeys(notes))
        return out

    def component(self, key: str) -> dict[str, Any]:
        c = self.asm.comps[key]
        s = c["schema"]
        name = self.asm.names[key]
        en = self.en["schemas"].get(key) or {}
        out: dict[str, Any] = {}
        if s.get("type") == "object" or "properties" in s:
            d = self.desc(en.get("description"), s.get("x-ru") or (c.get("ru_alts") or [None])[0], f"schema {name}")
            if d is not None:
                out["description"] = d
            out["type"] = "object"
            req = s.get("required")
            if req:
                out["required"] = list(req)
            props = {}
            en_props = en.get("properties") or {}
            for pn, ps in (s.get("properties") or {}).items():
                props[pn] = self.node(ps, f"{name}.{pn}", en_props.get(pn))
            out["properties"] = props
            notes = list(s.get("x-notes") or [])
            if "oneOf" in s:
                out["anyOf"] = s["oneOf"]
                notes.append("Ozon's schema says exactly one of these alternatives (`oneOf`), but its examples pass several; at least one is required (`anyOf`).")
            if notes:
                out["x-ozon-note"] = " ".join(dict.fromkeys(notes))
            if len(c.get("origins") or []) > 1:
                pass
        else:
            out = self.node(s, f"schema {name}", en.get("description"))
        return out


TAG_TEXT = {
    "actions": "Ozon promotions: list actions, manage the products taking part, and handle discount requests from buyers.",
    "analytics": "Sales and traffic analytics, search-query statistics and average delivery time.",
    "barcode": "Generate barcodes for products and bind existing ones.",
    "carriage": "FBS carriages (shipments handed over to Ozon): contents, cancellation and the passes for the vehicle.",
    "chat": "Chats with buyers and Ozon support: list, history, send messages and files, mark as read.",
    "conditional-cancellation": "Buyer requests to cancel rFBS orders: list them and approve or reject them.",
    "delivery-method": "Delivery methods configured on the seller's warehouses.",
    "description-category": "The category tree, category attributes and their dictionary values, needed to create product cards.",
    "fbs": "FBS and rFBS posting status changes, tracking numbers and marking-code exemplars.",
    "finance": "Financial reports: transactions, cash flow statements, realization (sales) reports, compensations and accruals.",
    "pass": "Arrival passes for warehouse visits.",
    "polygon": "Delivery polygons for rFBS courier delivery and their binding to delivery methods.",
    "posting": "FBS postings (shipments of an order): list, get, ship, cancel, labels and related references.",
    "pricing-strategy": "Pricing strategies that follow competitors' prices.",
    "product": "Product cards: create, update, archive, prices, stocks information, images, attributes and limits.",
    "products": "Product stock updates, deletion of archived products without SKU, and legacy attribute lookups.",
    "report": "Asynchronous reports: create a report, then poll for its file.",
    "return": "Passes for picking up returns at Ozon's warehouses.",
    "returns": "FBO, FBS and rFBS returns: lists, counts and the actions on rFBS return requests.",
    "review": "Product reviews: list, read, change status and answer with comments.",
    "roles": "Roles and methods available to the API key in use.",
    "warehouse": "Seller warehouses (FBS and rFBS): list, create, update, archive, first mile and drop-off points.",
    "其他": "Operations that Ozon's Chinese index files under 'other': older chat history and chat list versions and an older exemplar method.",
}

INFO_DESCRIPTION = """\
An OpenAPI 3.1 description of the Ozon Seller API (https://api-seller.ozon.ru) maintained by the
ozon_async project. It is converted by hand from Ozon's published swagger files and documentation and
repairs what those get wrong; every repair is recorded in an `x-ozon-note` on the schema or property
(or, for examples, in `x-ozon-example-repairs`).

Conventions:

- 64-bit integers (`format: int64`) are declared `type: [integer, string]` with a decimal pattern:
  Ozon's gateway sends them as JSON numbers in some answers and as strings in others.
- The first type of a type list is the real one: `[number, string]` is a number that may arrive as
  a decimal string, `[string, number]` a string that may arrive as a number, `[boolean, string]` a
  boolean that may arrive as `"true"`/`"false"`, `[array, string]` a list that may arrive as a
  single string, and `[string, array]` with `maxItems: 0` a string sent as `[]` when empty.
- A property that the server may send as `null` is nullable (`null` in its type list, or `anyOf`
  with `{type: null}` for a `$ref`).
- Every request sends `Client-Id` and `Api-Key` headers. Errors use the `ErrorResponse` body.
- Ozon allows 50 requests per second per Client-Id across all methods; some methods have lower limits
  (`x-ozon-rate-limit`).

Extensions used in this document (the SDK's generator and runtime read them):

- `x-ozon-safe: true` on an operation that only reads. Clients may resend it after a timeout, a
  5xx answer or a dropped connection; other operations are never resent unless the request
  provably did not reach the server.
- `x-ozon-rate-limit: {requests: N, period: S}`: at most N requests every S seconds per Client-Id
  for this operation, on top of the global limit.
- `x-ozon-pagination`: how to walk the pages of a list operation. Keys: `style` (`offset`,
  `last_id`, `cursor` or `page`); `position`, the request field that carries the position (offset,
  last id, cursor or page number); `limit`, the request field with the page size; `items`, the dotted
  path of the item list in the response; `next`, the dotted response path of the next position
  (`last_id`, `cursor` styles); `next_from_item`, the item field whose value on the last item is the
  next position when the response has no `next`; `has_next`, the dotted response path of the flag
  that more pages exist; `total`, the dotted response path of the total item count; `page_count`, the
  dotted response path of the page count; `first_page`, the number of the first page (`page` style).
- `x-ozon-replaced-by: "METHOD /path"` on a deprecated operation: the operation to use instead.
- `x-title-zh`: the operation's title in Ozon's Chinese documentation index.
- `x-ozon-note`: a repair of Ozon's reference or a fact worth knowing about the field.
- `x-ozon-example-source`: where the example comes from (`ozon-swagger-ru-2026-05`,
  `ozon-swagger-ru-2025-09`, `ozon-swagger-zh-2026-06`, `ozon-docs-zh`, or `written` when the
  references have none and the example was written for this document); `x-ozon-example-repairs`
  lists changes made to Ozon's example.
- `x-python-name` on a tag: the attribute name of the group in the Python client where the rule
  (hyphens become underscores, a keyword gets a trailing underscore) does not give one.
"""

SOURCE_NAMES = {
    "ru2026": "ozon-swagger-ru-2026-05",
    "ru2025": "ozon-swagger-ru-2025-09",
    "zh2026": "ozon-swagger-zh-2026-06",
    "docs-zh-pages": "ozon-docs-zh",
}


def sample_for(asm: Assembler, node: dict[str, Any], name: str, depth: int = 0) -> Any:
    """A plausible value for a schema node, used only where the references give no example."""
    while "$ref" in node:
        node = asm.comps[node["$ref"]]["schema"]
    ty = node.get("type")
    types = ty if isinstance(ty, list) else [ty]
    if "enum" in node and node["enum"]:
        return node["enum"][0]
    if "object" in types or "properties" in node:
        if depth > 6:
            return {}
        return {k: sample_for(asm, v, k, depth + 1) for k, v in (node.get("properties") or {}).items()}
    if "array" in types:
        return [sample_for(asm, node.get("items") or {"type": "string"}, singular(name), depth + 1)]
    if "integer" in types:
        if node.get("format") == "int64":
            if "warehouse" in name:
                return 1020000089903000
            if name.endswith("id") or name.endswith("ids") or name in ("sku",):
                return 1234567890
        if name in ("limit", "page_size"):
            return 100
        if name == "page":
            return 1
        return max(node.get("minimum", 1), 1)
    if "number" in types:
        return 1.5
    if "boolean" in types:
        return True
    if node.get("format") == "date-time":
        return "2026-05-14T10:30:00Z"
    if node.get("format") == "date":
        return "2026-05-14"
    if "posting_number" in name:
        return "57195475-0050-3"
    if "offer_id" in name:
        return "PH-11052"
    if "currency" in name:
        return "RUB"
    if name in ("cursor", "last_id"):
        return ""
    return "example"


def write_outputs(asm: Assembler, em: Emitter, en: dict[str, Any], draft_mode: bool) -> None:
    ops_sorted = sorted(asm.ops, key=lambda o: (o["path"], o["method"]))
    paths: dict[str, Any] = {}
    extra_schemas: dict[str, Any] = {}
    for o in ops_sorted:
        oid = o["operation_id"]
        eop = en["operations"].get(oid) or {}
        op: dict[str, Any] = {
            "operationId": oid,
            "tags": [o["group"]],
            "summary": em.desc(eop.get("summary"), o.get("ru_summary"), f"op {oid} summary"),
            "description": em.desc(eop.get("description"), o.get("ru_description"), f"op {oid} description"),
        }
        if o.get("title_zh"):
            op["x-title-zh"] = o["title_zh"]
        succ = o.get("successor")
        if o["path"] == "/v3/products/info/attributes":
            succ = "POST /v4/product/info/attributes"
        if succ or o.get("ozon_deprecated"):
            op["deprecated"] = True
            if succ:
                op["x-ozon-replaced-by"] = succ
        if is_safe(o["path"]):
            op["x-ozon-safe"] = True
        if o["path"] in PAGINATION:
            op["x-ozon-pagination"] = PAGINATION[o["path"]]
        if o["path"] in RATE_LIMITS:
            op["x-ozon-rate-limit"] = RATE_LIMITS[o["path"]]
        # request
        if o["method"] != "GET":
            rq = o["request"]
            media: dict[str, Any] = {}
            if rq and rq.get("schema"):
                media["schema"] = {"$ref": em.ref(rq["schema"]["$ref"])}
                ex = rq.get("chosen_example")
                src = rq.get("chosen_source")
                if ex is None:
                    ex = en["examples"].get(oid, {}).get("request") if en["examples"].get(oid) else None
                    if ex is None:
                        ex = sample_for(asm, rq["schema"], "")
                    src = "written"
                media["example"] = ex
                media["x-ozon-example-source"] = SOURCE_NAMES.get(src, src)
                reps = list(rq.get("example_repairs") or []) + list(rq.get("example_fix_notes") or [])
                if reps:
                    media["x-ozon-example-repairs"] = reps
            else:
                media["schema"] = {"$ref": "#/components/schemas/Empty"}
                media["example"] = {}
                media["x-ozon-example-source"] = "written"
                media["x-ozon-note"] = "Ozon's reference declares no request body; the client sends an empty JSON object."
            op["requestBody"] = {"required": True, "content": {"application/json": media}}
        # response
        rs = o["response"]
        r200: dict[str, Any]
        if o["path"] == "/v2/posting/fbs/package-label":
            r200 = {
                "description": "The labels as a PDF file.",
                "content": {
                    "application/pdf": {
                        "schema": {"type": "string", "format": "binary", "contentMediaType": "application/pdf"},
                        "example": "%PDF-1.7\n%...",
                        "x-ozon-example-source": "written",
                        "x-ozon-note": "Ozon's reference describes a JSON wrapper (`content_type`, `file_name`, `file_content`) under `application/pdf`; the server sends the PDF bytes themselves.",
                    }
                },
            }
        elif rs and rs.get("schema"):
            media = {"schema": {"$ref": em.ref(rs["schema"]["$ref"])}}
            ex = rs.get("chosen_example")
            src = rs.get("chosen_source")
            if ex is None:
                ex = (en["examples"].get(oid) or {}).get("response")
                if ex is None:
                    ex = sample_for(asm, rs["schema"], "")
                src = "written"
            media["example"] = ex
            media["x-ozon-example-source"] = SOURCE_NAMES.get(src, src)
            reps = list(rs.get("example_repairs") or [])
            if o.get("misplaced_example"):
                reps.append("Ozon's reference puts this example beside the media type instead of inside it; moved.")
            if reps:
                media["x-ozon-example-repairs"] = reps
            r200 = {"description": (eop.get("response") or "Success."), "content": {"application/json": media}}
        else:
            r200 = {
                "description": (eop.get("response") or "Success."),
                "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Empty"},
                    "example": {},
                    "x-ozon-example-source": "written",
                    "x-ozon-note": "Ozon's reference declares no body for this answer; the server confirms with an empty JSON object.",
                }},
            }
        op["responses"] = {"200": r200, "default": {"$ref": "#/components/responses/Error"}}
        paths.setdefault(o["path"], {})[o["method"].lower()] = op

    schemas: dict[str, Any] = {}
    for key in sorted(asm.comps, key=lambda k: asm.names[k]):
        schemas[asm.names[key]] = em.component(key)
    schemas.update(extra_schemas)
    assert "Empty" in schemas, "the empty object schema must be named Empty (tools/bootstrap/en/extra.yaml)"
    schemas["ErrorResponse"] = {
        "description": "The error body Ozon sends with every non-2xx answer.",
        "type": "object",
        "properties": {
            "code": {"description": "Ozon's numeric error code (gRPC status code; 8 for a rate limit).", "type": "integer", "format": "int32"},
            "message": {"description": "A human-readable description of the error.", "type": "string"},
            "details": {"description": "Additional structured information about the error.", "type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}},
        },
    }
    schemas["ErrorDetail"] = {
        "description": "One item of additional error information.",
        "type": "object",
        "properties": {
            "typeUrl": {"description": "The type of the detail value.", "type": "string"},
            "value": {"description": "The detail value.", "type": "string"},
        },
    }
    schemas = dict(sorted(schemas.items()))
    tags = []
    for g in sorted({o["group"] for o in asm.ops}):
        t = {"name": g, "description": TAG_TEXT[g]}
        if g == "其他":
            t["x-python-name"] = "other"
        tags.append(t)
    doc = {
        "openapi": "3.1.0",
        "info": {
            "title": "Ozon Seller API",
            "version": "2026.05",
            "description": INFO_DESCRIPTION,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "https://api-seller.ozon.ru", "description": "Production"}],
        "tags": tags,
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "ClientId": {"type": "apiKey", "in": "header", "name": "Client-Id", "description": "The seller's client identifier."},
                "ApiKey": {"type": "apiKey", "in": "header", "name": "Api-Key", "description": "The seller's API key."},
            },
            "responses": {
                "Error": {
                    "description": "An error answer with Ozon's error body.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}, "example": {"code": 8, "message": "You have reached request rate limit per second", "details": []}}},
                }
            },
            "schemas": schemas,
        },
        "security": [{"ClientId": [], "ApiKey": []}],
    }
    if draft_mode:
        (BUILD / "spec_draft.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1))
        if "--draft-yaml" in sys.argv:
            (BUILD / "draft_openapi.yaml").write_text(yaml.dump(doc, Dumper=SpecDumper, allow_unicode=True, sort_keys=False, width=100))
        else:
            write_worklists(asm, en)
    else:
        out = ROOT / "spec" / "openapi.yaml"
        out.write_text(yaml.dump(doc, Dumper=SpecDumper, allow_unicode=True, sort_keys=False, width=100))
    return None


class SpecDumper(yaml.SafeDumper):
    pass


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


SpecDumper.add_representer(str, _str_presenter)


def write_worklists(asm: Assembler, en: dict[str, Any]) -> None:
    ops_sorted = sorted(asm.ops, key=lambda o: (o["path"], o["method"]))
    unit: dict[str, str] = {}
    for g, n in (("posting", 4), ("product", 2)):
        gops = [o for o in ops_sorted if o["group"] == g]
        for i, o in enumerate(gops):
            unit[o["operation_id"]] = f"{g}#{1 + (n * i) // len(gops)}"
    for o in ops_sorted:
        unit.setdefault(o["operation_id"], o["group"])
    owner: dict[str, str] = {}
    for o in ops_sorted:
        stack = [o[p]["schema"]["$ref"] for p in ("request", "response") if o[p] and o[p].get("schema")]
        while stack:
            k = stack.pop()
            if k in owner:
                continue
            owner[k] = unit[o["operation_id"]]
            for r in walk_refs(asm.comps[k]["schema"]):
                stack.append(r["$ref"])
    load: dict[str, int] = defaultdict(int)
    for k, g in owner.items():
        load[g] += len((asm.comps[k]["schema"] or {}).get("properties") or {}) + 1
    for o in asm.ops:
        load[unit[o["operation_id"]]] += 4
    buckets: list[list[str]] = [[] for _ in range(8)]
    sizes = [0] * 8
    for g in sorted(load, key=lambda g: -load[g]):
        i = sizes.index(min(sizes))
        buckets[i].append(g)
        sizes[i] += load[g]
    wl_dir = BUILD / "worklists"
    wl_dir.mkdir(exist_ok=True)

    def short_type(n: dict[str, Any]) -> str:
        if "$ref" in n:
            t = asm.names[n["$ref"]]
            return t + (" | list" if n.get("x-one-or-many") else "") + (" | null" if n.get("x-nullable") else "")
        ty = n.get("type")
        if ty == "array":
            return "array of " + short_type(n.get("items") or {})
        s = "|".join(ty) if isinstance(ty, list) else str(ty)
        if n.get("format"):
            s += f" ({n['format']})"
        return s

    for i, b in enumerate(buckets):
        items = {"groups": b, "operations": [], "schemas": []}
        for o in ops_sorted:
            if unit[o["operation_id"]] not in b:
                continue
            page = o.get("page") or {}
            items["operations"].append({
                "operation_id": o["operation_id"],
                "method": o["method"],
                "path": o["path"],
                "group": o["group"],
                "title_zh": o.get("title_zh"),
                "ru_summary": o.get("ru_summary"),
                "ru_description": o.get("ru_description"),
                "ru_response_description": o.get("response_ru"),
                "zh_page_text": (page.get("text_zh") or "")[:3000],
                "deprecated_successor": o.get("successor"),
                "safe_read_only": is_safe(o["path"]),
                "pagination": PAGINATION.get(o["path"]),
                "rate_limit": RATE_LIMITS.get(o["path"]),
                "request_schema": asm.names[o["request"]["schema"]["$ref"]] if o["request"] and o["request"].get("schema") else None,
                "response_schema": asm.names[o["response"]["schema"]["$ref"]] if o["response"] and o["response"].get("schema") else None,
                "has_request_example": bool(o["request"] and o["request"].get("chosen_example") is not None) or o["method"] == "GET" or not (o["request"] and o["request"].get("schema")),
                "has_response_example": bool(o["response"] and o["response"].get("chosen_example") is not None) or not (o["response"] and o["response"].get("schema")) or o["path"] == "/v2/posting/fbs/package-label",
            })
        for k in sorted((k for k, g in owner.items() if g in b), key=lambda k: asm.names[k]):
            c = asm.comps[k]
            s = c["schema"]
            entry = {
                "key": k,
                "name": asm.names[k],
                "ozon_names": c.get("origins"),
                "ru_description": s.get("x-ru") or (c.get("ru_alts") or [None])[0],
                "used_in": sorted({asm.names[p] + "." + pn for p, pn, _ in asm.parents.get(k, [])})[:6],
            }
            if "properties" in s or s.get("type") == "object":
                entry["properties"] = {
                    pn: {
                        "type": short_type(ps),
                        **({"enum": ps["enum"]} if ps.get("enum") else {}),
                        "ru": ps.get("x-ru"),
                        **({"notes": ps["x-notes"]} if ps.get("x-notes") else {}),
                        **({"required": True} if pn in (s.get("required") or []) else {}),
                    }
                    for pn, ps in (s.get("properties") or {}).items()
                }
            else:
                entry["type"] = short_type(s)
                if s.get("enum"):
                    entry["enum"] = s["enum"]
            items["schemas"].append(entry)
        (wl_dir / f"bucket{i + 1}.json").write_text(json.dumps(items, ensure_ascii=False, indent=1))
        print(f"bucket{i + 1}: {b} load={sizes[i]}", file=sys.stderr)


def main() -> None:
    draft = json.loads((BUILD / "draft.json").read_text())
    asm = Assembler(draft)
    asm.dedup()
    unresolved: list[str] = []
    ignored: list[str] = []
    apply_struct_fixes(asm)
    for o in asm.ops:
        apply_example_fixes(o)
        o["group_py"] = group_python_name(o["group"])
        o["name"], o["operation_id"], o["base"] = op_names(o["method"], o["path"], o["group"], o["group_py"])
        for part in ("request", "response"):
            spec = o[part]
            if not spec or not spec.get("schema"):
                continue
            if spec["content_type"] != "application/json":
                continue
            cands = pick_examples(o, part)
            if cands:
                scores = [fit_score(asm, spec["schema"], ex) for _, ex in cands]
                best = min(range(len(cands)), key=lambda i: (scores[i], i))
                cands = [cands[best]] + [c for i, c in enumerate(cands) if i != best]
            o[part]["example_candidates"] = [c[0] for c in cands]
            for i, (src, ex) in enumerate(cands):
                if i == 0 and part == "request":
                    stripped: list[str] = []
                    strip_unknown(asm, spec["schema"], ex, "request", stripped)
                    spec.setdefault("example_fix_notes", []).extend(stripped)
                ck = Checker(asm, o, part, add_missing=(i == 0 and part == "response"))
                ck.check(spec["schema"], ex, part)
                if i == 0:
                    spec["chosen_example"] = ex
                    spec["chosen_source"] = src
                    spec["example_repairs"] = ck.example_repairs
                    unresolved += [f"{o['path']} {part} [{src}] {u}" for u in ck.unresolved]
                else:
                    ignored.extend(f"{o['path']} {part} [{src}] {u}" for u in ck.unresolved)
    print("UNRESOLVED:\n" + "\n".join(unresolved), file=sys.stderr)
    print("IGNORED (not the chosen example):\n" + "\n".join(ignored), file=sys.stderr)
    asm.build_graph()
    en = load_en()
    asm.assign_names({})
    apply_limits(asm, en["limits"])
    apply_response_notes(asm)
    overrides = {}
    for key, v in en["schemas"].items():
        if v.get("rename"):
            overrides[key] = v["rename"]
    asm.assign_names({})
    for key, new in overrides.items():
        if key in asm.names:
            asm.names[key] = new
    seen_names: dict[str, str] = {}
    for key in sorted(asm.names):
        n = asm.names[key]
        if n in seen_names:
            print(f"NAME COLLISION: {n} for {seen_names[n]} and {key}", file=sys.stderr)
            i = 2
            while f"{n}{i}" in asm.names.values():
                i += 1
            asm.names[key] = f"{n}{i}"
        seen_names[asm.names[key]] = key
    (BUILD / "names.json").write_text(json.dumps(asm.names, indent=1, ensure_ascii=False))
    draft_mode = "--final" not in sys.argv
    em = Emitter(asm, en, draft_mode)
    write_outputs(asm, em, en, draft_mode)
    print(len(asm.comps), "components;", len(em.missing), "texts missing", file=sys.stderr)


if __name__ == "__main__":
    main()
