"""spec/openapi.yaml: valid, complete, documented in English, examples valid against schemas."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.conftest import (
    REFERENCE,
    expected_operations,
    load_spec,
    reference_2026_operations,
    spec_operations,
)

FOREIGN = re.compile(r"[\u0400-\u04FF\u3000-\u30FF\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")
SPEC_URI = "urn:ozon-seller-spec"


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_operation_set_is_the_seed_plus_successors_plus_the_2026_references() -> None:
    seed, successors = expected_operations()
    assert len(seed) == 166
    assert len(successors) == 13
    expected = {(o["method"], o["path"]) for o in seed} | {
        (o["method"], o["path"]) for o in successors
    }
    assert len(expected) == 179
    ref = reference_2026_operations()
    assert len(ref) == 480
    ops = spec_operations()
    actual = {(m, p) for m, p, _ in ops}
    # operations no reference file here describes, converted by hand from other public sources
    hand = {(m, p) for m, p, op in ops if op.get("x-ozon-source")}
    assert hand == {("POST", p) for p in SEPTEMBER_2026}
    assert not hand & ref
    assert actual == expected | ref | hand


#: What Ozon's swagger of late September 2026 (not among the reference files) adds.
SEPTEMBER_2026 = {
    "/v3/posting/fbs/package-label/create",
    "/v2/posting/fbs/package-label/get",
    "/v2/actions/candidates",
    "/v2/actions/products",
    "/v2/actions/products/deactivate",
    "/v2/actions/auto-add/products/list",
    "/v2/actions/auto-add/products/candidates",
    "/v2/actions/auto-add/products/delete",
    "/v2/actions/auto-add/products/update",
    "/v1/actions/products/update",
    "/v1/analytics/local-sale/clusters-items/info",
    "/v1/analytics/local-sale/items-clusters/info",
    "/v1/analytics/local-sale/total",
    "/v1/warehouse/rfbs/return-point/list",
}


def test_tags_titles_and_lifecycle() -> None:
    seed, successors = expected_operations()
    ops = {(m, p): op for m, p, op in spec_operations()}
    for o in seed:
        op = ops[(o["method"], o["path"])]
        assert op["x-title-zh"] == o["title_zh"], o["path"]
        if o["successor"]:
            assert op.get("deprecated") is True, o["path"]
            assert op["x-ozon-replaced-by"] == o["successor"], o["path"]
            method, path = o["successor"].split(" ", 1)
            assert (method, path) in ops, f"successor of {o['path']} is not in the spec"
    for o in successors:
        assert not ops[(o["method"], o["path"])].get("deprecated")


def test_operation_ids_are_unique_and_follow_the_naming_rule() -> None:
    from codegen import naming

    spec = load_spec()
    tags = {t["name"] for t in spec["tags"]}
    seen: set[str] = set()
    calls: set[tuple[str, str]] = set()
    for _method, path, op in spec_operations():
        assert op["tags"] == [naming.tag_of(path)], path
        assert op["tags"][0] in tags, path
        _group, name = naming.python_names(path, op)
        # the operationId follows the (possibly overridden) Python name
        expected_id = (
            naming.operation_id(path)
            if "x-python-name" not in op
            else f"{naming.group_of(path).rstrip('_')}_{name}"
        )
        assert op["operationId"] == expected_id, path
        # the rule is overridden only where it would collide, and the spec says why
        for key in ("x-python-group", "x-python-name"):
            if key in op:
                assert op.get("x-python-name-reason"), f"{path}: {key} without a reason"
        call = naming.python_names(path, op)
        assert call not in calls, f"{path}: {call} is taken"
        calls.add(call)
        assert op["operationId"] not in seen
        seen.add(op["operationId"])


def test_every_operation_is_documented_with_schemas_and_examples() -> None:
    for method, path, op in spec_operations():
        where = f"{method} {path}"
        assert op.get("summary", "").strip(), where
        assert len(op.get("description", "").strip()) > 40, where
        if method != "GET":
            ((_rct, media),) = op["requestBody"]["content"].items()
            assert _rct in ("application/json", "multipart/form-data"), where
            assert "$ref" in media["schema"], where
            assert "example" in media, where
        ((ctype, media),) = op["responses"]["200"]["content"].items()
        assert "schema" in media and "example" in media, where
        if ctype == "application/json":
            assert "$ref" in media["schema"], where
        assert op["responses"]["default"] == {"$ref": "#/components/responses/Error"}, where
        for media in _medias(op):
            src = media.get("x-ozon-example-source")
            assert src in {
                "ozon-swagger-ru-2026-08",
                "ozon-swagger-ru-2026-05",
                "ozon-swagger-ru-2025-09",
                "ozon-swagger-zh-2026-06",
                "ozon-docs-zh",
                "written",
            }, where


def _medias(op: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    if op.get("requestBody"):
        out.extend(op["requestBody"]["content"].values())
    out.extend(op["responses"]["200"]["content"].values())
    return out


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry:
    return Registry().with_resource(SPEC_URI, Resource.from_contents(spec, DRAFT202012))


def _validator(schema: dict[str, Any], registry: Registry) -> Draft202012Validator:
    """A validator that also checks formats (`date`, `date-time`...): a placeholder such as
    "YYYY-MM-DD" in a date example would otherwise pass here and fail in the request model."""
    if "$ref" in schema:
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@pytest.mark.parametrize(
    "method,path", [(m, p) for m, p, _ in spec_operations()], ids=lambda v: str(v)
)
def test_examples_validate_against_their_schemas(
    method: str, path: str, registry: Registry
) -> None:
    op = load_spec()["paths"][path][method.lower()]
    for media in _medias(op):
        if media["schema"].get("format") == "binary":
            continue
        errors = sorted(
            _validator(media["schema"], registry).iter_errors(media["example"]),
            key=lambda e: list(e.path),
        )
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _walk(node: Any, path: str) -> Any:
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            if k in ("example", "examples", "default", "enum"):
                continue
            yield from _walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}/{i}")


def test_every_schema_and_property_has_an_english_description(spec: dict[str, Any]) -> None:
    missing = []
    for name, schema in spec["components"]["schemas"].items():
        if not schema.get("description", "").strip():
            missing.append(name)
        for prop, ps in (schema.get("properties") or {}).items():
            if not ps.get("description", "").strip():
                missing.append(f"{name}.{prop}")
    assert not missing, missing[:20]


def test_no_cyrillic_or_cjk_in_prose(spec: dict[str, Any]) -> None:
    bad = []
    for path, node in _walk(spec, ""):
        for key in ("description", "summary", "x-ozon-note"):
            value = node.get(key)
            if isinstance(value, str) and FOREIGN.search(value):
                bad.append(f"{path}/{key}")
        for t in [t for t in (node.get("tags") or []) if isinstance(t, dict)]:
            assert not FOREIGN.search(t.get("description", ""))
    assert not bad, bad[:20]


def test_every_ref_resolves(spec: dict[str, Any]) -> None:
    unresolved = []
    for path, node in _walk(spec, ""):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        assert ref.startswith("#/"), ref
        target: Any = spec
        for part in ref[2:].split("/"):
            if not isinstance(target, dict) or part not in target:
                unresolved.append(f"{path}: {ref}")
                break
            target = target[part]
    assert not unresolved, unresolved[:20]


def test_schema_names_are_clean(spec: dict[str, Any]) -> None:
    for name, schema in spec["components"]["schemas"].items():
        assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", name), name
        assert not re.match(r"^v\d", name), name
        assert schema.get("title") != "object", name


def test_extensions_are_well_formed(spec: dict[str, Any]) -> None:
    styles = {"offset", "last_id", "cursor", "page"}
    for method, path, op in spec_operations():
        pag = op.get("x-ozon-pagination")
        if pag:
            assert pag["style"] in styles, path
            assert pag["position"] and pag["items"], path
            props = _request_properties(spec, op)
            assert pag["position"] in props, path
            if pag.get("limit"):
                assert pag["limit"] in props, path
        rl = op.get("x-ozon-rate-limit")
        if rl:
            assert rl["requests"] > 0 and rl["period"] > 0, path
        if op.get("x-ozon-safe"):
            assert op["x-ozon-safe"] is True
        if method == "GET":
            assert op.get("x-ozon-safe") is True, path


def _request_properties(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any]:
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    props: dict[str, Any] = spec["components"]["schemas"][ref.split("/")[-1]]["properties"]
    return props


def test_documented_limits_are_encoded(spec: dict[str, Any]) -> None:
    ops = {(m, p): op for m, p, op in spec_operations()}
    assert ops[("POST", "/v2/products/stocks")]["x-ozon-rate-limit"] == {
        "requests": 80,
        "period": 60,
    }
    assert ops[("POST", "/v1/analytics/data")]["x-ozon-rate-limit"]["requests"] == 1
    assert ops[("POST", "/v1/barcode/add")]["x-ozon-rate-limit"]["requests"] == 20
    stocks = _request_properties(spec, ops[("POST", "/v2/products/stocks")])
    assert stocks["stocks"]["maxItems"] == 100
    # writes are never marked safe
    for key in [
        ("POST", "/v2/products/stocks"),
        ("POST", "/v1/product/import/prices"),
        ("POST", "/v4/posting/fbs/ship"),
    ]:
        assert not ops[key].get("x-ozon-safe"), key


def test_package_label_is_a_pdf(spec: dict[str, Any]) -> None:
    op = spec["paths"]["/v2/posting/fbs/package-label"]["post"]
    content = op["responses"]["200"]["content"]
    assert list(content) == ["application/pdf"]
    assert content["application/pdf"]["schema"]["format"] == "binary"


def _structure(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            k: _structure(v)
            for k, v in sorted(node.items())
            if k not in ("description", "x-ozon-note", "deprecated", "default", "example")
        }
    if isinstance(node, list):
        return [_structure(v) for v in node]
    return node


def test_no_duplicated_object_schemas(spec: dict[str, Any]) -> None:
    """One schema per structure on each side (a request-side copy of an answer type is allowed:
    requests and answers never share a schema)."""
    import json

    from codegen.specdiff.names import schema_sides

    sides = schema_sides(spec)
    dupes = []
    for side in ("request", "response"):
        seen: dict[str, str] = {}
        for name, schema in spec["components"]["schemas"].items():
            if name not in sides[side]:
                continue
            if schema.get("type") != "object" or not schema.get("properties"):
                continue  # scalar aliases are named for their meaning; the empty object is one schema
            key = json.dumps(_structure(schema), sort_keys=True)
            if key in seen:
                dupes.append((seen[key], name))
            seen.setdefault(key, name)
    assert not dupes, dupes


def test_type_names_follow_the_rule(spec: dict[str, Any]) -> None:
    """codegen/specdiff/names.py: requests and answers never share a schema; a schema used by one
    operation is named after it (root ``<Op>Request``/``<Op>Response``, then the property path); a
    shared schema has a neutral name that begins with no operation's name."""
    from codegen.specdiff.names import violations

    assert violations(spec) == []


