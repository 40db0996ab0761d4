"""RedisRateLimiter against a real redis-server (started here on a free loopback port)."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from ozon_async import (
    ConfigurationError,
    InProcessRateLimiter,
    OzonClient,
    RateLimiterUnavailableError,
)
from ozon_async.testing import MockOzonServer
from tests._redis import (
    REQUIRE_ENV,
    ROOT,
    MockProcess,
    RedisServer,
    RedisUnavailable,
    most_in_window,
    quantile,
    run_workers,
    shared_budget_run,
)

if os.environ.get(REQUIRE_ENV) != "1":
    pytest.importorskip("redis.asyncio", reason="needs the redis extra: pip install '.[redis]'")
from ozon_async.redis_limiter import RedisRateLimiter


def _unavailable(why: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {why}")
    pytest.skip(f"needs a local redis-server: {why}")


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One redis-server for the session."""
    server = RedisServer()
    try:
        server.start()
    except RedisUnavailable as exc:
        server.close()
        _unavailable(str(exc))
    yield server
    server.close()


@pytest.fixture
def own_redis(redis_server: RedisServer) -> Iterator[RedisServer]:
    """A redis-server of this test's own, which the test may kill and restart."""
    server = RedisServer()
    try:
        server.start()
    except RedisUnavailable as exc:
        server.close()
        _unavailable(str(exc))
    yield server
    server.close()


