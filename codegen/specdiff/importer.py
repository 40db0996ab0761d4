"""``--import``: draft spec entries for operations a reference has and the spec lacks.

For each operation: the newest reference file describing it supplies the schemas (converted by
:mod:`convert`), every file and Ozon's Chinese doc pages supply example candidates, titles and
deprecation notices, and :mod:`rules` decides the extensions. Examples are checked against the
converted schemas; the first candidate that fits is taken, otherwise the best one is repaired by
:mod:`examples` (each repair recorded), otherwise one is written from the schema. Afterwards the
fields other files declare are added (:mod:`coverage`) and names are normalized (:mod:`names`).
All prose is left as ``TODO(describe): ...``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from codegen import naming
from codegen.specdiff import coverage, names
from codegen.specdiff.convert import Converter, add_note, todo
from codegen.specdiff.examples import ExampleFitter
from codegen.specdiff.refdoc import RefDoc
from codegen.specdiff.rules import (
    binary_type,
    deprecation,
    is_beta,
    is_safe,
    pagination,
    rate_limit,
    sunset,
)
from codegen.specdiff.shape import SpecSchemas, spec_fields

PREFIX = "#/components/schemas/"
FILE_EXAMPLES = {
    "application/pdf": "%PDF-1.7\n%...",
    "image/png": "\x89PNG\r\n...",
}
OP_KEY_ORDER = (
    "operationId",
    "tags",
    "summary",
    "description",
    "x-title-zh",
    "x-title-ru",
    "deprecated",
    "x-ozon-replaced-by",
    "x-ozon-sunset",
    "x-ozon-beta",
    "x-ozon-safe",
    "x-ozon-safe-reason",
    "x-ozon-pagination",
    "x-ozon-rate-limit",
    "x-python-name",
    "x-python-name-reason",
    "x-ozon-note",
    "parameters",
    "requestBody",
    "responses",
)


def load_pages(refs_dir: Path) -> dict[str, Any]:
    f = refs_dir / "docs-zh-pages.json"
    return json.loads(f.read_text(encoding="utf-8")) if f.exists() else {}


def import_operations(
    spec: dict[str, Any], doc: RefDoc, refs_dir: Path, wanted: list[tuple[str, str]]
) -> str:
    docs = coverage.load_references(refs_dir) if refs_dir.exists() else []
    if not any(d.source == doc.source for d in docs):
        docs.insert(0, doc)
    pages = load_pages(refs_dir)
    conv = Converter(spec, names.schema_sides(spec))
    fitter = ExampleFitter(spec)
    lines: list[str] = []
    stats = {"operations": 0, "repaired": 0, "written": 0}
    for method, path in wanted:
        described = [(d, d.operation(method, path)) for d in docs]
        described = [(d, o) for d, o in described if o is not None]
        if not described:
            lines.append(f"{method} {path}: not in the references; skipped")
            continue
        op = draft_operation(
            spec, conv, fitter, method, path, described, pages.get(path) or {}, stats
        )
        spec["paths"].setdefault(path, {})[method.lower()] = op
        stats["operations"] += 1
        lines.append(f"{method} {path}: {op['operationId']}")
    spec["paths"] = dict(sorted(spec["paths"].items()))
    ensure_tags(spec)
    added = coverage.fill(
        spec, [m for m in coverage.missing_fields(spec, docs) if (m.method, m.path) in set(wanted)]
    )
    names.normalize(spec)
    lines.append(
        f"{stats['operations']} operations drafted; {len(conv.created)} schemas created, "
        f"{len(added)} fields added from other reference files; examples repaired "
        f"{stats['repaired']}, written {stats['written']}"
    )
    return "\n".join(lines)


def ensure_tags(spec: dict[str, Any]) -> None:
    have = {t["name"] for t in spec.get("tags") or []}
    for _m, path, _op in names.operations(spec):
        tag = naming.tag_of(path)
        if tag not in have:
            spec["tags"].append({"name": tag, "description": todo(f"tag {tag}")})
            have.add(tag)
    spec["tags"] = sorted(spec["tags"], key=lambda t: t["name"])


def draft_operation(
    spec: dict[str, Any],
    conv: Converter,
    fitter: ExampleFitter,
    method: str,
    path: str,
    described: list[tuple[RefDoc, dict[str, Any]]],
    page: dict[str, Any],
    stats: dict[str, int],
) -> dict[str, Any]:
    doc, rop = described[0]
    oid = naming.operation_id(path)
    oc = naming.camel(oid)
    op: dict[str, Any] = {
        "operationId": oid,
        "tags": [naming.tag_of(path)],
        "summary": todo("summary"),
        "description": todo("description"),
    }
    _mark_lifecycle(op, described, page, method, path)
    _name_from_path(spec, op, path)
    if method != "GET":
        op["requestBody"] = _draft_request(spec, conv, fitter, described, page, stats, oc)
    body = doc.response(rop)
    assert body is not None
    ctype = binary_type(path, body.content_type, body.example)
    r200 = _draft_answer(spec, conv, fitter, described, page, stats, oc, body, ctype)
    op["responses"] = {"200": r200, "default": {"$ref": "#/components/responses/Error"}}
    if "requestBody" in op and ctype is None and body.schema:
        _mark_pagination(spec, op)
    return {k: op[k] for k in OP_KEY_ORDER if k in op}


def _mark_lifecycle(
    op: dict[str, Any],
    described: list[tuple[RefDoc, dict[str, Any]]],
    page: dict[str, Any],
    method: str,
    path: str,
) -> None:
    """Titles, deprecation, beta, safety and the rate limit, from every reference file."""
    doc, rop = described[0]
    zh = next((o for d, o in described if "zh" in d.source), None)
    title = (zh or {}).get("summary") or page.get("title_zh")
    if title:
        op["x-title-zh"] = str(title).strip()
    ru = next(
        (o.get("summary") for d, o in described if "-ru-" in d.source and o.get("summary")), None
    )
    if ru:
        op["x-title-ru"] = " ".join(str(ru).split())
    successors: list[str] = []
    dep = False
    for d, o in described:
        dd, ss = deprecation(d, o)
        dep = dep or dd
        successors += [s for s in ss if s not in successors]
    if dep:
        op["deprecated"] = True
        day = next((d for d in (sunset(o) for _, o in described) if d is not None), None)
        if day is not None:
            op["x-ozon-sunset"] = day
        if successors:
            op["x-ozon-replaced-by"] = successors[0]
            if len(successors) > 1:
                add_note(
                    op,
                    "Ozon names several successors: "
                    + ", ".join(f"`{s}`" for s in successors)
                    + ".",
                )
    if is_beta(doc, rop):
        op["x-ozon-beta"] = True
    op["x-ozon-safe"] = is_safe(method, path)
    if not op["x-ozon-safe"]:
        del op["x-ozon-safe"]
    texts = " ".join(
        (o.get("description") or "") + " " + (o.get("summary") or "")
        for d, o in described
        if "ru" in d.source
    )
    rl = rate_limit(texts)
    if rl:
        op["x-ozon-rate-limit"] = rl


def _name_from_path(spec: dict[str, Any], op: dict[str, Any], path: str) -> None:
    """Path parameters, and the Python name when the rule's would not do."""
    params = re.findall(r"{([^}]+)}", path)
    if params:
        op["parameters"] = [
            {
                "name": p,
                "in": "path",
                "required": True,
                "description": todo(f"path parameter {p}"),
                "schema": {"type": "string"},
            }
            for p in params
        ]
        words = [
            w.replace("-", "_") for w in path.strip("/").split("/")[2:] if not w.startswith("{")
        ]
        op["x-python-name"] = "_".join(words) + "_" + path.strip("/").split("/")[0]
        op["x-python-name-reason"] = (
            "The path has a parameter; the rule's name would contain it, so the name is the path's "
            "other words."
        )
        op["operationId"] = f"{naming.group_of(path).rstrip('_')}_{op['x-python-name']}"
    # a name the rule gives to an operation we already have (Ozon spells one path two ways)
    if "x-python-name" not in op:
        taken = {naming.python_names(p, o) for _m, p, o in names.operations(spec)}
        if (naming.group_of(path), naming.method_name(path)) in taken:
            base, version = naming.method_name(path).rsplit("_", 1)
            alt = (
                f"{base}_underscore_{version}"
                if "_" in path.rsplit("/", 1)[-1]
                else f"{base}_alt_{version}"
            )
            op["x-python-name"] = alt
            op["x-python-name-reason"] = (
                "Ozon documents this path in two spellings (underscore and hyphen); the rule "
                "gives both the same name."
            )
            op["operationId"] = f"{naming.group_of(path).rstrip('_')}_{alt}"


