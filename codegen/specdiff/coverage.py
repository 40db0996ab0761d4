"""Field coverage: every property a reference declares for an operation we have is in the spec.

Answers: the union of every reference file that describes the operation (an older field may
still arrive). Requests: the newest file that describes the operation (:data:`NEWEST_FIRST`).
File answers (a binary content type in the spec) are not compared: Ozon describes a JSON wrapper
that the server does not send.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.specdiff.diff import spec_body_schema
from codegen.specdiff.refdoc import RefDoc
from codegen.specdiff.shape import Field, SpecSchemas, ref_fields, spec_fields

#: Reference files, newest first (the Russian edition of 14 August 2026 is the newest).
NEWEST_FIRST = (
    "ozon-seller-openapi-ru-2026-08.json",
    "ozon-seller-openapi-zh-2026-06.json",
    "ozon-seller-openapi-ru-2026-05.json",
    "ozon-seller-openapi-ru-2025-09.json",
)


def load_references(directory: Path) -> list[RefDoc]:
    return [RefDoc.load(directory / name) for name in NEWEST_FIRST if (directory / name).exists()]


@dataclass
class Missing:
    method: str
    path: str
    part: str
    field: Field
    doc: RefDoc
    ref_schema: dict[str, Any]  # the body schema of that reference


def is_binary(op: dict[str, Any]) -> bool:
    content = op["responses"]["200"].get("content") or {}
    return "application/json" not in content


def missing_fields(spec: dict[str, Any], docs: list[RefDoc]) -> list[Missing]:
    schemas = SpecSchemas(spec)
    out: list[Missing] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            m = method.upper()
            described = [(d, d.operation(m, path)) for d in docs]
            described = [(d, o) for d, o in described if o is not None]
            if not described:
                continue
            for part in ("request", "response"):
                if part == "response" and is_binary(op):
                    continue
                mine = spec_fields(schemas, spec_body_schema(op, part))
                sources = described[:1] if part == "request" else described
                seen: set[str] = set()
                for d, rop in sources:
                    body = d.request(rop) if part == "request" else d.response(rop)
                    if body is None or not body.schema:
                        continue
                    for key, f in ref_fields(d, body.schema).items():
                        if key in mine or key in seen:
                            continue
                        parent = key.rsplit(".", 1)[0] if "." in key else None
                        if parent is not None and (parent in seen or _opaque(mine.get(parent))):
                            continue
                        seen.add(key)
                        out.append(Missing(m, path, part, f, d, body.schema))
    return out


def _opaque(f: Field | None) -> bool:
    """A spec field whose value is free-form: nothing below it can be missing."""
    return f is not None and "any" in f.accepts


def fill(spec: dict[str, Any], missing: list[Missing]) -> list[str]:
    """Add every missing field to the spec (texts left as TODO); returns what was added."""
    from codegen.naming import camel
    from codegen.specdiff.convert import Converter, singular
    from codegen.specdiff.names import schema_sides
    from codegen.specdiff.refdoc import kind_of_ref
    from codegen.specdiff.shape import ref_node_at, spec_object_at

    schemas = SpecSchemas(spec)
    conv = Converter(spec, schema_sides(spec))
    done: list[str] = []
    for m in missing:
        key = m.field.key
        parent_key, _, prop = key.rpartition(".")
        op = spec["paths"][m.path][m.method.lower()]
        root = spec_body_schema(op, m.part)
        holders = spec_object_at(schemas, root or {}, parent_key)
        node = ref_node_at(m.doc, m.ref_schema, key)
        if not holders or node is None:
            raise SystemExit(f"{m.method} {m.path} {m.part} {m.field.path}: cannot place the field")
        for name, obj in holders:
            if prop in (obj.get("properties") or {}):
                continue
            s, _ = m.doc.resolve(node)
            child = (name or "Inline") + camel(
                singular(prop) if kind_of_ref(s) == "array" else prop
            )
            new = conv.convert(
                m.doc, node, child, "request" if m.part == "request" else "response", prop
            )
            if m.part == "response" and m.doc.source == "ozon-swagger-ru-2025-09":
                from codegen.specdiff.convert import add_note

                add_note(
                    new,
                    "Only Ozon's older (2025-09) reference declares this field; kept because "
                    "answers may still carry it.",
                )
            obj.setdefault("properties", {})[prop] = new
            done.append(f"{m.method} {m.path} {m.part} {m.field.path} -> {name}.{prop}")
    return done


# ---------------------------------------------------------------------- the acceptance measures
@dataclass
class AnswerCoverage:
    """Answer fields of every reference file (union), matched by their full path (``[]`` marks a
    list level), against every path the spec accepts (all alternatives of ``anyOf``)."""

    total: int
    missing: list[str]  # "METHOD /path field.path (source)"

    @property
    def ratio(self) -> float:
        return 1.0 if not self.total else (self.total - len(self.missing)) / self.total


def answer_coverage(spec: dict[str, Any], docs: list[RefDoc]) -> AnswerCoverage:
    from codegen.specdiff.shape import spec_paths

    schemas = SpecSchemas(spec)
    total = 0
    missing: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if is_binary(op):
                continue
            root = spec_body_schema(op, "response")
            mine = spec_paths(schemas, root)
            flat = spec_fields(schemas, root)
            seen: set[str] = set()
            for d in docs:
                rop = d.operation(method.upper(), path)
                body = d.response(rop) if rop is not None else None
                if body is None or not body.schema:
                    continue
                for f in ref_fields(d, body.schema).values():
                    if f.path in seen:
                        continue
                    seen.add(f.path)
                    total += 1
                    if f.path in mine or _under_opaque(flat, f.key):
                        continue
                    missing.append(f"{method.upper()} {path} {f.path} ({d.source})")
    return AnswerCoverage(total, missing)


def _under_opaque(flat: dict[str, Field], key: str) -> bool:
    parts = key.split(".")
    return any(_opaque(flat.get(".".join(parts[:i]))) for i in range(1, len(parts)))


@dataclass
class RequestDrift:
    """Request fields of the spec against the newest reference that describes the operation."""

    #: fields the reference declares and the spec lacks
    missing: list[str]
    #: fields the spec has beyond the reference, without a recorded reason (``x-ozon-note``)
    unexplained: list[str]
    #: fields the spec has beyond the reference, with the reason recorded
    explained: list[str]


def request_drift(spec: dict[str, Any], docs: list[RefDoc]) -> RequestDrift:
    schemas = SpecSchemas(spec)
    drift = RequestDrift([], [], [])
    for path, item in spec["paths"].items():
        for method, op in item.items():
            m = method.upper()
            newest = next(((d, o) for d in docs if (o := d.operation(m, path)) is not None), None)
            if newest is None or m == "GET":
                continue
            d, rop = newest
            body = d.request(rop)
            theirs = ref_fields(d, body.schema) if body is not None and body.schema else {}
            mine = spec_fields(schemas, spec_body_schema(op, "request"))
            for key, f in theirs.items():
                parent = key.rsplit(".", 1)[0] if "." in key else None
                if key in mine or (parent is not None and parent not in mine):
                    continue
                if _under_opaque(mine, key):
                    continue
                drift.missing.append(f"{m} {path} {f.path} ({d.source})")
            for key, f in mine.items():
                parent = key.rsplit(".", 1)[0] if "." in key else None
                if key in theirs or (parent is not None and parent not in theirs):
                    continue
                line = f"{m} {path} {f.path} ({d.source})"
                (drift.explained if f.noted else drift.unexplained).append(line)
    return drift
