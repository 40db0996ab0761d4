"""What the MCP tools say about operations: search answers and self-contained descriptions.

Lookup, search and the facts come from the one catalogue, :mod:`ozon_async._catalog` (also
used by the command line and the sandbox), over the Seller API and the Performance (advertising)
API (ids ``perf.<group>.<name>``, searched when the server has Performance credentials); this
module shapes them for assistants and resolves JSON Schemas. Nothing here needs the ``mcp`` SDK.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ozon_async import _catalog
from ozon_async._catalog import (
    PERF_PREFIX,
    PERFORMANCE,
    SELLER,
    api_of,
    op_id,
    op_spec,
    safety,
    spec,
)
from ozon_async._operation import Operation

__all__ = [
    "PERF_PREFIX",
    "OperationNotFound",
    "describe",
    "find",
    "op_id",
    "safety",
    "search",
]

#: Ozon's limit for all methods together, per Client-Id (the spec's info.description).
GLOBAL_RATE = "50 requests per second per Client-Id across all methods"
#: The same for the Performance API (its spec's x-ozon-daily-budget and x-ozon-export-rules).
PERFORMANCE_RATE = (
    "100,000 requests a day per account; statistics exports: one running at a time per account, "
    "at most 10 campaigns and 62 days each (one campaign is one export)"
)

_REF = "#/components/schemas/"
_DROP_KEYS = frozenset({"x-ozon-example-source", "x-ozon-example-repairs"})


class OperationNotFound(LookupError):
    """No operation matches the name the assistant gave; ``suggestions`` lists close ones."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no operation {name!r}{hint} (search_operations finds them by keyword)")


def tool_operation(op: Operation) -> bool:
    """Whether the tools call ``op``: not the Performance token call, which is sent without
    credentials (the client makes it from the configured ones)."""
    return op_spec(op).get("security") != []


def find(name: str) -> Operation:
    """The operation called ``name`` (the catalogue's :func:`~ozon_async._catalog.find`, over
    both APIs); raises :class:`OperationNotFound` with suggestions."""
    try:
        return _catalog.find(str(name))
    except _catalog.OperationNotFound as exc:
        raise OperationNotFound(exc.name, exc.suggestions) from None


# ---------------------------------------------------------------------------------------------
# search


def search(
    query: str, limit: int = 20, apis: tuple[str, ...] = (SELLER,), include_removed: bool = False
) -> dict[str, Any]:
    """The operations of ``apis`` the tools call that match every word of ``query`` (the
    catalogue's :func:`~ozon_async._catalog.search`), best first, as the search tool's answer.
    Operations Ozon's reference no longer lists are left out unless ``include_removed``."""
    query = str(query)
    if not query.strip():
        raise ValueError("query is empty: give a word of the name, path or title")
    found = [op for op in _catalog.search(query, apis, include_removed=True) if tool_operation(op)]
    shown = found if include_removed else [op for op in found if not op.removed]
    hidden = len(found) - len(shown)
    hits = [_brief(op) for op in shown[:limit]]
    answer: dict[str, Any] = {"query": query, "matches": len(shown), "operations": hits}
    if len(shown) > limit:
        answer["note"] = (
            f"showing the best {limit} of {len(shown)}; add words to narrow the search "
            f"or raise limit"
        )
    if not shown:
        answer["note"] = (
            "nothing matches every word; try fewer or other words (English, Russian or "
            "Chinese), a path fragment like /v2/products, or a group name like posting"
        )
    if hidden:
        answer["removed_hidden"] = hidden
        more = (
            f"{hidden} operations that Ozon's reference no longer lists also match; "
            "include_removed=true shows them"
        )
        answer["note"] = f"{answer['note']}; {more}" if "note" in answer else more
    return answer


def _brief(op: Operation) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": op_id(op),
        "operation": op.key,
        "summary": op.summary,
        "safety": safety(op),
    }
    zh = _catalog.title_zh(op)
    if zh:
        item["title_zh"] = zh
    if op.title_ru:
        item["title_ru"] = op.title_ru
    if api_of(op) == PERFORMANCE:
        item["api"] = "performance (advertising)"
    if op.pagination is not None:
        item["paginated"] = True
    if op.subscription is not None:
        item["subscription"] = op.subscription.text
    if op.removed:
        item["removed"] = op.removed
    if op.deprecated or op.removed:
        if op.deprecated:
            item["deprecated"] = True
        if op.replaced_by:
            succ = _catalog.successor(op)
            item["replaced_by"] = op_id(succ) if succ else op.replaced_by
    return item


