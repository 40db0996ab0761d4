"""ozon_async quickstart: a seller's daily jobs in one run, each with the SDK's own helper.

Without credentials it starts the bundled sandbox (a local Ozon shop, seeded, running 60 times
faster than real time) and runs every step against it:

    python examples/quickstart.py

With OZON_CLIENT_ID and OZON_API_KEY set (and no OZON_BASE_URL) it talks to the real Seller
API and runs only the read-only steps: nothing in your shop changes.

The run is a list of steps (``STEPS``); each is an ``async def step_...(demo)`` that reads and
writes what it needs on ``demo`` and prints one numbered line. The other scripts in examples/
show each job on its own.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ozon_async import OzonClient, ServerError
from ozon_async.testing import Sandbox, ScaledClock


@dataclass
class Demo:
    """What the steps share."""

    client: OzonClient
    sandbox: Sandbox | None  # None: the real API (read-only steps only)
    now: datetime
    summary: dict[str, object] = field(default_factory=dict)
    warehouse_ids: list[int] = field(default_factory=list)
    imported: list[str] = field(default_factory=list)  # offer ids of the products imported
    step: int = 0

    def say(self, text: str) -> None:
        self.step += 1
        print(f"{self.step}. {text}")


Step = Callable[[Demo], Awaitable[None]]


# ------------------------------------------------------------------------ read-only steps
async def step_warehouses(demo: Demo) -> None:
    """Warehouses, across pages (a cursor-paginated read)."""
    warehouses = [w async for w in demo.client.warehouse.list_v2.iter(limit=100)]
    demo.warehouse_ids = [w.warehouse_id for w in warehouses if w.warehouse_id and not w.is_rfbs]
    demo.summary["warehouses"] = len(warehouses)
    demo.say(f"{len(warehouses)} warehouses: " + ", ".join(repr(w.name) for w in warehouses))


async def step_postings_to_pack(demo: Demo) -> None:
    """FBS postings of the last week waiting to be packed, across pages."""
    started = time.perf_counter()
    week = {"since": demo.now - timedelta(days=7), "to": demo.now}
    waiting = [
        p
        async for p in demo.client.posting.fbs_list_v4.iter(
            limit=5, filter={**week, "statuses": ["awaiting_packaging"]}
        )
    ]
    demo.summary["awaiting_packaging"] = len(waiting)
    example = f", e.g. {waiting[0].posting_number}" if waiting else ""
    demo.say(
        f"{len(waiting)} FBS postings of the last week are awaiting packaging "
        f"({time.perf_counter() - started:.2f} s){example}"
    )
    if demo.sandbox is not None:
        pages = len(demo.sandbox.requests_for("/v4/posting/fbs/list"))
        print(f"   ({pages} pages of 5 were fetched: the status filter holds on every page)")


# ------------------------------------------------------------------------ steps that write
async def step_import_products(demo: Demo) -> None:
    """Import three products (one invalid) and wait for the task with ``.and_wait()``."""
    category: dict[str, object] = {
        "description_category_id": 17028922,
        "type_id": 94765,
        "vat": "0.2",
    }
    products = [
        ("DEMO-MUG", "Кружка керамическая, белая", "590.00"),
        ("DEMO-LAMP", "Настольная лампа светодиодная", "2490.00"),
        ("DEMO-BAD", "", "0"),  # no name, no price: refused per item
    ]
    items = [{"offer_id": o, "name": n, "price": p, **category} for o, n, p in products]
    done = await demo.client.product.import_v3.and_wait(items=items)
    result = done.status.result
    states = {i.offer_id: i.status for i in result.items} if result else {}
    demo.imported = [offer for offer, state in states.items() if offer and state == "imported"]
    demo.summary["imported"] = len(demo.imported)
    demo.say(f"import task {done.task_id}: {states} after {done.checks} status checks")
    for failed in done.failed_items:
        errors = "; ".join(f"{e.field}: {e.message}" for e in failed.errors)
        print(f"   {failed.offer_id}: {errors}")


async def step_prices(demo: Demo) -> None:
    """Prices for the imported products with ``.bulk()`` (any number, 1,000 per request)."""
    prices = [{"offer_id": o, "price": "499.00", "old_price": "690.00"} for o in demo.imported]
    result = await demo.client.product.import_prices_v1.bulk(prices)
    demo.say(f"prices: {len(result.succeeded)} set, {len(result.failed)} failed")


async def step_stocks(demo: Demo) -> None:
    """Stocks with ``.bulk()``, one offer twice: Ozon allows one update per offer and warehouse
    every 30 s, and ``.bulk()`` sends the repeat when its turn comes instead of losing it."""
    wid = demo.warehouse_ids[0]
    stocks = [{"offer_id": o, "stock": 25, "warehouse_id": wid} for o in demo.imported]
    stocks.append({"offer_id": demo.imported[0], "stock": 30, "warehouse_id": wid})
    result = await demo.client.products.stocks_v2.bulk(stocks)
    demo.summary["stock_updates"] = len(result.succeeded)
    demo.say(
        f"stocks: {len(result.succeeded)} of {len(result)} updates applied in "
        f"{result.requests} requests; the repeated offer waited for its 30-s turn"
    )
    read = await demo.client.product.info_stocks_v4(
        limit=10, filter={"offer_id": demo.imported, "visibility": "ALL"}
    )
    shown = {i.offer_id: [(s.type, s.present) for s in i.stocks] for i in read.items}
    print(f"   read back: {shown}")


async def step_ship_and_label(demo: Demo) -> None:
    """Ship the oldest posting waiting to be packed, in one package, and get its label."""
    client = demo.client
    page = await client.posting.fbs_list_v4(
        limit=1,
        filter={
            "since": demo.now - timedelta(days=30),
            "to": demo.now,
            "statuses": ["awaiting_packaging"],
        },
    )
    if not page.postings:
        demo.say("no posting is waiting to be packed")
        return
    posting = page.postings[0]
    number = posting.posting_number
    if number is None:  # Ozon always sends it; the model allows its absence
        return
    package = [{"product_id": p.sku, "quantity": p.quantity} for p in posting.products]
    await client.posting.fbs_ship_v4(posting_number=number, packages=[{"products": package}])
    after = (await client.posting.fbs_get_v3(posting_number=number)).result
    demo.summary["shipped"] = number
    demo.say(f"shipped {number}: {posting.status} -> {after.status if after else '?'}")
    labels = await print_labels(client, number)
    demo.summary["labels"] = len(labels)
    print("   labels: " + ", ".join(f"{kind} PDF of {size} bytes" for kind, size in labels.items()))


async def print_labels(client: OzonClient, posting_number: str) -> dict[str, int]:
    """FBS labels in Ozon's format of October 2026: one task per label size, waited for, then
    each PDF downloaded (without Ozon's credentials). Returns the PDF sizes by label kind."""
    labels = await client.posting.fbs_package_label_create_v3.and_wait(
        posting_numbers=[posting_number]
    )
    labels.raise_for_failed()
    sizes = {}
    for task in labels.tasks:
        pdf = await task.download()
        assert pdf.startswith(b"%PDF"), pdf[:16]
        sizes[task.kind or str(task.task_id)] = len(pdf)
    return sizes


async def step_report(demo: Demo) -> None:
    """A postings report for the last week: ``.and_wait()``, then its file downloaded."""
    done = await demo.client.report.postings_create_v1.and_wait(
        filter={"processed_at_from": demo.now - timedelta(days=7), "processed_at_to": demo.now},
        language="DEFAULT",
    )
    done.raise_for_failed()
    text = (await done.download()).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    numbers = {row["Номер отправления"] for row in rows}
    demo.summary["report_postings"] = len(numbers)
    demo.say(
        f"report {done.task_id} {done.state} after {done.checks} checks: {len(rows)} rows "
        f"for {len(numbers)} postings"
    )


async def step_write_not_resent(demo: Demo) -> None:
    """A write that fails with 503 is not sent again: Ozon may already have applied it."""
    sandbox = demo.sandbox
    assert sandbox is not None
    path = "/v1/product/import/prices"
    sandbox.add_fault(path, status=503, times=None)
    before = len(sandbox.requests_for(path))
    try:
        await demo.client.product.import_prices_v1(
            prices=[{"offer_id": demo.imported[0], "price": "510"}]
        )
        raise SystemExit("expected the injected 503")
    except ServerError as exc:
        sent = len(sandbox.requests_for(path)) - before
        demo.summary["write_attempts"] = sent
        demo.say(
            f"a price update failed with {exc.status}; it was sent {sent} time(s), not retried"
        )
    finally:
        sandbox.clear_faults()


async def step_ads(demo: Demo) -> None:
    """The Performance (advertising) API on its own sandbox: campaigns, a bid, statistics."""
    from ozon_async.performance import OzonPerformanceClient
    from ozon_async.testing import PerformanceSandbox

    assert demo.sandbox is not None
    clock = demo.sandbox.clock
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
        campaign = running[0].id
        if campaign is None:  # Ozon always sends it; the model allows its absence
            return
        products = (await ads_client.product.list_v2(campaign_id=campaign)).products
        bid = (products[0].bid or 0) + 5_000_000  # bids are in millionths of a rouble
        await ads_client.product.update(
            campaign_id=campaign, bids=[{"sku": products[0].sku, "bid": bid}]
        )
        ids = ads_sandbox.campaign_ids()
        report = await ads_client.reports.statistics(ids, "2026-01-01", "2026-03-11")
        spend = sum(r.spend or 0 for r in report.rows)
        demo.summary.update(ads_exports=len(report.exports), ads_rows=len(report.rows))
        demo.say(
            f"ads: {len(running)} running campaigns; bid of SKU {products[0].sku} in "
            f"campaign {campaign} set to {bid / 1e6:.2f} RUB; statistics of {len(ids)} campaigns "
            f"x 70 days = {len(report.exports)} exports run one at a time "
            f"(max {ads_sandbox.max_concurrent_exports} at once), {len(report.rows)} rows, spend "
            f"{spend:,.2f} RUB; {ads_client.token_requests} token request(s)"
        )


async def step_push(demo: Demo) -> None:
    """Push notifications offline: a sandbox sends Ozon's events to a local receiver that
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
            async with Sandbox(seed=7, push_url=url) as sandbox, sandbox.client() as client:
                wid = sorted(sandbox.state.warehouses)[0]
                offer = min(p.offer_id for p in sandbox.state.products.values() if not p.archived)
                await client.products.stocks_v2(
                    stocks=[{"offer_id": offer, "stock": 12, "warehouse_id": wid}]
                )
                number = sandbox.place_order([offer])  # a buyer orders: TYPE_NEW_POSTING
                product = sandbox.state.product_by(offer_id=offer)
                assert product is not None
                await client.posting.fbs_ship_v4(
                    posting_number=number,
                    packages=[{"products": [{"product_id": product.product_id, "quantity": 1}]}],
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
    demo.summary["pushes_handled"] = len(got)
    demo.say(f"push notifications sent by the sandbox: {sent}; handled by the receiver:")
    for item in stock.items:
        print(f"   {item.sku}: stock now {[(s.warehouse_id, s.present) for s in item.stocks]}")
    print(f"   {state.posting_number}: {state.new_state} at {state.changed_state_date}")


#: The steps that only read (they run against the real API too), then those that change data.
READ_ONLY: list[Step] = [step_warehouses, step_postings_to_pack]
STEPS: list[Step] = [
    *READ_ONLY,
    step_import_products,
    step_prices,
    step_stocks,
    step_ship_and_label,
    step_report,
    step_write_not_resent,
    step_ads,
    step_push,
]


async def run(demo: Demo) -> dict[str, object]:
    for step in STEPS if demo.sandbox is not None else READ_ONLY:
        await step(demo)
    if demo.sandbox is None:
        print("   (real API: the remaining steps change data and are skipped)")
    return demo.summary


async def main() -> int:
    started = time.perf_counter()
    real = bool(
        os.environ.get("OZON_CLIENT_ID") and os.environ.get("OZON_API_KEY")
    ) and not os.environ.get("OZON_BASE_URL")
    if real:
        print("Running the read-only steps against the real Ozon Seller API")
        async with OzonClient() as client:
            summary = await run(Demo(client, None, datetime.now(timezone.utc)))
    else:
        async with Sandbox(seed=7, clock=ScaledClock(speed=60)) as sandbox:
            print(f"Running against the bundled sandbox at {sandbox.url} (seed 7, 60x time)")
            now = datetime.fromtimestamp(sandbox.now(), timezone.utc)
            async with sandbox.client() as client:  # its credentials and its clock
                summary = await run(Demo(client, sandbox, now))
    print("Summary:", ", ".join(f"{k}={v}" for k, v in summary.items()))
    print(f"Done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
