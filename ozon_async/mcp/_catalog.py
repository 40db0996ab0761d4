"""What the MCP tools know about operations: lookup, search and self-contained descriptions.

Everything here is derived from :data:`ozon_async.OPERATIONS` and the spec shipped in the package
(``ozon_async/_spec/openapi.json``), so it covers every operation of the spec without any
per-operation code; the same holds for the Performance (advertising) API
(:data:`ozon_async.performance.OPERATIONS`, ids ``perf.<group>.<name>``), searched when the server
has Performance credentials. Nothing here needs the ``mcp`` SDK.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import msgspec

from ozon_async import _ru
from ozon_async._client import OPERATIONS
from ozon_async._operation import Operation

__all__ = [
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
SELLER, PERFORMANCE = "seller", "performance"
#: The prefix of the ids of Performance API operations.
PERF_PREFIX = "perf."

_REF = "#/components/schemas/"
_DROP_KEYS = frozenset({"x-ozon-example-source", "x-ozon-example-repairs"})


class OperationNotFound(LookupError):
    """No operation matches the name the assistant gave; ``suggestions`` lists close ones."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"no operation {name!r}{hint} (search_operations finds them by keyword)")


@cache
def spec(api: str = SELLER) -> dict[str, Any]:
    package = "ozon_async._spec" if api == SELLER else "ozon_async.performance._spec"
    data = resources.files(package).joinpath("openapi.json").read_bytes()
    result: dict[str, Any] = msgspec.json.decode(data)
    return result


@cache
def operations(api: str) -> Mapping[str, Operation]:
    """The operations of ``api`` (``"seller"`` or ``"performance"``)."""
    if api == SELLER:
        return OPERATIONS
    from ozon_async.performance import OPERATIONS as PERF

    return PERF


def api_of(op: Operation) -> str:
    """Which API ``op`` belongs to."""
    if op.key in OPERATIONS and OPERATIONS[op.key] is op:
        return SELLER
    return PERFORMANCE


def op_spec(op: Operation) -> dict[str, Any]:
    item: dict[str, Any] = spec(api_of(op))["paths"][op.path][op.method.lower()]
    return item


def op_id(op: Operation) -> str:
    """The short name assistants use: ``group.name`` (the typed method ``client.group.name``),
    ``perf.group.name`` for the Performance API."""
    prefix = PERF_PREFIX if api_of(op) == PERFORMANCE else ""
    return f"{prefix}{op.group}.{op.name}"


def tool_operation(op: Operation) -> bool:
    """Whether the tools call ``op``: not the Performance token call, which is sent without
    credentials (the client makes it from the configured ones)."""
    return op_spec(op).get("security") != []


def safety(op: Operation) -> str:
    """``read`` (only reads), ``write`` (changes data) or ``destructive`` (hard to undo)."""
    if op.safe:
        return "read"
    return "destructive" if op.destructive else "write"


@cache
def _index() -> dict[str, Operation]:
    """Every accepted spelling of every operation: ``METHOD /path``, ``group.name``, the
    operationId, and the bare path when only one method uses it."""
    table: dict[str, Operation] = {}
    paths: dict[str, list[Operation]] = {}
    for api in (SELLER, PERFORMANCE):
        for key, op in operations(api).items():
            table[key.lower()] = op
            table[op_id(op).lower()] = op
            table.setdefault(op.operation_id.lower(), op)
            paths.setdefault(op.path.lower(), []).append(op)
    for path, ops in paths.items():
        if len(ops) == 1:
            table.setdefault(path, ops[0])
    return table


def find(name: str) -> Operation:
    """The operation called ``name`` (any spelling of :func:`_index`); raises
    :class:`OperationNotFound` with suggestions."""
    text = " ".join(str(name).split())
    lowered = text.lower()
    op = _index().get(lowered)
    if op is None and " " in lowered:  # "post /v1/x" written with the method in lower case
        method, _, path = lowered.partition(" ")
        op = _index().get(f"{method} {path.strip()}")
    if op is None:
        close = difflib.get_close_matches(lowered, list(_index()), n=5, cutoff=0.6)
        seen: list[str] = []
        for c in close:
            ident = op_id(_index()[c])
            if ident not in seen:
                seen.append(ident)
        raise OperationNotFound(text, seen[:3])
    return op


# ---------------------------------------------------------------------------------------------
# search


_WORD = re.compile(r"[\w]+", re.UNICODE)
_VERSION = re.compile(r"v\d+$")


def _words(text: str) -> list[str]:
    return _ru.words(text)


