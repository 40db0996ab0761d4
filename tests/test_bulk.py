"""Bulk writes end to end on the stateful fake (tests/_bulk_server.py), time on a virtual clock."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
import pytest

from ozon_async import OPERATIONS, OzonClient, RequestValidationError, ServerError
from ozon_async._bulk import item_key, match_answer
from ozon_async.bulk import BulkError, BulkResult
from ozon_async.types.products import ProductsStocksV2RequestStock
from tests._bulk_server import bulk_env

STOCKS = "/v2/products/stocks"
PRICES = "/v1/product/import/prices"


def pairs(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"offer_id": f"offer-{i}", "warehouse_id": 1 + i % 3, "stock": i % 50}
        for i in range(start, start + n)
    ]


async def test_5000_stock_pairs_go_in_50_requests_aligned_with_inputs() -> None:
    async with bulk_env() as env:
        items: list[Any] = pairs(5000)
        items[1234] = {"offer_id": "offer-1234", "warehouse_id": 404, "stock": 3}
        items[77] = ProductsStocksV2RequestStock(offer_id="offer-77", warehouse_id=2, stock=9)
        result = await env.client.products.stocks_v2.bulk(items)

        sent = env.fake.requests_for(STOCKS)
        assert len(sent) == 50 and result.requests == 50
        assert all(len(r.body["stocks"]) == 100 for r in sent)
        assert sorted(s["offer_id"] for r in sent for s in r.body["stocks"]) == sorted(
            f"offer-{i}" for i in range(5000)
        )
        assert len(result) == 5000
        for i, outcome in enumerate(result):
            assert outcome.index == i and outcome.item is items[i]
            assert outcome.entry.offer_id == f"offer-{i}"
        bad = result[1234]
        assert bad.status == "failed" and bad.error is not None
        assert bad.error.code == "WAREHOUSE_NOT_FOUND" and bad.error.message == "no warehouse"
        assert [o.index for o in result.failed] == [1234]
        assert len(result.succeeded) == 4999 and not result.retry_later
        assert env.fake.stocks[("offer-77", "2")] == 9
        # paced at Ozon's 80 requests per minute, never beyond it
        assert env.fake.method_429 == 0 and env.fake.item_too_many == 0
        times = [r.at for r in sent]
        assert times[-1] - times[0] >= 49 * 60 / 80
        with pytest.raises(BulkError, match="1 of 5000 items failed"):
            result.raise_for_failed()


async def test_a_repeated_pair_is_sent_30_s_later_and_the_last_value_wins() -> None:
    async with bulk_env() as env:
        items = [
            {"offer_id": "a", "warehouse_id": 1, "stock": 5},
            {"offer_id": "b", "warehouse_id": 1, "stock": 6},
            {"offer_id": "a", "warehouse_id": 1, "stock": 7},
            {"offer_id": "a", "warehouse_id": 2, "stock": 8},  # another pair: not delayed
        ]
        result = await env.client.products.stocks_v2.bulk(items)
        assert result.all_ok
        sent = env.fake.requests_for(STOCKS)
        assert [[s["stock"] for s in r.body["stocks"]] for r in sent] == [[5, 6, 8], [7]]
        gap = sent[1].at - sent[0].at
        assert 30.0 <= gap <= 32.0
        assert env.fake.stocks[("a", "1")] == 7
        assert env.fake.item_too_many == 0


async def test_wait_false_returns_the_repeat_in_retry_later() -> None:
    async with bulk_env() as env:
        items = [
            {"offer_id": "a", "warehouse_id": 1, "stock": 5},
            {"offer_id": "a", "warehouse_id": 1, "stock": 7},
            {"offer_id": "a", "warehouse_id": 1, "stock": 9},
            {"offer_id": "b", "warehouse_id": 1, "stock": 1},
        ]
        result = await env.client.products.stocks_v2.bulk(items, wait=False)
        assert [o.status for o in result] == ["ok", "retry_later", "retry_later", "ok"]
        later = result.retry_later
        assert [o.item for o in later] == items[1:3]
        assert all(o.retry_after is not None and 29.0 <= o.retry_after <= 31.5 for o in later)
        assert later[0].error is not None and later[0].error.code == "TOO_MANY_REQUESTS"
        assert len(env.fake.requests_for(STOCKS)) == 1
        assert env.fake.stocks[("a", "1")] == 5
        # sending them again after that time works (and keeps their order)
        await env.clock.sleep(later[0].retry_after or 0.0)
        again = await env.client.products.stocks_v2.bulk([o.item for o in later])
        assert again.all_ok and env.fake.stocks[("a", "1")] == 9
        assert env.fake.item_too_many == 0


async def test_wait_seconds_bounds_how_long_an_item_may_wait() -> None:
    async with bulk_env() as env:
        items = [{"offer_id": "a", "warehouse_id": 1, "stock": n} for n in range(3)]
        result = await env.client.products.stocks_v2.bulk(items, wait=40)
        assert [o.status for o in result] == ["ok", "ok", "retry_later"]
        assert env.fake.stocks[("a", "1")] == 1


async def test_too_many_requests_that_still_arrives_is_retried_once_after_its_window() -> None:
    async with bulk_env() as env:
        env.fake.touch_stock("x", 1)  # another process updated the pair just now
        result = await env.client.products.stocks_v2.bulk(
            [
                {"offer_id": "x", "warehouse_id": 1, "stock": 4},
                {"offer_id": "y", "warehouse_id": 1, "stock": 2},
            ]
        )
        assert result.all_ok
        assert [o.attempts for o in result] == [2, 1]
        sent = env.fake.requests_for(STOCKS)
        assert len(sent) == 2 and sent[1].at - sent[0].at >= 30.0
        assert env.fake.stocks[("x", "1")] == 4

        # when the second try is refused too, the item fails with Ozon's code
        env.fake.touch_stock("z", 1)
        task_clock = env.clock

        async def keep_touching() -> None:
            await task_clock.sleep(29.0)
            env.fake.touch_stock("z", 1)

        import asyncio

        toucher = asyncio.ensure_future(keep_touching())
        result = await env.client.products.stocks_v2.bulk(
            [{"offer_id": "z", "warehouse_id": 1, "stock": 4}]
        )
        await toucher
        assert result[0].status == "failed" and result[0].attempts == 2
        assert result[0].error is not None and result[0].error.code == "TOO_MANY_REQUESTS"


async def test_a_whole_request_503_marks_its_items_failed_and_is_not_resent() -> None:
    async with bulk_env() as env:
        env.fake.fail_next(STOCKS, 503)
        result = await env.client.products.stocks_v2.bulk(pairs(150), concurrency=1)
        sent = env.fake.requests_for(STOCKS)
        assert len(sent) == 2  # the refused request was not sent again
        failed = result.failed
        assert [o.index for o in failed] == list(range(100))
        error = failed[0].error
        assert error is not None and error.status == 503 and error.code == "14"
        assert isinstance(error.exception, ServerError)
        assert all(o.ok for o in result[100:])
        assert env.fake.stocks.get(("offer-0", "1")) is None


async def test_3000_prices_go_in_3_requests() -> None:
    async with bulk_env() as env:
        items = [{"offer_id": f"p{i}", "price": f"{100 + i}"} for i in range(3000)]
        result = await env.client.product.import_prices_v1.bulk(items)
        assert result.all_ok and result.requests == 3
        assert [len(r.body["prices"]) for r in env.fake.requests_for(PRICES)] == [1000] * 3
        assert env.fake.prices["p2999"] == "3099"


async def test_the_hourly_price_rule_is_honoured() -> None:
    async with bulk_env() as env:
        items = [{"offer_id": "p", "price": str(100 + n)} for n in range(12)]
        items.insert(3, {"offer_id": "q", "price": "5"})
        result = await env.client.product.import_prices_v1.bulk(items, wait=False)
        assert [o.status for o in result].count("ok") == 11  # 10 of p, 1 of q
        later = result.retry_later
        assert [o.item["price"] for o in later] == ["110", "111"]  # type: ignore[index]
        assert all(o.retry_after is not None and o.retry_after > 3500 for o in later)
        assert env.fake.prices["p"] == "109" and env.fake.item_too_many == 0

        start = env.clock.now()
        result = await env.client.product.import_prices_v1.bulk([o.item for o in later])
        assert result.all_ok and env.fake.prices["p"] == "111"
        assert env.clock.now() - start >= 3500  # waited for the hour to pass
        assert env.fake.item_too_many == 0


async def test_the_per_item_rule_is_shared_through_the_limiter_and_keyed_per_client_id() -> None:
    async with bulk_env() as env:
        other_session = aiohttp.ClientSession(trace_configs=[env.clock.trace()])

        def client(cid: str) -> OzonClient:
            return OzonClient(
                cid,
                "k",
                base_url=env.fake.url,
                clock=env.clock,
                limiter=env.limiter,  # what a cross-process limiter shares
                session=other_session,
            )

        try:
            item = {"offer_id": "s", "warehouse_id": 1, "stock": 1}
            await env.client.products.stocks_v2.bulk([item])
            same_seller = await client("123456").products.stocks_v2.bulk([item], wait=False)
            assert same_seller[0].status == "retry_later"
            other_seller = await client("999").products.stocks_v2.bulk([item], wait=False)
            assert other_seller[0].ok
        finally:
            await other_session.close()


async def test_bad_items_are_refused_before_anything_is_sent() -> None:
    async with bulk_env() as env:
        items = pairs(3)
        del items[1]["warehouse_id"]
        items[2]["stock"] = "many"
        with pytest.raises(RequestValidationError) as info:
            await env.client.products.stocks_v2.bulk(items)
        assert info.value.field == "stocks[1].warehouse_id"
        assert "stocks[2]" in str(info.value) and "nothing was sent" in str(info.value)
        with pytest.raises(TypeError, match="unexpected keyword"):
            await env.client.products.stocks_v2.bulk(pairs(1), warehouse=3)
        with pytest.raises(TypeError, match="first argument"):
            await env.client.products.stocks_v2.bulk(pairs(1), stocks=[])
        with pytest.raises(RequestValidationError):
            # the shared fields are checked too (action_id must be a number)
            await env.client.actions.products_activate_v1.bulk(
                [{"product_id": 1, "action_price": 2}], action_id="x"
            )
        assert env.fake.received == []
        empty = await env.client.products.stocks_v2.bulk([])
        assert isinstance(empty, BulkResult) and len(empty) == 0 and empty.requests == 0


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

    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text()
    section = text.split("## Bulk updates, tasks and reports", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    async with bulk_env() as env:
        await namespace["daily_jobs"](env.client, str(tmp_path))
        out = capsys.readouterr().out
        assert "3 postings" in out
        assert len(env.fake.requests_for(STOCKS)) == 50
        assert len(env.fake.requests_for(PRICES)) == 3
