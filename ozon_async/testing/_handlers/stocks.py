"""The sandbox's room for stocks: their lists by product and by warehouse, and updates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    item_error,
    not_found,
)
from ozon_async.testing._state import (
    Product,
)

if TYPE_CHECKING:
    pass


from ozon_async.testing._handlers.products import products_matching


def _stocks_item(p: Product) -> dict[str, Any]:
    return {
        "product_id": p.product_id,
        "offer_id": p.offer_id,
        "stocks": [
            {
                "sku": p.sku,
                "type": "fbs",
                "present": p.total_present(),
                "reserved": sum(p.reserved.values()),
                "shipment_type": "SHIPMENT_TYPE_GENERAL",
                "warehouse_ids": sorted(p.stocks),
            },
            {
                "sku": p.sku,
                "type": "fbo",
                "present": p.fbo_present,
                "reserved": 0,
                "shipment_type": "SHIPMENT_TYPE_GENERAL",
                "warehouse_ids": [],
            },
        ],
    }


@handles("POST /v4/product/info/stocks")
def product_info_stocks(call: Call) -> Any:
    items = [_stocks_item(p) for p in products_matching(call, call.filter())]
    return call.page(items, {})


@handles("POST /v1/product/info/warehouse/stocks")
def product_info_warehouse_stocks(call: Call) -> Any:
    wid = str(call.body.get("warehouse_id") or "")
    if wid and int(wid) not in call.state.warehouses:
        raise not_found(f"warehouse {wid} not found")
    items = []
    for p in sorted(call.state.products.values(), key=lambda p: p.product_id):
        for w, present in sorted(p.stocks.items()):
            if wid and str(w) != wid:
                continue
            reserved = p.reserved.get(w, 0)
            items.append(
                {
                    "warehouse_id": w,
                    "product_id": p.product_id,
                    "offer_id": p.offer_id,
                    "sku": p.sku,
                    "present": present,
                    "reserved": reserved,
                    "free_stock": max(0, present - reserved),
                    "updated_at": d.iso(p.updated_at),
                }
            )
    return call.page(items, {})


@handles("POST /v2/products/stocks")
def products_stocks(call: Call) -> Any:
    state, sb = call.state, call.sb
    results = []
    changed: dict[int, set[int]] = {}  # product -> warehouses, for TYPE_STOCKS_CHANGED
    for item in call.body.get("stocks") or []:
        offer, pid = item.get("offer_id"), item.get("product_id")
        wid = item.get("warehouse_id")
        out: dict[str, Any] = {
            "offer_id": offer or "",
            "product_id": pid or 0,
            "warehouse_id": wid or 0,
            "updated": False,
        }
        p = state.product_by(offer_id=offer) if offer else state.product_by(product_id=pid)
        if p is not None:
            out["offer_id"], out["product_id"] = p.offer_id, p.product_id
        w = state.warehouses.get(int(wid)) if str(wid or "").isdigit() else None
        last = state.stock_writes.get((p.product_id, w.warehouse_id)) if p and w else None
        if p is None:
            out["errors"] = item_error(
                "NOT_FOUND", "product not found: check offer_id or product_id"
            )
        elif w is None:
            out["errors"] = item_error("WAREHOUSE_NOT_FOUND", f"warehouse {wid} not found")
        elif p.archived:
            out["errors"] = item_error(
                "PRODUCT_IS_ARCHIVED", "stock cannot be set for an archived product"
            )
        elif last is not None and call.now - last < sb.stock_interval:
            wait = sb.stock_interval - (call.now - last)
            out["errors"] = item_error(
                "TOO_MANY_REQUESTS",
                f"the stock of this offer at this warehouse was updated less than {sb.stock_interval:g} s ago; retry in {wait:.0f} s",
            )
        else:
            stock = int(item.get("stock") or 0)
            if stock < 0:
                out["errors"] = item_error("INVALID_STOCK", "stock must not be negative")
            else:
                p.stocks[w.warehouse_id] = stock + p.reserved.get(w.warehouse_id, 0)
                p.updated_at = call.now
                state.stock_writes[(p.product_id, w.warehouse_id)] = call.now
                out["updated"] = True
                out["errors"] = []
                changed.setdefault(p.product_id, set()).add(w.warehouse_id)
        results.append(out)
    if changed and sb.pusher is not None:
        from ozon_async.testing import _push

        sb.push(_push.stocks_changed(sb, changed, call.now))
    return {"result": results}
