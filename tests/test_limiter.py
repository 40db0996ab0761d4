"""InProcessRateLimiter under a virtual clock: pacing, the sliding window, cancellation,
forgetting idle keys, acquire_window, and slots held until their answer (acquire_slot), alone
and through the client."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from ozon_async import (
    APIConnectionError,
    HTTPRequest,
    HTTPResponse,
    InProcessRateLimiter,
    MockTransport,
    OzonClient,
    RateLimiter,
    RateLimitSlot,
    Transport,
)
from tests._fakes import Script, ok, status
from tests.helpers import VirtualClock


class LateClock(VirtualClock):
    """A virtual clock whose sleepers wake up late by up to ``late`` seconds (a busy loop)."""

    def __init__(self, late: float, seed: int = 1) -> None:
        super().__init__()
        self.late = late
        self.rnd = random.Random(seed)

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + self.rnd.uniform(0, self.late))


def most_in_window(times: list[float], width: float) -> int:
    """The most grants in any half-open window (t - width, t]."""
    best, j = 0, 0
    times = sorted(times)
    for i, t in enumerate(times):
        while times[j] <= t - width + 1e-12:
            j += 1
        best = max(best, i - j + 1)
    return best


def rate(times: list[float]) -> float:
    return (len(times) - 1) / (max(times) - min(times))


async def run_workers(
    limiter: RateLimiter, clock: VirtualClock, calls: int, concurrency: int, rps: float
) -> list[float]:
    """``concurrency`` workers acquire ``calls`` slots in all; the grant times."""
    grants: list[float] = []
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await limiter.acquire("cid", rps, 1.0)
            grants.append(clock.now())

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return grants


@pytest.mark.parametrize("late", [0.0, 0.002], ids=["on time", "woken up to 2 ms late"])
async def test_200_rps_at_concurrency_100_reaches_99_percent_and_never_exceeds(late: float) -> None:
    clock = LateClock(late) if late else VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    grants = await run_workers(limiter, clock, 2000, 100, 200.0)
    assert len(grants) == 2000
    assert most_in_window(grants, 1.0) <= 200
    assert rate(grants) >= 0.99 * 200
    assert rate(grants) <= 200


async def test_grants_are_evenly_spaced_within_a_second() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    grants = await run_workers(limiter, clock, 50, 10, 50.0)
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    assert min(gaps) == pytest.approx(0.02) and max(gaps) == pytest.approx(0.02)


async def test_cancelled_waiters_give_their_slots_back() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    await limiter.acquire("cid", 50, 1.0)  # t=0
    queued = [asyncio.ensure_future(limiter.acquire("cid", 50, 1.0)) for _ in range(100)]
    await asyncio.sleep(0)  # all queued now, none granted yet
    for task in queued:
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)
    assert all(t.cancelled() for t in queued)
    start = clock.now()
    grants = await run_workers(limiter, clock, 100, 100, 50.0)
    # The burst runs at the configured rate: the cancelled callers took nothing.
    # (less the guard of one 20 ms interval per second: 2 % at 50 rps)
    assert max(grants) - start <= 100 / 50 * 1.02
    assert rate(grants) >= 0.98 * 50
    assert most_in_window([0.0, *grants], 1.0) <= 50


async def test_cancelling_the_sleeping_head_hands_its_turn_on() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock, guard=0.0, max_guard=0.0)
    await limiter.acquire("k", 1, 10.0)  # t=0; next slot at t=10
    order: list[str] = []

    async def caller(name: str) -> None:
        await limiter.acquire("k", 1, 10.0)
        order.append(f"{name}@{clock.now():g}")

    head = asyncio.ensure_future(caller("head"))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(caller("second"))
    third = asyncio.ensure_future(caller("third"))
    await asyncio.sleep(0)
    head.cancel()
    await asyncio.gather(second, third)
    assert order == ["second@10", "third@20"]


async def test_a_caller_cancelled_just_after_being_woken_passes_its_turn_on() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock, guard=0.0, max_guard=0.0)
    await limiter.acquire("k", 1, 10.0)
    head = asyncio.ensure_future(limiter.acquire("k", 1, 10.0))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(limiter.acquire("k", 1, 10.0))
    third = asyncio.ensure_future(limiter.acquire("k", 1, 10.0))
    await asyncio.sleep(0)
    # Finish the head's wait by hand, so that `second` is handed the turn and is then cancelled
    # before it runs.
    await head
    second.cancel()
    await asyncio.gather(second, return_exceptions=True)
    await third
    assert clock.now() == pytest.approx(20.0)


async def test_callers_are_served_in_arrival_order() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    order: list[int] = []

    async def caller(i: int) -> None:
        await limiter.acquire("k", 10, 1.0)
        order.append(i)

    tasks = []
    for i in range(30):
        tasks.append(asyncio.ensure_future(caller(i)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == list(range(30))


async def test_idle_keys_are_forgotten() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock, forget_after=5.0)
    for i in range(10_000):
        await limiter.acquire(f"client-{i}", 50, 1.0)
    assert limiter.keys == 10_000
    await clock.sleep(7.0)
    await limiter.acquire("client-0", 50, 1.0)
    assert limiter.keys == 1  # memory follows the keys in use
    # a per-method lane with a long window is kept as long as it still limits anything
    await limiter.acquire("slow", 1, 60.0)
    await clock.sleep(10.0)
    await limiter.acquire("client-1", 50, 1.0)
    assert limiter.keys == 2
    before = clock.now()
    await limiter.acquire("slow", 1, 60.0)
    assert clock.now() - before == pytest.approx(50.0 + limiter.max_guard)


async def test_a_key_in_use_is_never_forgotten() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock, forget_after=0.5)
    grants = await run_workers(limiter, clock, 120, 20, 50.0)
    assert most_in_window(grants, 1.0) <= 50


async def test_changed_limit_for_a_key_applies_at_once() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    await run_workers(limiter, clock, 10, 5, 50.0)
    start = clock.now()
    grants = await run_workers(limiter, clock, 10, 5, 5.0)
    assert max(grants) - start >= 9 / 5


@pytest.mark.parametrize("requests,period", [(0, 1.0), (-1, 1.0), (5, 0.0), (float("nan"), 1.0)])
async def test_invalid_limits_are_refused(requests: float, period: float) -> None:
    limiter = InProcessRateLimiter(clock=VirtualClock())
    with pytest.raises(ValueError):
        await limiter.acquire("k", requests, period)


# ---------------------------------------------------------------------------- windows
async def test_window_grants_up_to_the_limit_then_says_how_long() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    assert await limiter.acquire_window("offer-1/wh-1", 2, 30.0, wait=False) == 0.0
    assert await limiter.acquire_window("offer-1/wh-1", 2, 30.0, wait=False) == 0.0
    wait = await limiter.acquire_window("offer-1/wh-1", 2, 30.0, wait=False)
    assert wait == pytest.approx(30.0 + limiter.guard)
    # nothing was granted by the refused call: waiting takes the first free place
    assert await limiter.acquire_window("offer-1/wh-1", 2, 30.0) == 0.0
    assert clock.now() == pytest.approx(30.0 + limiter.guard)
    # other keys are independent
    assert await limiter.acquire_window("offer-2/wh-1", 2, 30.0, wait=False) == 0.0


async def test_window_never_exceeds_its_limit() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    grants: list[float] = []

    async def one() -> None:
        await limiter.acquire_window("product-7", 10, 3600.0)
        grants.append(clock.now())

    await asyncio.gather(*[one() for _ in range(35)])
    assert len(grants) == 35
    assert most_in_window(grants, 3600.0) == 10
    assert grants[:10] == [0.0] * 10  # a window does not space its grants
    assert max(grants) == pytest.approx(3 * (3600.0 + limiter.guard))


async def test_window_without_waiting_does_not_jump_the_queue() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    assert await limiter.acquire_window("k", 1, 10.0) == 0.0
    queued = asyncio.ensure_future(limiter.acquire_window("k", 1, 10.0))
    await asyncio.sleep(0)
    wait = await limiter.acquire_window("k", 1, 10.0, wait=False)
    assert wait == pytest.approx(2 * (10.0 + limiter.guard))  # after the queued caller
    await queued
    assert clock.now() == pytest.approx(10.0 + limiter.guard)


async def test_cancelled_window_waiter_takes_nothing() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    await limiter.acquire_window("k", 1, 10.0)
    waiters = [asyncio.ensure_future(limiter.acquire_window("k", 1, 10.0)) for _ in range(5)]
    await asyncio.sleep(0)
    for w in waiters:
        w.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await limiter.acquire_window("k", 1, 10.0)
    assert clock.now() == pytest.approx(10.0 + limiter.guard)


@pytest.mark.parametrize("limit,period", [(0, 1.0), (1.5, 1.0), (True, 1.0), (1, -1.0)])
async def test_invalid_windows_are_refused(limit: int, period: float) -> None:
    limiter = InProcessRateLimiter(clock=VirtualClock())
    with pytest.raises(ValueError):
        await limiter.acquire_window("k", limit, period)


async def test_the_interface_has_a_default_aclose() -> None:
    limiter = InProcessRateLimiter(clock=VirtualClock())
    assert await limiter.aclose() is None
    assert RateLimiter.__abstractmethods__ == {"acquire"}


async def test_the_default_acquire_window_keeps_windows_in_the_process() -> None:
    class Acquire(RateLimiter):  # no __init__ of RateLimiter's called, no acquire_window
        def __init__(self) -> None:
            pass

        async def acquire(self, key: str, requests: float, period: float) -> None:
            return None

    limiter, other = Acquire(), Acquire()
    assert await limiter.acquire_window("pair", 1, 30.0) == 0.0
    assert await limiter.acquire_window("pair", 1, 30.0, wait=False) == pytest.approx(30.005, 1e-3)
    assert await limiter.acquire_window("other pair", 1, 30.0, wait=False) == 0.0
    assert await other.acquire_window("pair", 1, 30.0, wait=False) == 0.0  # one per limiter
    with pytest.raises(ValueError, match="limit"):
        await limiter.acquire_window("pair", 0, 30.0)


async def test_a_limiter_written_as_the_readme_shows_works_with_the_client() -> None:
    import time

    from ozon_async.testing import MockOzonServer
    from tests._readme import readme_examples

    (code,) = [c for c, _ in readme_examples("Several workers, one budget") if "(RateLimiter)" in c]
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    limiter = namespace["EvenPacer"]()  # type: ignore[operator]
    async with (
        MockOzonServer(rate_limit=50.0, client_id="4242", api_key="key") as server,
        OzonClient("4242", "key", base_url=server.url, limiter=limiter, max_retries=0) as client,
    ):
        start = time.monotonic()
        await asyncio.gather(*[client.roles.list_v1() for _ in range(60)])
        elapsed = time.monotonic() - start
        # the bulk helpers' per-item rule (one stock update per pair per 30 s) goes through the
        # default acquire_window
        product = min(
            (p for p in server.state.products.values() if not p.archived),
            key=lambda p: p.product_id,
        )
        pair = {"offer_id": product.offer_id, "warehouse_id": min(server.state.warehouses)}
        result = await client.products.stocks_v2.bulk(
            [{**pair, "stock": 5}, {**pair, "stock": 6}], wait=False
        )
        arrivals = [r.at for r in server.requests if r.path == "/v1/roles"]
    assert len(arrivals) == 60 and elapsed >= 59 / 50 * 0.98  # paced, none refused
    assert most_in_window(arrivals, 1.0) <= 50
    assert [o.status for o in result.outcomes] == ["ok", "retry_later"]


# ---------------------------------------------------------------------------- held slots
# A slot of acquire_slot counts until `period` after its answer (at most max_guard after the
# grant), since a request reaches the server between its grant and its answer.
class Link:
    """Sends each request on a slot ``delays[i]`` seconds after its grant (a busy event loop
    sending late), notes its arrival, and answers ``latency`` later."""

    def __init__(
        self, clock: VirtualClock, delays: list[float], latency: float, tell_sending: bool = False
    ) -> None:
        self.clock = clock
        self.delays = delays
        self.latency = latency
        self.tell_sending = tell_sending  # say sending() when the request goes out, as the client
        self.grants: list[float] = []
        self.arrivals: list[float] = []

    async def call(self, slot: RateLimitSlot | None) -> None:
        clock = self.clock
        self.grants.append(clock.now())
        await clock.sleep(self.delays[len(self.grants) - 1])
        if slot is not None and self.tell_sending:
            slot.sending()
        self.arrivals.append(clock.now())
        await clock.sleep(self.latency)
        if slot is not None:
            slot.answered()


def late_now_and_then(calls: int) -> list[float]:
    """Most requests go at once; every 37th goes 45 ms late (within the 50 ms max_guard)."""
    return [0.045 if i % 37 == 36 else 0.0005 for i in range(calls)]


async def run_link(limiter: InProcessRateLimiter, link: Link, calls: int, rps: float) -> None:
    sem = asyncio.Semaphore(100)

    async def one() -> None:
        async with sem:
            await link.call(await limiter.acquire_slot("cid", rps, 1.0))

    await asyncio.gather(*[one() for _ in range(calls)])


@pytest.mark.parametrize("late", [0.0, 0.002], ids=["on time", "woken up to 2 ms late"])
async def test_held_slots_keep_every_server_window_within_the_limit_when_sends_are_late(
    late: float,
) -> None:
    clock = LateClock(late) if late else VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    link = Link(clock, late_now_and_then(1200), latency=0.0005)
    await run_link(limiter, link, 1200, 200.0)
    assert len(link.arrivals) == 1200
    assert most_in_window(link.arrivals, 1.0) <= 200
    assert most_in_window(link.grants, 1.0) <= 200
    assert rate(link.arrivals) >= 0.99 * 200


async def test_the_same_late_sends_break_a_fixed_guard() -> None:
    # What the held slots are for: counting each grant a fixed period + guard lets a request
    # sent 45 ms late share a server window with the limit's worth of on-time ones.
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    link = Link(clock, late_now_and_then(1200), latency=0.0005)
    sem = asyncio.Semaphore(100)

    async def one() -> None:
        async with sem:
            await limiter.acquire("cid", 200.0, 1.0)
            await link.call(None)

    await asyncio.gather(*[one() for _ in range(1200)])
    assert most_in_window(link.grants, 1.0) <= 200
    assert most_in_window(link.arrivals, 1.0) > 200


async def test_held_slots_cost_nothing_when_answers_are_instant() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    link = Link(clock, [0.0] * 1000, latency=0.0)
    await run_link(limiter, link, 1000, 200.0)
    gaps = [b - a for a, b in itertools.pairwise(link.grants)]
    # evenly paced at the full rate, never held back by the count
    assert min(gaps) == pytest.approx(0.005) and max(gaps) == pytest.approx(0.005)
    assert rate(link.grants) == pytest.approx(200.0)
    assert most_in_window(link.arrivals, 1.0) == 200


async def test_held_slots_cost_the_answer_delay_per_period() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    link = Link(clock, [0.0] * 1000, latency=0.01)
    await run_link(limiter, link, 1000, 200.0)
    # each grant waits for the one a period before to have been answered: 200 per 1.01 s
    assert rate(link.grants) == pytest.approx(200.0 / 1.01, rel=0.005)
    assert most_in_window(link.arrivals, 1.0) <= 200


def stalled_now_and_then(calls: int) -> list[float]:
    """Every 37th request goes out 300 ms after its grant (an event loop blocked by other work,
    far past the 50 ms max_guard); the rest at once."""
    return [0.3 if i % 37 == 36 else 0.0005 for i in range(calls)]


async def test_slots_told_when_their_request_goes_out_survive_a_stalled_event_loop() -> None:
    clock = VirtualClock()
    link = Link(clock, stalled_now_and_then(1200), latency=0.0005, tell_sending=True)
    await run_link(InProcessRateLimiter(clock=clock), link, 1200, 200.0)
    assert len(link.arrivals) == 1200
    assert most_in_window(link.arrivals, 1.0) <= 200
    assert rate(link.arrivals) >= 0.95 * 200
    # without sending() the slot is trusted only for max_guard after the grant
    clock = VirtualClock()
    untold = Link(clock, stalled_now_and_then(1200), latency=0.0005)
    await run_link(InProcessRateLimiter(clock=clock), untold, 1200, 200.0)
    assert most_in_window(untold.arrivals, 1.0) > 200


@pytest.mark.parametrize(
    "sent_at,answer_at,next_grant",
    [(0.3, None, 1.35), (0.3, 0.31, 1.31), (0.01, None, 1.06)],
    ids=["sent 300 ms late, never answered", "sent 300 ms late, answered", "sent after 10 ms"],
)
async def test_a_slot_sent_late_counts_from_its_sending(
    sent_at: float, answer_at: float | None, next_grant: float
) -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)  # max_guard 0.05
    slot = await limiter.acquire_slot("k", 1, 1.0)
    assert slot is not None
    await clock.sleep(sent_at)
    slot.sending()
    if answer_at is not None:
        await clock.sleep(answer_at - sent_at)
        slot.answered()
    await limiter.acquire_slot("k", 1, 1.0)
    assert clock.now() == pytest.approx(next_grant)


@pytest.mark.parametrize(
    "answer_at,next_grant",
    [(0.01, 1.01), (0.0, 1.0), (None, 1.05), (0.2, 1.05)],
    ids=["answered after 10 ms", "answered at once", "never answered", "answered after 200 ms"],
)
async def test_a_slot_counts_until_a_period_after_its_answer_at_most_max_guard(
    answer_at: float | None, next_grant: float
) -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)  # max_guard 0.05
    slot = await limiter.acquire_slot("k", 1, 1.0)
    assert slot is not None
    if answer_at is not None:
        await clock.sleep(answer_at)
        slot.answered()
        slot.answered()  # a second call changes nothing
    await limiter.acquire_slot("k", 1, 1.0)
    assert clock.now() == pytest.approx(next_grant)


async def test_a_failed_call_frees_its_slot_after_max_guard_and_cancelled_waiters_take_none() -> (
    None
):
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    failed = await limiter.acquire_slot("k", 2, 1.0)  # t=0, never answered (the call failed)
    assert failed is not None
    queued = [asyncio.ensure_future(limiter.acquire_slot("k", 2, 1.0)) for _ in range(20)]
    await asyncio.sleep(0)
    for task in queued:
        task.cancel()
    await asyncio.gather(*queued, return_exceptions=True)
    assert all(t.cancelled() for t in queued)
    grants = []
    for _ in range(3):
        slot = await limiter.acquire_slot("k", 2, 1.0)
        assert slot is not None
        grants.append(clock.now())
        slot.answered()
    # the second slot at its paced time; the third once the failed one stops counting
    # (1 s + max_guard after its grant); the fourth at its paced time, when the second stops
    # counting (a period after its answer)
    assert grants == pytest.approx([0.5, 1.05, 1.5])


async def test_reset_detaches_slots_still_out() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock)
    slot = await limiter.acquire_slot("k", 1, 1.0)
    assert slot is not None
    limiter.reset()
    slot.answered()  # of a grant the limiter no longer remembers: no effect
    await limiter.acquire_slot("k", 1, 1.0)
    assert clock.now() == 0.0
    await limiter.acquire_slot("k", 1, 1.0)
    assert clock.now() == pytest.approx(1.05)


async def test_idle_keys_with_held_slots_are_forgotten() -> None:
    clock = VirtualClock()
    limiter = InProcessRateLimiter(clock=clock, forget_after=5.0)
    for i in range(1000):
        slot = await limiter.acquire_slot(f"client-{i}", 50, 1.0)
        assert slot is not None
        if i % 2:
            slot.answered()  # the other half never are
    await clock.sleep(7.0)
    await limiter.acquire_slot("client-0", 50, 1.0)
    assert limiter.keys == 1


# ---------------------------------------------------------------------------- through the client
async def test_the_client_holds_its_slots_until_the_answer_and_keeps_every_server_window() -> None:
    clock = VirtualClock()
    link = Link(clock, late_now_and_then(1200), latency=0.0005)

    class Wire(Transport):
        async def send(self, request: HTTPRequest) -> HTTPResponse:
            await link.call(None)
            return HTTPResponse(200, json={"roles": []})

    limiter = InProcessRateLimiter(clock=clock)
    async with OzonClient(
        "1", "k", limiter=limiter, clock=clock, rate_limit=200, transport=Wire()
    ) as client:
        sem = asyncio.Semaphore(100)

        async def one() -> None:
            async with sem:
                await client.roles.list_v1()

        await asyncio.gather(*[one() for _ in range(1200)])
    assert most_in_window(link.arrivals, 1.0) <= 200
    assert rate(link.arrivals) >= 0.99 * 200


class Told(RateLimiter):
    """Grants at once and notes what happens to each slot."""

    def __init__(self) -> None:
        self.acquired = 0
        self.answered: list[int] = []
        self.sent: list[int] = []

    async def acquire(self, key: str, requests: float, period: float) -> None:
        self.acquired += 1

    async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot:
        await self.acquire(key, requests, period)
        n = self.acquired
        told = self.answered

        sent = self.sent

        class Slot:
            def sending(self) -> None:
                sent.append(n)

            def answered(self) -> None:
                told.append(n)

        return Slot()

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        return 0.0


async def test_the_client_tells_every_answer_and_no_failure() -> None:
    clock = VirtualClock()
    limiter = Told()
    script = Script().on(
        "/v1/roles",
        status(500, {"code": 13, "message": "internal"}),  # an answer, then resent
        APIConnectionError("refused", sent=False),  # no answer, resent
        ok({"roles": []}),
    )
    script.on("/v1/barcode/generate", ok({"errors": []}))
    async with OzonClient(
        "1", "k", limiter=limiter, clock=clock, rate_limit=50, transport=script.transport
    ) as client:
        await client.roles.list_v1()
        assert limiter.acquired == 3  # one slot per attempt
        assert limiter.sent == [1, 2, 3]  # each told when its request went out
        assert limiter.answered == [1, 3]
        # a per-method limit takes its own slot as well, told the same way
        await client.barcode.generate_v1(product_ids=[1])
        assert limiter.acquired == 5 and limiter.answered == [1, 3, 4, 5]


class AcquireOnly(RateLimiter):
    """A limiter written before acquire_slot: acquire and acquire_window only."""

    def __init__(self, clock: VirtualClock) -> None:
        self.inner = InProcessRateLimiter(clock=clock)
        self.calls = 0

    async def acquire(self, key: str, requests: float, period: float) -> None:
        self.calls += 1
        await self.inner.acquire(key, requests, period)

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        return await self.inner.acquire_window(key, limit, period, wait=wait)


async def test_a_limiter_without_acquire_slot_still_paces_the_client() -> None:
    clock = VirtualClock()
    limiter = AcquireOnly(clock)
    assert await limiter.acquire_slot("k", 50, 1.0) is None  # the default: acquire, then None
    t = MockTransport(lambda r: ok({"roles": []}))
    async with OzonClient("1", "k", limiter=limiter, clock=clock, rate_limit=50, transport=t) as c:
        start = clock.now()
        await asyncio.gather(*[c.roles.list_v1() for _ in range(100)])
    assert limiter.calls == 101
    assert 99 / 50 <= clock.now() - start <= 100 / 50 * 1.03


async def test_a_subclass_that_wraps_acquire_is_still_called() -> None:
    clock = VirtualClock()
    seen: list[str] = []

    class Logged(InProcessRateLimiter):
        async def acquire(self, key: str, requests: float, period: float) -> None:
            seen.append(key)
            await super().acquire(key, requests, period)

    limiter = Logged(clock=clock)
    assert await limiter.acquire_slot("k", 1, 1.0) is None
    assert seen == ["k"]
    await limiter.acquire_slot("k", 1, 1.0)
    assert seen == ["k", "k"] and clock.now() == pytest.approx(1.0 + limiter.max_guard)
