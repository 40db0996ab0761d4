"""The order in which a bulk request takes its pacing slot, its items' per-item windows and the
wire: windows last, the request out at once. Checked with an injected clock, a limiter that
records when it grants (and can be made slow, like a busy cross-process backend or a slot held
by other processes) and a transport that records when each request is really sent."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest

from ozon_async import HTTPRequest, HTTPResponse, InProcessRateLimiter, MockTransport, OzonClient
from ozon_async._ratelimit import RateLimiter
from tests.helpers import VirtualClock

STOCKS = "/v2/products/stocks"
PERIOD = 30.0  # Ozon: one update of a pair per 30 s
MARGIN = 0.5  # the most a grant may precede its request (half the 1-s guard)

Pair = tuple[str, str]


class RecordingLimiter(RateLimiter):
    """An in-process limiter that logs every grant. ``slot_delay(n)`` seconds are spent before
    the n-th slot of the stock operation (other processes holding it); ``window_delay`` seconds
    pass after each window is granted before the caller hears of it (a slow backend)."""

    def __init__(
        self,
        clock: VirtualClock,
        slot_delay: Callable[[int], float] = lambda n: 0.0,
        window_delay: float = 0.0,
    ) -> None:
        self.clock = clock
        self.inner = InProcessRateLimiter(clock)
        self.slot_delay = slot_delay
        self.window_delay = window_delay
        self.slots = 0
        self.slot_times: list[float] = []
        self.windows: dict[Pair, list[float]] = {}

    async def acquire(self, key: str, requests: float, period: float) -> None:
        if key.endswith(" " + STOCKS):
            n, self.slots = self.slots, self.slots + 1
            delay = self.slot_delay(n)
            if delay:
                await self.clock.sleep(delay)
        await self.inner.acquire(key, requests, period)
        if key.endswith(" " + STOCKS):
            self.slot_times.append(self.clock.now())

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        got = await self.inner.acquire_window(key, limit, period, wait=wait)
        if got == 0.0:
            offer, warehouse = key.rsplit(":", 1)[1].split("\x1f")
            self.windows.setdefault((offer, warehouse), []).append(self.clock.now())
        if self.window_delay:
            await self.clock.sleep(self.window_delay)
        return got


class StockShop:
    """The transport: records the clock time each request goes out; ``refuse`` answers the
    next requests with 429 (Ozon refused them unprocessed)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, list[Pair]]] = []
        self.applied: dict[Pair, list[float]] = {}
        self.refuse = 0

    def __call__(self, request: HTTPRequest) -> HTTPResponse:
        assert request.path == STOCKS and request.content is not None
        now = self.clock.now()
        items = json.loads(request.content)["stocks"]
        pairs = [(it["offer_id"], str(it["warehouse_id"])) for it in items]
        self.sent.append((now, pairs))
        if self.refuse:
            self.refuse -= 1
            return HTTPResponse(429, json={"code": 8, "message": "rate limit", "details": []})
        result = []
        for it, pair in zip(items, pairs, strict=True):
            self.applied.setdefault(pair, []).append(now)
            result.append({**it, "product_id": 0, "updated": True, "errors": []})
        return HTTPResponse(200, json={"result": result})


def client_for(clock: VirtualClock, limiter: RateLimiter, shop: StockShop) -> OzonClient:
    return OzonClient(
        "777", "key", clock=clock, limiter=limiter, transport=MockTransport(shop), rate_limit=None
    )


def items(n: int, start: int = 0, stock: int = 1) -> list[dict[str, Any]]:
    return [
        {"offer_id": f"o{i}", "warehouse_id": 1 + i % 2, "stock": stock}
        for i in range(start, start + n)
    ]


def assert_windows_just_before_sends(limiter: RecordingLimiter, shop: StockShop) -> None:
    """Every pair went out within MARGIN of the window granted for it, and that grant came
    after the slot of its request."""
    for sent_at, pairs in shop.sent:
        slot = max(t for t in limiter.slot_times if t <= sent_at)
        for pair in pairs:
            granted = max(t for t in limiter.windows[pair] if t <= sent_at)
            assert slot <= granted <= sent_at <= granted + MARGIN, (pair, slot, granted, sent_at)


def assert_pairs_spaced(times: dict[Pair, list[float]]) -> None:
    for pair, ts in times.items():
        gaps = [b - a for a, b in itertools.pairwise(ts)]
        assert all(g >= PERIOD for g in gaps), (pair, ts)


async def test_the_window_is_taken_after_the_slot_just_before_the_send() -> None:
    clock = VirtualClock()
    # Other processes hold the stock operation's slots: each slot comes 5 s late.
    limiter = RecordingLimiter(clock, slot_delay=lambda n: 5.0)
    shop = StockShop(clock)
    async with client_for(clock, limiter, shop) as client:
        result = await client.products.stocks_v2.bulk(items(250))
    assert result.all_ok and result.requests == 3 == len(shop.sent)
    assert len(limiter.slot_times) == 3  # one slot per request: the client took none of its own
    assert_windows_just_before_sends(limiter, shop)


async def test_two_processes_with_uneven_slot_waits_never_update_a_pair_twice_in_30_s() -> None:
    """Two workers (one limiter between them, as a cross-process backend gives) update the same
    pairs again and again while their slots come late by different amounts."""
    clock = VirtualClock()
    limiter = RecordingLimiter(clock, slot_delay=lambda n: (0.0, 7.0, 2.5)[n % 3])
    shop = StockShop(clock)
    async with (
        client_for(clock, limiter, shop) as a,
        client_for(clock, limiter, shop) as b,
    ):
        import asyncio

        results = await asyncio.gather(
            a.products.stocks_v2.bulk(items(150) + items(150, stock=2)),
            b.products.stocks_v2.bulk(items(150, stock=3) + items(150, stock=4)),
        )
    assert all(r.all_ok for r in results)
    assert all(len(ts) == 4 for ts in shop.applied.values())  # every update applied once
    assert_pairs_spaced(shop.applied)
    assert_windows_just_before_sends(limiter, shop)


