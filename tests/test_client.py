"""Client behaviour over a MockTransport: configuration, requests, retry decisions and their
messages, errors, raw access, closing, rate limits. (The aiohttp transport itself is tested in
test_transport.py, against aioresponses and real loopback servers.)"""

from __future__ import annotations

import asyncio
import inspect
import logging
import pydoc
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ozon_async import (
    OPERATIONS,
    APIConnectionError,
    APIResponse,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BinaryResponse,
    CircuitOpenError,
    ClientClosedError,
    ClientConfig,
    ConfigurationError,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    NotFoundError,
    OzonClient,
    OzonError,
    RateLimitError,
    RedirectError,
    RequestValidationError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
)
from tests._fakes import Script, ok, status
from tests.conftest import ROOT
from tests.helpers import VirtualClock

KEY = "s3cr3t-api-key-0000"
WAREHOUSES = {"warehouses": [{"warehouse_id": 1, "name": "Main"}], "has_next": False, "cursor": ""}
STOCKS = [{"offer_id": "A", "stock": 3, "warehouse_id": 1}]
OZON_429 = {"code": 8, "message": "You have reached request rate limit per second"}
NGINX_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad "
    "Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
NOT_RESENT = "not resent: this operation changes data; pass idempotent=True if resending is safe"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
async def client(clock: VirtualClock, script: Script) -> AsyncIterator[OzonClient]:
    limiter = InProcessRateLimiter(clock=clock)
    async with OzonClient(
        "12345", KEY, limiter=limiter, clock=clock, transport=script.transport
    ) as c:
        yield c


def sent_json(request: HTTPRequest) -> Any:
    return msgspec.json.decode(request.content or b"null")


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
    assert KEY not in repr(c.config)


@pytest.mark.parametrize(
    "url", ["http://example.com", "http://api-seller.ozon.ru", "http://10.0.0.1:8080/api"]
)
def test_plain_http_to_another_host_is_refused(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure=True"):
        OzonClient("1", "k", base_url=url)
    monkeypatch.setenv("OZON_BASE_URL", url)
    with pytest.raises(ConfigurationError, match="plain http"):
        OzonClient("1", "k")
    assert OzonClient("1", "k", base_url=url, allow_insecure=True).base_url == url


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8080", "http://127.0.0.1", "http://127.5.6.7:1/x/", "http://[::1]:9000"],
)
def test_plain_http_to_loopback_is_allowed(url: str) -> None:
    assert OzonClient("1", "k", base_url=url).base_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "api-seller.ozon.ru",
        "ftp://api-seller.ozon.ru",
        "https://user:pw@api-seller.ozon.ru",
        "https://api-seller.ozon.ru/?x=1",
        "https://api-seller.ozon.ru:99999",
        "https://",
    ],
)
def test_malformed_base_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        OzonClient("1", "k", base_url=url)


@pytest.mark.parametrize(
    "setting,value",
    [
        ("timeout", 0),
        ("timeout", -1.0),
        ("timeout", float("nan")),
        ("timeout", "30"),
        ("connect_timeout", 0),
        ("max_retries", -1),
        ("max_retries", 1.5),
        ("max_retries", True),
        ("rate_limit", 0),
        ("rate_limit", -5),
        ("rate_limit", float("inf")),
        ("circuit_open_wait", -1),
        ("max_retry_wait", -0.5),
        ("max_response_bytes", 0),
        ("max_response_bytes", 1.5),
        ("allow_insecure", "yes"),
        ("connector_limit", 0),
    ],
)
def test_invalid_settings_are_configuration_errors(setting: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=setting):
        OzonClient("1", "k", **{setting: value})


@pytest.mark.parametrize(
    "setting,value",
    [
        ("rate_limit", 0),
        ("timeout", -1),
        ("max_retries", -2),
        ("max_retry_wait", float("nan")),
        ("max_response_bytes", -1),
    ],
)
def test_with_options_is_validated_the_same_way(setting: str, value: Any) -> None:
    c = OzonClient("1", "k")
    with pytest.raises(ConfigurationError, match=setting):
        c.with_options(**{setting: value})


def test_client_config_is_validated_on_its_own() -> None:
    with pytest.raises(ConfigurationError, match="rate_limit"):
        ClientConfig(rate_limit=0)
    cfg = ClientConfig(base_url="https://example.org/", rate_limit=None)
    assert cfg.base_url == "https://example.org" and cfg.max_response_bytes == 64 * 1024 * 1024
    with pytest.raises(TypeError):
        cfg.headers["X"] = "y"  # type: ignore[index]


