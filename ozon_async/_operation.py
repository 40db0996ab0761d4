"""Descriptions of operations: what the generated registry holds for each ``METHOD /path``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ozon_async._record import Record, field


class RateLimit(Record):
    """At most ``requests`` calls every ``period`` seconds per Client-Id (``x-ozon-rate-limit``)."""

    requests: int
    period: float

    @property
    def interval(self) -> float:
        """Seconds between two evenly paced calls."""
        return self.period / self.requests


class Pagination(Record):
    """How to walk the pages of a list operation (``x-ozon-pagination``).

    Paths are tuples of Python attribute names into the response model.
    """

    style: str
    position: str
    limit: str | None
    items: tuple[str, ...]
    next: tuple[str, ...] | None = None
    has_next: tuple[str, ...] | None = None
    total: tuple[str, ...] | None = None
    page_count: tuple[str, ...] | None = None
    next_from_item: str | None = None
    first_page: int | None = None


class ItemRateLimit(Record):
    """At most ``requests`` updates of one item every ``period`` seconds per Client-Id
    (``x-ozon-item-rate-limit``), for example one stock update per offer/warehouse pair per 30 s.

    ``code`` is the per-item error code Ozon answers with when the rule is broken anyway.
    """

    requests: int
    period: float
    code: str | None = None


class Batch(Record):
    """How an operation takes many items in one request (``x-ozon-batch``).

    Item fields (``key``) are JSON names; answer paths and answer-entry fields are Python
    attribute names of the response model.

    Attributes:
        param, field: the keyword argument and JSON name of the batched request array.
        max_items: the most items one request may carry.
        key: alternatives of item fields that identify an item (an item uses the first
            alternative whose fields it has, e.g. ``offer_id`` before ``product_id``); for
            scalar items (``scalar=True``) one alternative with the name the value has in answers.
        entry_key: the same names as attributes of an answer entry.
        scalar: the array holds plain values (ids), not objects.
        results: path of the per-item answer list (one entry per item).
        failures: path of a list that holds only the failed items (the others succeeded).
        ok: entry attribute that is ``True`` when the item succeeded.
        errors: entry attribute holding a list of error objects.
        code, message: attributes of an error object (or of the entry) with the code and text.
        request_ok: path of a boolean that says whether the whole request succeeded.
        failure_code: the code given to failure entries that carry none.
    """

    param: str
    field: str
    max_items: int
    key: tuple[tuple[str, ...], ...] = ()
    entry_key: tuple[tuple[str, ...], ...] = ()
    scalar: bool = False
    results: tuple[str, ...] | None = None
    failures: tuple[str, ...] | None = None
    ok: str | None = None
    errors: str | None = None
    code: str | None = None
    message: str | None = None
    request_ok: tuple[str, ...] | None = None
    failure_code: str | None = None


class Task(Record):
    """An operation that starts a background task and the one that reports it (``x-ozon-task``).

    Paths are tuples of Python attribute names.

    Attributes:
        status: ``"METHOD /path"`` of the status operation.
        param: its keyword argument that takes the task id.
        id: paths in the starting answer where the id may be (the first one set wins).
        id_from_request: keyword argument of the starting call whose value is the id (when the
            answer carries none, e.g. a posting number).
        state: path of the task's state in the status answer.
        items: path of the per-item list of the status answer (imports report per item).
        item_state: attribute of an item with its state.
        item_errors: attribute of an item with its errors.
        done, failed: the states that end the task successfully or with a failure; any other
            state means it is still running.
        interval: suggested seconds between status checks (the waiter backs off from there).
        timeout: default seconds to wait in all.
        file: path of the file URL in the status answer (reports).
        error: path of a task-level error message.
        status_args: fixed keyword arguments of the status call besides the id (pairs).
        tasks: path of the list in the starting answer when one call starts several tasks (a
            label task per label size); ``id`` is then read from each entry of the list.
        kind: attribute of such an entry that tells the tasks apart (``task_type``).
    """

    status: str
    param: str
    id: tuple[tuple[str, ...], ...] = ()
    id_from_request: str | None = None
    state: tuple[str, ...] | None = None
    items: tuple[str, ...] | None = None
    item_state: str | None = None
    item_errors: str | None = None
    done: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    interval: float = 5.0
    timeout: float = 600.0
    file: tuple[str, ...] | None = None
    error: tuple[str, ...] | None = None
    status_args: tuple[tuple[str, Any], ...] = ()
    tasks: tuple[str, ...] | None = None
    kind: str | None = None


class Export(Record):
    """An operation that starts an export (a statistics report) under the API's export rules
    (``x-ozon-export``; the rules themselves are :class:`ExportRules`).

    Attributes:
        campaigns: the request field (JSON name) listing the campaigns; each campaign counts as
            one export. ``None``: the request counts as one export.
        date_from, date_to: request fields of the period as dates (``YYYY-MM-DD``).
        time_from, time_to: request fields of the period as instants (RFC 3339).
        download: ``"METHOD /path"`` of the operation that downloads the finished file.
        kind: a short name of what the export holds (``"stats"``, ``"orders"``...).
    """

    campaigns: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    time_from: str | None = None
    time_to: str | None = None
    download: str | None = None
    kind: str | None = None


class ExportRules(Record):
    """The rules Ozon applies to exports (``x-ozon-export-rules``).

    Attributes:
        concurrent: exports one account may have running at once.
        concurrent_organisation: the same for the whole organisation (several accounts).
        per_day: exports one account may start in 24 hours.
        per_day_per_campaign: the daily limit is also at most this many per active campaign.
        max_campaigns: campaigns one export may cover.
        max_days: days one export may cover (both ends counted).
        timezone: the time zone Ozon groups report dates by.
    """

    concurrent: int | None = None
    concurrent_organisation: int | None = None
    per_day: int | None = None
    per_day_per_campaign: int | None = None
    max_campaigns: int | None = None
    max_days: int | None = None
    timezone: str | None = None


class ApiLimits(Record):
    """The limits an API states for all its operations together: ``daily_budget`` (requests
    per account per day, ``x-ozon-daily-budget``) and ``exports`` (``x-ozon-export-rules``)."""

    daily_budget: RateLimit | None = None
    exports: ExportRules | None = None


class Subscription(Record):
    """The paid seller subscription an operation needs (``x-ozon-subscription``).

    Attributes:
        any_of: codes of the subscriptions, any one of which is enough: ``"premium"``,
            ``"premium_plus"``, ``"premium_pro"``, ``"review_management"``.
        names: their names, in the same order (``"Premium Plus"``...).
        without: what a seller without one gets: ``"refused"`` (Ozon refuses the call) or
            ``"limited"`` (the call works but answers with part of the data).
    """

    any_of: tuple[str, ...]
    names: tuple[str, ...] = ()
    without: str = "refused"

    def __post_init__(self) -> None:
        if not self.names:
            self._set("names", self.any_of)

    @property
    def text(self) -> str:
        """``"Premium Plus or Premium Pro"``."""
        names = self.names
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]

    def describe(self) -> str:
        """One sentence for documentation and tools."""
        if self.without == "limited":
            return (
                f"Full data needs a {self.text} subscription; without one Ozon answers with "
                "part of the data."
            )
        return f"Needs a {self.text} subscription; Ozon refuses the call without one."

    def refusal(self) -> str:
        """What an error says when Ozon refuses the call."""
        if self.without == "limited":
            return f"the full data of this operation needs a {self.text} subscription"
        return f"Ozon opens this operation only to sellers with a {self.text} subscription"


def _resolve(ref: str | None) -> Any:
    if ref is None:
        return None
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


class Operation(Record, kw_only=True):
    """One operation of the Ozon Seller API.

    Attributes:
        method, path: the HTTP method and path, e.g. ``"POST"``, ``"/v3/posting/fbs/list"``.
        group, name: where the typed method lives: ``client.<group>.<name>``.
        operation_id: the spec's operationId.
        summary: one line saying what it does.
        safe: ``True`` when it only reads, so the client may resend it after ambiguous failures.
        deprecated, replaced_by, sunset: lifecycle; ``replaced_by`` is ``"METHOD /path"``,
            ``sunset`` the day (``"YYYY-MM-DD"``) Ozon announced it switches a deprecated
            operation off (``x-ozon-sunset``).
        rate_limit: the per-method limit, if Ozon documents one.
        pagination: how to walk its pages, if it is a paginated list.
        response_content_type: ``application/json``, or e.g. ``application/pdf``.
        destructive: ``True`` when it deletes, archives or cancels something that is hard to
            undo (``x-ozon-destructive``).
        beta: ``True`` for operations Ozon marks as beta (``x-ozon-beta``).
        subscription: the paid seller subscription it needs (``x-ozon-subscription``), if any;
            when Ozon refuses the call, the error names it.
        request_content_type: ``application/json``, or ``multipart/form-data`` for uploads.
        path_params: names of the ``{parameters}`` in ``path``, given as keyword arguments.
        query_params: names of the query parameters (keyword arguments that go into the URL).
        empty_answer: Ozon may answer with an empty body, read as ``{}``
            (``x-ozon-empty-answer``).
        budget_exempt: not counted against the API's daily request budget
            (``x-ozon-budget-exempt``).
        export: the export it starts, if it starts one (``x-ozon-export``).
        batch: how it takes many items per request (``x-ozon-batch``), if it does.
        item_rate_limit: the per-item limit (``x-ozon-item-rate-limit``), if Ozon has one.
        task: the task it starts and how to wait for it (``x-ozon-task``), if it starts one.
        removed: the date (``"YYYY-MM-DD"``, or ``"YYYY-MM"``) of the first edition of Ozon's
            reference that no longer lists it (``x-ozon-removed``), else ``None``. It stays
            callable, warns like a deprecated one and is left out of searches unless asked for.
        title_ru: Ozon's Russian title of the operation (``x-title-ru``), if a Russian
            reference names it.
    """

    method: str
    path: str
    group: str
    name: str
    operation_id: str
    summary: str
    safe: bool
    deprecated: bool
    replaced_by: str | None
    request_type_ref: str | None = field(alias="request_type")
    response_type_ref: str | None = field(alias="response_type")
    response_content_type: str = "application/json"
    rate_limit: RateLimit | None = None
    pagination: Pagination | None = None
    destructive: bool = False
    beta: bool = False
    subscription: Subscription | None = None
    batch: Batch | None = None
    item_rate_limit: ItemRateLimit | None = None
    task: Task | None = None
    request_content_type: str = "application/json"
    path_params: tuple[str, ...] = ()
    sunset: str | None = None
    query_params: tuple[str, ...] = ()
    empty_answer: bool = False
    budget_exempt: bool = False
    export: Export | None = None
    removed: str | None = None
    title_ru: str | None = None

    _repr_hidden = frozenset({"request_type_ref", "response_type_ref"})

    def sunset_note(self, today: str | None = None) -> str:
        """``"; Ozon switched it off on 2025-04-14"`` for a deprecated operation with a
        switch-off day (``"switches it off"`` before that day; ``today`` is ``"YYYY-MM-DD"``,
        by default today in UTC), else ``""``. Deprecation warnings end with it."""
        if self.sunset is None:
            return ""
        if today is None:
            import time

            today = time.strftime("%Y-%m-%d", time.gmtime())
        verb = "switched it off" if self.sunset <= today else "switches it off"
        return f"; Ozon {verb} on {self.sunset}"

    def removed_note(self) -> str:
        """``"; Ozon's reference no longer lists it (since 2026-08-14)"`` for a removed
        operation (``x-ozon-removed``), else ``""``. Warnings about the call end with it."""
        if self.removed is None:
            return ""
        return f"; Ozon's reference no longer lists it (since {self.removed})"

    def lifecycle_warning(self, successor: str | None = None) -> str | None:
        """What a call of a deprecated or removed operation warns, or ``None`` for a current one:
        ``"deprecated by Ozon; use <successor> instead; Ozon switched it off on ..."``, or for a
        removed one that is not deprecated ``"no longer in Ozon's reference (since ...); use
        <successor> instead"``. ``successor`` is how to name the successor (by default its
        ``"METHOD /path"``)."""
        if not (self.deprecated or self.removed):
            return None
        succ = successor or self.replaced_by
        use = f"; use {succ} instead" if succ else ""
        if self.deprecated:
            return f"deprecated by Ozon{use}{self.sunset_note()}{self.removed_note()}"
        return f"no longer in Ozon's reference (since {self.removed}){use}"

    @property
    def key(self) -> str:
        """``"METHOD /path"``, the key of :data:`ozon_async.OPERATIONS`."""
        return f"{self.method} {self.path}"

    @property
    def request_type(self) -> type[Any] | None:
        """The request model (imported on first use); ``None`` for operations without a body."""
        return _resolve(self.request_type_ref)  # type: ignore[no-any-return]

    @property
    def response_type(self) -> type[Any] | None:
        """The response model; ``None`` for binary answers."""
        return _resolve(self.response_type_ref)  # type: ignore[no-any-return]


class OperationRegistry(Mapping[str, Operation]):
    """Every operation of an API keyed by ``"METHOD /path"``, loaded on first use.

    The table is generated (``ozon_async/resources/_registry.py``); ``load`` imports it when the
    registry is first read, so ``import ozon_async`` does not pay for hundreds of operations.
    The client's layer makes the registry (:data:`ozon_async.OPERATIONS`): this module only
    describes operations.
    """

    __slots__ = ("_load_table", "_table")

    def __init__(self, load: Callable[[], Mapping[str, Operation]]) -> None:
        self._load_table = load
        self._table: Mapping[str, Operation] | None = None

    def _load(self) -> Mapping[str, Operation]:
        table = self._table
        if table is None:
            table = self._table = self._load_table()
        return table

    def __getitem__(self, key: str) -> Operation:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())

    def __contains__(self, key: object) -> bool:
        return key in self._load()

    def __repr__(self) -> str:
        return f"<OperationRegistry of {len(self)} operations>"
