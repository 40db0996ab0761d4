""" "Did you mean ...?" for near-miss names: a group or method the client does not have, and a
request key the request model does not declare.

Only error paths import this module (an attribute that was not found, a request that failed
validation), so it costs nothing on a call that works.
"""

from __future__ import annotations

import difflib
import re
import typing
from collections.abc import Iterable
from typing import Any

__all__ = ["client_attribute_error", "group_attribute_error", "request_key_hint"]


def _close(word: str, candidates: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(candidates)), n=n, cutoff=cutoff)


def _methods(operations: Iterable[Any]) -> dict[str, list[str]]:
    """Method name -> the groups that have a method of that name (``operations``: the API's
    :class:`~ozon_async.Operation` values)."""
    out: dict[str, list[str]] = {}
    for op in operations:
        out.setdefault(op.name, []).append(op.group)
    return out


def _did_you_mean(options: list[str]) -> str:
    if not options:
        return ""
    if len(options) == 1:
        return f"; did you mean {options[0]}?"
    return f"; did you mean {', '.join(options[:-1])} or {options[-1]}?"


def group_attribute_error(
    group: str, class_name: str, name: str, operations: Iterable[Any]
) -> AttributeError:
    """``client.<group>.<name>`` does not exist: suggest the same method in other groups, then
    close names in this group, then close names in any group."""
    methods = _methods(operations)
    same = [f"client.{g}.{name}" for g in sorted(methods.get(name, [])) if g != group]
    if not same:
        here = [m for m, gs in methods.items() if group in gs]
        same = [f"client.{group}.{m}" for m in _close(name, here)]
    if not same:
        same = [f"client.{g}.{m}" for m in _close(name, methods) for g in sorted(methods[m])][:3]
    return AttributeError(f"{class_name!r} object has no attribute {name!r}{_did_you_mean(same)}")


def client_attribute_error(
    class_name: str, name: str, groups: Iterable[str], operations: Iterable[Any]
) -> AttributeError:
    """``client.<name>`` does not exist: a group with a close name, or the groups that have a
    method of that name (``client.stocks_v2`` -> ``client.products.stocks_v2``)."""
    methods = _methods(operations)
    options = [f"client.{g}" for g in _close(name, groups)]
    options += [f"client.{g}.{name}" for g in sorted(methods.get(name, []))]
    if not options:
        options = [f"client.{g}.{m}" for m in _close(name, methods) for g in sorted(methods[m])][:3]
    return AttributeError(
        f"{class_name!r} object has no attribute {name!r}{_did_you_mean(options)}"
    )


# ------------------------------------------------------------------------ request keys
_UNKNOWN = re.compile(r"unknown field `(?P<field>[^`]+)`")


def _struct_fields(tp: Any) -> list[str] | None:
    names = getattr(tp, "__struct_encode_fields__", None)
    return list(names) if names is not None else None


def _inner_types(tp: Any) -> list[Any]:
    """The struct types a field annotation may hold (through Optional, Annotated, lists)."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _inner_types(typing.get_args(tp)[0])
    if _struct_fields(tp) is not None:
        return [tp]
    out: list[Any] = []
    for arg in typing.get_args(tp):
        out += _inner_types(arg)
    return out


def _type_at(root: Any, path: str) -> Any:
    """The request model at ``path`` (``"filter"``, ``"items[0].attributes"``) under ``root``."""
    tp = root
    for part in [p for p in re.sub(r"\[\d+\]", "", path).split(".") if p]:
        encode = _struct_fields(tp)
        if encode is None:
            return None
        attrs = dict(zip(encode, tp.__struct_fields__, strict=True))
        attr = attrs.get(part)
        if attr is None:
            return None
        hints = typing.get_type_hints(tp, include_extras=True)
        found = _inner_types(hints[attr])
        if not found:
            return None
        tp = found[0]
    return tp


def request_key_hint(request_type: Any, message: str, path: str) -> str:
    """``"; did you mean `statuses`?"`` for msgspec's "unknown field" message at ``path`` (the
    dotted path that ends with the unknown key), or ``""``."""
    m = _UNKNOWN.search(message)
    if m is None or request_type is None:
        return ""
    unknown = m.group("field")
    parent = path[: -len(unknown)].rstrip(".") if path.endswith(unknown) else path
    try:
        tp = _type_at(request_type, parent)
    except Exception:  # an annotation that does not resolve: no hint rather than an error
        return ""
    fields = _struct_fields(tp) if tp is not None else None
    if not fields:
        return ""
    close = _close(unknown, fields)
    if not close:
        close = [f for f in fields if f.lower() == unknown.lower()]
    if not close:
        return f"; allowed: {', '.join(sorted(fields))}" if len(fields) <= 12 else ""
    return "; did you mean " + " or ".join(f"`{c}`" for c in close) + "?"
