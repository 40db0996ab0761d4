"""Sandbox time: a clock tests move by hand, and a real clock that can run faster than real time.

Both tell time in epoch seconds (``now()``) and can ``sleep``, so either can also be given to an
:class:`ozon_async.OzonClient` (its ``clock`` only needs ``now`` and ``sleep``): the client's pacing
and the sandbox's rules then see the same time.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import datetime, timezone
from typing import Protocol

__all__ = ["ManualClock", "SandboxClock", "ScaledClock"]

# The default start of a manual clock: a fixed instant, so that two sandboxes built from the same
# seed without a clock argument agree to the second.
DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _epoch(start: datetime | float | None, default: float) -> float:
    if start is None:
        return default
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ValueError(
                "start must be timezone-aware (e.g. datetime(..., tzinfo=timezone.utc))"
            )
        return start.timestamp()
    return float(start)


class SandboxClock(Protocol):
    """What the sandbox needs from a clock."""

    def now(self) -> float:
        """Epoch seconds; never goes backwards."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...


class ManualClock:
    """Time that moves only when told to: :meth:`advance`, or a :meth:`sleep` nobody else is
    waiting behind.

    ``advance(30)`` moves time forward and wakes every sleeper whose time has come. ``sleep(s)``
    parks the caller; once the event loop has nothing else to run, time jumps to the earliest
    wake-up, so code that sleeps (a client pacing its requests, a poller) runs instantly in
    sandbox time while keeping the order of events.

    Args:
        start: the initial time (an aware datetime or epoch seconds); default 2026-03-02 09:00 UTC.
    """

    def __init__(self, start: datetime | float | None = None) -> None:
        self._t = _epoch(start, DEFAULT_START.timestamp())
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._t

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self._t, timezone.utc)

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake the sleepers that are due."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._t += seconds
        self._wake()

    def _wake(self) -> None:
        while self._heap and self._heap[0][0] <= self._t:
            _, _, fut = heapq.heappop(self._heap)
            if not fut.done():
                fut.set_result(None)

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self._t + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            if not self._heap:
                break
            when = self._heap[0][0]
            if when > self._t:
                self._t = when
            self._wake()


class ScaledClock:
    """Real time, optionally running ``speed`` times faster (``speed=60``: a minute a second).

    Args:
        speed: how many sandbox seconds pass per real second.
        start: the sandbox time at creation (aware datetime or epoch seconds); default: now.
    """

    def __init__(self, speed: float = 1.0, start: datetime | float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = _epoch(start, time.time())
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self.speed

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now(), timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