@pytest.mark.parametrize(
    "headers,match",
    [
        ({"X-Tag": "a\r\nInjected: 1"}, "line break"),
        ({"X-Tag": "a\nb"}, "line break"),
        ({"X Tag": "a"}, "not a valid HTTP token"),
        ({"X-Tag:": "a"}, "not a valid HTTP token"),
        ({"X-Tag": 5}, "must be a string"),
        ({"api-key": "other"}, "credentials"),
        ({"Client-Id": "2"}, "credentials"),
    ],
)
def test_bad_headers_are_refused_at_construction(headers: dict[str, Any], match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        OzonClient("1", "k", headers=headers)
    with pytest.raises(ConfigurationError, match=match):
        OzonClient("1", "k").with_options(headers=headers)


def test_line_breaks_in_credentials_are_refused_without_echoing_the_key() -> None:
    with pytest.raises(ConfigurationError, match="client_id"):
        OzonClient("12\r\nX: 1", "k")
    with pytest.raises(ConfigurationError, match="api_key") as info:
        OzonClient("1", "secret\r\nX-Evil: 1")
    assert "secret" not in str(info.value)


def test_transport_and_session_are_exclusive() -> None:
    import aiohttp

    with pytest.raises(ConfigurationError, match="not both"):
        OzonClient(
            "1",
            "k",
            transport=MockTransport(lambda r: ok({})),
            session=object.__new__(aiohttp.ClientSession),
        )


# ------------------------------------------------------------------------ requests
async def test_auth_headers_and_body(client: OzonClient, script: Script) -> None:
    script.on("/v2/warehouse/list", ok(WAREHOUSES))
    resp = await client.warehouse.list_v2(limit=10, warehouse_ids=["1020000089903000"])
    assert resp.warehouses and resp.warehouses[0].warehouse_id == 1
    (call,) = script.calls("/v2/warehouse/list")
    assert call.method == "POST" and call.url == "https://api-seller.ozon.ru/v2/warehouse/list"
    assert call.headers["Client-Id"] == "12345"
    assert call.headers["Api-Key"] == KEY
    assert call.headers["Content-Type"] == "application/json"
    assert call.headers["User-Agent"].startswith("ozon_async/")
    assert sent_json(call) == {"limit": 10, "warehouse_ids": [1020000089903000]}
    assert KEY not in repr(call)


async def test_models_and_dicts_are_both_accepted(client: OzonClient, script: Script) -> None:
    from ozon_async.types import PostingFbsListV3RequestFilter

    script.on("/v3/posting/fbs/list", ok({"result": {"postings": [], "has_next": False}}))
    flt = PostingFbsListV3RequestFilter(since="2024-01-01T00:00:00Z", to="2024-02-01T00:00:00Z")  # type: ignore[arg-type]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        await client.posting.fbs_list_v3(filter=flt, limit=5)
        await client.posting.fbs_list_v3(
            filter={"since": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}, limit=5
        )
    a, b = script.calls("/v3/posting/fbs/list")
    assert a.content == b.content


async def test_extra_headers_per_call(client: OzonClient, script: Script) -> None:
    script.on("/v1/roles", ok({"roles": []}))
    await client.roles.list_v1(extra_headers={"X-Request-Tag": "abc"})
    (call,) = script.calls("/v1/roles")
    assert call.headers["X-Request-Tag"] == "abc"
    assert call.content == b"{}"


@pytest.mark.parametrize(
    "extra,match",
    [
        ({"X-Tag": "a\r\nInjected: 1"}, "line break"),
        ({"Bad Name": "a"}, "not a valid HTTP token"),
        ({"Client-Id": "999"}, "credentials"),
        ({"API-KEY": "other"}, "credentials"),
    ],
)
async def test_bad_extra_headers_are_refused_and_nothing_is_sent(
    client: OzonClient, script: Script, extra: dict[str, str], match: str
) -> None:
    with pytest.raises(RequestValidationError, match=match) as info:
        await client.roles.list_v1(extra_headers=extra)
    assert info.value.field == "extra_headers"
    assert not script.calls()


@pytest.mark.parametrize(
    "option,value",
    [
        ("timeout", 0),
        ("timeout", "5"),
        ("max_retries", -1),
        ("max_retries", 2.5),
        ("idempotent", 1),
    ],
)
async def test_bad_call_options_are_refused(
    client: OzonClient, script: Script, option: str, value: Any
) -> None:
    with pytest.raises(RequestValidationError) as info:
        await client.roles.list_v1(**{option: value})
    assert info.value.field == option
    assert not script.calls()


async def test_extra_body_reaches_the_wire(client: OzonClient, script: Script) -> None:
    script.on("/v2/warehouse/list", ok(WAREHOUSES))
    await client.warehouse.list_v2(limit=5, extra_body={"new_flag": True, "nested": {"a": [1]}})
    (call,) = script.calls()
    assert sent_json(call) == {"limit": 5, "new_flag": True, "nested": {"a": [1]}}


async def test_extra_body_never_overwrites_or_vanishes(client: OzonClient, script: Script) -> None:
    with pytest.raises(RequestValidationError, match="repeats fields already set: limit"):
        await client.warehouse.list_v2(limit=5, extra_body={"limit": 1000})
    with pytest.raises(RequestValidationError, match="mapping"):
        await client.warehouse.list_v2(limit=5, extra_body=[("a", 1)])  # type: ignore[typeddict-item]
    with pytest.raises(RequestValidationError, match="sends no body") as info:
        await client.actions.list_v1(extra_body={"x": 1})  # GET /v1/actions
    assert info.value.field == "extra_body"
    assert not script.calls()


async def test_unknown_option_is_a_type_error(client: OzonClient) -> None:
    with pytest.raises(TypeError, match="retries"):
        await client.roles.list_v1(retries=3)  # type: ignore[call-arg]


async def test_bad_input_names_the_field_and_sends_nothing(
    client: OzonClient, script: Script
) -> None:
    with pytest.raises(RequestValidationError) as info:
        await client.warehouse.list_v2(limit="many")  # type: ignore[arg-type]
    assert info.value.field == "limit"
    with pytest.raises(RequestValidationError) as info:
        await client.products.stocks_v2(
            stocks=[{"offer_id": "A", "stock": "lots", "warehouse_id": 1}]
        )
    assert info.value.field == "stocks[0].stock"
    assert not script.calls()


# ------------------------------------------------------------------------ warnings, signatures
async def test_deprecated_operation_warns_at_the_callers_line(
    client: OzonClient, script: Script
) -> None:
    script.on("/v1/warehouse/list", ok({"result": []}))
    with pytest.warns(DeprecationWarning, match="/v2/warehouse/list") as record:
        await client.warehouse.list_v1(limit=10)
    assert record[0].filename == __file__
    # the day Ozon switches it off (x-ozon-sunset), said as past or future by today's date
    assert str(record[0].message).endswith("; Ozon switched it off on 2026-04-07")
    op = OPERATIONS["POST /v1/warehouse/list"]
    assert op.sunset == "2026-04-07"
    assert op.sunset_note(today="2026-04-06") == "; Ozon switches it off on 2026-04-07"
    assert op.sunset_note(today="2026-04-07") == "; Ozon switched it off on 2026-04-07"
    assert OPERATIONS["POST /v2/warehouse/list"].sunset_note() == ""


async def test_removed_operation_warns_at_the_callers_line(
    client: OzonClient, script: Script
) -> None:
    """An operation Ozon's reference no longer lists (x-ozon-removed) stays callable and warns
    like a deprecated one, naming the date and the successor where Ozon names one."""
    script.on("/v1/question/top_sku", ok({"sku": ["1426474930"]}))
    with pytest.warns(DeprecationWarning) as record:
        await client.question.top_sku_underscore_v1(limit=10)
    assert record[0].filename == __file__
    assert str(record[0].message) == (
        "POST /v1/question/top_sku is no longer in Ozon's reference (since 2026-08-14); "
        "use POST /v1/question/top-sku instead"
    )
    assert len(script.calls()) == 1  # still sent
    script.on("/v1/description-category/tips", ok({"result": []}))
    with pytest.warns(DeprecationWarning, match=r"reference \(since 2026-08-14\)$"):
        await client.description_category.tips_v1(type_id=[970895715])
    # deprecated and removed: both said
    op = OPERATIONS["POST /v2/chat/list"]
    assert op.removed == "2026-08-14" and op.title_ru == "Список чатов"
    assert op.lifecycle_warning() == (
        "deprecated by Ozon; use POST /v3/chat/list instead; Ozon's reference no longer lists it "
        "(since 2026-08-14)"
    )
    assert OPERATIONS["POST /v3/chat/list"].lifecycle_warning() is None
    assert OPERATIONS["POST /v3/chat/list"].removed is None


async def test_deprecated_paginated_operation_warns_at_the_loop(
    client: OzonClient, script: Script
) -> None:
    script.on("/v3/posting/fbs/list", ok({"result": {"postings": [], "has_next": False}}))
    flt = {"since": "2024-01-01T00:00:00Z", "to": "2024-02-01T00:00:00Z"}
    with pytest.warns(DeprecationWarning, match="/v3/posting/fbs/list") as record:
        async for _ in client.posting.fbs_list_v3.iter(filter=flt, limit=5):
            pass
    assert record[0].filename == __file__


def test_deprecation_warning_is_shown_in_main_by_default(tmp_path: Path) -> None:
    script = tmp_path / "user_script.py"
    script.write_text(
        "import asyncio\n"
        "from ozon_async import HTTPResponse, MockTransport, OzonClient\n"
        "async def main():\n"
        "    t = MockTransport(lambda r: HTTPResponse(200, json={'result': []}))\n"
        "    async with OzonClient('1', 'k', transport=t) as c:\n"
        "        await c.warehouse.list_v1(limit=1)\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert f"{script}:6: DeprecationWarning" in out.stderr
    assert "/v2/warehouse/list" in out.stderr


def test_paginated_methods_keep_their_signature() -> None:
    c = OzonClient("1", "k")
    method = c.posting.fbs_list_v4
    sig = inspect.signature(method)
    assert "self" not in sig.parameters
    assert {"limit", "filter", "cursor"} <= set(sig.parameters)
    assert sig.parameters["limit"].kind is inspect.Parameter.KEYWORD_ONLY
    assert str(sig) == str(inspect.signature(type(c.posting).fbs_list_v4.__wrapped__)).replace(
        "(self, ", "("
    )
    text = pydoc.render_doc(method, renderer=pydoc.plaintext)
    assert "fbs_list_v4(*, " in text and "(*args, **kwargs)" not in text
    assert "List FBS postings" in text or "posting" in text


async def test_iterators_refuse_positional_arguments() -> None:
    c = OzonClient("1", "k", transport=MockTransport(lambda r: ok({})))
    with pytest.raises(TypeError, match="keyword"):
        c.warehouse.list_v2.iter(5)  # type: ignore[call-arg]
    await c.aclose()


# ------------------------------------------------------------------------ retries
async def test_429_waits_retry_after_then_succeeds(
    client: OzonClient, script: Script, clock: VirtualClock
) -> None:
    script.on(
        "/v2/products/stocks",
        status(429, OZON_429, headers={"Retry-After": "1"}),
        ok({"result": [{"offer_id": "A", "updated": True}]}),
    )
    resp = await client.raw(client.products.stocks_v2, stocks=STOCKS)
    assert resp.parse().result[0].updated is True  # type: ignore[index]
    assert resp.attempts == 2
    assert 1.0 in clock.sleeps
    assert len(script.calls()) == 2  # a 429 was not processed: resent


async def test_429_with_a_long_wait_raises_at_once_and_says_why(
    client: OzonClient, script: Script, clock: VirtualClock
) -> None:
    script.on(
        "/v1/product/import/prices",
        status(429, {"code": 8, "message": "limit"}, headers={"Item-Retry-After": "30"}),
    )
    with pytest.raises(RateLimitError) as info:
        await client.product.import_prices_v1(prices=[{"offer_id": "A", "price": "100"}])
    assert info.value.retry_after == 1800 and info.value.code == 8
    assert "Item-Retry-After 1800 s exceeds max_retry_wait 120 s" in str(info.value)
    assert len(script.calls()) == 1 and not [s for s in clock.sleeps if s > 0.5]


async def test_retry_after_600_is_named(client: OzonClient, script: Script) -> None:
    script.on("/v1/roles", status(429, OZON_429, headers={"Retry-After": "600"}))
    with pytest.raises(RateLimitError, match="Retry-After 600 s exceeds max_retry_wait 120 s"):
        await client.roles.list_v1()


async def test_503_on_a_safe_operation_is_retried(client: OzonClient, script: Script) -> None:
    script.on("/v2/warehouse/list", status(503, body="busy"), ok(WAREHOUSES))
    resp = await client.warehouse.list_v2(limit=1)
    assert resp.has_next is False
    assert len(script.calls()) == 2


async def test_503_on_a_write_is_not_resent_and_says_why(
    client: OzonClient, script: Script
) -> None:
    script.on("/v2/products/stocks", status(503, body="busy"))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert info.value.status == 503
    assert NOT_RESENT in str(info.value) and info.value.decision is not None
    assert len(script.calls()) == 1


async def test_503_on_a_write_is_resent_when_the_caller_opts_in(
    client: OzonClient, script: Script
) -> None:
    script.on("/v2/products/stocks", status(503, body="busy"), ok({"result": []}))
    await client.products.stocks_v2(stocks=STOCKS, idempotent=True)
    assert len(script.calls()) == 2


async def test_a_read_is_not_resent_when_the_caller_says_so(
    client: OzonClient, script: Script
) -> None:
    script.on("/v2/warehouse/list", status(503, body="busy"), ok(WAREHOUSES))
    with pytest.raises(ServerError):
        await client.warehouse.list_v2(limit=1, idempotent=False)
    assert len(script.calls()) == 1


@pytest.mark.parametrize(
    "path,call",
    [
        ("/v2/warehouse/list", lambda c: c.warehouse.list_v2(limit=1)),
        ("/v2/products/stocks", lambda c: c.products.stocks_v2(stocks=STOCKS)),
    ],
)
async def test_connect_errors_are_retried_for_reads_and_writes(
    client: OzonClient, script: Script, path: str, call: Any
) -> None:
    refused = APIConnectionError("cannot connect", method="POST", path=path, sent=False)
    script.on(path, refused, ok({"warehouses": [], "result": []}))
    await call(client)
    assert len(script.calls()) == 2


async def test_connect_errors_exhaust_retries(client: OzonClient, script: Script) -> None:
    script.on("/v1/roles", APIConnectionError("refused", sent=False))
    with pytest.raises(APIConnectionError) as info:
        await client.roles.list_v1(max_retries=2)
    assert info.value.sent is False
    assert "gave up after 3 attempts (max_retries=2)" in str(info.value)
    assert len(script.calls()) == 3


async def test_dropped_connection_on_a_write_is_not_resent(
    client: OzonClient, script: Script
) -> None:
    script.on("/v4/posting/fbs/ship", APIConnectionError("ServerDisconnectedError", sent=True))
    with pytest.raises(APIConnectionError) as info:
        await client.posting.fbs_ship_v4(posting_number="1-1", packages=[])
    assert info.value.sent is True
    assert "the request may have been applied" in str(info.value)
    assert NOT_RESENT in str(info.value)
    assert len(script.calls()) == 1


async def test_timeout_on_a_write_is_not_resent(client: OzonClient, script: Script) -> None:
    script.on("/v2/products/stocks", APITimeoutError("no answer within 0.5 s", sent=True))
    with pytest.raises(APITimeoutError, match="may have been applied"):
        await client.products.stocks_v2(stocks=STOCKS, timeout=0.5)
    assert len(script.calls()) == 1
    assert script.calls()[0].timeout == 0.5


async def test_timeout_on_a_read_is_resent(client: OzonClient, script: Script) -> None:
    script.on("/v2/warehouse/list", APITimeoutError("slow", sent=True), ok(WAREHOUSES))
    await client.warehouse.list_v2(limit=1)
    assert len(script.calls()) == 2


async def test_a_broken_transport_is_an_ozon_error_and_never_resends_a_write(
    clock: VirtualClock,
) -> None:
    def handler(request: HTTPRequest) -> HTTPResponse:
        raise KeyError("bug")

    t = MockTransport(handler)
    async with OzonClient("1", "k", transport=t, clock=clock, rate_limit=None) as c:
        with pytest.raises(APIConnectionError) as info:
            await c.products.stocks_v2(stocks=STOCKS)
    assert isinstance(info.value.__cause__, KeyError)
    assert len(t.requests) == 1


async def test_max_retries_per_call(client: OzonClient, script: Script) -> None:
    script.on("/v2/warehouse/list", status(500))
    with pytest.raises(ServerError):
        await client.warehouse.list_v2(limit=1, max_retries=0)
    assert len(script.calls()) == 1


async def test_backoff_grows(client: OzonClient, script: Script, clock: VirtualClock) -> None:
    script.on("/v2/warehouse/list", status(502))
    with pytest.raises(ServerError, match="gave up after 4 attempts"):
        await client.warehouse.list_v2(limit=1)
    assert len(script.calls()) == 4
    waits = [s for s in clock.sleeps if s > 0.1]
    assert len(waits) == 3
    assert 0.25 <= waits[0] <= 0.5 and 0.5 <= waits[1] <= 1.0 and 1.0 <= waits[2] <= 2.0


async def test_circuit_open_waits_then_succeeds_even_for_a_write(
    client: OzonClient, script: Script, clock: VirtualClock
) -> None:
    script.on(
        "/v2/products/stocks",
        status(429, {"code": 8, "message": "Circle is open"}),
        ok({"result": []}),
    )
    await client.products.stocks_v2(stocks=STOCKS)
    assert 120.0 in clock.sleeps
    assert len(script.calls()) == 2


async def test_circuit_open_with_a_long_retry_after_raises_at_once(
    client: OzonClient, script: Script, clock: VirtualClock
) -> None:
    script.on(
        "/v2/products/stocks",
        status(503, {"code": 14, "message": "Circle is open"}, headers={"Retry-After": "3600"}),
    )
    quick = client.with_options(max_retry_wait=1)
    with pytest.raises(CircuitOpenError) as info:
        await quick.products.stocks_v2(stocks=STOCKS)
    assert info.value.retry_after == 3600
    assert "Retry-After 3600 s exceeds max_retry_wait 1 s" in str(info.value)
    assert len(script.calls()) == 1
    assert not [s for s in clock.sleeps if s > 0.5]


async def test_html_saying_circuit_is_open_does_not_resend_a_write(
    client: OzonClient, script: Script
) -> None:
    page = "<html><head><title>502 Bad Gateway</title></head><body>circuit is open</body></html>"
    script.on("/v2/products/stocks", status(502, body=page), ok({"result": []}))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert not isinstance(info.value, CircuitOpenError)
    assert info.value.message == "502 Bad Gateway"
    assert len(script.calls()) == 1


async def test_circuit_open_fails_fast_when_asked(client: OzonClient, script: Script) -> None:
    script.on("/v2/products/stocks", status(503, {"code": 14, "message": "Circle is open"}))
    fast = client.with_options(circuit_open_wait=0)
    with pytest.raises(CircuitOpenError, match="circuit_open_wait=0") as info:
        await fast.products.stocks_v2(stocks=STOCKS)
    assert isinstance(info.value, RateLimitError)
    assert len(script.calls()) == 1


@pytest.mark.parametrize("code", [301, 302, 307, 308])
async def test_redirects_are_errors_naming_the_location(
    client: OzonClient, script: Script, code: int
) -> None:
    script.on("/v2/warehouse/list", status(code, headers={"Location": "https://evil.test/x"}))
    with pytest.raises(RedirectError) as info:
        await client.warehouse.list_v2(limit=1)
    assert info.value.location == "https://evil.test/x"
    assert "redirect to https://evil.test/x" in str(info.value)
    assert "not followed" in str(info.value)
    assert isinstance(info.value, APIStatusError) and info.value.status == code
    assert len(script.calls()) == 1


# ------------------------------------------------------------------------ errors
async def test_html_502_is_reduced_to_its_title(client: OzonClient, script: Script) -> None:
    script.on("/v2/products/stocks", status(502, body=NGINX_502, headers={"X-Trace": "1"}))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert info.value.status == 502
    assert info.value.message == "502 Bad Gateway"
    assert info.value.body == NGINX_502.encode()
    assert info.value.code is None
    assert "<" not in str(info.value)


@pytest.mark.parametrize(
    "body,message",
    [
        ("<html><body><h1>504 Gateway Time-out</h1>nginx</body></html>", "504 Gateway Time-out"),
        ("<!DOCTYPE html><html><head><style>p{}</style></head><p>Down &amp; out</p>", "Down & out"),
        ("upstream connect error\nreset reason: overflow", "upstream connect error"),
        ("\n\n   \n", ""),
        ("x" * 5000, "x" * 299 + "…"),
    ],
)
async def test_error_bodies_are_summarised(
    client: OzonClient, script: Script, body: str, message: str
) -> None:
    script.on("/v2/products/stocks", status(500, body=body))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert info.value.message == message


async def test_empty_405_is_a_status_error(client: OzonClient, script: Script) -> None:
    script.on("/v2/products/stocks", status(405))
    with pytest.raises(APIStatusError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert type(info.value) is APIStatusError
    assert info.value.status == 405 and info.value.body == b""


@pytest.mark.parametrize(
    "code,cls", [(400, BadRequestError), (401, AuthenticationError), (404, NotFoundError)]
)
async def test_ozon_error_bodies_map_to_classes(
    client: OzonClient, script: Script, code: int, cls: type[APIStatusError]
) -> None:
    body = {"code": 3, "message": "invalid", "details": [{"typeUrl": "t", "value": "v"}]}
    script.on("/v2/products/stocks", status(code, body, headers={"x-o3-trace-id": "abc123"}))
    with pytest.raises(cls) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    err = info.value
    assert (err.status, err.code, err.message, err.trace_id) == (code, 3, "invalid", "abc123")
    assert err.details == [{"typeUrl": "t", "value": "v"}]
    assert (err.method, err.path) == ("POST", "/v2/products/stocks")
    assert err.headers["X-O3-TRACE-ID"] == "abc123"  # case-insensitive
    assert err.headers.get("x-o3-Trace-Id") == "abc123"
    assert KEY not in str(err) and KEY not in repr(err)


async def test_a_3000_deep_error_body_is_an_ozon_error(client: OzonClient, script: Script) -> None:
    deep = b'{"a":' * 3000 + b"1" + b"}" * 3000
    script.on("/v2/products/stocks", status(500, body=deep))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert len(info.value.message) <= 300 and info.value.body == deep


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 3000 + b"]" * 3000,
        b'{"warehouses": [{"warehouse_id": 1, "na',
        b'{"warehouses": "not a list"}',
        b"<html>oops</html>",
        b"",
    ],
    ids=["3000 deep", "truncated", "wrong types", "html", "empty"],
)
async def test_undecodable_answers_are_response_decode_errors(
    client: OzonClient, script: Script, body: bytes
) -> None:
    script.on("/v2/warehouse/list", HTTPResponse(200, content=body))
    with pytest.raises(ResponseDecodeError) as info:
        await client.warehouse.list_v2(limit=1)
    assert info.value.body == body
    raw = await client.raw(client.warehouse.list_v2, limit=1)
    with pytest.raises(ResponseDecodeError):
        raw.parse()


@pytest.mark.parametrize("body", [b"[" * 3000 + b"]" * 3000, b'{"a": [1, 2', b"<html>"])
async def test_raw_json_of_a_bad_body_is_an_ozon_error(body: bytes) -> None:
    t = MockTransport(lambda r: HTTPResponse(200, content=body))
    async with OzonClient("1", "k", transport=t, rate_limit=None) as c:
        resp = await c.request("POST", "/x", idempotent=True)
        with pytest.raises(ResponseDecodeError) as info:
            resp.json()
    assert isinstance(info.value, OzonError) and info.value.body == body


async def test_an_undecodable_answer_to_a_write_says_it_was_applied(
    client: OzonClient, script: Script
) -> None:
    script.on("/v2/products/stocks", HTTPResponse(200, content=b'{"result": [{"off'))
    with pytest.raises(ResponseDecodeError, match="the request was applied"):
        await client.products.stocks_v2(stocks=STOCKS)


async def test_an_answer_over_the_size_cap_is_refused(clock: VirtualClock) -> None:
    t = MockTransport(lambda r: HTTPResponse(200, content=b"x" * 1001))
    async with OzonClient("1", "k", transport=t, clock=clock, max_response_bytes=1000) as c:
        with pytest.raises(ResponseTooLargeError, match="max_response_bytes") as info:
            await c.warehouse.list_v2(limit=1)
    assert info.value.limit == 1000 and info.value.status == 200
    assert len(t.requests) == 1  # not resent: the answer would be as large again
    assert t.requests[0].max_response_bytes == 1000


async def test_debug_logs_never_contain_the_key(
    client: OzonClient, script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="ozon_async")
    script.on(
        "/v2/warehouse/list",
        status(503, body="busy"),
        ok(WAREHOUSES, headers={"x-o3-trace-id": "t-1"}),
    )
    await client.warehouse.list_v2(limit=1)
    text = caplog.text
    assert "/v2/warehouse/list" in text and "503" in text and "t-1" in text
    assert "resending in" in text
    assert KEY not in text


# ------------------------------------------------------------------------ closing
async def test_a_closed_client_raises_an_ozon_error(script: Script) -> None:
    script.on("/v1/roles", ok({"roles": []}))
    c = OzonClient("1", "k", transport=script.transport, rate_limit=None)
    view = c.with_options(max_retries=0)
    await c.roles.list_v1()
    await view.aclose()  # a view does not close the shared transport
    await c.roles.list_v1()
    await c.aclose()
    await c.aclose()  # twice is fine
    assert c.closed and view.closed
    for call in (c.roles.list_v1, view.roles.list_v1):
        with pytest.raises(ClientClosedError):
            await call()
    with pytest.raises(ClientClosedError):
        await c.request("POST", "/v1/roles")
    with pytest.raises(ClientClosedError):
        async with c:
            pass
    assert len(script.calls()) == 2


async def test_the_default_transport_after_close_raises_an_ozon_error() -> None:
    c = OzonClient("1", "k", base_url="http://127.0.0.1:9", rate_limit=None)
    await c.aclose()
    with pytest.raises(ClientClosedError):
        await c.transport.send(
            HTTPRequest(
                "POST",
                "http://127.0.0.1:9/v1/roles",
                path="/v1/roles",
                headers={},
                content=b"{}",
                timeout=1,
                connect_timeout=1,
                max_response_bytes=10,
            )
        )


# ------------------------------------------------------------------------ raw access
async def test_raw_request_with_status_headers_and_typed_parse(
    client: OzonClient, script: Script
) -> None:
    from ozon_async.types import WarehouseListV2Response

    script.on("/v2/warehouse/list", ok(WAREHOUSES, headers={"x-o3-trace-id": "tr"}))
    resp = await client.request("POST", "/v2/warehouse/list", json={"limit": 1})
    assert isinstance(resp, APIResponse)
    assert resp.status == 200 and resp.trace_id == "tr"
    assert resp.json()["warehouses"][0]["name"] == "Main"
    typed = resp.parse(WarehouseListV2Response)
    assert typed.warehouses and typed.warehouses[0].name == "Main"
    assert isinstance(resp.parse(), WarehouseListV2Response)


@pytest.mark.parametrize(
    "method,path,kwargs,match",
    [
        ("POST", "v1/roles", {}, "path"),
        ("POST", "/v1/roles?x=1", {}, "path"),
        ("PO ST", "/v1/roles", {}, "method"),
        ("POST", "/v1/roles", {"json": {}, "content": b"{}"}, "not both"),
        ("POST", "/v1/roles", {"extra_headers": {"X": "a\nb"}}, "line break"),
    ],
)
async def test_raw_request_validates_its_input(
    client: OzonClient, script: Script, method: str, path: str, kwargs: Any, match: str
) -> None:
    with pytest.raises(RequestValidationError, match=match):
        await client.request(method, path, **kwargs)
    assert not script.calls()


async def test_raw_access_to_a_typed_call(client: OzonClient, script: Script) -> None:
    from ozon_async.types import WarehouseListV2Response

    script.on(
        "/v2/warehouse/list",
        status(503, body="busy"),
        ok(WAREHOUSES, headers={"x-o3-trace-id": "tr-9", "X-Extra": "1"}),
    )
    resp = await client.raw(client.warehouse.list_v2, limit=5)  # a paginated method
    assert resp.status == 200 and resp.attempts == 2 and resp.trace_id == "tr-9"
    assert resp.headers["x-extra"] == "1"
    page = resp.parse()
    assert isinstance(page, WarehouseListV2Response) and page.warehouses
    assert sent_json(script.calls()[-1]) == {"limit": 5}


async def test_raw_access_to_a_binary_call(client: OzonClient, script: Script) -> None:
    script.on(
        "/v2/posting/fbs/package-label",
        HTTPResponse(200, content=b"%PDF-1.7", headers={"Content-Type": "application/pdf"}),
    )
    with pytest.warns(DeprecationWarning):  # switched off by Ozon; still a binary call
        resp = await client.raw(client.posting.fbs_package_label_v2, posting_number=["1-1"])
    label = resp.parse()
    assert isinstance(label, BinaryResponse) and label.content_type == "application/pdf"


async def test_raw_access_still_raises_on_error_statuses(
    client: OzonClient, script: Script
) -> None:
    script.on("/v1/roles", status(403, {"code": 7, "message": "denied"}))
    with pytest.raises(APIStatusError, match="denied"):
        await client.raw(client.roles.list_v1)


async def test_raw_refuses_what_is_not_one_typed_call(client: OzonClient, script: Script) -> None:
    script.on("/v1/roles", ok({"roles": []}))

    async def not_typed() -> int:
        return 1

    async def two_calls() -> Any:
        await client.roles.list_v1()
        return await client.roles.list_v1()

    with pytest.raises(TypeError, match="not a typed method"):
        await client.raw(not_typed)
    with pytest.raises(TypeError, match="one typed call"):
        await client.raw(two_calls)


def test_raw_access_type_checks(tmp_path: Path) -> None:
    """``client.raw(method, ...)`` is typed: mypy --strict infers APIResponse[<model>] and
    checks the arguments against the method's parameters."""
    snippet = tmp_path / "user_code.py"
    snippet.write_text(
        "from typing_extensions import assert_type\n"
        "from ozon_async import APIResponse, BinaryResponse, OzonClient\n"
        "from ozon_async.types import PostingFbsListV4Response, RolesListV1Response\n"
        "async def main(client: OzonClient) -> None:\n"
        "    page = await client.raw(client.posting.fbs_list_v4, limit=100, filter={})\n"
        "    assert_type(page, APIResponse[PostingFbsListV4Response])\n"
        "    assert_type(page.parse(), PostingFbsListV4Response)\n"
        "    roles = await client.raw(client.roles.list_v1, timeout=5)\n"
        "    assert_type(roles.parse(), RolesListV1Response)\n"
        "    pdf = await client.raw(client.posting.fbs_package_label_v2, posting_number=['1'])\n"
        "    assert_type(pdf.parse(), BinaryResponse)\n"
        "    await client.raw(client.posting.fbs_list_v4, limit='x', filter={})  # E: wrong type\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", str(snippet)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    errors = [line for line in out.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 1 and ":12:" in errors[0] and "limit" in errors[0], out.stdout


# ------------------------------------------------------------------------ rate limits
async def test_two_clients_share_one_budget_per_client_id(clock: VirtualClock) -> None:
    limiter = InProcessRateLimiter(clock=clock)
    t = MockTransport(lambda r: ok({"roles": []}))
    a = OzonClient("555", "k1", limiter=limiter, clock=clock, rate_limit=50, transport=t)
    b = OzonClient("555", "k2", limiter=limiter, clock=clock, rate_limit=50, transport=t)
    other = OzonClient("999", "k3", limiter=limiter, clock=clock, rate_limit=50, transport=t)
    start = clock.now()
    await asyncio.gather(*[(a if i % 2 else b).roles.list_v1() for i in range(100)])
    elapsed = clock.now() - start
    assert 99 / 50 <= elapsed <= 100 / 50 * 1.02
    before = clock.now()
    await other.roles.list_v1()
    assert clock.now() == before  # another Client-Id has its own budget


async def test_per_method_limit_paces_calls(clock: VirtualClock) -> None:
    limiter = InProcessRateLimiter(clock=clock)
    t = MockTransport(lambda r: ok({"errors": []}))
    async with OzonClient("556", "k", limiter=limiter, clock=clock, transport=t) as c:
        await asyncio.gather(*[c.barcode.generate_v1(product_ids=[1]) for _ in range(5)])
    # 20 requests per 60 s: 5 calls span 4 intervals of 3 s
    assert 4 * 3.0 <= clock.now() <= 4 * 3.0 * 1.01


async def test_a_cancelled_call_gives_its_rate_limit_slot_back(clock: VirtualClock) -> None:
    limiter = InProcessRateLimiter(clock=clock)
    t = MockTransport(lambda r: ok({"roles": []}))
    async with OzonClient(
        "557", "k", limiter=limiter, clock=clock, rate_limit=50, transport=t
    ) as c:
        waiting = [asyncio.ensure_future(c.roles.list_v1()) for _ in range(100)]
        await asyncio.sleep(0)
        for w in waiting:
            w.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        sent_before = len(t.requests)
        start = clock.now()
        await asyncio.gather(*[c.roles.list_v1() for _ in range(50)])
        assert clock.now() - start <= 50 / 50 * 1.02
        assert len(t.requests) == sent_before + 50


async def test_with_options_shares_transport_and_limits(clock: VirtualClock) -> None:
    t = MockTransport(lambda r: ok({"roles": []}))
    async with OzonClient("1", "k", rate_limit=None, transport=t, clock=clock) as c:
        view = c.with_options(max_retries=0, timeout=3)
        await view.roles.list_v1()
        assert t.requests[-1].timeout == 3
        assert view.transport is c.transport and view.limiter is c.limiter
        assert view.config.max_retries == 0 and c.config.max_retries == 3