# ---------------------------------------------------------------------------------------------
# JSON Schema


def _component(name: str, api: str = SELLER) -> dict[str, Any]:
    schema: dict[str, Any] = spec(api)["components"]["schemas"][name]
    return schema


class _Resolver:
    """Inlines ``#/components/schemas`` references; a schema that refers to itself (directly or
    through others) goes to ``$defs`` once and is referenced there, so the result is finite and
    self-contained."""

    def __init__(self, api: str = SELLER) -> None:
        self.api = api
        self.defs: dict[str, Any] = {}
        self._stack: list[str] = []
        self._recursive: set[str] = set()

    def _component(self, name: str) -> dict[str, Any]:
        return _component(name) if self.api == SELLER else _component(name, self.api)

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(v) for v in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            name = ref[len(_REF) :]
            siblings = {k: v for k, v in node.items() if k != "$ref" and k not in _DROP_KEYS}
            if name in self._stack or name in self._recursive:
                self._recursive.add(name)
                if name not in self.defs and name not in self._stack:
                    self._define(name)
                target: dict[str, Any] = {"$ref": f"#/$defs/{name}"}
            else:
                self._stack.append(name)
                try:
                    target = self.resolve(self._component(name))
                finally:
                    self._stack.pop()
                if name in self._recursive and name not in self.defs:
                    # found to be recursive while expanding: keep one definition in $defs
                    self.defs[name] = target
                    target = {"$ref": f"#/$defs/{name}"}
            if siblings:
                # a description or nullable wrapper next to the $ref: keep both
                return {**self.resolve(siblings), "allOf": [target]}
            return target
        return {k: self.resolve(v) for k, v in node.items() if k not in _DROP_KEYS}

    def _define(self, name: str) -> None:
        self.defs[name] = {}  # placeholder against endless recursion
        self._stack.append(name)
        try:
            self.defs[name] = self.resolve(self._component(name))
        finally:
            self._stack.pop()


def self_contained(schema: Mapping[str, Any], api: str = SELLER) -> dict[str, Any]:
    """``schema`` with every ``$ref`` resolved (recursive schemas under ``$defs``)."""
    r = _Resolver(api)
    out = r.resolve(dict(schema))
    result: dict[str, Any] = out if isinstance(out, dict) else {"allOf": [out]}
    if r.defs:
        result = {**result, "$defs": r.defs}
    return result


def request_schema(op: Operation) -> dict[str, Any]:
    """The JSON Schema of an operation's ``arguments`` (its JSON body), self-contained; for an
    operation with query parameters, those parameters (and its path parameters) as one object."""
    api = api_of(op)
    item = op_spec(op)
    if op.query_params:
        props: dict[str, Any] = {}
        required: list[str] = []
        for prm in item.get("parameters") or []:
            schema = dict(prm.get("schema") or {})
            if prm.get("description"):
                schema = {"description": prm["description"], **schema}
            props[prm["name"]] = schema
            if prm.get("required"):
                required.append(prm["name"])
        out = self_contained(
            {"type": "object", "properties": props, "additionalProperties": False}, api
        )
        if required:
            out["required"] = required
        return out
    body = item.get("requestBody")
    if not body:
        return {"type": "object", "properties": {}, "additionalProperties": False}
    media = body.get("content", {}).get("application/json", {})
    schema = self_contained(media.get("schema") or {"type": "object"}, api)
    return schema


def _request_example(op: Operation) -> Any:
    item = op_spec(op)
    if op.query_params:
        return {p["name"]: p["example"] for p in item.get("parameters") or [] if "example" in p}
    body = item.get("requestBody") or {}
    return body.get("content", {}).get("application/json", {}).get("example")


def _period(seconds: float) -> str:
    if seconds == 1:
        return "second"
    if seconds == 60:
        return "minute"
    if seconds == 3600:
        return "hour"
    if seconds == 86400:
        return "day"
    return f"{seconds:g} seconds"


