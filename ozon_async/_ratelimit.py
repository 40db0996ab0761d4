"""Client-side rate limiting.

Ozon counts requests per Client-Id: 50 per second across all methods, plus lower limits on some
methods (``x-ozon-rate-limit``) and per-item rules (one stock update per offer and warehouse every
30 s, ten price updates per product an hour). The client paces its requests so that it never
exceeds them: each request waits for the next free slot of its key instead of failing.

:class:`RateLimiter` is the interface; :class:`InProcessRateLimiter` implements it for one process
and is shared by every client of that process (so two clients with the same Client-Id share one
budget). A cross-process backend (Redis, a database) implements the same methods.
"""

from __future__ import annotations

import abc
import contextlib
import heapq
import itertools
import math
from collections import deque
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from ozon_async._clock import SYSTEM_CLOCK, Clock

if TYPE_CHECKING:
    import asyncio


class RateLimitSlot(Protocol):
    """A slot granted by :meth:`RateLimiter.acquire_slot`, held until its caller says that the
    server answered the request sent on it."""

    def sending(self) -> None:
        """The request is being handed to the transport now. A limiter may then trust it to
        arrive within its margin of now rather than of the grant, so that time lost between
        the grant and the send (a busy or stalled event loop, slow event hooks) does not let
        the request land in a later window than the slot covers. Call it once, before sending."""

    def answered(self) -> None:
        """The server's answer (any HTTP status) to the request sent on this slot has arrived,
        so the request reached the server before now. Call it at most once, and only when an
        answer came: a slot never answered (the call failed, timed out or was cancelled) frees
        itself after a bounded time."""


class Lease(Protocol):
    """A turn granted by :meth:`RateLimiter.acquire_lease`: one of at most ``limit`` holders of
    its key. It lapses ``ttl`` seconds after it was granted or last renewed, so a holder that
    dies never blocks the others for longer."""

    async def renew(self) -> bool:
        """Extend the lease by its ``ttl`` from now; ``False`` when it had lapsed and is lost."""

    async def release(self) -> None:
        """Give the turn back (idempotent)."""


class RateLimiter(abc.ABC):
    """Grants request slots per key."""

    @abc.abstractmethod
    async def acquire(self, key: str, requests: float, period: float) -> None:
        """Evenly paced slots: wait for the next slot of ``key`` at ``requests`` per ``period``
        seconds. A caller cancelled while waiting gives its slot back."""

    async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot | None:
        """:meth:`acquire`, for a caller that says when the answer to its request came back
        (the client does): returns a :class:`RateLimitSlot` to call ``answered()`` on then, or
        ``None`` when the limiter has no use for it. A request reaches the server between its
        grant and its answer, so a limiter may count the slot until ``period`` after the answer
        instead of guessing how late the request might arrive.

        The default waits in :meth:`acquire` and returns ``None``: limiters written before
        this method existed keep working unchanged."""
        await self.acquire(key, requests, period)
        return None

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        """Sliding window (per-item rules, e.g. one stock update per offer/warehouse pair per
        30 s, 10 price updates per product per hour): at most ``limit`` grants under ``key`` in
        any ``period`` seconds. Returns 0.0 when granted (after waiting for room if
        ``wait=True``). With ``wait=False`` and no room, grants nothing and returns the seconds
        until a grant would be possible.

        The default keeps the windows in this process (an :class:`InProcessRateLimiter` of this
        limiter's own), so a limiter that implements only :meth:`acquire` works everywhere the
        client needs windows (the bulk helpers' per-item rules). A limiter shared between
        processes overrides it to share the windows as well."""
        windows: InProcessRateLimiter | None = getattr(self, "_own_windows", None)
        if windows is None:
            # Set lazily: a subclass need not call RateLimiter.__init__.
            windows = InProcessRateLimiter(getattr(self, "clock", None))
            self._own_windows = windows
        return await windows.acquire_window(key, limit, period, wait=wait)

    async def acquire_lease(
        self, key: str, limit: int, ttl: float, *, timeout: float | None = None
    ) -> Lease:
        """Wait until fewer than ``limit`` leases of ``key`` are held, then hold one (for
        example an account's turn to run an export when Ozon allows one at a time). A lease
        lapses ``ttl`` seconds after its grant or last :meth:`Lease.renew`. Raises
        :class:`TimeoutError` when ``timeout`` seconds pass first.

        The default keeps leases in this process (a limiter shared across processes, such as
        :class:`~ozon_async.redis_limiter.RedisRateLimiter`, keeps them in its store)."""
        table = self.__dict__.get("_leases")
        if table is None:
            table = self.__dict__["_leases"] = LeaseTable(getattr(self, "clock", None))
        return await table.acquire(key, limit, ttl, timeout=timeout)

    async def aclose(self) -> None:
        """Release resources (default: nothing)."""
        return None


