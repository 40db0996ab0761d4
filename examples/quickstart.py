"""ozon_async quickstart: the SDK's everyday jobs in one run.

Without credentials it starts the bundled mock Ozon server and runs every step against it:

    python examples/quickstart.py

With OZON_CLIENT_ID and OZON_API_KEY set (and no OZON_BASE_URL) it talks to the real Seller
API and runs only the read-only steps: nothing in your shop changes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import msgspec

from ozon_async import OPERATIONS, OzonClient, ServerError
from ozon_async.testing import MockOzonServer
from ozon_async.types import ProductsStocksV2Request


def batch_limit(request_type: type, field: str) -> int:
    """The most items one request may carry, read from the generated model (the spec's maxItems)."""
    info = msgspec.inspect.type_info(request_type)
    assert isinstance(info, msgspec.inspect.StructType)
    for f in info.fields:
        if f.name == field:
            t = f.type
            while isinstance(t, msgspec.inspect.UnionType):
                t = next(x for x in t.types if not isinstance(x, msgspec.inspect.NoneType))
            assert isinstance(t, msgspec.inspect.ListType) and t.max_length
            return t.max_length
    raise LookupError(field)


async def run(client: OzonClient, server: MockOzonServer | None) -> dict[str, object]:
    summary: dict[str, object] = {}

    # 1. Warehouses (a cursor-paginated read).
    warehouses = [w async for w in client.warehouse.list_v2.iter(limit=100)]
    summary["warehouses"] = len(warehouses)
    print(
        f"1. {len(warehouses)} warehouses, e.g. {warehouses[0].name!r}"
        if warehouses
        else "1. no warehouses"
    )

    # 2. Every FBS posting of the last week, across pages; the client fetches a page only when
    #    the loop needs it.
    now = datetime.now(timezone.utc)
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    async for posting in client.posting.fbs_list_v4.iter(
        limit=100, filter={"since": now - timedelta(days=7), "to": now}
    ):
        status = posting.status or "unknown"
        statuses[status] = statuses.get(status, 0) + 1
    count = sum(statuses.values())
    pages = len(server.requests_for("/v4/posting/fbs/list")) if server else None
    summary["postings"] = count
    print(
        f"2. {count} FBS postings"
        + (f" in {pages} pages" if pages else "")
        + f" ({time.perf_counter() - started:.2f} s), by status: {statuses}"
    )

    if server is None:
        print("   (real API: the remaining steps change data and are skipped)")
        return summary

    # 3. Stock for 300 offers: batches of the per-request maximum, paced by the method's limit.
    per_request = batch_limit(ProductsStocksV2Request, "stocks")
    limit = OPERATIONS["POST /v2/products/stocks"].rate_limit
    wh = warehouses[0].warehouse_id if warehouses else 1
    stocks = [{"offer_id": f"SKU-{i:04d}", "stock": i % 17, "warehouse_id": wh} for i in range(300)]
    started = time.perf_counter()
    updated = 0
    for i in range(0, len(stocks), per_request):
        resp = await client.products.stocks_v2(stocks=stocks[i : i + per_request])
        updated += sum(1 for r in resp.result or [] if r.updated)
    took = time.perf_counter() - started
    batches = len(server.requests_for("/v2/products/stocks"))
    summary["stock_batches"] = batches
    print(
        f"3. stock for {len(stocks)} offers sent in {batches} requests of at most {per_request} "
        f"({took:.2f} s: the method allows {limit.requests if limit else '?'} requests per minute, "
        f"so the client spaces them)"
    )

    # 4. A 429 with Retry-After is waited out, then the call succeeds.
    server.add_fault("/v2/warehouse/list", status=429, headers={"Retry-After": "1"})
    started = time.perf_counter()
    await client.warehouse.list_v2(limit=10)
    waited = time.perf_counter() - started
    summary["waited_429"] = round(waited, 2)
    print(f"4. a 429 with Retry-After: 1 was waited out ({waited:.2f} s) and the call succeeded")

    # 5. A write that fails with 503 is not sent again: Ozon may already have applied it.
    server.add_fault("/v1/product/import/prices", status=503, times=None)
    before = len(server.requests_for("/v1/product/import/prices"))
    try:
        await client.product.import_prices_v1(prices=[{"offer_id": "SKU-0001", "price": "1990"}])
        raise SystemExit("expected the injected 503")
    except ServerError as exc:
        sent = len(server.requests_for("/v1/product/import/prices")) - before
        summary["write_attempts"] = sent
        print(f"5. price update failed with {exc.status}; it was sent {sent} time(s), not retried")
    server.clear_faults()
    return summary


async def main() -> int:
    real = bool(
        os.environ.get("OZON_CLIENT_ID") and os.environ.get("OZON_API_KEY")
    ) and not os.environ.get("OZON_BASE_URL")
    if real:
        print("Running the read-only steps against the real Ozon Seller API")
        async with OzonClient() as client:
            summary = await run(client, None)
    else:
        async with MockOzonServer(items=250) as server:
            print(f"Running against the bundled mock Ozon server at {server.url}")
            async with OzonClient("123456", "demo-key", base_url=server.url) as client:
                summary = await run(client, server)
    print("Summary:", ", ".join(f"{k}={v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