async def test_a_refused_request_is_resent_by_the_bulk_helper_with_fresh_windows() -> None:
    clock = VirtualClock()
    limiter = RecordingLimiter(clock)
    shop = StockShop(clock)
    shop.refuse = 1  # the first request: 429
    async with client_for(clock, limiter, shop) as client:
        result = await client.products.stocks_v2.bulk(items(150), concurrency=1)
    assert result.all_ok and result.requests == 3
    assert [o.attempts for o in result] == [2] * 100 + [1] * 50
    first, second, third = shop.sent
    assert len(first[1]) == 100 and len(second[1]) == 50  # the other items did not wait
    assert first[1] == third[1]  # the refused items, again
    # The refused request used their windows: they wait for a whole period and take new ones.
    assert third[0] - first[0] >= PERIOD
    assert_windows_just_before_sends(limiter, shop)
    assert_pairs_spaced({p: [t for t, ps in shop.sent for q in ps if q == p] for p in first[1]})


async def test_a_whole_request_5xx_on_a_write_is_not_resent() -> None:
    clock = VirtualClock()
    limiter = RecordingLimiter(clock)
    sent: list[float] = []

    def broken(request: HTTPRequest) -> HTTPResponse:
        sent.append(clock.now())
        return HTTPResponse(503, json={"code": 14, "message": "unavailable", "details": []})

    async with OzonClient(
        "777", "key", clock=clock, limiter=limiter, transport=MockTransport(broken)
    ) as client:
        result = await client.products.stocks_v2.bulk(items(10))
        assert len(sent) == 1 and [o.status for o in result] == ["failed"] * 10
        error = result[0].error
        assert error is not None and error.status == 503
        assert error.exception is not None and "not resent" in (error.exception.decision or "")
        # with idempotent=True the client's rules allow resending it (each time with new
        # windows, so a whole period later), up to max_retries
        sent.clear()
        again = await client.products.stocks_v2.bulk(items(1), idempotent=True, max_retries=2)
        assert len(sent) == 3 and again[0].status == "failed" and again[0].attempts == 3
        assert sent[1] - sent[0] >= PERIOD and sent[2] - sent[1] >= PERIOD


async def test_grants_that_a_slow_limiter_delivers_too_late_are_not_sent() -> None:
    clock = VirtualClock()
    shop = StockShop(clock)
    quick = RecordingLimiter(clock, window_delay=0.4)  # within the margin: sent
    async with client_for(clock, quick, shop) as client:
        result = await client.products.stocks_v2.bulk(items(120))
    assert result.all_ok and len(shop.sent) == 2

    slow = RecordingLimiter(clock, window_delay=0.8)  # grants 0.8 s old when heard of
    shop = StockShop(clock)
    async with client_for(clock, slow, shop) as client:
        result = await client.products.stocks_v2.bulk(items(3))
    assert shop.sent == []  # never sent on a stale grant
    assert [o.status for o in result] == ["failed"] * 3
    error = result[0].error
    assert error is not None and "not sent" in error.message and result[0].attempts == 0
    assert all(len(ts) == 3 for ts in slow.windows.values())  # tried three times, a period apart
    assert_pairs_spaced(slow.windows)


@pytest.mark.parametrize("bad", [-1, "2", True])
async def test_per_call_options_are_checked_before_anything_is_sent(bad: Any) -> None:
    from ozon_async import RequestValidationError

    clock = VirtualClock()
    shop = StockShop(clock)
    async with client_for(clock, RecordingLimiter(clock), shop) as client:
        with pytest.raises(RequestValidationError, match="max_retries"):
            await client.products.stocks_v2.bulk(items(2), max_retries=bad)
    assert shop.sent == []


async def test_each_bulk_request_tells_its_slot_when_answered_and_not_when_it_failed() -> None:
    """The pacing slot of each bulk request is told when Ozon answered it (a 429 too), so the
    limiter can free it a period after the answer; a request that got no answer tells nothing."""
    from ozon_async import APIConnectionError, RateLimitSlot

    clock = VirtualClock()
    told: list[int] = []
    went: list[int] = []

    class Telling(RecordingLimiter):
        async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot:
            await self.acquire(key, requests, period)
            n = len(self.slot_times)

            class Slot:
                def sending(self) -> None:
                    went.append(n)

                def answered(self) -> None:
                    told.append(n)

            return Slot()

    limiter = Telling(clock)
    shop = StockShop(clock)
    shop.refuse = 1
    failures = [APIConnectionError("refused", sent=False)]

    def wire(request: HTTPRequest) -> HTTPResponse:
        if failures:
            raise failures.pop()
        return shop(request)

    async with OzonClient(
        "777", "key", clock=clock, limiter=limiter, transport=MockTransport(wire), rate_limit=None
    ) as client:
        result = await client.products.stocks_v2.bulk(items(150), concurrency=1)
    assert result.all_ok
    # slot 1: no answer (the connection was refused); 2: the other 50 items, answered 429;
    # 3: taken, but every item waits for its window, so nothing went; 4 and 5: applied
    assert len(limiter.slot_times) == 5 and [len(p) for _, p in shop.sent] == [50, 100, 50]
    assert went == [1, 2, 4, 5]  # each request that went out said so; slot 3 sent nothing
    assert told == [2, 4, 5]
