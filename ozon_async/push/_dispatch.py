"""Running the handlers: events are taken from the store, never from the request that brought
them, so a slow or failing handler never delays Ozon's answer; a failing one is retried with
growing delays until it succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from ozon_async.push._base import PushEventBase, UnknownEvent
from ozon_async.push._decode import BadEvent, decode_event, read_body
from ozon_async.push._events import EVENT_TYPES
from ozon_async.push._store import PushStore, StoredEvent

__all__ = ["HandlerRetry", "Handlers", "PushClock", "retry_delay"]

log = logging.getLogger("ozon_async.push")

Handler = Callable[[Any], Awaitable[Any]]


class PushClock(Protocol):
    """Wall-clock time in epoch seconds (stored with the events) and a way to wait.
    :class:`ozon_async.testing.ManualClock` is one."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """The real clock: :func:`time.time` and :func:`asyncio.sleep`."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class HandlerRetry:
    """How a failed handler is retried: after ``initial`` seconds, then each delay ``factor``
    times the one before, at most ``max_delay``. ``max_attempts`` (``None``: never) is how many
    failed runs make the event *failed* (kept in the store; see ``PushReceiver.failed_events``)."""

    initial: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    max_attempts: int | None = None

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.factor < 1 or self.max_delay < self.initial:
            raise ValueError("HandlerRetry needs initial > 0, factor >= 1, max_delay >= initial")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError("HandlerRetry.max_attempts must be at least 1 (or None)")


def retry_delay(policy: HandlerRetry, failures: int) -> float:
    """Seconds to wait before the next run after ``failures`` failed runs (1 or more)."""
    return float(min(policy.max_delay, policy.initial * policy.factor ** max(0, failures - 1)))


@dataclass(frozen=True)
class _Entry:
    name: str
    fn: Handler
    types: frozenset[str] | None  # None: every event, the unknown ones too
    unknown: bool  # takes UnknownEvent
    raw: bool  # takes the StoredEvent (the body as received) instead of the typed event


