"""Requests are exactly what the user meant: unknown keys, out-of-range values and unknown enum
values are refused before sending (naming the field), and ``extra_body`` reaches the wire."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any

import pytest
from aiohttp import web

from ozon_async import APIStatusError, OzonClient, RequestValidationError
from ozon_async.testing import MockOzon

SINCE = datetime(2026, 1, 1, tzinfo=timezone.utc)
TO = datetime(2026, 1, 31, tzinfo=timezone.utc)


def _refused(exc: pytest.ExceptionInfo[RequestValidationError], field: str) -> None:
    assert exc.value.field == field
    assert f"`{field}`" in str(exc.value)


async def test_misspelt_nested_key_is_refused_and_nothing_is_sent(ozon_mock: MockOzon) -> None:
    client = ozon_mock.client
    with pytest.raises(RequestValidationError) as exc:
        await client.posting.fbs_list_v4(
            limit=10, filter={"since": SINCE, "to": TO, "statuse": ["delivered"]}
        )
    _refused(exc, "filter.statuse")
    with pytest.raises(RequestValidationError) as exc:
        async for _ in client.posting.fbs_list_v4.iter(
            limit=10, filter={"since": SINCE, "to": TO, "statuse": ["delivered"]}
        ):
            pass
    _refused(exc, "filter.statuse")
    assert ozon_mock.server.requests_for("/v4/posting/fbs/list") == []


async def test_a_v3_filter_passed_to_v4_is_refused(ozon_mock: MockOzon) -> None:
    v3_filter = {"since": SINCE, "to": TO, "status": "delivered", "delivery_method_id": [1]}
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.posting.fbs_list_v4(limit=10, filter=v3_filter)
    assert exc.value.field in {"filter.status", "filter.delivery_method_id"}
    assert ozon_mock.server.requests_for("/v4/posting/fbs/list") == []


async def test_unknown_key_deep_in_a_list_names_the_index(ozon_mock: MockOzon) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.products.stocks_v2(
            stocks=[
                {"offer_id": "A", "stock": 1, "warehouse_id": 1},
                {"offer_id": "B", "stok": 1, "warehouse_id": 1},
            ]
        )
    _refused(exc, "stocks[1].stok")
    assert ozon_mock.server.requests_for("/v2/products/stocks") == []


@pytest.mark.parametrize("limit", [0, 101, 1000])
async def test_limits_are_enforced_before_sending(ozon_mock: MockOzon, limit: int) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.posting.fbs_list_v4(limit=limit, filter={"since": SINCE, "to": TO})
    _refused(exc, "limit")
    assert ozon_mock.server.requests_for("/v4/posting/fbs/list") == []


async def test_item_count_limit(ozon_mock: MockOzon) -> None:
    stocks = [{"offer_id": f"A{i}", "stock": 1, "warehouse_id": 1} for i in range(101)]
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.products.stocks_v2(stocks=stocks)
    _refused(exc, "stocks")
    assert ozon_mock.server.requests_for("/v2/products/stocks") == []


async def test_request_enums_are_closed(ozon_mock: MockOzon) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.posting.fbs_list_v4(
            limit=10, filter={"since": SINCE, "to": TO}, sort_dir="asc"
        )
    _refused(exc, "sort_dir")
    page = await ozon_mock.client.posting.fbs_list_v4(
        limit=10, filter={"since": SINCE, "to": TO}, sort_dir="ASC"
    )
    assert page.postings is not None


async def test_int64_ids_accept_numeric_strings(ozon_mock: MockOzon) -> None:
    await ozon_mock.client.products.stocks_v2(
        stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": "1020000089903000"}]
    )
    (seen,) = ozon_mock.server.requests_for("/v2/products/stocks")
    assert seen.body["stocks"][0]["warehouse_id"] == 1020000089903000


async def test_extra_body_reaches_the_wire() -> None:
    received: list[Any] = []

    async def handler(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.json_response({"postings": [], "has_next": False, "cursor": ""})

    app = web.Application()
    app.router.add_post("/v4/posting/fbs/list", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with OzonClient("1", "k", base_url=f"http://127.0.0.1:{port}") as client:
            await client.posting.fbs_list_v4(
                limit=10,
                filter={"since": SINCE, "to": TO},
                extra_body={"new_flag": True, "nested": {"a": [1, 2]}},
            )
    finally:
        await runner.cleanup()
    (body,) = received
    assert body["new_flag"] is True
    assert body["nested"] == {"a": [1, 2]}
    assert body["limit"] == 10
    assert body["filter"]["since"].startswith("2026-01-01")


async def test_extra_body_may_not_silently_replace_a_field(ozon_mock: MockOzon) -> None:
    with pytest.raises(RequestValidationError) as exc:
        await ozon_mock.client.posting.fbs_list_v4(
            limit=10, filter={"since": SINCE, "to": TO}, extra_body={"limit": 1000}
        )
    assert exc.value.field == "extra_body"
    assert "limit" in str(exc.value)
    assert ozon_mock.server.requests_for("/v4/posting/fbs/list") == []


async def _sent(call: Awaitable[Any]) -> None:
    """Await a call that passes validation; the mock's answer (it may not know the ids) does not
    matter, only that the request reached it."""
    with contextlib.suppress(APIStatusError):
        await call


async def test_a_split_request_schema_gives_each_operation_its_own_limit(
    ozon_mock: MockOzon,
) -> None:
    """Ozon allows 20 posting numbers for a label PDF but 100 for awaiting-delivery, 50 product ids
    for a pricing-strategy call but 100 for archiving; each operation enforces its own."""
    client = ozon_mock.client
    numbers = [f"1234{i:04d}-0001-1" for i in range(21)]
    with pytest.raises(RequestValidationError) as exc, pytest.warns(DeprecationWarning):
        await client.posting.fbs_package_label_v2(posting_number=numbers)
    _refused(exc, "posting_number")
    assert ozon_mock.server.requests_for("/v2/posting/fbs/package-label") == []
    with pytest.raises(RequestValidationError) as exc:
        await client.posting.fbs_awaiting_delivery_v2(posting_number=numbers * 5)
    _refused(exc, "posting_number")
    # 21 is within the limit of awaiting-delivery: the request passes and reaches the server
    await _sent(client.posting.fbs_awaiting_delivery_v2(posting_number=numbers))
    assert len(ozon_mock.server.requests_for("/v2/posting/fbs/awaiting-delivery")) == 1

    ids = list(range(1, 52))
    with pytest.raises(RequestValidationError) as exc:
        await client.pricing_strategy.products_delete_v1(product_id=ids)
    _refused(exc, "product_id")
    with pytest.raises(RequestValidationError) as exc:
        await client.product.archive_v1(product_id=list(range(1, 102)))
    _refused(exc, "product_id")
    await _sent(client.product.archive_v1(product_id=ids))
    assert len(ozon_mock.server.requests_for("/v1/product/archive")) == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("limit", 0), ("limit", 1001), ("month", 13), ("year", 2022)],
)
async def test_limits_stated_in_words_are_enforced(
    ozon_mock: MockOzon, field: str, value: int
) -> None:
    """Limits that used to be only prose (issue 9: "every limit a description mentions")."""
    client = ozon_mock.client
    with pytest.raises(RequestValidationError) as exc:
        if field == "limit":
            await client.product.list_v3(limit=value)
        else:
            kwargs = {"month": 5, "year": 2025, field: value}
            await client.finance.realization_v2(**kwargs)
    _refused(exc, field)
    assert ozon_mock.server.requests_for("/v3/product/list") == []
    assert ozon_mock.server.requests_for("/v2/finance/realization") == []


def _struct_types(tp: Any, seen: set[type[Any]]) -> None:
    """Every Struct type reachable from an annotation."""
    import typing

    import msgspec

    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        if tp in seen:
            return
        seen.add(tp)
        for hint in typing.get_type_hints(tp, include_extras=True).values():
            _struct_types(hint, seen)
        return
    for arg in typing.get_args(tp):
        _struct_types(arg, seen)


def test_every_model_a_request_reaches_is_strict_and_every_answer_model_lenient() -> None:
    """Unknown keys are refused at every depth of every request (no request model is shared
    with an answer, where unknown keys must be ignored)."""
    from ozon_async import OPERATIONS
    from ozon_async._models import Model, RequestModel

    requests: set[type[Any]] = set()
    responses: set[type[Any]] = set()
    for op in OPERATIONS.values():
        if op.request_type is not None:
            _struct_types(op.request_type, requests)
        if op.response_type is not None:
            _struct_types(op.response_type, responses)
    assert len(requests) > 500 and len(responses) > 500
    lax = sorted(tp.__name__ for tp in requests if not issubclass(tp, RequestModel))
    assert not lax, lax[:10]
    assert all(tp.__struct_config__.forbid_unknown_fields for tp in requests)
    strict_answers = sorted(tp.__name__ for tp in responses if issubclass(tp, RequestModel))
    assert not strict_answers, strict_answers[:10]
    assert all(issubclass(tp, Model) for tp in responses)
    assert not any(tp.__struct_config__.forbid_unknown_fields for tp in responses)
