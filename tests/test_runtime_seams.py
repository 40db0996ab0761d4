"""The runtime's seams (ozon_async._runtime): one decision for every path. A bulk request and a
download that fail give up with the same ``.decision`` a typed call gets for the same failure;
one attempt (``Runtime.send_one``) leaves the decision to its caller."""

from __future__ import annotations

import pytest

from ozon_async import OPERATIONS, OzonClient, ServerError
from ozon_async._retry import outcome_of
from tests._bulk_server import bulk_env
from tests._fakes import InstantClock, Script, status
from tests._sandbox_env import STOCKS, sandbox_env

GAVE_UP = "gave up after 2 attempts (max_retries=1)"


def failing_client(script: Script) -> OzonClient:
    return OzonClient("1", "k", transport=script.transport, rate_limit=None, clock=InstantClock())


async def test_a_typed_read_gives_up_with_the_decision() -> None:
    script = Script().on("/v2/warehouse/list", status(503, {"code": 13, "message": "busy"}))
    async with failing_client(script) as client:
        with pytest.raises(ServerError) as info:
            await client.warehouse.list_v2(limit=10, max_retries=1)
    assert info.value.decision == GAVE_UP and len(script.calls()) == 2


async def test_a_bulk_request_gives_up_with_the_decision_of_a_typed_call() -> None:
    async with sandbox_env() as env:
        items = env.stock_pairs(3)
        env.sandbox.add_fault(STOCKS, status=503, times=None)
        with pytest.raises(ServerError) as typed:
            await env.client.products.stocks_v2(stocks=items, idempotent=True, max_retries=1)
        sent = len(env.sandbox.requests_for(STOCKS))
        result = await env.client.products.stocks_v2.bulk(items, idempotent=True, max_retries=1)
        assert len(env.sandbox.requests_for(STOCKS)) - sent == 2  # resent once, as the typed call
        error = result.failed[0].error
        assert error is not None and isinstance(error.exception, ServerError)
        assert error.exception.decision == typed.value.decision == GAVE_UP


async def test_a_download_gives_up_with_the_decision_of_a_typed_read() -> None:
    async with bulk_env() as env:
        env.fake.files.files["/r.csv"] = b"ok"
        env.fake.files.fail.extend([503] * 5)
        with pytest.raises(ServerError) as info:
            await env.client.download(env.fake.files.url + "/r.csv", max_retries=1)
        assert info.value.decision == GAVE_UP


async def test_one_attempt_leaves_the_decision_to_its_caller() -> None:
    script = Script().on("/v1/product/import/prices", status(503, {"code": 13, "message": "x"}))
    async with failing_client(script) as client:
        op = OPERATIONS["POST /v1/product/import/prices"]
        assert op.response_type is not None
        with pytest.raises(ServerError) as info:
            await client.runtime.send_one(op.method, op.path, b"{}", op, {}, op.response_type)
    assert info.value.decision is None and len(script.calls()) == 1
    outcome = outcome_of(info.value)
    assert outcome is not None and (outcome.kind, outcome.status) == ("status", 503)
