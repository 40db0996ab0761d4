"""OzonPerformanceClient: the Performance (advertising) API on the Seller client's runtime.

Everything that happens to a request (validation, rate limits, the daily request budget, retries
decided by :func:`ozon_async._retry.decide`, event hooks and OpenTelemetry, error mapping) is
:class:`~ozon_async._client.BaseClient`'s; this module adds the API's credentials (a service
account's client id and secret exchanged for tokens, or an OAuth token), its generated operations
and the report helper.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar

from ozon_async._auth import Auth, TokenProvider
from ozon_async._client import BaseClient
from ozon_async._config import (
    DEFAULT_MAX_RESPONSE_BYTES,
    ClientConfig,
    credential_problem,
    token_problem,
)
from ozon_async._exceptions import ConfigurationError
from ozon_async._hooks import EventHook, check_event_hooks
from ozon_async.performance._token import TOKEN_OPERATION, ClientCredentials
from ozon_async.performance.resources import Resources
from ozon_async.performance.resources._registry import LIMITS, OPERATIONS

if TYPE_CHECKING:
    import aiohttp
    from typing_extensions import Self

    from ozon_async._clock import Clock
    from ozon_async._operation import ExportRules, Operation, RateLimit
    from ozon_async._ratelimit import RateLimiter
    from ozon_async._transport import Transport
    from ozon_async.performance.reports import Reports

__all__ = ["DEFAULT_BASE_URL", "OzonPerformanceClient"]

DEFAULT_BASE_URL = "https://api-performance.ozon.ru"
ENV_CLIENT_ID = "OZON_PERFORMANCE_CLIENT_ID"
ENV_CLIENT_SECRET = "OZON_PERFORMANCE_CLIENT_SECRET"
ENV_ACCESS_TOKEN = "OZON_PERFORMANCE_ACCESS_TOKEN"
ENV_BASE_URL = "OZON_PERFORMANCE_BASE_URL"


class OzonPerformanceClient(Resources, BaseClient):
    """Async client of the Ozon Performance API (advertising: campaigns, bids, statistics).

    With a service account's credentials (Ozon's advertising account, Settings → API keys)::

        async with OzonPerformanceClient(client_id="...@advertising.performance.ozon.ru",
                                         client_secret="...") as client:
            campaigns = await client.campaign.list(state="CAMPAIGN_STATE_RUNNING")
            report = await client.reports.statistics(
                campaigns=[c.id for c in campaigns.list_ or []],
                date_from="2026-01-01", date_to="2026-03-31",
            )

    the client fetches an access token on first use (one request however many calls start at
    once), renews it before it expires and, when Ozon answers 401, renews it once and resends.
    An Ozon application sends its OAuth token instead: ``OzonPerformanceClient(access_token=...)``
    or ``token_provider=`` (a function returning the current token, as for
    :class:`~ozon_async.OzonClient`).

    Args:
        client_id: the service account's client id; default ``OZON_PERFORMANCE_CLIENT_ID``.
            With a token it is optional and only keys the limits.
        client_secret: its secret; default ``OZON_PERFORMANCE_CLIENT_SECRET``. It is sent only
            in the body of the token request to ``base_url`` and never appears in a repr, a log
            line, an error or a hook event; nor do the tokens.
        access_token, token_provider: an OAuth token, or a function giving the current one;
            default ``OZON_PERFORMANCE_ACCESS_TOKEN``.
        base_url: default ``OZON_PERFORMANCE_BASE_URL``, else ``https://api-performance.ozon.ru``.
        rate_limit: requests per second per account across all methods; ``None`` (the default:
            Ozon states no such limit for this API) paces nothing. The daily budget of the spec
            (100,000 requests) and the export rules always apply.
        token_margin: seconds before a token expires at which it is renewed (default 60).

        The other arguments are those of :class:`~ozon_async.OzonClient`: ``timeout``,
        ``connect_timeout``, ``max_retries``, ``limiter`` (a
        :class:`~ozon_async.redis_limiter.RedisRateLimiter` shares the budget and the
        one-export-at-a-time turn across processes; ``OZON_RATE_LIMIT_REDIS_URL`` makes one),
        ``circuit_open_wait``, ``max_retry_wait``, ``max_response_bytes``, ``allow_insecure``,
        ``connector_limit``, ``headers``, ``transport``, ``session``, ``clock``,
        ``event_hooks``.

    Raises:
        ConfigurationError: a missing credential or an invalid setting, named.
    """

    _OPERATIONS: ClassVar[Mapping[str, Operation]] = OPERATIONS
    _budget: ClassVar[RateLimit | None] = LIMITS.daily_budget
    _export_rules: ClassVar[ExportRules | None] = LIMITS.exports

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        access_token: str | None = None,
        token_provider: TokenProvider | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        rate_limit: float | None = None,
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
        event_hooks: Mapping[str, EventHook | list[EventHook] | tuple[EventHook, ...]]
        | None = None,
        token_margin: float = 60.0,
    ) -> None:
        if isinstance(token_margin, bool) or not isinstance(token_margin, (int, float)):
            raise ConfigurationError("token_margin must be a number of seconds")
        if not 0 <= token_margin < float("inf"):
            raise ConfigurationError(f"token_margin must be 0 or more, not {token_margin!r}")
        mode, cid, secret, token = _resolve(
            client_id, client_secret, access_token, token_provider, os.environ
        )
        self._config = ClientConfig(
            base_url=base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL,
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
        self._credentials: ClientCredentials | None = None
        if mode == "credentials":
            assert cid is not None and secret is not None
            self._auth = Auth("none", client_id=cid)  # until the runtime exists
        elif mode == "access_token":
            self._auth = Auth("access_token", client_id=cid, token=token)
        else:
            self._auth = Auth("token_provider", client_id=cid, provider=token_provider)
        self._setup(
            transport=transport,
            session=session,
            limiter=limiter,
            connector_limit=connector_limit,
            clock=clock,
        )
        if mode == "credentials":
            assert cid is not None and secret is not None
            self._credentials = ClientCredentials(
                cid, secret, self._fetch_token, self._clock, margin=float(token_margin)
            )
            self._auth = Auth("token_provider", client_id=cid, provider=self._credentials)
            self._apply_config()

    @classmethod
    def from_profile(cls, name: str | None = None, **kwargs: Any) -> OzonPerformanceClient:
        """A client with the Performance credentials of a profile of the config file (keys
        ``performance_client_id``, ``performance_client_secret`` or
        ``performance_access_token``, ``performance_base_url``; see :mod:`ozon_async.profiles`),
        or of the environment; ``kwargs`` are the constructor's other arguments."""
        from ozon_async.profiles import performance_client, resolve_profile

        return performance_client(resolve_profile(name), client_class=cls, **kwargs)

    def __repr__(self) -> str:
        mode = "client_credentials" if self._credentials is not None else self._auth.mode
        return (
            f"OzonPerformanceClient(auth={mode!r}, client_id={self._auth.client_id!r}, "
            f"base_url={self._config.base_url!r})"
        )

    def _view(self, auth: Auth, config: ClientConfig) -> Self:
        view = super()._view(auth, config)
        view._credentials = self._credentials
        return view

    # ------------------------------------------------------------------ tokens
    async def _fetch_token(self, body: dict[str, str]) -> tuple[str, float]:
        """Send the token request (no credentials but its body) through the runtime: the same
        transport, retries, hooks and budget as every call."""
        from ozon_async._codec import encode_request
        from ozon_async._response import RAW_CAPTURE

        op = self.runtime.operations[TOKEN_OPERATION]
        payload = encode_request(op, op.request_type, body)
        view = self._view(Auth("none", client_id=self._auth.client_id), self._config)
        capture = RAW_CAPTURE.set(None)  # a raw() around the call waiting is not about this one
        try:
            answer: Any = await view.runtime.send(
                op.method, op.path, payload, op, {}, op.response_type
            )
        finally:
            RAW_CAPTURE.reset(capture)
        token = getattr(answer, "access_token", None)
        problem = token_problem("the access token Ozon sent", token)
        if problem:
            raise ConfigurationError(problem)
        expires_in = getattr(answer, "expires_in", None) or 1800
        return str(token), float(expires_in)

    @property
    def token_requests(self) -> int:
        """How many tokens this client has fetched (0 with an OAuth token)."""
        return self._credentials.fetched if self._credentials is not None else 0

    # ------------------------------------------------------------------ reports
    @cached_property
    def reports(self) -> Reports:
        """Statistics exports under Ozon's export rules: split, queued one at a time per
        account, waited for, downloaded, unpacked and parsed (:mod:`ozon_async.performance.reports`)."""
        from ozon_async.performance.reports import Reports

        return Reports(self)


