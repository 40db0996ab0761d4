"""InProcessRateLimiter under a virtual clock: pacing, the sliding window, cancellation,
forgetting idle keys, and acquire_window."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest

from ozon_async import InProcessRateLimiter, RateLimiter
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
    assert not RateLimiter.__abstractmethods__ - {"acquire", "acquire_window"}