class _LocalLease:
    """A lease of a :class:`LeaseTable`."""

    __slots__ = ("expires", "key", "table", "ttl")

    def __init__(self, table: LeaseTable, key: str, ttl: float, expires: float) -> None:
        self.table: LeaseTable | None = table
        self.key = key
        self.ttl = ttl
        self.expires = expires

    async def renew(self) -> bool:
        table = self.table
        if table is None:
            return False
        now = table.clock.now()
        if now >= self.expires:  # lapsed: another holder may have its place already
            table.drop(self)
            return False
        self.expires = now + self.ttl
        return True

    async def release(self) -> None:
        if self.table is not None:
            self.table.drop(self)

    def __repr__(self) -> str:
        return f"<lease {self.key!r} {'held' if self.table is not None else 'released'}>"


class LeaseTable:
    """Leases kept in this process: holders per key, and the callers waiting in arrival order
    (woken at once by a release, or when the first holder's lease lapses)."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SYSTEM_CLOCK
        self._held: dict[str, list[_LocalLease]] = {}
        self._waiters: dict[str, deque[asyncio.Event]] = {}

    def _live(self, key: str) -> list[_LocalLease]:
        now = self.clock.now()
        held = [lease for lease in self._held.get(key, ()) if lease.expires > now]
        for lease in self._held.get(key, ()):
            if lease.expires <= now:
                lease.table = None
        if held:
            self._held[key] = held
        else:
            self._held.pop(key, None)
        return held

    def holders(self, key: str) -> int:
        """How many leases of ``key`` are held now."""
        return len(self._live(key))

    async def acquire(
        self, key: str, limit: int, ttl: float, *, timeout: float | None = None
    ) -> _LocalLease:
        import asyncio

        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        if not (ttl > 0 and math.isfinite(ttl)):
            raise ValueError(f"ttl must be positive, not {ttl!r}")
        clock = self.clock
        held = self._live(key)
        waiters = self._waiters.setdefault(key, deque())
        if len(held) < limit and not waiters:
            return self._grant(key, held, ttl)
        deadline = None if timeout is None else clock.now() + timeout
        me = asyncio.Event()
        waiters.append(me)
        try:
            while True:
                held = self._live(key)
                head = waiters[0] is me
                if head and len(held) < limit:
                    waiters.popleft()
                    lease = self._grant(key, held, ttl)
                    self._wake(key)  # the next in line may fit too
                    return lease
                now = clock.now()
                delay: float | None = None
                if head and held:  # the first lease to lapse frees a place
                    delay = max(0.0, min(lease.expires for lease in held) - now)
                if deadline is not None:
                    if now >= deadline:
                        raise TimeoutError(f"no lease of {key!r} within {timeout:g} s")
                    delay = deadline - now if delay is None else min(delay, deadline - now)
                me.clear()
                await first_of(me.wait(), None if delay is None else clock.sleep(delay))
        finally:
            if me in waiters:
                waiters.remove(me)
                self._wake(key)
            if not waiters:
                self._waiters.pop(key, None)

    def _grant(self, key: str, held: list[_LocalLease], ttl: float) -> _LocalLease:
        lease = _LocalLease(self, key, ttl, self.clock.now() + ttl)
        held.append(lease)
        self._held[key] = held
        return lease

    def drop(self, lease: _LocalLease) -> None:
        held = self._held.get(lease.key)
        lease.table = None
        if held and lease in held:
            held.remove(lease)
            if not held:
                self._held.pop(lease.key, None)
        self._wake(lease.key)

    def _wake(self, key: str) -> None:
        """Tell the first caller in line to look again."""
        waiters = self._waiters.get(key)
        if waiters:
            waiters[0].set()


async def first_of(first: Awaitable[Any], second: Awaitable[Any] | None) -> None:
    """Wait until ``first`` or ``second`` finishes; the other is cancelled."""
    import asyncio

    if second is None:
        await first
        return
    tasks = [asyncio.ensure_future(first), asyncio.ensure_future(second)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


#: Tie-breaker of equal release times in a lane's heap.
_ORDER = itertools.count()


class _Slot:
    """A grant of :meth:`InProcessRateLimiter.acquire_slot`. It counts against its lane until
    ``release``: ``period`` after ``latest`` (grant, or the moment of sending when later, +
    ``max_guard``: the latest arrival it is trusted for), brought forward to ``period`` after
    its answer when that comes sooner."""

    __slots__ = ("entry", "hold", "lane", "latest", "release")

    def __init__(self, lane: _Lane, latest: float, release: float, hold: float) -> None:
        self.lane: _Lane | None = lane
        self.latest = latest
        self.release = release
        self.hold = hold
        self._push(lane)

    def _push(self, lane: _Lane) -> None:
        """Put the slot's release in the lane's heap; its earlier entries go stale (``entry``
        names the one that counts)."""
        self.entry = next(_ORDER)
        heapq.heappush(lane.releases, (self.release, self.entry, self))

    def sending(self) -> None:
        lane = self.lane
        if lane is None:
            return
        late = lane.clock.now() + self.hold - self.latest
        if late > 0:  # sent later than granted: trusted from now, not from the grant
            self.latest += late
            self.release += late
            self._push(lane)

    def answered(self) -> None:
        lane = self.lane
        if lane is None:  # answered already, or the limiter was reset
            return
        self.lane = None
        early = self.latest - lane.clock.now()
        if early > 0:
            # The old entry in the heap goes stale (its time is no longer the slot's).
            self.release -= early
            self._push(lane)


class _Lane:
    """The state of one key: the grants that still count, the next paced slot, and the callers
    queued for it.

    ``releases`` is a heap of ``(time, order, slot)``: when each grant stops counting. A grant of
    :meth:`InProcessRateLimiter.acquire` (``slot`` None) counts for ``period + guard``; one of
    ``acquire_slot`` for ``period`` after its answer, at most ``period + max_guard``: answering
    pushes an earlier entry and leaves the first one stale (skipped). ``held`` counts the grants
    that still count, as of the last :meth:`earliest`.

    Grants are only recorded when made, so a caller that gives up (is cancelled) while queued
    takes nothing from the others. One queued caller at a time (the head, ``busy``) sleeps until
    the next grant is possible; the rest wait in ``waiters`` in arrival order.
    """

    __slots__ = (
        "busy",
        "cap",
        "clock",
        "guard",
        "held",
        "interval",
        "next",
        "period",
        "releases",
        "waiters",
    )

    def __init__(
        self, clock: Clock, interval: float, cap: int, period: float, guard: float
    ) -> None:
        self.clock = clock
        self.interval = interval
        self.cap = cap
        self.period = period
        self.guard = guard
        self.releases: list[tuple[float, int, _Slot | None]] = []
        self.held = 0
        self.next = -math.inf
        self.waiters: deque[asyncio.Future[None]] = deque()
        self.busy = False

    def configure(self, interval: float, cap: int, period: float, guard: float) -> None:
        self.interval = interval
        self.cap = cap
        self.period = period
        self.guard = guard

    def _expire(self, now: float) -> None:
        releases = self.releases
        while releases and releases[0][0] <= now:
            _, order, slot = heapq.heappop(releases)
            if slot is None or slot.entry == order:
                self.held -= 1

    def _room(self, k: int) -> float:
        """When the ``k + 1``-th grant that still counts stops counting."""
        releases = self.releases
        if k == 0:
            while True:
                at, order, slot = releases[0]
                if slot is None or slot.entry == order:
                    return at
                heapq.heappop(releases)  # stale
        live = sorted(at for at, order, slot in releases if slot is None or slot.entry == order)
        return live[k]

    def earliest(self, now: float) -> float:
        """When the next grant may be made (``now`` or later)."""
        t = self.next if self.next > now else now
        self._expire(now)
        over = self.held - self.cap
        if over >= 0:
            room = self._room(over)
            if room > t:
                t = room
        return t

    def grant(self, now: float, queued: bool = False, hold: float | None = None) -> _Slot | None:
        """Record a grant made at ``now``: held until answered (at most ``hold`` seconds
        more) when ``hold`` is given, else for ``period + guard``. ``queued``: the caller waited
        in line for it, so the schedule is kept even if the event loop woke it late (the next
        grants catch up, within the window); otherwise the schedule restarts from now."""
        slot = None
        if hold is None:
            heapq.heappush(self.releases, (now + self.period + self.guard, next(_ORDER), None))
        else:
            latest = now + hold
            slot = _Slot(self, latest, latest + self.period, hold)  # its entry in the heap
        self.held += 1
        at = now
        if queued and self.next > now - self.period - self.guard:
            at = self.next if self.next < now else now
        self.next = at + self.interval
        return slot

    def idle(self, now: float) -> bool:
        """Nothing queued and nothing remembered that could still delay a grant."""
        if self.busy or self.waiters or self.next > now:
            return False
        self._expire(now)
        return self.held == 0

    def forget(self) -> None:
        """Drop every grant (slots still out are detached: answering them does nothing)."""
        for _, _, slot in self.releases:
            if slot is not None:
                slot.lane = None
        self.releases.clear()
        self.held = 0
        self.next = -math.inf

    def projected(self, now: float, count: int) -> float:
        """When grant number ``count`` (1 for the next) from ``now`` could be made, if each one
        were made as early as possible."""
        twin = _Lane(self.clock, self.interval, self.cap, self.period, self.guard)
        twin.releases = self.releases.copy()  # a copy of a heap is a heap
        twin.held = self.held
        twin.next = self.next
        t = now
        for _ in range(count):
            t = twin.earliest(t)
            twin.grant(t, queued=True)
        return t


class InProcessRateLimiter(RateLimiter):
    """Rate limits kept in this process (no lock: one event loop at a time).

    Paced slots are spaced evenly, ``period / requests`` apart, and at most ``requests`` of
    them count at any moment. How long a slot counts is what keeps the server from ever seeing
    more than ``requests`` arrivals in any ``period``, even when a busy event loop sends some
    requests late:

    * a slot of :meth:`acquire_slot` (what :class:`~ozon_async.OzonClient` uses) counts from
      its grant until ``period`` after its answer came back, or after the moment the request
      went out (``sending()``; the grant if never told) plus ``max_guard`` if that is sooner.
      The request reached the server between the grant and the answer, so while answers come
      within ``max_guard`` (50 ms) of the sending the limit holds however late each request
      was sent, even after an event loop blocked for longer than ``max_guard``. The cost is the answer's delay, at most ``max_guard``, once
      per ``period``: 0.1 % of the rate when answers take 1 ms, 4.8 % when they take longer
      than 50 ms (Ozon over the internet: 50 rps is paced at 47.6). A call that fails without
      an answer keeps its slot the whole ``max_guard``.
    * a slot of :meth:`acquire`, whose caller says nothing after the grant, counts for
      ``period`` plus a guard of one pacing interval (at least ``guard``, at most
      ``max_guard``): 0.5 % of the rate at 200 requests a second, 2 % at 50.

    ``acquire_window`` keeps a sliding window (counting each grant ``period + guard``) without
    the spacing.

    Callers wait in arrival order; one cancelled while waiting takes no slot. Keys unused for a
    while are forgotten, so memory follows the keys in use, not every key ever seen. A subclass
    that overrides :meth:`acquire` (and not :meth:`acquire_slot`) keeps being called through
    it, with its slots counted as :meth:`acquire`'s.

    Args:
        clock: time source (tests pass a virtual clock).
        guard, max_guard: the least and the most seconds a grant of :meth:`acquire` is trusted
            to reach the server late (5 ms, 50 ms); ``max_guard`` is also the longest a slot of
            :meth:`acquire_slot` waits for its answer (lower it to pace closer to the limit on a
            slow link, at the price of that margin).
        forget_after: how often (seconds) idle keys are swept out.
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        guard: float = 0.005,
        max_guard: float = 0.05,
        forget_after: float = 5.0,
    ) -> None:
        if not 0 <= guard <= max_guard or forget_after <= 0:
            raise ValueError("need 0 <= guard <= max_guard and a positive forget_after")
        self.clock: Clock = clock or SYSTEM_CLOCK
        self.guard = guard
        self.max_guard = max_guard
        self.forget_after = forget_after
        self._paced: dict[str, _Lane] = {}
        self._windows: dict[str, _Lane] = {}
        self._next_sweep = -math.inf
        # A subclass that wraps ``acquire`` is still called through it by ``acquire_slot``.
        self._own_acquire = type(self).acquire is InProcessRateLimiter.acquire

    # ------------------------------------------------------------------ interface
    async def acquire(self, key: str, requests: float, period: float) -> None:
        await self._take(self._paced_lane(key, requests, period), None)

    async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot | None:
        if not self._own_acquire:
            await self.acquire(key, requests, period)
            return None
        return await self._take(self._paced_lane(key, requests, period), self.max_guard)

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive integer, not {limit!r}")
        if not (period > 0 and math.isfinite(period)):
            raise ValueError(f"period must be positive, not {period!r}")
        lane = self._lane(self._windows, key, 0.0, limit, period, self.guard)
        if wait:
            await self._take(lane, None)
            return 0.0
        now = self.clock.now()
        if lane.busy:  # others are queued: room for this caller only after theirs
            ahead = 1 + len(lane.waiters)
            at = lane.projected(now, ahead + 1)
            if at > now:
                return at - now
        else:
            at = lane.earliest(now)
            if at > now:
                return at - now
        lane.grant(now)
        return 0.0

    # ------------------------------------------------------------------ machinery
    def _paced_lane(self, key: str, requests: float, period: float) -> _Lane:
        if not (requests > 0 and period > 0 and math.isfinite(requests / period)):
            raise ValueError(f"requests and period must be positive, not {requests!r}/{period!r}")
        interval = period / requests
        guard = max(self.guard, min(interval, self.max_guard))
        return self._lane(self._paced, key, interval, max(1, int(requests)), period, guard)

    def _lane(
        self,
        lanes: dict[str, _Lane],
        key: str,
        interval: float,
        cap: int,
        period: float,
        guard: float,
    ) -> _Lane:
        now = self.clock.now()
        if now >= self._next_sweep:
            self._sweep(now)
        lane = lanes.get(key)
        if lane is None:
            lane = lanes[key] = _Lane(self.clock, interval, cap, period, guard)
        elif (
            lane.interval != interval
            or lane.cap != cap
            or lane.period != period
            or lane.guard != guard
        ):
            lane.configure(interval, cap, period, guard)
        return lane

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + self.forget_after
        for lanes in (self._paced, self._windows):
            for key in [k for k, lane in lanes.items() if lane.idle(now)]:
                del lanes[key]

    async def _take(self, lane: _Lane, hold: float | None) -> _Slot | None:
        """Wait for a grant of ``lane`` and make it (held until answered when ``hold`` is
        given, see :meth:`_Lane.grant`)."""
        clock = self.clock
        now = clock.now()
        if not lane.busy:
            if lane.earliest(now) <= now:
                return lane.grant(now, hold=hold)
            lane.busy = True
        else:
            await self._queue(lane)  # returns once this caller is the head
        try:
            while True:
                now = clock.now()
                at = lane.earliest(now)
                if at <= now:
                    break
                # An answer that comes meanwhile may free a slot sooner; the wait stays
                # bounded by the slot's ``max_guard``.
                await clock.sleep(at - now)
            return lane.grant(now, queued=True, hold=hold)
        finally:
            self._hand_over(lane)

    @staticmethod
    async def _queue(lane: _Lane) -> None:
        import asyncio

        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        lane.waiters.append(fut)
        try:
            await fut
        except BaseException:
            if fut.done() and not fut.cancelled():
                InProcessRateLimiter._hand_over(lane)  # made head, then cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    lane.waiters.remove(fut)
            raise

    @staticmethod
    def _hand_over(lane: _Lane) -> None:
        """The head is done: make the next waiting caller the head, or mark the lane free."""
        waiters = lane.waiters
        while waiters:
            fut = waiters.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        lane.busy = False

    # ------------------------------------------------------------------ inspection
    @property
    def keys(self) -> int:
        """How many keys are remembered now."""
        return len(self._paced) + len(self._windows)

    def reset(self) -> None:
        """Forget all keys (callers waiting now keep their places)."""
        for lane in (*self._paced.values(), *self._windows.values()):
            lane.forget()
        self._paced = {k: lane for k, lane in self._paced.items() if lane.busy}
        self._windows = {k: lane for k, lane in self._windows.items() if lane.busy}


#: The limiter every client of this process uses unless given another.
DEFAULT_LIMITER = InProcessRateLimiter()
