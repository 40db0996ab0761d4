"""Event hooks: what they are told for a success, a retried 429, a failed write, a network
failure, a cancellation; sync and async hooks; a hook that raises; validation; no secret in any
event; nothing done for a client without hooks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ozon_async import (
    OPERATIONS,
    APIConnectionError,
    ConfigurationError,
    HookEvent,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    OzonClient,
    RateLimiter,
    RateLimiterUnavailableError,
    ServerError,
)
from tests._fakes import Script, ok, status
from tests.helpers import VirtualClock

KEY = "hook-test-api-key-5f0c1d"
TOKEN = "hook-test-oauth-token-9a8b7c"
ROLES = {"roles": []}
STOCKS = [{"offer_id": "A", "stock": 3, "warehouse_id": 1}]
OZON_429 = {"code": 8, "message": "You have reached request rate limit per second"}


class Recorder:
    """Keeps every event, from sync and async hooks alike."""

    def __init__(self) -> None:
        self.events: list[HookEvent] = []

    def hooks(self) -> dict[str, list[Any]]:
        async def on_response(event: HookEvent) -> None:
            await asyncio.sleep(0)
            self.events.append(event)

        return {
            "request": [self.events.append],
            "response": [on_response],
            "retry": [self.events.append],
            "end": [self.events.append],
        }

    def kinds(self) -> list[tuple[str, int]]:
        return [(e.kind, e.attempt) for e in self.events]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def client(
    clock: VirtualClock, script: Script, recorder: Recorder
) -> AsyncIterator[OzonClient]:
    async with OzonClient(
        "12345",
        KEY,
        limiter=InProcessRateLimiter(clock=clock),
        clock=clock,
        transport=script.transport,
        event_hooks=recorder.hooks(),
    ) as c:
        yield c


def no_secret_in(event: HookEvent, *secrets: str) -> None:
    text = repr(event) + " ".join(repr(getattr(event, name)) for name in event._fields)
    for secret in secrets:
        assert secret not in text


# ------------------------------------------------------------------------ what hooks are told
async def test_a_success_is_told_request_response_end(
    client: OzonClient, script: Script, recorder: Recorder
) -> None:
    script.on("/v1/roles", ok(ROLES, headers={"x-o3-trace-id": "trace-ok"}))
    await client.roles.list_v1()
    assert recorder.kinds() == [("request", 1), ("response", 1), ("end", 1)]
    request, response, end = recorder.events
    op = OPERATIONS["POST /v1/roles"]
    for e in recorder.events:
        assert (e.operation, e.method, e.path) == (op, "POST", "/v1/roles")
        assert e.url == "https://api-seller.ozon.ru/v1/roles"
        assert e.call_id == request.call_id
        no_secret_in(e, KEY)
    assert request.rate_limit_wait == 0.0 and request.status is None
    assert (response.status, response.error_type, response.failure) == (200, None, None)
    assert response.trace_id == end.trace_id == "trace-ok"
    assert response.elapsed is not None and response.elapsed >= 0
    assert (end.status, end.error_type, end.reason) == (200, None, None)


async def test_a_retried_429_is_told_with_its_wait_and_reason(
    client: OzonClient, script: Script, recorder: Recorder, clock: VirtualClock
) -> None:
    script.on(
        "/v2/products/stocks",
        status(429, OZON_429, headers={"Retry-After": "2", "x-o3-trace-id": "t-429"}),
        ok({"result": [{"offer_id": "A", "updated": True}]}),
    )
    await client.products.stocks_v2(stocks=STOCKS)
    assert recorder.kinds() == [
        ("request", 1),
        ("response", 1),
        ("retry", 1),
        ("request", 2),
        ("response", 2),
        ("end", 2),
    ]
    first, retry, second, end = (recorder.events[i] for i in (1, 2, 4, 5))
    assert (first.status, first.error_type, first.trace_id) == (429, "RateLimitError", "t-429")
    assert retry.wait == 2.0 and retry.reason == "429: rate limited (refused unprocessed)"
    assert second.status == 200
    assert end.status == 200 and end.elapsed is not None and end.elapsed >= 2.0
    assert len({e.call_id for e in recorder.events}) == 1


async def test_a_failed_write_is_told_with_the_decision(
    client: OzonClient, script: Script, recorder: Recorder
) -> None:
    script.on("/v2/products/stocks", status(503, body="busy", headers={"x-o3-trace-id": "t5"}))
    with pytest.raises(ServerError) as info:
        await client.products.stocks_v2(stocks=STOCKS)
    assert recorder.kinds() == [("request", 1), ("response", 1), ("end", 1)]
    response, end = recorder.events[1], recorder.events[2]
    assert (response.status, response.error_type) == (503, "ServerError")
    assert (end.status, end.error_type, end.trace_id) == (503, "ServerError", "t5")
    assert end.reason == info.value.decision and end.reason and "not resent" in end.reason


async def test_a_network_failure_is_told_as_a_failure_kind(
    client: OzonClient, script: Script, recorder: Recorder
) -> None:
    script.on("/v1/roles", APIConnectionError("reset", sent=True), ok(ROLES))
    await client.roles.list_v1()
    response = recorder.events[1]
    assert (response.status, response.failure) == (None, "lost")
    assert response.error_type == "APIConnectionError"
    assert recorder.events[2].kind == "retry" and recorder.events[2].reason == "connection lost"

    recorder.events.clear()
    script.on("/v2/products/stocks", APIConnectionError("reset", sent=True))
    with pytest.raises(APIConnectionError):
        await client.products.stocks_v2(stocks=STOCKS)
    end = recorder.events[-1]
    assert (end.kind, end.failure, end.error_type) == ("end", "lost", "APIConnectionError")


async def test_the_rate_limit_wait_is_told(
    clock: VirtualClock, script: Script, recorder: Recorder
) -> None:
    script.on("/v1/roles", ok(ROLES))
    async with OzonClient(
        "12345",
        KEY,
        rate_limit=2,
        limiter=InProcessRateLimiter(clock=clock),
        clock=clock,
        transport=script.transport,
        event_hooks=recorder.hooks(),
    ) as c:
        for _ in range(3):
            await c.roles.list_v1()
    waits = [e.rate_limit_wait for e in recorder.events if e.kind == "request"]
    # evenly paced at 2 per second (the third also waits for the window's guard)
    assert waits[0] == 0.0 and waits[1] == pytest.approx(0.5) and 0.5 <= waits[2] <= 0.6


async def test_a_cancelled_call_still_ends(clock: VirtualClock, recorder: Recorder) -> None:
    started = asyncio.Event()

    async def stall(request: HTTPRequest) -> HTTPResponse:
        started.set()
        await asyncio.sleep(3600)
        raise AssertionError("not reached")

    from ozon_async import MockTransport

    async with OzonClient(
        "12345", KEY, clock=clock, transport=MockTransport(stall), event_hooks=recorder.hooks()
    ) as c:
        task = asyncio.ensure_future(c.roles.list_v1())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert recorder.kinds() == [("request", 1), ("end", 1)]
    assert recorder.events[-1].error_type == "CancelledError"


async def test_a_call_stopped_before_sending_ends_with_no_attempt(recorder: Recorder) -> None:
    class Down(RateLimiter):
        async def acquire(self, key: str, requests: float, period: float) -> None:
            raise RateLimiterUnavailableError("redis is down")

        async def acquire_window(
            self, key: str, limit: int, period: float, *, wait: bool = True
        ) -> float:
            raise RateLimiterUnavailableError("redis is down")

    script = Script().on("/v1/roles", ok(ROLES))
    async with OzonClient(
        "12345", KEY, limiter=Down(), transport=script.transport, event_hooks=recorder.hooks()
    ) as c:
        with pytest.raises(RateLimiterUnavailableError):
            await c.roles.list_v1()
    assert recorder.kinds() == [("end", 0)]
    assert recorder.events[0].error_type == "RateLimiterUnavailableError"
    assert script.calls() == []


async def test_raw_paths_have_no_operation(
    client: OzonClient, script: Script, recorder: Recorder
) -> None:
    script.on("/v9/new/thing", ok({}))
    await client.request("POST", "/v9/new/thing", json={}, idempotent=True)
    assert {e.operation for e in recorder.events} == {None}
    assert {e.path for e in recorder.events} == {"/v9/new/thing"}


async def test_events_carry_the_path_template() -> None:
    seen: list[HookEvent] = []
    script = Script().on("/v1/cargoes-label/file/abc-123", HTTPResponse(200, content=b"%PDF"))
    async with OzonClient(
        "1", KEY, transport=script.transport, event_hooks={"end": seen.append}
    ) as c:
        with pytest.warns(DeprecationWarning):
            await c.cargoes_label.file_v1(file_guid="abc-123")
    assert (seen[0].method, seen[0].path) == ("GET", "/v1/cargoes-label/file/{file_guid}")
    assert seen[0].url.endswith("/v1/cargoes-label/file/abc-123")


def test_events_are_frozen() -> None:
    event = HookEvent("end", 1, None, "POST", "/v1/roles", "https://x/v1/roles", 1)
    with pytest.raises(AttributeError, match="cannot assign to field 'status'"):
        event.status = 200
    with pytest.raises(AttributeError):
        del event.status
    assert event.status is None
    assert event == HookEvent("end", 1, None, "POST", "/v1/roles", "https://x/v1/roles", 1)
    assert event != event.replace(status=200)


# ------------------------------------------------------------------------ secrets
async def test_no_event_holds_the_key_or_the_token(script: Script) -> None:
    events: list[HookEvent] = []
    everything = {k: [events.append] for k in ("request", "response", "retry", "end")}
    script.on("/v1/roles", status(429, OZON_429, headers={"Retry-After": "0"}), ok(ROLES))
    async with OzonClient("12345", KEY, transport=script.transport, event_hooks=everything) as c:
        await c.roles.list_v1()
    async with OzonClient(
        access_token=TOKEN, transport=Script().on("/v1/roles", ok(ROLES)).transport
    ) as t:
        await t.with_options(event_hooks=everything).roles.list_v1()
    assert len(events) == 9
    for e in events:
        no_secret_in(e, KEY, TOKEN)
        assert not hasattr(e, "headers")


# ------------------------------------------------------------------------ hooks that fail
async def test_a_raising_hook_is_logged_and_the_call_goes_on(
    script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []

    def broken(event: HookEvent) -> None:
        raise RuntimeError(f"hook bug on {event.kind}")

    async def broken_async(event: HookEvent) -> None:
        raise ValueError("async hook bug")

    script.on("/v1/roles", ok(ROLES))
    hooks = {
        "request": [broken, lambda e: seen.append(e.kind)],
        "response": [broken_async, lambda e: seen.append(e.kind)],
        "end": [broken, lambda e: seen.append(e.kind)],
    }
    with caplog.at_level(logging.WARNING, logger="ozon_async"):
        async with OzonClient("1", KEY, transport=script.transport, event_hooks=hooks) as c:
            assert (await c.roles.list_v1()).roles == []
    assert seen == ["request", "response", "end"]  # the hooks after a broken one still ran
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert "raised on a request event of POST /v1/roles; the call goes on" in warnings[0].message
    assert warnings[0].exc_info is not None and "hook bug on request" in caplog.text
    assert "async hook bug" in caplog.text
    assert KEY not in caplog.text


async def test_a_raising_hook_does_not_change_a_failure(script: Script) -> None:
    def broken(event: HookEvent) -> None:
        raise RuntimeError("boom")

    script.on("/v2/products/stocks", status(503, body="busy"))
    hooks = {k: [broken] for k in ("request", "response", "retry", "end")}
    async with OzonClient("1", KEY, transport=script.transport, event_hooks=hooks) as c:
        with pytest.raises(ServerError, match="not resent"):
            await c.products.stocks_v2(stocks=STOCKS)
    assert len(script.calls()) == 1


# ------------------------------------------------------------------------ configuration
@pytest.mark.parametrize(
    "hooks,match",
    [
        ([print], "must be a mapping"),
        ({"respone": [print]}, "unknown event 'respone'"),
        ({"request": "print"}, r"event_hooks\['request'\] must be a function or a list"),
        ({"request": [print, 5]}, r"event_hooks\['request'\]\[1\] is not callable"),
    ],
)
def test_bad_hooks_are_refused_naming_what(hooks: Any, match: str) -> None:
    with pytest.raises(ConfigurationError, match=match):
        OzonClient("1", KEY, event_hooks=hooks)
    with pytest.raises(ConfigurationError, match=match):
        OzonClient("1", KEY).with_options(event_hooks=hooks)


def test_hooks_are_kept_in_the_config() -> None:
    c = OzonClient("1", KEY, event_hooks={"end": print, "request": [print, repr]})
    assert dict(c.config.event_hooks) == {"request": (print, repr), "end": (print,)}
    assert dict(OzonClient("1", KEY).config.event_hooks) == {}


async def test_with_options_adds_hooks_and_none_removes_them(script: Script) -> None:
    first: list[str] = []
    second: list[str] = []
    script.on("/v1/roles", ok(ROLES))
    async with OzonClient(
        "1", KEY, transport=script.transport, event_hooks={"end": lambda e: first.append("a")}
    ) as c:
        both = c.with_options(event_hooks={"end": [lambda e: second.append("b")]})
        await both.roles.list_v1()
        assert (first, second) == (["a"], ["b"])
        await c.roles.list_v1()  # the client itself keeps only its own
        assert (first, second) == (["a", "a"], ["b"])
        await both.with_options(event_hooks=None).roles.list_v1()
        assert (first, second) == (["a", "a"], ["b"])
        assert both.with_options(event_hooks=None)._hooks is None


async def test_a_client_without_hooks_makes_no_events(
    script: Script, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ozon_async import _hooks

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("hook machinery used by a client without hooks")

    monkeypatch.setattr(_hooks.Hooks, "call", forbidden)
    monkeypatch.setattr(_hooks.CallEvents, "__init__", forbidden)
    script.on("/v1/roles", status(429, OZON_429, headers={"Retry-After": "0"}), ok(ROLES))
    script.on("/v2/products/stocks", status(503, body="busy"))
    async with OzonClient("1", KEY, transport=script.transport) as c:
        assert c._hooks is None
        await c.roles.list_v1()
        with pytest.raises(ServerError):
            await c.products.stocks_v2(stocks=STOCKS)
