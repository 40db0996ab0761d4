"""The sandbox sends push notifications to a real loopback receiver, as Ozon would: a stock update
gives TYPE_STOCKS_CHANGED, a shipment TYPE_STATE_CHANGED, and so on; it pings at start, checks the
answer like Ozon's URL check, and resends on a non-200."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ozon_async import OzonClient
from ozon_async.push import (
    PushCreateOrUpdateItem,
    PushNewMessage,
    PushNewPosting,
    PushPostingCancelled,
    PushReceiver,
    PushStateChanged,
    PushStocksChanged,
)
from ozon_async.testing import ManualClock, Sandbox
from ozon_async.testing._push import ozon_resend_delays
from tests._readme import readme_examples, run_example
from tests.conftest import ROOT


@pytest.fixture
async def receiver(tmp_path: Path) -> AsyncIterator[tuple[PushReceiver, list[Any]]]:
    r = PushReceiver(tmp_path / "push.sqlite3", allow_any_address=True)
    seen: list[Any] = []

    @r.on()
    async def record(event: Any) -> None:
        seen.append(event)

    await r.serve("127.0.0.1", 0)
    yield r, seen
    await r.close()


def live_product(sb: Sandbox) -> Any:
    return next(
        p for p in sorted(sb.state.products.values(), key=lambda p: p.offer_id) if not p.archived
    )


async def test_stock_update_and_shipment_arrive_as_typed_events(
    receiver: tuple[PushReceiver, list[Any]],
) -> None:
    r, seen = receiver
    async with Sandbox(seed=3, push_url=f"http://127.0.0.1:{r.port}/ozon") as sb:
        assert sb.pusher is not None and sb.pusher.ping_errors == []
        async with OzonClient(sb.client_id, sb.api_key, base_url=sb.url) as client:
            wid = sorted(sb.state.warehouses)[0]
            p = live_product(sb)
            answer = await client.products.stocks_v2(
                stocks=[{"offer_id": p.offer_id, "stock": 42, "warehouse_id": wid}]
            )
            assert answer.result is not None and answer.result[0].updated
            number = sb.place_order([p.offer_id], quantity=2)
            await client.posting.fbs_ship_v4(
                posting_number=number,
                packages=[{"products": [{"product_id": p.product_id, "quantity": 2}]}],
            )
        await sb.push_settled(10)
        assert [d.message_type for d in sb.pushes] == [
            "TYPE_STOCKS_CHANGED",
            "TYPE_NEW_POSTING",
            "TYPE_STATE_CHANGED",
        ]
        assert all(d.delivered and [s for _, s in d.attempts] == [200] for d in sb.pushes)
    await r.drain()
    stocks, new, shipped = seen
    assert isinstance(stocks, PushStocksChanged) and stocks.items is not None
    assert stocks.seller_id == sb.company_id
    (item,) = stocks.items
    assert (item.product_id, item.sku) == (p.product_id, p.sku)
    assert item.stocks is not None and item.stocks[0].warehouse_id == wid
    assert item.stocks[0].present == 42 + p.reserved.get(wid, 0)
    assert isinstance(new, PushNewPosting) and new.posting_number == number
    assert new.products is not None and new.products[0].quantity == 2
    assert isinstance(shipped, PushStateChanged) and shipped.posting_number == number
    # awaiting_deliver is the push status the spec pairs first with it
    assert shipped.new_state == "posting_transferring_to_delivery"


async def test_cancellation_import_and_chat(receiver: tuple[PushReceiver, list[Any]]) -> None:
    r, seen = receiver
    clock = ManualClock()
    async with Sandbox(seed=4, clock=clock, push_url=f"http://127.0.0.1:{r.port}/") as sb:
        async with OzonClient(sb.client_id, sb.api_key, base_url=sb.url, clock=clock) as client:
            number = sb.place_order([live_product(sb).offer_id])
            await client.posting.fbs_cancel_v2(
                posting_number=number, cancel_reason_id=352, cancel_reason_message="out of stock"
            )
            task = await client.product.import_v3(
                items=[
                    {
                        "offer_id": "NEW-1",
                        "name": "A new product",
                        "price": "990",
                        "description_category_id": 17028922,
                        "type_id": 94765,
                        "attributes": [],
                    }
                ]
            )
            assert task.result is not None and task.result.task_id is not None
            sb.advance(60)
            await client.product.import_info_v1(task_id=task.result.task_id)
            chat = next(c for c in sb.state.chats.values() if c.chat_status == "Opened")
            message_id = sb.buyer_message(chat.chat_id, "Where is my order?")
        await sb.push_settled(10)
    await r.drain()
    kinds = [type(e) for e in seen]
    assert kinds == [PushNewPosting, PushPostingCancelled, PushCreateOrUpdateItem, PushNewMessage]
    cancelled, item, message = seen[1:]
    assert cancelled.posting_number == number and cancelled.new_state == "posting_canceled"
    assert cancelled.old_state == "posting_created"
    assert cancelled.reason is not None and cancelled.reason.id == 352
    assert item.offer_id == "NEW-1" and item.is_error is False and item.product_id
    assert message.message_id == message_id and message.data == ["Where is my order?"]
    assert message.user is not None and message.user.type == "Customer"


async def test_non_200_is_resent_as_ozon_does() -> None:
    """A receiver that fails twice: the event comes again after 5 and then 10 sandbox seconds;
    one that never answers 200 is given up after Ozon's schedule."""
    answers = [500, 503]
    got: list[Any] = []

    async def flaky(request: web.Request) -> web.Response:
        body = await request.json()
        if body["message_type"] == "TYPE_PING":
            return web.json_response({"version": "1", "name": "t", "time": "2026-01-01T00:00:00Z"})
        got.append(body)
        status = answers.pop(0) if answers else 200
        return web.json_response({"result": status == 200}, status=status)

    app = web.Application()
    app.router.add_post("/", flaky)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        clock = ManualClock()
        async with Sandbox(seed=1, clock=clock, push_url=url) as sb:
            sb.place_order([live_product(sb).offer_id])
            await sb.push_settled(10)
            (delivery,) = sb.pushes
            statuses = [s for _, s in delivery.attempts]
            times = [t for t, _ in delivery.attempts]
            assert statuses == [500, 503, 200] and delivery.delivered
            assert [round(b - a) for a, b in itertools.pairwise(times)] == [5, 10]
            assert len(got) == 3 and got[0] == got[2]  # the same body each time
    finally:
        await runner.cleanup()
    delays = ozon_resend_delays()
    assert delays[:3] == (5.0, 10.0, 20.0) and delays[-6:] == (320.0, *[600.0] * 5)


