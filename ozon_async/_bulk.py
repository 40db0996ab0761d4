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

The order of each request keeps those rules across processes: first its pacing slot (the same
slot, under the same keys, as any call of the operation), then its items' windows, then the
request goes out at once, as one attempt of the client's runtime (no wait, no resend). A window
is kept a guard longer than Ozon's period (1 s for stocks); a request whose grants became older
than half of it before it could go is not sent (its items wait for their window again).

Nothing is resent that the client's retry rules would not resend: a request that fails as a whole
is resent only when :func:`~ozon_async._retry.decide` says so (a 429, Ozon's breaker, a connection
never made; ambiguous failures of a write only with ``idempotent=True``), its items taking a slot
and their windows again (a refused request used grants Ozon never counted, so a stock pair may
wait one more period); otherwise its items fail with the error. The one other resend is the
per-item code of a broken per-item limit (``TOO_MANY_REQUESTS`` for stocks): Ozon did not apply
that item, so it is sent once more after its window.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar, overload

import msgspec

from ozon_async._codec import build_request, field_path
from ozon_async._exceptions import (
    APIStatusError,
    OzonError,
    RequestValidationError,
    ResponseDecodeError,
)
from ozon_async._operation import Batch, Operation
from ozon_async._options import OPTION_NAMES, CallOptions
from ozon_async._path import dig
from ozon_async._request import prepare_call
from ozon_async._retry import GiveUp, Retry, decide, outcome_of

if TYPE_CHECKING:
    from ozon_async._clock import Clock
    from ozon_async._ratelimit import RateLimiter, RateLimitSlot
    from ozon_async._runtime import Host

__all__ = ["BulkError", "BulkResult", "ItemError", "ItemOutcome", "ItemStatus", "run_bulk"]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")

ItemStatus = Literal["ok", "failed", "retry_later"]

#: Default number of requests of one bulk call in flight at once.
DEFAULT_CONCURRENCY = 4

Key = tuple[int, tuple[str, ...]]

logger = logging.getLogger("ozon_async")


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


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "; ".join(_text(v) for v in value)
    return str(value)


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
        values = [dig(entry, (f,)) for f in alt]
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
            errors = list(dig(entry, (batch.errors,)) or ())
            if errors:
                first = errors[0]
                code = dig(first, (batch.code,)) if batch.code else None
                message = dig(first, (batch.message,)) if batch.message else None
                return ItemError(
                    code=_text(code) or batch.failure_code,
                    message=_text(message) or _text(first),
                    details=tuple(errors),
                )
        elif batch.code or batch.message:
            code = _text(dig(entry, (batch.code,))) if batch.code else ""
            message = _text(dig(entry, (batch.message,))) if batch.message else ""
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
    if batch.request_ok is not None and dig(response, batch.request_ok) is False:
        rejected = ItemError(code=None, message="Ozon answered that the request was not applied")
        return [(None, rejected)] * n
    if batch.results is not None:
        entries = list(dig(response, batch.results) or ())
        out: list[tuple[Any, ItemError | None]] = []
        for entry in _assign(batch, entries, keys, positional=True):
            if entry is None:
                out.append((None, ItemError(None, "Ozon's answer has no entry for this item")))
                continue
            error: ItemError | None = _entry_error(batch, entry, failure=False)
            if error is None and batch.ok is not None and dig(entry, (batch.ok,)) is not True:
                error = ItemError(None, f"Ozon reported the item as not applied ({batch.ok} false)")
            out.append((entry, error))
        return out
    if batch.failures is not None:
        entries = list(dig(response, batch.failures) or ())
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
    """Validate everything before anything is sent: (inputs, converted items, the other request
    fields by JSON name, call options)."""
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
            message, path = field_path(str(exc))
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
    wire = {known[k]: v for k, v in request.items()}
    if converted:
        # The other request fields, checked once with one item (raises naming the field).
        build_request(op.key, request_type, {**wire, batch.field: converted[:1]})
    return inputs, converted, wire, options


