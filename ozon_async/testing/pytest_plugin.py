"""pytest plugin (registered through the ``pytest11`` entry point): the ``ozon_sandbox`` and
``ozon_mock`` fixtures. Both need pytest-asyncio (``asyncio_mode = "auto"``, or mark the tests
with ``@pytest.mark.asyncio``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from ozon_async.testing._kit import MockOzon, OzonSandbox

__all__ = ["MockOzon", "OzonSandbox", "ozon_mock", "ozon_sandbox"]


async def _ozon_mock() -> AsyncIterator[MockOzon]:
    from ozon_async._client import OzonClient
    from ozon_async._ratelimit import InProcessRateLimiter
    from ozon_async.testing._server import Sandbox

    server = await Sandbox().start()
    # A limiter of its own, so that tests do not share pacing state with each other.
    client = OzonClient(
        server.client_id, server.api_key, base_url=server.url, limiter=InProcessRateLimiter()
    )
    try:
        yield MockOzon(server, client)
    finally:
        await client.aclose()
        await server.stop()


async def _ozon_sandbox() -> AsyncIterator[OzonSandbox]:
    from ozon_async._client import OzonClient
    from ozon_async._ratelimit import InProcessRateLimiter
    from ozon_async.testing._clock import ManualClock
    from ozon_async.testing._server import Sandbox

    clock = ManualClock()
    sandbox = await Sandbox(seed=1, clock=clock).start()
    client = OzonClient(
        sandbox.client_id,
        sandbox.api_key,
        base_url=sandbox.url,
        clock=clock,
        limiter=InProcessRateLimiter(clock=clock),
    )
    try:
        yield OzonSandbox(sandbox, client, clock)
    finally:
        await client.aclose()
        await sandbox.stop()


try:
    import pytest_asyncio

    ozon_mock: Any = pytest_asyncio.fixture(_ozon_mock)
    ozon_mock.__doc__ = (
        "A running sandbox (real time) on a free loopback port, and an OzonClient pointed at "
        "it: ``ozon_mock.server`` (faults, recorded requests), ``ozon_mock.client``."
    )
    ozon_sandbox: Any = pytest_asyncio.fixture(_ozon_sandbox)
    ozon_sandbox.__doc__ = (
        "A running sandbox (seed 1) on a manual clock, and an OzonClient sharing that clock: "
        "``ozon_sandbox.sandbox``, ``ozon_sandbox.client``, ``ozon_sandbox.advance(seconds)``."
    )
except ImportError:  # pragma: no cover - pytest-asyncio is needed for async fixtures
    import pytest

    @pytest.fixture
    def ozon_mock() -> None:
        pytest.skip("the ozon_mock fixture needs pytest-asyncio")

    @pytest.fixture
    def ozon_sandbox() -> None:
        pytest.skip("the ozon_sandbox fixture needs pytest-asyncio")
