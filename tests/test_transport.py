"""The aiohttp transport: its unit behaviour (aioresponses) and, against real loopback servers,
redirects, size caps, bad bodies, truncation, dropped connections and stalls."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from ozon_async import (
    AiohttpTransport,
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    HTTPRequest,
    OzonClient,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
)
from tests._fakes import InstantClock
from tests._servers import RawServer, Reply, Seen

KEY = "loopback-secret-key"
STOCKS = [{"offer_id": "A", "stock": 1, "warehouse_id": 1}]
WAREHOUSES = {"warehouses": [{"warehouse_id": 1, "name": "Main"}], "has_next": False}
BASE = "https://api-seller.ozon.ru"


def request(url: str = BASE + "/v1/roles", **kw: Any) -> HTTPRequest:
    args: dict[str, Any] = {
        "path": "/v1/roles",
        "headers": {"Api-Key": KEY},
        "content": b"{}",
        "timeout": 5.0,
        "connect_timeout": 2.0,
        "max_response_bytes": 1 << 20,
    }
    args.update(kw)
    return HTTPRequest("POST", url, **args)


# ------------------------------------------------------------------------ unit (aioresponses)
@pytest.fixture
def mock() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    t = AiohttpTransport()
    yield t
    await t.aclose()


async def test_sends_one_attempt_without_following_redirects(
    mock: aioresponses, transport: AiohttpTransport
) -> None:
    mock.post(BASE + "/v1/roles", payload={"roles": []}, headers={"X-O3-Trace-Id": "t"})
    resp = await transport.send(request())
    assert resp.status == 200 and b"roles" in resp.content
    assert resp.headers["x-o3-trace-id"] == "t"
    (call,) = mock.requests[("POST", URL(BASE + "/v1/roles"))]
    assert call.kwargs["allow_redirects"] is False
    assert call.kwargs["data"] == b"{}" and call.kwargs["headers"]["Api-Key"] == KEY
    timeout = call.kwargs["timeout"]
    assert (timeout.total, timeout.sock_connect) == (5.0, 2.0)


def _connector_error() -> aiohttp.ClientConnectorError:
    key = aiohttp.client_reqrep.ConnectionKey(
        "api-seller.ozon.ru", 443, True, True, None, None, None
    )
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))


@pytest.mark.parametrize(
    "exc,cls,sent",
    [
        (_connector_error(), APIConnectionError, False),
        (aiohttp.ConnectionTimeoutError(), APIConnectionError, False),
        (aiohttp.ServerDisconnectedError(), APIConnectionError, True),
        (aiohttp.ClientPayloadError("truncated"), APIConnectionError, True),
        (aiohttp.ClientOSError(104, "reset"), APIConnectionError, True),
        (asyncio.TimeoutError(), APITimeoutError, True),
        (aiohttp.SocketTimeoutError(), APITimeoutError, True),
    ],
)
async def test_network_failures_say_whether_the_request_may_have_been_sent(
    mock: aioresponses,
    transport: AiohttpTransport,
    exc: Exception,
    cls: type[APIConnectionError],
    sent: bool,
) -> None:
    mock.post(BASE + "/v1/roles", exception=exc)
    with pytest.raises(cls) as info:
        await transport.send(request())
    assert type(info.value) is cls and info.value.sent is sent
    assert (info.value.method, info.value.path) == ("POST", "/v1/roles")
    assert KEY not in str(info.value)


async def test_content_length_over_the_cap_is_refused_before_reading(
    mock: aioresponses, transport: AiohttpTransport
) -> None:
    mock.post(BASE + "/v1/roles", body=b"x" * 2000)
    with pytest.raises(ResponseTooLargeError) as info:
        await transport.send(request(max_response_bytes=1000))
    assert info.value.limit == 1000 and info.value.status == 200


async def test_a_closed_transport_raises_client_closed(transport: AiohttpTransport) -> None:
    await transport.aclose()
    with pytest.raises(ClientClosedError):
        await transport.send(request())


async def test_a_closed_user_session_raises_client_closed(mock: aioresponses) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    t = AiohttpTransport(session=session)
    with pytest.raises(ClientClosedError, match="session"):
        await t.send(request())


# ------------------------------------------------------------------------ loopback servers
@pytest.fixture
def clock() -> InstantClock:
    return InstantClock()


def make_client(url: str, clock: InstantClock, **kw: Any) -> OzonClient:
    return OzonClient("4242", KEY, base_url=url, rate_limit=None, clock=clock, **kw)


@pytest.mark.parametrize("code", [302, 307])
@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
async def test_redirect_to_another_port_sends_no_credentials_there(
    clock: InstantClock, code: int, write: bool
) -> None:
    async with RawServer(lambda r: Reply(json={"stolen": True})) as thief:
        target = thief.url + "/collect"
        async with RawServer(lambda r: Reply(code, headers={"Location": target})) as api:
            async with make_client(api.url, clock) as client:
                with pytest.raises(RedirectError) as info:
                    if write:
                        await client.products.stocks_v2(stocks=STOCKS)
                    else:
                        await client.warehouse.list_v2(limit=1)
            assert info.value.location == target
            assert target in str(info.value) and info.value.status == code
            assert len(api.requests) == 1 and api.requests[0].headers["api-key"] == KEY
        assert thief.requests == []  # neither Api-Key nor Client-Id (nor the body) went there


async def test_a_users_own_session_does_not_follow_redirects_either(clock: InstantClock) -> None:
    async with RawServer(lambda r: Reply(json={})) as thief:
        async with (
            RawServer(lambda r: Reply(302, headers={"Location": thief.url})) as api,
            aiohttp.ClientSession() as session,
        ):
            client = make_client(api.url, clock, session=session)
            with pytest.raises(RedirectError):
                await client.roles.list_v1()
            await client.aclose()
            assert not session.closed  # the user's session stays theirs
        assert thief.requests == []


async def test_deep_and_truncated_bodies_are_ozon_errors(clock: InstantClock) -> None:
    deep = b'{"a":' * 3000 + b"1" + b"}" * 3000
    answers = {
        "/v2/products/stocks": Reply(500, body=deep, headers={"Content-Type": "application/json"}),
        "/v2/warehouse/list": Reply(200, body=b'{"unknown": ' + b"[" * 3000 + b"]" * 3000 + b"}"),
        "/v1/roles": Reply(200, body=b'{"roles": [{"name": "a'),
    }
    async with RawServer(lambda r: answers[r.path]) as api, make_client(api.url, clock) as c:
        with pytest.raises(ServerError):
            await c.products.stocks_v2(stocks=STOCKS)
        with pytest.raises(ResponseDecodeError, match="nested too deeply"):
            await c.warehouse.list_v2(limit=1)
        with pytest.raises(ResponseDecodeError):
            await c.roles.list_v1()


@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
async def test_a_body_cut_short_by_the_server(clock: InstantClock, write: bool) -> None:
    body = b'{"result": [], "warehouses": [], "has_next": false}'
    async with RawServer(lambda r: Reply(body=body, truncate=10)) as api:
        async with make_client(api.url, clock, max_retries=2) as c:
            with pytest.raises(APIConnectionError) as info:
                if write:
                    await c.products.stocks_v2(stocks=STOCKS)
                else:
                    await c.warehouse.list_v2(limit=1)
        assert info.value.sent is True
        assert len(api.requests) == (1 if write else 3)


@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
async def test_connection_dropped_after_the_body_was_read(clock: InstantClock, write: bool) -> None:
    drops = iter([True])

    def handler(r: Seen) -> Reply:
        return Reply(drop=True) if next(drops, False) else Reply(json=WAREHOUSES | {"result": []})

    async with RawServer(handler) as api, make_client(api.url, clock) as c:
        if write:
            with pytest.raises(APIConnectionError, match="may have been applied"):
                await c.products.stocks_v2(stocks=STOCKS)
        else:
            await c.warehouse.list_v2(limit=1)
        assert len(api.requests) == (1 if write else 2)


@pytest.mark.parametrize("write", [True, False], ids=["write", "read"])
async def test_a_stall_past_the_timeout(clock: InstantClock, write: bool) -> None:
    async with RawServer(lambda r: Reply(json={}, stall=5.0)) as api:
        async with make_client(api.url, clock, timeout=0.2, max_retries=1) as c:
            with pytest.raises(APITimeoutError):
                if write:
                    await c.products.stocks_v2(stocks=STOCKS)
                else:
                    await c.warehouse.list_v2(limit=1)
        assert len(api.requests) == (1 if write else 2)


async def test_connection_refused_is_resent_even_for_a_write(clock: InstantClock) -> None:
    server = await RawServer(lambda r: Reply(json={})).start()
    url = server.url
    await server.stop()  # nothing listens on that port now
    async with make_client(url, clock, max_retries=2) as c:
        with pytest.raises(APIConnectionError, match="gave up after 3 attempts") as info:
            await c.products.stocks_v2(stocks=STOCKS)
    assert info.value.sent is False
    assert len([s for s in clock.sleeps if s > 0]) == 2
    # an http:// connection says nothing of TLS ("ssl:default" is aiohttp's TLS setting)
    assert "ssl:" not in str(info.value) and "Cannot connect to host" in str(info.value)


async def test_one_attempt_is_said_in_the_singular(clock: InstantClock) -> None:
    server = await RawServer(lambda r: Reply(json={})).start()
    url = server.url
    await server.stop()
    async with make_client(url, clock, max_retries=0) as c:
        with pytest.raises(APIConnectionError, match="gave up after 1 attempt \\(max_retries=0"):
            await c.products.stocks_v2(stocks=STOCKS)


@pytest.mark.parametrize(
    "reply",
    [
        Reply(body=b"x" * 300_000),
        Reply(body=b"x" * 300_000, chunked=True, chunk=8192),
        Reply(
            body=gzip.compress(b" " * 50_000_000),
            headers={"Content-Encoding": "gzip"},
        ),
        Reply(
            body=gzip.compress(b" " * 50_000_000),
            headers={"Content-Encoding": "gzip"},
            chunked=True,
        ),
    ],
    ids=["content-length", "chunked", "gzip bomb", "chunked gzip bomb"],
)
async def test_answers_over_the_cap_are_refused_while_reading(
    clock: InstantClock, reply: Reply
) -> None:
    async with RawServer(lambda r: reply) as api:
        async with make_client(api.url, clock, max_response_bytes=100_000) as c:
            with pytest.raises(ResponseTooLargeError, match="100,000 bytes"):
                await c.warehouse.list_v2(limit=1)
        assert len(api.requests) == 1  # not resent: it would be as large again


async def test_compressed_answers_under_the_cap_decode(clock: InstantClock) -> None:
    import msgspec

    raw = msgspec.json.encode(WAREHOUSES)
    replies = [
        Reply(body=gzip.compress(raw), headers={"Content-Encoding": "gzip"}),
        Reply(body=zlib.compress(raw), headers={"Content-Encoding": "deflate"}, chunked=True),
    ]
    async with (
        RawServer(lambda r: replies.pop(0)) as api,
        make_client(api.url, clock, max_response_bytes=len(raw)) as c,
    ):
        for _ in range(2):
            page = await c.warehouse.list_v2(limit=1)
            assert page.warehouses and page.warehouses[0].name == "Main"


async def test_the_wire_carries_credentials_and_the_exact_body(clock: InstantClock) -> None:
    async with RawServer(lambda r: Reply(json=WAREHOUSES)) as api:
        async with make_client(api.url, clock, headers={"X-Team": "ops"}) as c:
            await c.warehouse.list_v2(limit=3, extra_body={"future_field": [1, 2]})
        (seen,) = api.requests
    assert seen.method == "POST" and seen.path == "/v2/warehouse/list"
    assert seen.headers["client-id"] == "4242" and seen.headers["api-key"] == KEY
    assert seen.headers["x-team"] == "ops"
    assert seen.json() == {"limit": 3, "future_field": [1, 2]}


async def test_error_headers_from_the_wire_are_case_insensitive(clock: InstantClock) -> None:
    reply = Reply(429, json={"code": 8, "message": "slow down"}, headers={"Retry-After": "900"})
    async with RawServer(lambda r: reply) as api, make_client(api.url, clock) as c:
        with pytest.raises(Exception) as info:
            await c.roles.list_v1()
    err: Any = info.value
    assert err.headers["retry-after"] == "900" and err.headers["RETRY-AFTER"] == "900"
    assert "Retry-After 900 s exceeds max_retry_wait 120 s" in str(err)
