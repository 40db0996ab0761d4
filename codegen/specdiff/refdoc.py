"""Reading Ozon's reference swagger files: operations, their bodies and their schemas.

Ozon's files are OpenAPI 3.0 with recurring defects (see ``normalize``). Everything that reads a
reference goes through :class:`RefDoc`, so the defects are repaired in one place, with the same
rules for the drift report, the field-coverage check and the importer.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Invalid type names seen in the references and what they mean: (type, format).
TYPE_FIXES: dict[str, tuple[str, str | None]] = {
    "int": ("integer", None),
    "int64": ("integer", "int64"),
    "bool": ("boolean", None),
    "timestamp": ("string", "date-time"),
    "enum": ("string", None),
    "file": ("string", "binary"),
    "array of strings": ("array", None),
    "None": ("string", None),
}

#: Reference files by the source name the spec records in ``x-ozon-example-source``, newest first.
KNOWN_FILES: dict[str, str] = {
    "ozon-seller-openapi-ru-2026-08.json": "ozon-swagger-ru-2026-08",
    "ozon-seller-openapi-zh-2026-06.json": "ozon-swagger-zh-2026-06",
    "ozon-seller-openapi-ru-2026-05.json": "ozon-swagger-ru-2026-05",
    "ozon-seller-openapi-ru-2025-09.json": "ozon-swagger-ru-2025-09",
}


@dataclass
class Body:
    """One request body or 200 answer of a reference operation."""

    content_type: str | None
    schema: dict[str, Any] | None  # raw reference schema (may be a $ref)
    example: Any
    has_example: bool
    description: str | None
    misplaced_example: bool = False


class RefDoc:
    """One reference swagger file."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.schemas: dict[str, Any] = (data.get("components") or {}).get("schemas") or {}
        self.request_bodies: dict[str, Any] = (data.get("components") or {}).get(
            "requestBodies"
        ) or {}
        self.by_operation_id: dict[str, tuple[str, str]] = {}
        for method, path, op in self.operations():
            if op.get("operationId"):
                self.by_operation_id[op["operationId"]] = (method, path)

    @classmethod
    def load(cls, path: Path, source: str | None = None) -> RefDoc:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(data, source or KNOWN_FILES.get(Path(path).name, Path(path).stem))

    # ------------------------------------------------------------------ operations
    def operations(self) -> list[tuple[str, str, dict[str, Any]]]:
        out = []
        for path, item in (self.data.get("paths") or {}).items():
            for method, op in item.items():
                if method.lower() in ("get", "post", "put", "delete", "patch"):
                    out.append((method.upper(), path, op))
        return out

    def operation(self, method: str, path: str) -> dict[str, Any] | None:
        op = ((self.data.get("paths") or {}).get(path) or {}).get(method.lower())
        return op if isinstance(op, dict) else None

    def tags(self, op: dict[str, Any]) -> list[str]:
        return [t for t in op.get("tags") or [] if isinstance(t, str)]

    def request(self, op: dict[str, Any]) -> Body | None:
        rb = op.get("requestBody") or {}
        if "$ref" in rb:
            rb = self.request_bodies.get(rb["$ref"].rsplit("/", 1)[-1]) or {}
        for ct, media in (rb.get("content") or {}).items():
            if "/" not in ct or not isinstance(media, dict):
                continue
            return Body(ct, media.get("schema"), media.get("example"), "example" in media, None)
        return None

    def response(self, op: dict[str, Any]) -> Body | None:
        r200 = (op.get("responses") or {}).get("200") or {}
        content = r200.get("content") or {}
        misplaced = content.get("example")
        for ct, media in content.items():
            if "/" not in ct or not isinstance(media, dict):
                continue
            ex, has = media.get("example"), "example" in media
            moved = False
            if not has and misplaced is not None:
                ex, has, moved = misplaced, True, True
            return Body(ct, media.get("schema"), ex, has, r200.get("description"), moved)
        return Body(None, None, None, False, r200.get("description"))

    # ------------------------------------------------------------------ schemas
    def resolve(self, node: Any) -> tuple[dict[str, Any], str | None]:
        """Follow ``$ref`` (and single-item ``allOf``) to the schema; return it and its name."""
        name = None
        seen = 0
        while isinstance(node, dict):
            node = normalize(node)
            if "$ref" in node:
                name = node["$ref"].rsplit("/", 1)[-1]
                node = self.schemas.get(name) or {}
            else:
                break
            seen += 1
            if seen > 50:
                raise ValueError(f"{self.source}: $ref loop at {name}")
        return (normalize(node) if isinstance(node, dict) else {}), name


