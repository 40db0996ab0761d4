"""OzonClient: credentials, one HTTP session, rate limits, retries and error mapping."""

from __future__ import annotations

import logging
import os
import platform
import random
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, overload

import msgspec

from ozon_async._clock import SYSTEM_CLOCK, Clock
from ozon_async._codec import encode_json
from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CircuitOpenError,
    ConfigurationError,
    RateLimitError,
    status_error_class,
)
from ozon_async._operation import Operation
from ozon_async._ratelimit import DEFAULT_LIMITER, RateLimiter
from ozon_async._response import APIResponse
from ozon_async._retry import Backoff, is_circuit_open, parse_retry_after
from ozon_async._version import __version__
from ozon_async.resources import Resources

if TYPE_CHECKING:
    import aiohttp

    from ozon_async._download import Progress
    from ozon_async.redis_limiter import RedisRateLimiter

logger = logging.getLogger("ozon_async")

DEFAULT_BASE_URL = "https://api-seller.ozon.ru"
_UNSET: Any = object()


@dataclass(frozen=True)
class ClientConfig:
    """Settings of a client; :meth:`OzonClient.with_options` derives new ones."""

    base_url: str
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_retries: int = 3
    rate_limit: float | None = 50.0
    circuit_open_wait: float = 120.0
    max_retry_wait: float = 120.0
    backoff: Backoff = field(default_factory=Backoff)
    headers: Mapping[str, str] = field(default_factory=dict)


class _Session:
    """The aiohttp session shared by a client and the views made by ``with_options``."""

    def __init__(
        self,
        connector_limit: int,
        session: aiohttp.ClientSession | None,
        timeout: tuple[float, float],
    ) -> None:
        self.connector_limit = connector_limit
        self.session = session
        self.owned = session is None
        self.closed = False
        #: (total, connect) seconds the session applies when a call does not say otherwise
        self.timeout = timeout if session is None else (-1.0, -1.0)

    def get(self) -> aiohttp.ClientSession:
        if self.closed:
            raise RuntimeError("this OzonClient is closed")
        if self.session is None:
            import aiohttp

            connector = aiohttp.TCPConnector(
                limit=self.connector_limit,
                limit_per_host=self.connector_limit,
                ttl_dns_cache=300,
            )
            total, connect = self.timeout
            self.session = aiohttp.ClientSession(
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=total, sock_connect=min(connect, total)),
                auto_decompress=True,
                raise_for_status=False,
                skip_auto_headers=("User-Agent",),
            )
        return self.session

    async def close(self) -> None:
        self.closed = True
        if self.session is not None and self.owned:
            await self.session.close()
        self.session = None


class _Raw:
    __slots__ = ("attempts", "content", "elapsed", "headers", "status")

    def __init__(
        self, status: int, headers: Mapping[str, str], content: bytes, elapsed: float, attempts: int
    ) -> None:
        self.status = status
        self.headers = headers
        self.content = content
        self.elapsed = elapsed
        self.attempts = attempts


class _NotSent(Exception):
    """The request never reached the server (the connection could not be made)."""


