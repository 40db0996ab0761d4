"""A small stateful Ozon fake for the bulk, task and download tests, on real loopback ports.

It implements only the rules those tests need, on an injected clock:

- ``POST /v2/products/stocks``: 80 requests per 60 s (429 beyond), at most 100 items, each
  offer/warehouse pair at most once per 30 s (per-item ``TOO_MANY_REQUESTS`` otherwise), an
  unknown warehouse (id 404) answered with ``WAREHOUSE_NOT_FOUND``;
- ``POST /v1/product/import/prices``: at most 1000 items, 10 updates per product per hour;
- ``POST /v3/product/import`` + ``/v1/product/import/info``: items ``pending`` for 10 s, then
  ``imported`` (``failed`` with an error for offer ids starting with ``bad``);
- ``POST /v1/report/postings/create`` + ``/v1/report/info``: ``waiting`` → ``processing`` →
  ``success`` with a file URL on a second server (another host name: ``localhost``);
- ``POST /v1/warehouse/archive`` + ``/v1/warehouse/operation/status``;
- ``POST /v6/fbs/posting/product/exemplar/set`` + ``/v5/fbs/posting/product/exemplar/status``;
- ``fail_next(path, status)``: answer the next request with an error status.

When the stateful sandbox (ozon_async.testing) implements these rules, :func:`bulk_env` is the
one place to point at it.
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
    STOCK_WINDOW = 30.0
    STOCK_RATE = (80, 60.0)
    PRICE_RATE = (10, 3600.0)
    IMPORT_TIME = 10.0
    REPORT_STEPS = (5.0, 15.0)  # waiting until 5 s, processing until 15 s, then success

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.received: list[Received] = []
        self.fails: dict[str, deque[int]] = {}
        self.stock_last: dict[tuple[str, str], float] = {}
        self.stocks: dict[tuple[str, str], int] = {}
        self.stock_calls: deque[float] = deque()
        self.prices: dict[str, str] = {}
        self.price_times: dict[str, deque[float]] = {}
        self.item_too_many = 0  # per-item TOO_MANY_REQUESTS answered
        self.method_429 = 0
        self.tasks: dict[int, tuple[float, list[str]]] = {}
        self.reports: dict[str, float] = {}
        self.operations: dict[str, float] = {}
        self.exemplars: dict[str, float] = {}
        self._ids = itertools.count(1001)
        self.files = FileServer()
        self._runners: list[web.AppRunner] = []
        self.url = ""
        self.seller = ""

    # ------------------------------------------------------------------ control
    def fail_next(self, path: str, status: int, times: int = 1) -> None:
        self.fails.setdefault(path, deque()).extend([status] * times)

    def requests_for(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def touch_stock(self, offer_id: str, warehouse_id: int) -> None:
        """Record an update of a pair made by someone else (another process) just now."""
        self.stock_last[(offer_id, str(warehouse_id))] = self.clock.now()

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
        pending = self.fails.get(request.path)
        if pending:
            status = pending.popleft()
            return web.json_response(
                {"code": 14, "message": "service unavailable", "details": []}, status=status
            )
        handler = getattr(self, "_" + request.path.strip("/").replace("/", "_").replace("-", "_"))
        self.seller = request.headers.get("Client-Id", "")
        result: web.StreamResponse = handler(body, now)
        return result

    def _v2_products_stocks(self, body: dict[str, Any], now: float) -> web.Response:
        calls = self.stock_calls
        while calls and calls[0] <= now - self.STOCK_RATE[1]:
            calls.popleft()
        if len(calls) >= self.STOCK_RATE[0]:
            self.method_429 += 1
            return web.json_response({"code": 8, "message": "rate limit"}, status=429)
        calls.append(now)
        items = body["stocks"]
        if len(items) > 100:
            return web.json_response({"code": 3, "message": "too many items"}, status=400)
        result = []
        for it in items:
            ident = it.get("offer_id") or str(it.get("product_id"))
            wh = str(it["warehouse_id"])
            if self.seller != "123456":  # per-item rules count per seller account
                ident = f"{self.seller}/{ident}"
            entry = {
                "offer_id": it.get("offer_id", ""),
                "product_id": it.get("product_id", 0),
                "warehouse_id": it["warehouse_id"],
                "updated": False,
                "errors": [],
            }
            last = self.stock_last.get((ident, wh))
            if wh == "404":
                entry["errors"] = [{"code": "WAREHOUSE_NOT_FOUND", "message": "no warehouse"}]
            elif last is not None and now - last < self.STOCK_WINDOW:
                self.item_too_many += 1
                entry["errors"] = [{"code": "TOO_MANY_REQUESTS", "message": "too often"}]
            else:
                self.stock_last[(ident, wh)] = now
                self.stocks[(ident, wh)] = int(it["stock"])
                entry["updated"] = True
            result.append(entry)
        return web.json_response({"result": result})

    def _v1_product_import_prices(self, body: dict[str, Any], now: float) -> web.Response:
        items = body["prices"]
        if len(items) > 1000:
            return web.json_response({"code": 3, "message": "too many items"}, status=400)
        result = []
        for it in items:
            ident = it.get("offer_id") or str(it.get("product_id"))
            times = self.price_times.setdefault(ident, deque())
            while times and times[0] <= now - self.PRICE_RATE[1]:
                times.popleft()
            entry = {"offer_id": it.get("offer_id", ""), "updated": False, "errors": []}
            if len(times) >= self.PRICE_RATE[0]:
                self.item_too_many += 1
                entry["errors"] = [{"code": "TOO_MANY_REQUESTS", "message": "10 per hour"}]
            else:
                times.append(now)
                self.prices[ident] = it["price"]
                entry["updated"] = True
            result.append(entry)
        return web.json_response({"result": result})

    def _v3_product_import(self, body: dict[str, Any], now: float) -> web.Response:
        task_id = next(self._ids)
        self.tasks[task_id] = (now, [it["offer_id"] for it in body["items"]])
        return web.json_response({"result": {"task_id": task_id}})

    def _v1_product_import_info(self, body: dict[str, Any], now: float) -> web.Response:
        created, offers = self.tasks[int(body["task_id"])]
        done = now - created >= self.IMPORT_TIME
        items = []
        for n, offer in enumerate(offers):
            item: dict[str, Any] = {"offer_id": offer, "product_id": 5000 + n, "errors": []}
            if not done:
                item["status"] = "pending"
            elif offer.startswith("bad"):
                item["status"] = "failed"
                item["errors"] = [
                    {
                        "code": "DESCRIPTION_CATEGORY_NOT_FOUND",
                        "message": "unknown category",
                        "state": "",
                        "level": "error",
                        "field": "description_category_id",
                        "attribute_id": 0,
                        "attribute_name": "",
                    }
                ]
            else:
                item["status"] = "imported"
            items.append(item)
        return web.json_response({"result": {"items": items, "total": len(items)}})

    def _v1_report_postings_create(self, body: dict[str, Any], now: float) -> web.Response:
        code = f"REPORT_{next(self._ids)}"
        self.reports[code] = now
        rows = ["posting_number;status;price"]
        rows += [f"1000-{n}-1;delivered;{100 + n}.50" for n in range(3)]
        self.files.files[f"/reports/{code}.csv"] = ("\n".join(rows) + "\n").encode()
        return web.json_response({"result": {"code": code}})

    def _v1_report_info(self, body: dict[str, Any], now: float) -> web.Response:
        code = body["code"]
        age = now - self.reports[code]
        status = (
            "waiting"
            if age < self.REPORT_STEPS[0]
            else "processing"
            if age < self.REPORT_STEPS[1]
            else "success"
        )
        result = {"code": code, "status": status, "report_type": "SELLER_POSTINGS", "error": ""}
        if status == "success":
            result["file"] = f"{self.files.url}/reports/{code}.csv"
        return web.json_response({"result": result})

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
