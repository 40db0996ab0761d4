"""End to end over real sockets: the typed client against the mock Ozon server."""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterator
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
from ozon_async.testing import SANDBOX_API_KEY, SANDBOX_CLIENT_ID, MockOzon, MockOzonServer, Sandbox

STOCKS = [{"offer_id": "A-1", "stock": 5, "warehouse_id": 1020000089903000}]


def _kwargs(sandbox: Sandbox, key: str) -> dict[str, Any]:
    """A working request for the operation (the spec's example, naming objects that exist in the
    sandbox) as keyword arguments of the typed method."""
    op = OPERATIONS[key]
    example = sandbox.example_request(key)
    rt = op.request_type
    by_wire = {param: param for param in op.path_params}
    if rt is not None:
        by_wire.update(zip(rt.__struct_encode_fields__, rt.__struct_fields__, strict=True))
    return {by_wire[k]: v for k, v in example.items()}


@pytest.fixture(scope="module")
def shared_sandbox() -> Iterator[Sandbox]:
    """One sandbox for every operation's test (building a shop per test would cost more than the
    tests), served from a thread of its own so that each test's event loop can reach it."""
    sandbox = Sandbox(seed=3)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(sandbox.start(), loop).result(30)
    try:
        yield sandbox
    finally:
        asyncio.run_coroutine_threadsafe(sandbox.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()


@pytest.mark.parametrize("key", sorted(OPERATIONS))
async def test_every_operation_end_to_end(shared_sandbox: Sandbox, key: str) -> None:
    """Every operation of the spec, through its typed method, answers and decodes."""
    op = OPERATIONS[key]
    sandbox = shared_sandbox
    sandbox.reset()
    async with OzonClient(
        SANDBOX_CLIENT_ID, SANDBOX_API_KEY, base_url=sandbox.url, limiter=InProcessRateLimiter()
    ) as client:
        method = getattr(getattr(client, op.group), op.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = await method(**_kwargs(sandbox, key))
    if op.response_type is None:
        magic = {"application/pdf": b"%PDF", "image/png": b"\x89PNG\r\n\x1a\n"}
        assert isinstance(result, BinaryResponse)
        assert result.content_type == op.response_content_type
        assert result.content.startswith(magic[op.response_content_type])
    else:
        assert isinstance(result, op.response_type)
    (seen,) = sandbox.requests_for(op.path)
    assert seen.client_id == SANDBOX_CLIENT_ID
    if op.request_content_type == "multipart/form-data":
        assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
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
            server.client_id, server.api_key, base_url=server.url, rate_limit=None, max_retries=0
        ) as greedy:
            results = await asyncio.gather(
                *[greedy.roles.list_v1() for _ in range(30)], return_exceptions=True
            )
        limited = [r for r in results if isinstance(r, RateLimitError)]
        assert limited and limited[0].code == 8
        server.reset()
        limiter = InProcessRateLimiter()
        async with OzonClient(
            server.client_id, server.api_key, base_url=server.url, rate_limit=20, limiter=limiter
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
    headers = {"Client-Id": SANDBOX_CLIENT_ID, "Api-Key": SANDBOX_API_KEY}
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


WIDE = {"since": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}


@pytest.mark.parametrize(
    "key,kwargs,attr,count",
    [
        ("POST /v2/warehouse/list", {"limit": 3}, "warehouse_id", lambda s: len(s.warehouses)),
        ("POST /v3/product/list", {"limit": 25}, "product_id", lambda s: len(s.products)),
        ("POST /v1/returns/list", {"limit": 7}, "id", lambda s: len(s.returns)),
        ("POST /v2/chat/list", {"limit": 5}, "chat", lambda s: len(s.chats)),
        ("POST /v1/report/list", {"page_size": 1}, "code", lambda s: len(s.reports)),
        (
            "POST /v4/posting/fbs/list",
            {"limit": 70, "filter": WIDE},
            "posting_number",
            lambda s: len(s.postings),
        ),
        (
            "POST /v3/posting/fbs/list",
            {"limit": 70, "filter": WIDE},
            "posting_number",
            lambda s: len(s.postings),
        ),
        (
            "POST /v4/product/info/stocks",
            {"limit": 25, "filter": {"visibility": "ALL"}},
            "product_id",
            lambda s: len(s.products),
        ),
        (
            "POST /v1/actions/candidates",
            {"limit": 10, "action_id": 1},
            "id",
            lambda s: 37,
        ),  # generated list
        ("POST /v2/returns/rfbs/list", {"limit": 10}, "return_id", lambda s: 37),
        (
            "POST /v1/finance/cash-flow-statement/list",
            {
                "page_size": 10,
                "date": {"from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z"},
            },
            None,
            lambda s: 37,
        ),
    ],
)
async def test_paginators_walk_every_style_to_the_end(
    small_server: MockOzonServer,
    key: str,
    kwargs: dict[str, Any],
    attr: str | None,
    count: Any,
) -> None:
    op = OPERATIONS[key]
    async with OzonClient(
        SANDBOX_CLIENT_ID,
        SANDBOX_API_KEY,
        base_url=small_server.url,
        limiter=InProcessRateLimiter(),
    ) as c:
        method = getattr(getattr(c, op.group), op.name)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            items = [i async for i in method.iter(**kwargs)]
    expected = count(small_server.state)
    limit = kwargs.get("limit") or kwargs.get("page_size")
    assert len(items) == expected
    if attr is not None:
        assert len({repr(getattr(i, attr)) for i in items}) == expected
    assert len(small_server.requests_for(op.path)) == -(-expected // limit)


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
        "--seed",
        "5",
        "--speed",
        "60",
        "--warehouses",
        "5",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        url = line.split(" on ", 1)[1].split()[0]
        async with OzonClient(
            SANDBOX_CLIENT_ID, SANDBOX_API_KEY, base_url=url, limiter=InProcessRateLimiter()
        ) as c:
            items = [w async for w in c.warehouse.list_v2.iter(limit=2)]
            posting = await c.posting.fbs_list_v4(
                limit=1, filter={"since": "2020-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}
            )
            (first,) = posting.postings
            got = await c.posting.fbs_get_v3(posting_number=first.posting_number)
            assert got.result is not None and got.result.status == first.status
        assert len(items) == 5
    finally:
        proc.terminate()
        await proc.wait()
