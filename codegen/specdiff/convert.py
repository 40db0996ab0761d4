"""Convert reference schemas into spec schemas: our conventions, named components, TODO texts.

The repair rules (the same the first 179 operations were drafted with):

* invalid type names, typos and misplaced ``$ref``s are repaired by :func:`refdoc.normalize`;
* a 64-bit integer (``int64``/``uint64``, declared ``integer`` or ``string``) becomes
  ``type: [integer, string]`` with ``format: int64`` and a decimal ``pattern``; a ``string`` with
  ``int32`` likewise with ``format: int32``;
* ``nullable: true`` becomes ``null`` in the type list (``anyOf`` with ``{type: null}`` for a ref);
* ``required: true`` inside a property moves to the object's ``required``;
* an array limit given as ``maximum`` becomes ``maxItems``; a format hint given as ``pattern``
  (``YYYY-MM-DD``, ``+7(XXX)...``) is dropped; unknown formats are dropped;
* limits stated only in prose become schema keywords (:func:`rules.text_limits`);
* an object with properties becomes a named component (``<parent name><Property>``, array items
  singular); a map (only ``additionalProperties``) stays inline;
* Ozon's ``oneOf`` of required alternatives becomes ``anyOf`` (at least one of them);
* every schema, property and operation text is ``TODO(describe): ...``, to be written in English.

Every repair is recorded in ``x-ozon-note``.
"""

from __future__ import annotations

import json
import re
from typing import Any

from codegen.naming import camel
from codegen.specdiff.refdoc import RefDoc, kind_of_ref, normalize, required_of
from codegen.specdiff.rules import text_limits

TODO = "TODO(describe)"
INT_PATTERN = "^-?[0-9]+$"
KEEP_FORMATS = {
    "string": {"date-time", "date", "byte", "binary", "email", "uri", "uuid"},
    "number": {"double", "float"},
    "integer": {"int32"},
}
STRUCT_IGNORE = ("description", "x-ozon-note", "deprecated", "default", "example")


def todo(what: str) -> str:
    """A marked placeholder text (ASCII only: Ozon's names sometimes hide a Cyrillic letter)."""
    return f"{TODO}: {what.encode('ascii', 'replace').decode()}"


