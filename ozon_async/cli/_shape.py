"""The whole request of an operation for ``ozon ops NAME``: every field at every depth with its
type, whether it is required, its allowed values and limits, and the spec's example.

Read from the spec shipped in the package (through :mod:`ozon_async._catalog`), so it says what
the request model checks: the same schemas the models were generated from.
"""

from __future__ import annotations

import json
from typing import Any

from ozon_async._operation import Operation

__all__ = ["example_command", "pretty_json", "request_example", "request_shape"]

#: How deep nested objects are shown (deeper ones are named, not expanded).
MAX_DEPTH = 6
_WIDTH = 100


def _spec() -> dict[str, Any]:
    """The packaged spec, read once by the catalogue."""
    from ozon_async import _catalog

    return _catalog.spec(_catalog.SELLER)


def _resolve(node: Any) -> tuple[dict[str, Any], bool]:
    """(the schema behind ``$ref`` and nullable ``anyOf`` wrappers, whether null is allowed)."""
    nullable = False
    schemas = _spec()["components"]["schemas"]
    while isinstance(node, dict):
        if "$ref" in node:
            node = schemas[node["$ref"].rsplit("/", 1)[1]]
        elif "anyOf" in node and "properties" not in node:
            alts = [a for a in node["anyOf"] if a.get("type") != "null"]
            nullable = nullable or len(alts) != len(node["anyOf"])
            if len(alts) != 1:
                return node, nullable
            node = alts[0]
        else:
            break
    return (node if isinstance(node, dict) else {}), nullable


def _kinds(node: dict[str, Any]) -> list[str]:
    t = node.get("type")
    kinds = list(t) if isinstance(t, list) else ([t] if t else [])
    return [k for k in kinds if k != "null"]


def _type_text(node: dict[str, Any]) -> str:
    """``string (date-time)``, ``array of integer``, ``object``... (the first type is the real
    one; the others are how Ozon sometimes sends it)."""
    kinds = _kinds(node)
    if "anyOf" in node and not kinds:
        alts = [_type_text(_resolve(a)[0]) for a in node["anyOf"] if a.get("type") != "null"]
        return " or ".join(alts)
    kind = kinds[0] if kinds else ("object" if "properties" in node else "any")
    if kind == "integer" and node.get("format") == "int64":
        return "integer (int64)"
    if kind == "string" and node.get("format") in ("int64", "uint64"):
        return "integer (int64, as a string)"
    if kind == "string" and node.get("format"):
        return f"string ({node['format']})"
    if kind == "array":
        item, _ = _resolve(node.get("items") or {})
        return f"array of {_type_text(item)}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        value, _ = _resolve(node["additionalProperties"])
        return f"map of {_type_text(value)}"
    return str(kind)


def _limits(node: dict[str, Any]) -> list[str]:
    out = []
    lo, hi = node.get("minimum"), node.get("maximum")
    if lo is not None and hi is not None:
        out.append(f"{lo}..{hi}")
    elif lo is not None:
        out.append(f">= {lo}")
    elif hi is not None:
        out.append(f"<= {hi}")
    if node.get("exclusiveMinimum") is not None:
        out.append(f"> {node['exclusiveMinimum']}")
    if node.get("exclusiveMaximum") is not None:
        out.append(f"< {node['exclusiveMaximum']}")
    for low, high, unit in (("minItems", "maxItems", "items"), ("minLength", "maxLength", "chars")):
        a, b = node.get(low), node.get(high)
        if a is not None and b is not None:
            out.append(f"{a} to {b} {unit}")
        elif b is not None:
            out.append(f"at most {b} {unit}")
        elif a:
            out.append(f"at least {a} {unit}")
    return out


def _values(node: dict[str, Any]) -> list[Any]:
    if node.get("enum"):
        return [v for v in node["enum"] if v is not None]
    if _kinds(node) == ["array"]:
        item, _ = _resolve(node.get("items") or {})
        if item.get("enum"):
            return [v for v in item["enum"] if v is not None]
    return []


def _short(text: str) -> str:
    """The first sentence of a description, on one line."""
    import re

    one = " ".join(text.split())
    end = re.search(r"(?<!\be\.g)(?<!\bi\.e)\. (?=[A-Z`])", one)
    return one if end is None else one[: end.start() + 1]


def _wrapped(text: str, indent: str) -> list[str]:
    import textwrap

    return textwrap.wrap(text, _WIDTH, initial_indent=indent, subsequent_indent=indent) or []


