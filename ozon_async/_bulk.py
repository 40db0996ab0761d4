"""Bulk writes: any number of items, split into requests, sent within every limit Ozon states.

``client.products.stocks_v2.bulk(items)`` (any operation with ``x-ozon-batch``) validates every
item before anything is sent, then sends requests of at most the operation's maximum, a few at a
time, paced by the operation's rate limit. Each item gets one :class:`ItemOutcome`, aligned with
the input: ``ok``, ``failed`` (Ozon's per-item error, or the error of its whole request) or
``retry_later`` (its per-item limit leaves no room in time).

Per-item limits (``x-ozon-item-rate-limit``, e.g. one stock update per offer/warehouse pair per
30 s) are kept through the client's :class:`~ozon_async.RateLimiter` (``acquire_window``), keyed
per Client-Id, so that processes sharing a cross-process limiter share them too. Items that
identify the same thing are sent in input order, never two in one request or in two requests at
once, so the last update given is the last one applied.

Nothing is resent that the client's retry rules would not resend: a request that fails as a whole
(after the client's own retries) marks its items failed. The one exception is the per-item code
of a broken per-item limit (``TOO_MANY_REQUESTS`` for stocks): Ozon did not apply that item, so it
is sent once more after its window.
"""

from __future__ import annotations

import asyncio
import heapq
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import msgspec

from ozon_async._codec import _field_path, build_request
from ozon_async._exceptions import APIStatusError, OzonError, RequestValidationError
from ozon_async._operation import Batch, Operation
from ozon_async._options import OPTION_NAMES

if TYPE_CHECKING:
    from ozon_async._client import OzonClient
    from ozon_async._clock import Clock
    from ozon_async._ratelimit import RateLimiter

__all__ = ["BulkError", "BulkResult", "ItemError", "ItemOutcome", "ItemStatus", "run_bulk"]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

ItemStatus = Literal["ok", "failed", "retry_later"]

#: Default number of requests of one bulk call in flight at once.
DEFAULT_CONCURRENCY = 4

Key = tuple[int, tuple[str, ...]]


@dataclass(frozen=True)
class ItemError:
    """Why one item was not applied.

    Attributes:
        code: Ozon's per-item error code (``"TOO_MANY_REQUESTS"``...), Ozon's error code of a
            request that failed as a whole, or ``None`` when Ozon gave none.
        message: Ozon's text.
        details: every error Ozon reported for the item (answer models), when it gave a list.
        status: the HTTP status when the item's whole request failed with an error answer.
        exception: the exception of the item's whole request, when that request failed.
    """

    code: str | None
    message: str
    details: tuple[Any, ...] = ()
    status: int | None = None
    exception: OzonError | None = None

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


@dataclass(frozen=True)
class ItemOutcome(Generic[I, R]):
    """What happened to one input item.

    Attributes:
        index: its position in the input.
        item: the item as given.
        status: ``"ok"``, ``"failed"`` or ``"retry_later"``.
        error: why it failed (``None`` when ok; for ``retry_later`` the per-item limit).
        entry: its entry in Ozon's answer (for example a ``ProductStockUpdateResult``), if any.
        response: the whole answer of the request that carried it.
        retry_after: for ``retry_later``: seconds, counted from when the bulk call returned,
            before the item may be sent again without breaking its per-item limit.
        attempts: how many requests carried it (2 when a per-item rate-limit error was retried).
    """

    index: int
    item: I | Mapping[str, Any]
    status: ItemStatus
    error: ItemError | None = None
    entry: Any = None
    response: R | None = None
    retry_after: float | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class BulkError(OzonError):
    """Raised by :meth:`BulkResult.raise_for_failed`; ``result`` holds every outcome."""

    def __init__(self, result: BulkResult[Any, Any]) -> None:
        self.result = result
        failed = result.failed
        first = failed[0].error if failed else None
        super().__init__(
            f"{len(failed)} of {len(result)} items failed"
            + (f" (first: item {failed[0].index}: {first})" if first else "")
        )


