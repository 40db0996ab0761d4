"""Naming rules shared by the generator and documented in the README.

Method names: ``client.<group>.<name>`` where

* ``<group>`` is the operation's tag with ``-`` replaced by ``_`` (a Python keyword gets a
  trailing ``_``: ``return`` -> ``return_``), or the tag's ``x-python-name`` when it has one;
* ``<name>`` is the path without its version segment, with the first segment dropped when it
  equals the group, segments joined by ``_`` (``-`` becomes ``_``), followed by ``_v<N>`` from the
  path's version. A path that is only the group (``/v1/roles``) gives ``list_v<N>``.

So ``POST /v3/posting/fbs/list`` is ``client.posting.fbs_list_v3`` and
``POST /v2/fbs/posting/delivered`` is ``client.fbs.posting_delivered_v2``. The version suffix keeps
names stable when Ozon adds a version: a new version is a new method beside the old one.

Field names: the JSON name, except that camelCase becomes snake_case (``warehouseId`` ->
``warehouse_id``), characters that cannot appear in an identifier become ``_``, and a Python keyword
gets a trailing ``_`` (``with`` -> ``with_``). The JSON name is kept as the wire name.
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
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def group_attr(tag: str, tag_obj: dict[str, Any]) -> str:
    if tag_obj.get("x-python-name"):
        return str(tag_obj["x-python-name"])
    name = tag.replace("-", "_")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"tag {tag!r} needs an x-python-name")
    if keyword.iskeyword(name):
        name += "_"
    return name


def group_module(tag: str, tag_obj: dict[str, Any]) -> str:
    return group_attr(tag, tag_obj)


def method_name(path: str, group_py: str) -> str:
    segs = path.strip("/").split("/")
    version, rest = segs[0], segs[1:]
    if not re.fullmatch(r"v\d+", version):
        raise ValueError(f"{path}: the first segment must be the version")
    norm = [s.replace("-", "_") for s in rest]
    if norm and norm[0] == group_py.rstrip("_"):
        norm = norm[1:]
    base = "_".join(norm) if norm else "list"
    return f"{base}_{version}"
