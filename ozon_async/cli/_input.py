"""The request body of ``ozon call``: ``--json``, stdin and httpie-style ``key=value`` pairs.

Forms (they combine; pairs are applied on top of the ``--json``/stdin body):

- ``--json '{"limit": 100}'``: a JSON object as text;
- ``--json @body.json``: read from a file; ``--json -`` (or a piped stdin with no other body):
  read from standard input;
- ``key=value``: a string; ``key:=json``: any JSON value (``limit:=100``,
  ``filter.statuses:='["delivered"]'``, ``translit:=true``);
- ``key=@file.txt`` takes a string from a file and ``key:=@file.json`` a JSON value from a file;
- ``key@file.pdf`` attaches the file itself (name, bytes, and a content type guessed from the
  name), for the operations that upload files in a multipart body (``files[0]@cert.pdf``);
- keys are dotted paths into nested objects (``filter.since=2026-01-01T00:00:00Z``), with ``[N]``
  for list positions (``stocks[0].offer_id=A1``); a backslash makes the next character literal
  (``a\\.b=1`` sets the key ``a.b``).

Setting the same path twice, or a path below a value that is not an object, is an error: nothing
the user typed is silently dropped. Input that is not UTF-8 text, or a body nested more than
:data:`~ozon_async._codec.MAX_INPUT_DEPTH` (200) levels deep, is refused the same way. Values are not converted here; the request model does that
exactly as for a typed call (``limit=100`` becomes the integer the model expects).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from ozon_async._codec import InputError, check_input_value, check_text, decode_input_json

__all__ = ["BodyError", "parse_body", "parse_pair", "stdin_has_data"]


class BodyError(ValueError):
    """The body given on the command line is malformed (usage error, exit code 2)."""


def _decode_json(data: bytes | str, where: str) -> Any:
    try:
        return decode_input_json(data)
    except InputError as exc:
        raise BodyError(f"{where}: {exc}") from None


def _read_file(name: str, where: str) -> bytes:
    try:
        return Path(name).expanduser().read_bytes()
    except OSError as exc:
        raise BodyError(f"{where}: cannot read {name}: {exc.strerror or exc}") from None


def stdin_has_data(stream: IO[Any]) -> bool:
    """True when standard input is a pipe or a regular file (not a terminal, /dev/null or a
    socket), i.e. when a body was piped in."""
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


Segment = str | int


def _split_path(key: str, where: str) -> list[Segment]:
    """``"filter.statuses"`` -> ``["filter", "statuses"]``; ``"a[0].b"`` -> ``["a", 0, "b"]``."""
    parts: list[Segment] = []
    buf: list[str] = []
    i = 0
    pending = True  # a name is expected (start, or after a dot)

    def close_name() -> None:
        nonlocal pending
        if buf:
            parts.append("".join(buf))
            buf.clear()
        elif pending:
            raise BodyError(f"{where}: empty name in the key path {key!r}")
        pending = False

    while i < len(key):
        ch = key[i]
        if ch == "\\" and i + 1 < len(key):
            buf.append(key[i + 1])
            i += 2
            continue
        if ch == ".":
            close_name()
            pending = True
        elif ch == "[":
            if buf:
                close_name()
            elif pending and not parts:
                raise BodyError(f"{where}: the key path {key!r} must start with a name")
            end = key.find("]", i)
            inside = key[i + 1 : end] if end != -1 else ""
            if end == -1 or not inside.isdigit():
                raise BodyError(
                    f"{where}: list positions are written [0], [1]... in the key path {key!r}"
                )
            parts.append(int(inside))
            pending = False
            i = end + 1
            continue
        else:
            buf.append(ch)
        i += 1
    close_name()
    return parts


def _render(path: Sequence[Segment]) -> str:
    out = ""
    for seg in path:
        if isinstance(seg, int):
            out += f"[{seg}]"
        else:
            out += f".{seg}" if out else seg
    return out


def parse_pair(text: str) -> tuple[list[Segment], Any]:
    """One ``key=value`` / ``key:=json`` / ``key@file`` argument as (path, value)."""
    try:
        check_text(text)
    except InputError as exc:
        raise BodyError(f"argument {text!r}: {exc}") from None
    i = 0
    sep = -1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "=@":
            sep = i
            break
        i += 1
    if sep <= 0:
        raise BodyError(
            f"{text!r}: expected key=value (a string), key:=json (any JSON value) or key@file "
            "(a file to upload)"
        )
    if text[sep] == "@":
        return _upload(text, sep)
    is_json = text[sep - 1] == ":" and (sep < 2 or text[sep - 2] != "\\")
    key = text[: sep - 1] if is_json else text[:sep]
    raw = text[sep + 1 :]
    if not key:
        raise BodyError(f"{text!r}: the key is empty")
    where = f"argument {text!r}"
    path = _split_path(key, where)
    value: Any
    if raw.startswith("@") and len(raw) > 1:
        content = _read_file(raw[1:], where)
        if is_json:
            value = _decode_json(content, where)
        else:
            try:
                value = content.decode("utf-8")
            except UnicodeDecodeError:
                raise BodyError(f"{where}: {raw[1:]} is not UTF-8 text") from None
    elif is_json:
        value = _decode_json(raw, where)
    else:
        value = raw
    return path, value


def _upload(text: str, sep: int) -> tuple[list[Segment], Any]:
    """``key@file``: the file to upload, as the SDK's :class:`UploadFile`."""
    import mimetypes

    from ozon_async._request import UploadFile

    where = f"argument {text!r}"
    name = text[sep + 1 :]
    if not name:
        raise BodyError(f"{where}: name the file after @")
    path = _split_path(text[:sep], where)
    content = _read_file(name, where)
    ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return path, UploadFile(Path(name).name, content, ctype)


