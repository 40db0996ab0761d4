"""Choosing, checking and repairing the examples of drafted operations.

Candidates come from every reference file and Ozon's Chinese doc pages (newest first). The first
one that validates against the schema is taken as it is. Otherwise the best-fitting one is
repaired and every repair recorded:

* in the **example** (``x-ozon-example-repairs``), for placeholders and for request examples:
  ``"string"`` or ``""`` where a number, an id, a date or an enum value belongs, keys the request
  schema does not have, values outside the declared range or list, ``null`` in a request;
* in the **schema** (``x-ozon-note``), for answers, where the example shows what the server really
  sends: ``null`` (nullable), a number as a decimal string, ``"true"``/``"false"`` for a boolean,
  ``[]`` for an empty string, an enum value in another case or missing from the list, a property
  missing from the schema, an empty string for a date-time.

A placeholder never bends a type: ``"string"`` for an int64 id is replaced in the example, not
accepted by the schema. When nothing fits even after repair, an example is written from the schema
(``x-ozon-example-source: written``).
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime
from typing import Any

import msgspec
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from codegen.naming import camel
from codegen.specdiff.convert import add_note, make_nullable, singular, todo
from codegen.specdiff.placeholders import realistic

SPEC_URI = "urn:ozon-seller-spec"
INT_RE = re.compile(r"^-?[0-9]+$")
NUM_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
DATE_TIME = "2026-05-14T10:30:00Z"


def is_datetime(v: str) -> bool:
    try:
        msgspec.json.decode(json.dumps(v).encode(), type=datetime)
        return True
    except msgspec.ValidationError:
        return False


FOREIGN = re.compile(r"[\u0400-\u04FF\u3000-\u30FF\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")


def _quote(note: str) -> str:
    """A note about values: values in Russian or Chinese are not quoted (prose stays English)."""
    if FOREIGN.search(note):
        return "Ozon's examples send values the schema's value list does not include; added."
    return note


def _types(node: dict[str, Any]) -> list[str]:
    ty = node.get("type")
    return list(ty) if isinstance(ty, list) else ([ty] if ty else [])


class ExampleFitter:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    # ------------------------------------------------------------------ validation
    def errors(self, schema: dict[str, Any], value: Any) -> int:
        registry = Registry().with_resource(
            SPEC_URI, Resource.from_contents(self.spec, DRAFT202012)
        )
        s = {"$ref": SPEC_URI + schema["$ref"]} if "$ref" in schema else schema
        n = sum(1 for _ in Draft202012Validator(s, registry=registry).iter_errors(value))
        return n + self.format_errors(schema, value)

    def format_errors(self, node: dict[str, Any], value: Any, depth: int = 0) -> int:
        """Date-time and date values the decoder would refuse (jsonschema ignores formats)."""
        if depth > 40 or value is None:
            return 0
        node = self.target(node, value)
        if isinstance(value, dict):
            props = node.get("properties") or {}
            return sum(
                self.format_errors(props[k], v, depth + 1) for k, v in value.items() if k in props
            )
        if isinstance(value, list) and isinstance(node.get("items"), dict):
            return sum(self.format_errors(node["items"], v, depth + 1) for v in value)
        if isinstance(value, str):
            fmt = node.get("format")
            if fmt == "date-time" and not is_datetime(value):
                return 1
            if fmt == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                return 1
        return 0

    def target(self, node: dict[str, Any], value: Any = None) -> dict[str, Any]:
        """Resolve refs and pick the anyOf alternative that suits ``value``."""
        for _ in range(50):
            if "$ref" in node:
                node = self.schemas[node["$ref"].rsplit("/", 1)[-1]]
            elif "anyOf" in node and "properties" not in node and "type" not in node:
                alts = [a for a in node["anyOf"] if a.get("type") != "null"]
                node = self._pick(alts, value)
            else:
                return node
        return node

    def _pick(self, alts: list[dict[str, Any]], value: Any) -> dict[str, Any]:
        def kind(a: dict[str, Any]) -> str:
            a = self.target(a) if "$ref" in a else a
            t = _types(a)
            if "array" in t[:1]:
                return "list"
            if "object" in t or "properties" in a:
                return "dict"
            return "scalar"

        want = (
            "list" if isinstance(value, list) else "dict" if isinstance(value, dict) else "scalar"
        )
        for a in alts:
            if kind(a) == want:
                return a
        return alts[0] if alts else {}

    # ------------------------------------------------------------------ choosing
    def fit(
        self,
        media: dict[str, Any],
        part: str,
        candidates: list[tuple[str, Any]],
        stats: dict[str, int],
    ) -> None:
        schema = media["schema"]
        scored = []
        for i, (src, ex) in enumerate(candidates):
            repairs: list[str] = []
            if isinstance(ex, dict) and list(ex) == ["example"] and isinstance(ex["example"], dict):
                ex = ex["example"]
                repairs.append(f"{part}: Ozon's example is wrapped in an `example` key; unwrapped.")
            holder = [copy.deepcopy(ex)]
            if part == "request":
                # requests are strict: unknown keys and placeholders are repaired before scoring
                self.repair(schema, holder, 0, part, part, repairs, None, None)
            scored.append(
                (self.errors(schema, holder[0]), len(repairs), i, src, holder[0], repairs)
            )
        if scored:
            scored.sort(key=lambda c: (c[0], c[1], c[2]))
            n, _, _, src, ex, repairs = scored[0]
            if part == "response":
                # the chosen answer shows what the server sends: repair the schema (and placeholders)
                holder = [ex]
                self.repair(schema, holder, 0, part, part, repairs, None, None)
                ex = holder[0]
                n = self.errors(schema, ex)
            if n == 0:
                media["example"] = ex
                media["x-ozon-example-source"] = src
                if repairs:
                    media["x-ozon-example-repairs"] = list(dict.fromkeys(repairs))
                    stats["repaired"] = stats.get("repaired", 0) + 1
                return
        media["example"] = self.sample(schema, "")
        media["x-ozon-example-source"] = "written"
        stats["written"] = stats.get("written", 0) + 1

    # ------------------------------------------------------------------ repairing
    def fix(
        self, holder: Any, key: Any, new: Any, loc: str, old: Any, what: str, repairs: list[str]
    ) -> None:
        holder[key] = new
        repairs.append(
            f"{loc}: Ozon's example has {json.dumps(old, ensure_ascii=False)} for {what}; "
            f"replaced by {json.dumps(new, ensure_ascii=False)}."
        )

    def repair(
        self,
        node: dict[str, Any],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
        sparent: dict[str, Any] | None,
        skey: str | None,
        depth: int = 0,
    ) -> None:
        if depth > 40:
            return
        value = holder[key]
        if value is None:
            self._repair_null(node, holder, key, loc, part, repairs, sparent, skey)
            return
        t = self.target(node, value)
        types = _types(t)
        if not types and "properties" not in t:
            return  # any value
        if "object" in types or "properties" in t:
            self._repair_object(t, holder, key, loc, part, repairs, depth)
        elif types[0] == "array" or (types == ["array"]):
            self._repair_array(t, types, holder, key, loc, part, repairs, depth)
        elif types[0] == "integer":
            self._integer(t, types, holder, key, loc, part, repairs)
        elif types[0] == "number":
            self._number(t, types, holder, key, loc, part, repairs)
        elif types[0] == "boolean":
            self._boolean(t, types, holder, key, loc, part, repairs)
        elif types[0] == "string":
            self._string(t, types, holder, key, loc, part, repairs)

    def _repair_null(
        self,
        node: dict[str, Any],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
        sparent: dict[str, Any] | None,
        skey: str | None,
    ) -> None:
        response = part == "response"
        if self._nullable(node):
            return
        if response and sparent is not None and skey is not None:
            sparent[skey] = make_nullable(sparent[skey])
            add_note(
                sparent[skey],
                "Ozon's examples send `null` here although the schema does not say so; nullable.",
            )
            return
        if isinstance(holder, dict):
            del holder[key]
            repairs.append(
                f"{loc}: Ozon's example sends null for a field that takes no null; removed."
            )

    def _repair_object(
        self,
        t: dict[str, Any],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
        depth: int,
    ) -> None:
        value = holder[key]
        response = part == "response"
        if not isinstance(value, dict):
            self.fix(holder, key, self.sample(t, str(key)), loc, value, "an object", repairs)
            return
        props = t.setdefault("properties", {})
        ap = t.get("additionalProperties")
        for k in list(value):
            if k not in props:
                if isinstance(ap, dict) and not props:
                    self.repair(ap, value, k, f"{loc}.{k}", part, repairs, None, None, depth + 1)
                elif response:
                    props[k] = self.infer(value[k], self._name_of(t) + camel(k), k)
                    add_note(
                        props[k],
                        "Present in Ozon's example but missing from its schema; added.",
                    )
                else:
                    del value[k]
                    repairs.append(
                        f"{loc}.{k}: not a field of the request schema; removed from Ozon's example."
                    )
                continue
            self.repair(props[k], value, k, f"{loc}.{k}", part, repairs, props, k, depth + 1)

    def _repair_array(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
        depth: int,
    ) -> None:
        value = holder[key]
        if not isinstance(value, list):
            if isinstance(value, str) and "string" in types:
                return
            holder[key] = [value]
            repairs.append(
                f"{loc}: Ozon's example sends a single value for a list; wrapped in a list."
            )
            value = holder[key]
        mx = t.get("maxItems")
        if isinstance(mx, int) and mx > 0 and len(value) > mx:
            del value[mx:]
            repairs.append(f"{loc}: Ozon's example has more items than the limit of {mx}; cut.")
        items = t.get("items") or {}
        for i in range(len(value)):
            self.repair(items, value, i, f"{loc}[{i}]", part, repairs, t, "items", depth + 1)

    def _number(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        response = part == "response"
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fix(holder, key, 0, loc, value, "a number", repairs)
        elif isinstance(value, str):
            if NUM_RE.match(value) and response:
                if "string" not in types:
                    t["type"] = ["number", "string", *[x for x in types[1:] if x != "string"]]
                    add_note(
                        t,
                        "Ozon's examples send this number as a decimal string; both forms are accepted.",
                    )
            else:
                self.fix(
                    holder,
                    key,
                    float(value) if NUM_RE.match(value) else 0,
                    loc,
                    value,
                    "a number",
                    repairs,
                )

    def _boolean(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        response = part == "response"
        if isinstance(value, bool):
            return
        if value in ("true", "false") and response:
            if "string" not in types:
                t["type"] = ["boolean", "string", *types[1:]]
                add_note(
                    t,
                    'Ozon\'s examples send this boolean as the string `"true"`/`"false"`; both forms are accepted.',
                )
            return
        self.fix(holder, key, value == "true", loc, value, "a boolean", repairs)

    def _integer(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        if isinstance(value, (bool, dict, list)):
            self.fix(holder, key, self._int_sample(t, str(key)), loc, value, "an integer", repairs)
            return
        if isinstance(value, float):
            if value.is_integer():
                return
            if part == "response":
                t["type"] = [
                    "number",
                    *[x for x in types if x not in ("integer", "string")],
                    *(["string"] if "string" in types else []),
                ]
                t.pop("format", None)
                t.pop("pattern", None)
                add_note(
                    t,
                    "Ozon declares an integer but its examples send fractional numbers; a number.",
                )
            else:
                self.fix(holder, key, int(value), loc, value, "an integer", repairs)
            return
        if isinstance(value, str):
            if INT_RE.match(value):
                if "string" not in types:
                    if part == "response":
                        t["type"] = ["integer", "string", *types[1:]]
                        t["pattern"] = INT_RE.pattern
                        add_note(
                            t,
                            "Ozon's examples send this integer as a decimal string; both forms are accepted.",
                        )
                    else:
                        self.fix(holder, key, int(value), loc, value, "an integer", repairs)
                return
            self.fix(holder, key, self._int_sample(t, str(key)), loc, value, "an integer", repairs)
            return
        lo, hi = t.get("minimum"), t.get("maximum")
        if lo is not None and value < lo:
            self.fix(holder, key, lo, loc, value, f"an integer of at least {lo}", repairs)
        elif hi is not None and value > hi:
            self.fix(holder, key, hi, loc, value, f"an integer of at most {hi}", repairs)

    def _string(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        if not isinstance(value, str):
            self._not_a_string(t, types, holder, key, loc, part, repairs)
            return
        enum = [e for e in t.get("enum") or [] if e is not None]
        if enum and value not in enum:
            self._not_in_list(t, enum, holder, key, loc, part, repairs)
            return
        fmt = t.get("format")
        if fmt == "date-time" and not is_datetime(value):
            if value == "" and part == "response":
                t.pop("format")
                add_note(
                    t,
                    "Ozon declares a date-time but sends an empty string when there is no date; a plain string.",
                )
            else:
                self.fix(holder, key, DATE_TIME, loc, value, "a date-time", repairs)
        elif fmt == "date" and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            self.fix(holder, key, DATE_TIME[:10], loc, value, "a date", repairs)
        elif t.get("pattern") and not re.search(t["pattern"], value):
            self.fix(
                holder,
                key,
                self.sample(t, str(key)),
                loc,
                value,
                "a value matching the pattern",
                repairs,
            )

    def _not_a_string(
        self,
        t: dict[str, Any],
        types: list[str],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        response = part == "response"
        if isinstance(value, list) and not value and response:
            if "array" not in types:
                t["type"] = [*types, "array"]
                t["maxItems"] = 0
                add_note(
                    t,
                    "Ozon's examples send `[]` here when there is no value although a string is declared; `[]` is accepted.",
                )
            return
        if (
            isinstance(value, (int, float))
            and not isinstance(value, bool)
            and response
            and not t.get("enum")
            and not t.get("format")
        ):
            if "number" not in types:
                t["type"] = ["string", "number", *types[1:]]
                add_note(
                    t,
                    "Ozon declares a string but its examples send a number; both are accepted.",
                )
            return
        new = (
            str(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool)
            else self.sample(t, str(key))
        )
        self.fix(holder, key, new, loc, value, "a string", repairs)

    def _not_in_list(
        self,
        t: dict[str, Any],
        enum: list[Any],
        holder: Any,
        key: Any,
        loc: str,
        part: str,
        repairs: list[str],
    ) -> None:
        value = holder[key]
        response = part == "response"
        low = {str(e).lower(): e for e in enum}
        if value.lower() in low and response:
            t["enum"].append(value)
            add_note(
                t,
                _quote(
                    f"Ozon's examples send `{value}` where the schema lists `{low[value.lower()]}` (the case differs); both are accepted."
                ),
            )
        elif value.lower() in low:
            self.fix(holder, key, low[value.lower()], loc, value, "a value of the list", repairs)
        elif response and value not in ("string", ""):
            t["enum"].append(value)
            add_note(
                t,
                _quote(
                    f"Ozon's examples send `{value}`, which the schema's value list does not include; added."
                ),
            )
        else:
            self.fix(holder, key, enum[0], loc, value, "a value of the list", repairs)

    def _nullable(self, node: dict[str, Any]) -> bool:
        if "null" in _types(node):
            return True
        if any(a.get("type") == "null" for a in node.get("anyOf") or []):
            return True
        if "$ref" in node:
            return self._nullable(self.schemas[node["$ref"].rsplit("/", 1)[-1]])
        return not _types(node) and "properties" not in node and "anyOf" not in node

    def _name_of(self, t: dict[str, Any]) -> str:
        for name, s in self.schemas.items():
            if s is t:
                return name
        return "Inline"

    # ------------------------------------------------------------------ inference and samples
    def infer(self, v: Any, name: str, key: str) -> dict[str, Any]:
        idlike = key == "id" or key.endswith(("_id", "_ids", "Id")) or key in ("sku", "skus")
        out: dict[str, Any] = {"description": todo(key)}
        if v is None:
            add_note(
                out,
                "Ozon's example only shows `null` here, so the type is unknown; any JSON value is accepted.",
            )
        elif isinstance(v, bool):
            out["type"] = "boolean"
        elif isinstance(v, int) or (isinstance(v, str) and idlike and INT_RE.match(v)):
            if idlike:
                out.update(
                    {"type": ["integer", "string"], "format": "int64", "pattern": INT_RE.pattern}
                )
            else:
                out.update({"type": "number", "format": "double"})
        elif isinstance(v, float):
            out.update({"type": "number", "format": "double"})
        elif isinstance(v, str):
            out["type"] = "string"
            if "T" in v and is_datetime(v):
                out["format"] = "date-time"
        elif isinstance(v, list):
            first = next((x for x in v if x is not None), None)
            item = self.infer(first, name, singular(key)) if first is not None else {}
            item.pop("description", None)
            out.update({"type": "array", "items": item})
        elif isinstance(v, dict):
            obj = {
                "description": todo(name),
                "type": "object",
                "properties": {k: self.infer(x, name + camel(k), k) for k, x in v.items()},
            }
            base, i = name, 2
            while name in self.schemas:
                name = f"{base}{i}"
                i += 1
            self.schemas[name] = obj
            out["$ref"] = "#/components/schemas/" + name
        return out

    def _int_sample(self, t: dict[str, Any], name: str) -> int:
        if name in ("limit", "page_size"):
            return min(100, t.get("maximum", 100))
        if name in ("offset",):
            return 0
        lo = t.get("minimum")
        if name == "page" or "format" not in t:
            return int(lo) if lo is not None and lo > 0 else 1
        if t.get("format") == "int64" and (name.endswith(("id", "ids")) or name == "sku"):
            return int(realistic(t, name, f"sample {name}", 1))
        return int(lo) if lo is not None and lo > 0 else 1

    def sample(self, node: dict[str, Any], name: str, depth: int = 0) -> Any:
        """A plausible value for a schema node (for written examples and placeholders)."""
        node = self.target(node)
        types = _types(node)
        if node.get("enum"):
            return (
                next(e for e in node["enum"] if e is not None)
                if any(e is not None for e in node["enum"])
                else None
            )
        if "object" in types or "properties" in node:
            if depth > 6:
                return {}
            props = node.get("properties") or {}
            req = set(node.get("required") or [])
            keep = [k for k in props if k in req] or list(props)[:12]
            return {k: self.sample(props[k], k, depth + 1) for k in keep}
        if types[:1] == ["array"]:
            if node.get("maxItems") == 0:
                return []
            item = self.sample(node.get("items") or {"type": "string"}, singular(name), depth + 1)
            return [item] * max(1, int(node.get("minItems") or 1))
        if types[:1] == ["integer"]:
            return self._int_sample(node, name)
        if types[:1] == ["number"]:
            return 1.5
        if types[:1] == ["boolean"]:
            return True
        if types[:1] == ["string"]:
            fmt = node.get("format")
            if fmt == "date-time":
                return DATE_TIME
            if fmt == "date":
                return DATE_TIME[:10]
            if fmt in ("int64", "int32") or node.get("pattern") == INT_RE.pattern:
                return str(realistic({"type": "integer"}, name, f"sample {name}", 1))
            if "posting_number" in name:
                return "57195475-0050-3"
            if "offer_id" in name:
                return "PH-11052"
            if "currency" in name:
                return "RUB"
            if name in ("cursor", "last_id"):
                return ""
            # a realistic value by the field's name; "example" (which the placeholder test
            # flags) only for a name nothing is known about
            return realistic(node, name, f"sample {name}", "example")
        return None
