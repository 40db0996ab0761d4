"""pytest plugin (registered through the ``pytest11`` entry point): the ``ozon_mock`` fixture."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ozon_async._client import OzonClient
    from ozon_async.testing._server import MockOzonServer


@dataclass
class MockOzon:
    """What the ``ozon_mock`` fixture yields."""

    server: MockOzonServer
    client: OzonClient

    @property
    def url(self) -> str:
        return self.server.url


async def _ozon_mock() -> AsyncIterator[MockOzon]:
    from ozon_async._client import OzonClient
    from ozon_async._ratelimit import InProcessRateLimiter
    from ozon_async.testing._server import MockOzonServer

    server = await MockOzonServer().start()
    # A limiter of its own, so that tests do not share pacing state with each other.
    client = OzonClient(
        "123456", "test-api-key", base_url=server.url, limiter=InProcessRateLimiter()
    )
    try:
        yield MockOzon(server, client)
    finally:
        await client.aclose()
        await server.stop()


try:
    import pytest_asyncio

    ozon_mock: Any = pytest_asyncio.fixture(_ozon_mock)
    ozon_mock.__doc__ = (
        "A running mock Ozon Seller API on a free loopback port, and an OzonClient pointed at "
        "it: ``ozon_mock.server`` (faults, recorded requests), ``ozon_mock.client``."
    )
except ImportError:  # pragma: no cover - pytest-asyncio is needed for async fixtures
    import pytest

    @pytest.fixture
    def ozon_mock() -> None:
        pytest.skip("the ozon_mock fixture needs pytest-asyncio")
