"""Exceptions raised by ozon_async.

::

    OzonError
    ├── ConfigurationError            missing or invalid client settings (no credentials, http://)
    ├── RateLimiterUnavailableError   the shared rate limiter's store (Redis) cannot be reached
    ├── ClientClosedError             the client was used after ``aclose()``
    ├── RequestValidationError        bad input caught before anything is sent
    ├── APIConnectionError            the request could not be completed on the network
    │   └── APITimeoutError           ... because it timed out
    ├── ResponseTooLargeError         the answer is larger than ``max_response_bytes``
    ├── ResponseDecodeError           a 2xx answer whose body does not decode (keeps the bytes)
    └── APIStatusError                Ozon answered with an error status
        ├── RedirectError             3xx: redirects are never followed (``.location``)
        ├── BadRequestError           400
        ├── AuthenticationError       401
        ├── PermissionDeniedError     403
        ├── NotFoundError             404
        ├── ConflictError             409
        ├── RateLimitError            429
        │   └── CircuitOpenError      Ozon's per-method breaker ("Circle is open") is open
        ├── ServerError               5xx
        └── (APIStatusError itself for any other status, e.g. 405)

None of them ever contains the Api-Key. When the client decided something about the failure (not
to resend a write, to stop waiting), :attr:`OzonError.decision` says what and why, and the message
ends with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class OzonError(Exception):
    """Base of every exception raised by ozon_async.

    Attributes:
        decision: what the client decided about this failure and why, e.g. ``"not resent: this
            operation changes data; pass idempotent=True if resending is safe"``; ``None`` when
            there was nothing to decide. ``str(error)`` ends with it.
        redirects: for a download, the URLs of the redirects it followed (without their query
            strings), the first one first; empty otherwise.
    """

    decision: str | None = None
    redirects: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}; {self.decision}" if self.decision else text


class ClientClosedError(OzonError):
    """The client (or a view made by ``with_options``) was used after ``aclose()``."""


class ConfigurationError(OzonError):
    """The client is missing settings it needs, such as credentials."""


class RateLimiterUnavailableError(OzonError):
    """The shared rate limiter cannot reach its store (Redis refused, timed out or failed), and
    its policy is to raise rather than pace in this process alone. Nothing was sent to Ozon."""


class RequestBudgetExhaustedError(OzonError):
    """The API's budget of requests per account (the Performance API: 100,000 a day) is spent
    by the requests this client's limiter counted; nothing was sent.

    Attributes:
        retry_after: seconds until the oldest counted request leaves the budget's window.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class ExportLimitError(OzonError):
    """An export (a statistics report) would break the API's export rules: more exports in 24
    hours than an account may start, or no turn to export within the time given. Nothing was
    sent.

    Attributes:
        retry_after: seconds after which trying again may succeed, when known.
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


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


class ResponseTooLargeError(OzonError):
    """The answer was larger than ``max_response_bytes`` (counted after decompression while
    reading); the rest was not read and the connection was closed.

    Attributes:
        limit: the ``max_response_bytes`` in force.
        status: the HTTP status of the answer.
        method, path: the request.
    """

    def __init__(self, *, limit: int, status: int, method: str = "", path: str = "") -> None:
        self.limit = limit
        self.status = status
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        super().__init__(
            f"{where}the {status} answer is larger than max_response_bytes ({limit:,} bytes)"
        )


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
        message: Ozon's error message; for other bodies their text, with an HTML page reduced to
            its ``<title>`` (or first line of text).
        details: the ``details`` list of Ozon's error body.
        body: the raw body bytes.
        trace_id: the ``x-o3-trace-id`` header, useful when asking Ozon's support.
        method, path: the request.
        headers: the answer's headers (case-insensitive: ``headers["retry-after"]``).
        subscription: when Ozon refused access to an operation that needs a paid seller
            subscription, that subscription (:class:`~ozon_async.Subscription`; the message
            names it); else ``None``.
    """

    subscription: Any = None

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
        subscription: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.body = body
        self.trace_id = trace_id
        self.method = method
        self.path = path
        self.headers = _case_insensitive(headers)
        text = f"{method} {path} -> {status}" if method else f"HTTP {status}"
        if code is not None:
            text += f" (code {code})"
        if message:
            text += f": {message}"
        if subscription is not None:
            self.subscription = subscription
            text += f" ({subscription.refusal()})"
        if trace_id:
            text += f" [trace {trace_id}]"
        super().__init__(text)


class RedirectError(APIStatusError):
    """3xx: the server answered with a redirect, which the client never follows (a redirect could
    send the Api-Key, or a write's body, to another host).

    Attributes:
        location: the ``Location`` header of the answer (``None`` when it had none).
    """

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class BadRequestError(APIStatusError):
    """400: Ozon rejected the request as invalid."""


class AuthenticationError(APIStatusError):
    """401: Ozon refused the credentials (the Client-Id and Api-Key, or the access token)."""


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
    if 300 <= status < 400:
        return RedirectError
    return _BY_STATUS.get(status, APIStatusError)


def _case_insensitive(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    """A read-only, case-insensitive copy of ``headers`` (multidict is imported only when an
    error is built: it is aiohttp's dependency, but ``import ozon_async`` stays lean)."""
    from multidict import CIMultiDict, CIMultiDictProxy

    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers or {}))


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CircuitOpenError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "NotFoundError",
    "OzonError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RedirectError",
    "RequestValidationError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServerError",
    "status_error_class",
]