def _assign(body: dict[str, Any], path: list[Segment], value: Any, arg: str) -> None:
    node: Any = body
    for depth, seg in enumerate(path):
        last = depth == len(path) - 1
        here = _render(path[: depth + 1])
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise BodyError(f"argument {arg!r}: `{_render(path[:depth])}` is not a list")
            if seg > len(node):
                raise BodyError(
                    f"argument {arg!r}: `{here}` skips positions; the list has {len(node)} "
                    f"item(s), so the next one is [{len(node)}]"
                )
            if seg == len(node):
                node.append(value if last else ([] if isinstance(path[depth + 1], int) else {}))
                if last:
                    return
            elif last:
                node[seg] = value
                return
        else:
            if not isinstance(node, dict):
                parent = _render(path[:depth])
                raise BodyError(
                    f"argument {arg!r}: `{parent}` is already set to a non-object value"
                )
            if last:
                node[seg] = value
                return
            if seg not in node:
                node[seg] = [] if isinstance(path[depth + 1], int) else {}
        node = node[seg]


def parse_body(
    json_arg: str | None,
    pairs: Sequence[str],
    stdin: IO[Any] | None = None,
) -> dict[str, Any] | None:
    """The body from the command line: ``None`` when none was given.

    ``stdin`` is read when ``json_arg`` is ``"-"``, or when neither ``json_arg`` nor pairs were
    given and it is a pipe or a file.
    """
    body: Any = None
    source = ""
    if json_arg is not None:
        if json_arg == "-":
            source = "--json - (stdin)"
            raw: bytes | str = _read_stream(stdin, source)
        elif json_arg.startswith("@"):
            source = f"--json {json_arg}"
            raw = _read_file(json_arg[1:], "--json")
        else:
            source = "--json"
            raw = json_arg
        body = _decode_json(raw, source)
    elif not pairs and stdin is not None and stdin_has_data(stdin):
        source = "stdin"
        raw = _read_stream(stdin, source)
        body = _decode_json(raw, source) if raw.strip() else None
    if body is not None and not isinstance(body, dict):
        raise BodyError(f"{source}: the body must be a JSON object, not {type(body).__name__}")
    result: dict[str, Any] | None = body
    seen: dict[str, str] = {}
    for arg in pairs:
        path, value = parse_pair(arg)
        rendered = _render(path)
        if rendered in seen:
            raise BodyError(f"`{rendered}` is given twice ({seen[rendered]!r} and {arg!r})")
        for other, other_arg in seen.items():
            if other.startswith((rendered + ".", rendered + "[")):
                raise BodyError(f"{arg!r} would replace `{other}` set by {other_arg!r}")
            if rendered.startswith((other + ".", other + "[")):
                raise BodyError(f"{arg!r} would change `{other}` set by {other_arg!r}")
        seen[rendered] = arg
        if result is None:
            result = {}
        _assign(result, path, value, arg)
    if pairs and result is not None:
        try:  # key paths can nest too (a.a.a...), and add to the depth of the --json body
            check_input_value(result)
        except InputError as exc:
            raise BodyError(f"the body is {exc}") from None
    return result


def _read_stream(stream: IO[Any] | None, where: str) -> bytes:
    if stream is None:
        raise BodyError(f"{where}: no standard input")
    buffer = getattr(stream, "buffer", None)
    data = (buffer or stream).read()
    return data if isinstance(data, bytes) else str(data).encode("utf-8")