def _resolve(
    client_id: str | None,
    client_secret: str | None,
    access_token: str | None,
    token_provider: TokenProvider | None,
    environ: Mapping[str, str],
) -> tuple[str, str | None, str | None, str | None]:
    """(mode, client id, secret, token): exactly one way to authenticate, from the arguments,
    else the environment."""
    given = [
        name
        for name, value in (
            ("client_secret", client_secret),
            ("access_token", access_token),
            ("token_provider", token_provider),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigurationError(
            f"pass one of client_secret=, access_token= or token_provider=, not "
            f"{' and '.join(given)}"
        )
    cid: str | None = None
    if client_id is not None:
        if not isinstance(client_id, str):
            raise ConfigurationError(f"client_id must be a string, not {type(client_id).__name__}")
        cid = client_id.strip()
        if not cid:
            raise ConfigurationError("client_id is empty")
        problem = credential_problem("client_id", cid)
        if problem:
            raise ConfigurationError(problem)
    if token_provider is not None:
        if not callable(token_provider):
            raise ConfigurationError(
                "token_provider must be a function (or coroutine function) returning the token"
            )
        return "token_provider", cid, None, None
    if access_token is not None:
        return "access_token", cid, None, _clean("access_token", access_token)
    secret = client_secret
    if secret is None:
        env_secret = environ.get(ENV_CLIENT_SECRET, "").strip()
        env_token = environ.get(ENV_ACCESS_TOKEN, "").strip()
        if env_secret:
            secret = env_secret
        elif env_token:
            if cid is None:
                cid = environ.get(ENV_CLIENT_ID, "").strip() or None
            return "access_token", cid, None, _clean(ENV_ACCESS_TOKEN, env_token)
    if cid is None:
        cid = environ.get(ENV_CLIENT_ID, "").strip() or None
        if cid is None:
            raise ConfigurationError(
                "no Performance client id: pass client_id= or set OZON_PERFORMANCE_CLIENT_ID "
                "(or authenticate with access_token= / OZON_PERFORMANCE_ACCESS_TOKEN)"
            )
        problem = credential_problem(ENV_CLIENT_ID, cid)
        if problem:
            raise ConfigurationError(problem)
    if not isinstance(secret, str) or not secret.strip():
        raise ConfigurationError(
            "no Performance client secret: pass client_secret= or set "
            "OZON_PERFORMANCE_CLIENT_SECRET (or authenticate with access_token=)"
        )
    return "credentials", cid, secret.strip(), None


def _clean(what: str, value: object) -> str:
    if isinstance(value, str):
        value = value.strip()
    problem = token_problem(what, value)
    if problem:
        raise ConfigurationError(problem)
    assert isinstance(value, str)
    return value
