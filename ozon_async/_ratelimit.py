"""Client-side rate limiting.

Ozon counts requests per Client-Id: 50 per second across all methods, plus lower limits on some
methods (``x-ozon-rate-limit``). The client paces its requests so that it never exceeds them: each
request takes the next free slot of its key, slots are evenly spaced (no bursts), and a request
waits for its slot instead of failing.

:class:`RateLimiter` is the interface; :class:`InProcessRateLimiter` implements it for one process
and is shared by every client of that process (so two clients with the same Client-Id share one
budget). A cross-process backend (Redis, a database) implements the same ``acquire``.
"""

from __future__ import annotations

import abc
from collections import deque

from ozon_async._clock import SYSTEM_CLOCK, Clock


class RateLimiter(abc.ABC):
    """Grants request slots per key."""

    @abc.abstractmethod
    async def acquire(self, key: str, requests: float, period: float) -> None:
        """Evenly paced slots: wait for the next slot of ``key`` at ``requests`` per ``period``
        seconds. A caller cancelled while waiting gives its slot back."""

    @abc.abstractmethod
    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        """Sliding window (per-item rules): at most ``limit`` grants under ``key`` in any
        ``period`` seconds. Returns 0.0 when granted (after waiting for room if ``wait``); with
        ``wait=False`` and no room, grants nothing and returns the seconds until it could."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release resources (default: nothing)."""


class InProcessRateLimiter(RateLimiter):
    """Evenly paced slots per key, within one process.

    Each key remembers when its next free slot starts. ``acquire`` takes that slot (or now, when
    the key has been idle) and moves it on by ``period / requests`` before it waits, so concurrent
    callers queue in order without a lock. A second check guards against a busy event loop waking
    several waiters late at once: no more than ``requests`` grants ever fall within one ``period``.

    Args:
        clock: time source (tests pass a virtual clock).
        margin: fraction by which pacing stays under the limit (default 1 %). The window check
            grants at most ``requests * (1 - 2 * margin)`` requests in any ``period``, leaving a
            few requests of room for those that reach the server later than planned (a busy
            event loop sends some of them late, in a bunch).
    """

    def __init__(self, clock: Clock | None = None, margin: float = 0.01) -> None:
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.margin = margin
        self._next: dict[str, float] = {}
        self._log: dict[str, deque[float]] = {}
        self._windows: dict[str, tuple[float, deque[float]]] = {}
        self._sweep_at = 1024

    async def acquire(self, key: str, requests: float, period: float) -> None:
        interval = period / (requests * (1.0 - self.margin))
        clock = self.clock
        now = clock.now()
        slot = max(now, self._next.get(key, now))
        self._next[key] = slot + interval
        if slot > now:
            await clock.sleep(slot - now)
        size = max(1, int(requests * (1.0 - 2 * self.margin)))
        window = period
        log = self._log.get(key)
        if log is None or log.maxlen != size:
            log = self._log[key] = deque(log or (), maxlen=size)
        t = clock.now()
        while len(log) == size and t < log[0] + window:
            await clock.sleep(log[0] + window - t)
            t = clock.now()
        log.append(t)

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        if limit < 1 or period <= 0:
            raise ValueError("acquire_window needs limit >= 1 and period > 0")
        clock = self.clock
        while True:
            now = clock.now()
            entry = self._windows.get(key)
            if entry is None:
                if len(self._windows) >= self._sweep_at:
                    self._sweep(now)
                entry = self._windows[key] = (period, deque())
            grants = entry[1]  # grant times under this key, oldest first
            while grants and grants[0] <= now - period:
                grants.popleft()
            if len(grants) < limit:
                grants.append(now)
                return 0.0
            delay = grants[0] + period - now
            if not wait:
                return delay
            await clock.sleep(delay)

    def _sweep(self, now: float) -> None:
        """Forget window keys whose last grant is older than their period (bounded memory)."""
        windows = self._windows
        for k in [k for k, (per, g) in windows.items() if not g or g[-1] <= now - per]:
            del windows[k]
        self._sweep_at = max(1024, 2 * len(windows))

    def reset(self) -> None:
        """Forget all keys."""
        self._next.clear()
        self._log.clear()
        self._windows.clear()


#: The limiter every client of this process uses unless given another.
DEFAULT_LIMITER = InProcessRateLimiter()