class BulkResult(Sequence[ItemOutcome[I, R]]):
    """One outcome per input item, in input order, plus views and request figures.

    Attributes:
        requests: how many requests were sent.
        responses: the answers of the requests that succeeded, in the order they arrived.
        elapsed: seconds the call took (by the client's clock).
    """

    __slots__ = ("elapsed", "outcomes", "requests", "responses")

    def __init__(
        self,
        outcomes: Sequence[ItemOutcome[I, R]],
        requests: int,
        responses: Sequence[R],
        elapsed: float,
    ) -> None:
        self.outcomes: tuple[ItemOutcome[I, R], ...] = tuple(outcomes)
        self.requests = requests
        self.responses: tuple[R, ...] = tuple(responses)
        self.elapsed = elapsed

    @overload
    def __getitem__(self, index: int) -> ItemOutcome[I, R]: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ItemOutcome[I, R]]: ...

    def __getitem__(self, index: int | slice) -> ItemOutcome[I, R] | Sequence[ItemOutcome[I, R]]:
        return self.outcomes[index]

    def __len__(self) -> int:
        return len(self.outcomes)

    def __iter__(self) -> Iterator[ItemOutcome[I, R]]:
        return iter(self.outcomes)

    @property
    def succeeded(self) -> list[ItemOutcome[I, R]]:
        """The items Ozon applied."""
        return [o for o in self.outcomes if o.status == "ok"]

    @property
    def failed(self) -> list[ItemOutcome[I, R]]:
        """The items that failed (Ozon's per-item error, or their whole request failed)."""
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def retry_later(self) -> list[ItemOutcome[I, R]]:
        """The items not sent because their per-item limit left no room in time; each has
        ``retry_after``."""
        return [o for o in self.outcomes if o.status == "retry_later"]

    @property
    def all_ok(self) -> bool:
        return all(o.status == "ok" for o in self.outcomes)

    def raise_for_failed(self) -> None:
        """Raise :class:`BulkError` when any item failed or must be retried later."""
        if not self.all_ok:
            raise BulkError(self)

    def __repr__(self) -> str:
        return (
            f"<BulkResult {len(self)} items: {len(self.succeeded)} ok, {len(self.failed)} failed, "
            f"{len(self.retry_later)} retry later; {self.requests} requests>"
        )


# --------------------------------------------------------------------------- helpers
def _norm(value: Any) -> str:
    """Key values compared as text: ids arrive as numbers or numeric strings."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _get(obj: Any, path: Sequence[str]) -> Any:
    for name in path:
        if obj is None:
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value)


def _runtime(client: OzonClient) -> tuple[RateLimiter, Clock]:
    """The client's limiter and clock (the one place this module reaches into the client)."""
    return client.limiter, client._clock


def item_key(batch: Batch, value: Any) -> Key | None:
    """The identity of a (validated) item: the first ``key`` alternative whose fields it has."""
    if batch.scalar:
        return (0, (_norm(value),))
    data = value if isinstance(value, Mapping) else msgspec.to_builtins(value)
    for n, alt in enumerate(batch.key):
        values = [data.get(f) for f in alt]
        if all(v is not None and v != "" for v in values):
            return (n, tuple(_norm(v) for v in values))
    return None


def _entry_keys(batch: Batch, entry: Any) -> list[Key]:
    if isinstance(entry, (str, int, float)) and not isinstance(entry, bool):
        return [(0, (_norm(entry),))] if batch.key and len(batch.key[0]) == 1 else []
    keys: list[Key] = []
    for n, alt in enumerate(batch.entry_key):
        values = [_get(entry, (f,)) for f in alt]
        if all(v is not None and v != "" for v in values):
            keys.append((n, tuple(_norm(v) for v in values)))
    return keys


def _assign(
    batch: Batch, entries: Sequence[Any], keys: Sequence[Key | None], positional: bool
) -> list[Any]:
    """Which answer entry belongs to which item of a request (``None``: no entry)."""
    where: dict[Key, deque[int]] = {}
    for pos, k in enumerate(keys):
        if k is not None:
            where.setdefault(k, deque()).append(pos)
    out: list[Any] = [None] * len(keys)
    taken = [False] * len(entries)
    for e_pos, entry in enumerate(entries):
        for k in _entry_keys(batch, entry):
            slots = where.get(k)
            if slots:
                out[slots.popleft()] = entry
                taken[e_pos] = True
                break
    if positional and len(entries) == len(keys):
        # Answers that echo no identity (or an unexpected one) follow the request's order.
        for pos in range(len(keys)):
            if out[pos] is None and not taken[pos]:
                out[pos] = entries[pos]
                taken[pos] = True
    return out


