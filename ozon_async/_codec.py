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


def _field_path(message: str) -> tuple[str, str]:
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
        message, path = _field_path(str(exc))
        if "unknown field" in message:
            from ozon_async._suggest import request_key_hint

            message += request_key_hint(request_type, message, path)
        raise RequestValidationError(message, field=path, operation=_key(operation)) from None
    except TypeError as exc:
        raise RequestValidationError(str(exc), operation=_key(operation)) from None


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
