"""ozon_async quickstart: a seller's daily jobs in one run.

Without credentials it starts the bundled sandbox (a local Ozon shop, seeded, running 60 times
faster than real time) and runs every step against it:

    python examples/quickstart.py

With OZON_CLIENT_ID and OZON_API_KEY set (and no OZON_BASE_URL) it talks to the real Seller
API and runs only the read-only steps: nothing in your shop changes.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp

from ozon_async import OzonClient, ServerError
from ozon_async.testing import Sandbox, SandboxClock, ScaledClock

POLL = 0.2  # real seconds between two status polls (the sandbox runs 60x faster)


async def read_only(client: OzonClient, now: datetime, summary: dict[str, object]) -> list[int]:
    # 1. Warehouses (a cursor-paginated read).
    warehouses = [w async for w in client.warehouse.list_v2.iter(limit=100)]
    summary["warehouses"] = len(warehouses)
    print(f"1. {len(warehouses)} warehouses: " + ", ".join(repr(w.name) for w in warehouses))

    # 2. FBS postings of the last week waiting to be packed, across pages.
    started = time.perf_counter()
    week = {"since": now - timedelta(days=7), "to": now}
    waiting = [
        p
        async for p in client.posting.fbs_list_v4.iter(
            limit=5, filter={**week, "statuses": ["awaiting_packaging"]}
        )
    ]
    summary["awaiting_packaging"] = len(waiting)
    print(
        f"2. {len(waiting)} FBS postings of the last week are awaiting packaging "
        f"({time.perf_counter() - started:.2f} s)"
        + (f", e.g. {waiting[0].posting_number}" if waiting else "")
    )
    return [w.warehouse_id for w in warehouses if w.warehouse_id and not w.is_rfbs]


async def print_labels(client: OzonClient, posting_number: str) -> dict[str, int]:
    """FBS labels in Ozon's format of October 2026: one task per label size, waited for, then
    each PDF downloaded (without Ozon's credentials). Returns the PDF sizes by label kind."""
    labels = await client.posting.fbs_package_label_create_v3.waiting(interval=POLL)(
        posting_numbers=[posting_number]
    )
    labels.raise_for_failed()
    sizes = {}
    for task in labels.tasks:
        pdf = await task.download()
        assert pdf.startswith(b"%PDF"), pdf[:16]
        sizes[task.kind or str(task.task_id)] = len(pdf)
    return sizes


async def run(client: OzonClient, sandbox: Sandbox | None) -> dict[str, object]:
    summary: dict[str, object] = {}
    now = (
        datetime.fromtimestamp(sandbox.now(), timezone.utc)
        if sandbox
        else datetime.now(timezone.utc)
    )
    warehouse_ids = await read_only(client, now, summary)
    if sandbox is None:
        print("   (real API: the remaining steps change data and are skipped)")
        return summary
    pages = len(sandbox.requests_for("/v4/posting/fbs/list"))
    print(f"   ({pages} pages of 5 were fetched: the status filter holds on every page)")
    imported = await import_products(client, summary)
    await prices_and_stocks(client, imported, warehouse_ids[0], summary)
    await ship_oldest(client, now, summary)
    await postings_report(client, now, summary)
    await write_not_resent(client, sandbox, imported, summary)
    return summary


async def import_products(client: OzonClient, summary: dict[str, object]) -> list[Any]:
    # 3. Import three products (one of them invalid) and wait for the task.
    items = [
        {"offer_id": "DEMO-MUG", "name": "Кружка керамическая, белая", "price": "590.00"},
        {"offer_id": "DEMO-LAMP", "name": "Настольная лампа светодиодная", "price": "2490.00"},
        {"offer_id": "DEMO-BAD", "name": "", "price": "0"},
    ]
    for item in items:
        item.update(description_category_id=17028922, type_id=94765, vat="0.2")
    task_id = (await client.product.import_v3(items=items)).result.task_id  # type: ignore[union-attr]
    polls = 0
    while True:
        polls += 1
        info = await client.product.import_info_v1(task_id=task_id)
        statuses = {i.offer_id: i.status for i in info.result.items or []}  # type: ignore[union-attr]
        if "pending" not in statuses.values():
            break
        await asyncio.sleep(POLL)
    failed = [i for i in info.result.items or [] if i.errors]  # type: ignore[union-attr]
    imported = [o for o, s in statuses.items() if s == "imported"]
    summary["imported"] = len(imported)
    print(f"3. import task {task_id}: {statuses} after {polls} polls")
    for item in failed:
        print(
            f"   {item.offer_id}: "
            + "; ".join(f"{e.field}: {e.message}" for e in item.errors or [])
        )
    return imported


async def prices_and_stocks(
    client: OzonClient, imported: list[Any], wid: int, summary: dict[str, object]
) -> None:
    # 4. Prices for the imported products.
    prices = await client.product.import_prices_v1(
        prices=[{"offer_id": o, "price": "499.00", "old_price": "690.00"} for o in imported]
    )
    print(f"4. prices set: {[(r.offer_id, r.updated) for r in prices.result or []]}")

    # 5. Stocks at the first warehouse, with one offer sent twice: Ozon allows one update per
    #    offer and warehouse every 30 s and refuses the repeat per item, inside an HTTP 200 answer.
    stocks_sent = [{"offer_id": o, "stock": 25, "warehouse_id": wid} for o in imported]
    stocks_sent.append({"offer_id": imported[0], "stock": 30, "warehouse_id": wid})
    answer = await client.products.stocks_v2(stocks=stocks_sent)
    results = answer.result or []
    refused = [(r.offer_id, e.code, e.message) for r in results for e in r.errors or []]
    summary["stock_refused"] = len(refused)
    print(f"5. stocks: {[(r.offer_id, r.updated) for r in results]}")
    for offer, code, message in refused:
        print(f"   {offer}: {code} ({message})")
    stocks = await client.product.info_stocks_v4(
        limit=10, filter={"offer_id": imported, "visibility": "ALL"}
    )
    shown = {i.offer_id: [(s.type, s.present) for s in i.stocks or []] for i in stocks.items or []}
    print(f"   read back: {shown}")


async def ship_oldest(client: OzonClient, now: datetime, summary: dict[str, object]) -> None:
    # 6. Ship the oldest posting waiting to be packed, in one package.
    posting = await client.posting.fbs_list_v4(
        limit=1,
        filter={"since": now - timedelta(days=30), "to": now, "statuses": ["awaiting_packaging"]},
    )
    p = (posting.postings or [])[0]
    package = [{"product_id": x.sku, "quantity": x.quantity} for x in p.products or []]
    await client.posting.fbs_ship_v4(
        posting_number=p.posting_number, packages=[{"products": package}]
    )
    after = (await client.posting.fbs_get_v3(posting_number=p.posting_number)).result
    summary["shipped"] = p.posting_number
    print(f"6. shipped {p.posting_number}: {p.status} -> {after.status if after else '?'}")
    labels = await print_labels(client, p.posting_number)
    summary["labels"] = len(labels)
    print("   labels: " + ", ".join(f"{kind} PDF of {size} bytes" for kind, size in labels.items()))


async def postings_report(client: OzonClient, now: datetime, summary: dict[str, object]) -> None:
    # 7. A postings report for the last week: create, wait, download, read.
    created = await client.report.postings_create_v1(
        filter={"processed_at_from": now - timedelta(days=7), "processed_at_to": now},
        language="DEFAULT",
    )
    code = created.result.code  # type: ignore[union-attr]
    seen = []
    while True:
        report = (await client.report.info_v1(code=code)).result
        assert report is not None
        if not seen or seen[-1] != report.status:
            seen.append(report.status)
        if report.status == "success":
            break
        await asyncio.sleep(POLL)
    async with aiohttp.ClientSession() as http, http.get(report.file or "") as r:
        text = (await r.read()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    numbers = {row["Номер отправления"] for row in rows}
    summary["report_postings"] = len(numbers)
    print(
        f"7. report {' -> '.join(str(s) for s in seen)}; {len(rows)} rows for {len(numbers)} postings "
        f"downloaded from {(report.file or '').split('/__files')[0]}"
    )


async def write_not_resent(
    client: OzonClient, sandbox: Sandbox, imported: list[Any], summary: dict[str, object]
) -> None:
    # 8. A write that fails with 503 is not sent again: Ozon may already have applied it.
    sandbox.add_fault("/v1/product/import/prices", status=503, times=None)
    before = len(sandbox.requests_for("/v1/product/import/prices"))
    try:
        await client.product.import_prices_v1(prices=[{"offer_id": imported[0], "price": "510"}])
        raise SystemExit("expected the injected 503")
    except ServerError as exc:
        sent = len(sandbox.requests_for("/v1/product/import/prices")) - before
        summary["write_attempts"] = sent
        print(
            f"8. a price update failed with {exc.status}; it was sent {sent} time(s), not retried"
        )
    sandbox.clear_faults()


async def ads(clock: SandboxClock) -> dict[str, object]:
    """9. The Performance (advertising) API on its own sandbox: campaigns, a bid, statistics."""
    from ozon_async.performance import OzonPerformanceClient
    from ozon_async.testing import PerformanceSandbox

    async with (
        PerformanceSandbox(seed=7, clock=clock, campaigns=12) as ads_sandbox,
        OzonPerformanceClient(
            "12345678-demo@advertising.performance.ozon.ru",
            "demo-secret",
            base_url=ads_sandbox.url,
            clock=clock,  # the sandbox's time: reports are ready in sandbox seconds
        ) as ads_client,
    ):
        running = [c async for c in ads_client.campaign.list.iter(state="CAMPAIGN_STATE_RUNNING")]
        first = running[0]
        products = (await ads_client.product.list_v2(campaign_id=first.id)).products or []
        bid = (products[0].bid or 0) + 5_000_000  # bids are in millionths of a rouble
        await ads_client.product.update(
            campaign_id=first.id, bids=[{"sku": products[0].sku, "bid": bid}]
        )
        ids = ads_sandbox.campaign_ids()
        report = await ads_client.reports.statistics(ids, "2026-01-01", "2026-03-11")
        spend = sum(r.spend or 0 for r in report.rows)
        print(
            f"9. ads: {len(running)} running campaigns; bid of SKU {products[0].sku} in "
            f"campaign {first.id} set to {bid / 1e6:.2f} RUB; statistics of {len(ids)} campaigns "
            f"x 70 days = {len(report.exports)} exports run one at a time "
            f"(max {ads_sandbox.max_concurrent_exports} at once), {len(report.rows)} rows, spend "
            f"{spend:,.2f} RUB; {ads_client.token_requests} token request(s)"
        )
        return {"ads_exports": len(report.exports), "ads_rows": len(report.rows)}


async def push_demo() -> dict[str, object]:
    """10. Push notifications offline: a sandbox sends Ozon's events to a local receiver that
    stores each one before answering and hands it to a typed handler."""
    import tempfile

    from ozon_async.push import PushReceiver, PushStateChanged, PushStocksChanged

    with tempfile.TemporaryDirectory() as tmp:
        receiver = PushReceiver(f"{tmp}/push.sqlite3", allow_any_address=True)
        got: list[PushStocksChanged | PushStateChanged] = []

        @receiver.on(PushStocksChanged, PushStateChanged)
        async def sync(event: PushStocksChanged | PushStateChanged) -> None:
            got.append(event)

        await receiver.serve("127.0.0.1", 0)
        url = f"http://127.0.0.1:{receiver.port}/ozon/push"
        try:
            async with Sandbox(seed=7, push_url=url) as sandbox:
                async with OzonClient("123456", "demo-key", base_url=sandbox.url) as client:
                    wid = sorted(sandbox.state.warehouses)[0]
                    offer = min(
                        p.offer_id for p in sandbox.state.products.values() if not p.archived
                    )
                    await client.products.stocks_v2(
                        stocks=[{"offer_id": offer, "stock": 12, "warehouse_id": wid}]
                    )
                    number = sandbox.place_order([offer])  # a buyer orders: TYPE_NEW_POSTING
                    product = sandbox.state.product_by(offer_id=offer)
                    assert product is not None
                    await client.posting.fbs_ship_v4(
                        posting_number=number,
                        packages=[
                            {"products": [{"product_id": product.product_id, "quantity": 1}]}
                        ],
                    )
                await sandbox.push_settled(10)
                sent = [d.message_type for d in sandbox.pushes]
            await receiver.drain(10)
        finally:
            await receiver.close()
    kinds = [e.message_type for e in got]
    if kinds != ["TYPE_STOCKS_CHANGED", "TYPE_STATE_CHANGED"]:
        raise SystemExit(f"push demo: expected a stock change and a status change, got {kinds}")
    stock, state = got
    assert isinstance(stock, PushStocksChanged) and isinstance(state, PushStateChanged)
    print(f"10. push notifications sent by the sandbox: {sent}; handled by the receiver:")
    for item in stock.items or []:
        print(
            f"   {item.sku}: stock now {[(s.warehouse_id, s.present) for s in item.stocks or []]}"
        )
    print(f"   {state.posting_number}: {state.new_state} at {state.changed_state_date}")
    return {"pushes_handled": len(got)}


async def main() -> int:
    started = time.perf_counter()
    real = bool(
        os.environ.get("OZON_CLIENT_ID") and os.environ.get("OZON_API_KEY")
    ) and not os.environ.get("OZON_BASE_URL")
    if real:
        print("Running the read-only steps against the real Ozon Seller API")
        async with OzonClient() as client:
            summary = await run(client, None)
    else:
        async with Sandbox(seed=7, clock=ScaledClock(speed=60)) as sandbox:
            print(f"Running against the bundled sandbox at {sandbox.url} (seed 7, 60x time)")
            async with OzonClient("123456", "demo-key", base_url=sandbox.url) as client:
                summary = await run(client, sandbox)
            summary.update(await ads(sandbox.clock))
        summary.update(await push_demo())
    print("Summary:", ", ".join(f"{k}={v}" for k, v in summary.items()))
    print(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
