"""Credentials: a Client-Id with its Api-Key, or an OAuth access token (fixed, or from a provider).

:func:`resolve_auth` picks exactly one mode from the arguments and the environment;
:class:`Auth` gives the headers to send and the key the rate limits are kept under. No repr, log
or error made here contains a key or a token.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

from ozon_async._config import credential_problem, token_problem
from ozon_async._exceptions import ConfigurationError

__all__ = ["Auth", "TokenProvider", "resolve_auth", "token_rate_key"]

#: Returns the current access token; a plain function or a coroutine function. One that takes an
#: argument is given ``None``, or after a 401 the token Ozon refused (renew it then).
TokenProvider = Callable[[], str | Awaitable[str]] | Callable[[str | None], str | Awaitable[str]]

#: ``none`` sends no credentials (a token request, which carries its own in the body).
AuthMode = Literal["api_key", "access_token", "token_provider", "none"]


def token_rate_key(token: str) -> str:
    """The rate-limit key of an access token given without ``client_id``: a short hash, so
    that every client (and process) using the token shares one budget and the token itself is
    never used as a key (keys may be stored in Redis)."""
    import hashlib

    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class Auth:
    """The credentials of a client and the views made from it (shared, never shown)."""

    __slots__ = ("_last", "api_key", "client_id", "mode", "provider", "takes_rejected", "token")

    def __init__(
        self,
        mode: AuthMode,
        *,
        client_id: str | None = None,
        api_key: str | None = None,
        token: str | None = None,
        provider: TokenProvider | None = None,
    ) -> None:
        self.mode = mode
        self.client_id = client_id
        self.api_key = api_key
        self.token = token
        self.provider = provider
        self.takes_rejected = provider is not None and _takes_one_argument(provider)
        # the last token the provider gave, with its rate-limit key
        self._last: tuple[str, str] | None = None

    def __repr__(self) -> str:
        return f"<Auth {self.mode} client_id={self.client_id!r}>"

    def headers(self) -> dict[str, str]:
        """The credential headers of every request (none for a provider: they are added per
        attempt with the token it gives)."""
        if self.mode == "api_key":
            assert self.client_id is not None and self.api_key is not None
            return {"Client-Id": self.client_id, "Api-Key": self.api_key}
        if self.mode == "access_token":
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    @property
    def rate_key(self) -> str | None:
        """The key of this client's rate limits: the Client-Id when known, else a hash of the
        token (for a provider, of the last token it gave; ``None`` before the first)."""
        if self.client_id is not None:
            return self.client_id
        if self.token is not None:
            return token_rate_key(self.token)
        return self._last[1] if self._last is not None else None

    async def current_token(self, rejected: str | None = None) -> str:
        """Ask the provider for the token to send now (checked like ``access_token``);
        ``rejected`` is the token a 401 refused, passed on to a provider that takes it."""
        import inspect  # loaded already: asyncio imports it

        provider: Any = self.provider
        assert provider is not None
        value = provider(rejected) if self.takes_rejected else provider()
        if inspect.isawaitable(value):
            value = await value
        token = _clean_token("the token from token_provider", value)
        last = self._last
        if last is None or last[0] != token:
            self._last = (token, self.client_id or token_rate_key(token))
        return token

    def key_for(self, token: str) -> str:
        """The rate-limit key while sending ``token`` (from :meth:`current_token`)."""
        last = self._last
        if last is not None and last[0] == token:
            return last[1]
        return self.client_id or token_rate_key(token)


def _takes_one_argument(func: Callable[..., Any]) -> bool:
    """Whether ``func`` can be called with one positional argument (else with none)."""
    import inspect

    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):  # some builtins have none: call them without arguments
        return False
    try:
        signature.bind(None)
    except TypeError:
        return False
    try:
        signature.bind()
    except TypeError:
        return True  # needs the argument
    # both work (a default, or *args): pass it only to a parameter meant for it
    first = next(iter(signature.parameters.values()))
    return first.kind is not inspect.Parameter.VAR_POSITIONAL


def _clean_token(what: str, value: object) -> str:
    if isinstance(value, str):
        value = value.strip()
    problem = token_problem(what, value)
    if problem:
        raise ConfigurationError(problem)
    assert isinstance(value, str)
    return value


def resolve_auth(
    client_id: str | int | None,
    api_key: str | None,
    access_token: str | None,
    token_provider: TokenProvider | None,
    environ: Mapping[str, str],
) -> Auth:
    """Exactly one way to authenticate, from the arguments, else the environment.

    - ``api_key=`` (with ``client_id=`` or ``OZON_CLIENT_ID``): Client-Id and Api-Key headers.
    - ``access_token=`` or ``token_provider=``: ``Authorization: Bearer``; ``client_id=``, when
      given, is only the key of the rate limits (the environment's Client-Id is not used: it
      may belong to another company than the token).
    - none of them: ``OZON_API_KEY`` (with a Client-Id), else ``OZON_ACCESS_TOKEN`` (with
      ``client_id=`` or ``OZON_CLIENT_ID`` as the rate-limit key when set).
    """
    _refuse_two_ways(api_key, access_token, token_provider)
    cid = _client_id_argument(client_id)
    if token_provider is not None:
        if not callable(token_provider):
            raise ConfigurationError(
                "token_provider must be a function (or coroutine function) returning the token"
            )
        return Auth("token_provider", client_id=cid, provider=token_provider)
    if access_token is not None:
        return Auth("access_token", client_id=cid, token=_clean_token("access_token", access_token))
    key = api_key
    if key is None:
        env_key = environ.get("OZON_API_KEY", "")
        env_token = environ.get("OZON_ACCESS_TOKEN", "").strip()
        if env_key.strip():
            key = env_key
        elif env_token:
            return _environment_token(cid, env_token, environ)
    return _api_key_auth(cid, key, environ)


def _refuse_two_ways(
    api_key: str | None, access_token: str | None, token_provider: TokenProvider | None
) -> None:
    given = [
        name
        for name, value in (
            ("api_key", api_key),
            ("access_token", access_token),
            ("token_provider", token_provider),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise ConfigurationError(
            f"pass one of api_key=, access_token= or token_provider=, not {' and '.join(given)}"
        )


def _client_id_argument(client_id: str | int | None) -> str | None:
    if client_id is None:
        return None
    if isinstance(client_id, bool) or not isinstance(client_id, (str, int)):
        raise ConfigurationError(
            f"client_id must be a string or an integer, not {type(client_id).__name__}"
        )
    cid = str(client_id).strip()
    if not cid:
        raise ConfigurationError("client_id is empty")
    problem = credential_problem("client_id", cid)
    if problem:
        raise ConfigurationError(problem)
    return cid


def _environment_token(cid: str | None, token: str, environ: Mapping[str, str]) -> Auth:
    """``OZON_ACCESS_TOKEN``, keyed by ``client_id=`` or else ``OZON_CLIENT_ID`` when set."""
    if cid is None:
        cid = environ.get("OZON_CLIENT_ID", "").strip() or None
        if cid is not None:
            problem = credential_problem("OZON_CLIENT_ID", cid)
            if problem:
                raise ConfigurationError(problem)
    return Auth("access_token", client_id=cid, token=_clean_token("OZON_ACCESS_TOKEN", token))


def _api_key_auth(cid: str | None, key: str | None, environ: Mapping[str, str]) -> Auth:
    """A Client-Id (``client_id=`` or ``OZON_CLIENT_ID``) with its API key."""
    if cid is None:
        cid = environ.get("OZON_CLIENT_ID", "").strip() or None
        if cid is None:
            raise ConfigurationError(
                "no Client-Id: pass client_id= or set the OZON_CLIENT_ID environment variable "
                "(or authenticate with access_token= / OZON_ACCESS_TOKEN)"
            )
        problem = credential_problem("client_id", cid)
        if problem:
            raise ConfigurationError(problem)
    if not isinstance(key, str) or key.strip() == "":
        raise ConfigurationError(
            "no API key: pass api_key= or set the OZON_API_KEY environment variable "
            "(or authenticate with access_token= / OZON_ACCESS_TOKEN)"
        )
    key = key.strip()
    problem = credential_problem("api_key", key)
    if problem:
        raise ConfigurationError(problem)
    return Auth("api_key", client_id=cid, api_key=key)
