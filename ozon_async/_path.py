"""Walking a path of field names into an answer: the one helper for every place that does.

Paths come from the spec (``x-ozon-pagination``, ``x-ozon-batch``, ``x-ozon-task``) as tuples of
names, or from a user as a dotted string (``"result.items"``); the value walked into is a model
(names are its attributes), plain JSON (names are keys of its objects), or a mix of both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["dig"]

#: Values that have no fields to walk into (their attributes are methods, not data).
_LEAVES = (str, bytes, bytearray, int, float, list, tuple)


def dig(obj: Any, path: Sequence[str] | str | None) -> Any:
    """The value at ``path`` inside ``obj``: each name is a key of a mapping or an attribute of
    any other object; ``None`` as soon as a step finds nothing (a missing name, a ``None``, a
    plain value or a list in the way), and for a ``None`` path."""
    if path is None:
        return None
    if isinstance(path, str):
        path = path.split(".")
    for name in path:
        if obj is None or isinstance(obj, _LEAVES):
            return None
        obj = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
    return obj
