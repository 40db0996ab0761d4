"""One worker process of the multi-process limiter test and benchmark.

    python -m tests._redis_worker pace   MOCK_URL REDIS_URL PREFIX SECONDS CONCURRENCY ID [STALL]
    python -m tests._redis_worker window MOCK_URL REDIS_URL PREFIX SECONDS PERIOD ID

Each worker warms up, prints ``ready``, and starts at the time (``time.time()``) it then reads
on stdin, so that all start together however long each took to start.

``pace``: its own OzonClient (Client-Id 4242, 50 rps) with a RedisRateLimiter (an
InProcessRateLimiter when REDIS_URL is ``in-process``) keeps CONCURRENCY
calls going from the start for SECONDS, then cancels the ones still waiting. Each request
carries ``X-Seq``; the worker records when the limiter granted its Client-Id slot
(``time.time()``, the clock the sandbox stamps arrivals with), so that grant-to-arrival spread
can be measured against the mock server's arrival times. STALL, ``LOW:HIGH:EVERY``, holds every
EVERY-th request between its grant and its sending for a time drawn from [LOW, HIGH] seconds
(a worker whose requests leave late: a blocked event loop, slow hooks, a paused process).

``window``: takes the per-item rule ``acquire_window(ITEM_KEY, 1, PERIOD)`` in a loop and sends
the stock update each grant allows.

Prints one JSON object on stdout after the ``ready`` line.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import random
import sys
import time
from typing import Any

from ozon_async import InProcessRateLimiter, OzonClient, OzonError, RateLimiter, RateLimitSlot
from ozon_async.redis_limiter import RedisRateLimiter

CLIENT_ID = "4242"
#: REDIS_URL that means an InProcessRateLimiter instead (one process, the baseline).
IN_PROCESS = "in-process"
MARGIN_ENV = "OZON_TEST_JITTER_MARGIN"
ITEM_KEY = "4242 stock PH-1/1020000089903000"


class Recorder(RateLimiter):
    """Passes every call to ``inner``, notes when the Client-Id's slot was granted, and holds
    the stalled requests between their grant and their sending."""

    def __init__(self, inner: RateLimiter, stall: tuple[float, float, int] | None) -> None:
        self.inner = inner
        self.stall = stall
        self.slots = 0
        self.stalled = 0
        self.granted: dict[asyncio.Task[Any] | None, float] = {}
        self.rnd = random.Random(7)

    async def acquire(self, key: str, requests: float, period: float) -> None:
        await self.inner.acquire(key, requests, period)

    async def acquire_slot(self, key: str, requests: float, period: float) -> RateLimitSlot | None:
        slot = await self.inner.acquire_slot(key, requests, period)
        if key == CLIENT_ID:
            self.granted[asyncio.current_task()] = time.time()
            self.slots += 1
            if self.stall is not None and self.slots % self.stall[2] == 0:
                self.stalled += 1
                await asyncio.sleep(self.rnd.uniform(self.stall[0], self.stall[1]))
        return slot

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        return await self.inner.acquire_window(key, limit, period, wait=wait)


async def _ready_then_start() -> None:
    """Say "ready" (warmed up), then wait for the start time the parent sends to every worker."""
    print("ready", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    await asyncio.sleep(max(0.0, float(line) - time.time()))


async def pace(
    mock: str,
    redis_url: str,
    prefix: str,
    seconds: float,
    conc: int,
    wid: str,
    stall: tuple[float, float, int] | None = None,
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if os.environ.get(MARGIN_ENV):  # the benchmark compares margins; tests use the default
        options["jitter_margin"] = float(os.environ[MARGIN_ENV])
    limiter: RateLimiter
    if redis_url == IN_PROCESS:  # the benchmark's baseline: this process alone, no Redis
        limiter = InProcessRateLimiter()
    else:
        limiter = RedisRateLimiter.from_url(redis_url, prefix=prefix, on_error="raise", **options)
    rec = Recorder(limiter, stall)
    grants: list[tuple[str, float]] = []
    errors: collections.Counter[str] = collections.Counter()
    ok = 0
    async with OzonClient(
        CLIENT_ID, "key", base_url=mock, limiter=rec, max_retries=0, connector_limit=conc
    ) as client:
        # Warm up before the start (imports, HTTP connections, the Redis pool and script): a
        # process's first calls cost tens to hundreds of ms that would show as grant-to-arrival
        # spread, as they would for any service's first calls.
        await asyncio.gather(
            *[client.request("POST", "/__admin/requests", json={}) for _ in range(8)]
        )
        if isinstance(limiter, RedisRateLimiter):
            await asyncio.gather(
                *[limiter.acquire_window(f"warm-up {wid} {i}", 1, 1.0) for i in range(16)]
            )
        await _ready_then_start()
        end = time.monotonic() + seconds
        seq = 0

        async def loop() -> None:
            nonlocal seq, ok
            while time.monotonic() < end:
                seq += 1
                tag = f"{wid}-{seq}"
                try:
                    await client.request("POST", "/v1/roles", json={}, extra_headers={"X-Seq": tag})
                    ok += 1
                except OzonError as exc:
                    errors[type(exc).__name__] += 1
                    await asyncio.sleep(0.05)  # a real worker would not spin on an error
                t = rec.granted.pop(asyncio.current_task(), None)
                if t is not None:
                    grants.append((tag, t))

        tasks = [asyncio.ensure_future(loop()) for _ in range(conc)]
        await asyncio.sleep(max(0.0, end - time.monotonic()))
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await limiter.aclose()  # waits for the slots the cancelled callers give back
    import resource

    ru = resource.getrusage(resource.RUSAGE_SELF)
    cpu = ru.ru_utime + ru.ru_stime
    return {
        "ok": ok,
        "errors": dict(errors),
        "grants": grants,
        "cpu": cpu,
        "stalled": rec.stalled,
        "steps": limiter._counts if isinstance(limiter, RedisRateLimiter) else {},
    }


async def window(
    mock: str, redis_url: str, prefix: str, seconds: float, period: float, wid: str
) -> dict[str, Any]:
    """The stock update goes out right after the per-item grant (the way a bulk helper that
    takes the per-item rule last would send it), on a plain aiohttp session."""
    import aiohttp

    grants: list[float] = []
    headers = {"Client-Id": CLIENT_ID, "Api-Key": "key", "X-Worker": wid}
    async with (
        RedisRateLimiter.from_url(redis_url, prefix=prefix, on_error="raise") as limiter,
        aiohttp.ClientSession(headers=headers) as http,
    ):
        await limiter.acquire_window(f"warm-up {wid}", 1, 1.0)
        async with http.post(mock + "/__admin/requests", json={}) as resp:
            await resp.read()
        await _ready_then_start()
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(limiter.acquire_window(ITEM_KEY, 1, period), left)
            except asyncio.TimeoutError:
                break
            grants.append(time.monotonic())
            body = {"stocks": [{"offer_id": "PH-1", "stock": len(grants), "warehouse_id": 1}]}
            async with http.post(mock + "/v2/products/stocks", json=body) as resp:
                assert resp.status == 200, await resp.text()
    return {"grants": grants}


def main(argv: list[str]) -> None:
    mode, mock, redis_url, prefix, seconds, arg, wid, *rest = argv
    if mode == "pace":
        stall = None
        if rest:
            low, high, every = rest[0].split(":")
            stall = (float(low), float(high), int(every))
        coro = pace(mock, redis_url, prefix, float(seconds), int(arg), wid, stall)
    else:
        coro = window(mock, redis_url, prefix, float(seconds), float(arg), wid)
    print(json.dumps(asyncio.run(coro)))


if __name__ == "__main__":
    main(sys.argv[1:])