def normalize(s: dict[str, Any]) -> dict[str, Any]:
    """Repair one reference schema node (not its children); returns a new dict.

    Repairs: a ``$ref`` beside ``type: array`` with no items (an array of that type); ``allOf`` with
    one ``$ref``; the typos ``ype``/``foramt``; invalid type names (:data:`TYPE_FIXES`); a missing
    type inferred from ``properties``/``items``/``enum``; ``number`` with ``int32`` (an integer);
    ``required: true`` inside a property (moved to the parent's ``required``, see
    :func:`required_of`); ``title: object`` dropped.
    """
    s = dict(s)
    notes: list[str] = list(s.get("x-notes") or [])
    if "$ref" in s and s.get("type") == "array" and not s.get("items"):
        s["items"] = {"$ref": s.pop("$ref")}
        notes.append(
            "Ozon's schema puts the item `$ref` beside `type: array` with `items: null`; "
            "it is an array of that type."
        )
    if "$ref" in s:
        return s
    all_of = s.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        out = {"$ref": all_of[0]["$ref"]}
        for k in ("description", "deprecated", "nullable"):
            if k in s:
                out[k] = s[k]
        return out
    if "ype" in s and "type" not in s:
        s["type"] = s.pop("ype")
        notes.append("Ozon's schema misspells `type` as `ype`.")
    if "foramt" in s and "format" not in s:
        s["format"] = s.pop("foramt")
        notes.append("Ozon's schema misspells `format` as `foramt`.")
    t = s.get("type")
    if t is None and s.get("format") in ("string", "date-time"):
        t = "string"
    if isinstance(t, str) and t in TYPE_FIXES:
        nt, nf = TYPE_FIXES[t]
        notes.append(f"Ozon's schema uses the invalid type name `{t}`.")
        if t == "array of strings" and "items" not in s:
            s["items"] = {"type": "string"}
        t = nt
        if nf:
            s["format"] = nf
    if s.get("format") == "string":
        s.pop("format")
    if t is None and "properties" in s:
        t = "object"
    if t is None and "items" in s:
        t = "array"
    if t is None and "enum" in s:
        t = "string"
    if t == "number" and s.get("format") == "int32":
        t = "integer"
    if t is not None:
        s["type"] = t
    if s.get("title") == "object":
        s.pop("title")
    if notes:
        s["x-notes"] = notes
    return s


def required_of(s: dict[str, Any]) -> list[str]:
    """Required property names of a normalized object schema (both of Ozon's spellings)."""
    props = s.get("properties") or {}
    req = list(s.get("required") or []) if isinstance(s.get("required"), list) else []
    for name, p in props.items():
        if isinstance(p, dict) and p.get("required") is True and name not in req:
            req.append(name)
    return [r for r in req if r in props]


def kind_of_ref(s: dict[str, Any]) -> str:
    """The base kind of a normalized reference node: int, number, string, boolean, array,
    object or any."""
    t = s.get("type")
    fmt = s.get("format")
    if t == "integer":
        return "int"
    if t == "string" and fmt in ("int64", "uint64", "int32"):
        return "int"
    if t in ("number", "string", "boolean", "array", "object"):
        return str(t)
    return "any"


def strip_html(text: str | None) -> str:
    """Reference prose without HTML tags and with collapsed blank lines (for hints and notes)."""
    if not text:
        return ""
    text = re.sub(r"<a [^>]*>(.*?)</a>", r"\1", text, flags=re.S)
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\n\s*\n+", "\n", text)
    return text.strip()


def deepcopy(x: Any) -> Any:
    return copy.deepcopy(x)
