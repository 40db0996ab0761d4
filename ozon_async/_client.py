"""OzonClient: credentials, rate limits, the attempt loop and error mapping.

:class:`BaseClient` is the runtime every API client shares; :class:`OzonClient` is it with the
Seller API's credentials and operations (the Performance API's client is in
:mod:`ozon_async.performance`). One request goes through :meth:`BaseClient._send`: wait for a rate-limit slot, let the transport
make one attempt, and on failure ask :func:`ozon_async._retry.decide` whether to wait and resend
or raise. Everything else lives elsewhere: settings in :mod:`ozon_async._config`, the wire in
:mod:`ozon_async._transport`, pacing in :mod:`ozon_async._ratelimit`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, ParamSpec, TypeVar, overload

from ozon_async._auth import Auth, TokenProvider, resolve_auth
from ozon_async._clock import SYSTEM_CLOCK, Clock
from ozon_async._config import (
    DEFAULT_BASE_URL,
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientConfig,
    check_extra_headers,
)
from ozon_async._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    CircuitOpenError,
    ClientClosedError,
    ConfigurationError,
    OzonError,
    RateLimitError,
    RequestBudgetExhaustedError,
    RequestValidationError,
    ResponseTooLargeError,
    status_error_class,
)
from ozon_async._hooks import EventHook, Hooks, check_event_hooks, merge_event_hooks
from ozon_async._log import DEBUG, INFO, WARNING, get_logger
from ozon_async._operation import Operation, OperationRegistry, Subscription
from ozon_async._options import CallOptions
from ozon_async._ratelimit import DEFAULT_LIMITER, RateLimiter, RateLimitSlot
from ozon_async._response import RAW_CAPTURE, APIResponse, _Capture, captured
from ozon_async._retry import (
    GiveUp,
    Outcome,
    RetryPolicy,
    decide,
    is_circuit_open,
    read_retry_after,
)
from ozon_async._transport import AiohttpTransport, HTTPRequest, HTTPResponse, Transport
from ozon_async._version import __version__
from ozon_async.resources import Resources

if TYPE_CHECKING:
    import random
    from contextlib import AbstractAsyncContextManager
    from pathlib import Path

    import aiohttp
    from typing_extensions import Self, Unpack

    from ozon_async._download import Progress
    from ozon_async._operation import ExportRules, RateLimit

__all__ = ["OPERATIONS", "BaseClient", "ClientConfig", "OzonClient"]


def _seller_operations() -> Mapping[str, Operation]:
    from ozon_async.resources._registry import OPERATIONS

    return OPERATIONS


#: Every operation of the Ozon Seller API the SDK knows, keyed by ``"METHOD /path"``.
OPERATIONS: Mapping[str, Operation] = OperationRegistry(_seller_operations)


def _first_decode(op: Operation, response_type: Any, status: int, content: bytes) -> Any:
    """Import the codec (and msgspec with it) at the first typed answer, not with the package,
    and decode with it from then on."""
    global _decode_answer
    from ozon_async._codec import decode_answer

    _decode_answer = decode_answer
    return decode_answer(op, response_type, status, content)


#: ``ozon_async._codec.decode_answer`` once a typed call has answered.
_decode_answer: Callable[[Operation, Any, int, bytes], Any] = _first_decode

P = ParamSpec("P")
T = TypeVar("T")
_UNSET: Any = object()


class _Shared:
    """What a client and the views made by ``with_options`` share."""

    __slots__ = ("closed", "limiter", "own_limiter", "random", "transport")

    def __init__(
        self, transport: Transport, limiter: RateLimiter, own_limiter: RateLimiter | None = None
    ) -> None:
        self.transport = transport
        self.limiter = limiter
        self.own_limiter = own_limiter  # made by the client, so closed by it
        self.closed = False
        import random  # here, not at import time: it pulls in hashlib

        self.random: random.Random = random.Random()


class BaseClient:
    """The runtime every API client of the package shares: settings, credentials, the transport,
    rate limits, the attempt loop with its retry decisions, event hooks, raw access and file
    downloads. :class:`OzonClient` (the Seller API) and
    :class:`~ozon_async.performance.OzonPerformanceClient` (the Performance API) are this runtime
    with their API's credentials and generated operations.
    """

    #: The module of the generated registry of the client's API (``OPERATIONS``, ``LIMITS``).
    _REGISTRY: ClassVar[str] = "ozon_async.resources._registry"
    #: The API's daily request budget (``x-ozon-daily-budget``), if it has one.
    _budget: ClassVar[RateLimit | None] = None
    #: The API's export rules (``x-ozon-export-rules``), if it has any.
    _export_rules: ClassVar[ExportRules | None] = None

    _auth: Auth
    _config: ClientConfig
    _shared: _Shared
    _clock: Clock
    _is_view: bool

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
        self._shared = _Shared(
            transport or AiohttpTransport(connector_limit=connector_limit, session=session),
            limiter or DEFAULT_LIMITER,
            own_limiter,
        )
        self._clock = clock or SYSTEM_CLOCK
        self._is_view = False
        self._apply_config()

    def _apply_config(self) -> None:
        """Derive what each call reads from the configuration (once, not per call)."""
        import sys

        cfg = self._config
        self._policy: RetryPolicy = cfg.retry_policy
        ua = (
            f"ozon_async/{__version__} (Python {sys.version_info.major}.{sys.version_info.minor}; "
            f"{_system()})"
        )
        self._headers: dict[str, str] = {
            **self._auth.headers(),
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": ua,
            **cfg.headers,
        }
        self._hooks: Hooks | None = Hooks(cfg.event_hooks) if cfg.event_hooks else None

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

    @classmethod
    def _operations(cls) -> Mapping[str, Operation]:
        """The operations of the client's API, keyed by ``"METHOD /path"``."""
        import importlib

        table: Mapping[str, Operation] = importlib.import_module(cls._REGISTRY).OPERATIONS
        return table

    def _task_guard(
        self, op: Operation, fields: Mapping[str, Any]
    ) -> AbstractAsyncContextManager[object]:
        """What ``.and_wait`` holds while its task runs: for an operation that starts an
        export, the account's turn to export (:mod:`ozon_async._exports`); nothing otherwise."""
        if op.export is not None and self._export_rules is not None:
            from ozon_async._exports import export_turn

            return export_turn(self, op, fields)
        import contextlib

        return contextlib.nullcontext()

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
        op = self._operations().get(f"{method} {path}")
        body = content if content is not None else (encode_json(json) if json is not None else None)
        target = path
        if params:
            from ozon_async._request import encode_query

            query = encode_query(params)
            if query:
                target = f"{path}?{query}"
        resp: APIResponse[Any] = await self._send(method, target, body, op, options)
        if op is not None:
            resp._type = op.response_type
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
        capture = _Capture()
        token = RAW_CAPTURE.set(capture)
        try:
            result: Any = await method(*args, **kwargs)
        finally:
            RAW_CAPTURE.reset(token)
        if not capture.used or not isinstance(result, APIResponse):
            name = getattr(method, "__name__", repr(method))
            raise TypeError(f"{name} is not a typed method of a {type(self).__name__}")
        return result

    # ------------------------------------------------------------------ the attempt loop
    async def _rate_limit_key_now(self) -> str:
        """:attr:`rate_limit_key`, asking the token provider for its token when none is known
        yet (the bulk helpers key their per-item rules by it)."""
        key = self._auth.rate_key
        if key is None:
            key = self._auth.key_for(await self._auth.current_token())
        return key

    async def _acquire(self, op: Operation | None, key: str) -> list[RateLimitSlot] | None:
        """Wait for the slots of a request (its method's limit, then the Client-Id's); the
        ones to tell ``answered()`` when its answer comes (None: none). With a daily request
        budget (``x-ozon-daily-budget``) the request is counted first, and refused with
        :class:`RequestBudgetExhaustedError` when the budget is spent."""
        limiter = self._shared.limiter
        budget = self._budget
        if budget is not None and not (op is not None and op.budget_exempt):
            wait = await limiter.acquire_window(
                f"{key} day", budget.requests, budget.period, wait=False
            )
            if wait > 0:
                raise RequestBudgetExhaustedError(
                    f"the daily budget of {budget.requests:,} requests per account is spent; "
                    f"room again in {wait:,.0f} s; nothing was sent",
                    retry_after=wait,
                )
        slots = None
        if op is not None and op.rate_limit is not None:
            rl = op.rate_limit
            slot = await limiter.acquire_slot(f"{key} {op.path}", rl.requests, rl.period)
            if slot is not None:
                slots = [slot]
        rate = self._config.rate_limit
        if rate is not None:
            slot = await limiter.acquire_slot(key, rate, 1.0)
            if slot is not None:
                slots = [slot] if slots is None else [*slots, slot]
        return slots

    async def _send(
        self,
        method: str,
        path: str,
        body: bytes | None,
        op: Operation | None,
        options: CallOptions,
        response_type: type[Any] | None = None,
    ) -> Any:
        """Send a request, resending it as :func:`decide` says, and return the 2xx answer: an
        :class:`APIResponse`, or with ``response_type`` (a typed call of ``op``) the decoded
        model (the :class:`APIResponse` when :meth:`raw` wraps the call). Event hooks, when the
        client has any, are told each step (:mod:`ozon_async._hooks`)."""
        shared = self._shared
        if shared.closed:
            raise ClientClosedError(f"this {type(self).__name__} is closed; create a new one")
        cfg = self._config
        auth = self._auth
        headers = self._headers
        timeout = cfg.timeout
        if options:
            timeout, headers = self._call_options(method, path, options, headers)
        url = cfg.base_url + path
        paced = (
            cfg.rate_limit is not None
            or (op is not None and op.rate_limit is not None)
            or self._budget is not None
        )
        key = auth.rate_key or ""  # with a token provider: set from its token below
        provider = auth.provider
        token: str | None = None  # the provider's token that ``request`` carries
        renewed: str | None = None  # the token the provider gave after a 401
        renewals = 0
        clock = self._clock
        hooks = self._hooks
        events = hooks.call(op, method, path, url, clock) if hooks is not None else None
        request: HTTPRequest | None = None
        slots: list[RateLimitSlot] | None = None  # this attempt's, told when it is answered
        attempt = sent = 0
        try:
            while True:
                attempt += 1
                if provider is not None:
                    fresh = renewed if renewed is not None else await auth.current_token()
                    renewed = None
                    if fresh != token:
                        token, key, request = fresh, auth.key_for(fresh), None
                if request is None:
                    request = HTTPRequest(
                        method,
                        url,
                        path=path,
                        headers=headers
                        if token is None
                        else {**headers, "Authorization": f"Bearer {token}"},
                        content=body,
                        timeout=timeout,
                        connect_timeout=cfg.connect_timeout,
                        max_response_bytes=cfg.max_response_bytes,
                    )
                if events is None:
                    if paced:
                        slots = await self._acquire(op, key)
                else:
                    waited = 0.0
                    if paced:
                        asked = clock.now()
                        slots = await self._acquire(op, key)
                        waited = clock.now() - asked
                    await events.request(attempt, waited)
                if slots is not None:  # the request goes out now, maybe later than granted
                    for slot in slots:
                        slot.sending()
                started = clock.now()
                error: OzonError
                resp = None
                sent = attempt
                try:
                    resp = await shared.transport.send(request)
                except (APIConnectionError, ResponseTooLargeError) as exc:
                    error, outcome = exc, _failure(exc)
                    status = 0
                except OzonError:  # closed client, or a custom transport's own error
                    raise
                except Exception as exc:  # a transport broke its contract: never resend on that
                    error = APIConnectionError(
                        f"{type(exc).__name__}: {exc}", method=method, path=path, sent=True
                    )
                    error.__cause__ = exc
                    outcome, status = Outcome("lost"), 0
                else:
                    if slots is not None:  # an answer: the request reached the server by now
                        for slot in slots:
                            slot.answered()
                    status = resp.status
                    if 200 <= status < 300:
                        elapsed = clock.now() - started
                        if get_logger().isEnabledFor(DEBUG):
                            _log_attempt(method, path, status, attempt, elapsed, resp.headers)
                        if events is not None:
                            trace = resp.headers.get("x-o3-trace-id")
                            await events.response(attempt, elapsed, status=status, trace_id=trace)
                            await events.end(attempt, status=status, trace_id=trace)
                        capture = RAW_CAPTURE.get() if response_type is not None else None
                        if capture is None and response_type is not None and op is not None:
                            return _decode_answer(op, response_type, status, resp.content)
                        answer: APIResponse[Any] = APIResponse(
                            status=status,
                            headers=resp.headers,
                            content=resp.content,
                            method=method,
                            path=path,
                            elapsed=elapsed,
                            attempts=attempt,
                        )
                        if capture is not None:
                            return captured(capture, answer, response_type)
                        return answer
                    error, outcome = _answer_error(resp, method, path, op)
                elapsed = clock.now() - started
                if get_logger().isEnabledFor(DEBUG):
                    seen = resp.headers if resp is not None else None
                    _log_attempt(
                        method, path, status or type(error).__name__, attempt, elapsed, seen
                    )
                if events is not None:
                    await events.response(
                        attempt,
                        elapsed,
                        status=status or None,
                        failure=None if status else outcome.kind,
                        error_type=type(error).__name__,
                        trace_id=resp.headers.get("x-o3-trace-id") if resp is not None else None,
                    )
                if status == 401 and provider is not None and not renewals:
                    try:
                        fresh = await auth.current_token(rejected=token)
                    except Exception as exc:
                        error.decision = "not resent: token_provider failed to give a new token"
                        raise error from exc
                    if fresh != token:
                        renewed, renewals = fresh, 1
                        outcome = outcome.replace(token_renewed=True)
                safe = self._may_resend(op, options)
                policy = self._policy
                retries = options.get("max_retries") if options else None
                if retries is not None:
                    policy = policy.replace(max_retries=retries)
                decision = decide(outcome, attempt - renewals, safe, policy, shared.random.random())
                if isinstance(decision, GiveUp):
                    if decision.decision:
                        error.decision = decision.decision
                    raise error
                if events is not None:
                    await events.retry(attempt, decision.wait, decision.reason)
                level = WARNING if outcome.breaker_open else INFO
                logger = get_logger()
                if logger.isEnabledFor(level):
                    logger.log(
                        level,
                        "%s %s: %s; resending in %.2f s (attempt %d of at most %d)",
                        method,
                        path,
                        decision.reason,
                        decision.wait,
                        attempt + 1,
                        policy.max_retries + 1 + renewals,
                    )
                await clock.sleep(decision.wait)
        except GeneratorExit:  # the coroutine was closed unfinished: nothing may be awaited
            raise
        except BaseException as exc:
            if events is not None:
                await events.end(sent, error=exc, **_end_fields(exc))
            raise

    @staticmethod
    def _may_resend(op: Operation | None, options: CallOptions) -> bool:
        idempotent = options.get("idempotent") if options else None
        if idempotent is not None:
            return bool(idempotent)
        return op is not None and op.safe

    def _call_options(
        self, method: str, path: str, options: CallOptions, headers: dict[str, str]
    ) -> tuple[float, dict[str, str]]:
        """Check the per-call options; the attempt timeout and headers they give."""
        operation = f"{method} {path}"
        timeout = options.get("timeout")
        if timeout is None:
            timeout = self._config.timeout
        elif (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout < float("inf")
        ):
            raise RequestValidationError(
                f"timeout must be a positive number of seconds, not {timeout!r}",
                field="timeout",
                operation=operation,
            )
        retries = options.get("max_retries")
        if retries is not None and (
            isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
        ):
            raise RequestValidationError(
                f"max_retries must be an integer of 0 or more, not {retries!r}",
                field="max_retries",
                operation=operation,
            )
        idempotent = options.get("idempotent")
        if idempotent is not None and not isinstance(idempotent, bool):
            raise RequestValidationError(
                "idempotent must be True, False or None", field="idempotent", operation=operation
            )
        extra = options.get("extra_headers")
        if extra:
            if not isinstance(extra, Mapping):
                raise RequestValidationError(
                    "extra_headers must be a mapping", field="extra_headers", operation=operation
                )
            check_extra_headers(operation, extra)
            headers = {**headers, **extra}
        return float(timeout), headers

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
            self,
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