def is_todo(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(TODO)


def singular(word: str) -> str:
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def structure(node: Any) -> Any:
    """A schema without its prose: what makes two schemas the same."""
    if isinstance(node, dict):
        return {k: structure(v) for k, v in sorted(node.items()) if k not in STRUCT_IGNORE}
    if isinstance(node, list):
        return [structure(v) for v in node]
    return node


def signature(node: Any) -> str:
    return json.dumps(structure(node), sort_keys=True, ensure_ascii=False)


def add_note(node: dict[str, Any], text: str) -> None:
    old = node.get("x-ozon-note")
    if not old:
        node["x-ozon-note"] = text
    elif text not in old:
        node["x-ozon-note"] = f"{old} {text}"


def make_nullable(node: dict[str, Any]) -> dict[str, Any]:
    """The node with ``null`` allowed (our convention); returns the node to store."""
    if "$ref" in node:
        out = {k: v for k, v in node.items() if k != "$ref"}
        desc = out.pop("description", None)
        alts = [{"$ref": node["$ref"]}, {"type": "null"}]
        res: dict[str, Any] = {}
        if desc is not None:
            res["description"] = desc
        res["anyOf"] = alts
        res.update(out)
        return res
    if "anyOf" in node:
        if not any(a.get("type") == "null" for a in node["anyOf"]):
            node["anyOf"].append({"type": "null"})
        return node
    ty = node.get("type")
    if ty is None:
        return node  # any value, null included
    types = list(ty) if isinstance(ty, list) else [ty]
    if "null" not in types:
        types.append("null")
    node["type"] = types
    if node.get("enum") and None not in node["enum"]:
        node["enum"] = [*node["enum"], None]
    return node


class Converter:
    """Adds converted reference schemas to a spec's components.

    ``side`` is ``request`` or ``response``: structurally identical schemas are reused only on the
    same side (requests and answers never share a schema). ``sides`` names the schemas of each
    side (:func:`codegen.specdiff.names.schema_sides`).
    """

    def __init__(self, spec: dict[str, Any], sides: dict[str, set[str]]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.sides = sides
        self.by_sig: dict[tuple[str, str], str] = {}
        for name, s in self.schemas.items():
            for side in ("request", "response"):
                if name in sides[side] and s.get("type") == "object":
                    self.by_sig.setdefault((side, signature(s)), name)
        self.created: list[str] = []
        self.reused: list[str] = []
        self.in_progress: dict[tuple[str, str, str], str] = {}
        self.recursive: set[str] = set()

    # ------------------------------------------------------------------ components
    def register(self, name: str, schema: dict[str, Any], side: str) -> str:
        """Store an object schema under ``name`` (or reuse an identical one on the same side)."""
        sig = signature(schema)
        found = self.by_sig.get((side, sig))
        if found is not None:
            self.reused.append(found)
            return found
        base, i = name, 2
        while name in self.schemas:
            name = f"{base}{i}"
            i += 1
        self.schemas[name] = schema
        self.by_sig[(side, sig)] = name
        self.sides[side].add(name)
        self.created.append(name)
        return name

    # ------------------------------------------------------------------ conversion
    def convert(
        self, doc: RefDoc, node: Any, name: str, side: str, prop: str = "", depth: int = 0
    ) -> dict[str, Any]:
        """A spec node for a reference node; objects become components named ``name``."""
        if depth > 40 or not isinstance(node, dict):
            return {}
        raw = normalize(node)
        desc = raw.get("description")
        notes: list[str] = list(raw.get("x-notes") or [])
        nullable = bool(raw.get("nullable"))
        deprecated = bool(raw.get("deprecated"))
        s, _ = doc.resolve(raw)
        notes += [n for n in s.get("x-notes") or [] if n not in notes]
        nullable = nullable or bool(s.get("nullable"))
        desc = desc or s.get("description")
        kind = kind_of_ref(s)
        refname = raw["$ref"].rsplit("/", 1)[-1] if "$ref" in raw else None
        out: dict[str, Any]
        if kind == "object":
            props = s.get("properties") or {}
            ap = s.get("additionalProperties")
            if not props and isinstance(ap, dict) and ap:
                out = {
                    "type": "object",
                    "additionalProperties": self.convert(
                        doc, ap, name + "Value", side, prop, depth + 1
                    ),
                }
                out["additionalProperties"].pop("description", None)
            else:
                comp = self.object(doc, s, name, side, depth, refname)
                out = {"$ref": "#/components/schemas/" + comp}
        elif kind == "array":
            items = s.get("items") or {"type": "string"}
            item = self.convert(doc, items, name, side, singular(prop), depth + 1)
            item.pop("description", None)
            out = {"type": "array", "items": item}
            for k in ("minItems", "maxItems", "uniqueItems"):
                if k in s:
                    out[k] = s[k]
            if "maximum" in s and "maxItems" not in s:
                out["maxItems"] = s["maximum"]
                notes.append("Ozon's schema puts the array limit in `maximum`; it is `maxItems`.")
        elif kind in ("int", "number", "string", "boolean"):
            out = self.scalar(s, notes)
        else:
            out = {}
            if not s.get("type"):
                notes.append("Ozon's schema gives no type here; any JSON value is accepted.")
        # limits stated only in prose
        lim_kind = (
            "int"
            if out.get("type") in ("integer", ["integer", "string"])
            else (out.get("type") if isinstance(out.get("type"), str) else kind)
        )
        for k, v in text_limits(desc, lim_kind, prop).items():
            if k not in out and "$ref" not in out:
                out[k] = v
        if "default" in s and s["default"] is not None and "$ref" not in out:
            dflt = s["default"]
            if out.get("type") == "array" and not isinstance(dflt, list):
                dflt = [dflt]
                notes.append(
                    "Ozon gives a single value as the default of this list; a one-item list."
                )
            if out.get("enum") and dflt not in out["enum"]:
                out["enum"].append(dflt)
                notes.append(f"Ozon's default `{dflt}` is missing from its value list; added.")
            out["default"] = dflt
        res: dict[str, Any] = {"description": todo(prop or name)}
        res.update(out)
        if deprecated:
            res["deprecated"] = True
        if nullable:
            res = make_nullable(res)
        if notes:
            add_note(res, " ".join(dict.fromkeys(notes)))
        return res

    def scalar(self, s: dict[str, Any], notes: list[str]) -> dict[str, Any]:
        t = s.get("type")
        fmt = s.get("format")
        out: dict[str, Any] = {}
        if fmt in ("int64", "uint64") or (t == "string" and fmt == "int32"):
            out["type"] = ["integer", "string"]
            out["format"] = "int32" if fmt == "int32" else "int64"
            out["pattern"] = INT_PATTERN
            if t == "string":
                notes.append(
                    "Ozon declares this integer as a string here; both a number and a decimal "
                    "string are accepted."
                )
            if fmt == "uint64":
                out["minimum"] = 0
        else:
            out["type"] = t
            if fmt:
                if fmt in KEEP_FORMATS.get(str(t), set()):
                    out["format"] = fmt
                else:
                    notes.append(f"Ozon's schema gives the unknown format `{fmt}`; dropped.")
        for k in (
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
            "minLength",
            "maxLength",
        ):
            if k in s and k not in out and isinstance(s[k], (int, float)):
                out[k] = s[k]
        if s.get("pattern") and "pattern" not in out:
            if re.search(r"YYYY|XXX|hh:mm", s["pattern"]):
                notes.append(
                    f"Ozon's schema gives the format hint `{s['pattern'].strip()}` as a pattern, "
                    "which real values do not match; dropped."
                )
            else:
                out["pattern"] = s["pattern"]
        if s.get("minLength") and s.get("maxLength") is None and s["minLength"] >= 100:
            out.pop("minLength", None)
            out["maxLength"] = s["minLength"]
            notes.append(
                f"Ozon's schema says `minLength: {s['minLength']}`; the limit is a maximum."
            )
        if s.get("enum"):
            vals = list(dict.fromkeys(v for v in s["enum"] if v is not None))
            if t == "boolean":
                vals = [v for v in vals if isinstance(v, bool)]
            if vals:
                out["enum"] = vals
        return out

    def object(
        self, doc: RefDoc, s: dict[str, Any], name: str, side: str, depth: int, refname: str | None
    ) -> str:
        key = (doc.source, refname or "", side)
        if refname is not None and key in self.in_progress:
            self.recursive.add(self.in_progress[key])
            return self.in_progress[key]
        base, i = name, 2
        while name in self.schemas:
            name = f"{base}{i}"
            i += 1
        self.schemas[name] = {}  # reserved while the properties are converted
        if refname is not None:
            self.in_progress[key] = name
        props = s.get("properties") or {}
        req = required_of(s)
        notes: list[str] = []
        for pname, p in props.items():
            if isinstance(p, dict) and p.get("required") is True:
                notes.append(
                    f"Ozon's schema marks `{pname}` required with `required: true` inside the "
                    "property."
                )
        out: dict[str, Any] = {"description": todo(name), "type": "object"}
        if req:
            out["required"] = req
        conv_props: dict[str, Any] = {}
        for pname, p in props.items():
            if not isinstance(p, dict):
                continue
            ps, _ = doc.resolve(p)
            child = name + camel(singular(pname) if kind_of_ref(ps) == "array" else pname)
            conv_props[pname] = self.convert(doc, p, child, side, pname, depth + 1)
        out["properties"] = conv_props
        alts = s.get("oneOf")
        if (
            isinstance(alts, list)
            and alts
            and all(isinstance(a, dict) and a.get("required") for a in alts)
        ):
            out["anyOf"] = [{"required": list(a["required"])} for a in alts]
            notes.append(
                "Ozon's schema says exactly one of these alternatives (`oneOf`), but a request "
                "may pass several; at least one is required (`anyOf`)."
            )
        if notes:
            out["x-ozon-note"] = " ".join(notes)
        self.in_progress.pop(key, None)
        del self.schemas[name]
        if name in self.recursive:
            self.schemas[name] = out
            self.sides[side].add(name)
            self.created.append(name)
            return name
        return self.register(name, out, side)
