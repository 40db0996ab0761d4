"""Runtime behaviour against mocked HTTP (aioresponses)."""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest
from aioresponses import aioresponses
from yarl import URL

from ozon_async import (
    APIConnectionError,
    APIResponse,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BinaryResponse,
    CircuitOpenError,
    ConfigurationError,
    InProcessRateLimiter,
    NotFoundError,
    OzonClient,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
    ServerError,
)
from tests.helpers import VirtualClock

BASE = "https://api-seller.ozon.ru"
KEY = "s3cr3t-api-key-0000"
WAREHOUSES = {"warehouses": [{"warehouse_id": 1, "name": "Main"}], "has_next": False, "cursor": ""}


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
async def client(clock: VirtualClock) -> AsyncIterator[OzonClient]:
    limiter = InProcessRateLimiter(clock=clock)
    async with OzonClient("12345", KEY, limiter=limiter, clock=clock) as c:
        yield c


@pytest.fixture
def mock() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


def calls(m: aioresponses, path: str, method: str = "POST") -> list[Any]:
    return list(m.requests.get((method, URL(BASE + path)), []))


# ------------------------------------------------------------------------ configuration
def test_credentials_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZON_CLIENT_ID", "777")
    monkeypatch.setenv("OZON_API_KEY", "env-key")
    monkeypatch.setenv("OZON_BASE_URL", "http://127.0.0.1:9/")
    c = OzonClient()
    assert c.client_id == "777"
    assert c.base_url == "http://127.0.0.1:9"


def test_explicit_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OZON_CLIENT_ID", "777")
    monkeypatch.setenv("OZON_API_KEY", "env-key")
    monkeypatch.delenv("OZON_BASE_URL", raising=False)
    c = OzonClient("1", "k")
    assert c.client_id == "1"
    assert c.base_url == "https://api-seller.ozon.ru"


@pytest.mark.parametrize("missing", ["OZON_CLIENT_ID", "OZON_API_KEY"])
def test_missing_credentials_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("OZON_CLIENT_ID", "777")
    monkeypatch.setenv("OZON_API_KEY", "env-key")
    monkeypatch.delenv(missing)
    with pytest.raises(ConfigurationError, match=missing):
        OzonClient()


def test_key_is_not_in_repr() -> None:
    c = OzonClient("12345", KEY)
    assert KEY not in repr(c)
    assert "12345" in repr(c)
    assert KEY not in repr(c.with_options(timeout=5))
    assert KEY not in repr(c.posting)


# ------------------------------------------------------------------------ requests
async def test_auth_headers_and_body(client: OzonClient, mock: aioresponses) -> None:
    mock.post(BASE + "/v2/warehouse/list", payload=WAREHOUSES)
    resp = await client.warehouse.list_v2(limit=10, warehouse_ids=["1020000089903000"])
    assert resp.warehouses and resp.warehouses[0].warehouse_id == 1
    (call,) = calls(mock, "/v2/warehouse/list")
    headers = call.kwargs["headers"]
    assert headers["Client-Id"] == "12345"
    assert headers["Api-Key"] == KEY
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("ozon_async/")
    assert msgspec.json.decode(call.kwargs["data"]) == {
        "limit": 10,
        "warehouse_ids": [1020000089903000],
    }


async def test_models_and_dicts_are_both_accepted(client: OzonClient, mock: aioresponses) -> None:
    from ozon_async.types import PostingFbsListV4RequestFilter

    payload = {"result": {"postings": [], "has_next": False}}
    mock.post(BASE + "/v3/posting/fbs/list", payload=payload, repeat=True)
    flt = PostingFbsListV4RequestFilter(since="2024-01-01T00:00:00Z", to="2024-02-01T00:00:00Z")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        await client.posting.fbs_list_v3(filter=flt, limit=5)
        await client.posting.fbs_list_v3(
            filter={"since": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}, limit=5
        )
    a, b = calls(mock, "/v3/posting/fbs/list")
    assert a.kwargs["data"] == b.kwargs["data"]


async def test_extra_headers_per_call(client: OzonClient, mock: aioresponses) -> None:
    mock.post(BASE + "/v1/roles", payload={"roles": []})
    await client.roles.list_v1(extra_headers={"X-Request-Tag": "abc"})
    (call,) = calls(mock, "/v1/roles")
    assert call.kwargs["headers"]["X-Request-Tag"] == "abc"
    assert call.kwargs["data"] == b"{}"


