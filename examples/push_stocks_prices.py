"""Push stocks and prices with ``.bulk()``: any number of rows, Ozon's limits kept.

    python examples/push_stocks_prices.py

``.bulk(items)`` splits the items into requests of Ozon's maximum (100 stock pairs, 1,000
prices), paces them at the method's rate limit, keeps each item's own rule (one stock update per
offer and warehouse per 30 s, ten price changes per product per hour: a repeated item waits for
its turn) and returns one outcome per item, in input order. Here it runs against the bundled
sandbox; pass your own ``OzonClient`` to ``push`` to run it on your shop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from ozon_async import OzonClient
from ozon_async.testing import Sandbox, ScaledClock


async def push(
    client: OzonClient,
    stocks: Sequence[Mapping[str, object]],
    prices: Sequence[Mapping[str, object]],
) -> int:
    """Send both lists; print what was not applied; return how many items failed."""
    stock_result = await client.products.stocks_v2.bulk(stocks)
    price_result = await client.product.import_prices_v1.bulk(prices)
    failed = 0
    for name, result in (("stocks", stock_result), ("prices", price_result)):
        print(
            f"{name}: {len(result.succeeded)} applied, {len(result.failed)} failed, "
            f"{len(result.retry_later)} to send later; requests sent: {result.requests}"
        )
        for outcome in result.failed:
            error = outcome.error
            print(
                f"  row {outcome.index + 1}: {error.code if error else ''} {error.message if error else ''}"
            )
        failed += len(result.failed)
    return failed


async def main() -> int:
    async with Sandbox(seed=5, clock=ScaledClock(speed=60)) as sandbox, sandbox.client() as client:
        # what a seller's system would export: every product at every FBS warehouse
        warehouses = [w async for w in client.warehouse.list_v2.iter(limit=100)]
        ids = [w.warehouse_id for w in warehouses if w.warehouse_id and not w.is_rfbs]
        listed = client.product.list_v3.iter(limit=100, filter={"visibility": "VISIBLE"})
        products = [p async for p in listed]
        offers = [p.offer_id for p in products if p.offer_id]
        stocks = [
            {"offer_id": offer, "warehouse_id": wid, "stock": (i * 7) % 40}
            for i, offer in enumerate(offers)
            for wid in ids
        ]
        prices = [
            {"offer_id": offer, "price": f"{990 + i * 10}.00"} for i, offer in enumerate(offers)
        ]
        return await push(client, stocks, prices)


if __name__ == "__main__":
    raise SystemExit(1 if asyncio.run(main()) else 0)
