"""The describe step: worklists of TODO(describe) texts for writers, and applying their texts.

``--describe`` writes ``build/describe/<tag>.yaml`` (one per tag; schemas used by several tags go
to ``_shared.yaml``). Each item is::

    - id: 'property PostingFbsListV4RequestFilter.since'   # what to write (do not change)
      context: {...}                                     # types, enums, limits, where it is used
      hint: ...                                          # Ozon's Russian/Chinese text: to understand,
                                                         # never to copy or translate word for word
      text: ''                                           # <- the English text goes here

A writer fills ``text`` (English, in their own words; Markdown allowed) and runs
``python -m codegen.specdiff --apply-text build/describe/<tag>.yaml``. Applying refuses ids that are
not (or no longer) TODO, the same id twice, texts with Cyrillic or CJK characters and texts that
still say TODO; items left empty stay TODO and are counted.

Item ids: ``summary METHOD /path``, ``description METHOD /path``, ``response METHOD /path`` (the
200 answer's description), ``schema Name``, ``property Name.prop``, ``tag name``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from codegen import naming
from codegen.specdiff.convert import is_todo
from codegen.specdiff.diff import spec_body_schema
from codegen.specdiff.names import operations, users
from codegen.specdiff.refdoc import RefDoc, strip_html
from codegen.specdiff.shape import SpecSchemas, ref_fields, spec_fields

FOREIGN = re.compile(r"[\u0400-\u04FF\u3000-\u30FF\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")
SHARED = "_shared"


@dataclass
class Todo:
    id: str
    tag: str
    where: str
    holder: dict[str, Any]
    key: str

    def apply(self, text: str) -> None:
        self.holder[self.key] = text


def collect_todos(spec: dict[str, Any]) -> list[Todo]:
    """Every TODO(describe) text of the spec, with the tag whose writer owns it."""
    out: list[Todo] = []
    for t in spec.get("tags") or []:
        if is_todo(t.get("description")):
            out.append(Todo(f"tag {t['name']}", t["name"], f"tags/{t['name']}", t, "description"))
    for method, path, op in operations(spec):
        tag = (op.get("tags") or ["?"])[0]
        for key in ("summary", "description"):
            if is_todo(op.get(key)):
                out.append(Todo(f"{key} {method} {path}", tag, f"{method} {path} {key}", op, key))
        r200 = op["responses"]["200"]
        if is_todo(r200.get("description")):
            out.append(
                Todo(
                    f"response {method} {path}",
                    tag,
                    f"{method} {path} response",
                    r200,
                    "description",
                )
            )
    schema_tag = schema_tags(spec)
    for name, s in spec["components"]["schemas"].items():
        tag = schema_tag.get(name, SHARED)
        if is_todo(s.get("description")):
            out.append(Todo(f"schema {name}", tag, f"schema {name}", s, "description"))
        for pname, p in (s.get("properties") or {}).items():
            if isinstance(p, dict) and is_todo(p.get("description")):
                out.append(
                    Todo(
                        f"property {name}.{pname}", tag, f"schema {name}.{pname}", p, "description"
                    )
                )
    return out


def schema_tags(spec: dict[str, Any]) -> dict[str, str]:
    tag_of = {op["operationId"]: (op.get("tags") or ["?"])[0] for _m, _p, op in operations(spec)}
    out = {}
    for name, oids in users(spec).items():
        tags = {tag_of[o] for o in oids}
        out[name] = next(iter(tags)) if len(tags) == 1 else SHARED
    return out


# ---------------------------------------------------------------------- hints
def _hints(
    spec: dict[str, Any], docs: list[RefDoc], wanted_ops: set[str]
) -> dict[tuple[str, str | None], str]:
    """(schema, property or None) -> the reference's text for it (newest file first)."""
    schemas = SpecSchemas(spec)
    out: dict[tuple[str, str | None], str] = {}
    for method, path, op in operations(spec):
        if op["operationId"] not in wanted_ops:
            continue
        for part in ("request", "response"):
            root = spec_body_schema(op, part)
            if not root:
                continue
            mine = spec_fields(schemas, root)
            _, root_name = schemas.resolve(root)
            for d in reversed(docs):  # the newest text is written last and wins
                rop = d.operation(method, path)
                if rop is None:
                    continue
                body = d.request(rop) if part == "request" else d.response(rop)
                if not body or not body.schema:
                    continue
                theirs = ref_fields(d, body.schema)
                rs, _ = d.resolve(body.schema)
                if root_name and rs.get("description"):
                    out[(root_name, None)] = strip_html(rs["description"])
                for key, f in mine.items():
                    rf = theirs.get(key)
                    if rf is None or not rf.description:
                        continue
                    text = strip_html(rf.description)
                    if f.schema_name:
                        out[(f.schema_name, key.rsplit(".", 1)[-1])] = text
                    # the property's text also explains the object it holds
                    holder = _target_name(schemas, f.schema_name, key.rsplit(".", 1)[-1])
                    if holder:
                        out[(holder, None)] = text
    return out


