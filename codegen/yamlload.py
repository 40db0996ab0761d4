"""Loading spec/openapi.yaml quickly.

PyYAML's loaders parse in C (libyaml) but build the document in Python, node by node, which
takes seconds for a spec of this size. :func:`load` builds the same objects straight from the
parser's events: one pass, plain scalars resolved with PyYAML's own resolver and constructors,
quoted scalars kept as strings, anchors and aliases honoured. The result equals
``yaml.load(data, Loader=yaml.CSafeLoader)`` (tests/test_codegen.py checks it on the spec).
"""

from __future__ import annotations

from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
)
from yaml.nodes import ScalarNode

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()
_STR = "tag:yaml.org,2002:str"
_MISSING = object()


class _Constructor(yaml.constructor.SafeConstructor):
    """PyYAML's safe constructors for the scalar tags (int, float, bool, null, timestamp)."""


_CONSTRUCT = _Constructor()


def _scalar(event: ScalarEvent) -> Any:
    value: str = event.value
    if event.tag not in (None, "!"):
        tag = event.tag
    elif event.style or not event.implicit[0]:
        return value  # quoted or block scalars are strings
    else:
        tag = _RESOLVER.resolve(ScalarNode, value, event.implicit)
    if tag == _STR:
        return value
    node = ScalarNode(tag, value, event.start_mark, event.end_mark, event.style)
    constructor = _CONSTRUCT.yaml_constructors.get(tag)
    if constructor is None:
        raise yaml.YAMLError(f"unsupported tag {tag!r} at {event.start_mark}")
    return constructor(_CONSTRUCT, node)


def load(data: bytes | str) -> Any:
    """The document in ``data``, as ``yaml.safe_load`` would return it."""
    anchors: dict[str, Any] = {}
    # each frame: [container, pending mapping key or _MISSING]
    stack: list[list[Any]] = []
    root: Any = _MISSING

    def add(value: Any) -> None:
        nonlocal root
        if not stack:
            root = value
            return
        frame = stack[-1]
        container = frame[0]
        if isinstance(container, list):
            container.append(value)
        elif frame[1] is _MISSING:
            frame[1] = value
        else:
            container[frame[1]] = value
            frame[1] = _MISSING

    for event in yaml.parse(data, Loader=_Loader):
        kind = type(event)
        if kind is ScalarEvent:
            value = _scalar(event)
            if event.anchor:
                anchors[event.anchor] = value
            add(value)
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            container: Any = {} if kind is MappingStartEvent else []
            if event.anchor:
                anchors[event.anchor] = container
            add(container)
            stack.append([container, _MISSING])
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            stack.pop()
        elif kind is AliasEvent:
            add(anchors[event.anchor])
    if root is _MISSING:
        return None
    return root