# --------------------------------------------------------------------------- the client's part
class _Channel:
    """What the bulk helper uses of the client, all through its runtime: its limiter and clock,
    the pacing slot every call of the operation takes, and one attempt of a request sent at once.

    The slot is the client's own (:meth:`~ozon_async._runtime.Runtime.acquire`: the operation's
    limit and the Client-Id's, under the keys every other call uses), taken *before* the
    per-item windows; the request then goes out as one attempt
    (:meth:`~ozon_async._runtime.Runtime.send_one`), so that nothing stands between the windows
    and the wire. Resends follow the client's rules (:func:`~ozon_async._retry.decide`), made
    here so that each one takes its slot and its windows again.
    """

    def __init__(self, client: Host, op: Operation, options: Mapping[str, Any]) -> None:
        runtime = client.runtime
        # the key the client's limits are kept under (the Client-Id, or a token's hash)
        self.client_id: str = runtime.auth.rate_key or runtime.auth.client_id or ""
        self.limiter: RateLimiter = runtime.limiter
        self.clock: Clock = runtime.clock
        self.runtime = runtime
        self._op = op
        # The per-call options are checked now, before anything is sent.
        settings = runtime.settings(op.method, op.path, options)  # type: ignore[arg-type]
        self.policy = settings.policy
        self.safe = settings.safe(op)
        self.options: CallOptions = dict(options)  # type: ignore[assignment]
        response_type = op.response_type
        if response_type is None:
            raise TypeError(f"{op.key} answers with a file; it cannot be sent in bulk")
        self._response_type: type[Any] = response_type

    async def slot(self) -> list[RateLimitSlot] | None:
        """Wait for the slot a call of the operation takes (its limit and the Client-Id's);
        the slots to tell when the request is answered (see :meth:`answered`)."""
        self.client_id = await self.runtime.rate_key()
        return await self.runtime.acquire(self._op, self.client_id)

    @staticmethod
    def answered(slots: list[RateLimitSlot] | None, exc: OzonError | None = None) -> None:
        """Tell the limiter that the request sent on ``slots`` got an answer, unless ``exc``
        says none came (a connection failure); slots never told free themselves later."""
        if slots is not None and (
            exc is None or isinstance(exc, (APIStatusError, ResponseDecodeError))
        ):
            for slot in slots:
                slot.answered()

    def send(self, fields: Mapping[str, Any]) -> Awaitable[Any]:
        """One attempt, now: no pacing wait, no resend (both are the caller's)."""
        op = self._op
        path, body, options = prepare_call(op, op.request_type, fields, self.options)
        return self.runtime.send_one(op.method, path, body, op, options, self._response_type)

    def jitter(self) -> float:
        return self.runtime.jitter()


