"""What every room of the sandbox shares: the :class:`Call` a handler gets, the
:class:`SandboxError` it raises for Ozon's error answers, and the registries the rooms fill
(:data:`HANDLERS` by ``"METHOD /path"``, :data:`NEEDS` and :data:`PREPARE` for working requests).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ozon_async.testing._state import (
    ShopState,
)

if TYPE_CHECKING:
    from ozon_async.testing._shop import Shop


__all__ = [
    "HANDLERS",
    "NEEDS",
    "PREPARE",
    "Call",
    "SandboxError",
    "handles",
    "id_list",
    "invalid",
    "not_found",
]


class SandboxError(Exception):
    """An error answer: HTTP ``status`` with Ozon's body ``{code, message, details}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": []}


def not_found(what: str) -> SandboxError:
    return SandboxError(404, 5, what)


def invalid(message: str) -> SandboxError:
    return SandboxError(400, 3, message)


@dataclass
class Call:
    """One request being answered."""

    sb: Shop
    key: str
    spec_op: dict[str, Any]
    body: dict[str, Any]
    now: float

    @property
    def state(self) -> ShopState:
        return self.sb.state

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1]

    def filter(self) -> dict[str, Any]:
        f = self.body.get("filter")
        return f if isinstance(f, dict) else {}

    def response_schema(self) -> Any:
        media: dict[str, Any] = next(
            iter(self.spec_op["responses"]["200"].get("content", {}).values()), {}
        )
        return media.get("schema", {})

    def schema_at(self, dotted: str) -> Any:
        """The schema of an item of the list at ``dotted`` in the answer (or of the field)."""
        faker = self.sb.faker
        schema = self.response_schema()
        for part in dotted.split("."):
            schema = faker.properties(schema).get(part, {})
        if faker.kind(schema) == "array":
            schema = faker.resolve(schema).get("items", {})
        return schema

    def entity(self, value: dict[str, Any], dotted: str, seed: str) -> Any:
        """``value`` shaped as an item of the list at ``dotted``; generated extras are the same
        in every answer about that object (they are seeded by ``seed``)."""
        return self.sb.fit(value, self.schema_at(dotted), seed)

    def page(self, items: list[Any], answer: dict[str, Any]) -> dict[str, Any]:
        return self.sb.paginate(self.spec_op, self.body, items, answer)

    def limit(self, default: int = 100) -> int:
        value = self.body.get("limit")
        return value if isinstance(value, int) and value > 0 else default


Handler = Callable[[Call], Any]
HANDLERS: dict[str, Handler] = {}
# For an operation, which existing objects its request should name to succeed (used to build
# working requests from the spec's examples): request field -> pool name (see Sandbox.pools).
NEEDS: dict[str, dict[str, str]] = {}
# Operations whose working request needs more than existing identifiers (see Sandbox.example_request).
PREPARE: dict[str, Callable[[Shop, dict[str, Any]], None]] = {}


def handles(*keys: str, needs: dict[str, str] | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for key in keys:
            HANDLERS[key] = fn
            if needs:
                NEEDS[key] = needs
        return fn

    return register


def id_list(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values if v not in (None, "")]


def item_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"code": code, "message": message}]