def _draft_request(
    spec: dict[str, Any],
    conv: Converter,
    fitter: ExampleFitter,
    described: list[tuple[RefDoc, dict[str, Any]]],
    page: dict[str, Any],
    stats: dict[str, int],
    oc: str,
) -> dict[str, Any]:
    """The request body (an empty object when Ozon declares none)."""
    doc, rop = described[0]
    body = doc.request(rop)
    media: dict[str, Any]
    if body is None or not body.schema:
        media = {
            "schema": {"$ref": PREFIX + "EmptyRequest"},
            "example": {},
            "x-ozon-example-source": "written",
            "x-ozon-note": "Ozon's reference declares no request body; the client sends an empty JSON object.",
        }
        ctype = "application/json"
    else:
        ctype = body.content_type or "application/json"
        schema = conv.convert(doc, body.schema, oc + "Request", "request")
        schema = _named_root(spec, conv, schema, oc + "Request")
        media = {"schema": schema}
        fitter.fit(media, "request", _candidates(described, page, "request"), stats)
    return {"required": True, "content": {ctype: media}}


def _draft_answer(
    spec: dict[str, Any],
    conv: Converter,
    fitter: ExampleFitter,
    described: list[tuple[RefDoc, dict[str, Any]]],
    page: dict[str, Any],
    stats: dict[str, int],
    oc: str,
    body: Any,
    ctype: str | None,
) -> dict[str, Any]:
    """The 200 answer: a file, an empty object, or the converted schema."""
    doc = described[0][0]
    if ctype:
        r200 = {
            "description": todo("response"),
            "content": {
                ctype: {
                    "schema": {"type": "string", "format": "binary", "contentMediaType": ctype},
                    "example": FILE_EXAMPLES.get(ctype, "..."),
                    "x-ozon-example-source": "written",
                    "x-ozon-note": (
                        f"Ozon's reference describes a JSON wrapper (`content_type`, `file_name`, "
                        f"`file_content`) or nothing here; the server sends the {ctype} bytes themselves."
                        if body.schema or body.content_type
                        else f"Ozon's reference declares no body; the answer is the {ctype} file."
                    ),
                }
            },
        }
    elif not body.schema:
        r200 = {
            "description": todo("response"),
            "content": {
                "application/json": {
                    "schema": {"$ref": PREFIX + "Empty"},
                    "example": {},
                    "x-ozon-example-source": "written",
                    "x-ozon-note": "Ozon's reference declares no body for this answer; the server confirms with an empty JSON object.",
                }
            },
        }
    else:
        schema = conv.convert(doc, body.schema, oc + "Response", "response")
        schema = _named_root(spec, conv, schema, oc + "Response")
        media = {"schema": schema}
        fitter.fit(media, "response", _candidates(described, page, "response"), stats)
        if body.misplaced_example:
            media.setdefault("x-ozon-example-repairs", []).append(
                "Ozon's reference puts this example beside the media type instead of inside it; moved."
            )
        r200 = {"description": todo("response"), "content": {"application/json": media}}
    return r200


