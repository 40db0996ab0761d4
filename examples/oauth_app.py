"""An app of Ozon's app marketplace: OAuth access tokens instead of a Client-Id and key.

    python examples/oauth_app.py

``token_provider`` is called before each attempt and hands back the current token (renewing it
when it is about to expire); after a 401 it is called with the refused token, renews at once,
and the request is resent once with the new token (a 401 means Ozon processed nothing, so this
is safe for writes too). Here the bundled sandbox plays Ozon and knows only the second token:
the first one is refused as an expired one would be.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from ozon_async import OzonClient
from ozon_async.testing import Sandbox

issued = itertools.count(1)


async def refresh() -> tuple[str, float]:
    """Stands for your OAuth refresh-token exchange: a new access token and its lifetime."""
    return f"app-token-{next(issued):04d}", 3600.0


class AppToken:
    """The current token; renewed when it expires or when Ozon refused it."""

    def __init__(self) -> None:
        self.token, self.expires = "", 0.0
        self.renewals = 0
        self.lock = asyncio.Lock()  # one renewal at a time for all concurrent calls

    async def __call__(self, refused: str | None = None) -> str:
        async with self.lock:
            if refused == self.token or time.time() > self.expires - 60:
                self.token, lifetime = await refresh()
                self.expires = time.time() + lifetime
                self.renewals += 1
        return self.token


async def main() -> None:
    provider = AppToken()
    async with (
        Sandbox(seed=1, access_token="app-token-0002") as sandbox,
        OzonClient(token_provider=provider, base_url=sandbox.url) as client,
    ):
        answer = await client.raw(client.warehouse.list_v2, limit=10)
        page = answer.parse()
        print(
            f"{len(page.warehouses)} warehouses after {answer.attempts} attempts "
            f"({provider.renewals} tokens issued; the first was refused)"
        )


if __name__ == "__main__":
    asyncio.run(main())
