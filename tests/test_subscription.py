"""Subscription tiers as data: ``x-ozon-subscription`` marks every operation Ozon opens only to
sellers with a paid subscription; docstrings, ``ozon ops``, the MCP catalogue and the errors of
refused calls name it.

The marked set is compared with what Ozon's reference files say (read when present in
``../shared/reference``, else the kept copy ``tests/data/subscriptions.json``;
``python -m tests.test_subscription`` rewrites the copy)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from ozon_async import OPERATIONS, PermissionDeniedError, Subscription
from ozon_async.cli import _ops
from ozon_async.mcp import _catalog
from ozon_async.testing import MockOzon
from tests.conftest import REFERENCE, ROOT, load_spec

KEPT = ROOT / "tests" / "data" / "subscriptions.json"
REFERENCE_FILES = (
    "ozon-seller-openapi-ru-2026-08.json",
    "ozon-seller-openapi-ru-2026-05.json",
    "ozon-seller-openapi-zh-2026-06.json",
    "ozon-seller-openapi-ru-2025-09.json",
)
#: Ozon names a subscription as a link ("[Premium Plus](https://seller-edu...)") or, once, in
#: plain words ("с подпиской Premium Pro").
_LINK = re.compile(r"\[(Premium(?: Plus| Pro)?|Управление отзывами)\]\(")
_PLAIN = re.compile(r"подписк\w* (Premium(?: Plus| Pro)?)\b")
_CODES = {
    "Premium": "premium",
    "Premium Plus": "premium_plus",
    "Premium Pro": "premium_pro",
    "Управление отзывами": "review_management",
}


def subscriptions_from_references(directory: Path) -> dict[str, list[str]]:
    """``"METHOD /path"`` -> the subscription codes the newest reference describing the
    operation names, for every operation of the spec whose description names one."""
    docs = [json.loads((directory / name).read_text(encoding="utf-8")) for name in REFERENCE_FILES]
    out: dict[str, list[str]] = {}
    for path, item in load_spec()["paths"].items():
        for method in item:
            ref = next(
                (d["paths"][path][method] for d in docs if method in d["paths"].get(path, {})), None
            )
            if ref is None:
                continue
            text = ref.get("description") or ""
            names = _LINK.findall(text) + _PLAIN.findall(text)
            if names:
                out[f"{method.upper()} {path}"] = sorted({_CODES[n] for n in names})
    return out


def _expected() -> dict[str, list[str]]:
    if all((REFERENCE / name).exists() for name in REFERENCE_FILES):
        return subscriptions_from_references(REFERENCE)
    kept: dict[str, list[str]] = json.loads(KEPT.read_text(encoding="utf-8"))
    return kept


def test_every_operation_ozon_restricts_is_marked_and_no_other() -> None:
    marked = {
        f"{m.upper()} {p}": sorted(op["x-ozon-subscription"]["any_of"])
        for p, item in load_spec()["paths"].items()
        for m, op in item.items()
        if "x-ozon-subscription" in op
    }
    expected = _expected()
    assert marked == expected
    assert len(marked) >= 31  # the August reference alone names 31 (its 32nd hit is a price column)


def test_the_kept_list_is_current() -> None:
    if not all((REFERENCE / name).exists() for name in REFERENCE_FILES):
        pytest.skip("Ozon's reference files are not present")
    kept = json.loads(KEPT.read_text(encoding="utf-8"))
    assert kept == subscriptions_from_references(REFERENCE), (
        "run `python -m tests.test_subscription` to refresh the kept list"
    )


def test_the_operation_carries_it() -> None:
    op = OPERATIONS["POST /v1/question/list"]
    assert op.subscription == Subscription(("premium_plus",), ("Premium Plus",), "refused")
    assert op.subscription.text == "Premium Plus"
    reviews = OPERATIONS["POST /v1/review/list"].subscription
    assert reviews is not None and reviews.text == "Premium Pro or Review Management"
    queries = OPERATIONS["POST /v1/analytics/product-queries"].subscription
    assert queries is not None and queries.without == "limited"
    assert queries.text == "Premium, Premium Plus or Premium Pro"
    assert "part of the data" in queries.describe()
    assert OPERATIONS["POST /v4/posting/fbs/list"].subscription is None


def test_docstrings_ozon_ops_and_mcp_name_it() -> None:
    op = OPERATIONS["POST /v1/question/list"]
    sentence = "Needs a Premium Plus subscription; Ozon refuses the call without one."
    doc = _ops.docstring(op)
    assert doc is not None and f"Subscription: {sentence}" in doc
    assert f"  subscription: {sentence}" in _ops.describe(op).splitlines()
    described = _catalog.describe(op, destructive_allowed=False)
    assert described["subscription"] == {
        "any_of": ["Premium Plus"],
        "without": "refused",
        "text": sentence,
    }
    found = _catalog.search("question list")["operations"]
    brief = next(o for o in found if o["operation"] == "POST /v1/question/list")
    assert brief["subscription"] == "Premium Plus"
    plain = _catalog.describe(OPERATIONS["POST /v4/posting/fbs/list"], destructive_allowed=False)
    assert "subscription" not in plain


@pytest.mark.parametrize(
    "status, body",
    [
        (403, {"code": 7, "message": "Access denied", "details": []}),
        (400, {"code": 7, "message": "permission denied", "details": []}),
        (400, {"code": 3, "message": "Метод доступен только с подпиской Premium Plus"}),
    ],
)
async def test_a_refused_call_names_the_subscription(
    ozon_mock: MockOzon, status: int, body: dict[str, Any]
) -> None:
    ozon_mock.server.add_fault("/v1/question/list", status=status, body=body)
    with pytest.raises(Exception) as exc:
        await ozon_mock.client.question.list_v1()
    err = exc.value
    assert getattr(err, "subscription", None) == OPERATIONS["POST /v1/question/list"].subscription
    assert "Ozon opens this operation only to sellers with a Premium Plus subscription" in str(err)
    assert err.message == body["message"]  # Ozon's own message is kept as sent
    if status == 403:
        assert isinstance(err, PermissionDeniedError)


async def test_other_errors_do_not_blame_the_subscription(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault(
        "/v1/question/list", status=400, body={"code": 3, "message": "invalid last_id"}
    )
    with pytest.raises(Exception) as exc:
        await ozon_mock.client.question.list_v1(last_id="x")
    assert exc.value.subscription is None and "subscription" not in str(exc.value)
    ozon_mock.server.add_fault(
        "/v4/posting/fbs/list", status=403, body={"code": 7, "message": "no"}
    )
    with pytest.raises(PermissionDeniedError) as denied:
        await ozon_mock.client.posting.fbs_list_v4(
            limit=1, filter={"since": "2026-03-01T00:00:00Z", "to": "2026-03-02T00:00:00Z"}
        )
    assert denied.value.subscription is None  # a role problem, not a subscription


def test_a_bad_mark_is_refused_by_the_generator() -> None:
    from codegen.model import _subscription

    assert _subscription({"any_of": ["premium_pro"], "without": "refused"}, "x") == {
        "any_of": ["premium_pro"],
        "names": ["Premium Pro"],
        "without": "refused",
    }
    for bad in ({"any_of": ["gold"]}, {"any_of": []}, {"any_of": ["premium"], "without": "maybe"}):
        with pytest.raises(ValueError, match="x-ozon-subscription"):
            _subscription(bad, "POST /v1/x")


if __name__ == "__main__":
    directory = Path(sys.argv[1]) if len(sys.argv) > 1 else REFERENCE
    entries = subscriptions_from_references(directory)
    KEPT.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{KEPT}: {len(entries)} operations")
