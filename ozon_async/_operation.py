"""Descriptions of operations: what the generated registry holds for each ``METHOD /path``."""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import Any

from ozon_async._record import Record


class RateLimit(Record):
    """At most ``requests`` calls every ``period`` seconds per Client-Id (``x-ozon-rate-limit``)."""

    _fields = ("requests", "period")
    __slots__ = _fields

    requests: int
    period: float

    def __init__(self, requests: int, period: float) -> None:
        set_ = object.__setattr__
        set_(self, "requests", requests)
        set_(self, "period", period)

    @property
    def interval(self) -> float:
        """Seconds between two evenly paced calls."""
        return self.period / self.requests


class Pagination(Record):
    """How to walk the pages of a list operation (``x-ozon-pagination``).

    Paths are tuples of Python attribute names into the response model.
    """

    _fields = (
        "style",
        "position",
        "limit",
        "items",
        "next",
        "has_next",
        "total",
        "page_count",
        "next_from_item",
        "first_page",
    )
    __slots__ = _fields

    style: str
    position: str
    limit: str | None
    items: tuple[str, ...]
    next: tuple[str, ...] | None
    has_next: tuple[str, ...] | None
    total: tuple[str, ...] | None
    page_count: tuple[str, ...] | None
    next_from_item: str | None
    first_page: int | None

    def __init__(
        self,
        style: str,
        position: str,
        limit: str | None,
        items: tuple[str, ...],
        next: tuple[str, ...] | None = None,
        has_next: tuple[str, ...] | None = None,
        total: tuple[str, ...] | None = None,
        page_count: tuple[str, ...] | None = None,
        next_from_item: str | None = None,
        first_page: int | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "style", style)
        set_(self, "position", position)
        set_(self, "limit", limit)
        set_(self, "items", items)
        set_(self, "next", next)
        set_(self, "has_next", has_next)
        set_(self, "total", total)
        set_(self, "page_count", page_count)
        set_(self, "next_from_item", next_from_item)
        set_(self, "first_page", first_page)


