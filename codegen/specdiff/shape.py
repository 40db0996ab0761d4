"""Flatten a request or answer schema into its fields, on either side, in comparable terms.

A field is addressed by its dotted path from the body root; ``[]`` marks an array item and ``{}`` a
map value (``result.postings[].products[].sku``). Matching uses the path without those marks, so a
field is found even where the two sides disagree on whether a level is a list or a single object.

Kinds: ``int``, ``number``, ``string``, ``boolean``, ``array``, ``object``, ``any``. On the spec side
our repair conventions (``info.description``) are read back: ``[integer, string]`` with a pattern is
an ``int`` (Ozon's ``string``/``int64`` and ``integer``/``int64`` are ``int`` too), ``[number,
string]`` a number, ``[string, number]`` a string that also accepts numbers, ``[array, string]`` a
list, ``[string, array]`` with ``maxItems: 0`` a string, ``anyOf`` with a list of the same item a
value that may be one or many, and ``null`` anywhere means nullable, which is not a kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from codegen.specdiff.refdoc import RefDoc, kind_of_ref, required_of

MAX_DEPTH = 25


@dataclass
class Field:
    path: str  # display path, with [] and {}
    kind: str  # the primary kind
    accepts: frozenset[str]  # kinds the schema accepts (spec side); {kind} on the reference side
    enum: frozenset[Any] | None = None
    required: bool = False
    nullable: bool = False
    noted: bool = False  # the spec records a repair here (x-ozon-note on it or its object)
    deprecated: bool = False
    description: str | None = None
    schema_name: str | None = None  # the named schema holding this property (spec side)
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return match_key(self.path)


def match_key(path: str) -> str:
    return path.replace("[]", "").replace("{}", "")


def join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


LIMIT_KEYS = ("maxItems", "minItems", "maximum", "minimum", "maxLength", "minLength")


# ---------------------------------------------------------------------- reference side
def ref_fields(doc: RefDoc, schema: dict[str, Any] | None) -> dict[str, Field]:
    """Every field of a reference body schema, keyed by match key (first occurrence wins)."""
    out: dict[str, Field] = {}
    if not schema:
        return out
    _ref_walk(doc, schema, "", out, (), 0)
    return out


def _ref_walk(
    doc: RefDoc,
    node: dict[str, Any],
    path: str,
    out: dict[str, Field],
    stack: tuple[str, ...],
    depth: int,
) -> None:
    s, name = doc.resolve(node)
    if name is not None:
        if name in stack or depth > MAX_DEPTH:
            return
        stack = (*stack, name)
    kind = kind_of_ref(s)
    if kind == "object":
        req = set(required_of(s))
        for pname, p in (s.get("properties") or {}).items():
            if not isinstance(p, dict):
                continue
            ps, _ = doc.resolve(p)
            fpath = join(path, pname)
            pkind = kind_of_ref(ps)
            enum = _enum(ps)
            if pkind == "array":
                items, _ = doc.resolve(ps.get("items") or {})
                enum = _enum(items)
            f = Field(
                fpath,
                pkind,
                frozenset({pkind}),
                enum=enum,
                required=pname in req,
                nullable=bool(ps.get("nullable") or p.get("nullable")),
                deprecated=bool(ps.get("deprecated") or p.get("deprecated")),
                description=p.get("description") or ps.get("description"),
                limits={k: ps[k] for k in LIMIT_KEYS if k in ps},
            )
            out.setdefault(f.key, f)
            _ref_walk(doc, p, fpath, out, stack, depth + 1)
        ap = s.get("additionalProperties")
        if isinstance(ap, dict) and ap and not s.get("properties"):
            _ref_walk(doc, ap, path + "{}", out, stack, depth + 1)
    elif kind == "array":
        _ref_walk(doc, s.get("items") or {}, path + "[]", out, stack, depth + 1)


def _enum(s: dict[str, Any]) -> frozenset[Any] | None:
    vals = s.get("enum")
    if not vals:
        return None
    return frozenset(v for v in vals if v is not None)


# ---------------------------------------------------------------------- spec side
class SpecSchemas:
    """Named schemas of the spec and the reading of a node under our conventions."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    def resolve(self, node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        name = None
        while isinstance(node, dict) and "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = self.schemas[name]
        return node, name

    def alternatives(self, node: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """The non-null alternatives of a node (``anyOf`` or one), and whether null is allowed."""
        if "anyOf" in node and "type" not in node and "properties" not in node:
            alts = [a for a in node["anyOf"] if a.get("type") != "null"]
            return alts, len(alts) != len(node["anyOf"])
        ty = node.get("type")
        nullable = isinstance(ty, list) and "null" in ty
        return [node], nullable

    def kinds(self, node: dict[str, Any]) -> tuple[str, frozenset[str], bool]:
        """(primary kind, accepted kinds, nullable) of a spec node."""
        alts, nullable = self.alternatives(node)
        primary = None
        accepts: set[str] = set()
        for a in alts:
            a, _ = self.resolve(a)
            inner_alts, inner_null = self.alternatives(a)
            nullable = nullable or inner_null
            if len(inner_alts) > 1 or inner_alts[0] is not a:
                p, acc, n2 = self.kinds(a)
                nullable = nullable or n2
                primary = primary or p
                accepts |= acc
                continue
            p, acc = _spec_kind(a)
            primary = primary or p
            accepts |= acc
        return primary or "any", frozenset(accepts or {"any"}), nullable


def _spec_kind(s: dict[str, Any]) -> tuple[str, set[str]]:
    ty = s.get("type")
    types = [t for t in (ty if isinstance(ty, list) else [ty] if ty else []) if t != "null"]
    if not types:
        if "properties" in s:
            return "object", {"object"}
        return "any", {"any"}
    kinds = set(types)
    first = types[0]
    if kinds == {"integer", "string"}:
        return "int", {"int"}
    if kinds == {"number", "string"}:
        return (
            ("number", {"number", "int"})
            if first == "number"
            else (
                "string",
                {"string", "number", "int"},
            )
        )
    if kinds == {"boolean", "string"}:
        return "boolean", {"boolean"}
    if kinds == {"array", "string"}:
        if first == "array":
            return "array", {"array", "string"}
        return "string", {"string"}
    if first == "string" and s.get("format") in ("int64", "uint64"):
        return "int", {"int"}
    base = {"integer": "int"}.get(first, first)
    acc = {base}
    if base == "number":
        acc.add("int")
    return base, acc


def spec_fields(spec: SpecSchemas, schema: dict[str, Any] | None) -> dict[str, Field]:
    """Every field of a spec body schema, keyed by match key (first occurrence wins)."""
    out: dict[str, Field] = {}
    if schema:
        _spec_walk(spec, schema, "", out, (), 0)
    return out


def _spec_objects(spec: SpecSchemas, node: dict[str, Any]) -> Iterator[tuple[str, Any, str | None]]:
    """(path suffix, object schema, its name) for each object a node may hold (through anyOf,
    arrays and maps)."""
    alts, _ = spec.alternatives(node)
    for a in alts:
        r, name = spec.resolve(a)
        inner, _ = spec.alternatives(r)
        if len(inner) > 1 or inner[0] is not r:
            yield from _spec_objects(spec, r)
            continue
        ty = r.get("type")
        types = ty if isinstance(ty, list) else [ty]
        if "array" in types and isinstance(r.get("items"), dict):
            for suffix, obj, n in _spec_objects(spec, r["items"]):
                yield "[]" + suffix, obj, n
        elif "object" in types or "properties" in r:
            ap = r.get("additionalProperties")
            if isinstance(ap, dict) and ap and not r.get("properties"):
                for suffix, obj, n in _spec_objects(spec, ap):
                    yield "{}" + suffix, obj, n
            else:
                yield "", r, name


def _spec_walk(
    spec: SpecSchemas,
    node: dict[str, Any],
    path: str,
    out: dict[str, Field],
    stack: tuple[str, ...],
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        return
    for suffix, obj, name in _spec_objects(spec, node):
        if name is not None:
            if name in stack:
                continue
            inner_stack = (*stack, name)
        else:
            inner_stack = stack
        req = set(obj.get("required") or [])
        obj_noted = "x-ozon-note" in obj
        for pname, p in (obj.get("properties") or {}).items():
            fpath = join(path + suffix, pname)
            primary, accepts, nullable = spec.kinds(p)
            target, _ = spec.resolve(p)
            enum_node = target
            if primary == "array":
                alts, _ = spec.alternatives(target)
                items = next((a.get("items") for a in alts if isinstance(a.get("items"), dict)), {})
                enum_node, _ = spec.resolve(items or {})
            vals = enum_node.get("enum")
            items_noted = (
                primary == "array" and "x-ozon-note" in enum_node and "properties" not in enum_node
            )
            f = Field(
                fpath,
                primary,
                accepts,
                enum=frozenset(v for v in vals if v is not None) if vals else None,
                required=pname in req,
                nullable=nullable,
                noted=obj_noted or "x-ozon-note" in p or "x-ozon-note" in target or items_noted,
                deprecated=bool(p.get("deprecated")),
                description=p.get("description"),
                schema_name=name,
                limits={k: target[k] for k in LIMIT_KEYS if k in target},
            )
            out.setdefault(f.key, f)
            _spec_walk(spec, p, fpath, out, inner_stack, depth + 1)


def spec_object_at(
    spec: SpecSchemas, root: dict[str, Any], key: str
) -> list[tuple[str | None, dict[str, Any]]]:
    """The object schemas (name, schema) that hold the fields at match key ``key`` ("" for the
    body root)."""
    current = [(None, root)]
    parts = [p for p in key.split(".") if p] if key else []
    objs: list[tuple[str | None, dict[str, Any]]] = []
    for _node_name, node in current:
        objs += [(n, o) for _s, o, n in _spec_objects(spec, node)]
    for part in parts:
        nxt: list[tuple[str | None, dict[str, Any]]] = []
        for _n, o in objs:
            p = (o.get("properties") or {}).get(part)
            if isinstance(p, dict):
                nxt += [(n, oo) for _s, oo, n in _spec_objects(spec, p)]
        objs = nxt
    seen: set[int] = set()
    out = []
    for n, o in objs:
        if id(o) not in seen:
            seen.add(id(o))
            out.append((n, o))
    return out


def ref_node_at(doc: RefDoc, root: dict[str, Any], key: str) -> dict[str, Any] | None:
    """The reference property node at match key ``key``."""
    node: dict[str, Any] = root
    for part in key.split("."):
        s, _ = doc.resolve(node)
        while kind_of_ref(s) == "array" or (
            kind_of_ref(s) == "object"
            and not s.get("properties")
            and isinstance(s.get("additionalProperties"), dict)
        ):
            s, _ = doc.resolve(s.get("items") or s.get("additionalProperties") or {})
        p = (s.get("properties") or {}).get(part)
        if not isinstance(p, dict):
            return None
        node = p
    return node


def spec_paths(spec: SpecSchemas, schema: dict[str, Any] | None) -> set[str]:
    """Every display path of a spec body schema, through every alternative: a field that may be
    one object or a list of them (``anyOf``) has both ``a.b`` and ``a[].b``."""
    out: set[str] = set()
    if schema:
        _paths_walk(spec, schema, "", out, (), 0)
    return out


def _paths_walk(
    spec: SpecSchemas,
    node: dict[str, Any],
    path: str,
    out: set[str],
    stack: tuple[str, ...],
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        return
    for suffix, obj, name in _spec_objects(spec, node):
        if name is not None and name in stack:
            continue
        inner = (*stack, name) if name is not None else stack
        for pname, p in (obj.get("properties") or {}).items():
            fpath = join(path + suffix, pname)
            out.add(fpath)
            _paths_walk(spec, p, fpath, out, inner, depth + 1)
