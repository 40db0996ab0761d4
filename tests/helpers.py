"""Test helpers: a virtual clock so that pacing and backoff tests never sleep."""

from __future__ import annotations

import asyncio
import heapq
import itertools


class VirtualClock:
    """A clock whose time only moves when every task is waiting on it.

    ``sleep`` parks the caller; a driver task lets the event loop settle, then jumps time to the
    earliest wake-up and releases that sleeper. ``sleeps`` records every requested duration.
    """

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []
        self._heap: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()
        self._driver: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heap, (self.t + seconds, next(self._seq), fut))
        if self._driver is None or self._driver.done():
            self._driver = asyncio.ensure_future(self._drive())
        await fut

    async def _drive(self) -> None:
        while self._heap:
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            when, _, fut = heapq.heappop(self._heap)
            self.t = max(self.t, when)
            if not fut.done():
                fut.set_result(None)
