"""The five tools, as plain async methods over the SDK's runtime (no ``mcp`` SDK needed here).

Every call goes through :class:`ozon_async.OzonClient`: the same validation as the typed methods
(:func:`ozon_async._codec.encode_request`), the same rate limits, retries (a write is never resent
after an ambiguous failure), size caps and errors. Answers are JSON objects; :mod:`._render` turns
them into text within the size budget.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import msgspec

from ozon_async import _catalog
from ozon_async._client import BaseClient, OzonClient
from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    OzonError,
    RateLimitError,
    RequestValidationError,
    ResponseDecodeError,
)
from ozon_async._operation import Operation, Pagination
from ozon_async._pagination import iter_pages
from ozon_async._request import Prepared, multipart_parts, prepare
from ozon_async._response import APIResponse
from ozon_async._runtime import send_prepared
from ozon_async.mcp import _catalog as _views
from ozon_async.mcp._render import DEFAULT_BUDGET, decode_exact, dumps, money_as_strings

logger = logging.getLogger("ozon_async.mcp")

__all__ = ["Answer", "Settings", "Shops", "ToolError", "Tools"]

#: fetch_all's default and largest ``max_items``.
DEFAULT_MAX_ITEMS = 500
MAX_ITEMS_CAP = 10_000
#: page size fetch_all asks for when the arguments do not say and the spec gives no maximum
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Settings:
    """How the server behaves.

    Attributes:
        budget: the largest answer in bytes of JSON; longer ones are trimmed with a note.
        allow_destructive: send destructive operations (``x-ozon-destructive``) when confirmed.
        allow: ``"METHOD /path"`` keys of destructive operations allowed one by one.
        max_items_cap: the largest ``max_items`` fetch_all accepts.
    """

    budget: int = DEFAULT_BUDGET
    allow_destructive: bool = False
    allow: frozenset[str] = frozenset()
    max_items_cap: int = MAX_ITEMS_CAP

    def destructive_allowed(self, op: Operation) -> bool:
        return self.allow_destructive or op.key in self.allow


class ToolError(Exception):
    """A tool call that failed; :meth:`payload` is what the assistant sees (``isError``)."""

    def __init__(self, kind: str, message: str, **details: Any) -> None:
        self.kind = kind
        self.message = message
        self.details = {k: v for k, v in details.items() if v is not None}
        super().__init__(message)

    def payload(self) -> dict[str, Any]:
        return {"error": {"type": self.kind, "message": self.message, **self.details}}


@dataclass
class Answer:
    """A tool's successful answer and, when it holds a list that may be cut, how to page."""

    payload: dict[str, Any]
    how_to_page: str | None = None


@dataclass
class Shops:
    """One :class:`OzonClient` per shop (profile), and which one to use by default."""

    clients: dict[str, OzonClient]
    default: str | None = None
    #: strings that must never appear in an answer or a log line (keys, tokens)
    secrets: list[str] = field(default_factory=list, repr=False)
    #: where the shops send requests (``sandbox`` when the local sandbox serves them)
    mode: str = "ozon"
    #: the client of the Performance (advertising) API, when its credentials are configured
    performance: BaseClient | None = None

    def names(self) -> list[str]:
        return sorted(self.clients)

    def pick(self, name: str | None) -> tuple[str, OzonClient]:
        if name is None:
            if len(self.clients) == 1:
                only = next(iter(self.clients))
                return only, self.clients[only]
            if self.default is not None:
                return self.default, self.clients[self.default]
            raise ToolError(
                "invalid_arguments",
                f"several shops are configured; say which with shop (one of {', '.join(self.names())})",
                field="shop",
                sent=False,
            )
        client = self.clients.get(name)
        if client is None:
            raise ToolError(
                "invalid_arguments",
                f"no shop {name!r}; the shops are {', '.join(self.names())}",
                field="shop",
                sent=False,
            )
        return name, client

    def pick_for(self, op: Operation, name: str | None) -> tuple[str, BaseClient]:
        """The client that sends ``op``: a shop's for the Seller API, the Performance client
        for the Performance API."""
        if _catalog.api_of(op) == _catalog.PERFORMANCE:
            if self.performance is None:
                raise ToolError(
                    "not_configured",
                    f"{op.key} is an operation of the Performance (advertising) API, and this "
                    "server has no Performance credentials (performance_client_id and "
                    "performance_client_secret in a profile, or OZON_PERFORMANCE_CLIENT_ID and "
                    "OZON_PERFORMANCE_CLIENT_SECRET)",
                    sent=False,
                )
            return "performance", self.performance
        return self.pick(name)

    @property
    def apis(self) -> tuple[str, ...]:
        """The APIs the tools reach."""
        apis = (_catalog.SELLER,) if self.clients else ()
        return apis + ((_catalog.PERFORMANCE,) if self.performance is not None else ())

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()
        if self.performance is not None:
            await self.performance.aclose()


