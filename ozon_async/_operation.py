"""Descriptions of operations: what the generated registry holds for each ``METHOD /path``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` calls every ``period`` seconds per Client-Id (``x-ozon-rate-limit``)."""

    requests: int
    period: float

    @property
    def interval(self) -> float:
        """Seconds between two evenly paced calls."""
        return self.period / self.requests


@dataclass(frozen=True)
class Pagination:
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


def _resolve(ref: str | None) -> Any:
    if ref is None:
        return None
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True, init=False)
class Operation:
    """One operation of the Ozon Seller API.

    Attributes:
        method, path: the HTTP method and path, e.g. ``"POST"``, ``"/v3/posting/fbs/list"``.
        group, name: where the typed method lives: ``client.<group>.<name>``.
        operation_id: the spec's operationId.
        summary: one line saying what it does.
        safe: ``True`` when it only reads, so the client may resend it after ambiguous failures.
        deprecated, replaced_by: lifecycle; ``replaced_by`` is ``"METHOD /path"``.
        rate_limit: the per-method limit, if Ozon documents one.
        pagination: how to walk its pages, if it is a paginated list.
        response_content_type: ``application/json``, or e.g. ``application/pdf``.
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
    request_type_ref: str | None = field(default=None, repr=False)
    response_type_ref: str | None = field(default=None, repr=False)
    response_content_type: str = "application/json"
    rate_limit: RateLimit | None = None
    pagination: Pagination | None = None

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
