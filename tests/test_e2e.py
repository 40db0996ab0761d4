"""End to end over real sockets: the typed client against the mock Ozon server."""

from __future__ import annotations

import asyncio
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from ozon_async import (
    OPERATIONS,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BinaryResponse,
    CircuitOpenError,
    InProcessRateLimiter,
    NotFoundError,
    OzonClient,
    RateLimitError,
    ServerError,
)
from ozon_async.testing import MockOzon, MockOzonServer
from tests.conftest import load_spec

STOCKS = [{"offer_id": "A-1", "stock": 5, "warehouse_id": 1020000089903000}]


def _kwargs(key: str) -> dict[str, Any]:
    """The spec's request example as keyword arguments of the typed method."""
    op = OPERATIONS[key]
    method, path = key.split(" ", 1)
    spec_op = load_spec()["paths"][path][method.lower()]
    if op.request_type is None or "requestBody" not in spec_op:
        return {}
    example = spec_op["requestBody"]["content"]["application/json"]["example"]
    rt = op.request_type
    by_wire = dict(zip(rt.__struct_encode_fields__, rt.__struct_fields__, strict=True))
    return {by_wire[k]: v for k, v in example.items()}


@pytest.mark.parametrize("key", sorted(OPERATIONS))
async def test_every_operation_end_to_end(ozon_mock: MockOzon, key: str) -> None:
    op = OPERATIONS[key]
    method = getattr(getattr(ozon_mock.client, op.group), op.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        result = await method(**_kwargs(key))
    if op.response_type is None:
        assert isinstance(result, BinaryResponse) and result.content.startswith(b"%PDF")
    else:
        assert isinstance(result, op.response_type)
    (seen,) = ozon_mock.server.requests_for(op.path)
    assert seen.client_id == "123456"
    assert seen.headers["Api-Key"] == "***"


async def test_the_server_rejects_invalid_bodies(ozon_mock: MockOzon) -> None:
    with pytest.raises(BadRequestError) as info:
        await ozon_mock.client.request(
            "POST", "/v2/products/stocks", json={"stocks": [{"stock": "x"}]}
        )
    assert "stocks" in info.value.message


async def test_unknown_path_wrong_method_and_missing_auth(ozon_mock: MockOzon) -> None:
    with pytest.raises(NotFoundError):
        await ozon_mock.client.request("POST", "/v9/no/such/method", json={})
    with pytest.raises(APIStatusError) as info:
        await ozon_mock.client.request("GET", "/v2/warehouse/list")
    assert info.value.status == 405
    async with (
        aiohttp.ClientSession() as s,
        s.post(ozon_mock.url + "/v2/warehouse/list", json={"limit": 1}) as r,
    ):
        assert r.status == 401
        assert (await r.json())["code"] == 16


# ------------------------------------------------------------------------ the fault matrix
async def test_429_with_retry_after_is_waited_out(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault("/v2/products/stocks", status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    resp = await ozon_mock.client.products.stocks_v2(stocks=STOCKS)
    assert time.monotonic() - started >= 0.95
    assert resp.result is not None
    assert len(ozon_mock.server.requests_for("/v2/products/stocks")) == 2


async def test_503_on_a_write_is_not_resent(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault("/v2/products/stocks", status=503, times=None)
    with pytest.raises(ServerError):
        await ozon_mock.client.products.stocks_v2(stocks=STOCKS)
    assert len(ozon_mock.server.requests_for("/v2/products/stocks")) == 1


async def test_503_on_a_read_is_retried(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault("/v2/warehouse/list", status=503, times=2)
    resp = await ozon_mock.client.warehouse.list_v2(limit=5)
    assert resp.warehouses
    assert len(ozon_mock.server.requests_for("/v2/warehouse/list")) == 3


async def test_html_502_and_empty_bodies(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault("/v2/products/stocks", html=True)
    with pytest.raises(ServerError) as info:
        await ozon_mock.client.products.stocks_v2(stocks=STOCKS)
    assert info.value.status == 502 and b"nginx" in info.value.body
    assert "<" not in info.value.message  # the page is reduced to its title
    ozon_mock.server.add_fault("/v2/products/stocks", status=404, empty=True)
    with pytest.raises(NotFoundError) as nf:
        await ozon_mock.client.products.stocks_v2(stocks=STOCKS)
    assert nf.value.body == b""


async def test_dropped_connections(ozon_mock: MockOzon) -> None:
    server, client = ozon_mock.server, ozon_mock.client
    for drop in ("before_read", "after_read"):
        server.reset()
        server.add_fault("/v2/products/stocks", drop=drop)
        with pytest.raises(APIConnectionError):
            await client.products.stocks_v2(stocks=STOCKS)
        assert len(server.requests_for("/v2/products/stocks")) <= 1  # never resent
        server.add_fault("/v2/warehouse/list", drop=drop)
        await client.warehouse.list_v2(limit=1)  # a read is resent and succeeds


async def test_slow_answer_times_out(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault("/v2/products/stocks", delay=1.0)
    with pytest.raises(APITimeoutError):
        await ozon_mock.client.products.stocks_v2(stocks=STOCKS, timeout=0.2)


async def test_circuit_open_waits_or_fails_fast(ozon_mock: MockOzon) -> None:
    server = ozon_mock.server
    server.add_fault("/v2/products/stocks", circuit_open_for=0.6)
    with pytest.raises(CircuitOpenError):
        await ozon_mock.client.with_options(circuit_open_wait=0).products.stocks_v2(stocks=STOCKS)
    patient = ozon_mock.client.with_options(circuit_open_wait=0.4)
    resp = await patient.products.stocks_v2(stocks=STOCKS)
    assert resp.result is not None


async def test_server_enforces_the_global_limit_and_the_client_respects_it() -> None:
    async with MockOzonServer(rate_limit=20) as server:
        async with OzonClient(
            "9", "k", base_url=server.url, rate_limit=None, max_retries=0
        ) as greedy:
            results = await asyncio.gather(
                *[greedy.roles.list_v1() for _ in range(30)], return_exceptions=True
            )
        limited = [r for r in results if isinstance(r, RateLimitError)]
        assert limited and limited[0].code == 8
        server.reset()
        limiter = InProcessRateLimiter()
        async with OzonClient(
            "9", "k", base_url=server.url, rate_limit=20, limiter=limiter
        ) as polite:
            await asyncio.gather(*[polite.roles.list_v1() for _ in range(30)])
        assert len(server.requests) == 30  # nothing was refused, nothing resent


async def test_per_method_limit_is_enforced_by_the_server() -> None:
    body = {
        "date_from": "2024-01-01",
        "date_to": "2024-01-02",
        "metrics": ["revenue"],
        "dimension": ["day"],
        "limit": 10,
    }
    headers = {"Client-Id": "9", "Api-Key": "k"}
    async with MockOzonServer() as server, aiohttp.ClientSession() as s:
        statuses = []
        for _ in range(2):  # the spec allows one call a minute
            async with s.post(server.url + "/v1/analytics/data", json=body, headers=headers) as r:
                statuses.append(r.status)
    assert statuses == [200, 429]


# ------------------------------------------------------------------------ pagination
@pytest.fixture
async def small_server() -> AsyncIterator[MockOzonServer]:
    async with MockOzonServer(items=37) as server:
        yield server


@pytest.mark.parametrize(
    "key,kwargs,attr",
    [
        ("POST /v2/warehouse/list", {"limit": 10}, "warehouse_id"),
        ("POST /v3/product/list", {"limit": 10}, "product_id"),
        ("POST /v1/returns/list", {"limit": 10}, "id"),
        ("POST /v2/chat/list", {"limit": 10}, "chat"),  # nested identifiers vary too
        ("POST /v1/report/list", {"page_size": 10}, "code"),
        (
            "POST /v4/posting/fbs/list",
            {
                "limit": 10,
                "filter": {"since": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"},
            },
            "posting_number",
        ),
    ],
)
async def test_paginators_walk_every_style_to_the_end(
    small_server: MockOzonServer, key: str, kwargs: dict[str, Any], attr: str
) -> None:
    op = OPERATIONS[key]
    async with OzonClient("7", "k", base_url=small_server.url, limiter=InProcessRateLimiter()) as c:
        method = getattr(getattr(c, op.group), op.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            items = [i async for i in method.iter(**kwargs)]
    assert len(items) == 37
    assert len({repr(getattr(i, attr)) for i in items}) == 37
    assert len(small_server.requests_for(op.path)) == 4


async def test_auth_failure_maps_to_authentication_error(ozon_mock: MockOzon) -> None:
    ozon_mock.server.add_fault(
        "/v1/roles",
        status=401,
        body={"code": 16, "message": "Invalid Api-Key, please contact support"},
    )
    with pytest.raises(AuthenticationError):
        await ozon_mock.client.roles.list_v1()


async def test_command_line_server() -> None:
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ozon_async.testing",
        "--port",
        "0",
        "--items",
        "5",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        url = line.split(" on ", 1)[1].split()[0]
        async with OzonClient("1", "k", base_url=url, limiter=InProcessRateLimiter()) as c:
            items = [w async for w in c.warehouse.list_v2.iter(limit=2)]
        assert len(items) == 5
    finally:
        proc.terminate()
        await proc.wait()