def pretty_json(value: Any, indent: str = "") -> list[str]:
    """JSON on several lines, with lists of plain values kept on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        items = list(value.items())
        out = [indent + "{"] if not indent else ["{"]
        for i, (k, v) in enumerate(items):
            sub = pretty_json(v, inner)
            comma = "," if i < len(items) - 1 else ""
            out.append(f"{inner}{json.dumps(k, ensure_ascii=False)}: {sub[0]}")
            out += sub[1:]
            out[-1] += comma
        out.append(indent + "}")
        return out
    if isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
        out = ["["]
        for i, v in enumerate(value):
            sub = pretty_json(v, inner)
            out.append(inner + sub[0])
            out += sub[1:]
            if i < len(value) - 1:
                out[-1] += ","
        out.append(indent + "]")
        return out
    return [json.dumps(value, ensure_ascii=False)]


def _fields(
    node: dict[str, Any], depth: int, seen: tuple[int, ...], lines: list[str], width: int
) -> None:
    props: dict[str, Any] = node.get("properties") or {}
    required = set(node.get("required") or [])
    pad = "  " * (depth + 1)
    for name, prop in props.items():
        target, nullable = _resolve(prop)
        facts = [_type_text(target)]
        if name in required:
            facts.append("required")
        facts += _limits(target)
        if nullable:
            facts.append("may be null")
        if prop.get("deprecated") or target.get("deprecated"):
            facts.append("deprecated")
        head = f"{pad}{name}"
        lines.append(f"{head:<{width}}  {', '.join(facts)}")
        about = _short(prop.get("description") or target.get("description") or "")
        inner = pad + " " * 2
        if about:
            lines += _wrapped(about, inner)
        values = _values(target)
        if values:
            shown = ", ".join(str(v) for v in values[:30])
            more = f" (and {len(values) - 30} more)" if len(values) > 30 else ""
            lines += _wrapped(f"one of: {shown}{more}", inner)
        child = target
        if _kinds(target) == ["array"] or "array" in _kinds(target)[:1]:
            child, _ = _resolve(target.get("items") or {})
        if child.get("properties"):
            if id(child) in seen or depth + 1 >= MAX_DEPTH:
                lines.append(f"{inner}(fields as above)" if id(child) in seen else f"{inner}...")
            else:
                _fields(child, depth + 1, (*seen, id(child)), lines, width)


def _body_schema(op: Operation) -> dict[str, Any] | None:
    item = _spec()["paths"].get(op.path, {}).get(op.method.lower(), {})
    content = (item.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json") or content.get("multipart/form-data")
    if not media:
        return None
    schema, _ = _resolve(media.get("schema") or {})
    return schema


def request_shape(op: Operation) -> list[str]:
    """Lines describing every field of the request (path parameters first)."""
    item = _spec()["paths"].get(op.path, {}).get(op.method.lower(), {})
    lines: list[str] = []
    params = [p for p in item.get("parameters") or [] if p.get("in") == "path"]
    for p in params:
        param_schema, _ = _resolve(p.get("schema") or {})
        lines.append(f"  {p['name']}  {_type_text(param_schema)}, required, in the path")
        if p.get("description"):
            lines += _wrapped(_short(p["description"]), "    ")
    body = _body_schema(op)
    if body is not None:
        names = _all_names(body, 0, ())
        width = min(max((len(n) for n in names), default=10), 40)
        _fields(body, 0, (id(body),), lines, width + 2)
    return lines


def _all_names(node: dict[str, Any], depth: int, seen: tuple[int, ...]) -> list[str]:
    out = []
    for name, prop in (node.get("properties") or {}).items():
        out.append("  " * depth + name)
        target, _ = _resolve(prop)
        child = target
        if "array" in _kinds(target)[:1]:
            child, _ = _resolve(target.get("items") or {})
        if child.get("properties") and id(child) not in seen and depth + 1 < MAX_DEPTH:
            out += _all_names(child, depth + 1, (*seen, id(child)))
    return out


def request_example(op: Operation) -> Any:
    """The spec's example request body (``None`` when it has none)."""
    item = _spec()["paths"].get(op.path, {}).get(op.method.lower(), {})
    content = (item.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json") or {}
    return media.get("example")


def example_command(op: Operation, dotted_name: str) -> str | None:
    """``ozon call NAME --json '...'`` with the spec's example (``None`` without one)."""
    example = request_example(op)
    if example is None:
        return None
    body = json.dumps(example, ensure_ascii=False, separators=(",", ":"))
    quoted = "'" + body.replace("'", "'\\''") + "'"
    return f"ozon call {dotted_name} --json {quoted}"
