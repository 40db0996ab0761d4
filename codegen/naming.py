"""Naming rules shared by the generator, the tests and the README.

Method names: ``client.<group>.<name>`` where, for ``/v<N>/<first>/<rest...>``,

* ``<group>`` is the first path segment after the version, with ``-`` replaced by ``_`` and a
  trailing ``_`` on a Python keyword (``/v1/return/...`` -> ``return_``);
* ``<name>`` is the rest of the path joined by ``_`` (``-`` becomes ``_``) followed by ``_v<N>``;
  a path that is only the group (``/v1/roles``) gives ``list_v<N>``.

So ``POST /v3/posting/fbs/list`` is ``client.posting.fbs_list_v3``, ``POST /v1/supply-order/list`` is
``client.supply_order.list_v1`` and ``POST /v2/chat/history`` is ``client.chat.history_v2``. The
version suffix keeps names stable: when Ozon adds a version, it is a new method beside the old one.
An operation may override the rule with ``x-python-group``/``x-python-name`` only where the rule
would give two operations the same name; the spec says why next to it.

Field names: the JSON name, except that camelCase becomes snake_case (``warehouseId`` ->
``warehouse_id``), characters that cannot appear in an identifier become ``_``, and a Python keyword
gets a trailing ``_`` (``with`` -> ``with_``), as does a builtin type name the annotations use
(``list`` -> ``list_``). The JSON name is kept as the wire name.
"""

from __future__ import annotations

import keyword
import re
from typing import Any


def camel(s: str) -> str:
    parts = re.split(r"[^0-9a-zA-Z]+", s)
    return "".join(p[:1].upper() + p[1:] for p in parts if p)


def snake(s: str) -> str:
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", s)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


def field_name(wire: str) -> str:
    name = wire
    if re.search(r"[a-z][A-Z]", name):
        name = snake(name)
    name = re.sub(r"[^0-9A-Za-z_]", "_", name)
    if not name or name[0].isdigit():
        name = "f_" + name
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _SHADOWED:
        name += "_"
    return name


#: Builtin types the generated annotations use: a field of that name would hide the type from
#: the annotations of the fields after it, so it gets a trailing ``_`` like a keyword.
_SHADOWED = frozenset({"list", "dict", "str", "int", "float", "bool", "bytes"})


def _split(path: str) -> tuple[str, list[str]]:
    segs = path.strip("/").split("/")
    version, rest = segs[0], segs[1:]
    if not re.fullmatch(r"v\d+", version) or not rest:
        raise ValueError(f"{path}: expected /v<N>/<group>/...")
    return version, rest


def _identifier(text: str) -> str:
    name = text.replace("-", "_")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"{text!r} does not make a Python identifier")
    if keyword.iskeyword(name):
        name += "_"
    return name


def group_of(path: str) -> str:
    """The client attribute of the operation's group: the first path segment after the version."""
    return _identifier(_split(path)[1][0])


def tag_of(path: str) -> str:
    """The spec tag of an operation: the first path segment after the version, as written."""
    return _split(path)[1][0]


def method_name(path: str) -> str:
    """The method name within its group (see the module docstring)."""
    version, rest = _split(path)
    norm = [seg.replace("-", "_") for seg in rest[1:]]
    base = "_".join(norm) if norm else "list"
    return f"{base}_{version}"


def operation_id(path: str) -> str:
    """The spec's operationId: ``<group>_<method>`` with the group's keyword underscore dropped."""
    return f"{group_of(path).rstrip('_')}_{method_name(path)}"


def python_names(path: str, op: dict[str, Any]) -> tuple[str, str]:
    """(group attribute, method name), honouring ``x-python-group``/``x-python-name``."""
    group = str(op.get("x-python-group") or group_of(path))
    name = str(op.get("x-python-name") or method_name(path))
    return group, name