def _entry_error(batch: Batch, entry: Any, failure: bool) -> ItemError | None:
    """The error an answer entry reports; ``failure``: the entry is in a failures-only list."""
    if not isinstance(entry, (str, int, float)) or isinstance(entry, bool):
        if batch.errors:
            errors = list(_get(entry, (batch.errors,)) or ())
            if errors:
                first = errors[0]
                code = _get(first, (batch.code,)) if batch.code else None
                message = _get(first, (batch.message,)) if batch.message else None
                return ItemError(
                    code=_text(code) or batch.failure_code,
                    message=_text(message) or _text(first),
                    details=tuple(errors),
                )
        elif batch.code or batch.message:
            code = _text(_get(entry, (batch.code,))) if batch.code else ""
            message = _text(_get(entry, (batch.message,))) if batch.message else ""
            if code or message or failure:
                return ItemError(code=code or batch.failure_code, message=message)
    if failure:
        return ItemError(
            code=batch.failure_code, message=f"Ozon listed the item as failed: {entry}"
        )
    return None


def match_answer(
    batch: Batch, response: Any, keys: Sequence[Key | None]
) -> list[tuple[Any, ItemError | None]]:
    """Per item of one request: its answer entry and its error (``None`` when applied)."""
    n = len(keys)
    if batch.request_ok is not None and _get(response, batch.request_ok) is False:
        rejected = ItemError(code=None, message="Ozon answered that the request was not applied")
        return [(None, rejected)] * n
    if batch.results is not None:
        entries = list(_get(response, batch.results) or ())
        out: list[tuple[Any, ItemError | None]] = []
        for entry in _assign(batch, entries, keys, positional=True):
            if entry is None:
                out.append((None, ItemError(None, "Ozon's answer has no entry for this item")))
                continue
            error: ItemError | None = _entry_error(batch, entry, failure=False)
            if error is None and batch.ok is not None and _get(entry, (batch.ok,)) is not True:
                error = ItemError(None, f"Ozon reported the item as not applied ({batch.ok} false)")
            out.append((entry, error))
        return out
    if batch.failures is not None:
        entries = list(_get(response, batch.failures) or ())
        return [
            (entry, None if entry is None else _entry_error(batch, entry, failure=True))
            for entry in _assign(batch, entries, keys, positional=False)
        ]
    return [(None, None)] * n


def _request_error(exc: OzonError) -> ItemError:
    if isinstance(exc, APIStatusError):
        code = None if exc.code is None else str(exc.code)
        return ItemError(
            code=code, message=exc.message or str(exc), status=exc.status, exception=exc
        )
    return ItemError(code=None, message=str(exc), exception=exc)


# --------------------------------------------------------------------------- validation
def _prepare(
    op: Operation, item_type: Any, items: Iterable[Any], fields: Mapping[str, Any]
) -> tuple[list[Any], list[Any], dict[str, Any], dict[str, Any]]:
    """Validate everything before anything is sent: (inputs, converted items, request fields
    by keyword, call options)."""
    batch = op.batch
    assert batch is not None
    request_type = op.request_type
    if request_type is None:
        raise TypeError(f"{op.key} has no request body to batch")
    known = {f.name: f.encode_name for f in msgspec.structs.fields(request_type)}
    if batch.param in fields:
        raise TypeError(f"{op.name}.bulk() takes the {batch.param!r} items as its first argument")
    options = {k: v for k, v in fields.items() if k in OPTION_NAMES}
    request = {k: v for k, v in fields.items() if k not in OPTION_NAMES}
    unknown = sorted(set(request) - set(known))
    if unknown:
        raise TypeError(f"{op.name}.bulk() got unexpected keyword arguments: {unknown}")
    if isinstance(items, (str, bytes, Mapping)):
        raise TypeError(f"{op.name}.bulk() needs an iterable of items, not {type(items).__name__}")
    inputs = list(items)
    converted: list[Any] = []
    bad: list[RequestValidationError] = []
    for i, item in enumerate(inputs):
        try:
            data = (
                item
                if type(item) in (str, int, float)
                else msgspec.to_builtins(item, str_keys=True)
            )
            converted.append(msgspec.convert(data, item_type, strict=False))
        except (msgspec.ValidationError, TypeError) as exc:
            message, path = _field_path(str(exc))
            where = f"{batch.field}[{i}]" + (f".{path}" if path else "")
            bad.append(RequestValidationError(message, field=where, operation=op.key))
    if bad:
        first = bad[0]
        if len(bad) > 1:
            more = ", ".join(e.field for e in bad[1:6]) + (", ..." if len(bad) > 6 else "")
            raise RequestValidationError(
                f"{first} (and {len(bad) - 1} more invalid items: {more}); nothing was sent",
                field=first.field,
                operation=op.key,
            )
        raise first
    if converted:
        # The other request fields, checked once with one item (raises naming the field).
        wire = {known[k]: v for k, v in request.items()}
        build_request(op.key, request_type, {**wire, batch.field: converted[:1]})
    return inputs, converted, request, options


