"""The one catalogue of operations, for the command line, the MCP server and the sandbox.

Everything here is derived from the operations of the generated registries
(:data:`ozon_async.OPERATIONS` and :data:`ozon_async.performance.OPERATIONS`) and the specs shipped
in the package (``_spec/openapi.json``), read once here; nothing names an operation.

- :func:`spec` loads a packaged spec (the only place that reads one);
- :func:`find` finds an operation by ``group.name``, ``"METHOD /path"``, a bare path (when one
  method has it) or its operationId;
- :func:`search` finds operations by words in English, Chinese or Russian, best first;
- :func:`op_id`, :func:`title_zh`, :func:`safety`, :func:`lifecycle`, :func:`pagination_json`
  are the facts every description is made of.

Seller API operations are named ``group.name`` (the typed method ``client.group.name``),
Performance (advertising) API operations ``perf.group.name``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from ozon_async import _ru
from ozon_async._operation import Operation, Pagination

__all__ = [
    "APIS",
    "PERFORMANCE",
    "PERF_PREFIX",
    "SELLER",
    "OperationNotFound",
    "api_of",
    "dotted",
    "find",
    "items_path",
    "json_walker",
    "lifecycle",
    "op_id",
    "op_spec",
    "operations",
    "pagination_json",
    "safety",
    "search",
    "spec",
    "title_zh",
]

SELLER, PERFORMANCE = "seller", "performance"
APIS = (SELLER, PERFORMANCE)
#: The prefix of the ids of Performance API operations.
PERF_PREFIX = "perf."

_SPEC_PACKAGES = {SELLER: "ozon_async._spec", PERFORMANCE: "ozon_async.performance._spec"}


class OperationNotFound(LookupError):
    """No operation is called ``name``. ``suggestions`` lists close names (ids); ``ambiguous``
    the ``"METHOD /path"`` keys when a bare path names several methods."""

    def __init__(
        self, name: str, suggestions: list[str], ambiguous: list[str] | None = None
    ) -> None:
        self.name = name
        self.suggestions = suggestions
        self.ambiguous = ambiguous or []
        if self.ambiguous:
            keys = ", ".join(f'"{k}"' for k in self.ambiguous)
            message = f"{name} has several methods; name one of {keys}"
        else:
            hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
            message = f"unknown operation {name!r}{hint}"
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# the data


@cache
def spec(api: str = SELLER) -> dict[str, Any]:
    """The packaged spec of ``api`` as JSON data, read once (callers must not change it)."""
    import msgspec

    data = resources.files(_SPEC_PACKAGES[api]).joinpath("openapi.json").read_bytes()
    result: dict[str, Any] = msgspec.json.decode(data)
    return result


@cache
def operations(api: str = SELLER) -> Mapping[str, Operation]:
    """The operations of ``api`` (``"seller"`` or ``"performance"``) by ``"METHOD /path"``."""
    if api == SELLER:
        from ozon_async.resources._registry import OPERATIONS

        return OPERATIONS
    from ozon_async.performance.resources._registry import OPERATIONS as PERF

    return PERF


def api_of(op: Operation) -> str:
    """Which API ``op`` belongs to."""
    seller = operations(SELLER)
    return SELLER if seller.get(op.key) is op else PERFORMANCE


def op_spec(op: Operation) -> dict[str, Any]:
    """The spec's operation object of ``op``."""
    item: dict[str, Any] = spec(api_of(op))["paths"][op.path][op.method.lower()]
    return item


def dotted(op: Operation) -> str:
    """``group.name``: the typed method ``client.<group>.<name>``."""
    return f"{op.group}.{op.name}"


def op_id(op: Operation) -> str:
    """The short name: ``group.name``, ``perf.group.name`` for the Performance API."""
    prefix = PERF_PREFIX if api_of(op) == PERFORMANCE else ""
    return f"{prefix}{op.group}.{op.name}"


def title_zh(op: Operation) -> str | None:
    """The Chinese title of Ozon's reference (``x-title-zh``), for search and descriptions."""
    zh = op_spec(op).get("x-title-zh")
    return zh if isinstance(zh, str) and zh else None


