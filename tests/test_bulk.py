"""Bulk writes end to end on the sandbox (ozon_async.testing), time advanced through its clock."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from ozon_async import (
    OPERATIONS,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    OzonClient,
    RequestValidationError,
    ServerError,
)
from ozon_async._bulk import item_key, match_answer
from ozon_async.bulk import BulkError, BulkResult
from ozon_async.types.products import ProductsStocksV2RequestStock
from tests._sandbox_env import PRICES, STOCKS, SandboxEnv, sandbox_env

#: 1,450 products of which about 1,250 are not archived: 5,000 pairs over 4 warehouses
MANY = {"products": 1450}


def other_process(env: SandboxEnv, client_id: str = "123456") -> OzonClient:
    """Another worker of the same seller that does not share the limiter (its own process
    without a cross-process limiter), on the same sandbox and clock."""
    return OzonClient(
        client_id,
        "secret-api-key",
        base_url=env.sandbox.url,
        clock=env.clock,
        limiter=InProcessRateLimiter(env.clock),
        session=env.session,
    )


async def test_5000_stock_pairs_go_in_50_requests_aligned_with_inputs() -> None:
    async with sandbox_env(sandbox=MANY) as env:
        items: list[Any] = env.stock_pairs(5000)
        first = dict(items[0])
        offer, warehouse = items[77]["offer_id"], items[77]["warehouse_id"]
        items[77] = ProductsStocksV2RequestStock(offer_id=offer, warehouse_id=warehouse, stock=9)
        items[1234] = {"offer_id": items[1234]["offer_id"], "warehouse_id": 404, "stock": 3}
        result = await env.client.products.stocks_v2.bulk(items)

        sent = env.sandbox.requests_for(STOCKS)
        assert len(sent) == 50 and result.requests == 50  # none refused, none resent
        assert all(len(r.body["stocks"]) == 100 for r in sent)
        assert [s for r in sent for s in r.body["stocks"]] == [
            msgspec.to_builtins(i) for i in items
        ]
        assert len(result) == 5000
        for i, outcome in enumerate(result):
            assert outcome.index == i and outcome.item is items[i]
            want = items[i] if isinstance(items[i], dict) else msgspec.to_builtins(items[i])
            assert outcome.entry.offer_id == want["offer_id"]
            assert outcome.entry.warehouse_id == want["warehouse_id"]
        bad = result[1234]
        assert bad.status == "failed" and bad.error is not None
        assert bad.error.code == "WAREHOUSE_NOT_FOUND" and "404" in bad.error.message
        assert [o.index for o in result.failed] == [1234]
        assert len(result.succeeded) == 4999 and not result.retry_later
        # the shop shows what was sent
        assert env.stock(offer, warehouse) == 9
        assert env.stock(first["offer_id"], first["warehouse_id"]) == first["stock"]
        # paced at Ozon's 80 requests per minute, never beyond it
        times = [r.at for r in sent]
        assert times[-1] - times[0] >= 49 * 60 / 80
        assert all(b - a < 60 for a, b in zip(times, times[80:], strict=False))
        with pytest.raises(BulkError, match="1 of 5000 items failed"):
            result.raise_for_failed()


async def test_a_repeated_pair_is_sent_30_s_later_and_the_last_value_wins() -> None:
    async with sandbox_env() as env:
        pairs = env.stock_pairs(5)
        a, b, a_elsewhere = {**pairs[0], "stock": 5}, pairs[4], pairs[1]
        assert a_elsewhere["offer_id"] == a["offer_id"]  # the same offer at another warehouse
        items = [a, {**b, "stock": 6}, {**a, "stock": 7}, {**a_elsewhere, "stock": 8}]
        result = await env.client.products.stocks_v2.bulk(items)
        assert result.all_ok and [o.attempts for o in result] == [1, 1, 1, 1]
        sent = env.sandbox.requests_for(STOCKS)
        assert [[s["stock"] for s in r.body["stocks"]] for r in sent] == [[5, 6, 8], [7]]
        assert 30.0 <= sent[1].at - sent[0].at <= 32.0  # scheduled, not refused by the shop
        assert env.stock(a["offer_id"], a["warehouse_id"]) == 7


async def test_wait_false_returns_the_repeat_in_retry_later() -> None:
    async with sandbox_env() as env:
        a, b = env.stock_pairs(2)
        items = [{**a, "stock": 5}, {**a, "stock": 7}, {**a, "stock": 9}, {**b, "stock": 1}]
        result = await env.client.products.stocks_v2.bulk(items, wait=False)
        assert [o.status for o in result] == ["ok", "retry_later", "retry_later", "ok"]
        later = result.retry_later
        assert [o.item for o in later] == items[1:3]
        assert all(o.retry_after is not None and 30.0 <= o.retry_after <= 31.5 for o in later)
        assert later[0].error is not None and later[0].error.code == "TOO_MANY_REQUESTS"
        assert len(env.sandbox.requests_for(STOCKS)) == 1
        assert env.stock(a["offer_id"], a["warehouse_id"]) == 5
        # sending them again after that time works (and keeps their order)
        env.advance(later[0].retry_after or 0.0)
        again = await env.client.products.stocks_v2.bulk([o.item for o in later])
        assert again.all_ok and env.stock(a["offer_id"], a["warehouse_id"]) == 9
        assert [o.attempts for o in again] == [1, 1]  # the shop never refused one


async def test_wait_seconds_bounds_how_long_an_item_may_wait() -> None:
    async with sandbox_env() as env:
        (pair,) = env.stock_pairs(1)
        items = [{**pair, "stock": n} for n in range(3)]
        result = await env.client.products.stocks_v2.bulk(items, wait=40)
        assert [o.status for o in result] == ["ok", "ok", "retry_later"]
        assert env.stock(pair["offer_id"], pair["warehouse_id"]) == 1


async def test_too_many_requests_that_still_arrives_is_retried_once_after_its_window() -> None:
    async with sandbox_env() as env:
        x, y, z = env.stock_pairs(3)
        other = other_process(env)
        try:
            await other.products.stocks_v2(stocks=[{**x, "stock": 1}])  # just now, elsewhere
            result = await env.client.products.stocks_v2.bulk([{**x, "stock": 4}, y])
            assert result.all_ok
            assert [o.attempts for o in result] == [2, 1]
            sent = env.sandbox.requests_for(STOCKS)
            assert len(sent) == 3 and sent[2].at - sent[1].at >= 30.0
            assert env.stock(x["offer_id"], x["warehouse_id"]) == 4

            # when the second try is refused too (the other worker updated it again in
            # between), the item fails with Ozon's code
            await other.products.stocks_v2(stocks=[{**z, "stock": 1}])

            async def again_in_between() -> None:
                await env.clock.sleep(30.5)
                await other.products.stocks_v2(stocks=[{**z, "stock": 2}])

            toucher = asyncio.ensure_future(again_in_between())
            result = await env.client.products.stocks_v2.bulk([{**z, "stock": 4}])
            await toucher
            assert result[0].status == "failed" and result[0].attempts == 2
            assert result[0].error is not None and result[0].error.code == "TOO_MANY_REQUESTS"
            assert env.stock(z["offer_id"], z["warehouse_id"]) == 2
        finally:
            await other.aclose()


async def test_a_whole_request_503_marks_its_items_failed_and_is_not_resent() -> None:
    async with sandbox_env() as env:
        items = env.stock_pairs(150)
        before = env.stock(items[0]["offer_id"], items[0]["warehouse_id"])
        env.sandbox.add_fault(STOCKS, status=503)
        result = await env.client.products.stocks_v2.bulk(
            [{**i, "stock": 55} for i in items], concurrency=1
        )
        sent = env.sandbox.requests_for(STOCKS)
        assert len(sent) == 2  # the failed request was not sent again
        assert [o.index for o in result.failed] == list(range(100))
        error = result.failed[0].error
        assert error is not None and error.status == 503 and error.code == "13"
        assert isinstance(error.exception, ServerError)
        assert "not resent" in (error.exception.decision or "")
        assert all(o.ok for o in result[100:])
        assert env.stock(items[0]["offer_id"], items[0]["warehouse_id"]) == before
        assert env.stock(items[120]["offer_id"], items[120]["warehouse_id"]) == 55


async def test_a_429_is_resent_with_fresh_windows_a_period_later() -> None:
    async with sandbox_env() as env:
        items = env.stock_pairs(3)
        env.sandbox.add_fault(STOCKS, status=429)
        result = await env.client.products.stocks_v2.bulk(items)
        assert result.all_ok and [o.attempts for o in result] == [2, 2, 2]
        first, second = env.sandbox.requests_for(STOCKS)
        # Ozon refused it unprocessed; the windows it used make the pairs wait a whole period
        assert second.body == first.body and second.at - first.at >= 30.0


async def test_3000_prices_go_in_3_requests() -> None:
    async with sandbox_env(sandbox={"products": 3000}) as env:
        products = sorted(env.sandbox.state.products.values(), key=lambda p: p.product_id)
        items = [{"offer_id": p.offer_id, "price": f"{100 + i}"} for i, p in enumerate(products)]
        result = await env.client.product.import_prices_v1.bulk(items)
        assert result.all_ok and result.requests == 3
        assert [len(r.body["prices"]) for r in env.sandbox.requests_for(PRICES)] == [1000] * 3
        assert [o.entry.offer_id for o in result] == [i["offer_id"] for i in items]
        assert products[2999].price == "3099.00"


async def test_the_hourly_price_rule_is_honoured() -> None:
    async with sandbox_env() as env:
        p, q = env.products()[:2]
        items = [{"offer_id": p.offer_id, "price": str(100 + n)} for n in range(12)]
        items.insert(3, {"offer_id": q.offer_id, "price": "5"})
        result = await env.client.product.import_prices_v1.bulk(items, wait=False)
        assert [o.status for o in result].count("ok") == 11  # 10 of p, 1 of q
        later = result.retry_later
        assert [o.item["price"] for o in later] == ["110", "111"]  # type: ignore[index]
        assert all(o.retry_after is not None and o.retry_after > 3500 for o in later)
        assert p.price == "109.00" and q.price == "5.00"
        assert all(o.attempts == 1 for o in result.succeeded)  # the shop refused none

        start = env.clock.now()
        result = await env.client.product.import_prices_v1.bulk([o.item for o in later])
        assert result.all_ok and p.price == "111.00"
        assert [o.attempts for o in result] == [1, 1]
        assert env.clock.now() - start >= 3500  # waited for the hour to pass
        sent = env.sandbox.requests_for(PRICES)
        times = [r.at for r in sent for it in r.body["prices"] if it["offer_id"] == p.offer_id]
        assert len(times) == 12
        assert all(b - a >= 3600 for a, b in zip(times, times[10:], strict=False))


async def test_progress_is_reported_as_items_get_their_outcome() -> None:
    async with sandbox_env() as env:
        pairs = env.stock_pairs(201)
        items = [*pairs, {**pairs[0], "stock": 1}]  # the repeat waits 30 s for its turn
        seen: list[tuple[int, int]] = []
        result = await env.client.products.stocks_v2.bulk(
            items, on_progress=lambda done, total: seen.append((done, total))
        )
        assert result.all_ok and result.requests == 4
        assert [d for d, _ in seen] == sorted({d for d, _ in seen})  # growing, never repeated
        assert {t for _, t in seen} == {202} and seen[-1] == (202, 202)
        assert (100, 202) in seen and (201, 202) in seen  # after each request


async def test_bad_items_are_refused_before_anything_is_sent() -> None:
    async with sandbox_env() as env:
        items = env.stock_pairs(3)
        del items[1]["warehouse_id"]
        items[2]["stock"] = "many"
        with pytest.raises(RequestValidationError) as info:
            await env.client.products.stocks_v2.bulk(items)
        assert info.value.field == "stocks[1].warehouse_id"
        assert "stocks[2]" in str(info.value) and "nothing was sent" in str(info.value)
        with pytest.raises(TypeError, match="unexpected keyword"):
            await env.client.products.stocks_v2.bulk(items[:1], warehouse=3)
        with pytest.raises(TypeError, match="first argument"):
            await env.client.products.stocks_v2.bulk(items[:1], stocks=[])
        with pytest.raises(RequestValidationError):
            # the shared fields are checked too (action_id must be a number)
            await env.client.actions.products_activate_v1.bulk(
                [{"product_id": 1, "action_price": 2}], action_id="x"
            )
        assert env.sandbox.requests == []
        empty = await env.client.products.stocks_v2.bulk([])
        assert isinstance(empty, BulkResult) and len(empty) == 0 and empty.requests == 0


# --------------------------------------------------------------------------- keyed per Client-Id
async def test_the_per_item_rule_is_shared_through_the_limiter_and_keyed_per_client_id() -> None:
    """Not on the sandbox: it holds one shop for every Client-Id, so a second seller's update of
    the same pair would be refused by the shop itself; Ozon keeps each seller's pairs apart."""
    from tests.helpers import VirtualClock

    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock)  # what a cross-process limiter shares
    sent: list[str] = []

    def shop(request: HTTPRequest) -> HTTPResponse:
        sent.append(request.headers["Client-Id"])
        items = msgspec.json.decode(request.content or b"{}")["stocks"]
        return HTTPResponse(200, json={"result": [{**i, "updated": True} for i in items]})

    def client(cid: str) -> OzonClient:
        return OzonClient(cid, "k", clock=clock, limiter=limiter, transport=MockTransport(shop))

    item = {"offer_id": "s", "warehouse_id": 1, "stock": 1}
    async with client("123456") as one, client("123456") as same, client("999") as other:
        assert (await one.products.stocks_v2.bulk([item]))[0].ok
        same_seller = await same.products.stocks_v2.bulk([item], wait=False)
        assert same_seller[0].status == "retry_later"
        other_seller = await other.products.stocks_v2.bulk([item], wait=False)
        assert other_seller[0].ok
    assert sent == ["123456", "999"]


