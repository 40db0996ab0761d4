"""Access tokens of the Performance API from a service account's client credentials.

:class:`ClientCredentials` is the client's token provider (:mod:`ozon_async._auth`): the attempt
loop asks it for the token before each attempt and, after a 401, once more with the refused
token. It fetches a token on first use, shares one fetch between every call waiting at the same
time (single flight: 50 calls starting together make one token request), renews the token
``margin`` seconds before Ozon says it expires, and after a 401 fetches a new one unless another
call already replaced the refused token.

The secret goes only into the body of ``POST /api/client/token`` to the client's base URL. It is
never part of a repr, a log line or an error: an error of the token call is re-raised with any
copy of the secret in its text or body replaced by ``***``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ozon_async._exceptions import OzonError

if TYPE_CHECKING:
    from ozon_async._clock import Clock

__all__ = ["TOKEN_OPERATION", "ClientCredentials"]

#: The operation that exchanges client credentials for a token.
TOKEN_OPERATION = "POST /api/client/token"


class ClientCredentials:
    """The token provider of an :class:`~ozon_async.performance.OzonPerformanceClient` made with
    ``client_id`` and ``client_secret``.

    Args:
        client_id: the service account's client id.
        client_secret: its secret (kept private: no repr shows it).
        fetch: sends the token request with the body it is given and returns
            ``(access_token, expires_in)``.
        clock: the client's clock (expiry is measured on it).
        margin: seconds before expiry at which a token is renewed (at most half its lifetime).
    """

    __slots__ = (
        "_fetch",
        "_flight",
        "_secret",
        "_token",
        "client_id",
        "clock",
        "fetched",
        "margin",
        "renew_at",
    )

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        fetch: Callable[[dict[str, str]], Awaitable[tuple[str, float]]],
        clock: Clock,
        margin: float = 60.0,
    ) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self._fetch = fetch
        self.clock = clock
        self.margin = margin
        self._token: str | None = None
        self.renew_at = 0.0
        self._flight: asyncio.Future[str] | None = None
        #: how many tokens were fetched (for tests and the benchmark)
        self.fetched = 0

    def __repr__(self) -> str:
        return f"<ClientCredentials client_id={self.client_id!r}>"

    def scrub(self, text: str) -> str:
        """``text`` with any copy of the secret replaced by ``***``."""
        return text.replace(self._secret, "***") if self._secret else text

    async def __call__(self, rejected: str | None = None) -> str:
        """The token to send now. ``rejected``: the token a 401 refused (renew it, unless
        another call has already)."""
        token = self._token
        if token is not None:
            if rejected is None:
                if self.clock.now() < self.renew_at:
                    return token
            elif rejected != token:
                return token  # renewed meanwhile by another call
        return await self._refresh()

    def _refresh(self) -> asyncio.Future[str]:
        """The fetch in flight, or a new one: every caller waiting now shares it."""
        flight = self._flight
        if flight is None or flight.done():
            flight = self._flight = asyncio.ensure_future(self._get())
        # a caller cancelled while waiting does not cancel the fetch the others wait for
        return asyncio.shield(flight)

    async def _get(self) -> str:
        body = {
            "client_id": self.client_id,
            "client_secret": self._secret,
            "grant_type": "client_credentials",
        }
        started = self.clock.now()
        try:
            token, expires_in = await self._fetch(body)
        except OzonError as exc:
            raise self._scrubbed(exc) from None
        self.fetched += 1
        lifetime = max(0.0, float(expires_in))
        margin = min(self.margin, lifetime / 2)
        self._token = token
        self.renew_at = started + lifetime - margin
        return token

    def _scrubbed(self, exc: OzonError) -> OzonError:
        """``exc`` without the secret in its message, decision or body."""
        secret = self._secret
        if not secret:
            return exc
        exc.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in exc.args)
        if exc.decision:
            exc.decision = self.scrub(exc.decision)
        for name in ("message", "_message"):
            value = getattr(exc, name, None)
            if isinstance(value, str) and secret in value:
                setattr(exc, name, self.scrub(value))
        details = getattr(exc, "details", None)
        if isinstance(details, list) and secret in repr(details):
            import json

            text = json.dumps(details, ensure_ascii=False, default=str)
            exc.details = json.loads(self.scrub(text))  # type: ignore[attr-defined]
        body: Any = getattr(exc, "body", None)
        if isinstance(body, (bytes, bytearray)) and secret.encode() in body:
            exc.body = bytes(body).replace(secret.encode(), b"***")  # type: ignore[attr-defined]
        return exc