class Handlers:
    """The handlers of a receiver, by event type. A handler has a name (default: its qualified
    name) under which the store remembers that it succeeded for an event."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []

    def add(
        self, fn: Handler, types: Iterable[Any] = (), name: str | None = None, raw: bool = False
    ) -> None:
        if not inspect.iscoroutinefunction(fn) and not inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - an object with an async __call__
        ):
            raise TypeError(f"{fn!r}: a push handler must be an async function")
        wanted: set[str] = set()
        unknown = False
        for t in types:
            if t is UnknownEvent:
                unknown = True
            elif isinstance(t, type) and issubclass(t, PushEventBase):
                tag = t.__struct_config__.tag
                if not isinstance(tag, str):
                    raise TypeError(f"{t.__name__} is not an event class")
                wanted.add(tag)
            elif isinstance(t, str) and t:
                if t == "TYPE_PING":
                    raise ValueError("TYPE_PING is answered by the receiver, never handled")
                wanted.add(t)
            else:
                raise TypeError(
                    f"{t!r}: give event classes (PushNewPosting), message_type strings or "
                    "UnknownEvent"
                )
        if "TYPE_PING" in wanted:
            raise ValueError("TYPE_PING is answered by the receiver, never handled")
        label = name or getattr(fn, "__qualname__", None) or repr(fn)
        if any(e.name == label for e in self._entries):
            raise ValueError(f"a handler named {label!r} is registered already; pass name=...")
        types_set = frozenset(wanted) if (wanted or unknown) else None
        self._entries.append(_Entry(label, fn, types_set, unknown, raw))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return [e.name for e in self._entries]

    def for_event(self, event: PushEventBase | UnknownEvent) -> list[_Entry]:
        """The handlers of an event: those of its type (a typed event to the typed handlers, an
        unknown one to those that asked for UnknownEvent or its message_type string) and the ones
        for every event."""
        if isinstance(event, UnknownEvent):
            mt = event.message_type
            typed = mt in EVENT_TYPES  # a listed type whose body did not fit: not for typed ones
            return [
                e
                for e in self._entries
                if e.types is None or e.unknown or (not typed and mt in e.types)
            ]
        mt = event.message_type
        return [e for e in self._entries if e.types is None or mt in e.types]


class Dispatcher:
    """Takes due events from the store and runs their handlers, ``concurrency`` events at a
    time, each handler call bounded by ``handler_timeout`` seconds.

    Events are claimed from the store in batches (up to twice ``concurrency`` ahead), so a busy
    receiver reads the store once for many events; it reads again when told that new events were
    stored (:meth:`wake`), when the earliest retry it knows of comes due, every
    ``store.poll_interval`` seconds (events other receivers stored), and when its last batch was
    full.
    """

    def __init__(
        self,
        store: PushStore,
        handlers: Handlers,
        *,
        clock: PushClock,
        retry: HandlerRetry,
        concurrency: int,
        handler_timeout: float,
    ) -> None:
        self.store = store
        self.handlers = handlers
        self.clock = clock
        self.retry = retry
        self.concurrency = concurrency
        self.handler_timeout = handler_timeout
        self._wake = asyncio.Event()
        self._claim = True  # read the store at the next turn
        self._due_at: float | None = None  # the earliest retry known to come due
        self._ready: deque[StoredEvent] = deque()  # claimed, not started
        self._running: set[asyncio.Task[None]] = set()
        self._finishing: set[asyncio.Task[None]] = set()  # writing "handled" marks
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()

    def wake(self) -> None:
        """New events were stored: read the store."""
        self._claim = True
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._claim = True
        self._loop_task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self, timeout: float) -> None:
        """Stop taking events; wait up to ``timeout`` seconds for running handlers, then cancel
        them (their events stay pending and run again after a restart)."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        self._ready.clear()
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=timeout)
            for t in late:
                t.cancel()
            if late:
                await asyncio.wait(late)
        if self._finishing:
            await asyncio.wait(set(self._finishing))

    async def idle(self) -> None:
        """Wait until no event is running and none is due now (retries later may remain)."""
        while True:
            self._idle.clear()
            self.wake()
            await self._idle.wait()
            if not self._running and not self._ready:
                return

    async def _loop(self) -> None:
        backoff = 0.05
        loop = asyncio.get_running_loop()
        while not self._stopping:
            now = self.clock.now()
            if self._due_at is not None and self._due_at <= now:
                self._due_at, self._claim = None, True
            room = 2 * self.concurrency - len(self._ready) - len(self._running)
            if self._claim and room > 0:
                self._claim = False
                try:
                    events = await self.store.claim(now, room)
                    if len(events) < room:  # every due event is claimed: when is the next?
                        due = await self.store.next_due()
                        if due is not None and (self._due_at is None or due < self._due_at):
                            self._due_at = due
                    backoff = 0.05
                except Exception:
                    log.exception("push: the store could not be read; trying again")
                    self._claim = True
                    await self._wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                    continue
                self._ready.extend(events)
                if len(events) == room:
                    self._claim = True  # a full batch: there may be more
            while self._ready and len(self._running) < self.concurrency:
                task = loop.create_task(self._run(self._ready.popleft()))
                self._running.add(task)
                task.add_done_callback(self._done)
            if self._claim and len(self._ready) + len(self._running) < 2 * self.concurrency:
                continue
            if not self._running and not self._ready and not self._claim:
                self._idle.set()
            await self._wait(self._sleep_for())

    def _sleep_for(self) -> float | None:
        poll = self.store.poll_interval
        wait = None if self._due_at is None else max(0.0, self._due_at - self.clock.now())
        if poll is not None:
            wait = poll if wait is None else min(wait, poll)
        if poll is not None and wait == poll:
            self._claim = True  # after a poll interval, read the store again
        return wait

    async def _wait(self, seconds: float | None) -> None:
        """Until :meth:`wake`, a task ends, or ``seconds`` of the clock passed."""
        if self._wake.is_set():
            self._wake.clear()
            return
        if isinstance(self.clock, WallClock):  # a timer, not a task, on the real clock
            timer = (
                asyncio.get_running_loop().call_later(seconds, self._wake.set)
                if seconds is not None
                else None
            )
            try:
                await self._wake.wait()
            finally:
                if timer is not None:
                    timer.cancel()
            self._wake.clear()
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds)) if seconds is not None else None
        try:
            await asyncio.wait(
                {waiter, sleeper} if sleeper is not None else {waiter},
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            for t in (waiter, sleeper):
                if t is not None and not t.done():
                    t.cancel()
        self._wake.clear()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("push: dispatching failed", exc_info=task.exception())
        self._wake.set()

    async def _complete(self, ev: StoredEvent, now: float) -> None:
        try:
            await self.store.complete(ev, now)
        except Exception:  # the event stays pending and runs again: at least once
            log.exception("push: could not mark %s %s as handled", ev.message_type, ev.key)

    async def _call(self, fn: Handler, arg: Any) -> None:
        if sys.version_info >= (3, 11):  # no extra task per call
            async with asyncio.timeout(self.handler_timeout):
                await fn(arg)
        else:  # pragma: no cover - Python 3.10
            await asyncio.wait_for(fn(arg), self.handler_timeout)

    async def _run(self, ev: StoredEvent) -> None:
        try:
            event = decode_event(read_body(ev.body))
        except BadEvent as exc:  # not from this receiver (it checks every body it stores)
            log.error("push: stored event %s is unreadable: %s", ev.key, exc)
            await self.store.give_up(ev, done=ev.done, error=str(exc), now=self.clock.now())
            return
        if isinstance(event, UnknownEvent) and event.error:
            log.warning(
                "push: a %s event does not fit its class (%s); handlers for every event and "
                "for UnknownEvent get it",
                event.message_type,
                event.error,
            )
        done = set(ev.done)
        errors: list[str] = []
        for entry in self.handlers.for_event(event):
            if entry.name in done:
                continue
            try:
                await self._call(entry.fn, ev if entry.raw else event)
            except asyncio.CancelledError:
                if self._stopping:
                    raise  # the event stays pending (claimed only in memory)
                errors.append(f"{entry.name}: cancelled")
            except Exception as exc:
                kind = "timed out" if isinstance(exc, asyncio.TimeoutError) else repr(exc)
                errors.append(f"{entry.name}: {kind}")
                log.warning(
                    "push: handler %s failed for %s %s (run %d): %s",
                    entry.name,
                    ev.message_type,
                    ev.key,
                    ev.attempts + 1,
                    kind,
                )
            else:
                done.add(entry.name)
        now = self.clock.now()
        if not errors:
            # marked handled in the background: the slot is free for the next event, and the
            # marks of many events share one commit
            task = asyncio.get_running_loop().create_task(self._complete(ev, now))
            self._finishing.add(task)
            task.add_done_callback(self._finishing.discard)
            return
        failures = ev.attempts + 1
        error = "; ".join(errors)
        if self.retry.max_attempts is not None and failures >= self.retry.max_attempts:
            log.error(
                "push: giving up on %s %s after %d runs (kept as failed): %s",
                ev.message_type,
                ev.key,
                failures,
                error,
            )
            await self.store.give_up(ev, done=frozenset(done), error=error, now=now)
            return
        next_at = now + retry_delay(self.retry, failures)
        await self.store.retry(ev, done=frozenset(done), next_at=next_at, error=error)
        if self._due_at is None or next_at < self._due_at:
            self._due_at = next_at