async def test_bad_input_names_the_field_and_sends_nothing(
    client: OzonClient, mock: aioresponses
) -> None:
    with pytest.raises(RequestValidationError) as info:
        await client.warehouse.list_v2(limit="many")  # type: ignore[arg-type]
    assert info.value.field == "limit"
    assert "limit" in str(info.value)
    with pytest.raises(RequestValidationError) as info:
        await client.products.stocks_v2(
            stocks=[{"offer_id": "A", "stock": "lots", "warehouse_id": 1}]
        )
    assert info.value.field == "stocks[0].stock"
    with pytest.raises(RequestValidationError, match="stocks"):
        await client.products.stocks_v2(
            stocks=[{"offer_id": str(i), "stock": 1, "warehouse_id": 1} for i in range(101)]
        )
    assert not mock.requests


async def test_deprecated_operation_warns_with_successor(
    client: OzonClient, mock: aioresponses
) -> None:
    mock.post(BASE + "/v1/warehouse/list", payload={"result": []})
    with pytest.warns(DeprecationWarning, match="/v2/warehouse/list"):
        await client.warehouse.list_v1(limit=10)


# ------------------------------------------------------------------------ retries
async def test_429_waits_retry_after_then_succeeds(
    client: OzonClient, mock: aioresponses, clock: VirtualClock
) -> None:
    url = BASE + "/v2/products/stocks"
    mock.post(
        url,
        status=429,
        payload={"code": 8, "message": "You have reached request rate limit per second"},
        headers={"Retry-After": "1"},
    )
    mock.post(url, payload={"result": [{"offer_id": "A", "updated": True}]})
    resp = await client.products.stocks_v2(
        stocks=[{"offer_id": "A", "stock": 3, "warehouse_id": 1}]
    )
    assert resp.result and resp.result[0].updated is True
    assert 1.0 in clock.sleeps
    assert len(calls(mock, "/v2/products/stocks")) == 2  # a 429 was not processed: resent


async def test_429_with_a_long_wait_raises_with_retry_after(
    client: OzonClient, mock: aioresponses
) -> None:
    mock.post(
        BASE + "/v1/product/import/prices",
        status=429,
        headers={"Item-Retry-After": "30"},
        payload={"code": 8, "message": "limit"},
    )
    with pytest.raises(RateLimitError) as info:
        await client.product.import_prices_v1(prices=[{"offer_id": "A", "price": "100"}])
    assert info.value.retry_after == 1800
    assert info.value.code == 8


async def test_503_on_a_safe_operation_is_retried(client: OzonClient, mock: aioresponses) -> None:
    url = BASE + "/v2/warehouse/list"
    mock.post(url, status=503, body="busy")
    mock.post(url, payload=WAREHOUSES)
    resp = await client.warehouse.list_v2(limit=1)
    assert resp.has_next is False
    assert len(calls(mock, "/v2/warehouse/list")) == 2


async def test_503_on_a_write_is_not_resent(client: OzonClient, mock: aioresponses) -> None:
    url = BASE + "/v2/products/stocks"
    mock.post(url, status=503, body="busy", repeat=True)
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 3, "warehouse_id": 1}])
    assert info.value.status == 503
    assert len(calls(mock, "/v2/products/stocks")) == 1


async def test_503_on_a_write_is_resent_when_the_caller_opts_in(
    client: OzonClient, mock: aioresponses
) -> None:
    url = BASE + "/v2/products/stocks"
    mock.post(url, status=503, body="busy")
    mock.post(url, payload={"result": []})
    await client.products.stocks_v2(
        stocks=[{"offer_id": "A", "stock": 3, "warehouse_id": 1}], idempotent=True
    )
    assert len(calls(mock, "/v2/products/stocks")) == 2


@pytest.mark.parametrize(
    "path,call",
    [
        ("/v2/warehouse/list", lambda c: c.warehouse.list_v2(limit=1)),
        (
            "/v2/products/stocks",
            lambda c: c.products.stocks_v2(
                stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}]
            ),
        ),
    ],
)
async def test_connect_errors_are_retried_for_reads_and_writes(
    client: OzonClient, mock: aioresponses, path: str, call: Any
) -> None:
    url = BASE + path
    err = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "api-seller.ozon.ru", 443, True, True, None, None, None
        ),
        OSError(111, "Connection refused"),
    )
    mock.post(url, exception=err)
    mock.post(url, payload={"warehouses": [], "result": []})
    await call(client)
    assert len(calls(mock, path)) == 2


