"""The sandbox's room for products and their prices: lists, info, attributes, price updates,
imports, archiving and deletion (stocks: :mod:`.stocks`)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    id_list,
    invalid,
    item_error,
    not_found,
)
from ozon_async.testing._state import (
    ImportTask,
    Product,
)

if TYPE_CHECKING:
    from ozon_async.testing._shop import Shop


def _all(p: Product) -> bool:
    return True


_VISIBILITY: dict[str, Callable[[Product], bool]] = {
    "ALL": lambda p: True,
    "VISIBLE": lambda p: p.visible,
    "INVISIBLE": lambda p: not p.visible,
    "EMPTY_STOCK": lambda p: p.total_present() == 0,
    "ARCHIVED": lambda p: p.archived,
    "IN_SALE": lambda p: p.visible and p.total_present() > 0,
    "REMOVED_FROM_SALE": lambda p: not p.visible,
}


def products_matching(call: Call, spec: dict[str, Any]) -> list[Product]:
    offers = set(id_list(spec.get("offer_id")))
    pids = set(id_list(spec.get("product_id")))
    skus = set(id_list(spec.get("sku")))
    visibility = _VISIBILITY.get(str(spec.get("visibility") or "ALL"), _all)
    out = []
    for p in call.state.products.values():
        named = p.offer_id in offers or str(p.product_id) in pids or str(p.sku) in skus
        if (offers or pids or skus) and not named:
            continue
        if visibility(p):
            out.append(p)
    return sorted(out, key=lambda p: p.product_id)


@handles("POST /v3/product/list")
def product_list(call: Call) -> Any:
    items = [
        {
            "product_id": p.product_id,
            "offer_id": p.offer_id,
            "archived": p.archived,
            "has_fbo_stocks": p.fbo_present > 0,
            "has_fbs_stocks": p.total_present() > 0,
            "is_discounted": False,
            "quants": [],
        }
        for p in products_matching(call, call.filter())
    ]
    return call.page(items, {"result": {}})


def _product_info(call: Call, p: Product) -> dict[str, Any]:
    reserved = sum(p.reserved.values())
    return {
        "id": p.product_id,
        "offer_id": p.offer_id,
        "sku": p.sku,
        "name": p.name,
        "price": p.price,
        "old_price": p.old_price,
        "min_price": p.min_price,
        "currency_code": p.currency_code,
        "vat": p.vat,
        "barcodes": [p.barcode],
        "created_at": d.iso(p.created_at),
        "updated_at": d.iso(p.updated_at),
        "is_archived": p.archived,
        "is_autoarchived": False,
        "is_discounted": False,
        "has_discounted_fbo_item": False,
        "is_kgt": False,
        "is_super": False,
        "is_prepayment_allowed": True,
        "images": p.images,
        "images360": [],
        "color_image": [],
        "primary_image": p.images[:1],
        "description_category_id": p.description_category_id,
        "type_id": p.type_id,
        "discounted_fbo_stocks": 0,
        "errors": [],
        "promotions": [],
        "model_info": {"model_id": p.product_id + 7, "count": 1},
        "statuses": {
            "is_created": True,
            "moderate_status": "approved",
            "status": "price_sent",
            "status_name": "Продаётся" if p.visible else "Не продаётся",
            "status_description": "",
            "status_failed": "",
            "status_tooltip": "",
            "validation_status": "success",
            "status_updated_at": d.iso(p.updated_at),
        },
        "visibility_details": {"has_price": float(p.price) > 0, "has_stock": p.total_present() > 0},
        "stocks": {
            "has_stock": p.total_present() > 0 or p.fbo_present > 0,
            "stocks": [
                {"sku": p.sku, "source": "fbs", "present": p.total_present(), "reserved": reserved},
                {"sku": p.sku, "source": "fbo", "present": p.fbo_present, "reserved": 0},
            ],
        },
        "sources": [
            {
                "sku": p.sku,
                "source": "sds",
                "created_at": d.iso(p.created_at),
                "shipment_type": "SHIPMENT_TYPE_GENERAL",
                "quant_code": "",
            }
        ],
        "availabilities": [
            {"sku": p.sku, "source": "sds", "availability": "available", "reasons": []}
        ],
    }


@handles("POST /v3/product/info/list")
def product_info_list(call: Call) -> Any:
    items = [
        call.entity(_product_info(call, p), "items", f"product:{p.product_id}")
        for p in products_matching(call, call.body)
    ]
    if not any(call.body.get(k) for k in ("offer_id", "product_id", "sku")):
        raise invalid("pass at least one of offer_id, product_id, sku")
    return {"items": items}


def _price_item(p: Product) -> dict[str, Any]:
    return {
        "product_id": p.product_id,
        "offer_id": p.offer_id,
        "price": {
            "price": p.price,
            "old_price": p.old_price,
            "min_price": p.min_price,
            "marketing_seller_price": p.price,
            "retail_price": p.price,
            "net_price": f"{float(p.price) * 0.6:.2f}",
            "currency_code": p.currency_code,
            "vat": p.vat,
            "auto_action_enabled": False,
        },
        "volume_weight": round(p.weight / 1000, 3),
    }


@handles("POST /v5/product/info/prices")
def product_info_prices(call: Call) -> Any:
    items = [
        call.entity(_price_item(p), "items", f"price:{p.product_id}")
        for p in products_matching(call, call.filter())
    ]
    return call.page(items, {})


@handles("POST /v4/product/info/attributes")
def product_info_attributes(call: Call) -> Any:
    items = []
    for p in products_matching(call, call.filter()):
        depth, width, height = p.dimensions
        items.append(
            call.entity(
                {
                    "id": p.product_id,
                    "offer_id": p.offer_id,
                    "sku": p.sku,
                    "name": p.name,
                    "barcode": p.barcode,
                    "barcodes": [p.barcode],
                    "description_category_id": p.description_category_id,
                    "type_id": p.type_id,
                    "depth": depth,
                    "width": width,
                    "height": height,
                    "dimension_unit": "mm",
                    "weight": p.weight,
                    "weight_unit": "g",
                    "primary_image": p.images[0] if p.images else "",
                    "images": p.images[1:],
                    "color_image": "",
                    "attributes": p.attributes,
                    "complex_attributes": [],
                    "attributes_with_defaults": [],
                    "pdf_list": [],
                },
                "result",
                f"attributes:{p.product_id}",
            )
        )
    return call.page(items, {})


def _decimal(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return -1.0


@handles("POST /v1/product/import/prices")
def product_import_prices(call: Call) -> Any:
    state, sb = call.state, call.sb
    results = []
    for item in call.body.get("prices") or []:
        offer, pid = item.get("offer_id"), item.get("product_id")
        p = state.product_by(offer_id=offer) if offer else state.product_by(product_id=pid)
        out: dict[str, Any] = {"offer_id": offer or "", "product_id": pid or 0, "updated": False}
        price, old, low = (
            _decimal(item.get("price")),
            _decimal(item.get("old_price")),
            _decimal(item.get("min_price")),
        )
        if p is not None:
            out["offer_id"], out["product_id"] = p.offer_id, p.product_id
            window = [t for t in state.price_writes.get(p.product_id, []) if call.now - t < 3600]
            state.price_writes[p.product_id] = window
        if p is None:
            out["errors"] = item_error(
                "NOT_FOUND", "product not found: check offer_id or product_id"
            )
        elif len(window) >= sb.price_updates_per_hour:
            wait = 3600 - (call.now - window[0])
            out["errors"] = item_error(
                "TOO_MANY_REQUESTS",
                f"the price of this product was updated {sb.price_updates_per_hour} times in the last hour; retry in {wait:.0f} s",
            )
        elif price is not None and price <= 0:
            out["errors"] = item_error(
                "INVALID_PRICE", 'price must be a positive decimal, e.g. "1490.00"'
            )
        elif old not in (None, 0.0) and price is not None and old is not None and old <= price:
            out["errors"] = item_error(
                "INVALID_OLD_PRICE", "old_price must be 0 or greater than price"
            )
        elif low not in (None, 0.0) and price is not None and low is not None and low > price:
            out["errors"] = item_error(
                "INVALID_MIN_PRICE", "min_price must not be greater than price"
            )
        else:
            if price is not None:
                p.price = f"{price:.2f}"
            if old is not None:
                p.old_price = f"{old:.2f}"
            if low is not None:
                p.min_price = f"{low:.2f}"
            if item.get("vat"):
                p.vat = str(item["vat"])
            p.updated_at = call.now
            window.append(call.now)
            out["updated"] = True
            out["errors"] = []
        results.append(out)
    return {"result": results}


def _import_errors(item: dict[str, Any]) -> list[dict[str, Any]]:
    errors = []

    def err(fld: str, message: str) -> None:
        errors.append(
            {
                "code": "INVALID_VALUE" if item.get(fld) else "REQUIRED_FIELD_MISSING",
                "field": fld,
                "message": message,
                "level": "error",
                "state": "imported",
                "description": message,
                "attribute_id": 0,
                "attribute_name": "",
            }
        )

    if not str(item.get("offer_id") or "").strip():
        err("offer_id", "offer_id is required")
    if not str(item.get("name") or "").strip():
        err("name", "the product needs a name")
    price = _decimal(item.get("price"))
    if price is None or price <= 0:
        err("price", 'price must be a positive decimal, e.g. "1490.00"')
    if not (item.get("description_category_id") or item.get("new_description_category_id")):
        err(
            "description_category_id",
            "description_category_id is required (see /v1/description-category/tree)",
        )
    return errors


@handles("POST /v3/product/import")
def product_import(call: Call) -> Any:
    state = call.state
    task_id = call.sb.next_id("task", 10**9, 4 * 10**9)
    items = [dict(i) for i in call.body.get("items") or []]
    results = []
    for item in items:
        errors = _import_errors(item)
        results.append(
            {
                "offer_id": item.get("offer_id", ""),
                "errors": errors,
                "status": "failed" if errors else "imported",
            }
        )
    state.tasks[task_id] = ImportTask(
        task_id=task_id, created_at=call.now, items=items, results=results
    )
    return {"result": {"task_id": task_id}}


def finish_import(sb: Shop, task: ImportTask, now: float) -> None:
    """Apply a finished import to the shop: new offers become products, known ones are updated."""
    state = sb.state
    rng = random.Random(f"{state.seed}:import:{task.task_id}")
    for item, result in zip(task.items, task.results, strict=True):
        if result["errors"]:
            continue
        p = state.product_by(offer_id=item["offer_id"])
        if p is None:
            p = state.new_product(
                str(item["offer_id"]), str(item["name"]), str(item["price"]), now, rng
            )
            state.products[p.product_id] = p
        p.name = str(item["name"])
        p.price = f"{float(item['price']):.2f}"
        if _decimal(item.get("old_price")):
            p.old_price = f"{float(item['old_price']):.2f}"
        p.description_category_id = int(
            item.get("description_category_id")
            or item.get("new_description_category_id")
            or p.description_category_id
        )
        if item.get("attributes"):
            p.attributes = list(item["attributes"])
        if item.get("images"):
            p.images = [str(u) for u in item["images"]]
        p.updated_at = now
        result["product_id"] = p.product_id
    task.done = True
    if sb.pusher is not None:  # TYPE_CREATE_OR_UPDATE_ITEM for each item, failed ones too
        from ozon_async.testing import _push

        for result in task.results:
            sb.push(
                _push.item_changed(
                    sb,
                    str(result["offer_id"]),
                    int(result.get("product_id") or 0),
                    bool(result["errors"]),
                    now,
                )
            )


@handles("POST /v1/product/import/info")
def product_import_info(call: Call) -> Any:
    sb = call.sb
    task = call.state.tasks.get(int(call.body.get("task_id") or 0))
    if task is None:
        raise not_found(f"task {call.body.get('task_id')} not found")
    task.polls += 1
    if not task.done and sb.task_is_done(task, call.now):
        finish_import(sb, task, call.now)
    items = [
        {
            "offer_id": r["offer_id"],
            "product_id": r.get("product_id", 0),
            "status": r["status"] if task.done else "pending",
            "errors": r["errors"] if task.done else [],
        }
        for r in task.results
    ]
    return {"result": {"items": items, "total": len(items)}}


def _archive(call: Call, archived: bool) -> Any:
    ids = id_list(call.body.get("product_id"))
    found = [call.state.product_by(product_id=i) for i in ids]
    missing = [i for i, p in zip(ids, found, strict=True) if p is None]
    if missing:
        raise not_found(f"products not found: {', '.join(missing)}")
    for p in found:
        assert p is not None
        p.archived = archived
        p.updated_at = call.now
    return {"result": True}


@handles("POST /v1/product/archive")
def product_archive(call: Call) -> Any:
    return _archive(call, True)


@handles("POST /v1/product/unarchive")
def product_unarchive(call: Call) -> Any:
    return _archive(call, False)


@handles("POST /v2/products/delete")
def products_delete(call: Call) -> Any:
    status = []
    for item in call.body.get("products") or []:
        offer = str(item.get("offer_id") or "")
        p = call.state.product_by(offer_id=offer)
        if p is None:
            status.append({"offer_id": offer, "is_deleted": False, "error": "product not found"})
        elif not p.archived:
            status.append(
                {
                    "offer_id": offer,
                    "is_deleted": False,
                    "error": "only archived products can be deleted",
                }
            )
        else:
            del call.state.products[p.product_id]
            status.append({"offer_id": offer, "is_deleted": True, "error": ""})
    return {"status": status}