# ---------------------------------------------------------------------- outcomes and errors
def _failure(exc: APIConnectionError | ResponseTooLargeError) -> Outcome:
    if isinstance(exc, ResponseTooLargeError):
        return Outcome("too_large")
    if not exc.sent:
        return Outcome("not_sent")
    return Outcome("timeout" if isinstance(exc, APITimeoutError) else "lost")


def _end_fields(exc: BaseException) -> dict[str, Any]:
    """What the ``end`` event of a call that raised ``exc`` says about its last answer."""
    if isinstance(exc, APIStatusError):
        return {"status": exc.status, "trace_id": exc.trace_id}
    if isinstance(exc, (APIConnectionError, ResponseTooLargeError)):
        return {"failure": _failure(exc).kind}
    return {}


def _answer_error(
    resp: HTTPResponse, method: str, path: str, op: Operation | None = None
) -> tuple[APIStatusError, Outcome]:
    """The exception for an error answer, and the outcome the retry decision reads. When Ozon
    refuses access to an operation that needs a paid subscription, the error names it."""
    status = resp.status
    code: int | str | None = None
    message: str | None = None
    details: list[Any] = []
    data = _json_or_none(resp.content)
    if isinstance(data, dict):
        c = data.get("code")
        code = c if isinstance(c, (int, str)) and not isinstance(c, bool) else None
        m = data.get("message")
        if m is None:
            m = data.get("error")
        if isinstance(m, str):
            message = m
        d = data.get("details")
        details = d if isinstance(d, list) else []
    breaker = message is not None and is_circuit_open(message)
    text = message if message else summarize_body(resp.content)
    cls: type[APIStatusError] = CircuitOpenError if breaker else status_error_class(status)
    if 300 <= status < 400:
        location = resp.headers.get("Location")
        text = f"redirect to {location}" if location else "redirect without a Location"
    error = cls(
        text,
        status=status,
        code=code,
        details=details,
        body=resp.content,
        trace_id=resp.headers.get("x-o3-trace-id"),
        method=method,
        path=path,
        headers=resp.headers,
        subscription=_needed_subscription(op, status, code, message),
    )
    found = read_retry_after(resp.headers)
    if isinstance(error, RateLimitError):
        error.retry_after = found[0] if found else None
    if found is None:
        return error, Outcome("status", status, breaker_open=breaker)
    return error, Outcome("status", status, found[0], found[1], breaker)