@cache
def _haystacks(api: str = SELLER) -> list[tuple[Operation, str, str, set[str]]]:
    """(operation, Chinese title, folded text, words) for every operation of ``api``."""
    out = []
    for op in operations(api).values():
        if not tool_operation(op):
            continue
        zh = str(op_spec(op).get("x-title-zh") or "")
        parts = [op.key, op_id(op), op.operation_id, op.summary, zh, op.title_ru or ""]
        text = _ru.fold(" ".join(parts))
        out.append((op, zh, text, set(_words(text))))
    return out


@cache
def _russian_stems(op: Operation) -> frozenset[str]:
    return _ru.title_stems(op.title_ru)


def _stem(word: str) -> str:
    """ "stocks" and "stock", "postings" and "posting" are the same word for searching."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _score(query: str, terms: list[str], op: Operation, text: str, words: set[str]) -> float:
    q = _ru.fold(query.strip())
    if q in (op.key.lower(), op.path.lower(), op_id(op).lower(), op.operation_id.lower()):
        return 1000.0
    score = 0.0
    last = op.path.rstrip("/").rsplit("/", 1)[-1].lower()
    for term in terms:
        if term in words or _stem(term) in {_stem(w) for w in words}:
            score += 3.0
            if _stem(term) in {_stem(w) for w in re.split(r"[-_]", last)}:
                score += 1.0  # the thing the operation acts on
        elif any(w.startswith(term) for w in words):
            score += 2.0  # "stock" finds "stocks"
        elif _ru.is_cyrillic(term) and _ru.stem(term) in _russian_stems(op):
            score += 3.0  # "остатков" finds "остатки"
        elif _ru.is_cyrillic(term) and any(
            s.startswith(_ru.stem(term)) for s in _russian_stems(op)
        ):
            score += 2.0
        elif term in text:
            score += 1.0  # Chinese titles have no spaces between words; substrings count
        elif any(
            e in words or any(w.startswith(e) for w in words) for e in _ru.english_terms(term)
        ):
            score += 2.0  # "склады" finds "warehouse": the glossary of ozon_async._ru
            acts_on = {_stem(w) for w in re.split(r"[-_]", last)}
            if any(_stem(e) in acts_on for e in _ru.english_terms(term)):
                score += 1.0
        else:
            return 0.0  # every term must match somewhere
    if q and q in text:
        score += 2.0
    # the most specific operation first: fewer path words the query did not ask for
    stems = {_stem(t) for t in terms}
    path_words = [w for w in re.split(r"[/_\-]+", op.path.lower()) if w and not _VERSION.match(w)]
    score -= 0.2 * sum(1 for w in path_words if _stem(w) not in stems)
    if op.deprecated or op.removed:
        score -= 0.5  # the successor first
    return score


def search(
    query: str, limit: int = 20, apis: tuple[str, ...] = (SELLER,), include_removed: bool = False
) -> dict[str, Any]:
    """Operations of ``apis`` whose method, path, ``group.name``, operationId, English summary,
    Chinese or Russian title contain every word of ``query`` (prefixes count: "stock" finds
    "stocks"; Russian words match in any case or form, ё as е, and find English words through
    the glossary of :mod:`ozon_async._ru`), best first. Operations Ozon's reference no longer
    lists are left out unless ``include_removed``."""
    query = str(query)
    terms = _words(query) or ([_ru.fold(query.strip())] if query.strip() else [])
    if not terms:
        raise ValueError("query is empty: give a word of the name, path or title")
    scored = []
    hidden = 0
    for op, zh, text, words in [h for api in apis for h in _haystacks(api)]:
        s = _score(query, terms, op, text, words)
        if s > 0 and op.removed and not include_removed:
            hidden += 1
            continue
        if s > 0:
            scored.append((-s, op.path, op.method, op, zh))
    scored.sort(key=lambda t: (t[0], t[1], t[2]))
    hits = [_brief(op, zh) for _, _, _, op, zh in scored[:limit]]
    answer: dict[str, Any] = {"query": query, "matches": len(scored), "operations": hits}
    if len(scored) > limit:
        answer["note"] = (
            f"showing the best {limit} of {len(scored)}; add words to narrow the search "
            f"or raise limit"
        )
    if not scored:
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


def _brief(op: Operation, zh: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": op_id(op),
        "operation": op.key,
        "summary": op.summary,
        "safety": safety(op),
    }
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
            succ = operations(api_of(op)).get(op.replaced_by)
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
    answer["arguments_schema"] = request_schema(op)
    example = _request_example(op)
    if example is not None:
        answer["arguments_example"] = example
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
    answer["rate_limits"] = limits
    pagination = item.get("x-ozon-pagination")
    if op.pagination is not None and isinstance(pagination, dict):
        names = {
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
        pag: dict[str, Any] = {names[k]: v for k, v in pagination.items() if k in names}
        pag["tool"] = "fetch_all(operation, arguments, max_items) walks the pages"
        answer["pagination"] = pag
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
        succ = operations(api_of(op)).get(op.replaced_by)
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
