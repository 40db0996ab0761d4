"""The sandbox (ozon_async.testing) for the bulk, task and download tests, wired like the
``ozon_sandbox`` fixture: one :class:`~ozon_async.testing.ManualClock` for the sandbox, the
client and its limiter, so that time is advanced, never slept.

One addition to the fixture: the clock does not jump while a request of the client is on its way
(the client's HTTP session reports each request's start and end), so the sandbox sees every
request at the time the client sent it, and a 30-s or 60-s rule is judged on the time the client
paced for, as it is against Ozon.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ozon_async import InProcessRateLimiter, OzonClient
from ozon_async.testing import ManualClock, Sandbox
from ozon_async.testing._state import Product

STOCKS = "/v2/products/stocks"
PRICES = "/v1/product/import/prices"


class WiredClock(ManualClock):
    """A :class:`ManualClock` that holds time still while a request of the client is in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.inflight = 0

    def trace(self) -> aiohttp.TraceConfig:
        tc = aiohttp.TraceConfig()

        async def start(*_: Any) -> None:
            self.inflight += 1

        async def end(*_: Any) -> None:
            self.inflight -= 1

        tc.on_request_start.append(start)
        tc.on_request_end.append(end)
        tc.on_request_exception.append(end)
        return tc

    async def _drive(self) -> None:
        heap = self._heap
        while heap:
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            while self.inflight > 0:  # real I/O on the loopback: let it finish first
                await asyncio.sleep(0.0005)
                for _ in range(20):
                    await asyncio.sleep(0)
            if not heap:
                break
            when = heap[0][0]
            if when > self._t:
                self._t = when
            while heap and heap[0][0] <= self._t:
                _, _, fut = heapq.heappop(heap)
                if not fut.done():
                    fut.set_result(None)


@dataclass
class SandboxEnv:
    sandbox: Sandbox
    client: OzonClient
    clock: WiredClock
    limiter: InProcessRateLimiter
    #: the client's HTTP session (it tells the clock when a request is in flight)
    session: aiohttp.ClientSession
    #: the headers of every request for a file the sandbox serves (``/__files/...``)
    file_requests: list[dict[str, str]] = field(default_factory=list)

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def products(self) -> list[Product]:
        """The shop's products that take stock and price updates (not archived), by id."""
        return sorted(
            (p for p in self.sandbox.state.products.values() if not p.archived),
            key=lambda p: p.product_id,
        )

    def warehouses(self) -> list[int]:
        return sorted(self.sandbox.state.warehouses)

    def stock_pairs(self, n: int) -> list[dict[str, Any]]:
        """``n`` distinct offer/warehouse pairs of the shop, with a stock for each."""
        warehouses = self.warehouses()
        pairs = [
            {"offer_id": p.offer_id, "warehouse_id": w, "stock": (i * 7 + j) % 90}
            for i, p in enumerate(self.products())
            for j, w in enumerate(warehouses)
        ]
        assert len(pairs) >= n, f"the sandbox has {len(pairs)} pairs; need {n}"
        return pairs[:n]

    def stock(self, offer_id: str, warehouse_id: int) -> int:
        """What the shop now shows as available at the warehouse (stock without reserves)."""
        p = self.sandbox.state.product_by(offer_id=offer_id)
        assert p is not None
        return p.stocks.get(warehouse_id, 0) - p.reserved.get(warehouse_id, 0)


@asynccontextmanager
async def sandbox_env(
    *, api_host: str = "127.0.0.1", sandbox: dict[str, Any] | None = None, **client_options: Any
) -> AsyncIterator[SandboxEnv]:
    """A started sandbox (seed 1) and a client on it, sharing one manual clock.

    ``api_host`` is the host name the client uses for the API (``localhost`` makes the files the
    sandbox links to, at ``127.0.0.1``, another host); ``sandbox`` are :class:`Sandbox` options.
    """
    clock = WiredClock()
    options = {"client_id": "123456", "api_key": "secret-api-key", **(sandbox or {})}
    server = Sandbox(seed=1, clock=clock, **options)
    seen: list[dict[str, str]] = []

    @web.middleware
    async def record_files(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/__files/"):
            seen.append(dict(request.headers))
        response: web.StreamResponse = await handler(request)
        return response

    server.app.middlewares.append(record_files)
    await server.start()
    limiter = InProcessRateLimiter(clock=clock)
    session = aiohttp.ClientSession(trace_configs=[clock.trace()])
    client = OzonClient(
        "123456",
        "secret-api-key",
        base_url=f"http://{api_host}:{server.port}",
        clock=clock,
        limiter=limiter,
        session=session,
        **client_options,
    )
    try:
        yield SandboxEnv(server, client, clock, limiter, session, seen)
    finally:
        await client.aclose()
        await session.close()
        await server.stop()