# --------------------------------------------------------------------------- answer matching
def _decode(key: str, body: Any) -> Any:
    op = OPERATIONS[key]
    return msgspec.convert(body, op.response_type, strict=False)


def _keys(key: str, items: list[Any]) -> list[Any]:
    op = OPERATIONS[key]
    assert op.batch is not None
    return [item_key(op.batch, i) for i in items]


def test_failures_only_answers_mark_just_the_listed_items() -> None:
    key = "POST /v1/barcode/add"
    batch = OPERATIONS[key].batch
    assert batch is not None
    items = [{"sku": 1, "barcode": "a"}, {"sku": 2, "barcode": "b"}, {"sku": 3, "barcode": "c"}]
    answer = _decode(
        key, {"errors": [{"sku": "2", "barcode": "b", "code": "DUP", "error": "taken"}]}
    )
    out = match_answer(batch, answer, _keys(key, items))
    assert [e is None for _, e in out] == [True, False, True]
    assert out[1][1] is not None and (out[1][1].code, out[1][1].message) == ("DUP", "taken")


def test_scalar_items_and_scalar_failures() -> None:
    key = "POST /v1/product/import-by-sku"
    batch = OPERATIONS[key].batch
    assert batch is not None
    items = [{"sku": 10}, {"sku": 11}]
    answer = _decode(key, {"result": {"task_id": 5, "unmatched_sku_list": [11]}})
    out = match_answer(batch, answer, _keys(key, items))
    assert out[0][1] is None and out[1][1] is not None and out[1][1].code == "UNMATCHED_SKU"

    key = "POST /v1/barcode/generate"
    batch = OPERATIONS[key].batch
    assert batch is not None and batch.scalar
    answer = _decode(key, {"errors": [{"product_id": 7, "code": "X", "error": "no"}]})
    out = match_answer(batch, answer, _keys(key, [6, 7]))
    assert out[0][1] is None and out[1][1] is not None and out[1][1].code == "X"