def test_no_todo_texts_left(spec: dict[str, Any]) -> None:
    """Drafted operations carry ``TODO(describe): ...`` texts until a writer replaces them
    (``python -m codegen.specdiff --describe`` / ``--apply-text``)."""
    from codegen.specdiff.describe import collect_todos

    todos = collect_todos(spec)
    assert not todos, [t.where for t in todos[:20]] + [f"... {len(todos)} in all"]
    # and no marker anywhere else (parameters, notes, extensions) that the worklists miss
    import json

    assert "TODO(describe)" not in json.dumps(spec, ensure_ascii=False)


def test_safe_operations_follow_the_read_rule(spec: dict[str, Any]) -> None:
    """x-ozon-safe is the rule of codegen/specdiff/rules.py:is_safe unless the operation says why
    it differs (x-ozon-safe-reason)."""
    from codegen.specdiff.rules import is_safe

    wrong = []
    for method, path, op in spec_operations():
        if op.get("x-ozon-safe-reason"):
            continue
        if bool(op.get("x-ozon-safe")) != is_safe(method, path):
            wrong.append(f"{method} {path}")
    assert not wrong, wrong


def test_every_schema_is_used(spec: dict[str, Any]) -> None:
    def refs(node: Any, out: list[str]) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                out.append(ref.rsplit("/", 1)[1])
            for k, v in node.items():
                if k != "example":
                    refs(v, out)
        elif isinstance(node, list):
            for v in node:
                refs(v, out)

    stack: list[str] = []
    refs(spec["paths"], stack)
    refs(spec.get("webhooks") or {}, stack)  # the push notifications' bodies and answers
    refs(spec["components"]["responses"], stack)
    used: set[str] = set()
    while stack:
        name = stack.pop()
        if name not in used:
            used.add(name)
            refs(spec["components"]["schemas"][name], stack)
    assert set(spec["components"]["schemas"]) == used


@pytest.mark.skipif(
    not (REFERENCE / "ozon-seller-openapi-ru-2026-05.json").exists(),
    reason="Ozon's reference files are not present",
)
def test_every_reference_field_is_in_the_spec(spec: dict[str, Any]) -> None:
    """Answers: every field any reference file declares; requests: every field the newest file
    describing the operation declares (codegen/specdiff/coverage.py)."""
    from codegen.specdiff.coverage import load_references, missing_fields

    missing = missing_fields(spec, load_references(REFERENCE))
    assert not missing, [
        f"{m.method} {m.path} {m.part} {m.field.path} ({m.doc.source})" for m in missing[:30]
    ]