def _target_name(schemas: SpecSchemas, holder: str | None, prop: str) -> str | None:
    if not holder:
        return None
    p = (schemas.schemas[holder].get("properties") or {}).get(prop)
    stack = [p]
    while stack:
        x = stack.pop()
        if not isinstance(x, dict):
            continue
        if "$ref" in x:
            return str(x["$ref"]).rsplit("/", 1)[-1]
        stack.extend(x.get("anyOf") or [])
        if isinstance(x.get("items"), dict):
            stack.append(x["items"])
    return None


def _short_type(schemas: SpecSchemas, node: dict[str, Any]) -> str:
    if "$ref" in node:
        return node["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in node:
        return " | ".join(_short_type(schemas, a) for a in node["anyOf"])
    ty = node.get("type")
    if ty == "array" or (isinstance(ty, list) and ty and ty[0] == "array"):
        return "list of " + _short_type(schemas, node.get("items") or {})
    if ty is None:
        return "any"
    s = " | ".join(ty) if isinstance(ty, list) else str(ty)
    if node.get("format"):
        s += f" ({node['format']})"
    return s


def write_worklists(spec: dict[str, Any], docs: list[RefDoc], out_dir: Path) -> dict[str, int]:
    todos = collect_todos(spec)
    use = users(spec)
    todo_schemas = {
        t.id.split(" ", 1)[1].split(".")[0]
        for t in todos
        if t.id.startswith(("schema", "property"))
    }
    wanted_ops = {o for n in todo_schemas for o in use.get(n, ())}
    wanted_ops |= {
        op["operationId"]
        for _m, _p, op in operations(spec)
        if any(is_todo(op.get(k)) for k in ("summary", "description"))
    }
    hints = _hints(spec, docs, wanted_ops) if docs else {}
    files: dict[str, list[dict[str, Any]]] = {}
    for t in todos:
        item: dict[str, Any] = {"id": t.id}
        ctx, hint = _worklist_context(spec, docs, hints, use, t.id)
        item["context"] = ctx
        if hint:
            item["hint"] = hint
        item["text"] = ""
        files.setdefault(t.tag, []).append(item)
    return _write_files(files, out_dir)


def _worklist_context(
    spec: dict[str, Any],
    docs: list[RefDoc],
    hints: dict[tuple[str, str | None], str],
    use: dict[str, set[str]],
    todo_id: str,
) -> tuple[dict[str, Any], str]:
    """What the writer of one text needs to know, and Ozon's own text (the hint)."""
    kind, _, rest = todo_id.partition(" ")
    if kind in ("summary", "description", "response"):
        return _operation_context(spec, docs, kind, rest)
    if kind == "schema":
        return _schema_context(spec, hints, use, rest)
    if kind == "property":
        return _property_context(spec, hints, use, rest)
    if kind == "tag":
        ops = sorted(p for _m, p, op in operations(spec) if op["tags"][0] == rest)
        return {"operations": ops, "what": "one sentence: what this group of operations is for"}, ""
    return {}, ""


def _operation_context(
    spec: dict[str, Any], docs: list[RefDoc], kind: str, rest: str
) -> tuple[dict[str, Any], str]:
    method, path = rest.split(" ", 1)
    op = spec["paths"][path][method.lower()]
    group, name = naming.python_names(path, op)
    ctx = {
        "call": f"client.{group}.{name}",
        "operationId": op["operationId"],
        "request": _body_name(op, "request"),
        "response": _body_name(op, "response"),
    }
    for k in (
        "deprecated",
        "x-ozon-replaced-by",
        "x-ozon-safe",
        "x-ozon-beta",
        "x-title-zh",
        "x-ozon-pagination",
        "x-ozon-rate-limit",
    ):
        if k in op:
            ctx[k.removeprefix("x-ozon-").removeprefix("x-")] = op[k]
    ctx["what"] = {
        "summary": "one line, imperative, no final period (e.g. 'List FBO supply orders')",
        "description": "2-6 sentences: what it does, what to pass, what comes back, related calls; mention limits, paging, deprecation and beta status",
        "response": "one short sentence describing the 200 answer",
    }[kind]
    hint = _op_hint(docs, method, path, kind)
    return ctx, hint


def _schema_context(
    spec: dict[str, Any],
    hints: dict[tuple[str, str | None], str],
    use: dict[str, set[str]],
    rest: str,
) -> tuple[dict[str, Any], str]:
    schemas = SpecSchemas(spec)
    s = spec["components"]["schemas"][rest]
    ctx = {"type": _short_type(schemas, s) if "properties" not in s else "object"}
    if "properties" in s:
        ctx["properties"] = list(s["properties"])
    if s.get("enum"):
        ctx["enum"] = s["enum"]
    ctx["used_by"] = sorted(use.get(rest, ()))[:8]
    ctx["what"] = "one sentence: what this object or value is"
    hint = hints.get((rest, None), "")
    return ctx, hint


def _property_context(
    spec: dict[str, Any],
    hints: dict[tuple[str, str | None], str],
    use: dict[str, set[str]],
    rest: str,
) -> tuple[dict[str, Any], str]:
    schemas = SpecSchemas(spec)
    sname, pname = rest.split(".", 1)
    s = spec["components"]["schemas"][sname]
    p = s["properties"][pname]
    ctx = {"type": _short_type(schemas, p)}
    target, _ = schemas.resolve(p if "$ref" in p else {})
    enum = p.get("enum") or (p.get("items") or {}).get("enum") or target.get("enum")
    if enum:
        ctx["enum"] = enum
    if pname in (s.get("required") or []):
        ctx["required"] = True
    for k in (
        "maxItems",
        "minItems",
        "maximum",
        "minimum",
        "maxLength",
        "minLength",
        "default",
    ):
        if k in p:
            ctx[k] = p[k]
    if p.get("x-ozon-note"):
        ctx["note"] = p["x-ozon-note"]
    ctx["used_by"] = sorted(use.get(sname, ()))[:8]
    ctx["what"] = "one sentence or two: what the field holds; explain each enum value"
    hint = hints.get((sname, pname), "")
    return ctx, hint


def _write_files(files: dict[str, list[dict[str, Any]]], out_dir: Path) -> dict[str, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.yaml"):
        old.unlink()
    header = (
        "# Worklist of texts to write for spec/openapi.yaml (generated by\n"
        "# `python -m codegen.specdiff --describe`). Fill each `text:` in English, in your own\n"
        "# words; `hint` is Ozon's text, to understand the field, never to copy or translate\n"
        "# literally. Leave `id` alone. Apply with\n"
        "#   python -m codegen.specdiff --apply-text <this file>\n"
    )
    counts = {}
    for tag, items in sorted(files.items()):
        body = yaml.dump(items, allow_unicode=True, sort_keys=False, width=100)
        (out_dir / f"{tag}.yaml").write_text(header + body, encoding="utf-8")
        counts[tag] = len(items)
    return counts


def _body_name(op: dict[str, Any], part: str) -> str | None:
    sch = spec_body_schema(op, part)
    if sch and "$ref" in sch:
        return str(sch["$ref"]).rsplit("/", 1)[-1]
    if part == "response":
        content = op["responses"]["200"].get("content") or {}
        return next(iter(content), None)
    return None


def _op_hint(docs: list[RefDoc], method: str, path: str, kind: str) -> str:
    parts = []
    for d in docs:
        rop = d.operation(method, path)
        if rop is None:
            continue
        if kind == "response":
            text = ((rop.get("responses") or {}).get("200") or {}).get("description")
        elif kind == "summary":
            text = rop.get("summary")
        else:
            text = (rop.get("summary") or "") + "\n" + (rop.get("description") or "")
        text = strip_html(text)
        if text and text not in parts:
            parts.append(text)
    return "\n---\n".join(parts)[:4000]


# ---------------------------------------------------------------------- applying
def apply_texts(spec: dict[str, Any], files: list[Path]) -> tuple[list[str], int]:
    """Apply written texts; returns (problems, TODO texts left). Nothing is applied when there
    are problems."""
    todos = {t.id: t for t in collect_todos(spec)}
    problems: list[str] = []
    seen: dict[str, str] = {}
    pending: list[tuple[Todo, str]] = []
    for f in files:
        data = yaml.safe_load(Path(f).read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            problems.append(f"{f}: expected a list of items")
            continue
        for item in data:
            if not isinstance(item, dict) or "id" not in item:
                problems.append(f"{f}: an item without id")
                continue
            iid = str(item["id"])
            text = item.get("text")
            if text is None or (isinstance(text, str) and not text.strip()):
                continue
            if not isinstance(text, str):
                problems.append(f"{f}: {iid}: text is not a string")
                continue
            if iid in seen:
                problems.append(f"{f}: {iid}: also given in {seen[iid]}")
                continue
            seen[iid] = str(f)
            if iid not in todos:
                problems.append(
                    f"{f}: {iid}: not a TODO text of the spec (renamed or already written?)"
                )
                continue
            if FOREIGN.search(text):
                problems.append(f"{f}: {iid}: contains Cyrillic or CJK characters; write English")
                continue
            if "TODO" in text:
                problems.append(f"{f}: {iid}: still says TODO")
                continue
            pending.append((todos[iid], text.strip()))
    if problems:
        return problems, len(todos)
    for t, text in pending:
        t.apply(text)
    return [], len(todos) - len(pending)
