"""Exceptions raised by ozon_async.

::

    OzonError
    ├── ConfigurationError            missing or invalid client settings (no credentials)
    ├── RateLimiterUnavailableError   the shared rate limiter's store (Redis) cannot be reached
    ├── RequestValidationError        bad input caught before anything is sent
    ├── APIConnectionError            the request could not be completed on the network
    │   └── APITimeoutError           ... because it timed out
    ├── ResponseDecodeError           a 2xx answer whose body does not decode (keeps the bytes)
    └── APIStatusError                Ozon answered with an error status
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── RateLimitError            429
        │   └── CircuitOpenError      Ozon's per-method breaker ("Circle is open") is open
        ├── ServerError               5xx
        └── (APIStatusError itself for any other status, e.g. 405)

None of them ever contains the Api-Key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OzonError(Exception):
    """Base of every exception raised by ozon_async."""


class ConfigurationError(OzonError):
    """The client is missing settings it needs, such as credentials."""


class RateLimiterUnavailableError(OzonError):
    """The shared rate limiter cannot reach its store (Redis refused, timed out or failed), and
    its policy is to raise rather than pace in this process alone. Nothing was sent to Ozon."""


class RequestValidationError(OzonError, ValueError):
    """The request failed validation before it was sent; nothing reached Ozon.

    Attributes:
        field: dotted path of the offending field (``"filter.since"``), or ``""`` for the
            request as a whole.
        operation: ``"METHOD /path"`` of the call.
    """

    def __init__(self, message: str, *, field: str = "", operation: str = "") -> None:
        self.field = field
        self.operation = operation
        where = f" in `{field}`" if field else ""
        prefix = f"{operation}: " if operation else ""
        super().__init__(f"{prefix}invalid request{where}: {message}")


class APIConnectionError(OzonError):
    """The request failed on the network (connection refused, reset, DNS, TLS...).

    Attributes:
        method, path: the request.
        sent: ``False`` when the request provably never reached the server (connect failures);
            ``True`` when it may have been received.
    """

    def __init__(
        self, message: str, *, method: str = "", path: str = "", sent: bool = True
    ) -> None:
        self.method = method
        self.path = path
        self.sent = sent
        super().__init__(f"{method} {path}: {message}" if method else message)


class APITimeoutError(APIConnectionError):
    """The request timed out."""


class ResponseDecodeError(OzonError):
    """A successful answer whose body could not be decoded into the expected type.

    Attributes:
        body: the raw bytes of the answer.
        status: the HTTP status.
        method, path: the request.
    """

    def __init__(self, message: str, *, body: bytes, status: int, method: str, path: str) -> None:
        self.body = body
        self.status = status
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: cannot decode the {status} answer: {message}")


class APIStatusError(OzonError):
    """Ozon answered with a non-2xx status.

    Attributes:
        status: HTTP status code.
        code: Ozon's error code from the body (``None`` when the body is not Ozon's JSON).
        message: Ozon's error message, or the body text (HTML pages are kept as text).
        details: the ``details`` list of Ozon's error body.
        body: the raw body bytes.
        trace_id: the ``x-o3-trace-id`` header, useful when asking Ozon's support.
        method, path: the request.
        headers: the answer's headers.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | str | None = None,
        details: list[Any] | None = None,
        body: bytes = b"",
        trace_id: str | None = None,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.body = body
        self.trace_id = trace_id
        self.method = method
        self.path = path
        self.headers = dict(headers or {})
        text = f"{method} {path} -> {status}" if method else f"HTTP {status}"
        if code is not None:
            text += f" (code {code})"
        if message:
            text += f": {message}"
        if trace_id:
            text += f" [trace {trace_id}]"
        super().__init__(text)


class BadRequestError(APIStatusError):
    """400: Ozon rejected the request as invalid."""


class AuthenticationError(APIStatusError):
    """401: the Client-Id or Api-Key is wrong."""


class PermissionDeniedError(APIStatusError):
    """403: the Api-Key's role does not allow this method."""


class NotFoundError(APIStatusError):
    """404: the object or method does not exist."""


class ConflictError(APIStatusError):
    """409: the request conflicts with the current state."""


class RateLimitError(APIStatusError):
    """429: a rate limit was exceeded and retries did not help.

    Attributes:
        retry_after: seconds Ozon asked to wait (from ``Retry-After`` or ``Item-Retry-After``),
            when it said.
    """

    retry_after: float | None = None


class CircuitOpenError(RateLimitError):
    """Ozon's breaker for this method is open ("Circle is open"); it lasts minutes."""


class ServerError(APIStatusError):
    """5xx: Ozon failed to handle the request."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def status_error_class(status: int) -> type[APIStatusError]:
    """The exception class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIStatusError)


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ConfigurationError",
    "ConflictError",
    "NotFoundError",
    "OzonError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ServerError",
    "status_error_class",
]