async def test_connect_errors_exhaust_retries(client: OzonClient, mock: aioresponses) -> None:
    err = aiohttp.ClientConnectorError(
        aiohttp.client_reqrep.ConnectionKey(
            "api-seller.ozon.ru", 443, True, True, None, None, None
        ),
        OSError(111, "Connection refused"),
    )
    mock.post(BASE + "/v1/roles", exception=err, repeat=True)
    with pytest.raises(APIConnectionError) as info:
        await client.roles.list_v1(max_retries=2)
    assert info.value.sent is False
    assert len(calls(mock, "/v1/roles")) == 3


async def test_dropped_connection_on_a_write_is_not_resent(
    client: OzonClient, mock: aioresponses
) -> None:
    mock.post(
        BASE + "/v4/posting/fbs/ship", exception=aiohttp.ServerDisconnectedError(), repeat=True
    )
    with pytest.raises(APIConnectionError) as info:
        await client.posting.fbs_ship_v4(posting_number="1-1", packages=[])
    assert info.value.sent is True
    assert len(calls(mock, "/v4/posting/fbs/ship")) == 1


async def test_timeout_raises_api_timeout_error(client: OzonClient, mock: aioresponses) -> None:
    mock.post(BASE + "/v2/products/stocks", exception=asyncio.TimeoutError())
    with pytest.raises(APITimeoutError):
        await client.products.stocks_v2(
            stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}], timeout=0.5
        )
    assert len(calls(mock, "/v2/products/stocks")) == 1


async def test_max_retries_per_call(client: OzonClient, mock: aioresponses) -> None:
    mock.post(BASE + "/v2/warehouse/list", status=500, body="", repeat=True)
    with pytest.raises(ServerError):
        await client.warehouse.list_v2(limit=1, max_retries=0)
    assert len(calls(mock, "/v2/warehouse/list")) == 1


async def test_backoff_grows(client: OzonClient, mock: aioresponses, clock: VirtualClock) -> None:
    mock.post(BASE + "/v2/warehouse/list", status=502, body="", repeat=True)
    with pytest.raises(ServerError):
        await client.warehouse.list_v2(limit=1)
    assert len(calls(mock, "/v2/warehouse/list")) == 4
    waits = [s for s in clock.sleeps if s > 0.01]
    assert len(waits) == 3
    assert 0.25 <= waits[0] <= 0.5 and 1.0 <= waits[2] <= 2.0


async def test_circuit_open_waits_then_succeeds(
    client: OzonClient, mock: aioresponses, clock: VirtualClock
) -> None:
    url = BASE + "/v2/products/stocks"
    mock.post(url, status=429, payload={"code": 8, "message": "Circle is open"})
    mock.post(url, payload={"result": []})
    await client.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}])
    assert 120.0 in clock.sleeps


async def test_circuit_open_fails_fast_when_asked(client: OzonClient, mock: aioresponses) -> None:
    mock.post(
        BASE + "/v2/products/stocks", status=503, payload={"code": 14, "message": "Circle is open"}
    )
    fast = client.with_options(circuit_open_wait=0)
    with pytest.raises(CircuitOpenError) as info:
        await fast.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}])
    assert isinstance(info.value, RateLimitError)
    assert len(calls(mock, "/v2/products/stocks")) == 1


# ------------------------------------------------------------------------ errors
async def test_html_502_keeps_the_body_text(client: OzonClient, mock: aioresponses) -> None:
    html = "<html><body><h1>502 Bad Gateway</h1>nginx</body></html>"
    mock.post(BASE + "/v2/products/stocks", status=502, body=html, content_type="text/html")
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}])
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.message
    assert info.value.body == html.encode()
    assert info.value.code is None


async def test_empty_405_is_a_status_error(client: OzonClient, mock: aioresponses) -> None:
    mock.post(BASE + "/v2/products/stocks", status=405, body="")
    with pytest.raises(APIStatusError) as info:
        await client.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}])
    assert type(info.value) is APIStatusError
    assert info.value.status == 405
    assert info.value.body == b""


@pytest.mark.parametrize(
    "status,cls", [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError)]
)
async def test_ozon_error_bodies_map_to_classes(
    client: OzonClient, mock: aioresponses, status: int, cls: type[APIStatusError]
) -> None:
    body = {"code": 3, "message": "invalid", "details": [{"typeUrl": "t", "value": "v"}]}
    mock.post(
        BASE + "/v2/products/stocks",
        status=status,
        payload=body,
        headers={"x-o3-trace-id": "abc123"},
    )
    with pytest.raises(cls) as info:
        await client.products.stocks_v2(stocks=[{"offer_id": "A", "stock": 1, "warehouse_id": 1}])
    err = info.value
    assert (err.status, err.code, err.message, err.trace_id) == (status, 3, "invalid", "abc123")
    assert err.details == [{"typeUrl": "t", "value": "v"}]
    assert (err.method, err.path) == ("POST", "/v2/products/stocks")
    assert KEY not in str(err) and KEY not in repr(err)


