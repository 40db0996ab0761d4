"""The operation catalogue of the command line: lookup, search, descriptions and completion.

Everything here is generic over :data:`ozon_async.OPERATIONS`; nothing names an operation.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
from collections.abc import Iterable
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from ozon_async import _ru
from ozon_async._operation import Operation
from ozon_async.resources._registry import OPERATIONS

__all__ = [
    "UnknownOperation",
    "complete",
    "describe",
    "dotted",
    "find_operation",
    "search",
    "title_zh",
]

_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


class UnknownOperation(LookupError):
    """No operation matches; the message lists the closest names."""


def dotted(op: Operation) -> str:
    """``group.name``: how the command line (and ``client.<group>.<name>``) names it."""
    return f"{op.group}.{op.name}"


@lru_cache(maxsize=1)
def _by_dotted() -> dict[str, Operation]:
    return {dotted(op): op for op in OPERATIONS.values()}


@lru_cache(maxsize=1)
def _titles_zh() -> dict[str, str]:
    """``"METHOD /path"`` -> the Chinese title (``x-title-zh``) from the packaged spec."""
    import msgspec

    data = resources.files("ozon_async._spec").joinpath("openapi.json").read_bytes()
    spec: dict[str, Any] = msgspec.json.decode(data)
    out: dict[str, str] = {}
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and isinstance(op.get("x-title-zh"), str):
                out[f"{method.upper()} {path}"] = op["x-title-zh"]
    return out


def title_zh(op: Operation) -> str | None:
    return _titles_zh().get(op.key)


def find_operation(text: str) -> Operation:
    """An operation by ``group.method``, ``"METHOD /path"``, a bare path (when only one method
    has it) or its operationId."""
    query = " ".join(text.split())
    if not query:
        raise UnknownOperation("no operation given")
    op = _by_dotted().get(query)
    if op is not None:
        return op
    head, _, rest = query.partition(" ")
    if head.upper() in _METHODS and rest.startswith("/"):
        op = OPERATIONS.get(f"{head.upper()} {rest}")
        if op is not None:
            return op
    if query.startswith("/"):
        matches = [o for o in OPERATIONS.values() if o.path == query]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            keys = ", ".join(f'"{o.key}"' for o in matches)
            raise UnknownOperation(f"{query} has several methods; name one of {keys}")
    for o in OPERATIONS.values():
        if o.operation_id == query:
            return o
    names = list(_by_dotted()) + list(OPERATIONS)
    close = difflib.get_close_matches(query, names, n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UnknownOperation(f"unknown operation {text!r}{hint} (search with: ozon ops TEXT)")


@cache
def _haystack(op: Operation) -> str:
    parts = [dotted(op), op.key, op.operation_id, op.summary, title_zh(op) or "", op.title_ru or ""]
    return _ru.fold(" ".join(parts))


@cache
def _stems_ru(op: Operation) -> frozenset[str]:
    return _ru.title_stems(op.title_ru)


def _matches(word: str, op: Operation) -> bool:
    """One search word is in the operation's texts; a Russian word also by its stem in the
    Russian title ("остатков" finds "остатки") or by its English glossary words."""
    if word in _haystack(op):
        return True
    if not _ru.is_cyrillic(word):
        return False
    stem = _ru.stem(word)
    if any(s.startswith(stem) for s in _stems_ru(op)):
        return True
    return any(term in _haystack(op) for term in _ru.english_terms(word))


def search(
    text: str | None = None, group: str | None = None, include_removed: bool = False
) -> list[Operation]:
    """Operations whose name, path, operationId, English summary, Chinese or Russian title
    contain every word of ``text`` (case- and ё/е-insensitive; Russian words also by their stem
    and through the glossary of :mod:`ozon_async._ru`), optionally only those of ``group``.
    Operations Ozon's reference no longer lists (``Operation.removed``) are left out unless
    ``include_removed``. Methods named by the text come first, then names containing it, then
    paths, then the rest (deprecated operations last within each, otherwise registry order)."""
    ops: Iterable[Operation] = OPERATIONS.values()
    if not include_removed:
        ops = [o for o in ops if o.removed is None]
    if group:
        wanted = group.replace("-", "_").casefold()
        ops = [o for o in ops if o.group.casefold() in (wanted, wanted + "_")]
    words = _ru.fold(text or "").split()
    found = [o for o in ops if all(_matches(w, o) for w in words)]
    if words:
        joined = "_".join(words)

        def rank(o: Operation) -> tuple[int, bool]:
            name = dotted(o).casefold()
            if o.name.casefold().startswith(joined) or o.group.casefold() == joined:
                level = 0
            elif joined in name:
                level = 1
            elif joined.replace("_", "/") in o.path.casefold():
                level = 2
            else:
                level = 3
            # within a level, current operations first
            return level, o.deprecated or o.removed is not None

        found.sort(key=rank)
    return found


def groups() -> list[str]:
    return sorted({op.group for op in OPERATIONS.values()})


def docstring(op: Operation) -> str | None:
    """The generated method's docstring (summary, description, parameters, pagination...)."""
    try:
        module = importlib.import_module(f"ozon_async.resources.{op.group}")
    except ImportError:
        return None
    for value in vars(module).values():
        if inspect.isclass(value) and value.__module__ == module.__name__:
            method = inspect.getattr_static(value, op.name, None)
            doc = getattr(method, "__doc__", None)
            if isinstance(doc, str) and doc.strip():
                return inspect.cleandoc(doc)
    return None