class OzonClient(Resources):
    """Async client of the Ozon Seller API.

    Use it as an async context manager (or call :meth:`aclose`)::

        async with OzonClient(client_id="123456", api_key="...") as client:
            warehouses = await client.warehouse.list_v2(limit=100)

    Args:
        client_id: the seller's Client-Id; defaults to the ``OZON_CLIENT_ID`` environment variable.
        api_key: the API key; defaults to ``OZON_API_KEY``. It is never logged or shown.
        base_url: defaults to ``OZON_BASE_URL``, else ``https://api-seller.ozon.ru``.
        timeout: seconds for a whole attempt (connect, send, read); per call with ``timeout=``.
        connect_timeout: seconds to establish a connection.
        max_retries: how many times a request may be resent; per call with ``max_retries=``.
        rate_limit: requests per second for this Client-Id across all methods (Ozon allows 50);
            ``None`` turns client-side pacing off. Per-method limits from the spec always apply.
        limiter: where rate limits are kept; by default one in-process limiter shared by every
            client of the process, so clients with the same Client-Id share one budget.
        circuit_open_wait: seconds to wait when Ozon's breaker for a method is open ("Circle is
            open") before trying again; ``0`` raises :class:`CircuitOpenError` at once.
        max_retry_wait: the longest ``Retry-After`` the client waits out; longer ones raise
            :class:`RateLimitError` with ``retry_after`` set.
        connector_limit: maximum simultaneous connections.
        headers: extra headers sent with every request.
        session: an aiohttp session to use instead of the client's own (not closed by the client).
        clock: time source for pacing and backoff (tests pass a virtual clock).
    """

    def __init__(
        self,
        client_id: str | int | None = None,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        rate_limit: float | None = 50.0,
        limiter: RateLimiter | None = None,
        circuit_open_wait: float = 120.0,
        max_retry_wait: float = 120.0,
        connector_limit: int = 100,
        headers: Mapping[str, str] | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
    ) -> None:
        cid = client_id if client_id is not None else os.environ.get("OZON_CLIENT_ID")
        key = api_key if api_key is not None else os.environ.get("OZON_API_KEY")
        if cid is None or str(cid).strip() == "":
            raise ConfigurationError(
                "no Client-Id: pass client_id= or set the OZON_CLIENT_ID environment variable"
            )
        if key is None or key.strip() == "":
            raise ConfigurationError(
                "no API key: pass api_key= or set the OZON_API_KEY environment variable"
            )
        url = base_url or os.environ.get("OZON_BASE_URL") or DEFAULT_BASE_URL
        if max_retries < 0:
            raise ConfigurationError("max_retries must be 0 or more")
        if rate_limit is not None and rate_limit <= 0:
            raise ConfigurationError("rate_limit must be positive (or None to turn pacing off)")
        self._client_id = str(cid).strip()
        self._api_key = key.strip()
        self._config = ClientConfig(
            base_url=url.rstrip("/"),
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            circuit_open_wait=circuit_open_wait,
            max_retry_wait=max_retry_wait,
            headers=dict(headers or {}),
        )
        self._own_limiter: RedisRateLimiter | None = None
        if limiter is None and os.environ.get("OZON_RATE_LIMIT_REDIS_URL", "").strip():
            from ozon_async.redis_limiter import RedisRateLimiter  # one budget for every worker

            limiter = self._own_limiter = RedisRateLimiter.from_env()
        self._limiter = limiter or DEFAULT_LIMITER
        self._clock = clock or SYSTEM_CLOCK
        self._session = _Session(connector_limit, session, (timeout, connect_timeout))
        self._is_view = False
        self._random = random.Random()
        self._build_headers()

    # ------------------------------------------------------------------ identity
    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def config(self) -> ClientConfig:
        return self._config

    def __repr__(self) -> str:
        return f"OzonClient(client_id={self._client_id!r}, base_url={self._config.base_url!r})"

    def _build_headers(self) -> None:
        import sys

        ua = (
            f"ozon_async/{__version__} (Python {sys.version_info.major}.{sys.version_info.minor}; "
            f"{platform.system()})"
        )
        self._headers = {
            "Client-Id": self._client_id,
            "Api-Key": self._api_key,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": ua,
            **self._config.headers,
        }

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> OzonClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session. Views made by :meth:`with_options` share it and do nothing."""
        if not self._is_view:
            await self._session.close()
            if self._own_limiter is not None:
                await self._own_limiter.aclose()

    def with_options(
        self,
        *,
        timeout: float = _UNSET,
        connect_timeout: float = _UNSET,
        max_retries: int = _UNSET,
        rate_limit: float | None = _UNSET,
        circuit_open_wait: float = _UNSET,
        max_retry_wait: float = _UNSET,
        headers: Mapping[str, str] = _UNSET,
    ) -> OzonClient:
        """A view of this client with other settings, sharing its session, credentials and rate
        limits. For example ``client.with_options(circuit_open_wait=0)`` fails fast on an open
        breaker; ``client.with_options(max_retries=0)`` never retries."""
        cfg = self._config
        new_config = replace(
            cfg,
            timeout=cfg.timeout if timeout is _UNSET else timeout,
            connect_timeout=cfg.connect_timeout if connect_timeout is _UNSET else connect_timeout,
            max_retries=cfg.max_retries if max_retries is _UNSET else max_retries,
            rate_limit=cfg.rate_limit if rate_limit is _UNSET else rate_limit,
            circuit_open_wait=cfg.circuit_open_wait
            if circuit_open_wait is _UNSET
            else circuit_open_wait,
            max_retry_wait=cfg.max_retry_wait if max_retry_wait is _UNSET else max_retry_wait,
            headers=cfg.headers if headers is _UNSET else {**cfg.headers, **headers},
        )
        view: OzonClient = object.__new__(type(self))
        view._client_id = self._client_id
        view._api_key = self._api_key
        view._config = new_config
        view._limiter = self._limiter
        view._clock = self._clock
        view._session = self._session
        view._is_view = True
        view._random = self._random
        view._build_headers()
        return view

    # ------------------------------------------------------------------ raw access
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        extra_headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> APIResponse:
        """Send any request through the same auth, limits, retries and errors.

        ``json`` may be plain objects or models. Operations known to the spec keep their safety and
        rate limits; unknown paths are treated as writes unless ``idempotent=True``. The answer is
        an :class:`APIResponse`: ``.status``, ``.headers``, ``.json()``, ``.parse(Type)``.
        """
        from ozon_async.resources._registry import OPERATIONS

        method = method.upper()
        op = OPERATIONS.get(f"{method} {path}")
        body = content if content is not None else (encode_json(json) if json is not None else None)
        raw = await self._send(
            method,
            path,
            body,
            op=op,
            timeout=timeout,
            max_retries=max_retries,
            extra_headers=extra_headers,
            idempotent=idempotent,
        )
        return APIResponse(
            status=raw.status,
            headers=raw.headers,
            content=raw.content,
            method=method,
            path=path,
            elapsed=raw.elapsed,
            attempts=raw.attempts,
        )

    # ------------------------------------------------------------------ the pipeline
    async def _acquire(self, op: Operation | None) -> None:
        limiter = self._limiter
        if op is not None and op.rate_limit is not None:
            rl = op.rate_limit
            await limiter.acquire(f"{self._client_id} {op.path}", rl.requests, rl.period)
        rate = self._config.rate_limit
        if rate is not None:
            await limiter.acquire(self._client_id, rate, 1.0)

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        *,
        op: Operation | None,
        timeout: float | None,
        max_retries: int | None,
        extra_headers: Mapping[str, str] | None,
        idempotent: bool | None,
    ) -> _Raw:
        cfg = self._config
        retries = cfg.max_retries if max_retries is None else max_retries
        may_resend = (op is not None and op.safe) if idempotent is None else idempotent
        attempt = 0
        must_wait = self._config.rate_limit is not None or (
            op is not None and op.rate_limit is not None
        )
        while True:
            if must_wait:
                await self._acquire(op)
            try:
                raw = await self._attempt(method, path, body, timeout, extra_headers, attempt)
            except (_NotSent, APIConnectionError) as exc:
                # Resend when the request provably never left, or when resending is harmless.
                failure: APIConnectionError
                if isinstance(exc, _NotSent):
                    cause = exc.__cause__ or exc
                    failure = APIConnectionError(str(cause), method=method, path=path, sent=False)
                    failure.__cause__ = cause
                    why, resend = "connect error", True
                else:
                    failure = exc
                    why = "timeout" if isinstance(exc, APITimeoutError) else "connection lost"
                    resend = may_resend
                if resend and attempt < retries:
                    await self._wait(
                        cfg.backoff.delay(attempt, self._random), method, path, attempt, why
                    )
                    attempt += 1
                    continue
                raise failure from failure.__cause__
            status = raw.status
            if 200 <= status < 300:
                raw.attempts = attempt + 1
                return raw
            error = _status_error(raw, method, path)
            retry_after = parse_retry_after(raw.headers)
            if is_circuit_open(error.message):
                error = _as(CircuitOpenError, error)
                error.retry_after = retry_after
                wait = retry_after if retry_after is not None else cfg.circuit_open_wait
                if cfg.circuit_open_wait <= 0 or attempt >= retries:
                    raise error
                await self._wait(wait, method, path, attempt, "breaker open", level=logging.WARNING)
                attempt += 1
                continue
            if status == 429:
                assert isinstance(error, RateLimitError)
                error.retry_after = retry_after
                wait = (
                    retry_after
                    if retry_after is not None
                    else cfg.backoff.delay(attempt, self._random)
                )
                if attempt >= retries or wait > cfg.max_retry_wait:
                    raise error
                await self._wait(
                    wait, method, path, attempt, "429 rate limited", level=logging.INFO
                )
                attempt += 1
                continue
            if (status >= 500 or status == 408) and may_resend and attempt < retries:
                wait = (
                    retry_after
                    if retry_after is not None
                    else cfg.backoff.delay(attempt, self._random)
                )
                if wait <= cfg.max_retry_wait:
                    await self._wait(wait, method, path, attempt, f"{status}")
                    attempt += 1
                    continue
            raise error

    async def _wait(
        self,
        seconds: float,
        method: str,
        path: str,
        attempt: int,
        why: str,
        level: int = logging.INFO,
    ) -> None:
        if logger.isEnabledFor(level):
            logger.log(
                level,
                "%s %s: %s; retrying in %.2f s (attempt %d)",
                method,
                path,
                why,
                seconds,
                attempt + 2,
            )
        await self._clock.sleep(seconds)

    async def _attempt(
        self,
        method: str,
        path: str,
        body: bytes | None,
        timeout: float | None,
        extra_headers: Mapping[str, str] | None,
        attempt: int,
    ) -> _Raw:
        import asyncio

        import aiohttp

        cfg = self._config
        shared = self._session
        session = shared.get()
        headers = self._headers if not extra_headers else {**self._headers, **extra_headers}
        total = cfg.timeout if timeout is None else timeout
        options: dict[str, Any] = {}  # empty: the session's default timeout applies
        if (total, cfg.connect_timeout) != shared.timeout:
            options["timeout"] = aiohttp.ClientTimeout(
                total=total, sock_connect=min(cfg.connect_timeout, total)
            )
        url = cfg.base_url + path
        started = self._clock.now()
        try:
            async with session.request(method, url, data=body, headers=headers, **options) as resp:
                content = await resp.read()
                status = resp.status
                resp_headers = resp.headers
        except aiohttp.ClientConnectorError as exc:
            raise _NotSent() from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise _NotSent() from exc
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise APITimeoutError(
                f"no answer within {total:g} s", method=method, path=path, sent=True
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise APIConnectionError(
                f"{type(exc).__name__}: {exc}", method=method, path=path, sent=True
            ) from exc
        elapsed = self._clock.now() - started
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (attempt %d, %.3f s, trace %s)",
                method,
                path,
                status,
                attempt + 1,
                elapsed,
                resp_headers.get("x-o3-trace-id", "-"),
            )
        return _Raw(status, resp_headers, content, elapsed, attempt + 1)

    # ------------------------------------------------------------------ files (ozon_async/_download.py)
    @overload
    async def download(
        self,
        url: str,
        *,
        path: None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_size: int | None = None,
    ) -> bytes: ...

    @overload
    async def download(
        self,
        url: str,
        *,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_size: int | None = None,
    ) -> Path: ...

    async def download(
        self,
        url: str,
        *,
        path: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_size: int | None = None,
    ) -> bytes | Path:
        """Download a file Ozon links to (a report or label URL): to ``path``, or as bytes.

        The request carries no Ozon credentials (``Client-Id``, ``Api-Key``, ``Authorization``)
        and none of the client's headers or cookies, whatever the host. It follows the client's
        timeouts and retries (downloads are reads) and stops past ``max_size`` bytes (1 GiB by
        default). ``progress(received, total)`` is called as data arrives (``total`` is ``None``
        when the server does not announce it); it may be a coroutine function. A file is written
        to ``<path>.part`` and renamed when complete.
        """
        from ozon_async._download import download

        return await download(
            self,
            url,
            path=path,
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
            max_size=max_size,
        )


def _as(cls: type[APIStatusError], error: APIStatusError) -> Any:
    new = cls(
        error.message,
        status=error.status,
        code=error.code,
        details=error.details,
        body=error.body,
        trace_id=error.trace_id,
        method=error.method,
        path=error.path,
        headers=error.headers,
    )
    return new


def _status_error(raw: _Raw, method: str, path: str) -> APIStatusError:
    """Map an error answer to its exception; HTML, text and empty bodies keep their text."""
    code: int | str | None = None
    message = ""
    details: list[Any] = []
    data: Any = None
    if raw.content:
        try:
            data = msgspec.json.decode(raw.content)
        except msgspec.DecodeError:
            data = None
    if isinstance(data, dict):
        c = data.get("code")
        code = c if isinstance(c, (int, str)) else None
        m = data.get("message") or data.get("error") or ""
        message = m if isinstance(m, str) else str(m)
        d = data.get("details")
        details = d if isinstance(d, list) else []
    if not message:
        message = raw.content.decode("utf-8", errors="replace").strip()[:4000]
    cls = status_error_class(raw.status)
    return cls(
        message,
        status=raw.status,
        code=code,
        details=details,
        body=raw.content,
        trace_id=raw.headers.get("x-o3-trace-id"),
        method=method,
        path=path,
        headers=raw.headers,
    )