def test_whole_request_answers() -> None:
    key = "POST /v1/product/archive"
    batch = OPERATIONS[key].batch
    assert batch is not None and batch.max_items == 100
    refused = match_answer(batch, _decode(key, {"result": False}), _keys(key, [1, 2]))
    assert all(e is not None for _, e in refused)
    applied = match_answer(batch, _decode(key, {"result": True}), _keys(key, [1, 2]))
    assert all(e is None for _, e in applied)


def test_entries_match_by_either_identity_and_missing_entries_fail() -> None:
    key = "POST /v2/products/stocks"
    batch = OPERATIONS[key].batch
    assert batch is not None
    items = [
        {"product_id": 5, "warehouse_id": 1, "stock": 1},
        {"offer_id": "o", "warehouse_id": 1, "stock": 1},
        {"offer_id": "gone", "warehouse_id": 1, "stock": 1},
    ]
    answer = _decode(
        key,
        {
            "result": [
                {"offer_id": "o", "product_id": 9, "warehouse_id": 1, "updated": True},
                {"offer_id": "p5", "product_id": "5", "warehouse_id": 1, "updated": False},
            ]
        },
    )
    out = match_answer(batch, answer, _keys(key, items))
    assert out[0][0].offer_id == "p5" and out[0][1] is not None  # updated: false
    assert out[1][0].offer_id == "o" and out[1][1] is None
    assert out[2][0] is None and out[2][1] is not None