# --------------------------------------------------------------------------- the run
class _Run(Generic[I, R]):
    def __init__(
        self,
        call: Callable[..., Awaitable[R]],
        op: Operation,
        client: OzonClient,
        inputs: list[Any],
        items: list[Any],
        request: dict[str, Any],
        options: dict[str, Any],
        max_wait: float | None,
        concurrency: int,
    ) -> None:
        assert op.batch is not None
        self.call = call
        self.op = op
        self.batch = op.batch
        self.client_id = client.client_id
        self.limiter, self.clock = _runtime(client)
        self.inputs = inputs
        self.items = items
        self.request = request
        self.options = options
        self.max_wait = max_wait
        self.concurrency = concurrency
        self.keys = [item_key(self.batch, v) for v in items]
        n = len(items)
        self.outcomes: list[ItemOutcome[I, R] | None] = [None] * n
        self.attempts = [0] * n
        self.not_before: dict[int, float] = {}  # retry_later: clock time it becomes allowed
        # Heap of the items that may go into the next request: items with more updates of
        # the same key behind them first (their window starts sooner), then input order.
        self.ready: list[tuple[int, int]] = []
        self.deferred: list[tuple[float, int]] = []  # (clock time, index) waiting for a window
        # The item that holds a key (queued, waiting or in flight) and the ones behind it.
        self.behind: dict[Key, deque[int]] = {}
        heads: list[int] = []
        for i, k in enumerate(self.keys):
            if k is None:
                heads.append(i)
            elif k in self.behind:
                self.behind[k].append(i)
            else:
                self.behind[k] = deque()
                heads.append(i)
        for i in heads:
            self._ready(i)
        self.inflight = 0
        self.requests = 0
        self.responses: list[R] = []
        self.changed = asyncio.Event()
        self.crash: BaseException | None = None
        rl = op.item_rate_limit
        # Room for the time between our grant and Ozon receiving the request.
        self.guard = 0.0 if rl is None else max(1.0, 0.01 * rl.period)

    # ------------------------------------------------------------------ bookkeeping
    def _ready(self, i: int) -> None:
        k = self.keys[i]
        behind = len(self.behind[k]) if k is not None else 0
        heapq.heappush(self.ready, (-behind, i))

    def _window_key(self, i: int) -> str:
        k = self.keys[i]
        assert k is not None
        return f"{self.client_id} item {self.op.key} {k[0]}:" + "\x1f".join(k[1])

    def _finish(self, i: int, outcome: ItemOutcome[I, R]) -> None:
        self.outcomes[i] = outcome
        k = self.keys[i]
        if k is None:
            return
        queue = self.behind[k]
        if outcome.status == "retry_later":
            # Those behind it keep their order: they come back with it.
            when = self.not_before[i]
            while queue:
                j = queue.popleft()
                self.not_before[j] = when
                self.outcomes[j] = ItemOutcome(
                    j, self.inputs[j], "retry_later", outcome.error, attempts=self.attempts[j]
                )
            del self.behind[k]
        elif queue:
            self._ready(queue.popleft())
        else:
            del self.behind[k]

    def _later(self, i: int, when: float, error: ItemError) -> None:
        """Wait for ``when`` if the caller allows that long, else return it as retry_later."""
        if self.max_wait is None or when - self.started <= self.max_wait:
            heapq.heappush(self.deferred, (when, i))
            return
        self.not_before[i] = when
        self._finish(
            i, ItemOutcome(i, self.inputs[i], "retry_later", error, attempts=self.attempts[i])
        )

    # ------------------------------------------------------------------ scheduling
    async def _form(self) -> list[int]:
        """Take the next request's items; items whose window is full wait (or retry later)."""
        rl = self.op.item_rate_limit
        chunk: list[int] = []
        while self.ready and len(chunk) < self.batch.max_items:
            i = heapq.heappop(self.ready)[1]
            if rl is not None and self.keys[i] is not None:
                delay = await self.limiter.acquire_window(
                    self._window_key(i), rl.requests, rl.period + self.guard, wait=False
                )
                if delay > 0:
                    error = ItemError(
                        rl.code,
                        f"at most {rl.requests} update(s) of one item per {rl.period:g} s",
                    )
                    self._later(i, self.clock.now() + delay, error)
                    continue
            chunk.append(i)
        return chunk

    def _promote(self) -> None:
        now = self.clock.now()
        while self.deferred and self.deferred[0][0] <= now:
            self._ready(heapq.heappop(self.deferred)[1])

    async def _send(self, chunk: list[int]) -> None:
        try:
            for i in chunk:
                self.attempts[i] += 1
            self.requests += 1
            args = {self.batch.param: [self.items[i] for i in chunk]}
            try:
                response = await self.call(**args, **self.request, **self.options)
            except OzonError as exc:  # after the client's own retries
                whole = _request_error(exc)
                for i in chunk:
                    self._finish(
                        i,
                        ItemOutcome(i, self.inputs[i], "failed", whole, attempts=self.attempts[i]),
                    )
                return
            self.responses.append(response)
            rl = self.op.item_rate_limit
            matched = match_answer(self.batch, response, [self.keys[i] for i in chunk])
            for i, (entry, error) in zip(chunk, matched, strict=True):
                if (
                    error is not None
                    and rl is not None
                    and rl.code is not None
                    and error.code == rl.code
                    and self.attempts[i] < 2
                    and self.keys[i] is not None
                ):
                    # Ozon did not apply it: once more, after a whole window.
                    self._later(i, self.clock.now() + rl.period + self.guard, error)
                    continue
                status: ItemStatus = "ok" if error is None else "failed"
                self._finish(
                    i,
                    ItemOutcome(
                        i,
                        self.inputs[i],
                        status,
                        error,
                        entry=entry,
                        response=response,
                        attempts=self.attempts[i],
                    ),
                )
        except BaseException as exc:  # a bug or a cancellation: stop the whole run
            self.crash = exc
        finally:
            self.inflight -= 1
            self.changed.set()

    async def _idle(self, until: float | None) -> None:
        """Wait for a request to finish, or for the clock to reach ``until``."""
        waiters: list[asyncio.Future[Any]] = []
        if self.inflight:
            waiters.append(asyncio.ensure_future(self.changed.wait()))
        if until is not None:
            waiters.append(
                asyncio.ensure_future(self.clock.sleep(max(0.0, until - self.clock.now())))
            )
        if not waiters:
            return
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waiters:
                w.cancel()

    async def run(self) -> BulkResult[I, R]:
        self.started = self.clock.now()
        rate = self.op.rate_limit
        pace_key = f"{self.client_id} {self.op.path} bulk"
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                if self.crash is not None:
                    raise self.crash
                self._promote()
                if self.ready and self.inflight < self.concurrency:
                    if rate is not None:
                        # Form each request when its slot comes, so that per-item windows are
                        # taken when the request is really sent (the client then finds its own
                        # slot free: same limiter, same pace).
                        await self.limiter.acquire(pace_key, rate.requests, rate.period)
                        self._promote()
                    chunk = await self._form()
                    if chunk:
                        self.inflight += 1
                        task = asyncio.ensure_future(self._send(chunk))
                        tasks.add(task)
                        task.add_done_callback(tasks.discard)
                    continue
                if not self.ready and not self.deferred and not self.inflight:
                    break
                self.changed.clear()
                until = self.deferred[0][0] if self.deferred and not self.ready else None
                await self._idle(until)
        finally:
            for t in tasks:
                t.cancel()
        now = self.clock.now()
        outcomes: list[ItemOutcome[I, R]] = []
        for i, o in enumerate(self.outcomes):
            assert o is not None
            if o.status == "retry_later":
                o = ItemOutcome(
                    o.index,
                    o.item,
                    o.status,
                    o.error,
                    retry_after=max(0.0, self.not_before[i] - now),
                    attempts=o.attempts,
                )
            outcomes.append(o)
        return BulkResult(outcomes, self.requests, self.responses, now - self.started)


async def run_bulk(
    call: Callable[..., Awaitable[R]],
    op: Operation,
    client: OzonClient,
    item_type: Any,
    items: Iterable[Any],
    *,
    wait: bool | float = True,
    concurrency: int | None = None,
    fields: Mapping[str, Any],
) -> BulkResult[Any, R]:
    """Send ``items`` through the operation ``op`` (see the module docs).

    ``call`` is the bound generated method; ``fields`` are the other request fields (the same
    for every request) and per-call options.
    """
    if op.batch is None:
        raise TypeError(f"{op.key} does not take items in batches")
    if isinstance(wait, bool):
        max_wait: float | None = None if wait else 0.0
    elif wait >= 0:
        max_wait = float(wait)
    else:
        raise ValueError("wait must be True, False or a number of seconds >= 0")
    conc = DEFAULT_CONCURRENCY if concurrency is None else concurrency
    if conc < 1:
        raise ValueError("concurrency must be 1 or more")
    inputs, converted, request, options = _prepare(op, item_type, items, fields)
    run: _Run[Any, R] = _Run(call, op, client, inputs, converted, request, options, max_wait, conc)
    return await run.run()
