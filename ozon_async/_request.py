"""Turning a typed call's arguments into the path and body that go on the wire.

Most operations take a JSON body. A few take path parameters (``/v1/cargoes-label/file/{file_guid}``),
query parameters (the Performance API's reads) or a ``multipart/form-data`` body with files
(certificates, receipts); the spec says which, and :func:`prepare` applies it. Everything is validated by the request model first, so a wrong
argument is a :class:`RequestValidationError` naming the field and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ozon_async._codec import build_request, encode_request, merge_extra_body
from ozon_async._exceptions import RequestValidationError
from ozon_async._operation import Operation
from ozon_async._options import OPTION_NAMES
from ozon_async._record import Record

if TYPE_CHECKING:
    from ozon_async._options import CallOptions

MULTIPART = "multipart/form-data"


class UploadFile(Record):
    """A file for an operation that uploads files (a binary field of a multipart body).

    A plain ``bytes`` value is sent with the field name as its file name and
    ``application/octet-stream``; pass an ``UploadFile`` to choose both::

        await client.product.certificate_create_v1(
            files=[UploadFile("certificate.pdf", data, "application/pdf")], ...
        )
    """

    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

    def __repr__(self) -> str:
        return f"UploadFile({self.filename!r}, <{len(self.content)} bytes>, {self.content_type!r})"


class Prepared(Record):
    """What a typed call sends: the concrete path, the body and its content type."""

    path: str
    body: bytes | None
    content_type: str | None


def prepare_call(
    op: Operation, request_type: Any, fields: Mapping[str, Any], options: CallOptions
) -> tuple[str, bytes | None, CallOptions]:
    """Everything a typed call does before it is sent: refuse unknown options, warn when the
    operation is deprecated or removed, validate and encode the arguments (:func:`prepare`), merge
    ``extra_body`` and name a multipart body's content type. The path, body and options to
    send."""
    if options:
        unknown = set(options) - OPTION_NAMES
        if unknown:
            raise TypeError(f"{op.name}() got unexpected keyword arguments: {sorted(unknown)}")
    if op.deprecated or op.removed:
        _warn_lifecycle(op)
    body: bytes | None
    ctype: str | None
    if (  # most operations: a JSON body to the operation's own path (prepare()'s last case)
        op.method != "GET"
        and not op.path_params
        and not op.query_params
        and op.request_content_type != MULTIPART
    ):
        path, body, ctype = op.path, encode_request(op, request_type, fields), None
    else:
        prepared = prepare(op, request_type, fields)
        path, body, ctype = prepared.path, prepared.body, prepared.content_type
        if ctype is not None:  # a multipart upload names its boundary
            options = with_content_type(options, prepared)
    if options:
        extra = options.get("extra_body")
        if extra is not None:
            if ctype is not None:
                raise RequestValidationError(
                    "extra_body applies to JSON bodies only", field="extra_body", operation=op.key
                )
            body = merge_extra_body(op.key, body, extra)
    return path, body, options


def _warn_lifecycle(op: Operation) -> None:
    import warnings

    warnings.warn(
        f"{op.method} {op.path} is {op.lifecycle_warning()}",
        DeprecationWarning,
        stacklevel=_outside_stacklevel(),
    )


_INTERNAL = ("ozon_async", "asyncio")


def _outside_stacklevel() -> int:
    """The ``stacklevel`` that attributes a warning to the first frame outside ozon_async (and
    asyncio's task machinery), i.e. the user's line, so that Python's default filters show it
    in ``__main__``. Counted for a ``warnings.warn`` made by this function's caller."""
    import sys

    frame = sys._getframe(1)
    level = 1
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not (module in _INTERNAL or module.startswith(("ozon_async.", "asyncio."))):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 1


def prepare(op: Operation, request_type: Any, fields: Mapping[str, Any]) -> Prepared:
    """Validate ``fields`` (the call's keyword arguments by wire name) and encode them."""
    path = op.path
    if op.path_params:
        from urllib.parse import quote

        fields = dict(fields)
        for name in op.path_params:
            value = fields.pop(name, None)
            if value is None or str(value) == "":
                raise RequestValidationError(
                    "this path parameter is required", field=name, operation=op.key
                )
            path = path.replace("{" + name + "}", quote(str(value), safe=""))
    if op.query_params:
        # the synthesized <operationId>Query model checks them as a body would be checked
        model = build_request(op, request_type, fields) if request_type is not None else None
        query = encode_query(model_fields(model)) if model is not None else ""
        if query:
            path = f"{path}?{query}"
        return Prepared(path, None if op.method == "GET" else b"{}", None)
    if op.method == "GET":
        return Prepared(path, None, None)
    if op.request_content_type == MULTIPART:
        body, ctype = encode_multipart(op.key, request_type, fields)
        return Prepared(path, body, ctype)
    return Prepared(path, encode_request(op, request_type, fields), None)


def model_fields(model: Any) -> dict[str, Any]:
    """The fields of a validated request model by JSON name, leaving out those not set."""
    out: dict[str, Any] = {}
    for attr, wire in zip(model.__struct_fields__, model.__struct_encode_fields__, strict=True):
        value = getattr(model, attr)
        if value is not None:
            out[wire] = value
    return out


def encode_query(params: Mapping[str, Any]) -> str:
    """A query string: a list repeats its name (``ids=1&ids=2``), booleans are ``true`` and
    ``false``, dates and instants ISO 8601 (UTC instants with ``Z``), ``None`` is left out."""
    from urllib.parse import quote

    parts: list[str] = []
    for name, value in params.items():
        if value is None:
            continue
        for item in value if isinstance(value, (list, tuple)) else (value,):
            parts.append(f"{quote(str(name), safe='.')}={quote(_text(item), safe='')}")
    return "&".join(parts)


def multipart_parts(prepared: Prepared) -> list[str]:
    """The names of the parts of a multipart body :func:`prepare` made, in order, once each
    (what a dry run shows instead of the files' bytes)."""
    import re

    names = re.findall(rb'form-data; name="((?:[^"\\]|\\.)*)"', prepared.body or b"")
    return list(dict.fromkeys(n.decode("utf-8", "replace") for n in names))


def with_content_type(options: CallOptions, prepared: Prepared) -> CallOptions:
    """The call's options with the body's content type among its headers (a multipart body
    names its boundary there); the options themselves when the body is JSON."""
    if prepared.content_type is None:
        return options
    headers = {**(options.get("extra_headers") or {}), "Content-Type": prepared.content_type}
    return {**options, "extra_headers": headers}


def encode_multipart(
    operation: str, request_type: Any, fields: Mapping[str, Any]
) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body: files as file parts, every other field as text (lists as
    repeated parts, objects as JSON), after the request model has validated the values."""
    import uuid

    uploads: list[UploadFile] = []

    def unwrap(value: Any) -> Any:
        if isinstance(value, UploadFile):
            uploads.append(value)
            return value.content
        if isinstance(value, (list, tuple)):
            return [unwrap(v) for v in value]
        return value

    plain = {k: unwrap(v) for k, v in fields.items()}
    model = build_request(operation, request_type, plain)
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for attr, wire in zip(model.__struct_fields__, model.__struct_encode_fields__, strict=True):
        value = getattr(model, attr)
        if value is None:
            continue
        for item in value if isinstance(value, list) else [value]:
            parts.append(_part(boundary, wire, item, uploads))
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"{MULTIPART}; boundary={boundary}"


def _part(boundary: str, name: str, value: Any, uploads: list[UploadFile]) -> bytes:
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"'
    if isinstance(value, (bytes, bytearray)):
        # the validated model holds the bytes; find the UploadFile they came from (in order)
        upload = next((u for u in uploads if u.content == value), None)
        if upload is not None:
            uploads.remove(upload)
        filename = upload.filename if upload else name
        ctype = upload.content_type if upload else "application/octet-stream"
        head += f'; filename="{_quote(filename)}"\r\nContent-Type: {ctype}\r\n\r\n'
        return head.encode() + bytes(value) + b"\r\n"
    return (head + "\r\n\r\n").encode() + _text(value).encode() + b"\r\n"


def _text(value: Any) -> str:
    import json
    from datetime import date, datetime

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (str, int, float)):
        return str(value)
    import msgspec

    return json.dumps(msgspec.to_builtins(value), ensure_ascii=False, separators=(",", ":"))


def _quote(text: str) -> str:
    if any(c in text for c in "\r\n"):
        raise RequestValidationError("a multipart name may not contain line breaks")
    return text.replace("\\", "\\\\").replace('"', '\\"')