def test_every_batch_operation_is_described() -> None:
    batched = {k for k, op in OPERATIONS.items() if op.batch is not None}
    assert {
        "POST /v2/products/stocks",
        "POST /v1/product/import/prices",
        "POST /v3/product/import",
        "POST /v1/product/import-by-sku",
        "POST /v1/product/archive",
        "POST /v1/product/unarchive",
        "POST /v1/product/attributes/update",
        "POST /v1/barcode/add",
        "POST /v1/barcode/generate",
    } <= batched
    for k in batched:
        op = OPERATIONS[k]
        assert op.batch is not None and op.batch.max_items >= 1 and not op.safe, k
    limits = {k: op.item_rate_limit for k, op in OPERATIONS.items() if op.item_rate_limit}
    assert limits["POST /v2/products/stocks"] is not None
    assert (
        limits["POST /v2/products/stocks"].requests,
        limits["POST /v2/products/stocks"].period,
    ) == (1, 30.0)
    assert (
        limits["POST /v1/product/import/prices"].requests,
        limits["POST /v1/product/import/prices"].period,
    ) == (10, 3600.0)


async def test_the_readme_example_runs(tmp_path: Any, capsys: Any) -> None:
    import re
    from datetime import datetime, timezone

    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("## Bulk updates, tasks and reports", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    async with sandbox_env(sandbox={"products": 300}) as env:
        stocks = env.stock_pairs(1000)
        stocks[5] = {**stocks[5], "warehouse_id": 404}
        prices = [{"offer_id": p.offer_id, "price": "499"} for p in env.products()]
        packed = sorted(
            p.posting_number
            for p in env.sandbox.state.postings.values()
            if p.status == "awaiting_deliver"
        )[:3]
        await namespace["daily_jobs"](env.client, str(tmp_path), stocks, prices, packed)
        out = capsys.readouterr().out
        assert len(env.sandbox.requests_for(STOCKS)) == 10
        assert len(env.sandbox.requests_for(PRICES)) == 1
        assert out.count("not updated:") == 1 and "WAREHOUSE_NOT_FOUND" in out
        assert env.sandbox.state.product_by(offer_id="new-1") is not None
        since = datetime(2026, 2, 1, tzinfo=timezone.utc).timestamp()
        to = datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()
        rows = sum(
            len(p.products)
            for p in env.sandbox.state.postings.values()
            if since <= p.in_process_at <= to
        )
        assert rows > 0 and f"\n{rows} report rows\n" in "\n" + out
        for kind in ("big_label", "small_label"):
            pdf = (tmp_path / f"{kind}.pdf").read_bytes()
            assert pdf.startswith(b"%PDF") and all(n.encode() in pdf for n in packed)