@pytest.fixture(autouse=True)
async def _close_limiters(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every limiter a test makes is closed after it, even when the test fails midway."""
    made: list[RedisRateLimiter] = []
    init = RedisRateLimiter.__init__

    def register(self: RedisRateLimiter, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(RedisRateLimiter, "__init__", register)
    yield
    for lim in made:
        await lim.aclose()


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}:"


@pytest.fixture
async def mock() -> AsyncIterator[MockOzonServer]:
    async with MockOzonServer(rate_limit=50.0, client_id="4242", api_key="key") as server:
        yield server


class ManualClock:
    """Time moves only when the test says so; ``sleep`` parks until then."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        entry = (self.t + seconds, asyncio.get_running_loop().create_future())
        self.sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self.sleepers.remove(entry)

    def parked(self, n: int) -> bool:
        """``n`` callers wait for a time still to come (none is on its way out)."""
        return len(self.sleepers) == n and all(w > self.t + 1e-9 for w, _ in self.sleepers)

    def advance_to(self, t: float) -> None:
        self.t = t
        for when, fut in list(self.sleepers):
            if when <= t + 1e-9 and not fut.done():
                fut.set_result(None)


async def settle(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (real time) until ``cond()``: tasks finished their Redis round trips."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "tasks did not settle"
        await asyncio.sleep(0.002)


# --------------------------------------------------------------------------- pacing
async def test_acquire_is_evenly_paced_on_redis_time(redis_server: RedisServer, prefix: str):
    async with RedisRateLimiter.from_url(redis_server.url, prefix=prefix) as lim:
        grants: list[float] = []

        async def one() -> None:
            await lim.acquire("4242", 20, 1.0)
            grants.append(time.monotonic())

        await asyncio.gather(*[one() for _ in range(12)])
    gaps = [b - a for a, b in itertools.pairwise(sorted(grants))]
    # (1 s + 0.05 s margin) / 20 = 52.5 ms between slots, never a burst
    assert min(gaps) > 0.040, gaps
    assert 11 * 0.0525 - 0.02 < grants[-1] - grants[0] < 11 * 0.0525 + 0.25
    # the slot times are Redis's: the stored next slot is close to Redis TIME
    reply = redis_server.command("TIME").split(b"\r\n")
    redis_now = int(reply[2]) * 1_000_000 + int(reply[4])
    stored = redis_server.command("HGET", f"{prefix}{{4242}}:pace", "t").split(b"\r\n")[1]
    assert abs(int(stored) - redis_now) < 1_000_000


async def test_keys_expire_on_their_own(redis_server: RedisServer, prefix: str):
    async with RedisRateLimiter.from_url(redis_server.url, prefix=prefix) as lim:
        await lim.acquire("4242", 50, 1.0)
        await lim.acquire_window("offer", 1, 30.0)
    pace = int(redis_server.command("PTTL", f"{prefix}{{4242}}:pace")[1:-2])
    log = int(redis_server.command("PTTL", f"{prefix}{{4242}}:log")[1:-2])
    window = int(redis_server.command("PTTL", f"{prefix}{{offer}}:window")[1:-2])
    assert 1_000 < pace <= 1_022  # a period past the next slot (one interval, 21 ms, ahead)
    # a grant counts until `period` after the latest time it may arrive (+ 50 ms margin)
    assert 1_000 < log <= 1_101
    assert 30_000 < window <= 30_101


async def test_window_guard_holds_when_a_stalled_process_wakes_late(
    redis_server: RedisServer, prefix: str
):
    """4 per 100 s. Slots are at 0, 25, 50, 75, 100, 125; the process stalls until 95, so
    three callers wake together. Pacing alone would then grant 5 within (25, 125]; the guard
    holds the sixth caller back until the window has room."""
    clock = ManualClock()
    async with RedisRateLimiter.from_url(
        redis_server.url, prefix=prefix, clock=clock, jitter_margin=0.0
    ) as lim:
        grants: list[float] = []

        async def one() -> None:
            await lim.acquire("k", 4, 100.0)
            grants.append(clock.now())

        tasks = [asyncio.ensure_future(one()) for _ in range(6)]
        await settle(lambda: len(grants) == 1 and clock.parked(5))
        for t, done in ((95.0, 4), (100.0, 5), (125.0, 5)):
            clock.advance_to(t)
            await settle(lambda d=done: len(grants) == d and clock.parked(6 - d))
        assert grants == [0.0, 95.0, 95.0, 95.0, 100.0]
        # Held back for longer than half a period, the sixth caller queues for the next free
        # slot (150), then waits there for the first grant at 95 to stop counting.
        wakes = []
        while len(grants) < 6:
            assert len(wakes) < 5 and len(clock.sleepers) == 1
            wakes.append(clock.sleepers[0][0])
            clock.advance_to(wakes[-1])
            await settle(lambda: len(grants) == 6 or clock.parked(1))
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert wakes == [150.0, 195.0]
    assert grants[-1] == 195.0
    assert most_in_window(grants, 100.0) == 4


async def test_cancelled_callers_give_their_slots_back(redis_server: RedisServer, prefix: str):
    clock = ManualClock()
    lim = RedisRateLimiter.from_url(redis_server.url, prefix=prefix, clock=clock, jitter_margin=0.0)
    await lim.acquire("k", 1, 10.0)
    waiting = []
    for i in range(5):  # one at a time, so that they queue in this order
        waiting.append(asyncio.ensure_future(lim.acquire("k", 1, 10.0)))
        await settle(lambda n=i + 1: clock.parked(n))
    assert sorted(w for w, _ in clock.sleepers) == [10.0, 20.0, 30.0, 40.0, 50.0]
    for t in waiting[1:]:  # the callers for 20..50 s give up
        t.cancel()
    await asyncio.gather(*waiting[1:], return_exceptions=True)
    late = asyncio.ensure_future(lim.acquire("k", 1, 10.0))
    await settle(lambda: clock.parked(2))
    # the newcomer takes the slot right after the one still held, not the 60 s one
    assert sorted(w for w, _ in clock.sleepers) == [10.0, 20.0]
    clock.advance_to(10.0)
    await asyncio.wait_for(waiting[0], 5)
    clock.advance_to(20.0)
    await asyncio.wait_for(late, 5)
    await lim.aclose()


# --------------------------------------------------------------------------- held slots
# A slot of acquire_slot counts until `period` after its answer (at most max_guard after its
# sending), told by the worker; on Redis, through reports that ride along with later steps.
class SteppedClock:
    """Virtual time for limiters on a real Redis: time jumps to the earliest wake-up only when
    every worker task is parked on the clock and no Redis step or report of ``limiters`` is on
    its way (a step takes real time, during which virtual time must stand still)."""

    def __init__(self) -> None:
        self.t = 0.0
        self.heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self.seq = itertools.count()
        self.limiters: list[RedisRateLimiter] = []
        self.in_flight = 0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut = asyncio.get_running_loop().create_future()
        heapq.heappush(self.heap, (self.t + seconds, next(self.seq), fut))
        await fut

    def watch(self, limiter: RedisRateLimiter) -> RedisRateLimiter:
        """Count ``limiter``'s steps in flight."""
        step = limiter._step

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.in_flight += 1
            try:
                return await step(*args, **kwargs)
            finally:
                self.in_flight -= 1

        limiter._step = counted  # type: ignore[method-assign]
        self.limiters.append(limiter)
        return limiter

    async def run(self, workers: list[Any]) -> None:
        tasks = [asyncio.ensure_future(w) for w in workers]
        try:
            while not all(t.done() for t in tasks):
                await asyncio.sleep(0.0005)
                live = sum(1 for t in tasks if not t.done())
                parked = sum(1 for _, _, f in self.heap if not f.done())
                busy = self.in_flight or any(lim._pending for lim in self.limiters)
                if busy or parked < live or not self.heap:
                    continue
                when, _, fut = heapq.heappop(self.heap)
                self.t = max(self.t, when)
                fut.set_result(None)
            for t in tasks:
                t.result()
        finally:
            for t in tasks:
                t.cancel()


class Link:
    """Sends each request ``delay(i)`` seconds after its grant (a worker sending late), notes
    its arrival, and answers ``latency`` later."""

    def __init__(
        self, clock: SteppedClock, delay: Callable[[int], float], latency: float, tell: bool
    ) -> None:
        self.clock = clock
        self.delay = delay
        self.latency = latency
        self.tell = tell  # say sending() when the request goes out, as the client does
        self.grants: list[float] = []
        self.arrivals: list[float] = []

    async def call(self, slot: Any) -> None:
        clock = self.clock
        n = len(self.grants)
        self.grants.append(clock.now())
        await clock.sleep(self.delay(n))
        if self.tell:
            slot.sending()
        self.arrivals.append(clock.now())
        await clock.sleep(self.latency)
        slot.answered()


async def run_fleet(
    limiters: list[RedisRateLimiter], link: Link, calls: int, rps: float, per_limiter: int = 10
) -> None:
    """``per_limiter`` workers on each limiter (one per process) take slots of one key and
    call through ``link`` until ``calls`` calls were made."""
    made = 0

    async def worker(lim: RedisRateLimiter) -> None:
        nonlocal made
        while made < calls:
            made += 1
            slot = await lim.acquire_slot("4242", rps, 1.0)
            assert slot is not None
            await link.call(slot)

    await link.clock.run([worker(lim) for lim in limiters for _ in range(per_limiter)])


def stalled_every_10th(i: int) -> float:
    """Every 10th request goes out 300 ms after its grant, the rest 1 ms after it."""
    return 0.3 if i % 10 == 9 else 0.001


def stalled_then_on_time(i: int) -> float:
    """A worker stalls: the requests granted in its first 300 ms go out 300 ms late (at once,
    with the first on-time ones), the rest 1 ms after their grant."""
    return 0.3 if i < 15 else 0.001


@pytest.mark.parametrize(
    "late,tell",
    [(stalled_every_10th, True), (stalled_then_on_time, True), (stalled_then_on_time, False)],
    ids=["every 10th late, told", "a stall, told", "a stall, never told"],
)
async def test_held_slots_keep_every_server_window_when_sends_are_late(
    redis_server: RedisServer, prefix: str, tell: bool, late: Callable[[int], float]
):
    """Two processes' limiters at 50 rps, every 10th request sent 300 ms after its grant,
    answers 5 ms after arrival. With max_guard 0.05 s (a slot trusted only 50 ms past its
    sending) and no pacing margin, only the report of the late sending keeps the window:
    without it, the slot is released a period after the trusted moment although its request
    arrived later."""
    clock = SteppedClock()
    limiters = [
        clock.watch(
            RedisRateLimiter.from_url(
                redis_server.url, prefix=prefix, clock=clock, max_guard=0.05, jitter_margin=0.0
            )
        )
        for _ in range(2)
    ]
    link = Link(clock, late, latency=0.005, tell=tell)
    await run_fleet(limiters, link, 400, 50.0)
    assert len(link.arrivals) == 400
    if tell:
        assert most_in_window(link.arrivals, 1.0) <= 50
        # paced at 50 rps, held back only by the slots that were sent late
        span = link.grants[-1] - link.grants[0]
        assert (len(link.grants) - 1) / span >= 0.9 * 50
        # Callers that find the log full (often, with no pacing margin) wait for successive
        # releases rather than all for the first one: few extra round trips per grant.
        full = sum(lim._counts.get("full", 0) for lim in limiters)
        assert full <= 3 * len(link.grants)
    else:
        assert most_in_window(link.arrivals, 1.0) > 50


async def test_held_slots_survive_late_sends_untold_within_max_guard(
    redis_server: RedisServer, prefix: str
):
    """With the default max_guard (1 s), a slot is logged long enough for a request sent
    300 ms late to be counted even by a worker that never says sending()."""
    clock = SteppedClock()
    limiters = [
        clock.watch(RedisRateLimiter.from_url(redis_server.url, prefix=prefix, clock=clock))
        for _ in range(2)
    ]
    link = Link(clock, stalled_every_10th, latency=0.005, tell=False)
    await run_fleet(limiters, link, 400, 50.0)
    assert most_in_window(link.arrivals, 1.0) <= 50


@pytest.mark.parametrize(
    "sent_at,answer_at,next_grant",
    [
        (0.0, 0.01, 1.01),
        (0.0, 0.0, 1.0),
        (0.0, None, 1.05),
        (0.0, 0.2, 1.05),
        (0.3, None, 1.35),
        (0.3, 0.31, 1.31),
    ],
    ids=[
        "answered after 10 ms",
        "answered at once",
        "never answered",
        "answered later than max_guard",
        "sent 300 ms late, never answered",
        "sent 300 ms late, answered",
    ],
)
async def test_a_slot_counts_until_a_period_after_its_answer_at_most_max_guard(
    redis_server: RedisServer,
    prefix: str,
    sent_at: float,
    answer_at: float | None,
    next_grant: float,
):
    """The in-process rule, kept in Redis: released `period` after the answer, at most
    `period` after max_guard (50 ms here) past the sending."""
    clock = SteppedClock()
    lim = clock.watch(
        RedisRateLimiter.from_url(
            redis_server.url, prefix=prefix, clock=clock, max_guard=0.05, jitter_margin=0.0
        )
    )
    grants: list[float] = []

    async def first() -> None:
        slot = await lim.acquire_slot("k", 1, 1.0)
        assert slot is not None
        await clock.sleep(sent_at)
        slot.sending()
        if answer_at is not None:
            await clock.sleep(answer_at - sent_at)
            slot.answered()
            slot.answered()  # a second call changes nothing

    async def second() -> None:
        await clock.sleep(0.0001)  # after the first one's grant
        await lim.acquire_slot("k", 1, 1.0)
        grants.append(clock.now())

    await clock.run([first(), second()])
    assert grants == [pytest.approx(next_grant)]


async def test_a_caller_cancelled_as_it_is_granted_takes_its_grant_back(
    redis_server: RedisServer, prefix: str
):
    lim = RedisRateLimiter.from_url(redis_server.url, prefix=prefix, jitter_margin=0.0)
    for _ in range(20):  # cancelled at every point of the step, one of them after the grant
        task = asyncio.ensure_future(lim.acquire_slot("k", 2, 30.0))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            slot = await task
            slot.answered()  # granted after all: answered at once
        await asyncio.wait_for(asyncio.gather(*lim._pending), 5)
        assert int(redis_server.command("ZCARD", f"{prefix}{{k}}:log")[1:-2]) <= 1
        redis_server.command("DEL", f"{prefix}{{k}}:log", f"{prefix}{{k}}:pace")
    await lim.aclose()


# --------------------------------------------------------------------------- per-item windows
async def test_acquire_window_across_two_limiters(redis_server: RedisServer, prefix: str):
    """Two limiters (two processes' worth of connections) on one per-item rule: one stock
    update per offer/warehouse pair per 30 s, on an injected clock."""
    clock = ManualClock()
    a = RedisRateLimiter.from_url(redis_server.url, prefix=prefix, clock=clock)
    b = RedisRateLimiter.from_url(redis_server.url, prefix=prefix, clock=clock)
    key = "4242 stock PH-1/1020000089903000"
    assert await a.acquire_window(key, 1, 30.0) == 0.0
    clock.advance_to(10.0)
    assert await b.acquire_window(key, 1, 30.0, wait=False) == pytest.approx(20.05)
    assert await a.acquire_window(key, 1, 30.0, wait=False) == pytest.approx(20.05)
    waiter = asyncio.ensure_future(b.acquire_window(key, 1, 30.0))
    await settle(lambda: clock.parked(1))
    assert clock.sleepers[0][0] == pytest.approx(30.05)
    clock.advance_to(30.0)
    await asyncio.sleep(0.02)
    assert not waiter.done()
    clock.advance_to(30.05)
    assert await asyncio.wait_for(waiter, 5) == 0.0
    assert await a.acquire_window(key, 1, 30.0, wait=False) == pytest.approx(30.05)
    # another pair is not held back, and the limit counts grants (10 per product per hour)
    for _ in range(10):
        assert await a.acquire_window("4242 price 7", 10, 3600.0, wait=False) == 0.0
    assert await b.acquire_window("4242 price 7", 10, 3600.0, wait=False) == pytest.approx(3600.05)
    await a.aclose()
    await b.aclose()


async def test_a_redis_client_of_your_own(redis_server: RedisServer, prefix: str):
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(redis_server.url)
    lim = RedisRateLimiter(client, prefix=prefix)
    assert "given Redis client" in repr(lim)
    await lim.acquire("4242", 50, 1.0)
    assert await lim.acquire_window("4242 item", 2, 1.0) == 0.0
    await lim.aclose()
    assert await client.exists(f"{prefix}{{4242}}:log", f"{prefix}{{4242 item}}:window") == 2
    await client.aclose()  # still usable until its owner closes it


async def test_bad_arguments_name_the_field(redis_server: RedisServer, prefix: str):
    async with RedisRateLimiter.from_url(redis_server.url, prefix=prefix) as lim:
        with pytest.raises(ValueError, match="requests"):
            await lim.acquire("k", 0, 1.0)
        with pytest.raises(ValueError, match="period"):
            await lim.acquire("k", 1, -1)
        with pytest.raises(ValueError, match="limit"):
            await lim.acquire_window("k", 0, 1.0)
        with pytest.raises(ValueError, match="limit"):
            await lim.acquire_window("k", 1.5, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_error"):
        RedisRateLimiter.from_url(redis_server.url, on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="url"):
        RedisRateLimiter.from_url("http://localhost:6379")
    with pytest.raises(ConfigurationError, match="local_share"):
        RedisRateLimiter.from_url(redis_server.url, local_share=0)


# --------------------------------------------------------------------------- configuration
async def test_client_picks_the_limiter_from_the_environment(
    redis_server: RedisServer, prefix: str, mock: MockOzonServer, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("OZON_RATE_LIMIT_REDIS_URL", "redis://:s3cret@127.0.0.1:1/0")
    monkeypatch.setenv("OZON_RATE_LIMIT_REDIS_ON_ERROR", "raise")
    client = OzonClient("4242", "key", base_url=mock.url)
    assert isinstance(client.limiter, RedisRateLimiter)
    assert "s3cret" not in repr(client.limiter)
    with pytest.raises(RateLimiterUnavailableError) as err:
        await client.roles.list_v1()
    assert "s3cret" not in str(err.value)
    assert mock.requests == []  # nothing unpaced reached the server
    await client.aclose()

    monkeypatch.setenv("OZON_RATE_LIMIT_REDIS_URL", redis_server.url)
    monkeypatch.setenv("OZON_RATE_LIMIT_REDIS_PREFIX", prefix)
    async with OzonClient("4242", "key", base_url=mock.url) as client:
        await client.roles.list_v1()
        own = client.limiter
    assert own._redis is None  # closed with the client
    assert redis_server.command("EXISTS", f"{prefix}{{4242}}:log") == b":1\r\n"

    monkeypatch.setenv("OZON_RATE_LIMIT_REDIS_ON_ERROR", "sometimes")
    with pytest.raises(ConfigurationError, match="OZON_RATE_LIMIT_REDIS_ON_ERROR"):
        OzonClient("4242", "key", base_url=mock.url)
    monkeypatch.delenv("OZON_RATE_LIMIT_REDIS_URL")
    assert isinstance(OzonClient("4242", "key").limiter, InProcessRateLimiter)


# --------------------------------------------------------------------------- outages
async def test_outage_falls_back_with_one_warning_and_recovers(
    own_redis: RedisServer, prefix: str, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.INFO, logger="ozon_async")
    lim = RedisRateLimiter.from_url(own_redis.url, prefix=prefix, retry_interval=0.2)
    for _ in range(3):
        await lim.acquire("4242", 200, 1.0)
    assert lim.available
    own_redis.kill()
    t = time.monotonic()
    for _ in range(40):  # 200 rps: about 0.2 s, in this process's own limiter
        await lim.acquire("4242", 200, 1.0)
    assert time.monotonic() - t < 2.0
    assert not lim.available
    # per-item rules hold in this process meanwhile
    assert await lim.acquire_window("4242 stock 1/2", 1, 30.0) == 0.0
    assert await lim.acquire_window("4242 stock 1/2", 1, 30.0, wait=False) > 29.9
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unavailable" in warnings[0].getMessage()
    assert "pacing in this process only" in warnings[0].getMessage()

    own_redis.start()  # same port, empty
    deadline = time.monotonic() + 5
    while not lim.available:
        assert time.monotonic() < deadline, "the limiter did not go back to Redis"
        await lim.acquire("4242", 200, 1.0)
    await lim.acquire("4242", 200, 1.0)
    assert own_redis.command("EXISTS", f"{prefix}{{4242}}:log") == b":1\r\n"
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert any("answers again" in r.getMessage() for r in caplog.records)
    await lim.aclose()


async def test_outage_raises_when_asked_and_recovers(own_redis: RedisServer, prefix: str):
    lim = RedisRateLimiter.from_url(
        own_redis.url, prefix=prefix, on_error="raise", retry_interval=0.1
    )
    await lim.acquire("4242", 50, 1.0)
    own_redis.kill()
    t = time.monotonic()
    with pytest.raises(RateLimiterUnavailableError, match="unavailable"):
        await lim.acquire_slot("4242", 50, 1.0)
    with pytest.raises(RateLimiterUnavailableError, match="unavailable"):
        await lim.acquire("4242", 50, 1.0)
    with pytest.raises(RateLimiterUnavailableError):
        await lim.acquire_window("4242 item", 1, 30.0)
    assert time.monotonic() - t < 1.0  # fast: refused, not waited out
    own_redis.start()
    await asyncio.sleep(0.15)
    await lim.acquire("4242", 50, 1.0)
    assert await lim.acquire_window("4242 item", 1, 30.0) == 0.0
    assert lim.available
    await lim.aclose()


async def test_a_restart_mid_run_falls_back_to_the_documented_share_and_resumes(
    own_redis: RedisServer, prefix: str
):
    """Two workers' limiters (on_error="local", local_share=0.5) keep taking slots at 20 per
    second while Redis is killed for 2 s and restarted empty: nothing fails, each paces alone
    at half the rate meanwhile (so the two together keep the limit once the grants made
    through Redis stopped counting), and both go back to the shared budget."""
    limiters = [
        RedisRateLimiter.from_url(
            own_redis.url, prefix=prefix, local_share=0.5, retry_interval=0.2, jitter_margin=0.0
        )
        for _ in range(2)
    ]
    grants: list[list[float]] = [[], []]
    start = time.monotonic()
    stop = start + 5.0

    async def worker(i: int) -> None:
        while time.monotonic() < stop:
            slot = await limiters[i].acquire_slot("4242", 20, 1.0)
            grants[i].append(time.monotonic() - start)
            assert slot is not None
            slot.sending()
            slot.answered()

    async def outage() -> None:
        await asyncio.sleep(1.0)
        own_redis.kill()
        await asyncio.sleep(2.0)
        own_redis.start()

    await asyncio.gather(outage(), *[worker(i) for i in range(2) for _ in range(5)])
    assert all(lim.available for lim in limiters)
    assert own_redis.command("EXISTS", f"{prefix}{{4242}}:log") == b":1\r\n"
    every = sorted(grants[0] + grants[1])
    # shared before the outage and again a period after the restart
    assert most_in_window([t for t in every if t <= 1.0], 1.0) <= 20
    assert most_in_window([t for t in every if t > 4.2], 1.0) <= 20
    # alone at half the rate each during the outage, once Redis's grants stopped counting
    for own in grants:
        during = [t for t in own if 2.1 < t <= 3.0]
        assert 7 <= len(during) <= 11, own
    assert most_in_window([t for t in every if 2.1 < t <= 3.0], 1.0) <= 20
    for lim in limiters:
        await lim.aclose()


async def test_the_slots_of_a_killed_worker_expire_by_max_guard(
    redis_server: RedisServer, prefix: str
):
    """A worker process takes both slots of a 2-per-second key and is killed (SIGKILL) before
    it says anything about them. They count until their logged release (a period, the 50 ms
    margin and max_guard after their grants) and no longer."""
    code = (
        "import asyncio, sys\n"
        "from ozon_async.redis_limiter import RedisRateLimiter\n"
        "async def main():\n"
        f"    lim = RedisRateLimiter.from_url({redis_server.url!r}, prefix={prefix!r},"
        " max_guard=0.5)\n"
        "    slots = [await lim.acquire_slot('k', 2, 1.0) for _ in range(2)]\n"
        "    print('held', flush=True)\n"
        "    await asyncio.sleep(60)\n"
        "asyncio.run(main())\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE, cwd=ROOT
    )
    assert proc.stdout is not None
    assert await asyncio.wait_for(proc.stdout.readline(), 60) == b"held\n"
    proc.kill()
    await proc.wait()
    releases = redis_server.command("ZRANGE", f"{prefix}{{k}}:log", "0", "-1", "WITHSCORES")
    first = int(releases.split(b"\r\n")[4])  # the earlier of the two releases, Redis µs
    async with RedisRateLimiter.from_url(redis_server.url, prefix=prefix, max_guard=0.5) as lim:
        slot = await lim.acquire_slot("k", 2, 1.0)
        assert slot is not None
        granted = redis_time(redis_server)
    # granted once the first dead slot was released (1.55 s after its grant), not later
    assert first <= granted <= first + 300_000


def redis_time(server: RedisServer) -> int:
    reply = server.command("TIME").split(b"\r\n")
    return int(reply[2]) * 1_000_000 + int(reply[4])


@pytest.mark.parametrize(
    "sent_at,answer_at,released_at",
    [(0.0, 0.2, 0.7), (0.3, None, 1.0)],
    ids=["answered after 200 ms", "sent 300 ms late, never answered"],
)
async def test_skewed_worker_clocks_share_one_budget(
    redis_server: RedisServer,
    prefix: str,
    sent_at: float,
    answer_at: float | None,
    released_at: float,
):
    """Two workers whose own clocks are an hour apart (each tells Redis only how long ago
    something happened): a slot of one is released for the other exactly when Redis's time
    says, 1 per 0.5 s, max_guard 0.2 s."""
    a, b = (
        RedisRateLimiter.from_url(
            redis_server.url, prefix=prefix, max_guard=0.2, jitter_margin=0.01
        )
        for _ in range(2)
    )
    a._local = lambda: time.monotonic() + 3600.0
    b._local = lambda: time.monotonic() - 3600.0
    slot = await a.acquire_slot("k", 1, 0.5)
    t0 = redis_time(redis_server)
    assert slot is not None
    await asyncio.sleep(sent_at)
    slot.sending()
    if answer_at is not None:
        await asyncio.sleep(answer_at - sent_at)
        slot.answered()
    await b.acquire_slot("k", 1, 0.5)
    waited = (redis_time(redis_server) - t0) / 1e6
    assert released_at - 0.01 <= waited <= released_at + 0.2
    await a.aclose()
    await b.aclose()


async def test_a_silent_redis_times_out_within_bounds(prefix: str):
    """A Redis that accepts connections and never answers: every wait is bounded."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"
    try:
        lim = RedisRateLimiter.from_url(url, prefix=prefix, on_error="raise", socket_timeout=0.2)
        t = time.monotonic()
        with pytest.raises(RateLimiterUnavailableError):
            await lim.acquire("4242", 50, 1.0)
        assert time.monotonic() - t < 1.5
        await lim.aclose()
        lim = RedisRateLimiter.from_url(url, prefix=prefix, socket_timeout=0.2)
        t = time.monotonic()
        await lim.acquire("4242", 50, 1.0)
        await lim.acquire("4242", 50, 1.0)  # the second goes straight to the local limiter
        assert time.monotonic() - t < 1.5
        assert not lim.available
        await lim.aclose()
    finally:
        stop.set()
        thread.join()
        for s in accepted:
            s.close()
        listener.close()


# --------------------------------------------------------------------------- several processes
def _report(what: str, run: dict[str, Any]) -> None:
    spread = run["spread"]
    print(
        f"\n{what}: {run['requests']} requests, {run['rate']:.1f} rps, busiest 1 s window "
        f"{run['busiest']}, {run['too_many']} x 429, grant-to-arrival p50 "
        f"{quantile(spread, 0.5) * 1000:.1f} ms, p99 {quantile(spread, 0.99) * 1000:.1f} ms, "
        f"max {spread[-1] * 1000:.1f} ms, load {os.getloadavg()[0]:.1f}"
    )


def _check_fleet_run(run: dict[str, Any], redis_server: RedisServer, prefix: str, seconds: float):
    assert run["errors"] == {}  # no 429 (max_retries=0 would raise it), no limiter failure
    # counted on arrival by the server, with no allowance for requests that arrived late
    assert run["busiest"] <= 50
    # The bench measures the rate; this only says that the fleet kept the budget busy (on a
    # machine shared with other jobs, the workers themselves may lag).
    assert run["rate"] >= 0.7 * 50
    assert run["requests"] >= 0.7 * 50 * (seconds - 0.2)
    assert all(n > 0 for n in run["per_worker"])
    # the callers still waiting at the end gave their slots back: the next free slot is near
    stored = redis_server.command("HGET", f"{prefix}{{4242}}:pace", "t").split(b"\r\n")
    if stored[0] != b"$-1":  # (the key may already have expired)
        reply = redis_server.command("TIME").split(b"\r\n")
        now = int(reply[2]) * 1_000_000 + int(reply[4])
        assert int(stored[1]) - now < 200_000, "200 cancelled callers kept their slots"


async def test_four_processes_share_one_budget(redis_server: RedisServer, prefix: str):
    """4 worker processes, each its own OzonClient with 50 calls in flight, one Client-Id,
    against the mock (50 rps per Client-Id) counting on arrival, at whatever priority and on
    whatever load the machine gives them."""
    seconds = 4.0
    run = await shared_budget_run(redis_server.url, prefix, workers=4, seconds=seconds)
    _report("4 processes", run)
    _check_fleet_run(run, redis_server, prefix, seconds)


async def test_four_processes_share_one_budget_with_one_worker_stalling(
    redis_server: RedisServer, prefix: str
):
    """The same, with every 10th request of one worker held 300 ms between its grant and its
    sending: it reaches the server long after the others granted after it."""
    seconds = 4.0
    run = await shared_budget_run(
        redis_server.url, prefix, workers=4, seconds=seconds, stall="0.3:0.3:10"
    )
    _report("4 processes, one stalling", run)
    assert run["stalled"] >= 3
    # they did reach the server late (the last one may have been cancelled at the end)
    assert sum(1 for s in run["spread"] if s >= 0.29) >= 2
    _check_fleet_run(run, redis_server, prefix, seconds)


async def test_two_processes_never_break_a_per_item_rule(redis_server: RedisServer, prefix: str):
    """One stock update per offer/warehouse pair per period (1 s here, 30 s at Ozon), taken by
    two processes at once: the server never sees two within the period."""
    async with MockProcess() as mock:
        results = await run_workers("window", 2, mock.url, redis_server.url, prefix, "2.3", "1.0")
        seen = await mock.requests()
    sent = sorted(r["at"] for r in seen if r["path"] == "/v2/products/stocks")
    grants = sorted(t for r in results for t in r["grants"])
    assert len(sent) == len(grants) >= 3
    gaps = [b - a for a, b in itertools.pairwise(sent)]
    assert min(gaps) >= 1.0, gaps  # never twice within the period, counted on arrival
    assert max(gaps) < 1.5, gaps  # and the rule does not hold them back much longer