def safety(op: Operation) -> str:
    """``read`` (only reads), ``write`` (changes data) or ``destructive`` (hard to undo)."""
    if op.safe:
        return "read"
    return "destructive" if op.destructive else "write"


def successor(op: Operation) -> Operation | None:
    """The operation that replaces ``op`` (``replaced_by``), when the catalogue has it."""
    if not op.replaced_by:
        return None
    return operations(api_of(op)).get(op.replaced_by)


def lifecycle(op: Operation) -> str | None:
    """``deprecated``/``removed`` in words with the successor, or None for a current one."""
    if not (op.deprecated or op.removed):
        return None
    state = "deprecated" if op.deprecated else "removed"
    if op.deprecated and op.removed:
        state += f", and Ozon's reference no longer lists it (since {op.removed})"
    elif op.removed:
        state += f": Ozon's reference no longer lists it (since {op.removed})"
    if op.replaced_by:
        succ = successor(op)
        state += f"; use {op_id(succ)} ({op.replaced_by})" if succ else f"; use {op.replaced_by}"
    return state


def pagination_json(op: Operation) -> dict[str, Any] | None:
    """How to walk the pages of ``op`` in JSON names (the spec's ``x-ozon-pagination``:
    ``position``, ``limit`` and ``items``, ``next``... as dotted JSON paths), or None."""
    pag = op_spec(op).get("x-ozon-pagination")
    if op.pagination is None or not isinstance(pag, dict):
        return None
    return pag


# ---------------------------------------------------------------------------------------------
# lookup


@cache
def _index(apis: tuple[str, ...]) -> tuple[dict[str, Operation], dict[str, list[Operation]]]:
    """Every accepted spelling (lower case) of every operation of ``apis``, and the paths that
    several methods share."""
    table: dict[str, Operation] = {}
    paths: dict[str, list[Operation]] = {}
    for api in apis:
        for key, op in operations(api).items():
            table[key.lower()] = op
            table[op_id(op).lower()] = op
            paths.setdefault(op.path.lower(), []).append(op)
    for api in apis:  # the weaker spellings never shadow a name
        for op in operations(api).values():
            table.setdefault(dotted(op).lower(), op)
            table.setdefault(op.operation_id.lower(), op)
    shared = {}
    for path, ops in paths.items():
        if len(ops) == 1:
            table.setdefault(path, ops[0])
        else:
            shared[path] = ops
    return table, shared


def find(name: str, apis: tuple[str, ...] = APIS) -> Operation:
    """The operation of ``apis`` called ``name`` (``group.name``, ``perf.group.name``,
    ``"METHOD /path"``, a bare path with one method, or the operationId; any case); raises
    :class:`OperationNotFound` with close names."""
    text = " ".join(str(name).split())
    table, shared = _index(apis)
    lowered = text.lower()
    op = table.get(lowered)
    if op is not None:
        return op
    if lowered in shared:
        raise OperationNotFound(text, [], [o.key for o in shared[lowered]])
    if not text:
        raise OperationNotFound(text, [])
    close = difflib.get_close_matches(lowered, list(table), n=5, cutoff=0.6)
    seen: list[str] = []
    for c in close:
        ident = op_id(table[c])
        if ident not in seen:
            seen.append(ident)
    raise OperationNotFound(text, seen[:3])


# ---------------------------------------------------------------------------------------------
# search

_VERSION = re.compile(r"v\d+$")


@cache
def _haystack(op: Operation) -> tuple[str, frozenset[str], frozenset[str]]:
    """(folded text, its words, stems of the Russian title) of ``op``."""
    parts = [op.key, op_id(op), dotted(op), op.operation_id, op.summary]
    parts += [title_zh(op) or "", op.title_ru or ""]
    text = _ru.fold(" ".join(parts))
    return text, frozenset(_ru.words(text)), _ru.title_stems(op.title_ru)


