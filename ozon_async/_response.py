"""The raw answer of :meth:`OzonClient.request`, with typed parsing on demand."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, overload

import msgspec

from ozon_async._codec import decoder_for
from ozon_async._exceptions import ResponseDecodeError

T = TypeVar("T")


class APIResponse:
    """A successful answer: status, headers and body, parsed only when asked.

    Attributes:
        status: the HTTP status (2xx).
        headers: the answer's headers (case-insensitive).
        content: the body bytes.
        method, path: the request.
        elapsed: seconds the last attempt took.
        attempts: how many attempts were made (1 when nothing was retried).
    """

    __slots__ = ("attempts", "content", "elapsed", "headers", "method", "path", "status")

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
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.method = method
        self.path = path
        self.elapsed = elapsed
        self.attempts = attempts

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
        """The body as Python objects (dicts, lists, ...)."""
        return self._decode(None)

    @overload
    def parse(self) -> Any: ...

    @overload
    def parse(self, type_: type[T]) -> T: ...

    def parse(self, type_: type[Any] | None = None) -> Any:
        """Decode the body into ``type_``; without it, into the response model of this operation
        (looked up in :data:`ozon_async.OPERATIONS` by method and path), or plain objects for
        paths the registry does not know."""
        if type_ is None:
            from ozon_async.resources._registry import OPERATIONS

            op = OPERATIONS.get(f"{self.method} {self.path}")
            type_ = op.response_type if op is not None else None
        return self._decode(type_)

    def _decode(self, type_: type[Any] | None) -> Any:
        try:
            if type_ is None:
                return msgspec.json.decode(self.content)
            return decoder_for(type_).decode(self.content)
        except msgspec.DecodeError as exc:
            raise ResponseDecodeError(
                str(exc), body=self.content, status=self.status, method=self.method, path=self.path
            ) from None

    def __repr__(self) -> str:
        return f"<APIResponse {self.method} {self.path} {self.status} ({len(self.content)} bytes)>"
