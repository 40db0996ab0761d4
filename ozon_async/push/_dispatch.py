"""Running the handlers: events are taken from the store, never from the request that brought
them, so a slow or failing handler never delays Ozon's answer; a failing one is retried with
growing delays until it succeeds."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import time
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
    time, each handler call bounded by ``handler_timeout`` seconds."""

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
        self._running: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._stopping = False
        self._idle = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
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
        if self._running:
            _, late = await asyncio.wait(set(self._running), timeout=timeout)
            for t in late:
                t.cancel()
            if late:
                await asyncio.wait(late)

    async def idle(self) -> None:
        """Wait until no event is running and none is due now (retries later may remain)."""
        while True:
            self._idle.clear()
            self._wake.set()
            await self._idle.wait()
            if not self._running:
                return

    async def _loop(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                free = self.concurrency - len(self._running)
                events = await self.store.claim(self.clock.now(), free) if free > 0 else []
                backoff = 0.05
            except Exception:
                log.exception("push: the store could not be read; trying again")
                await self._wait(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            for ev in events:
                task = asyncio.get_running_loop().create_task(self._run(ev))
                self._running.add(task)
                task.add_done_callback(self._done)
            if events and len(self._running) < self.concurrency:
                continue  # there may be more due
            if not self._running:
                self._idle.set()
            await self._wait(await self._sleep_for())

    async def _sleep_for(self) -> float | None:
        try:
            due = await self.store.next_due()
        except Exception:
            log.exception("push: the store could not be read")
            due = None
        poll = self.store.poll_interval
        wait = None if due is None else max(0.0, due - self.clock.now())
        if poll is not None:
            wait = poll if wait is None else min(wait, poll)
        return wait

    async def _wait(self, seconds: float | None) -> None:
        if self._wake.is_set():
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
                await asyncio.wait_for(entry.fn(ev if entry.raw else event), self.handler_timeout)
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
            await self.store.complete(ev, now)
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
        await self.store.retry(
            ev,
            done=frozenset(done),
            next_at=now + retry_delay(self.retry, failures),
            error=error,
        )