# --------------------------------------------------------------------------- the run
class _Run(Generic[I, R]):
    def __init__(
        self,
        op: Operation,
        client: Host,
        inputs: list[Any],
        items: list[Any],
        request: dict[str, Any],
        options: dict[str, Any],
        max_wait: float | None,
        concurrency: int,
        on_progress: Callable[[int, int], object] | None = None,
    ) -> None:
        assert op.batch is not None
        self.op = op
        self.on_progress = on_progress
        self.batch = op.batch
        self.channel = _Channel(client, op, options)
        self.limiter = self.channel.limiter
        self.clock = self.channel.clock
        self.inputs = inputs
        self.items = items
        self.request = request
        self.max_wait = max_wait
        self.concurrency = concurrency
        self.keys = [item_key(self.batch, v) for v in items]
        n = len(items)
        self.outcomes: list[ItemOutcome[I, R] | None] = [None] * n
        self.done = 0  # items with an outcome
        self.reported = -1
        self.attempts = [0] * n  # requests that carried the item
        self.refused = [0] * n  # of those, requests that failed as a whole and were resent
        self.item_retried = [False] * n  # resent once after a per-item rate-limit error
        self.late = [0] * n  # times its window was granted too long before its request could go
        self.granted: dict[int, float] = {}  # clock time just before its window was asked
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
        # Each window is kept ``guard`` seconds longer than Ozon's period: half of it covers the
        # time from a grant to its request going out (a request whose grants are older than
        # ``margin`` is not sent), half the request's time in transit.
        self.guard = 0.0 if rl is None else max(1.0, 0.01 * rl.period)
        self.margin = self.guard / 2

    # ------------------------------------------------------------------ bookkeeping
    def _ready(self, i: int) -> None:
        k = self.keys[i]
        behind = len(self.behind[k]) if k is not None else 0
        heapq.heappush(self.ready, (-behind, i))

    def _window_key(self, i: int) -> str:
        k = self.keys[i]
        assert k is not None
        return f"{self.channel.client_id} item {self.op.key} {k[0]}:" + "\x1f".join(k[1])

    def _finish(self, i: int, outcome: ItemOutcome[I, R]) -> None:
        self.outcomes[i] = outcome
        self.done += 1
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
                self.done += 1
            del self.behind[k]
        elif queue:
            self._ready(queue.popleft())
        else:
            del self.behind[k]

    def _progress(self) -> None:
        if self.on_progress is not None and self.done != self.reported:
            self.reported = self.done
            self.on_progress(self.done, len(self.items))

    def _fail(self, i: int, error: ItemError) -> None:
        self._finish(i, ItemOutcome(i, self.inputs[i], "failed", error, attempts=self.attempts[i]))

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
        """Take the next request's items (its pacing slot is already taken); items whose
        window is full wait (or retry later). The windows of one round are asked at once."""
        rl = self.op.item_rate_limit
        size = self.batch.max_items
        chunk: list[int] = []
        while self.ready and len(chunk) < size:
            take: list[int] = []
            while self.ready and len(chunk) + len(take) < size:
                take.append(heapq.heappop(self.ready)[1])
            if rl is None:
                chunk += take
                continue
            windowed = [i for i in take if self.keys[i] is not None]
            asked = self.clock.now()
            delays = await asyncio.gather(
                *(
                    self.limiter.acquire_window(
                        self._window_key(i), rl.requests, rl.period + self.guard, wait=False
                    )
                    for i in windowed
                )
            )
            refused = {i for i, delay in zip(windowed, delays, strict=True) if delay > 0}
            if refused:
                error = ItemError(
                    rl.code,
                    f"at most {rl.requests} update{'' if rl.requests == 1 else 's'} of one item "
                    f"per {rl.period:g} s",
                )
                for i, delay in zip(windowed, delays, strict=True):
                    if delay > 0:
                        self._later(i, asked + delay, error)
            for i in take:
                if i not in refused:
                    self.granted[i] = asked
                    chunk.append(i)
        return chunk

    def _promote(self) -> None:
        now = self.clock.now()
        while self.deferred and self.deferred[0][0] <= now:
            self._ready(heapq.heappop(self.deferred)[1])

    def _too_late(self, chunk: list[int]) -> list[int]:
        """Take out of ``chunk`` the items whose window was granted more than ``margin`` ago
        (a slow limiter): sent now, they could reach Ozon within the period of a grant made
        elsewhere after theirs expires. They wait for their window again (three times at most,
        then they fail unsent)."""
        if self.op.item_rate_limit is None:
            return chunk
        now = self.clock.now()
        keep: list[int] = []
        for i in chunk:
            if self.keys[i] is None or now - self.granted[i] <= self.margin:
                keep.append(i)
                continue
            self.late[i] += 1
            if self.late[i] >= 3:
                self._fail(
                    i,
                    ItemError(
                        None,
                        "not sent: the rate limiter granted this item's per-item window "
                        f"{now - self.granted[i]:.2f} s before its request could go, more than "
                        f"the {self.margin:g} s margin, three times",
                    ),
                )
            else:
                self._ready(i)  # its window (already granted) makes it wait a whole period
        return keep

    async def _send(self, chunk: list[int], slots: list[RateLimitSlot] | None) -> None:
        try:
            chunk = self._too_late(chunk)
            if not chunk:
                return
            for i in chunk:
                self.attempts[i] += 1
            self.requests += 1
            fields = {**self.request, self.batch.field: [self.items[i] for i in chunk]}
            for slot in slots or ():  # the request goes out now, maybe later than granted
                slot.sending()
            try:
                response = await self.channel.send(fields)
            except OzonError as exc:
                self.channel.answered(slots, exc)
                self._refused(chunk, exc)
                return
            self.channel.answered(slots)
            self.responses.append(response)
            rl = self.op.item_rate_limit
            matched = match_answer(self.batch, response, [self.keys[i] for i in chunk])
            for i, (entry, error) in zip(chunk, matched, strict=True):
                if (
                    error is not None
                    and rl is not None
                    and rl.code is not None
                    and error.code == rl.code
                    and not self.item_retried[i]
                    and self.keys[i] is not None
                ):
                    # Ozon did not apply it: once more, after a whole window.
                    self.item_retried[i] = True
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

    def _refused(self, chunk: list[int], exc: OzonError) -> None:
        """A request failed as a whole (one attempt): resend its items when the client's retry
        rules say so (each takes its slot and its window again), else they fail."""
        error = _request_error(exc)
        outcome = outcome_of(exc)
        decision: Retry | GiveUp = GiveUp(getattr(exc, "decision", "") or "")
        if outcome is not None:
            attempt = 1 + max(self.refused[i] for i in chunk)
            channel = self.channel
            decision = decide(outcome, attempt, channel.safe, channel.policy, channel.jitter())
        if isinstance(decision, Retry):
            logger.info(
                "%s %s: %s; its %d items go again in %.2f s",
                self.op.method,
                self.op.path,
                decision.reason,
                len(chunk),
                decision.wait,
            )
            when = self.clock.now() + decision.wait
            for i in chunk:
                self.refused[i] += 1
                self._later(i, when, error)
            return
        if decision.decision and isinstance(exc, OzonError) and not getattr(exc, "decision", ""):
            exc.decision = decision.decision
        for i in chunk:
            self._fail(i, error)

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
        tasks: set[asyncio.Task[None]] = set()
        try:
            while True:
                if self.crash is not None:
                    raise self.crash
                self._progress()
                self._promote()
                if self.ready and self.inflight < self.concurrency:
                    # The order that keeps the per-item rules: the request's slot first, then
                    # its items' windows, then it goes at once (nothing waits in between).
                    slots = await self.channel.slot()
                    self._promote()
                    chunk = await self._form()
                    if chunk:
                        self.inflight += 1
                        task = asyncio.ensure_future(self._send(chunk, slots))
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
        self._progress()
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
    op: Operation,
    client: Host,
    item_type: Any,
    items: Iterable[Any],
    *,
    wait: bool | float = True,
    concurrency: int | None = None,
    on_progress: Callable[[int, int], object] | None = None,
    fields: Mapping[str, Any],
) -> BulkResult[Any, Any]:
    """Send ``items`` through the operation ``op`` (see the module docs).

    ``fields`` are the other request fields (the same for every request) and per-call options;
    ``on_progress(done, total)`` is called whenever more items have their outcome.
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
    run: _Run[Any, Any] = _Run(
        op, client, inputs, converted, request, options, max_wait, conc, on_progress
    )
    return await run.run()
