"""Soak: thousands of reads and writes at concurrency 50 against a loopback server that answers
at random (seeded) with successes, 429, 503, Ozon's breaker, HTML 502 "circuit is open", empty
and truncated bodies, redirects, deep JSON, a gzip bomb, dropped connections and stalls past the
timeout. Every call must return, every failure must be an OzonError, no write may be processed
twice, and memory must stay flat."""

from __future__ import annotations

import asyncio
import functools
import gc
import gzip
import logging
import os
import random
from collections import Counter, defaultdict

import pytest

from ozon_async import OzonClient, OzonError, RateLimiter
from tests._fakes import InstantClock
from tests._servers import RawServer, Reply, Seen

SEED = 20261127
CALLS_WARMUP = 2000
CALLS = 3200
CONCURRENCY = 50
TIMEOUT = 0.3


@functools.cache
def bomb() -> bytes:
    """20 MB of spaces gzipped (made when the soak runs, not at collection in every worker)."""
    return gzip.compress(b" " * 20_000_000)


DEEP = b'{"a":' * 3000 + b"1" + b"}" * 3000
OK_READ = {"warehouses": [{"warehouse_id": 1, "name": "Main"}], "has_next": False, "cursor": ""}
OK_WRITE = {"result": [{"offer_id": "x", "updated": True}]}

# fault -> (weight, processed?): "processed" faults may have applied a write; the others prove
# Ozon refused it before doing anything.
FAULTS: dict[str, tuple[int, bool]] = {
    "ok": (52, True),
    "429": (8, False),
    "breaker": (4, False),
    "503": (6, True),
    "html 502 circuit": (5, True),
    "empty": (3, True),
    "truncated json": (4, True),
    "cut transfer": (3, True),
    "drop after read": (5, True),
    "stall": (3, True),
    "redirect": (2, True),
    "deep 500": (2, True),
    "gzip bomb": (1, True),
    "deep 200": (2, True),
}
NAMES = list(FAULTS)
WEIGHTS = [FAULTS[n][0] for n in NAMES]


class SoakServer:
    """Chooses each answer from a seed, the call's own id and how often that id was seen, so
    the run is reproducible whatever order the requests arrive in."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.processed: dict[str, int] = defaultdict(int)  # write id -> deliveries processed
        self.faults: Counter[str] = Counter()
        self.server = RawServer(self.handle, keep=False)
        bomb()  # made now, not while the server answers

    def handle(self, r: Seen) -> Reply:
        body = r.json()
        write = r.path == "/v2/products/stocks"
        uid = body["stocks"][0]["offer_id"] if write else body["cursor"]
        n = self.seen[uid]
        self.seen[uid] += 1
        fault = random.Random(f"{SEED}:{uid}:{n}").choices(NAMES, WEIGHTS)[0]
        self.faults[fault] += 1
        if write and FAULTS[fault][1]:
            self.processed[uid] += 1
        ok = OK_WRITE if write else OK_READ
        if fault == "ok":
            return Reply(json=ok)
        if fault == "429":
            return Reply(
                429, json={"code": 8, "message": "rate limit"}, headers={"Retry-After": "0"}
            )
        if fault == "breaker":
            return Reply(503, json={"code": 14, "message": "Circle is open", "details": []})
        if fault == "503":
            return Reply(503, body=b"service unavailable")
        if fault == "html 502 circuit":
            page = b"<html><head><title>502 Bad Gateway</title></head><body>circuit is open</body>"
            return Reply(502, body=page, headers={"Content-Type": "text/html"})
        if fault == "empty":
            return Reply(200, body=b"")
        if fault == "truncated json":
            return Reply(200, body=b'{"result": [{"offer_id": "x", "upd')
        if fault == "cut transfer":
            return Reply(200, body=b'{"result": [], "warehouses": []}', truncate=7)
        if fault == "drop after read":
            return Reply(drop=True)
        if fault == "stall":
            return Reply(json=ok, stall=TIMEOUT * 4)
        if fault == "redirect":
            return Reply(307, headers={"Location": "http://127.0.0.1:9/elsewhere"})
        if fault == "deep 500":
            return Reply(500, body=DEEP, headers={"Content-Type": "application/json"})
        if fault == "gzip bomb":
            return Reply(200, body=bomb(), headers={"Content-Encoding": "gzip"})
        return Reply(200, body=b'{"x": ' + DEEP + b"}")  # deep 200


class NoLimits(RateLimiter):
    """Grants everything at once: the soak is about failures, not pacing (the write used here,
    /v2/products/stocks, is limited to 80 a minute by the spec)."""

    async def acquire(self, key: str, requests: float, period: float) -> None:
        return None

    async def acquire_window(
        self, key: str, limit: int, period: float, *, wait: bool = True
    ) -> float:
        return 0.0


def rss_mib() -> float | None:
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run_calls(
    client: OzonClient, first: int, count: int, outcomes: Counter[str], bad: list[BaseException]
) -> None:
    queue = iter(range(first, first + count))

    async def worker() -> None:
        for i in queue:
            uid = f"call-{i}"
            try:
                if i % 2:
                    stocks = [{"offer_id": uid, "stock": 1, "warehouse_id": 1}]
                    await client.products.stocks_v2(stocks=stocks)
                else:
                    await client.warehouse.list_v2(limit=1, cursor=uid)
                outcomes["ok"] += 1
            except OzonError as exc:
                outcomes[type(exc).__name__] += 1
            except BaseException as exc:  # anything else is a failure of the SDK
                bad.append(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise

    await asyncio.wait_for(asyncio.gather(*[worker() for _ in range(CONCURRENCY)]), 50)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_soak(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="ozon_async")  # thousands of retry records otherwise
    soak = SoakServer()
    outcomes: Counter[str] = Counter()
    bad: list[BaseException] = []
    async with soak.server as server:
        client = OzonClient(
            "soak",
            "soak-key",
            base_url=server.url,
            timeout=TIMEOUT,
            max_retries=3,
            max_retry_wait=5,
            circuit_open_wait=0.05,
            max_response_bytes=1 << 20,
            connector_limit=CONCURRENCY,
            limiter=NoLimits(),
            rate_limit=None,
            clock=InstantClock(),
        )
        async with client:
            await run_calls(client, 0, CALLS_WARMUP, outcomes, bad)
            gc.collect()
            before = rss_mib()
            await run_calls(client, CALLS_WARMUP, CALLS, outcomes, bad)
            gc.collect()
            after = rss_mib()
    print(f"\nsoak outcomes: {dict(outcomes)}\nserver faults: {dict(soak.faults)}")
    print(f"RSS after warm-up {before} MiB, after {CALLS} more calls {after} MiB")

    assert not bad, bad[:3]  # every exception was an OzonError
    assert sum(outcomes.values()) == CALLS_WARMUP + CALLS  # every call returned
    # No write was processed twice: after an ambiguous failure it was never resent.
    twice = {uid: n for uid, n in soak.processed.items() if n > 1}
    assert not twice, list(twice.items())[:5]
    # Writes refused unprocessed (429, Ozon's breaker) were resent and mostly went through.
    writes_resent = sum(1 for uid, n in soak.seen.items() if n > 1 and int(uid[5:]) % 2)
    assert writes_resent > 0
    assert outcomes["ok"] > (CALLS_WARMUP + CALLS) // 2
    for fault in FAULTS:
        assert soak.faults[fault] > 0, fault  # every kind of fault was exercised
    if before is not None and after is not None:
        assert after - before < 16, (before, after)  # flat, within allocator noise
