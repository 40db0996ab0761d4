"""Examples a user can copy: no example in the spec holds a placeholder (``"string"``, a zero or
empty identifier, a date documentation generators fill in, a counting run such as 1234567890),
and every example fits its schema. The rule is ``codegen/specdiff/placeholders.py``; it walks
every example, so operations added later are held to it too."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from codegen.specdiff.placeholders import Realistic, find, reason, repair
from tests.conftest import load_spec

SPEC_URI = "urn:ozon-seller-spec"


def test_no_example_holds_a_placeholder() -> None:
    hits = find(load_spec())
    assert not hits, (
        f"{len(hits)} placeholders in the spec's examples:\n"
        + "\n".join(str(h) for h in hits[:40])
        + "\nReplace them with realistic values (`python -m codegen.specdiff --fix-placeholders`"
        " does it and records each change to an Ozon example in x-ozon-example-repairs)."
    )


def _every_example(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(where, schema, example) of every example the spec has: request bodies, every answer,
    parameters and the shared error answer."""
    out = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            name = f"{method.upper()} {path}"
            for prm in op.get("parameters") or []:
                if "example" in prm:
                    out.append((f"{name} parameter {prm['name']}", prm["schema"], prm["example"]))
            for media in ((op.get("requestBody") or {}).get("content") or {}).values():
                out.append((f"{name} request", media["schema"], media["example"]))
            for code, resp in op["responses"].items():
                for media in (resp.get("content") or {}).values():
                    if "example" in media and "schema" in media:
                        out.append((f"{name} {code}", media["schema"], media["example"]))
    for rname, resp in spec["components"]["responses"].items():
        for media in resp["content"].values():
            out.append((f"components/responses/{rname}", media["schema"], media["example"]))
    return out


def _errors(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, DRAFT202012))
    if "$ref" in schema:
        schema = {"$ref": SPEC_URI + schema["$ref"]}
    validator = Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(value)]


def test_every_example_fits_its_schema() -> None:
    spec = load_spec()
    bad = []
    for where, schema, example in _every_example(spec):
        if schema.get("format") == "binary":
            continue
        errors = _errors(spec, schema, example)
        if errors:
            bad.append(f"{where}: {errors[:3]}")
    assert not bad, "\n".join(bad[:20])


# ---------------------------------------------------------------------- the rule itself
@pytest.mark.parametrize(
    "key, value",
    [
        ("name", "string"),
        ("comment", "example"),
        ("offer_id", "test"),
        ("created_at", "2019-08-24T14:15:22Z"),
        ("date", "2019-08-24"),
        ("id", "3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        ("warehouse_id", 0),
        ("sku", "0"),
        ("posting_number", ""),
        ("product_id", 1234567890),
        ("order_number", "123456789"),
        ("delivery_method_ids", 0),
    ],
)
def test_placeholders_are_recognised(key: str, value: Any) -> None:
    assert reason(key, value)


@pytest.mark.parametrize(
    "key, value",
    [
        ("type", "String"),  # an attribute type Ozon really sends
        ("name", "Кружка керамическая «Утро», 350 мл"),
        ("last_id", 0),  # the first page
        ("cursor", ""),
        ("offset", 0),
        ("parent_posting_number", ""),  # a posting without a parent
        ("quantity", 0),
        ("price", 0),
        ("is_express", False),
        ("warehouse_id", 1020000089903000),
        ("sku", 12345),  # too short to be a counting run
        ("created_at", "0001-01-01T00:00:00Z"),  # Ozon's "no date"
    ],
)
def test_real_values_are_not_placeholders(key: str, value: Any) -> None:
    assert reason(key, value) is None


def _tiny_spec(example: Any, source: str = "ozon-swagger-ru-2026-05") -> dict[str, Any]:
    return {
        "paths": {
            "/v1/thing/list": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Req"},
                                "example": example,
                                "x-ozon-example-source": source,
                            }
                        }
                    },
                    "responses": {},
                }
            }
        },
        "components": {
            "responses": {},
            "schemas": {
                "Req": {
                    "type": "object",
                    "required": ["warehouse_id"],
                    "properties": {
                        "warehouse_id": {
                            "type": ["integer", "string"],
                            "format": "int64",
                            "pattern": "^-?[0-9]+$",
                        },
                        "cancel_reason_id": {
                            "type": "integer",
                            "description": "0 while the posting is not cancelled.",
                        },
                        "exemplar_id": {
                            "type": ["integer", "string"],
                            "pattern": "^-?[0-9]*$",
                            "x-ozon-empty-as-null": True,
                        },
                        "filter": {
                            "type": "object",
                            "properties": {"order_id": {"type": "integer"}},
                        },
                        "posting_numbers": {"type": "array", "items": {"type": "string"}},
                        "since": {"type": "string", "format": "date-time"},
                        "status": {"type": "string", "enum": ["UNSPECIFIED", "NEW", "DONE"]},
                    },
                }
            },
        },
    }


