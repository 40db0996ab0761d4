"""Request values are checked like request keys: where Ozon lists the allowed values of a request
field (in its schema or only in the field's description), a misspelt value is refused before
anything is sent, naming the field and the allowed values; answers stay open. Limits that no
reference states are not enforced (``page: 0`` goes out as given).

The list of prose-enumerated fields is read from Ozon's reference files when they are present
(``../shared/reference``) and from the kept copy ``tests/data/prose_enums.json`` otherwise;
``python -m tests.test_request_values`` rewrites the copy from the references."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ozon_async import OPERATIONS, RequestValidationError
from ozon_async._codec import build_request, decoder_for
from ozon_async.testing import MockOzon
from tests.conftest import REFERENCE, ROOT, load_spec

SINCE = datetime(2026, 3, 1, tzinfo=timezone.utc)
TO = datetime(2026, 3, 31, tzinfo=timezone.utc)
KEPT = ROOT / "tests" / "data" / "prose_enums.json"
#: Newest first: a field is checked against the newest reference that describes its operation.
REFERENCE_FILES = (
    "ozon-seller-openapi-ru-2026-08.json",
    "ozon-seller-openapi-ru-2026-05.json",
    "ozon-seller-openapi-zh-2026-06.json",
    "ozon-seller-openapi-ru-2025-09.json",
)
#: A line of a description that lists one allowed value: "- `value` — meaning".
BULLET = re.compile(r"^\s*[-*•]\s*`([^`\s]+)`\s*[—–-]", re.M)


# ---------------------------------------------------------------------- a misspelt value
async def test_a_misspelt_posting_status_is_refused_before_sending(ozon_mock: MockOzon) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.posting.fbs_list_v4(
            limit=10, filter={"since": SINCE, "to": TO, "statuses": ["awaiting_pack"]}
        )
    err = exc.value
    assert err.field == "filter.statuses[0]"
    text = str(err)
    assert "`filter.statuses[0]`" in text and "'awaiting_pack'" in text
    assert "allowed values: 'awaiting_registration', 'acceptance_in_progress'" in text
    assert "'sent_by_seller'" in text
    assert "did you mean 'awaiting_packaging'?" in text
    assert ozon_mock.server.requests_for("/v4/posting/fbs/list") == []

    page = await ozon_mock.client.posting.fbs_list_v4(
        limit=10, filter={"since": SINCE, "to": TO, "statuses": ["awaiting_packaging"]}
    )
    assert page.postings is not None
    (seen,) = ozon_mock.server.requests_for("/v4/posting/fbs/list")
    assert seen.body["filter"]["statuses"] == ["awaiting_packaging"]


@pytest.mark.parametrize(
    "key, fields, field",
    [
        (
            "POST /v3/posting/fbs/unfulfilled/list",
            {"limit": 5, "filter": {"status": "awaiting_delivery"}},
            "filter.status",
        ),
        ("POST /v1/report/list", {"report_type": "SELLER_PRODUCT"}, "report_type"),
        ("POST /v1/review/list", {"limit": 20, "sort_dir": "descending"}, "sort_dir"),
        (
            "POST /v1/report/postings/create",
            {
                "filter": {
                    "processed_at_from": "2026-03-01T00:00:00Z",
                    "processed_at_to": "2026-03-31T00:00:00Z",
                    "delivery_schema": ["FBO "],
                }
            },
            "filter.delivery_schema[0]",
        ),
        ("POST /v1/finance/compensation", {"date": "2026-03", "language": "ru"}, "language"),
        (
            "POST /v1/returns/list",
            {"limit": 10, "filter": {"compensation_status_id": 5}},
            "filter.compensation_status_id",
        ),
    ],
)
def test_values_ozon_lists_in_prose_are_closed(
    key: str, fields: dict[str, Any], field: str
) -> None:
    op = OPERATIONS[key]
    with pytest.raises(RequestValidationError) as exc:
        build_request(op, op.request_type, fields)
    assert exc.value.field == field
    assert "allowed values:" in str(exc.value)


def test_the_suggestion_is_case_blind() -> None:
    op = OPERATIONS["POST /v1/review/list"]
    with pytest.raises(RequestValidationError) as exc:
        build_request(op, op.request_type, {"limit": 20, "status": "processed"})
    assert "did you mean 'PROCESSED'?" in str(exc.value)


def test_answers_stay_open() -> None:
    """A posting status Ozon adds later decodes as sent (only requests are closed)."""
    op = OPERATIONS["POST /v4/posting/fbs/list"]
    body = {"postings": [{"posting_number": "48173252-0033-2", "status": "awaiting_verification"}]}
    answer = decoder_for(op.response_type).decode(msgspec.json.encode(body))
    assert answer.postings[0].status == "awaiting_verification"


# ---------------------------------------------------------------------- limits no one states
@pytest.mark.parametrize(
    "key, fields",
    [
        ("POST /v1/actions/discounts-task/list", {"status": "NEW", "limit": 50}),
        ("POST /v1/brand/company-certification/list", {"page_size": 50}),
        ("POST /v1/report/list", {"page_size": 100}),
        (
            "POST /v1/finance/cash-flow-statement/list",
            {
                "date": {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z"},
                "page_size": 50,
            },
        ),
        (
            "POST /v3/finance/transaction/list",
            {
                "filter": {"date": {"from": "2026-01-01T00:00:00Z", "to": "2026-01-31T00:00:00Z"}},
                "page_size": 100,
            },
        ),
    ],
)
def test_page_zero_is_accepted_where_ozon_states_no_minimum(
    key: str, fields: dict[str, Any]
) -> None:
    op = OPERATIONS[key]
    request = build_request(op, op.request_type, {**fields, "page": 0})
    assert msgspec.to_builtins(request)["page"] == 0


async def test_page_zero_reaches_ozon(ozon_mock: MockOzon) -> None:
    await ozon_mock.client.report.list_v1(page=0, page_size=10)
    (seen,) = ozon_mock.server.requests_for("/v1/report/list")
    assert seen.body["page"] == 0


async def test_both_spellings_of_the_returns_report_scheme_go_out_as_given(
    ozon_mock: MockOzon,
) -> None:
    """Ozon's example sends ``fbs``, its enum lists ``FBS``: both are taken, neither rewritten."""
    for scheme in ("fbs", "FBS"):
        await ozon_mock.client.report.returns_create_v2(
            filter={
                "date_from": "2026-03-01T00:00:00Z",
                "date_to": "2026-03-31T00:00:00Z",
                "status": "MovingToSeller",
                "delivery_schema": scheme,
            }
        )
    sent = [
        r.body["filter"]["delivery_schema"]
        for r in ozon_mock.server.requests_for("/v2/report/returns/create")
    ]
    assert sent == ["fbs", "FBS"]
    media = load_spec()["paths"]["/v2/report/returns/create"]["post"]["requestBody"]["content"]
    assert media["application/json"]["example"]["filter"]["delivery_schema"] == "fbs"


