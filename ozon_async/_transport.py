"""Transports: how one attempt of a request goes over the wire.

The client decides everything else (what to send, rate limits, retries, errors); a transport only
sends one :class:`HTTPRequest` and returns its :class:`HTTPResponse`, or raises:

- :class:`APIConnectionError` with ``sent=False`` when the request provably never reached the
  server (the connection could not be made), ``sent=True`` when it may have;
- :class:`APITimeoutError` when the attempt ran out of time;
- :class:`ResponseTooLargeError` when the body exceeds ``max_response_bytes``.

A transport never follows redirects: a 3xx is returned like any other answer.

:class:`AiohttpTransport` is the default. :class:`MockTransport` answers from a function, for
tests::

    def handler(request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse(200, json={"roles": []})

    async with OzonClient("1", "key", transport=MockTransport(handler)) as client:
        await client.roles.list_v1()
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from ozon_async._exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    OzonError,
    ResponseTooLargeError,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AiohttpTransport", "HTTPRequest", "HTTPResponse", "MockTransport", "Transport"]

_MISSING: Any = object()


class HTTPRequest:
    """One attempt of a request.

    Attributes:
        method: ``"POST"``, ``"GET"``...
        url: the full URL.
        path: the path of the operation (for messages).
        headers: every header to send, credentials included (never log them).
        content: the body, or ``None``.
        timeout: seconds for the whole attempt; ``connect_timeout`` for the connection.
        max_response_bytes: the largest body to accept, counted after decompression.
    """

    __slots__ = (
        "connect_timeout",
        "content",
        "headers",
        "max_response_bytes",
        "method",
        "path",
        "timeout",
        "url",
    )

    def __init__(
        self,
        method: str,
        url: str,
        *,
        path: str,
        headers: Mapping[str, str],
        content: bytes | None,
        timeout: float,
        connect_timeout: float,
        max_response_bytes: int,
    ) -> None:
        self.method = method
        self.url = url
        self.path = path
        self.headers = headers
        self.content = content
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.max_response_bytes = max_response_bytes

    def json(self) -> Any:
        """The body decoded from JSON (``None`` without a body)."""
        import msgspec

        return None if self.content is None else msgspec.json.decode(self.content)

    def __repr__(self) -> str:  # no headers: they hold the key
        return f"<HTTPRequest {self.method} {self.url}>"


class HTTPResponse:
    """An answer: status, headers (case-insensitive when they come from aiohttp, or from a plain
    mapping given here) and the whole body.

    ``HTTPResponse(200, json={...})`` encodes ``json`` as the body and sets its content type.
    """

    __slots__ = ("content", "headers", "status")

    def __init__(
        self,
        status: int,
        *,
        headers: Mapping[str, str] | None = None,
        content: bytes = b"",
        json: Any = _MISSING,
    ) -> None:
        if json is not _MISSING:
            import msgspec

            content = msgspec.json.encode(json)
            headers = {"Content-Type": "application/json", **(headers or {})}
        self.status = status
        self.headers: Mapping[str, str] = _ci(headers)
        self.content = content

    @classmethod
    def _wrap(cls, status: int, headers: Mapping[str, str], content: bytes) -> HTTPResponse:
        """Build without copying the headers (they are aiohttp's case-insensitive proxy)."""
        self = cls.__new__(cls)
        self.status = status
        self.headers = headers
        self.content = content
        return self

    def __repr__(self) -> str:
        return f"<HTTPResponse {self.status} ({len(self.content)} bytes)>"


def _ci(headers: Mapping[str, str] | None) -> Mapping[str, str]:
    from multidict import CIMultiDict, CIMultiDictProxy

    if isinstance(headers, CIMultiDictProxy):
        return headers
    return CIMultiDictProxy(CIMultiDict(headers or {}))


class Transport(abc.ABC):
    """Sends one attempt of a request. Implementations must not follow redirects, must honour
    ``request.timeout`` and ``request.max_response_bytes``, and must raise only
    :class:`~ozon_async.OzonError` subclasses (see the module documentation)."""

    @abc.abstractmethod
    async def send(self, request: HTTPRequest) -> HTTPResponse:
        """Send ``request`` once and return the answer, whatever its status."""

    async def aclose(self) -> None:
        """Release connections (default: nothing)."""
        return None


class AiohttpTransport(Transport):
    """The default transport: one aiohttp session, created on first use.

    Args:
        connector_limit: maximum simultaneous connections.
        session: an aiohttp session to use instead of an own one; it is not closed by
            :meth:`aclose`. Redirects are not followed and the size cap applies all the same.
    """

    def __init__(
        self, *, connector_limit: int = 100, session: aiohttp.ClientSession | None = None
    ) -> None:
        self.connector_limit = connector_limit
        self._session = session
        self._owned = session is None
        self._closed = False
        self._timeouts: dict[tuple[float, float], aiohttp.ClientTimeout] = {}

    def _open(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosedError("this OzonClient is closed; create a new one")
        import aiohttp

        connector = aiohttp.TCPConnector(
            limit=self.connector_limit, limit_per_host=self.connector_limit, ttl_dns_cache=300
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=True,
            raise_for_status=False,
            skip_auto_headers=("User-Agent",),
        )
        return self._session

    def _timeout(self, total: float, connect: float) -> aiohttp.ClientTimeout:
        key = (total, connect)
        t = self._timeouts.get(key)
        if t is None:
            import aiohttp

            if len(self._timeouts) > 64:
                self._timeouts.clear()
            t = self._timeouts[key] = aiohttp.ClientTimeout(
                total=total, sock_connect=min(connect, total)
            )
        return t

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        if self._closed:
            raise ClientClosedError("this OzonClient is closed; create a new one")
        session = self._session or self._open()
        method, path = request.method, request.path
        limit = request.max_response_bytes
        timeout = self._timeouts.get((request.timeout, request.connect_timeout))
        if timeout is None:
            timeout = self._timeout(request.timeout, request.connect_timeout)
        try:
            async with session.request(
                method,
                request.url,
                data=request.content,
                headers=request.headers,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                status = resp.status
                length = resp.content_length
                encoded = "Content-Encoding" in resp.headers
                if length is not None and not encoded:
                    if length > limit:
                        resp.close()
                        raise ResponseTooLargeError(
                            limit=limit, status=status, method=method, path=path
                        )
                    content = await resp.read()
                else:
                    content = await _read_capped(resp, limit, method, path)
                return HTTPResponse._wrap(status, resp.headers, content)
        except OzonError:
            raise
        except Exception as exc:
            raise _failure(exc, request, session.closed) from exc

    async def aclose(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and self._owned:
            await session.close()


def _failure(exc: Exception, request: HTTPRequest, session_closed: bool) -> Exception:
    """The error to raise for what aiohttp raised (the modules are imported here, not per call:
    this runs only when an attempt fails)."""
    import asyncio

    import aiohttp

    method, path = request.method, request.path
    if isinstance(exc, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)):
        # The connection could not be made: the server never saw the request.
        import re

        text = _describe(exc)
        if not str(request.url).startswith("https:"):
            # aiohttp names its TLS setting ("ssl:default") even for a plain http connection
            text = re.sub(r" ssl:\S+", "", text)
        return APIConnectionError(f"cannot connect: {text}", method=method, path=path, sent=False)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return APITimeoutError(
            f"no answer within {request.timeout:g} s", method=method, path=path, sent=True
        )
    if isinstance(exc, (aiohttp.ClientError, OSError, ValueError)):
        return APIConnectionError(_describe(exc), method=method, path=path, sent=True)
    if isinstance(exc, RuntimeError):
        if session_closed:
            return ClientClosedError("the aiohttp session of this client is closed")
        return APIConnectionError(_describe(exc), method=method, path=path, sent=True)
    raise exc


async def _read_capped(resp: aiohttp.ClientResponse, limit: int, method: str, path: str) -> bytes:
    """The body (decompressed), read in chunks and refused once it exceeds ``limit``."""
    stream = resp.content
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await stream.readany()
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            resp.close()
            raise ResponseTooLargeError(limit=limit, status=resp.status, method=method, path=path)
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


Handler = Callable[[HTTPRequest], "HTTPResponse | Awaitable[HTTPResponse]"]


class MockTransport(Transport):
    """Answers every request with ``handler(request)`` (a function or a coroutine function),
    without any network. The handler may raise :class:`APIConnectionError` (with ``sent=``) or
    :class:`APITimeoutError` to play a network failure.

    ``requests`` keeps every request sent, in order. The size cap applies as on the wire.
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[HTTPRequest] = []
        self.closed = False

    async def send(self, request: HTTPRequest) -> HTTPResponse:
        if self.closed:
            raise ClientClosedError("this OzonClient is closed; create a new one")
        self.requests.append(request)
        import inspect  # loaded already: asyncio imports it

        result = self.handler(request)
        if inspect.isawaitable(result):
            result = await result
        if not isinstance(result, HTTPResponse):
            raise TypeError(f"the handler returned {type(result).__name__}, not an HTTPResponse")
        if len(result.content) > request.max_response_bytes:
            raise ResponseTooLargeError(
                limit=request.max_response_bytes,
                status=result.status,
                method=request.method,
                path=request.path,
            )
        return result

    async def aclose(self) -> None:
        self.closed = True
