"""The raw answer of a call (:meth:`OzonClient.request`, :meth:`OzonClient.raw`), with typed
parsing on demand."""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from ozon_async._exceptions import ResponseDecodeError

if TYPE_CHECKING:
    from ozon_async._operation import Operation

T = TypeVar("T")
U = TypeVar("U")


class Capture:
    """Set by :meth:`OzonClient.raw` around the typed call it wraps: that call returns its
    :class:`APIResponse` instead of the decoded model."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = False


#: The capture of the :meth:`OzonClient.raw` call running in this context, if any.
RAW_CAPTURE: contextvars.ContextVar[Capture | None] = contextvars.ContextVar(
    "ozon_async_raw", default=None
)


def captured(capture: Capture, resp: APIResponse[Any], type_: type[Any] | None) -> Any:
    """The answer of a call wrapped by :meth:`OzonClient.raw`, instead of its decoded model."""
    if capture.used:
        raise TypeError("client.raw() wraps one typed call; this one made several")
    capture.used = True
    resp._type = type_
    return resp


class APIResponse(Generic[T]):
    """A successful answer: status, headers and body, parsed only when asked.

    ``APIResponse[T]`` comes from :meth:`OzonClient.raw` around a typed method whose result is
    ``T``: :meth:`parse` returns that ``T``. From :meth:`OzonClient.request` it is
    ``APIResponse[Any]``.

    Attributes:
        status: the HTTP status (2xx).
        headers: the answer's headers (case-insensitive).
        content: the body bytes.
        method, path: the request.
        elapsed: seconds the last attempt took.
        attempts: how many attempts were made (1 when nothing was resent).
        operation: the operation of the spec that was called, if the client knows it.
    """

    __slots__ = (
        "_type",
        "attempts",
        "content",
        "elapsed",
        "headers",
        "method",
        "operation",
        "path",
        "status",
    )

    def __init__(
        self,
        *,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        method: str,
        path: str,
        elapsed: float,
        attempts: int,
        type_: type[T] | None = None,
        operation: Operation | None = None,
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.method = method
        self.path = path
        self.elapsed = elapsed
        self.attempts = attempts
        self._type: type[Any] | None = type_
        self.operation = operation

    @property
    def trace_id(self) -> str | None:
        """Ozon's ``x-o3-trace-id`` header, if present."""
        return self.headers.get("x-o3-trace-id")

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip()

    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as Python objects (dicts, lists, ...); :class:`ResponseDecodeError` when it
        is not JSON."""
        return self._decode(None)

    @overload
    def parse(self) -> T: ...

    @overload
    def parse(self, type_: type[U]) -> U: ...

    def parse(self, type_: type[Any] | None = None) -> Any:
        """Decode the body into ``type_``; without it, into the result type of the typed method
        (for :meth:`OzonClient.raw`), or the response model of the :attr:`operation`, or plain
        objects for a path the client does not know. A body that does not decode raises
        :class:`ResponseDecodeError`."""
        from ozon_async._models import BinaryResponse

        if type_ is None:
            type_ = self._type
        if type_ is None and self.operation is not None:
            type_ = self.operation.response_type
        if type_ is BinaryResponse:
            return BinaryResponse(content=self.content, content_type=self.content_type)
        return self._decode(type_)

    def _decode(self, type_: type[Any] | None) -> Any:
        import msgspec

        from ozon_async._codec import decoder_for

        try:
            if type_ is None:
                return msgspec.json.decode(self.content)
            return decoder_for(type_).decode(self.content)
        except Exception as exc:  # DecodeError, ValidationError, RecursionError...
            raise ResponseDecodeError(
                _reason(exc),
                body=self.content,
                status=self.status,
                method=self.method,
                path=self.path,
            ) from None

    def __repr__(self) -> str:
        return f"<APIResponse {self.method} {self.path} {self.status} ({len(self.content)} bytes)>"


def _reason(exc: Exception) -> str:
    if isinstance(exc, RecursionError):
        return "the JSON is nested too deeply"
    return str(exc) or type(exc).__name__