def describe(op: Operation) -> str:
    """A description for ``ozon ops NAME``: identity, behaviour and the method's docstring."""
    lines = [f"{dotted(op)}    {op.key}"]
    zh = title_zh(op)
    facts = [f"operationId: {op.operation_id}"]
    if zh:
        facts.append(f"Chinese title: {zh}")
    if op.title_ru:
        facts.append(f"Russian title: {op.title_ru}")
    facts.append("only reads (retried after ambiguous failures)" if op.safe else "changes data")
    if op.deprecated or op.removed:
        state = "deprecated" if op.deprecated else "removed"
        if op.deprecated and op.removed:
            state += f", and Ozon's reference no longer lists it (since {op.removed})"
        elif op.removed:
            state += f": Ozon's reference no longer lists it (since {op.removed})"
        facts.append(state + (f"; use {_successor(op.replaced_by)}" if op.replaced_by else ""))
    if op.rate_limit is not None:
        rl = op.rate_limit
        facts.append(f"rate limit: {rl.requests} per {rl.period:g} s per Client-Id")
    if op.pagination is not None:
        facts.append(f"paginated ({op.pagination.style}): ozon call {dotted(op)} --all ...")
    if op.subscription is not None:
        facts.append(f"subscription: {op.subscription.describe()}")
    if op.response_content_type != "application/json":
        facts.append(f"answers {op.response_content_type}: save it with --out FILE")
    lines.extend(f"  {f}" for f in facts)
    doc = docstring(op)
    if doc:
        lines.append("")
        lines.append(doc)
    else:
        lines.append("")
        lines.append(op.summary)
    return "\n".join(lines)


def _successor(key: str) -> str:
    op = OPERATIONS.get(key)
    return f"{dotted(op)} ({key})" if op is not None else key


def complete(incomplete: str) -> list[tuple[str, str]]:
    """Completion candidates: (``group.name``, summary) starting with ``incomplete``; a path
    (``/v4/...``) completes to ``"METHOD /path"`` keys."""
    text = incomplete.strip()
    if text.startswith("/") or text.split(" ", 1)[0].upper() in _METHODS:
        methods: dict[str, int] = {}
        for o in OPERATIONS.values():
            methods[o.path] = methods.get(o.path, 0) + 1
        out = []
        for o in OPERATIONS.values():
            if o.path.startswith(text):
                # a bare path is enough (and needs no quoting) when one method has it
                out.append((o.path if methods[o.path] == 1 else o.key, o.summary))
            elif o.key.startswith(text):
                out.append((o.key, o.summary))
        return out
    return [(name, o.summary) for name, o in _by_dotted().items() if name.startswith(text)]