def test_zero_is_real_where_the_description_says_what_it_means() -> None:
    spec = _tiny_spec({"warehouse_id": 0, "cancel_reason_id": 0, "exemplar_id": ""})
    assert [(h.path, h.why) for h in find(spec)] == [("warehouse_id", "a zero identifier")]


def test_a_hit_names_the_operation_the_place_and_the_value() -> None:
    spec = _tiny_spec({"warehouse_id": 1020000089903000, "posting_numbers": ["string"]})
    (hit,) = find(spec)
    assert str(hit) == (
        'POST /v1/thing/list request example, posting_numbers[0]: "string" is a filler word'
    )


def test_repair_fits_the_schema_and_records_the_change() -> None:
    example = {
        "warehouse_id": 0,
        "filter": {"order_id": 0},
        "posting_numbers": ["string"],
        "since": "2019-08-24T14:15:22Z",
        "status": "string",
    }
    spec = _tiny_spec(copy.deepcopy(example))
    lines = repair(spec)
    assert len(lines) == 5 and not find(spec)
    media = spec["paths"]["/v1/thing/list"]["post"]["requestBody"]["content"]["application/json"]
    fixed = media["example"]
    assert fixed["warehouse_id"] > 10**15  # an Ozon-style warehouse id
    assert "filter" in fixed and "order_id" not in fixed["filter"]  # an empty filter field: dropped
    assert fixed["posting_numbers"][0].count("-") == 2
    assert fixed["since"].startswith("2026-")
    assert fixed["status"] == "NEW"  # from the enum, not its "unspecified" value
    assert not _errors(spec, media["schema"], fixed)
    repairs = media["x-ozon-example-repairs"]
    assert any(
        r.startswith('request.posting_numbers[0]: Ozon\'s example has the placeholder "string"')
        for r in repairs
    )
    assert any("request.filter.order_id" in r and "removed" in r for r in repairs)


def test_repair_records_nothing_for_a_written_example() -> None:
    spec = _tiny_spec({"warehouse_id": 0}, source="written")
    repair(spec)
    media = spec["paths"]["/v1/thing/list"]["post"]["requestBody"]["content"]["application/json"]
    assert media["example"]["warehouse_id"] != 0
    assert "x-ozon-example-repairs" not in media


def test_repair_rewrites_an_earlier_repair_instead_of_adding_one() -> None:
    spec = _tiny_spec({"warehouse_id": 1234567890})
    media = spec["paths"]["/v1/thing/list"]["post"]["requestBody"]["content"]["application/json"]
    media["x-ozon-example-repairs"] = [
        'request.warehouse_id: Ozon\'s example has the placeholder "string" for an integer; '
        "replaced by 1234567890."
    ]
    repair(spec)
    (line,) = media["x-ozon-example-repairs"]
    assert line.startswith('request.warehouse_id: Ozon\'s example has the placeholder "string"')
    assert "1234567890" not in line and str(media["example"]["warehouse_id"]) in line


def test_realistic_values_are_stable() -> None:
    spec = _tiny_spec({"warehouse_id": 0, "posting_numbers": ["string"]})
    (a, b) = find(spec)
    assert Realistic(a.where, a.leaf).value() == Realistic(a.where, a.leaf).value()
    assert Realistic(b.where, b.leaf).value() == Realistic(b.where, b.leaf).value()