@pytest.mark.parametrize(
    "answer,problem",
    [
        (web.json_response({"result": True}), "WRONG_RESULT_FIELD"),
        (
            web.json_response({"version": "1", "name": "n", "time": "noon"}),
            "WRONG_RESULT_TIME_FIELD",
        ),
        (web.Response(status=500), "SERVER_FAULT"),
        (web.Response(status=404), "STATUS_CODE_NOT_OK"),
        (web.Response(status=200), "EMPTY_BODY"),
        (web.Response(status=200, text="ok"), "INVALID_BODY"),
        (web.Response(status=200, text="{", content_type="application/json"), "INVALID_JSON"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
async def test_the_ping_at_start_is_checked_like_ozons_url_check(
    answer: web.Response, problem: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return answer

    app = web.Application()
    app.router.add_post("/", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        async with Sandbox(seed=1, push_url=url) as sb:
            assert sb.pusher is not None and sb.pusher.ping_errors == [problem]
    finally:
        await runner.cleanup()


async def test_nothing_is_sent_without_a_push_url() -> None:
    async with Sandbox(seed=1) as sb:
        async with OzonClient(sb.client_id, sb.api_key, base_url=sb.url) as client:
            number = sb.place_order([live_product(sb).offer_id])
            await client.posting.fbs_cancel_v2(posting_number=number, cancel_reason_id=352)
        assert sb.pusher is None and sb.pushes == []
        assert sb.state.postings[number].status == "cancelled"


async def test_the_command_line_sandbox_pushes_to_the_command_line_receiver(
    tmp_path: Path,
) -> None:
    """python -m ozon_async.push --jsonl FILE and python -m ozon_async.testing --push-url: a
    buyer's order placed through the sandbox's admin endpoint ends up in the file, once."""
    jsonl = tmp_path / "events.jsonl"
    procs: list[subprocess.Popen[str]] = []

    async def start(*args: str) -> str:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
        )
        procs.append(proc)
        assert proc.stdout is not None
        return await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), 60)

    try:
        line = await start(
            "ozon_async.push",
            "--host", "127.0.0.1",
            "--port", "0",
            "--store", str(tmp_path / "p.sqlite3"),
            "--jsonl", str(jsonl),
            "--allow-any-address",
        )  # fmt: skip
        port = int(line.split("http://127.0.0.1:")[1].split()[0])
        line = await start(
            "ozon_async.testing",
            "--port",
            "0",
            "--push-url",
            f"http://127.0.0.1:{port}/",
            "--any-key",
        )
        sandbox = line.split(" on ")[1].split()[0]
        assert procs[1].stdout is not None
        ping = await asyncio.wait_for(asyncio.to_thread(procs[1].stdout.readline), 30)
        while "ping" not in ping and ping:  # after the line of the credentials it accepts
            ping = await asyncio.wait_for(asyncio.to_thread(procs[1].stdout.readline), 30)
        assert "ping: answered correctly" in ping
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{sandbox}/__admin/state", json={}) as resp:
                assert resp.status == 200
            offer = "ART-01001"
            async with http.post(f"{sandbox}/__admin/order", json={"offer_ids": [offer]}) as resp:
                number = (await resp.json())["posting_number"]
            for bad in ({"offer_ids": ["nope"]}, {"offer_ids": "ART-01001"}, {"offer_ids": []}):
                async with http.post(f"{sandbox}/__admin/order", json=bad) as resp:
                    assert resp.status == 400, bad
            async with http.post(f"{sandbox}/__admin/message", json={"chat_id": "x"}) as resp:
                assert resp.status == 400
        for _ in range(200):
            if jsonl.exists() and jsonl.read_text().count("\n") >= 1:
                break
            await asyncio.sleep(0.05)
        lines = jsonl.read_text().splitlines()
        assert len(lines) == 1
        event = json.loads(lines[0])
        assert event["message_type"] == "TYPE_NEW_POSTING" and event["posting_number"] == number
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(30)
            if proc.stdout is not None:
                proc.stdout.close()


def test_the_readme_example_runs_as_written() -> None:
    ((code, shown),) = readme_examples("Push notifications")
    assert shown is not None
    assert run_example(code) == shown