def _how_to_call(op: Operation, destructive_allowed: bool) -> dict[str, Any]:
    """Which tool calls ``op`` and how (``how_to_call``, ``destructive_allowed``)."""
    answer: dict[str, Any] = {}
    if op.safe:
        answer["how_to_call"] = "call_read with these arguments" + (
            "; fetch_all walks every page" if op.pagination else ""
        )
    else:
        how = (
            "call_write with confirm=false (or dry_run=true) shows the validated body and sends "
            "nothing; confirm=true sends it once (never resent after an ambiguous failure)"
        )
        if op.destructive:
            how += (
                ". Destructive: hard to undo; the server sends it only when started with "
                "--allow-destructive or --allow " + op_id(op)
            )
            answer["destructive_allowed"] = destructive_allowed
        answer["how_to_call"] = how
    return answer


def _rate_limits(op: Operation) -> dict[str, Any]:
    """The global limit, the operation's own and what the server does about them."""
    performance = api_of(op) == PERFORMANCE
    limits: dict[str, Any] = {"global": PERFORMANCE_RATE if performance else GLOBAL_RATE}
    if op.rate_limit is not None:
        rl = op.rate_limit
        limits["operation"] = {
            "requests": rl.requests,
            "period_seconds": rl.period,
            "text": f"{rl.requests} requests per {_period(rl.period)} per Client-Id",
        }
    limits["client"] = (
        "the server counts the day's requests and refuses once they are spent; exports started "
        "with call_write are refused by Ozon (429) while another export of the account runs"
        if performance
        else "the server waits for a free slot instead of failing; the budget is shared with "
        "every other client of the same Client-Id in this process"
    )
    return limits


#: ``x-ozon-pagination`` keys -> the names the describe tool gives them.
_PAGINATION_NAMES = {
    "style": "style",
    "position": "position_argument",
    "limit": "page_size_argument",
    "items": "items",
    "next": "next_position",
    "next_from_item": "next_position_from_last_item",
    "has_next": "has_next",
    "total": "total",
    "page_count": "page_count",
    "first_page": "first_page",
}


def _pagination(op: Operation) -> dict[str, Any] | None:
    """How ``op``'s pages are walked, in JSON names, or None."""
    pagination = _catalog.pagination_json(op)
    if pagination is None:
        return None
    pag: dict[str, Any] = {
        _PAGINATION_NAMES[k]: v for k, v in pagination.items() if k in _PAGINATION_NAMES
    }
    pag["tool"] = "fetch_all(operation, arguments, max_items) walks the pages"
    return pag


def describe(op: Operation, *, destructive_allowed: bool) -> dict[str, Any]:
    """Everything an assistant needs to call ``op``: what it does, its arguments as JSON Schema,
    limits, pagination, lifecycle and which tool calls it."""
    item = op_spec(op)
    zh = item.get("x-title-zh")
    tool = "call_read" if op.safe else "call_write"
    answer: dict[str, Any] = {
        "id": op_id(op),
        "operation": op.key,
        "operation_id": op.operation_id,
        "summary": op.summary,
    }
    if zh:
        answer["title_zh"] = zh
    if op.title_ru:
        answer["title_ru"] = op.title_ru
    if item.get("description"):
        answer["description"] = item["description"]
    answer["safety"] = safety(op)
    answer["tool"] = tool
    answer.update(_how_to_call(op, destructive_allowed))
    answer["arguments_schema"] = request_schema(op)
    example = _request_example(op)
    if example is not None:
        answer["arguments_example"] = example
    performance = api_of(op) == PERFORMANCE
    answer["rate_limits"] = _rate_limits(op)
    pagination = _pagination(op)
    if pagination is not None:
        answer["pagination"] = pagination
    answer["deprecated"] = op.deprecated
    if op.removed:
        answer["removed"] = op.removed
        answer["removed_note"] = (
            f"Ozon's reference no longer lists this operation (since {op.removed}); it may still "
            "work for some sellers, but Ozon may refuse it at any time"
        )
    if performance:
        answer["api"] = "performance (advertising)"
    if op.replaced_by:
        succ = _catalog.successor(op)
        answer["replaced_by"] = op_id(succ) if succ else op.replaced_by
        if succ is not None:
            answer["replaced_by_operation"] = succ.key
    if op.beta:
        answer["beta"] = True
    if op.subscription is not None:
        sub = op.subscription
        answer["subscription"] = {
            "any_of": list(sub.names),
            "without": sub.without,
            "text": sub.describe(),
        }
    response = item.get("responses", {}).get("200", {})
    if response.get("description"):
        answer["returns"] = response["description"]
    if op.response_content_type != "application/json":
        answer["returns_content_type"] = op.response_content_type
    return answer
