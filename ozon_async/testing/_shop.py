"""What the sandbox's rooms (``_handlers``) and its push events (``_push``) may ask of the sandbox:
the :class:`Shop` they are handed. :class:`~ozon_async.testing._server.Sandbox` is one; the rooms
never import the server, so requests flow one way (server → rooms → shop state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ozon_async.testing._data import SchemaFaker
    from ozon_async.testing._state import ImportTask, Report, ShopState

__all__ = ["Shop"]


class Shop(Protocol):
    """The sandbox as its rooms see it: the shop's state, its settings and the few services a
    handler needs (ids, fake values, pages, pushes)."""

    @property
    def state(self) -> ShopState: ...
    @property
    def url(self) -> str: ...
    @property
    def faker(self) -> SchemaFaker: ...
    @property
    def company_id(self) -> int: ...
    @property
    def anchor(self) -> float: ...
    @property
    def task_polls(self) -> int | None: ...
    @property
    def task_seconds(self) -> float | None: ...
    @property
    def stock_interval(self) -> float: ...
    @property
    def price_updates_per_hour(self) -> int: ...
    @property
    def pusher(self) -> object | None:
        """Something that sends pushes, or ``None`` when the sandbox has no ``push_url`` (a
        handler builds an event only when there is one)."""

    def push(self, event: dict[str, Any]) -> None: ...
    def now(self) -> float: ...
    def next_id(self, kind: str, low: int, high: int) -> int: ...
    def fit(self, value: Any, schema: Any, seed_key: str) -> Any: ...
    def task_is_done(self, task: ImportTask, now: float) -> bool: ...
    def report_status(self, r: Report, now: float) -> str: ...
    def paginate(
        self,
        spec_op: Mapping[str, Any],
        body: Mapping[str, Any],
        items: list[Any],
        answer: dict[str, Any],
        render: Callable[[Any], Any] | None = None,
    ) -> dict[str, Any]: ...