class ItemRateLimit(Record):
    """At most ``requests`` updates of one item every ``period`` seconds per Client-Id
    (``x-ozon-item-rate-limit``), for example one stock update per offer/warehouse pair per 30 s.

    ``code`` is the per-item error code Ozon answers with when the rule is broken anyway.
    """

    _fields = ("requests", "period", "code")
    __slots__ = _fields

    requests: int
    period: float
    code: str | None

    def __init__(self, requests: int, period: float, code: str | None = None) -> None:
        set_ = object.__setattr__
        set_(self, "requests", requests)
        set_(self, "period", period)
        set_(self, "code", code)


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

    _fields = (
        "param",
        "field",
        "max_items",
        "key",
        "entry_key",
        "scalar",
        "results",
        "failures",
        "ok",
        "errors",
        "code",
        "message",
        "request_ok",
        "failure_code",
    )
    __slots__ = _fields
    param: str
    field: str
    max_items: int
    key: tuple[tuple[str, ...], ...]
    entry_key: tuple[tuple[str, ...], ...]
    scalar: bool
    results: tuple[str, ...] | None
    failures: tuple[str, ...] | None
    ok: str | None
    errors: str | None
    code: str | None
    message: str | None
    request_ok: tuple[str, ...] | None
    failure_code: str | None

    def __init__(
        self,
        param: str,
        field: str,
        max_items: int,
        key: tuple[tuple[str, ...], ...] = (),
        entry_key: tuple[tuple[str, ...], ...] = (),
        scalar: bool = False,
        results: tuple[str, ...] | None = None,
        failures: tuple[str, ...] | None = None,
        ok: str | None = None,
        errors: str | None = None,
        code: str | None = None,
        message: str | None = None,
        request_ok: tuple[str, ...] | None = None,
        failure_code: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "param", param)
        set_(self, "field", field)
        set_(self, "max_items", max_items)
        set_(self, "key", key)
        set_(self, "entry_key", entry_key)
        set_(self, "scalar", scalar)
        set_(self, "results", results)
        set_(self, "failures", failures)
        set_(self, "ok", ok)
        set_(self, "errors", errors)
        set_(self, "code", code)
        set_(self, "message", message)
        set_(self, "request_ok", request_ok)
        set_(self, "failure_code", failure_code)


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

    _fields = (
        "status",
        "param",
        "id",
        "id_from_request",
        "state",
        "items",
        "item_state",
        "item_errors",
        "done",
        "failed",
        "interval",
        "timeout",
        "file",
        "error",
        "status_args",
        "tasks",
        "kind",
    )
    __slots__ = _fields
    status: str
    param: str
    id: tuple[tuple[str, ...], ...]
    id_from_request: str | None
    state: tuple[str, ...] | None
    items: tuple[str, ...] | None
    item_state: str | None
    item_errors: str | None
    done: tuple[str, ...]
    failed: tuple[str, ...]
    interval: float
    timeout: float
    file: tuple[str, ...] | None
    error: tuple[str, ...] | None
    status_args: tuple[tuple[str, Any], ...]
    tasks: tuple[str, ...] | None
    kind: str | None

    def __init__(
        self,
        status: str,
        param: str,
        id: tuple[tuple[str, ...], ...] = (),
        id_from_request: str | None = None,
        state: tuple[str, ...] | None = None,
        items: tuple[str, ...] | None = None,
        item_state: str | None = None,
        item_errors: str | None = None,
        done: tuple[str, ...] = (),
        failed: tuple[str, ...] = (),
        interval: float = 5.0,
        timeout: float = 600.0,
        file: tuple[str, ...] | None = None,
        error: tuple[str, ...] | None = None,
        status_args: tuple[tuple[str, Any], ...] = (),
        tasks: tuple[str, ...] | None = None,
        kind: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "status", status)
        set_(self, "param", param)
        set_(self, "id", id)
        set_(self, "id_from_request", id_from_request)
        set_(self, "state", state)
        set_(self, "items", items)
        set_(self, "item_state", item_state)
        set_(self, "item_errors", item_errors)
        set_(self, "done", done)
        set_(self, "failed", failed)
        set_(self, "interval", interval)
        set_(self, "timeout", timeout)
        set_(self, "file", file)
        set_(self, "error", error)
        set_(self, "status_args", status_args)
        set_(self, "tasks", tasks)
        set_(self, "kind", kind)


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

    _fields = ("campaigns", "date_from", "date_to", "time_from", "time_to", "download", "kind")
    __slots__ = _fields

    campaigns: str | None
    date_from: str | None
    date_to: str | None
    time_from: str | None
    time_to: str | None
    download: str | None
    kind: str | None

    def __init__(
        self,
        campaigns: str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        time_from: str | None = None,
        time_to: str | None = None,
        download: str | None = None,
        kind: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "campaigns", campaigns)
        set_(self, "date_from", date_from)
        set_(self, "date_to", date_to)
        set_(self, "time_from", time_from)
        set_(self, "time_to", time_to)
        set_(self, "download", download)
        set_(self, "kind", kind)


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

    _fields = (
        "concurrent",
        "concurrent_organisation",
        "per_day",
        "per_day_per_campaign",
        "max_campaigns",
        "max_days",
        "timezone",
    )
    __slots__ = _fields

    concurrent: int | None
    concurrent_organisation: int | None
    per_day: int | None
    per_day_per_campaign: int | None
    max_campaigns: int | None
    max_days: int | None
    timezone: str | None

    def __init__(
        self,
        concurrent: int | None = None,
        concurrent_organisation: int | None = None,
        per_day: int | None = None,
        per_day_per_campaign: int | None = None,
        max_campaigns: int | None = None,
        max_days: int | None = None,
        timezone: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "concurrent", concurrent)
        set_(self, "concurrent_organisation", concurrent_organisation)
        set_(self, "per_day", per_day)
        set_(self, "per_day_per_campaign", per_day_per_campaign)
        set_(self, "max_campaigns", max_campaigns)
        set_(self, "max_days", max_days)
        set_(self, "timezone", timezone)


class ApiLimits(Record):
    """The limits an API states for all its operations together: ``daily_budget`` (requests
    per account per day, ``x-ozon-daily-budget``) and ``exports`` (``x-ozon-export-rules``)."""

    _fields = ("daily_budget", "exports")
    __slots__ = _fields

    daily_budget: RateLimit | None
    exports: ExportRules | None

    def __init__(
        self, daily_budget: RateLimit | None = None, exports: ExportRules | None = None
    ) -> None:
        object.__setattr__(self, "daily_budget", daily_budget)
        object.__setattr__(self, "exports", exports)


class Subscription(Record):
    """The paid seller subscription an operation needs (``x-ozon-subscription``).

    Attributes:
        any_of: codes of the subscriptions, any one of which is enough: ``"premium"``,
            ``"premium_plus"``, ``"premium_pro"``, ``"review_management"``.
        names: their names, in the same order (``"Premium Plus"``...).
        without: what a seller without one gets: ``"refused"`` (Ozon refuses the call) or
            ``"limited"`` (the call works but answers with part of the data).
    """

    _fields = ("any_of", "names", "without")
    __slots__ = _fields

    any_of: tuple[str, ...]
    names: tuple[str, ...]
    without: str

    def __init__(
        self, any_of: tuple[str, ...], names: tuple[str, ...] = (), without: str = "refused"
    ) -> None:
        set_ = object.__setattr__
        set_(self, "any_of", any_of)
        set_(self, "names", names or any_of)
        set_(self, "without", without)

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


