"""OzonClient: the client a user holds; its credentials, settings, views and raw access.

:class:`BaseClient` is what every API client of the package shares; :class:`OzonClient` is it
with the Seller API's credentials and operations (the Performance API's client is in
:mod:`ozon_async.performance`). What a call goes through (options, auth, rate-limit slot,
transport, answer, retry decision) is the client's :class:`~ozon_async._runtime.Runtime`,
``client.runtime``; settings live in :mod:`ozon_async._config`, the wire in
:mod:`ozon_async._transport`, pacing in :mod:`ozon_async._ratelimit`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, overload

from ozon_async._auth import Auth, TokenProvider, resolve_auth
from ozon_async._clock import SYSTEM_CLOCK, Clock
from ozon_async._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientConfig,
)
from ozon_async._exceptions import (
    ClientClosedError,
    ConfigurationError,
    RequestValidationError,
)
from ozon_async._hooks import EventHook, check_event_hooks, merge_event_hooks
from ozon_async._operation import Operation, OperationRegistry
from ozon_async._options import CallOptions
from ozon_async._ratelimit import DEFAULT_LIMITER, RateLimiter
from ozon_async._response import RAW_CAPTURE, APIResponse, Capture
from ozon_async._runtime import Runtime, Shared
from ozon_async._transport import AiohttpTransport, Transport
from ozon_async.resources import Resources

if TYPE_CHECKING:
    from pathlib import Path

    import aiohttp
    from typing_extensions import Self, Unpack

    from ozon_async._download import Progress
    from ozon_async._hooks import Hooks
    from ozon_async._operation import ExportRules, RateLimit

__all__ = ["OPERATIONS", "BaseClient", "ClientConfig", "OzonClient"]


def _seller_operations() -> Mapping[str, Operation]:
    from ozon_async.resources._registry import OPERATIONS

    return OPERATIONS


#: Every operation of the Ozon Seller API the SDK knows, keyed by ``"METHOD /path"``.
OPERATIONS: Mapping[str, Operation] = OperationRegistry(_seller_operations)

P = ParamSpec("P")
T = TypeVar("T")
_UNSET: Any = object()


class BaseClient:
    """What every API client of the package shares: settings, credentials, the transport, rate
    limits, retries, event hooks, raw access and file downloads. :class:`OzonClient` (the Seller
    API) and :class:`~ozon_async.performance.OzonPerformanceClient` (the Performance API) are it
    with their API's credentials and generated operations.

    Attributes:
        runtime: what every call goes through (:class:`~ozon_async._runtime.Runtime`); the
            SDK's helpers (bulk writes, tasks, downloads, exports) use the client through it.
    """

    #: The operations of the client's API, keyed by ``"METHOD /path"``.
    _OPERATIONS: ClassVar[Mapping[str, Operation]] = OPERATIONS
    #: The API's daily request budget (``x-ozon-daily-budget``), if it has one.
    _budget: ClassVar[RateLimit | None] = None
    #: The API's export rules (``x-ozon-export-rules``), if it has any.
    _export_rules: ClassVar[ExportRules | None] = None

    _auth: Auth
    _config: ClientConfig
    _shared: Shared
    _clock: Clock
    _is_view: bool
    runtime: Runtime

    def _setup(
        self,
        *,
        transport: Transport | None,
        session: aiohttp.ClientSession | None,
        limiter: RateLimiter | None,
        connector_limit: int,
        clock: Clock | None,
    ) -> None:
        """Check the runtime's arguments and build it (``_auth`` and ``_config`` are set)."""
        if transport is not None and session is not None:
            raise ConfigurationError("pass either transport= or session=, not both")
        if transport is not None and not isinstance(transport, Transport):
            raise ConfigurationError("transport must be an ozon_async.Transport")
        if limiter is not None and not isinstance(limiter, RateLimiter):
            raise ConfigurationError("limiter must be an ozon_async.RateLimiter")
        if isinstance(connector_limit, bool) or not isinstance(connector_limit, int):
            raise ConfigurationError("connector_limit must be an integer")
        if connector_limit < 1:
            raise ConfigurationError("connector_limit must be at least 1")
        own_limiter: RateLimiter | None = None
        if limiter is None and os.environ.get("OZON_RATE_LIMIT_REDIS_URL", "").strip():
            from ozon_async.redis_limiter import RedisRateLimiter  # one budget for every worker

            limiter = own_limiter = RedisRateLimiter.from_env()
        self._shared = Shared(
            transport or AiohttpTransport(connector_limit=connector_limit, session=session),
            limiter or DEFAULT_LIMITER,
            own_limiter,
        )
        self._clock = clock or SYSTEM_CLOCK
        self._is_view = False
        self._apply_config()

    def _apply_config(self) -> None:
        """Make the runtime of the credentials and settings (once, not per call)."""
        self.runtime = Runtime(
            type(self).__name__,
            self._auth,
            self._config,
            self._shared,
            self._clock,
            operations=self._OPERATIONS,
            budget=self._budget,
            export_rules=self._export_rules,
        )

    @property
    def _headers(self) -> dict[str, str]:
        """The headers of every request (credentials included)."""
        return self.runtime.headers

    @property
    def _hooks(self) -> Hooks | None:
        """The event hooks by kind; ``None`` when the client has none."""
        return self.runtime.hooks

    # ------------------------------------------------------------------ identity
    @property
    def client_id(self) -> str | None:
        """The Client-Id; ``None`` for a client with an access token made without one."""
        return self._auth.client_id

    @property
    def rate_limit_key(self) -> str | None:
        """The key this client's rate limits are kept under: the Client-Id, or for an access
        token given without ``client_id`` a hash of the token (with a ``token_provider``, of
        the last token it gave: ``None`` before the first request)."""
        return self._auth.rate_key

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def config(self) -> ClientConfig:
        """The settings in force (validated; see :class:`ClientConfig`)."""
        return self._config

    @property
    def transport(self) -> Transport:
        return self._shared.transport

    @property
    def limiter(self) -> RateLimiter:
        return self._shared.limiter

    @property
    def closed(self) -> bool:
        return self._shared.closed

    def __repr__(self) -> str:
        auth = self._auth
        if auth.mode == "api_key":
            return (
                f"{type(self).__name__}(client_id={auth.client_id!r}, "
                f"base_url={self._config.base_url!r})"
            )
        return (
            f"{type(self).__name__}(auth={auth.mode!r}, client_id={auth.client_id!r}, "
            f"base_url={self._config.base_url!r})"
        )

    if not TYPE_CHECKING:  # type checkers keep refusing unknown names themselves

        def __getattr__(self, name: str) -> Any:
            # Only reached when the attribute does not exist: suggest a group or method with a
            # close name (``client.prodcut`` -> ``client.product``).
            if name.startswith("_"):
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            from functools import cached_property

            from ozon_async._suggest import client_attribute_error

            cls = type(self)
            groups = {
                n for c in cls.__mro__ for n, v in vars(c).items() if isinstance(v, cached_property)
            }
            raise client_attribute_error(cls.__name__, name, groups, cls._OPERATIONS.values())

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Self:
        if self._shared.closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the transport (and a limiter the client made itself, from
        ``OZON_RATE_LIMIT_REDIS_URL``); later calls raise :class:`ClientClosedError`. Views made
        by :meth:`with_options` share them and do nothing here."""
        if self._is_view or self._shared.closed:
            return
        self._shared.closed = True
        await self._shared.transport.aclose()
        if self._shared.own_limiter is not None:
            await self._shared.own_limiter.aclose()

    def with_options(
        self,
        *,
        timeout: float = _UNSET,
        connect_timeout: float = _UNSET,
        max_retries: int = _UNSET,
        rate_limit: float | None = _UNSET,
        circuit_open_wait: float = _UNSET,
        max_retry_wait: float = _UNSET,
        max_response_bytes: int = _UNSET,
        headers: Mapping[str, str] = _UNSET,
        event_hooks: Mapping[str, EventHook | list[EventHook] | tuple[EventHook, ...]]
        | None = _UNSET,
    ) -> Self:
        """A view of this client with other settings, sharing its transport, credentials and
        rate limits. For example ``client.with_options(circuit_open_wait=0)`` fails fast on an
        open breaker; ``client.with_options(max_retries=0)`` never retries. The new settings are
        checked like the constructor's (:class:`ConfigurationError`).

        ``headers`` are added to the client's; so are ``event_hooks`` (run after the client's
        own), and ``event_hooks=None`` gives a view without any."""
        given = {
            "timeout": timeout,
            "connect_timeout": connect_timeout,
            "max_retries": max_retries,
            "rate_limit": rate_limit,
            "circuit_open_wait": circuit_open_wait,
            "max_retry_wait": max_retry_wait,
            "max_response_bytes": max_response_bytes,
        }
        changes: dict[str, Any] = {k: v for k, v in given.items() if v is not _UNSET}
        if headers is not _UNSET:
            if not isinstance(headers, Mapping):
                raise ConfigurationError("headers must be a mapping of names to values")
            changes["headers"] = {**self._config.headers, **headers}
        if event_hooks is None:
            changes["event_hooks"] = {}
        elif event_hooks is not _UNSET:
            added = check_event_hooks(event_hooks)
            changes["event_hooks"] = merge_event_hooks(self._config.event_hooks, added)
        return self._view(self._auth, self._config.replace(**changes))

    def _view(self, auth: Auth, config: ClientConfig) -> Self:
        """A client sharing this one's transport, limiter and clock, with ``auth`` and
        ``config`` (views are not closed by :meth:`aclose`)."""
        view: Self = object.__new__(type(self))
        view._auth = auth
        view._config = config
        view._shared = self._shared
        view._clock = self._clock
        view._is_view = True
        view._apply_config()
        return view

    # ------------------------------------------------------------------ raw access
    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> APIResponse[Any]:
        """Send any request through the same auth, limits, retries and errors.

        ``json`` may be plain objects or models (or pass ready ``content`` bytes); ``params`` go
        into the query string (a list repeats its name, dates are ISO 8601). Operations
        known to the spec keep their safety and rate limits; unknown paths are treated as writes
        unless ``idempotent=True``. Per-call options are those of typed methods (``timeout``,
        ``max_retries``, ``extra_headers``, ``idempotent``). The answer is an
        :class:`APIResponse`: ``.status``, ``.headers``, ``.json()``, ``.parse(Type)``.
        """
        from ozon_async._codec import encode_json
        from ozon_async._options import OPTION_NAMES

        method = method.upper() if isinstance(method, str) else method
        if not isinstance(method, str) or not re.fullmatch(r"[A-Z]+", method):
            raise RequestValidationError(f"method {method!r} is not an HTTP method")
        if not isinstance(path, str) or not re.fullmatch(r"/[^\s?#]*", path):
            raise RequestValidationError(
                f"path {path!r} must start with / and hold no spaces, query or fragment"
            )
        unknown = set(options) - OPTION_NAMES
        if unknown:
            raise TypeError(f"request() got unexpected keyword arguments: {sorted(unknown)}")
        if json is not None and content is not None:
            raise RequestValidationError("pass json= or content=, not both")
        if options.get("extra_body"):
            raise RequestValidationError("request() takes the whole body as json=; no extra_body")
        op = self._OPERATIONS.get(f"{method} {path}")
        body = content if content is not None else (encode_json(json) if json is not None else None)
        target = path
        if params:
            from ozon_async._request import encode_query

            query = encode_query(params)
            if query:
                target = f"{path}?{query}"
        resp: APIResponse[Any] = await self.runtime.send(method, target, body, op, options)
        return resp

    async def raw(
        self, method: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs
    ) -> APIResponse[T]:
        """Call a typed method and return its :class:`APIResponse` (status, headers,
        ``trace_id``, ``attempts``, ``.parse()`` for the model) instead of the decoded model::

            resp = await client.raw(client.posting.fbs_list_v4, limit=100, filter=...)
            resp.status, resp.trace_id, resp.attempts
            page = resp.parse()        # PostingFbsListV4Response

        The call is made exactly as without ``raw`` (validation, limits, retries, errors: an
        error status still raises). ``method`` must be one typed method of the SDK.
        """
        capture = Capture()
        token = RAW_CAPTURE.set(capture)
        try:
            result: Any = await method(*args, **kwargs)
        finally:
            RAW_CAPTURE.reset(token)
        if not capture.used or not isinstance(result, APIResponse):
            name = getattr(method, "__name__", repr(method))
            raise TypeError(f"{name} is not a typed method of a {type(self).__name__}")
        return result

    # ------------------------------------------------------------------ files (ozon_async/_download.py)
    @overload
    async def download(
        self,
        url: str,
        *,
        to: None = None,
        path: None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> bytes: ...

    @overload
    async def download(
        self,
        url: str,
        *,
        to: str | os.PathLike[str],
        path: None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> Path: ...

    @overload
    async def download(
        self,
        url: str,
        *,
        to: None = None,
        path: str | os.PathLike[str],
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> Path: ...

    async def download(
        self,
        url: str,
        *,
        to: str | os.PathLike[str] | None = None,
        path: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_bytes: int | None = None,
        max_size: int | None = None,
    ) -> bytes | Path:
        """Download a file Ozon links to (a report or label URL): to the file ``to``, or as
        bytes.

        The request carries no Ozon credentials (``Client-Id``, ``Api-Key``, ``Authorization``)
        and none of the client's headers or cookies, whatever the host. It follows the client's
        timeouts and retries (downloads are reads), at most 5 redirects and only to
        ``https://``, and stops past ``max_bytes`` bytes counted after decompression (256 MiB
        into memory, 4 GiB to a file by default). No error shows the URL's query string.
        ``progress(received, total)`` is called as data arrives (``total`` is ``None`` when the
        server does not announce it); it may be a coroutine function. A file is written to
        ``<to>.part`` and renamed when complete. ``path`` and ``max_size`` are the former names
        of ``to`` and ``max_bytes``.
        """
        from ozon_async._download import download

        if path is not None:
            if to is not None:
                raise ValueError("pass to= (path= is its former name), not both")
            to = path
        if max_size is not None:
            if max_bytes is not None:
                raise ValueError("pass max_bytes= (max_size= is its former name), not both")
            max_bytes = max_size
        return await download(
            self.runtime,
            url,
            to=to,
            progress=progress,
            timeout=timeout,
            max_retries=max_retries,
            max_bytes=max_bytes,
        )


class OzonClient(Resources, BaseClient):
    """Async client of the Ozon Seller API.

    Use it as an async context manager (or call :meth:`aclose`)::

        async with OzonClient(client_id="123456", api_key="...") as client:
            warehouses = await client.warehouse.list_v2(limit=100)

    An app of Ozon's app marketplace authenticates with an OAuth access token instead::

        async with OzonClient(access_token="...") as client: ...

    Args:
        client_id: the seller's Client-Id; defaults to the ``OZON_CLIENT_ID`` environment variable.
            With an access token it is optional and only keys the rate limits.
        api_key: the API key; defaults to ``OZON_API_KEY``. It is never logged or shown, and is
            sent only to ``base_url`` (redirects are never followed).
        access_token: an OAuth access token, sent as ``Authorization: Bearer <token>`` instead of
            ``Client-Id`` and ``Api-Key``; kept out of logs, reprs, errors and hook events like
            the key. Defaults to ``OZON_ACCESS_TOKEN`` when no API key is given or set. Rate
            limits are kept per ``client_id`` when given, else per hash of the token.
        token_provider: instead of a fixed token, a function or coroutine function returning the
            current token, called before each attempt (it should return its cached token and
            renew it when it expires). After a 401 it is called once more (a provider that takes
            an argument is given the refused token then, and ``None`` otherwise) and, if the
            token changed, the request is resent once with the new one.
        base_url: defaults to ``OZON_BASE_URL``, else ``https://api-seller.ozon.ru``. Plain
            ``http://`` is refused unless the host is loopback or ``allow_insecure=True``.
        timeout: seconds for a whole attempt (connect, send, read); per call with ``timeout=``.
        connect_timeout: seconds to establish a connection.
        max_retries: how many times a request may be resent; per call with ``max_retries=``.
        rate_limit: requests per second for this Client-Id across all methods (Ozon allows 50);
            ``None`` turns client-side pacing off. Per-method limits from the spec always apply.
        limiter: where rate limits are kept; by default one in-process limiter shared by every
            client of the process, so clients with the same Client-Id share one budget.
        circuit_open_wait: seconds to wait when Ozon's breaker for a method is open ("Circle is
            open") and Ozon does not say how long; ``0`` raises :class:`CircuitOpenError` at once.
        max_retry_wait: the longest wait before a resend (``Retry-After``, breaker, backoff);
            when a longer one would be needed, the error is raised at once and says so.
        max_response_bytes: the largest answer accepted, counted after decompression (default
            64 MiB); a larger one raises :class:`ResponseTooLargeError`.
        allow_insecure: allow a plain ``http://`` base URL to a host that is not loopback.
        connector_limit: maximum simultaneous connections (of the default transport).
        headers: extra headers sent with every request.
        transport: how attempts go over the wire (default :class:`AiohttpTransport`; tests pass
            a :class:`MockTransport`). The client closes it in :meth:`aclose`.
        session: an aiohttp session for the default transport (not closed by the client).
        clock: time source for pacing and backoff (tests pass a virtual clock).
        event_hooks: functions called as the client works, by event: ``{"request": [...],
            "response": [...], "retry": [...], "end": [...]}``, each with a
            :class:`~ozon_async.HookEvent` (no headers, so no key or token). Sync or async; one
            that raises is logged at WARNING and ignored. See :mod:`ozon_async.otel` for
            OpenTelemetry.

    Raises:
        ConfigurationError: a missing credential or an invalid setting, named.
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
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure: bool = False,
        connector_limit: int = 100,
        headers: Mapping[str, str] | None = None,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
        clock: Clock | None = None,
        access_token: str | None = None,
        token_provider: TokenProvider | None = None,
        event_hooks: Mapping[str, EventHook | list[EventHook] | tuple[EventHook, ...]]
        | None = None,
    ) -> None:
        self._auth: Auth = resolve_auth(
            client_id, api_key, access_token, token_provider, os.environ
        )
        self._config = ClientConfig(
            base_url=base_url or os.environ.get("OZON_BASE_URL") or DEFAULT_BASE_URL,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            rate_limit=rate_limit,
            circuit_open_wait=circuit_open_wait,
            max_retry_wait=max_retry_wait,
            max_response_bytes=max_response_bytes,
            allow_insecure=allow_insecure,
            headers=headers or {},
            event_hooks=check_event_hooks(event_hooks),
        )
        self._setup(
            transport=transport,
            session=session,
            limiter=limiter,
            connector_limit=connector_limit,
            clock=clock,
        )
