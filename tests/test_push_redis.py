"""The Redis push store against a real redis-server: receivers behind a load balancer share one
stream (each event handled once, resends recognised by all), retries wait in Redis, and a killed
receiver's events are taken up again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import msgspec
import pytest

from ozon_async.push import HandlerRetry, PushReceiver, PushStateChanged
from ozon_async.testing import ManualClock
from tests._redis import REQUIRE_ENV, RedisServer, RedisUnavailable
from tests.conftest import ROOT

if os.environ.get(REQUIRE_ENV) != "1":
    pytest.importorskip("redis.asyncio", reason="needs the redis extra: pip install '.[redis]'")
from ozon_async.push import RedisStore

STATE = {
    "message_type": "TYPE_STATE_CHANGED",
    "posting_number": "24219509-0020-2",
    "new_state": "posting_delivered",
    "seller_id": 15,
}


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
    except RedisUnavailable as exc:
        server.close()
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1 but {exc}")
        pytest.skip(f"needs a local redis-server: {exc}")
    yield server
    server.close()


@pytest.fixture
def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, body: Any) -> int:
    async with http.post(url, data=msgspec.json.encode(body)) as resp:
        assert await resp.json() == {"result": True}
        return resp.status


def recording(receiver: PushReceiver, seen: list[Any], tag: str) -> None:
    async def record(event: Any) -> None:
        seen.append((tag, event))

    receiver.add_handler(record, name="record")


async def test_receivers_sharing_redis_handle_each_event_once(
    redis_server: RedisServer, prefix: str, http: aiohttp.ClientSession
) -> None:
    seen: list[Any] = []
    receivers = []
    for name in ("a", "b"):
        r = PushReceiver(
            RedisStore(redis_server.url, prefix=prefix, consumer=name, poll_interval=0.05),
            allow_any_address=True,
        )
        recording(r, seen, name)
        await r.serve("127.0.0.1", 0)
        receivers.append(r)
    urls = [f"http://127.0.0.1:{r.port}/" for r in receivers]
    try:
        events = [{**STATE, "posting_number": f"p-{i}"} for i in range(40)]
        for i, body in enumerate(events):  # a load balancer alternating, and Ozon resending
            assert await post(http, urls[i % 2], body) == 200
            assert await post(http, urls[(i + 1) % 2], body) == 200
        for r in receivers:
            await r.drain()
        numbers = sorted(e.posting_number for _, e in seen)
        assert numbers == sorted(b["posting_number"] for b in events)
        assert {tag for tag, _ in seen} == {"a", "b"}  # both took a share
        assert await receivers[0].counts() == {"pending": 0, "failed": 0}
        assert sum(r.stats["duplicates"] for r in receivers) == 40
    finally:
        for r in receivers:
            await r.close()


async def test_retries_wait_in_redis(
    redis_server: RedisServer, prefix: str, http: aiohttp.ClientSession
) -> None:
    clock = ManualClock()
    store = RedisStore(redis_server.url, prefix=prefix, poll_interval=0.05)
    receiver = PushReceiver(
        store, allow_any_address=True, clock=clock, retry=HandlerRetry(initial=5, factor=2)
    )
    runs: list[float] = []

    @receiver.on(PushStateChanged)
    async def flaky(event: PushStateChanged) -> None:
        runs.append(clock.now())
        if len(runs) <= 2:
            raise RuntimeError("down")

    await receiver.serve("127.0.0.1", 0)
    try:
        assert await post(http, f"http://127.0.0.1:{receiver.port}/", STATE) == 200
        await receiver.drain()
        assert len(runs) == 3
        assert runs[1] - runs[0] == pytest.approx(5, abs=0.2)
        assert runs[2] - runs[1] == pytest.approx(10, abs=0.2)
        assert await receiver.counts() == {"pending": 0, "failed": 0}
    finally:
        await receiver.close()


@pytest.mark.parametrize("same_name", [True, False], ids=["restarted", "taken-over"])
async def test_a_killed_receivers_events_are_handled(
    redis_server: RedisServer, prefix: str, http: aiohttp.ClientSession, same_name: bool
) -> None:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "_push_worker.py"), redis_server.url, "w1", prefix],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    sent = [{**STATE, "posting_number": f"k-{i}"} for i in range(6)]
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)
        for body in sent:
            assert await post(http, f"http://127.0.0.1:{int(line)}/", body) == 200
        await asyncio.sleep(0.3)  # let the stuck handlers take their first events
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()
    store = RedisStore(
        redis_server.url,
        prefix=prefix,
        consumer="w1" if same_name else "w2",
        claim_after=0.5,
        poll_interval=0.05,
    )
    seen: list[Any] = []
    receiver = PushReceiver(store, allow_any_address=True)
    recording(receiver, seen, "again")
    async with receiver:
        await asyncio.sleep(0.6)  # past claim_after for the take-over
        await receiver.drain()
    assert sorted(e.posting_number for _, e in seen) == sorted(b["posting_number"] for b in sent)
