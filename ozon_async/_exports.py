"""Ozon's export rules, kept by the client: the data is in the spec, the logic here.

An operation with ``x-ozon-export`` starts an export (a statistics report) under the API's
``x-ozon-export-rules`` (:class:`~ozon_async._operation.ExportRules`): a report covers at most
``max_campaigns`` campaigns and ``max_days`` days, each campaign counts as one export against
``per_day`` exports per account in 24 hours, and an account runs at most ``concurrent`` exports at
a time. The client:

* checks every call of such an operation before sending it (:func:`check_export`: too many
  campaigns or days is a :class:`RequestValidationError` naming the field);
* counts the exports it starts against ``per_day`` in its rate limiter, and refuses with
  :class:`ExportLimitError` once they are spent (:func:`counted_export`);
* holds the account's turn (a lease of the limiter, shared across processes by a Redis limiter)
  from before ``.and_wait()`` starts an export until it ends (:func:`export_turn`);
* splits a larger request into compliant ones (:func:`plan_exports`), which the report helper of
  the Performance client runs one at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from ozon_async._exceptions import ExportLimitError, RequestValidationError
from ozon_async._operation import Export, ExportRules, Operation

if TYPE_CHECKING:
    from ozon_async._ratelimit import Lease
    from ozon_async._runtime import Runtime

__all__ = [
    "LEASE_TTL",
    "ExportChunk",
    "check_export",
    "counted_export",
    "export_count",
    "export_turn",
    "plan_exports",
    "task_guard",
]

T = TypeVar("T")

#: Seconds an account's turn to export lasts without a renewal; the holder renews it every
#: third of that while its export runs, so a process that dies frees the turn within this time.
LEASE_TTL = 120.0
#: The window of ``per_day``.
DAY = 86400.0


def _day(value: Any) -> date | None:
    """A date from a ``date``, a ``datetime`` or an ISO 8601 string (``None`` when unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None  # the request model reports a malformed value, naming the field


def _period(e: Export, fields: Mapping[str, Any]) -> tuple[str, date, date] | None:
    """(field named in errors, first day, last day) of a request, from its dates, else from its
    instants; ``None`` when the request gives no complete period."""
    for start, end in ((e.date_from, e.date_to), (e.time_from, e.time_to)):
        if start is None or end is None:
            continue
        first, last = _day(fields.get(start)), _day(fields.get(end))
        if first is not None and last is not None:
            return end, first, last
    return None


def export_count(op: Operation, fields: Mapping[str, Any]) -> int:
    """How many exports a request of ``op`` counts as: one per campaign, else one."""
    e = op.export
    if e is None:
        return 0
    if e.campaigns is not None:
        campaigns = fields.get(e.campaigns)
        if isinstance(campaigns, (list, tuple)) and campaigns:
            return len(campaigns)
    return 1


def check_export(op: Operation, fields: Mapping[str, Any], rules: ExportRules) -> None:
    """Refuse a request (fields by JSON name) that breaks the per-report rules, before anything
    is sent: more than ``max_campaigns`` campaigns, more than ``max_days`` days, or a period
    that ends before it starts."""
    e = op.export
    if e is None:
        return
    if e.campaigns is not None and rules.max_campaigns is not None:
        campaigns = fields.get(e.campaigns)
        if isinstance(campaigns, (list, tuple)) and len(campaigns) > rules.max_campaigns:
            raise RequestValidationError(
                f"a report covers at most {rules.max_campaigns} campaigns, got "
                f"{len(campaigns)}; client.reports splits larger requests",
                field=e.campaigns,
                operation=op.key,
            )
    found = _period(e, fields)
    if found is None:
        return
    name, first, last = found
    if last < first:
        raise RequestValidationError(
            f"the period ends ({last}) before it starts ({first})", field=name, operation=op.key
        )
    days = (last - first).days + 1
    if rules.max_days is not None and days > rules.max_days:
        raise RequestValidationError(
            f"a report covers at most {rules.max_days} days, got {days} ({first} to {last}); "
            "client.reports splits longer periods",
            field=name,
            operation=op.key,
        )


async def counted_export(
    runtime: Runtime, op: Operation, fields: Mapping[str, Any], send: Callable[[], Awaitable[T]]
) -> T:
    """Count the request's exports against ``per_day`` (in the client's limiter, per account),
    then ``send()`` it; :class:`ExportLimitError` when the account's exports are spent."""
    rules = runtime.export_rules
    if rules is not None and rules.per_day is not None:
        key = await runtime.rate_key()
        limiter = runtime.limiter
        for _ in range(export_count(op, fields)):
            wait = await limiter.acquire_window(f"{key} exports", rules.per_day, DAY, wait=False)
            if wait > 0:
                raise ExportLimitError(
                    f"{rules.per_day:,} exports per account in 24 hours are spent (one campaign "
                    f"is one export); room again in {wait:,.0f} s; nothing was sent",
                    retry_after=wait,
                )
    return await send()


def task_guard(
    runtime: Runtime, op: Operation, fields: Mapping[str, Any]
) -> contextlib.AbstractAsyncContextManager[object]:
    """What ``.and_wait`` holds while its task runs: for an operation that starts an export,
    the account's turn to export (:func:`export_turn`); nothing otherwise."""
    if op.export is not None and runtime.export_rules is not None:
        return export_turn(runtime, op, fields)
    return contextlib.nullcontext()


@contextlib.asynccontextmanager
async def export_turn(
    runtime: Runtime,
    op: Operation,
    fields: Mapping[str, Any] | None = None,
    *,
    timeout: float | None = None,
) -> AsyncIterator[Lease]:
    """Hold the account's turn to export while the body runs: wait until fewer than
    ``concurrent`` exports of the account run (in this process, or in every process sharing a
    Redis limiter), keep the turn renewed, give it back at the end.

    ``timeout``: seconds to wait for the turn (default: the operation's task timeout, else 30
    minutes); :class:`ExportLimitError` when it passes.
    """
    import asyncio

    rules = runtime.export_rules
    limit = rules.concurrent if rules is not None and rules.concurrent else 1
    if timeout is None:
        timeout = op.task.timeout if op.task is not None else 1800.0
    key = await runtime.rate_key()
    limiter = runtime.limiter
    try:
        lease = await limiter.acquire_lease(f"{key} export", limit, LEASE_TTL, timeout=timeout)
    except TimeoutError:
        raise ExportLimitError(
            f"no turn to export within {timeout:g} s: another export of this account (at most "
            f"{limit} at a time) kept running; nothing was sent",
            retry_after=None,
        ) from None
    clock = runtime.clock

    async def keep() -> None:
        while True:
            await clock.sleep(LEASE_TTL / 3)
            await lease.renew()

    keeper = asyncio.ensure_future(keep())
    try:
        yield lease
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await asyncio.shield(lease.release())


class ExportChunk:
    """One compliant export of a plan: its campaigns (possibly none) and its days."""

    __slots__ = ("campaigns", "date_from", "date_to")

    def __init__(self, campaigns: tuple[Any, ...], date_from: date, date_to: date) -> None:
        self.campaigns = campaigns
        self.date_from = date_from
        self.date_to = date_to

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def __repr__(self) -> str:
        return f"ExportChunk({len(self.campaigns)} campaigns, {self.date_from} to {self.date_to})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExportChunk):
            return NotImplemented
        return (self.campaigns, self.date_from, self.date_to) == (
            other.campaigns,
            other.date_from,
            other.date_to,
        )

    def __hash__(self) -> int:
        return hash((self.campaigns, self.date_from, self.date_to))


def plan_exports(
    campaigns: Sequence[Any],
    date_from: date,
    date_to: date,
    rules: ExportRules,
) -> list[ExportChunk]:
    """Split a request for any number of campaigns and days into exports that keep the rules:
    at most ``max_campaigns`` campaigns and ``max_days`` days each, the fewest exports that do
    (campaign groups of equal size, periods of equal length), in date order then campaign
    order."""
    if date_to < date_from:
        raise RequestValidationError(f"the period ends ({date_to}) before it starts ({date_from})")
    per = rules.max_campaigns or max(1, len(campaigns))
    groups: list[tuple[Any, ...]] = []
    items = list(dict.fromkeys(campaigns))  # each campaign once, in the order given
    if items:
        count = -(-len(items) // per)
        size = -(-len(items) // count)
        groups = [tuple(items[i : i + size]) for i in range(0, len(items), size)]
    else:
        groups = [()]
    total = (date_to - date_from).days + 1
    span = rules.max_days or total
    windows = -(-total // span)
    length = -(-total // windows)
    chunks: list[ExportChunk] = []
    start = date_from
    while start <= date_to:
        end = min(date_to, start + timedelta(days=length - 1))
        for group in groups:
            chunks.append(ExportChunk(group, start, end))
        start = end + timedelta(days=1)
    return chunks
