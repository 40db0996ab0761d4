"""InProcessRateLimiter.acquire_window: the sliding window the per-item rules rely on."""

from __future__ import annotations

import pytest

from ozon_async import InProcessRateLimiter
from tests.helpers import VirtualClock


async def test_grants_up_to_the_limit_then_reports_or_waits_for_room() -> None:
    clock = VirtualClock()
    lim = InProcessRateLimiter(clock)
    assert [await lim.acquire_window("k", 2, 30.0, wait=False) for _ in range(2)] == [0.0, 0.0]
    assert await lim.acquire_window("k", 2, 30.0, wait=False) == pytest.approx(
        30.0, abs=0.05
    )  # nothing granted
    assert await lim.acquire_window("other", 2, 30.0, wait=False) == 0.0
    await clock.sleep(10.0)
    assert await lim.acquire_window("k", 2, 30.0, wait=False) == pytest.approx(20.0, abs=0.05)
    assert await lim.acquire_window("k", 2, 30.0) == 0.0  # waits for the oldest to expire
    assert clock.now() == pytest.approx(30.0, abs=0.05)
    # both grants of time 0 have expired: one more fits, then the window is full until 60 s
    assert await lim.acquire_window("k", 2, 30.0, wait=False) == 0.0
    assert await lim.acquire_window("k", 2, 30.0, wait=False) == pytest.approx(30.0, abs=0.05)
    with pytest.raises(ValueError):
        await lim.acquire_window("k", 0, 30.0)


async def test_forgetting_idle_keys_respects_each_keys_own_period() -> None:
    clock = VirtualClock()
    lim = InProcessRateLimiter(clock)
    await lim.acquire_window("hourly", 1, 3600.0)
    for n in range(3000):  # many short-lived keys trigger the sweep
        await lim.acquire_window(f"pair-{n}", 1, 30.0)
        if n % 500 == 0:
            await clock.sleep(31.0)
    assert await lim.acquire_window("hourly", 1, 3600.0, wait=False) > 0
    assert lim.keys < 3000
