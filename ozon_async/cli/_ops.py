"""The operation catalogue of the command line: lookup, search, descriptions and completion.

Everything here is generic over :data:`ozon_async.OPERATIONS`; nothing names an operation.
"""

from __future__ import annotations

import importlib
import inspect
from functools import lru_cache

from ozon_async import _catalog
from ozon_async._catalog import dotted
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
_SELLER = (_catalog.SELLER,)


class UnknownOperation(LookupError):
    """No operation matches; the message lists the closest names."""


@lru_cache(maxsize=1)
def _by_dotted() -> dict[str, Operation]:
    return {dotted(op): op for op in OPERATIONS.values()}


def title_zh(op: Operation) -> str | None:
    return _catalog.title_zh(op)


def find_operation(text: str) -> Operation:
    """An operation by ``group.method``, ``"METHOD /path"``, a bare path (when only one method
    has it) or its operationId (the catalogue's :func:`~ozon_async._catalog.find`)."""
    if not text.strip():
        raise UnknownOperation("no operation given")
    try:
        return _catalog.find(text, _SELLER)
    except _catalog.OperationNotFound as exc:
        if exc.ambiguous:
            raise UnknownOperation(str(exc)) from None
        raise UnknownOperation(f"{exc} (search with: ozon ops TEXT)") from None


def search(
    text: str | None = None, group: str | None = None, include_removed: bool = False
) -> list[Operation]:
    """The Seller API operations matching every word of ``text``, optionally only those of
    ``group`` (the catalogue's :func:`~ozon_async._catalog.search`)."""
    return _catalog.search(text, _SELLER, group=group, include_removed=include_removed)


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
    state = _catalog.lifecycle(op)
    if state is not None:
        facts.append(state)
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
    lines += _request_sections(op)
    return "\n".join(lines)


def _request_sections(op: Operation) -> list[str]:
    """The whole request (nested fields, types, allowed values, limits) and an example."""
    from ozon_async.cli._shape import example_command, request_example, request_shape

    out: list[str] = []
    shape = request_shape(op)
    if shape:
        out += ["", "Request (every field at every level; KEY=VALUE pairs use the dotted names):"]
        out += shape
    command = example_command(op, dotted(op))
    if command is not None:
        from ozon_async.cli._shape import pretty_json

        out += ["", "Example (the spec's own; check the identifiers):", f"  {command}"]
        example = request_example(op)
        if isinstance(example, dict) and example:
            out += ["", "  the same body:", *("    " + ln for ln in pretty_json(example))]
    return out


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