def _shown_body(prepared: Prepared) -> Any:
    """The body a dry run shows: the JSON itself, or a summary of a multipart upload."""
    if prepared.body is None:
        return None
    if prepared.content_type is not None:
        return {"multipart": {"bytes": len(prepared.body), "parts": multipart_parts(prepared)}}
    return money_as_strings(decode_exact(prepared.body))


def _validation_error(exc: RequestValidationError) -> ToolError:
    text = str(exc)
    return ToolError(
        "invalid_arguments",
        text,
        field=exc.field or None,
        sent=False,
        hint="describe_operation shows the arguments' JSON Schema",
    )


def _api_error(exc: OzonError) -> ToolError:
    if isinstance(exc, RequestValidationError):
        return _validation_error(exc)
    if isinstance(exc, APIStatusError):
        details: dict[str, Any] = {
            "status": exc.status,
            "code": exc.code,
            "trace_id": exc.trace_id,
            "details": exc.details or None,
            "sent": True,
        }
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            details["retry_after_seconds"] = exc.retry_after
        if exc.subscription is not None:
            details["subscription"] = exc.subscription.refusal()
        return ToolError("ozon_error", exc.message or str(exc), **details)
    if isinstance(exc, APIConnectionError):
        return ToolError(
            "connection_error",
            str(exc),
            may_have_been_received=exc.sent,
            note=(
                "a write that may have been received is not resent; check its effect with a "
                "read before trying again"
            )
            if exc.sent
            else None,
        )
    if isinstance(exc, ResponseDecodeError):
        return ToolError(
            "bad_answer", str(exc), status=exc.status, answer_bytes=len(exc.body), sent=True
        )
    if isinstance(exc, ConfigurationError):
        return ToolError("configuration_error", str(exc))
    return ToolError("error", str(exc))


