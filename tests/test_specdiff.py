"""codegen.specdiff: the drift report, the importer, the name rule and the describe step, on a
small synthetic pair (tests/data/specdiff) and, when present, on Ozon's real reference files."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from codegen.specdiff import names, specio
from codegen.specdiff.diff import diff, render
from codegen.specdiff.refdoc import RefDoc
from codegen.specdiff.rules import is_safe, pagination, rate_limit, text_limits
from tests.conftest import REFERENCE, ROOT

DATA = ROOT / "tests" / "data" / "specdiff"


@pytest.fixture()
def small_spec() -> dict[str, Any]:
    return specio.load(DATA / "spec.yaml")


@pytest.fixture()
def small_ref() -> RefDoc:
    return RefDoc.load(DATA / "ref.json", "synthetic")


def test_diff_lists_operations_added_removed_and_deprecated(
    small_spec: dict[str, Any], small_ref: RefDoc
) -> None:
    report = diff(small_spec, small_ref)
    assert report.added == ["POST /v1/item/info", "POST /v1/item/label", "POST /v2/item/list"]
    assert report.removed == ["POST /v1/item/old"]
    assert report.newly_deprecated == [
        {"operation": "POST /v1/item/list", "replaced_by": ["POST /v2/item/list"]}
    ]
    # the warning box names the day: the spec lacks x-ozon-sunset for it
    assert report.sunsets == [
        {"operation": "POST /v1/item/list", "sunset": "2026-03-16", "spec": None}
    ]
    assert "POST /v1/item/list  2026-03-16 (the spec has none)" in render(report)
    small_spec["paths"]["/v1/item/list"]["post"]["x-ozon-sunset"] = "2026-03-16"
    assert diff(small_spec, small_ref).sunsets == []


def test_switch_off_days_in_russian_and_chinese() -> None:
    from codegen.specdiff.rules import sunset

    ru = '<aside class="warning">Метод будет отключён 7 апреля 2026 года. Переключитесь</aside>'
    assert sunset({"description": ru}) == "2026-04-07"
    assert sunset({"description": "该方法将于2026年3月22日停用，请使用新方法。"}) == "2026-03-22"
    assert sunset({"description": "Метод устаревает и будет отключён."}) is None
    assert sunset({"description": "Данные за 1 марта 2026 года"}) is None  # not a switch-off


def test_diff_reports_field_changes_but_not_our_int64_convention(
    small_spec: dict[str, Any], small_ref: RefDoc
) -> None:
    report = diff(small_spec, small_ref)
    (op,) = report.operations
    got = {(c.part, c.kind, c.path, c.detail) for c in op.changes}
    assert got == {
        ("request", "required", "limit", "now required"),
        ("request", "enum", "filter.state", "+DRAFT"),
        ("response", "added", "result[].tags", "array"),
        ("response", "added", "result[].weight", "int"),
        ("response", "type", "result[].price", "string -> number"),
        ("response", "removed", "result[].colour", "string"),
    }
    # Ozon's `string` + `int64` (item_id, in a list and alone) is our [integer, string]: no change
    assert not any("item_id" in c.path for c in op.changes)
    text = render(report)
    assert "POST /v1/item/list  -> POST /v2/item/list" in text
    assert "response type     result[].price: string -> number" in text


def test_repaired_fields_are_hidden_unless_asked(
    small_spec: dict[str, Any], small_ref: RefDoc
) -> None:
    price = small_spec["components"]["schemas"]["ItemListV1ResponseResult"]["properties"]["price"]
    price["x-ozon-note"] = "Ozon declares a number, but the server sends a string."
    report = diff(small_spec, small_ref)
    (change,) = [c for c in report.operations[0].changes if c.path == "result[].price"]
    assert change.repaired
    assert "result[].price" not in render(report)
    assert "result[].price: string -> number (repaired" in render(report, show_repaired=True)


def test_recorded_explanations_leave_nothing_unexplained(
    small_spec: dict[str, Any], small_ref: RefDoc, tmp_path: Path
) -> None:
    """A removed operation marked ``x-ozon-removed`` and field differences the spec records a
    note for (on the field, its list items or the body as a whole) count as explained; what the
    reference adds, deprecates or switches off never does."""
    report = diff(small_spec, small_ref)
    assert "removed POST /v1/item/old" in report.unexplained()
    assert report.unexplained()[-1].endswith("result[].colour: string")
    old = small_spec["paths"]["/v1/item/old"]["post"]
    old["x-ozon-removed"] = "2026-08-14"
    listing = small_spec["paths"]["/v1/item/list"]["post"]
    for part in (listing["requestBody"], listing["responses"]["200"]):
        part["content"]["application/json"]["x-ozon-note"] = "Ozon's body is wrong here."
    report = diff(small_spec, small_ref)
    assert report.removed_explained == {"POST /v1/item/old": "x-ozon-removed: 2026-08-14"}
    assert report.removed == ["POST /v1/item/old"]  # still listed as data
    left = report.unexplained()
    assert not any("/v1/item/list request" in x or "/v1/item/list response" in x for x in left)
    assert left == [
        "added POST /v1/item/info",
        "added POST /v1/item/label",
        "added POST /v2/item/list",
        "newly deprecated POST /v1/item/list",
        "switch-off day POST /v1/item/list 2026-03-16",
    ]
    text = render(report)
    assert "27 removed" not in text and "1 removed operations marked" in text
    assert "5 differences unexplained" in text
    assert "POST /v1/item/old" not in text  # explained: only counted
    assert "POST /v1/item/old  (x-ozon-removed: 2026-08-14)" in render(report, show_repaired=True)
    # --check: exit 1 while something is unexplained
    spec_file = tmp_path / "spec.yaml"
    specio.save(small_spec, spec_file)
    cmd = [sys.executable, "-m", "codegen.specdiff", str(DATA / "ref.json")]
    proc = subprocess.run([*cmd, "--spec", str(spec_file), "--check"], cwd=ROOT, check=False)
    assert proc.returncode == 1
    small_ref_data = json.loads((DATA / "ref.json").read_text())
    for path in ("/v1/item/info", "/v1/item/label", "/v2/item/list"):
        del small_ref_data["paths"][path]
    del small_ref_data["paths"]["/v1/item/list"]["post"]["description"]
    small_ref_data["paths"]["/v1/item/list"]["post"].pop("deprecated", None)
    ref_file = tmp_path / "ref.json"
    ref_file.write_text(json.dumps(small_ref_data))
    out = subprocess.run(
        [*cmd[:-1], str(ref_file), "--spec", str(spec_file), "--check"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.rstrip().endswith("Nothing unexplained.")


def test_cli_prints_json(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen.specdiff",
            str(DATA / "ref.json"),
            "--spec",
            str(DATA / "spec.yaml"),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    data = json.loads(out)
    assert data["removed"] == ["POST /v1/item/old"]
    assert data["operations"][0]["path"] == "/v1/item/list"


# ---------------------------------------------------------------------- rules
def test_read_rule() -> None:
    assert is_safe("GET", "/v1/actions")
    assert is_safe("POST", "/v3/posting/fbs/list")
    assert is_safe("POST", "/v4/product/info/stocks")
    assert is_safe("POST", "/v1/draft/supply/create/status")
    assert is_safe("POST", "/v2/posting/fbs/act/get-pdf")
    assert not is_safe("POST", "/v2/products/stocks")
    assert not is_safe("POST", "/v1/product/import/prices")
    assert not is_safe("POST", "/v4/posting/fbs/ship")
    assert not is_safe("POST", "/v1/carriage/create")
    # a segment starting "list-"/"get-" reads like "list"/"get"; "cancel-reason" is no write word
    assert is_safe("POST", "/v1/cancel-reason/list-by-order")
    assert is_safe("POST", "/v2/posting/fbs/act/get-barcode/text")
    # the analytics and search-query groups only read, unless a write word says otherwise
    assert is_safe("POST", "/v1/analytics/turnover/stocks")
    assert is_safe("POST", "/v1/search-queries/top")
    assert not is_safe("POST", "/v1/analytics/report/create")
    # a check of a change, after a write word
    assert is_safe("POST", "/v1/supply-order/content/update/validation")
    # a report creation answers with a code: not a read
    assert not is_safe("POST", "/v1/finance/compensation")


def test_limits_in_prose() -> None:
    assert text_limits("Идентификаторы товаров, максимум — 100.", "array") == {"maxItems": 100}
    assert text_limits("Количество на странице: от 1 до 1000.", "int", "limit") == {
        "minimum": 1,
        "maximum": 1000,
    }
    assert text_limits("Можно передать до 100 значений.", "array") == {"maxItems": 100}
    assert text_limits("商品ID列表，不超过1000个。", "array") == {"maxItems": 1000}
    assert text_limits("Не более 500 символов.", "string") == {"maxLength": 500}
    # a year or a number unrelated to the field's kind is not a limit
    assert text_limits("Дата не позже 2026 года, максимум — 2026.", "array") == {}
    assert text_limits("от 1 до 1000", "int", "warehouse_id") == {}
    assert rate_limit("Не более 5 запросов в минуту.") == {"requests": 5, "period": 60}
    assert rate_limit("Цену каждого товара можно обновлять не больше 10 раз в час.") is None


def test_pagination_is_detected_from_fields(small_ref: RefDoc) -> None:
    from codegen.specdiff.shape import ref_fields

    op = small_ref.operation("POST", "/v2/item/list")
    assert op is not None
    req = ref_fields(small_ref, small_ref.request(op).schema)  # type: ignore[union-attr]
    resp = ref_fields(small_ref, small_ref.response(op).schema)  # type: ignore[union-attr]
    assert pagination(req, resp) == {
        "style": "cursor",
        "position": "cursor",
        "limit": "limit",
        "items": "items",
        "next": "cursor",
        "has_next": "has_next",
    }


# ---------------------------------------------------------------------- names
def test_normalize_splits_sides_and_renames_by_the_rule() -> None:
    spec = specio.load(DATA / "spec.yaml")
    sch = spec["components"]["schemas"]
    # a filter object used by the request and the answer, with an operation-specific name
    sch["ItemListV1ResponseResult"]["properties"]["filter"] = {
        "description": "The filter echoed back.",
        "$ref": "#/components/schemas/ItemListV1RequestFilter",
    }
    sch["OldName"] = sch.pop("ItemListV1Response")
    spec["paths"]["/v1/item/list"]["post"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]["$ref"] = "#/components/schemas/OldName"
    assert names.violations(spec)
    changes = names.normalize(spec)
    assert changes["OldName"] == "ItemListV1Response"
    assert (
        "ItemListV1RequestFilter" in sch
        or "ItemListV1RequestFilter" in spec["components"]["schemas"]
    )
    after = spec["components"]["schemas"]
    assert "ItemListV1ResponseResultFilter" in after  # the answer's own copy, named by its path
    assert names.violations(spec) == []
    # re-running changes nothing
    assert names.normalize(copy.deepcopy(spec)) == {}


def test_shared_schema_gets_a_neutral_name() -> None:
    spec = specio.load(DATA / "spec.yaml")
    old = spec["paths"]["/v1/item/old"]["post"]
    old["responses"]["200"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/ItemListV1Response"
    }
    changes = names.normalize(spec)
    # shared by /v1/item/list and /v1/item/old: the words the paths share, then what it is
    assert changes["ItemListV1Response"] == "ItemResponse"
    assert names.violations(spec) == []


# ---------------------------------------------------------------------- the real references
needs_reference = pytest.mark.skipif(
    not (REFERENCE / "ozon-seller-openapi-ru-2025-09.json").exists(),
    reason="Ozon's reference files are not present",
)


@needs_reference
def test_make_spec_diff_on_the_real_2025_file() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "codegen.specdiff",
            str(REFERENCE / "ozon-seller-openapi-ru-2025-09.json"),
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    report = json.loads(out)
    ours = {f"{m.upper()} {p}" for p, item in specio.load()["paths"].items() for m in item}
    ref = RefDoc.load(REFERENCE / "ozon-seller-openapi-ru-2025-09.json")
    theirs = {f"{m} {p}" for m, p, _ in ref.operations()}
    assert set(report["added"]) == theirs - ours
    assert set(report["removed"]) == ours - theirs
    # Ozon's `string` + `int64` ids are our [integer, string]: many such fields exist in the file
    # and none of them is reported as changed
    from codegen.specdiff.diff import spec_body_schema
    from codegen.specdiff.shape import SpecSchemas, ref_fields, spec_fields

    spec = specio.load()
    schemas = SpecSchemas(spec)
    string_ids = set()
    for m, p, op in ref.operations():
        body = ref.response(op)
        if f"{m} {p}" not in ours or not body or not body.schema:
            continue
        mine = spec_fields(schemas, spec_body_schema(spec["paths"][p][m.lower()], "response"))
        for key, f in ref_fields(ref, body.schema).items():
            if key in mine and mine[key].kind == "int" and f.kind == "int":
                string_ids.add((m, p, f.path))
    assert len(string_ids) > 50
    reported = {
        (o["method"], o["path"], c["path"])
        for o in report["operations"]
        for c in o["changes"]
        if c["kind"] == "type"
    }
    assert not reported & string_ids
    made = subprocess.run(
        ["make", "-s", "spec-diff", f"REF={REFERENCE / 'ozon-seller-openapi-ru-2025-09.json'}"],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    assert "Operations added (in the reference, not in the spec)" in made


@needs_reference
def test_an_imported_operation_gets_the_switch_off_day_ozon_states() -> None:
    from codegen.specdiff.importer import import_operations

    spec = specio.load()
    del spec["paths"]["/v1/draft/create/info"]
    doc = RefDoc.load(REFERENCE / "ozon-seller-openapi-ru-2026-05.json")
    import_operations(spec, doc, REFERENCE, [("POST", "/v1/draft/create/info")])
    op = spec["paths"]["/v1/draft/create/info"]["post"]
    assert op["deprecated"] is True
    assert op["x-ozon-sunset"] == "2026-03-16"


def test_a_type_used_by_several_groups_is_not_named_after_one_operation() -> None:
    """Rule 4: the spec's shared types carry names of their own meaning; giving one back an
    operation's name (the timeslot argument typed ``FinanceCashFlowStatementListRequestDate``,
    or a versionless ``PostingFbsProductCancelRequestItem`` in ``draft``) is a violation."""
    spec = specio.load()
    assert names.violations(spec) == []
    groups = names.groups_of(spec)
    users = names.users(spec)
    for new, old in (
        ("DateTimeRange", "FinanceCashFlowStatementListRequestDate"),
        ("SkuQuantity", "PostingFbsProductCancelRequestItem"),
        ("CancelReason", "PostingFbsCancelReasonListResponseResult"),
    ):
        assert len({groups[o] for o in users[new]}) > 1, new  # used across groups
        broken = copy.deepcopy(spec)
        names.apply_renames(broken, {new: old})
        assert any(v.startswith(f"{old}: used by the groups") for v in names.violations(broken))


def test_no_performance_type_used_by_several_groups_is_named_after_one_operation() -> None:
    """Rule 4 holds for the Performance API's spec too (``StatisticsSubmitResponse``, the answer
    of the statistics and vendor groups' report requests, is ``ReportAcceptedResponse``)."""
    spec = specio.load(Path(__file__).resolve().parent.parent / "spec" / "performance.yaml")
    groups, bare, users = names.groups_of(spec), names.bare_operation_names(spec), names.users(spec)
    shared = [
        n for n in spec["components"]["schemas"] if len({groups[o] for o in users.get(n, ())}) > 1
    ]
    assert "ReportAcceptedResponse" in shared
    assert [n for n in shared if names.named_after_operation(n, bare)] == []
    assert names.named_after_operation("StatisticsSubmitResponse", bare) == "statistics_submit"