def _plural(word: str) -> str:
    """ "stocks" and "stock", "postings" and "posting" are the same word for searching."""
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _term_score(term: str, op: Operation, acts_on: set[str]) -> float:
    """How well one search word matches ``op`` (0: not at all)."""
    text, words, stems_ru = _haystack(op)
    if term in words or _plural(term) in {_plural(w) for w in words}:
        return 4.0 if _plural(term) in acts_on else 3.0  # +1: the thing the operation acts on
    if any(w.startswith(term) for w in words):
        return 2.0  # "stock" finds "stocks"
    cyrillic = _ru.is_cyrillic(term)
    if cyrillic and _ru.stem(term) in stems_ru:
        return 3.0  # "остатков" finds "остатки"
    if cyrillic and any(s.startswith(_ru.stem(term)) for s in stems_ru):
        return 2.0
    if term in text:
        return 1.0  # Chinese titles have no spaces between words; substrings count
    english = _ru.english_terms(term)
    if any(e in words or any(w.startswith(e) for w in words) for e in english):
        # "склады" finds "warehouse": the glossary of ozon_async._ru
        return 3.0 if any(_plural(e) in acts_on for e in english) else 2.0
    return 0.0


def score(query: str, op: Operation) -> float:
    """How well ``query`` describes ``op``: 0 unless every word matches somewhere; the exact
    name 1000; more for words naming what the operation acts on, less for path words the query
    did not ask for and for deprecated operations."""
    q = _ru.fold(query.strip())
    if q in (op.key.lower(), op.path.lower(), op_id(op).lower(), op.operation_id.lower()):
        return 1000.0
    terms = _ru.words(query) or ([q] if q else [])
    last = op.path.rstrip("/").rsplit("/", 1)[-1].lower()
    acts_on = {_plural(w) for w in re.split(r"[-_]", last)}
    total = 0.0
    for term in terms:
        s = _term_score(term, op, acts_on)
        if not s:
            return 0.0  # every term must match somewhere
        total += s
    if q and q in _haystack(op)[0]:
        total += 2.0
    # the most specific operation first: fewer path words the query did not ask for
    stems = {_plural(t) for t in terms}
    path_words = [w for w in re.split(r"[/_\-]+", op.path.lower()) if w and not _VERSION.match(w)]
    total -= 0.2 * sum(1 for w in path_words if _plural(w) not in stems)
    if op.deprecated or op.removed:
        total -= 0.5  # the successor first
    return total


def _named(query: str, op: Operation) -> bool:
    """The query is the start of the method's name or its group ("stocks": ``stocks_v2``)."""
    joined = "_".join(_ru.fold(query).split())
    return bool(joined) and (op.name.casefold().startswith(joined) or op.group == joined)


def search(
    query: str | None = None,
    apis: tuple[str, ...] = (SELLER,),
    *,
    group: str | None = None,
    include_removed: bool = False,
) -> list[Operation]:
    """Operations of ``apis`` whose method, path, ``group.name``, operationId, English summary,
    Chinese or Russian title contain every word of ``query`` (prefixes count: "stock" finds
    "stocks"; Russian words match in any case or form, ё as е, and find English words through
    the glossary of :mod:`ozon_async._ru`), optionally only those of ``group``: methods named
    by the query first, then best first. Without a query, all of them in registry order.
    Operations Ozon's reference no longer lists (``Operation.removed``) are left out unless
    ``include_removed``."""
    ops = [op for api in apis for op in operations(api).values()]
    if not include_removed:
        ops = [o for o in ops if o.removed is None]
    if group:
        wanted = group.replace("-", "_").casefold()
        ops = [o for o in ops if o.group.casefold() in (wanted, wanted + "_")]
    if not (query or "").strip():
        return ops
    text = str(query)
    scored = [(score(text, o), o) for o in ops]
    hits = [(not _named(text, o), -s, o.path, o.method, o) for s, o in scored if s > 0]
    hits.sort(key=lambda t: t[:4])
    return [t[4] for t in hits]


def json_walker(op: Operation) -> Pagination | None:
    """``op.pagination`` with the position and page-size arguments under their JSON names, for
    walking the pages with JSON arguments (the command line's ``--all``, the MCP server's
    ``fetch_all``): the one mapping of JSON names onto :class:`Pagination`."""
    pag = pagination_json(op)
    if pag is None or op.pagination is None:
        return None
    return op.pagination.replace(position=pag["position"], limit=pag.get("limit"))


def items_path(op: Operation) -> list[str]:
    """The JSON names leading to the items of a page of ``op`` (empty when not paginated)."""
    pag = pagination_json(op)
    return str(pag["items"]).split(".") if pag is not None else []
