"""A small Ozon fake for the few task and download cases the sandbox cannot express, on real
loopback ports and an injected clock. Everything else runs on the sandbox (tests/_sandbox_env.py).

- ``POST /v1/warehouse/archive`` + ``/v1/warehouse/operation/status`` and
  ``POST /v6/fbs/posting/product/exemplar/set`` + ``/v5/fbs/posting/product/exemplar/status``:
  the sandbox answers these from the schema, with no state behind them, so a task that moves from
  running to done (or to an error) exists only here;
- a file host that answers with error statuses before it serves a file (``files.fail``): the
  sandbox serves its report files without fault injection.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from ozon_async import InProcessRateLimiter, OzonClient
from tests.helpers import VirtualClock


class LoopbackClock(VirtualClock):
    """A virtual clock that never moves while an HTTP request of the test client is in flight,
    so that the server sees the time the client sent at."""

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
        import heapq

        while self._heap:
            for _ in range(50):
                await asyncio.sleep(0)
            while self.inflight > 0:  # real I/O in progress: let it finish first
                await asyncio.sleep(0.0005)
                for _ in range(20):
                    await asyncio.sleep(0)
            if not self._heap:
                break
            when, _, fut = heapq.heappop(self._heap)
            self.t = max(self.t, when)
            if not fut.done():
                fut.set_result(None)


@dataclass
class Received:
    path: str
    body: Any
    headers: dict[str, str]
    at: float


@dataclass
class FileServer:
    """Serves report files; records the headers of every request."""

    files: dict[str, bytes] = field(default_factory=dict)
    fail: deque[int] = field(default_factory=deque)
    seen: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(dict(request.headers))
        if self.fail:
            return web.Response(status=self.fail.popleft(), text="try again")
        data = self.files.get(request.path)
        if data is None:
            return web.Response(status=404, text="no such file")
        return web.Response(body=data, content_type="text/csv")


class BulkFake:
    """Warehouse operations, exemplar checks and a file host, on ``clock``."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.received: list[Received] = []
        self.operations: dict[str, float] = {}
        self.exemplars: dict[str, float] = {}
        self._ids = itertools.count(1001)
        self.files = FileServer()
        self._runners: list[web.AppRunner] = []
        self.url = ""

    # ------------------------------------------------------------------ control
    def requests_for(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> BulkFake:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._handle)
        files = web.Application()
        files.router.add_get("/{tail:.*}", self.files.handle)
        for application, host in ((app, "127.0.0.1"), (files, "127.0.0.1")):
            runner = web.AppRunner(application, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, 0)
            await site.start()
            self._runners.append(runner)
        self.url = f"http://127.0.0.1:{self._runners[0].addresses[0][1]}"
        # another host name for the same loopback interface
        self.files.url = f"http://localhost:{self._runners[1].addresses[0][1]}"
        return self

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()

    # ------------------------------------------------------------------ handlers
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        now = self.clock.now()
        self.received.append(Received(request.path, body, dict(request.headers), now))
        handler = getattr(self, "_" + request.path.strip("/").replace("/", "_").replace("-", "_"))
        result: web.StreamResponse = handler(body, now)
        return result

    def _v1_warehouse_archive(self, body: dict[str, Any], now: float) -> web.Response:
        op_id = f"op-{next(self._ids)}"
        self.operations[op_id] = now
        return web.json_response({"operation_id": op_id})

    def _v1_warehouse_operation_status(self, body: dict[str, Any], now: float) -> web.Response:
        started = self.operations[body["operation_id"]]
        if now - started < 4:
            return web.json_response({"status": "IN_PROGRESS", "type": "WAREHOUSE_ENABLE_DISABLE"})
        return web.json_response(
            {"status": "ERROR", "error": {"code": "HAS_POSTINGS", "message": "has postings"}}
        )

    def _v6_fbs_posting_product_exemplar_set(self, body: dict[str, Any], now: float) -> Any:
        self.exemplars[body["posting_number"]] = now
        return web.json_response({})

    def _v5_fbs_posting_product_exemplar_status(self, body: dict[str, Any], now: float) -> Any:
        number = body["posting_number"]
        ready = now - self.exemplars[number] >= 3
        status = "ship_available" if ready else "validation_in_process"
        return web.json_response({"posting_number": number, "status": status, "products": []})


@dataclass
class BulkEnv:
    fake: BulkFake
    client: OzonClient
    clock: LoopbackClock
    limiter: InProcessRateLimiter


@asynccontextmanager
async def bulk_env(**client_options: Any) -> AsyncIterator[BulkEnv]:
    """A started fake, and a client on it with a virtual clock and a fresh limiter."""
    clock = LoopbackClock()
    fake = await BulkFake(clock).start()
    limiter = InProcessRateLimiter(clock)
    session = aiohttp.ClientSession(trace_configs=[clock.trace()])
    client = OzonClient(
        "123456",
        "secret-api-key",
        base_url=fake.url,
        clock=clock,
        limiter=limiter,
        session=session,
        **client_options,
    )
    try:
        yield BulkEnv(fake, client, clock, limiter)
    finally:
        await client.aclose()
        await session.close()
        await fake.stop()