class Operation(Record):
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

    _fields = (
        "method",
        "path",
        "group",
        "name",
        "operation_id",
        "summary",
        "safe",
        "deprecated",
        "replaced_by",
        "request_type_ref",
        "response_type_ref",
        "response_content_type",
        "rate_limit",
        "pagination",
        "destructive",
        "beta",
        "subscription",
        "batch",
        "item_rate_limit",
        "task",
        "request_content_type",
        "path_params",
        "sunset",
        "query_params",
        "empty_answer",
        "budget_exempt",
        "export",
        "removed",
        "title_ru",
    )
    __slots__ = _fields
    method: str
    path: str
    group: str
    name: str
    operation_id: str
    summary: str
    safe: bool
    deprecated: bool
    replaced_by: str | None
    request_type_ref: str | None
    response_type_ref: str | None
    response_content_type: str
    rate_limit: RateLimit | None
    pagination: Pagination | None
    destructive: bool
    beta: bool
    subscription: Subscription | None
    batch: Batch | None
    item_rate_limit: ItemRateLimit | None
    task: Task | None
    request_content_type: str
    path_params: tuple[str, ...]
    sunset: str | None
    query_params: tuple[str, ...]
    empty_answer: bool
    budget_exempt: bool
    export: Export | None
    removed: str | None
    title_ru: str | None

    def __init__(
        self,
        *,
        method: str,
        path: str,
        group: str,
        name: str,
        operation_id: str,
        summary: str,
        safe: bool,
        deprecated: bool,
        replaced_by: str | None,
        request_type: str | None,
        response_type: str | None,
        response_content_type: str = "application/json",
        rate_limit: RateLimit | None = None,
        pagination: Pagination | None = None,
        destructive: bool = False,
        beta: bool = False,
        subscription: Subscription | None = None,
        batch: Batch | None = None,
        item_rate_limit: ItemRateLimit | None = None,
        task: Task | None = None,
        request_content_type: str = "application/json",
        path_params: tuple[str, ...] = (),
        sunset: str | None = None,
        query_params: tuple[str, ...] = (),
        empty_answer: bool = False,
        budget_exempt: bool = False,
        export: Export | None = None,
        removed: str | None = None,
        title_ru: str | None = None,
    ) -> None:
        set_ = object.__setattr__
        set_(self, "method", method)
        set_(self, "path", path)
        set_(self, "group", group)
        set_(self, "name", name)
        set_(self, "operation_id", operation_id)
        set_(self, "summary", summary)
        set_(self, "safe", safe)
        set_(self, "deprecated", deprecated)
        set_(self, "replaced_by", replaced_by)
        set_(self, "request_type_ref", request_type)
        set_(self, "response_type_ref", response_type)
        set_(self, "response_content_type", response_content_type)
        set_(self, "rate_limit", rate_limit)
        set_(self, "pagination", pagination)
        set_(self, "destructive", destructive)
        set_(self, "beta", beta)
        set_(self, "subscription", subscription)
        set_(self, "batch", batch)
        set_(self, "item_rate_limit", item_rate_limit)
        set_(self, "task", task)
        set_(self, "request_content_type", request_content_type)
        set_(self, "path_params", path_params)
        set_(self, "sunset", sunset)
        set_(self, "query_params", query_params)
        set_(self, "empty_answer", empty_answer)
        set_(self, "budget_exempt", budget_exempt)
        set_(self, "export", export)
        set_(self, "removed", removed)
        set_(self, "title_ru", title_ru)

    _repr_hidden = frozenset({"request_type_ref", "response_type_ref"})

    def _init_arguments(self) -> dict[str, Any]:
        arguments = super()._init_arguments()
        arguments["request_type"] = arguments.pop("request_type_ref")
        arguments["response_type"] = arguments.pop("response_type_ref")
        return arguments

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
    """Every operation of the spec keyed by ``"METHOD /path"``, loaded on first use.

    The table is generated (``ozon_async/resources/_registry.py``); it is imported when the
    registry is first read, so ``import ozon_async`` does not pay for hundreds of operations.
    """

    __slots__ = ("_table",)

    def __init__(self) -> None:
        self._table: Mapping[str, Operation] | None = None

    def _load(self) -> Mapping[str, Operation]:
        table = self._table
        if table is None:
            from ozon_async.resources._registry import OPERATIONS

            table = self._table = OPERATIONS
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


#: Every operation of the Ozon Seller API the SDK knows, keyed by ``"METHOD /path"``.
OPERATIONS: Mapping[str, Operation] = OperationRegistry()