_SUBSCRIPTION_WORDS = re.compile(r"subscri|premium|подписк", re.IGNORECASE)


def _needed_subscription(
    op: Operation | None, status: int, code: int | str | None, message: str | None
) -> Subscription | None:
    """The subscription ``op`` needs, when this error answer is Ozon refusing access: a 403, a
    permission-denied code (7, the gRPC code Ozon's gateway passes through), or a refusal whose
    text speaks of a subscription."""
    if op is None or op.subscription is None or status in (401, 404, 429) or status >= 500:
        return None
    denied = status == 403 or code in (7, "7", "PermissionDenied", "PERMISSION_DENIED")
    if denied or (message is not None and _SUBSCRIPTION_WORDS.search(message)):
        return op.subscription
    return None


def _json_or_none(content: bytes) -> Any:
    """The body as JSON, or ``None`` when it is not JSON (or is too deep to decode)."""
    if content[:64].lstrip()[:1] not in (b"{", b"["):
        return None
    import msgspec

    try:
        return msgspec.json.decode(content)
    except Exception:  # DecodeError, RecursionError on absurd nesting
        return None


_HTML = re.compile(rb"<\s*(!doctype|html|head|body|title)\b", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def summarize_body(content: bytes, limit: int = 300) -> str:
    """A short text for an error body that is not Ozon's JSON: an HTML page's ``<title>`` (or
    its first line of text), otherwise the first non-empty line."""
    head = content[:65536]
    text = head.decode("utf-8", errors="replace")
    if _HTML.search(head[:4096]):
        title = _TITLE.search(text)
        if title and title.group(1).strip():
            return _shorten(_unescape(" ".join(title.group(1).split())), limit)
        text = _unescape(_TAG.sub("\n", _HIDDEN.sub("", text)))
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            return _shorten(line, limit)
    return ""


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _log_attempt(
    method: str,
    path: str,
    status: int | str,
    attempt: int,
    elapsed: float,
    headers: Mapping[str, str] | None,
) -> None:
    trace = headers.get("x-o3-trace-id", "-") if headers is not None else "-"
    get_logger().debug(
        "%s %s -> %s (attempt %d, %.3f s, trace %s)", method, path, status, attempt, elapsed, trace
    )


def _unescape(text: str) -> str:
    import html  # only error pages need it

    return html.unescape(text)


def _system() -> str:
    """The operating system's name for the User-Agent (``platform.system()`` without importing
    ``platform``)."""
    return {"linux": "Linux", "darwin": "Darwin", "win32": "Windows"}.get(
        sys.platform, sys.platform
    )