def _arguments(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ToolError(
            "invalid_arguments",
            "arguments must be a JSON object of the operation's fields",
            field="arguments",
            sent=False,
        )
    return value


def _get(data: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _fill_page_size(
    op: Operation, limit_name: str | None, args: dict[str, Any], max_items: int
) -> dict[str, Any]:
    """Set the page size argument when it is missing (at most the schema's maximum); returns
    what was filled in."""
    filled: dict[str, Any] = {}
    if limit_name and args.get(limit_name) is None:
        prop = _views.request_schema(op).get("properties", {}).get(limit_name, {})
        maximum = prop.get("maximum") if isinstance(prop, dict) else None
        size = min(max_items, maximum if isinstance(maximum, int) else DEFAULT_PAGE_SIZE)
        args[limit_name] = filled[limit_name] = size
    return filled


class Tools:
    """The tools' logic. Each method returns an :class:`Answer` or raises :class:`ToolError`."""

    def __init__(self, shops: Shops, settings: Settings | None = None) -> None:
        self.shops = shops
        self.settings = settings or Settings()

    # ----------------------------------------------------------------- helpers
    @staticmethod
    def _find(name: Any) -> Operation:
        if not isinstance(name, str) or not name.strip():
            raise ToolError(
                "invalid_arguments",
                "operation must name an operation: group.name (products.stocks_v2), "
                '"POST /v2/products/stocks" or the path',
                field="operation",
                sent=False,
            )
        try:
            op = _views.find(name)
        except _views.OperationNotFound as exc:
            raise ToolError(
                "unknown_operation",
                str(exc),
                field="operation",
                suggestions=exc.suggestions or None,
                sent=False,
            ) from None
        if not _views.tool_operation(op):
            raise ToolError(
                "wrong_tool",
                f"{op.key} is sent by the server itself from its configured credentials",
                field="operation",
                sent=False,
            )
        return op

    @staticmethod
    def _body(op: Operation, arguments: Mapping[str, Any]) -> Prepared:
        """The validated request, exactly as the typed method would send it: path parameters
        in the path, the body as JSON (or multipart for the operations that upload files,
        their bytes given in base64)."""
        body_args = {k: v for k, v in arguments.items() if k not in op.path_params}
        if (op.request_type is None or op.method == "GET") and body_args and not op.query_params:
            raise ToolError(
                "invalid_arguments",
                f"{op.key} takes no such arguments; unknown field `{next(iter(body_args))}`",
                field=next(iter(body_args)),
                sent=False,
            )
        try:
            prepared = prepare(op, op.request_type, arguments)
        except RequestValidationError as exc:
            raise _validation_error(exc) from None
        if prepared.body is None and op.method != "GET":  # an operation without parameters
            return Prepared(prepared.path, b"{}", None)
        return prepared

    @staticmethod
    def _header(op: Operation, shop: str) -> dict[str, Any]:
        head: dict[str, Any] = {"operation": op.key, "id": _catalog.op_id(op), "shop": shop}
        warning = op.lifecycle_warning()
        if warning is not None:
            head["warning"] = warning
        return head

    @staticmethod
    def _result(resp: APIResponse[Any]) -> Any:
        ctype = resp.content_type or "application/json"
        if "json" not in ctype:
            return {
                "binary": {
                    "content_type": ctype,
                    "bytes": len(resp.content),
                    "sha256": hashlib.sha256(resp.content).hexdigest(),
                },
                "note": "a file, not shown here; the SDK or the ozon CLI saves it",
            }
        if not resp.content:
            return None
        try:
            return money_as_strings(decode_exact(resp.content))
        except msgspec.DecodeError:
            return {"text": resp.text()}

    def _page_hint(self, op: Operation) -> str | None:
        pag = _catalog.pagination_json(op)
        if pag is None:
            return None
        limit = pag.get("limit")
        position = pag.get("position")
        nxt = pag.get("next") or (
            f"{pag['next_from_item']} of the last item" if pag.get("next_from_item") else None
        )
        parts = []
        if limit:
            parts.append(f"ask for fewer items per page with `{limit}`")
        if position and pag.get("style") in ("offset", "page"):
            parts.append(f"move on with `{position}`")
        elif position and nxt:
            parts.append(f"continue with `{position}` set to `{nxt}` from this answer")
        parts.append("or use fetch_all with max_items")
        return "; ".join(parts)

    async def _request(
        self, client: BaseClient, op: Operation, prepared: Prepared
    ) -> APIResponse[Any]:
        try:
            return await send_prepared(client, op, prepared)
        except OzonError as exc:
            raise _api_error(exc) from None

    # ----------------------------------------------------------------- tools
    async def search_operations(
        self, query: Any, limit: Any = 20, include_removed: Any = False
    ) -> Answer:
        if not isinstance(query, str):
            raise ToolError("invalid_arguments", "query must be text", field="query", sent=False)
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ToolError(
                "invalid_arguments", "limit must be 1 to 100", field="limit", sent=False
            )
        if not isinstance(include_removed, bool):
            raise ToolError(
                "invalid_arguments",
                "include_removed must be true or false",
                field="include_removed",
                sent=False,
            )
        try:
            return Answer(_views.search(query, limit, self.shops.apis, include_removed))
        except ValueError as exc:
            raise ToolError("invalid_arguments", str(exc), field="query", sent=False) from None

    async def describe_operation(self, operation: Any) -> Answer:
        op = self._find(operation)
        answer = _views.describe(op, destructive_allowed=self.settings.destructive_allowed(op))
        if len(self.shops.clients) > 1:
            answer["shops"] = self.shops.names()
        # Cutting lists out of a schema (required, enum) would change its meaning: over the
        # budget, leave out the example and the prose first.
        omitted = []
        for key in ("arguments_example", "description", "returns"):
            if len(dumps(answer)) + 600 <= self.settings.budget:
                break
            if answer.pop(key, None) is not None:
                omitted.append(key)
        if omitted:
            answer["omitted_for_size"] = omitted
        return Answer(
            answer,
            "the schema is larger than the answer budget; start the server with a larger "
            "--budget to see all of it",
        )

    async def call_read(self, operation: Any, arguments: Any = None, shop: Any = None) -> Answer:
        op = self._find(operation)
        if not op.safe:
            raise ToolError(
                "wrong_tool",
                f"{op.key} changes data ({_catalog.safety(op)}); use call_write, which shows the "
                "body first and sends only with confirm=true",
                sent=False,
            )
        args = _arguments(arguments)
        name, client = self.shops.pick_for(op, shop)
        body = self._body(op, args)
        resp = await self._request(client, op, body)
        payload = self._header(op, name)
        payload["result"] = self._result(resp)
        if resp.trace_id:
            payload["trace_id"] = resp.trace_id
        logger.info("call_read %s shop=%s -> %d", op.key, name, resp.status)
        return Answer(payload, self._page_hint(op))

    async def call_write(
        self,
        operation: Any,
        arguments: Any = None,
        confirm: Any = False,
        dry_run: Any = False,
        shop: Any = None,
    ) -> Answer:
        op = self._find(operation)
        for flag, value in (("confirm", confirm), ("dry_run", dry_run)):
            if not isinstance(value, bool):
                raise ToolError(
                    "invalid_arguments", f"{flag} must be true or false", field=flag, sent=False
                )
        if op.safe:
            raise ToolError(
                "wrong_tool", f"{op.key} only reads; use call_read (or fetch_all)", sent=False
            )
        args = _arguments(arguments)
        name, client = self.shops.pick_for(op, shop)
        body = self._body(op, args)
        allowed = self.settings.destructive_allowed(op)
        payload = self._header(op, name)
        payload["safety"] = _catalog.safety(op)
        if dry_run or not confirm:
            payload["sent"] = False
            payload["body"] = _shown_body(body)
            if body.path != op.path:
                payload["path"] = body.path
            if op.destructive and not allowed:
                payload["next_step"] = (
                    "this operation is destructive and this server does not allow it: it would be "
                    "refused even with confirm=true (the server must be started with "
                    f"--allow-destructive or --allow {_catalog.op_id(op)})"
                )
            else:
                payload["next_step"] = (
                    "nothing was sent. Show the body to the user; after they agree, call "
                    "call_write again with the same arguments and confirm=true"
                )
            logger.info("call_write %s shop=%s previewed (not sent)", op.key, name)
            return Answer(payload)
        if op.destructive and not allowed:
            raise ToolError(
                "not_allowed",
                f"{op.key} is destructive (it deletes, archives, cancels or refunds something that "
                "is hard to undo) and this server does not allow destructive operations. Start it "
                f"with --allow-destructive, or with --allow {_catalog.op_id(op)} for this one",
                sent=False,
            )
        resp = await self._request(client, op, body)
        payload["sent"] = True
        payload["result"] = self._result(resp)
        if resp.trace_id:
            payload["trace_id"] = resp.trace_id
        logger.info("call_write %s shop=%s sent -> %d", op.key, name, resp.status)
        return Answer(payload)

    def _walker(self, op: Operation, max_items: Any) -> Pagination:
        """The pages walker of ``op`` for fetch_all; refuses a bad ``max_items``, an operation
        without pages and one that changes data."""
        cap = self.settings.max_items_cap
        if (
            not isinstance(max_items, int)
            or isinstance(max_items, bool)
            or not 1 <= max_items <= cap
        ):
            raise ToolError(
                "invalid_arguments", f"max_items must be 1 to {cap}", field="max_items", sent=False
            )
        walker = _catalog.json_walker(op)
        if walker is None:
            raise ToolError("wrong_tool", f"{op.key} is not paginated; use call_read", sent=False)
        if not op.safe:
            raise ToolError(
                "wrong_tool", f"{op.key} changes data; fetch_all only walks reads", sent=False
            )
        return walker

    async def fetch_all(
        self,
        operation: Any,
        arguments: Any = None,
        max_items: Any = DEFAULT_MAX_ITEMS,
        shop: Any = None,
    ) -> Answer:
        op = self._find(operation)
        walker = self._walker(op, max_items)
        args = dict(_arguments(arguments))
        name, client = self.shops.pick_for(op, shop)
        items_path = _catalog.items_path(op)
        filled = _fill_page_size(op, walker.limit, args, max_items)
        self._body(op, args)  # validate before anything is sent
        items: list[Any] = []
        pages = 0
        last_args: dict[str, Any] = {}
        complete = False

        async def call(**kwargs: Any) -> Any:
            nonlocal pages, last_args
            last_args = dict(kwargs)
            resp = await self._request(client, op, self._body(op, kwargs))
            pages += 1
            raw = decode_exact(resp.content) if resp.content else None
            items.extend(_get(raw, items_path) or [])
            try:
                return resp.parse()
            except OzonError as exc:
                raise _api_error(exc) from None

        gen = cast(AsyncGenerator[Any, None], iter_pages(call, walker, args))
        try:
            while True:
                if len(items) >= max_items:
                    break
                try:
                    await gen.__anext__()
                except StopAsyncIteration:
                    complete = True
                    break
        finally:
            await gen.aclose()
        more = len(items) > max_items
        taken = money_as_strings(items[:max_items])
        payload = self._header(op, name)
        payload.update(
            {
                "items": taken,
                "count": len(taken),
                "pages": pages,
                "complete": complete and not more,
            }
        )
        if filled:
            payload["filled_in"] = filled
        if not payload["complete"]:
            payload["stopped"] = (
                f"stopped at max_items={max_items}; more items may exist. The last page was "
                f"asked with: {msgspec.json.encode(last_args).decode()}"
            )
        logger.info("fetch_all %s shop=%s: %d items in %d pages", op.key, name, len(taken), pages)
        return Answer(
            payload,
            "lower max_items or narrow the filter, or page by hand with call_read "
            f"(`{walker.position}` from the last page)",
        )