# ---------------------------------------------------------------------- every prose list
def prose_enums_from_references(directory: Path) -> list[dict[str, Any]]:
    """Every request field (string, list of strings or integer) whose description in the newest
    reference describing its operation lists allowed values, one per line, and whose schema
    there has no enum: ``{"operation", "field", "values"}``."""
    sys.path.insert(0, str(ROOT))
    from codegen.specdiff.refdoc import RefDoc
    from codegen.specdiff.shape import ref_fields

    docs = [RefDoc.load(directory / name) for name in REFERENCE_FILES]
    out: list[dict[str, Any]] = []
    for path, item in load_spec()["paths"].items():
        for method in item:
            key = f"{method.upper()} {path}"
            doc = next((d for d in docs if d.operation(method.upper(), path)), None)
            body = doc.request(doc.operation(method.upper(), path) or {}) if doc else None
            if doc is None or body is None or not body.schema:
                continue
            for field, f in sorted(ref_fields(doc, body.schema).items()):
                values = BULLET.findall(f.description or "")
                if f.enum or len(values) < 2 or f.kind not in ("string", "array", "int"):
                    continue
                if f.kind == "int":
                    if not all(v.isdigit() for v in values):
                        continue
                    values = [int(v) for v in values]
                out.append({"operation": key, "field": field, "values": values})
    return out


def _prose_enums() -> list[dict[str, Any]]:
    if all((REFERENCE / name).exists() for name in REFERENCE_FILES):
        return prose_enums_from_references(REFERENCE)
    kept: list[dict[str, Any]] = json.loads(KEPT.read_text(encoding="utf-8"))
    return kept


def _field_enum(op: dict[str, Any], field: str) -> tuple[bool, set[Any] | None]:
    """(whether the spec's request has the field, the values its enum allows or None)."""
    from codegen.specdiff.diff import spec_body_schema
    from codegen.specdiff.shape import SpecSchemas, spec_fields

    fields = spec_fields(SpecSchemas(load_spec()), spec_body_schema(op, "request"))
    f = fields.get(field)
    if f is None:
        return False, None
    return True, set(f.enum) if f.enum is not None else None


def test_every_value_list_ozon_gives_in_prose_is_an_enum() -> None:
    spec = load_spec()
    problems = []
    for entry in _prose_enums():
        method, path = entry["operation"].split(" ", 1)
        op = spec["paths"][path][method.lower()]
        present, allowed = _field_enum(op, entry["field"])
        if not present:
            continue  # a field the spec does not have is the field-coverage test's business
        missing = [v for v in entry["values"] if allowed is None or v not in allowed]
        if missing:
            problems.append(
                f"{entry['operation']} request field `{entry['field']}`: Ozon lists "
                f"{entry['values']} in its description; "
                + ("the schema has no enum" if allowed is None else f"the enum lacks {missing}")
                + " (give the schema an enum of these values and an x-ozon-note saying so)"
            )
    assert not problems, "\n".join(problems)


def test_the_kept_list_of_prose_enums_is_current() -> None:
    if not all((REFERENCE / name).exists() for name in REFERENCE_FILES):
        pytest.skip("Ozon's reference files are not present")
    kept = json.loads(KEPT.read_text(encoding="utf-8"))
    fresh = prose_enums_from_references(REFERENCE)
    assert kept == fresh, "run `python -m tests.test_request_values` to refresh the kept list"


if __name__ == "__main__":
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE
    entries = prose_enums_from_references(directory)
    KEPT.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{KEPT}: {len(entries)} fields")
