"""JSON encoding of requests (with validation) and cached decoders for responses."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from ozon_async._exceptions import RequestValidationError, ResponseDecodeError

if TYPE_CHECKING:
    from ozon_async._operation import Operation

_ENCODER = msgspec.json.Encoder()
_SCALARS = frozenset({str, int, float, bool})
_DECODERS: dict[Any, msgspec.json.Decoder[Any]] = {}
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")

#: How deeply JSON that a user gives (the command line's bodies, MCP tool arguments) may nest:
#: deeper input is refused before it is decoded or walked, instead of exhausting the stack.
MAX_INPUT_DEPTH = 200
_NAMED = re.compile(r"(?:missing required|contains unknown) field `(?P<field>[^`]+)`")


def decoder_for(type_: Any) -> msgspec.json.Decoder[Any]:
    """The cached decoder of a response type.

    Decoding is lenient (``strict=False``): numbers sent as strings (Ozon's int64 ids), and
    ``"true"``/``"false"`` for booleans, are accepted.
    """
    dec = _DECODERS.get(type_)
    if dec is None:
        dec = _DECODERS[type_] = msgspec.json.Decoder(type_, strict=False)
    return dec


def decode_answer(op: Operation, response_type: Any, status: int, content: bytes) -> Any:
    """The 2xx answer of ``op`` decoded into ``response_type``; a body that cannot be read is a
    :class:`ResponseDecodeError` (which says, for a write, that the request was applied)."""
    dec = _DECODERS.get(response_type) or decoder_for(response_type)
    if not content and op.empty_answer:  # x-ozon-empty-answer: no body means `{}`
        content = b"{}"
    try:
        return dec.decode(content)
    except Exception as exc:  # msgspec.DecodeError / ValidationError, RecursionError
        error = ResponseDecodeError(
            "the JSON is nested too deeply" if isinstance(exc, RecursionError) else str(exc),
            body=content,
            status=status,
            method=op.method,
            path=op.path,
        )
        if not op.safe:
            error.decision = (
                f"Ozon answered {status}, so the request was applied; only its answer "
                "could not be read (do not resend it blindly)"
            )
        raise error from None


def encode_json(value: Any) -> bytes:
    return _ENCODER.encode(value)


def field_path(message: str) -> tuple[str, str]:
    """Split msgspec's ``"... - at `$.a[0].b`"`` into (message, "a[0].b")."""
    m = _PATH.search(message)
    path = ""
    if m:
        path = m.group("path").lstrip(".")
        message = message[: m.start()]
    named = _NAMED.search(message)
    if named:
        path = f"{path}.{named.group('field')}" if path else named.group("field")
    return message, path


def build_request(operation: str | Operation, request_type: Any, fields: Mapping[str, Any]) -> Any:
    """Convert keyword arguments (plain values, dicts, lists or model instances) into a validated
    request model. Raises :class:`RequestValidationError` naming the field path (and
    ``operation``, ``"METHOD /path"`` or the :class:`Operation` itself)."""
    data = {}
    plain = True
    for name, value in fields.items():
        if value is not None:
            data[name] = value
            if plain and type(value) not in _SCALARS:
                plain = False
    try:
        # Plain scalars need no conversion to builtins first; models, dates, and containers
        # (which may hold models) do, so that everything inside gets validated.
        if not plain:
            data = msgspec.to_builtins(data, str_keys=True)
        return msgspec.convert(data, request_type, strict=False)
    except msgspec.ValidationError as exc:
        message, path = field_path(str(exc))
        if "unknown field" in message:
            from ozon_async._suggest import request_key_hint

            message += request_key_hint(request_type, message, path)
        if message.startswith("Invalid enum value"):
            message = _enum_message(message, request_type, path)
        raise RequestValidationError(message, field=path, operation=_key(operation)) from None
    except TypeError as exc:
        raise RequestValidationError(str(exc), operation=_key(operation)) from None


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _literal_values(tp: Any, path: str) -> tuple[Any, ...]:
    """The values of the ``Literal`` that a request model declares at ``path`` (``"a.b[0]"``),
    in the order the model lists them; empty when the path does not end at one."""
    import typing

    import msgspec.structs

    current = [tp]
    for name, _index in _STEP.findall(path):
        nxt = []
        for t in _flatten(current):
            if name and isinstance(t, type) and issubclass(t, msgspec.Struct):
                for f in msgspec.structs.fields(t):
                    if f.encode_name == name:
                        nxt.append(f.type)
            elif not name and typing.get_origin(t) in (list, tuple, set, frozenset):
                nxt.extend(typing.get_args(t)[:1])
        current = nxt
    values: list[Any] = []
    for t in _flatten(current):
        if typing.get_origin(t) is typing.Literal:
            values.extend(v for v in typing.get_args(t) if v not in values)
    return tuple(values)


def _flatten(types: list[Any]) -> list[Any]:
    """Types with ``Annotated`` and unions (``X | None``) unwrapped."""
    import types as pytypes
    import typing

    out: list[Any] = []
    stack = list(types)
    while stack:
        t = stack.pop(0)
        origin = typing.get_origin(t)
        if origin is typing.Annotated:
            stack.insert(0, typing.get_args(t)[0])
        elif origin in (typing.Union, pytypes.UnionType):
            stack[:0] = typing.get_args(t)
        else:
            out.append(t)
    return out


def _enum_message(message: str, request_type: Any, path: str) -> str:
    """msgspec's "Invalid enum value 'x'" with the values the field allows and, when one is
    close to what was sent, a suggestion."""
    import difflib

    allowed = _literal_values(request_type, path)
    if not allowed:
        return message
    listed = ", ".join(repr(v) for v in allowed)
    text = f"{message}; allowed values: {listed}"
    sent = re.search(r"Invalid enum value (.+)$", message)
    strings = [v for v in allowed if isinstance(v, str)]
    if sent and strings:
        raw = sent.group(1).strip("'\"")
        folded = {v.lower(): v for v in strings}
        close = [folded[raw.lower()]] if raw.lower() in folded else []
        close = close or difflib.get_close_matches(raw, strings, n=1, cutoff=0.6)
        if close:
            text += f" (did you mean {close[0]!r}?)"
    return text


def _key(operation: str | Operation) -> str:
    return operation if isinstance(operation, str) else operation.key


def encode_request(
    operation: str | Operation, request_type: Any, fields: Mapping[str, Any]
) -> bytes:
    """Validated JSON body for a typed call (``{}`` for operations without parameters)."""
    if request_type is None:
        return b"{}"
    return _ENCODER.encode(build_request(operation, request_type, fields))


def merge_extra_body(operation: str, body: bytes | None, extra: Mapping[str, Any]) -> bytes | None:
    """Add ``extra_body`` (the escape hatch for fields the spec lacks) to an encoded body.

    The extra fields go out exactly as given; a key the validated body already has is refused
    rather than silently overwritten, and an operation without a JSON body refuses them all
    rather than dropping them."""
    if not isinstance(extra, Mapping):
        raise RequestValidationError(
            f"extra_body must be a mapping of field names to values, not {type(extra).__name__}",
            field="extra_body",
            operation=operation,
        )
    if not extra:
        return body
    if body is None:
        raise RequestValidationError(
            "this operation sends no body, so extra_body cannot be sent",
            field="extra_body",
            operation=operation,
        )
    bad = [k for k in extra if not isinstance(k, str)]
    if bad:
        raise RequestValidationError(
            f"extra_body keys must be strings, not {bad[0]!r}",
            field="extra_body",
            operation=operation,
        )
    data = msgspec.json.decode(body)
    if not isinstance(data, dict):
        raise RequestValidationError("extra_body needs a JSON object body", operation=operation)
    try:
        extra_data = msgspec.to_builtins(dict(extra), str_keys=True)
    except TypeError as exc:
        raise RequestValidationError(str(exc), field="extra_body", operation=operation) from None
    clash = sorted(set(data) & set(extra_data))
    if clash:
        raise RequestValidationError(
            f"extra_body repeats fields already set: {', '.join(clash)}",
            field="extra_body",
            operation=operation,
        )
    data.update(extra_data)
    return _ENCODER.encode(data)


# ---------------------------------------------------------------------- input from users
class InputError(ValueError):
    """Data a user gave (a command-line body, MCP tool arguments) cannot be used: not UTF-8
    text, nested deeper than :data:`MAX_INPUT_DEPTH`, or not JSON. The message is one line."""


def _surrogate_problem(text: str) -> str | None:
    """Why ``text`` is not valid Unicode text (a byte that was not UTF-8 on the command line
    arrives as a lone surrogate), or ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        code = ord(bad)
        what = f"byte 0x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"U+{code:04X}"
        return f"not valid UTF-8 text ({what} at position {exc.start})"
    return None


def check_text(text: str) -> None:
    """Raise :class:`InputError` when ``text`` holds bytes that were not UTF-8."""
    problem = _surrogate_problem(text)
    if problem is not None:
        raise InputError(problem)


def _too_deep(limit: int) -> InputError:
    return InputError(f"nested more than {limit} levels deep (the limit for input)")


def _check_depth(value: Any, limit: int) -> None:
    """Raise :class:`InputError` when ``value`` nests more than ``limit`` lists or dicts
    (level by level, without recursion)."""
    level = [value] if isinstance(value, (dict, list)) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise _too_deep(limit)
        below: list[Any] = []
        for node in level:
            items = node.values() if isinstance(node, dict) else node
            below.extend([v for v in items if isinstance(v, (dict, list))])
        level = below


def check_input_value(value: Any, limit: int = MAX_INPUT_DEPTH) -> None:
    """Raise :class:`InputError` when a decoded value nests more than ``limit`` lists or
    dicts, or holds a string (key or value) that is not valid UTF-8 text. Iterative: a value
    of any depth is checked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            problem = _surrogate_problem(node)
            if problem is not None:
                raise InputError(problem)
        elif isinstance(node, (dict, list, tuple)):
            if depth >= limit:
                raise _too_deep(limit)
            if isinstance(node, dict):
                for k, v in node.items():
                    stack.append((k, depth + 1))
                    stack.append((v, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in node)


def decode_input_json(data: bytes | str, limit: int = MAX_INPUT_DEPTH) -> Any:
    """Decode JSON a user gave, refusing text that is not UTF-8 and nesting deeper than
    ``limit`` with an :class:`InputError` (a one-line message)."""
    if isinstance(data, str):
        check_text(data)
        raw = data.encode("utf-8")
    else:
        raw = data
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"not valid UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start})"
            ) from None
    try:
        value = msgspec.json.decode(raw)
    except RecursionError:  # deeper than the interpreter's limit (about 1,000)
        raise _too_deep(limit) from None
    except msgspec.DecodeError as exc:
        raise InputError(f"not valid JSON: {exc}") from None
    if raw.count(b"[") + raw.count(b"{") > limit:  # else it cannot nest that deep
        _check_depth(value, limit)
    return value