def _mark_pagination(spec: dict[str, Any], op: dict[str, Any]) -> None:
    """``x-ozon-pagination`` when the converted request and answer show one."""
    schemas = SpecSchemas(spec)
    rq_media = next(iter(op["requestBody"]["content"].values()))
    req = spec_fields(schemas, rq_media.get("schema"))
    resp = spec_fields(schemas, op["responses"]["200"]["content"]["application/json"]["schema"])
    pag = pagination(req, resp)
    if pag:
        op["x-ozon-pagination"] = pag
        root, _ = schemas.resolve(rq_media["schema"])
        if pag["position"] in (root.get("required") or []):
            root["required"] = [r for r in root["required"] if r != pag["position"]]
            if not root["required"]:
                del root["required"]
            add_note(
                root,
                f"Ozon marks `{pag['position']}` required; leaving it out starts from the "
                "first page, so it is optional here.",
            )


def _named_root(
    spec: dict[str, Any], conv: Converter, schema: dict[str, Any], name: str
) -> dict[str, Any]:
    """A body schema as a ``$ref`` (a scalar or list body becomes a named alias)."""
    schema.pop("description", None)
    if "$ref" in schema:
        return schema
    base, i = name, 2
    while name in spec["components"]["schemas"]:
        name = f"{base}{i}"
        i += 1
    spec["components"]["schemas"][name] = {"description": todo(name), **schema}
    side = "request" if base.endswith("Request") else "response"
    conv.sides[side].add(name)
    return {"$ref": PREFIX + name}


def _candidates(
    described: list[tuple[RefDoc, dict[str, Any]]], page: dict[str, Any], part: str
) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for d, o in described:
        body = d.request(o) if part == "request" else d.response(o)
        if body is not None and body.has_example and body.example is not None:
            out.append((d.source, body.example))
    pv = (
        page.get("request_example")
        if part == "request"
        else (page.get("response_examples") or {}).get("200")
    )
    if pv is not None:
        out.append(("ozon-docs-zh", pv))
    return out