async def test_undecodable_success_keeps_raw_bytes(client: OzonClient, mock: aioresponses) -> None:
    mock.post(
        BASE + "/v2/warehouse/list", status=200, body="<html>oops</html>", content_type="text/html"
    )
    with pytest.raises(ResponseDecodeError) as info:
        await client.warehouse.list_v2(limit=1)
    assert info.value.body == b"<html>oops</html>"


async def test_debug_logs_never_contain_the_key(
    client: OzonClient, mock: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ozon_async")
    mock.post(BASE + "/v2/warehouse/list", status=503, body="busy")
    mock.post(BASE + "/v2/warehouse/list", payload=WAREHOUSES, headers={"x-o3-trace-id": "t-1"})
    await client.warehouse.list_v2(limit=1)
    text = caplog.text
    assert "/v2/warehouse/list" in text and "503" in text and "t-1" in text
    assert KEY not in text


# ------------------------------------------------------------------------ raw access
async def test_raw_request_with_status_headers_and_typed_parse(
    client: OzonClient, mock: aioresponses
) -> None:
    from ozon_async.types import WarehouseListV2Response

    mock.post(BASE + "/v2/warehouse/list", payload=WAREHOUSES, headers={"x-o3-trace-id": "tr"})
    resp = await client.request("POST", "/v2/warehouse/list", json={"limit": 1})
    assert isinstance(resp, APIResponse)
    assert resp.status == 200 and resp.trace_id == "tr"
    assert resp.json()["warehouses"][0]["name"] == "Main"
    typed = resp.parse(WarehouseListV2Response)
    assert typed.warehouses and typed.warehouses[0].name == "Main"
    assert isinstance(resp.parse(), WarehouseListV2Response)


async def test_binary_answer(client: OzonClient, mock: aioresponses) -> None:
    mock.post(
        BASE + "/v2/posting/fbs/package-label",
        body=b"%PDF-1.7 fake",
        content_type="application/pdf",
    )
    label = await client.posting.fbs_package_label_v2(posting_number=["1-1"])
    assert isinstance(label, BinaryResponse)
    assert label.content.startswith(b"%PDF") and label.content_type == "application/pdf"


# ------------------------------------------------------------------------ rate limits
async def test_two_clients_share_one_budget_per_client_id(
    mock: aioresponses, clock: VirtualClock
) -> None:
    limiter = InProcessRateLimiter(clock=clock)
    mock.post(BASE + "/v1/roles", payload={"roles": []}, repeat=True)
    a = OzonClient("555", "k1", limiter=limiter, clock=clock, rate_limit=50)
    b = OzonClient("555", "k2", limiter=limiter, clock=clock, rate_limit=50)
    other = OzonClient("999", "k3", limiter=limiter, clock=clock, rate_limit=50)
    try:
        start = clock.now()
        await asyncio.gather(*[(a if i % 2 else b).roles.list_v1() for i in range(100)])
        elapsed = clock.now() - start
        assert 99 / 50 <= elapsed <= 100 / 50 * 1.02
        before = clock.now()
        await other.roles.list_v1()
        assert clock.now() == before  # another Client-Id has its own budget
    finally:
        for c in (a, b, other):
            await c.aclose()


async def test_per_method_limit_paces_calls(mock: aioresponses, clock: VirtualClock) -> None:
    limiter = InProcessRateLimiter(clock=clock)
    mock.post(BASE + "/v1/barcode/generate", payload={"errors": []}, repeat=True)
    async with OzonClient("556", "k", limiter=limiter, clock=clock) as c:
        await asyncio.gather(*[c.barcode.generate_v1(product_ids=[1]) for _ in range(5)])
    # 20 requests per 60 s: 5 calls span 4 intervals of 3 s
    assert clock.now() >= 4 * 3.0
    assert clock.now() <= 4 * 3.0 * 1.02  # paced 1 % under the limit


async def test_with_options_shares_the_session(mock: aioresponses) -> None:
    mock.post(BASE + "/v1/roles", payload={"roles": []}, repeat=True)
    async with OzonClient("1", "k", rate_limit=None) as c:
        view = c.with_options(max_retries=0, timeout=3)
        await view.roles.list_v1()
        await view.aclose()  # a view does not close the shared session
        await c.roles.list_v1()
        assert view.config.max_retries == 0 and c.config.max_retries == 3
