"""State-backed operations: answers read from and writes applied to the sandbox shop.

Each handler gets a :class:`Call` and returns the answer as plain JSON data (the server then shapes
it to the operation's response schema, generating any field a handler leaves out), or raises
:class:`SandboxError` for Ozon's error answers. Handlers are keyed by ``"METHOD /path"``; an
operation without one answers with data generated from its schema.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._state import (
    DAY,
    Chat,
    ImportTask,
    LabelTask,
    Posting,
    Product,
    Report,
    ShopState,
    substatus,
)

if TYPE_CHECKING:
    from ozon_async.testing._server import Sandbox

__all__ = ["HANDLERS", "NEEDS", "PREPARE", "Call", "SandboxError"]


class SandboxError(Exception):
    """An error answer: HTTP ``status`` with Ozon's body ``{code, message, details}``."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "details": []}


def not_found(what: str) -> SandboxError:
    return SandboxError(404, 5, what)


def invalid(message: str) -> SandboxError:
    return SandboxError(400, 3, message)


@dataclass
class Call:
    """One request being answered."""

    sb: Sandbox
    key: str
    spec_op: dict[str, Any]
    body: dict[str, Any]
    now: float

    @property
    def state(self) -> ShopState:
        return self.sb.state

    @property
    def path(self) -> str:
        return self.key.split(" ", 1)[1]

    def filter(self) -> dict[str, Any]:
        f = self.body.get("filter")
        return f if isinstance(f, dict) else {}

    def response_schema(self) -> Any:
        media: dict[str, Any] = next(
            iter(self.spec_op["responses"]["200"].get("content", {}).values()), {}
        )
        return media.get("schema", {})

    def schema_at(self, dotted: str) -> Any:
        """The schema of an item of the list at ``dotted`` in the answer (or of the field)."""
        faker = self.sb.faker
        schema = self.response_schema()
        for part in dotted.split("."):
            schema = faker.properties(schema).get(part, {})
        if faker.kind(schema) == "array":
            schema = faker.resolve(schema).get("items", {})
        return schema

    def entity(self, value: dict[str, Any], dotted: str, seed: str) -> Any:
        """``value`` shaped as an item of the list at ``dotted``; generated extras are the same
        in every answer about that object (they are seeded by ``seed``)."""
        return self.sb.fit(value, self.schema_at(dotted), seed)

    def page(self, items: list[Any], answer: dict[str, Any]) -> dict[str, Any]:
        return self.sb.paginate(self.spec_op, self.body, items, answer)

    def limit(self, default: int = 100) -> int:
        value = self.body.get("limit")
        return value if isinstance(value, int) and value > 0 else default


Handler = Callable[[Call], Any]
HANDLERS: dict[str, Handler] = {}
# For an operation, which existing objects its request should name to succeed (used to build
# working requests from the spec's examples): request field -> pool name (see Sandbox.pools).
NEEDS: dict[str, dict[str, str]] = {}
# Operations whose working request needs more than existing identifiers (see Sandbox.example_request).
PREPARE: dict[str, Callable[[Sandbox, dict[str, Any]], None]] = {}


def handles(*keys: str, needs: dict[str, str] | None = None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for key in keys:
            HANDLERS[key] = fn
            if needs:
                NEEDS[key] = needs
        return fn

    return register


def _ids(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list):
        values = [values]
    return [str(v) for v in values if v not in (None, "")]


# ============================================================================ warehouses
def _warehouse_v2(call: Call, w: Any) -> Any:
    return call.entity(
        {
            "warehouse_id": w.warehouse_id,
            "name": w.name,
            "status": "disabled" if w.archived else w.status,
            "is_rfbs": w.is_rfbs,
            "warehouse_type": "RFBS" if w.is_rfbs else "FBS",
            "created_at": d.iso(w.created_at),
            "updated_at": d.iso(w.created_at + 30 * DAY),
            "phone": w.phone,
            "address_info": {
                "address": w.address["address"],
                "latitude": w.address["latitude"],
                "longitude": w.address["longitude"],
                "utc": "UTC+03:00",
            },
            "is_kgt": False,
            "is_express": False,
        },
        "warehouses",
        f"warehouse:{w.warehouse_id}",
    )


@handles("POST /v2/warehouse/list")
def warehouse_list_v2(call: Call) -> Any:
    wanted = set(_ids(call.body.get("warehouse_ids")))
    items = [
        _warehouse_v2(call, w)
        for w in call.state.warehouses.values()
        if not wanted or str(w.warehouse_id) in wanted
    ]
    return call.page(items, {})


@handles("POST /v1/warehouse/list")
def warehouse_list_v1(call: Call) -> Any:
    items = [
        call.entity(
            {
                "warehouse_id": w.warehouse_id,
                "name": w.name,
                "is_rfbs": w.is_rfbs,
                "status": "disabled" if w.archived else w.status,
                "has_entrusted_acceptance": False,
                "is_kgt": False,
                "working_days": ["1", "2", "3", "4", "5"],
            },
            "result",
            f"warehouse:{w.warehouse_id}",
        )
        for w in call.state.warehouses.values()
    ]
    return {"result": items}


# ============================================================================ products
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


def _products(call: Call, spec: dict[str, Any]) -> list[Product]:
    offers = set(_ids(spec.get("offer_id")))
    pids = set(_ids(spec.get("product_id")))
    skus = set(_ids(spec.get("sku")))
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
        for p in _products(call, call.filter())
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
        for p in _products(call, call.body)
    ]
    if not any(call.body.get(k) for k in ("offer_id", "product_id", "sku")):
        raise invalid("pass at least one of offer_id, product_id, sku")
    return {"items": items}


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
    items = [_stocks_item(p) for p in _products(call, call.filter())]
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
        for p in _products(call, call.filter())
    ]
    return call.page(items, {})


@handles("POST /v4/product/info/attributes")
def product_info_attributes(call: Call) -> Any:
    items = []
    for p in _products(call, call.filter()):
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


def _item_error(code: str, message: str) -> list[dict[str, Any]]:
    return [{"code": code, "message": message}]


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
            out["errors"] = _item_error(
                "NOT_FOUND", "product not found: check offer_id or product_id"
            )
        elif w is None:
            out["errors"] = _item_error("WAREHOUSE_NOT_FOUND", f"warehouse {wid} not found")
        elif p.archived:
            out["errors"] = _item_error(
                "PRODUCT_IS_ARCHIVED", "stock cannot be set for an archived product"
            )
        elif last is not None and call.now - last < sb.stock_interval:
            wait = sb.stock_interval - (call.now - last)
            out["errors"] = _item_error(
                "TOO_MANY_REQUESTS",
                f"the stock of this offer at this warehouse was updated less than {sb.stock_interval:g} s ago; retry in {wait:.0f} s",
            )
        else:
            stock = int(item.get("stock") or 0)
            if stock < 0:
                out["errors"] = _item_error("INVALID_STOCK", "stock must not be negative")
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
            out["errors"] = _item_error(
                "NOT_FOUND", "product not found: check offer_id or product_id"
            )
        elif len(window) >= sb.price_updates_per_hour:
            wait = 3600 - (call.now - window[0])
            out["errors"] = _item_error(
                "TOO_MANY_REQUESTS",
                f"the price of this product was updated {sb.price_updates_per_hour} times in the last hour; retry in {wait:.0f} s",
            )
        elif price is not None and price <= 0:
            out["errors"] = _item_error(
                "INVALID_PRICE", 'price must be a positive decimal, e.g. "1490.00"'
            )
        elif old not in (None, 0.0) and price is not None and old is not None and old <= price:
            out["errors"] = _item_error(
                "INVALID_OLD_PRICE", "old_price must be 0 or greater than price"
            )
        elif low not in (None, 0.0) and price is not None and low is not None and low > price:
            out["errors"] = _item_error(
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


def finish_import(sb: Sandbox, task: ImportTask, now: float) -> None:
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
    ids = _ids(call.body.get("product_id"))
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


# ============================================================================ FBS postings
UNFULFILLED = (
    "awaiting_registration",
    "acceptance_in_progress",
    "awaiting_approve",
    "awaiting_packaging",
    "awaiting_deliver",
    "arbitration",
    "client_arbitration",
    "delivering",
    "driver_pickup",
    "sent_by_seller",
)
CANCELLABLE = (
    "awaiting_registration",
    "acceptance_in_progress",
    "awaiting_approve",
    "awaiting_packaging",
    "awaiting_deliver",
)


def _posting_dict(call: Call, p: Posting) -> dict[str, Any]:
    state = call.state
    w = state.warehouses.get(p.warehouse_id)
    with_ = d.as_dict(call.body.get("with"))
    addr = p.customer["address"]
    products = [
        {
            "sku": it["sku"],
            "offer_id": it["offer_id"],
            "name": it["name"],
            "quantity": it["quantity"],
            "price": it["price"],
            "currency_code": "RUB",
            "is_marketplace_buyout": False,
            "is_blr_traceable": False,
            "imei": [],
            "mandatory_mark": [],
        }
        for it in p.products
    ]
    rfbs = bool(w and w.is_rfbs)
    answer: dict[str, Any] = {
        "posting_number": p.posting_number,
        "order_id": p.order_id,
        "order_number": p.order_number,
        "parent_posting_number": "",
        "status": p.status,
        "substatus": p.substatus,
        "previous_substatus": "",
        "delivery_method": {
            "id": p.delivery_method_id,
            "name": f"Доставка Ozon самостоятельно, {w.address['city'] if w else ''}".rstrip(", "),
            "warehouse_id": p.warehouse_id,
            "warehouse": w.name if w else "",
            "tpl_provider_id": 24,
            "tpl_provider": "Доставка Ozon",
        },
        "tracking_number": p.tracking_number,
        "tpl_integration_type": "non_integrated" if rfbs else "ozon",
        "delivery_schema": "RFBS" if rfbs else "FBS",
        "in_process_at": d.iso(p.in_process_at),
        "shipment_date": d.iso(p.shipment_date),
        "shipment_date_without_delay": d.iso(p.shipment_date),
        "delivering_date": d.iso(p.delivering_date) if p.delivering_date else None,
        "provider_status": "",
        "delivery_price": "",
        "cancellation": p.cancellation
        or {
            "cancel_reason_id": 0,
            "cancel_reason": "",
            "cancellation_type": "",
            "cancelled_after_ship": False,
            "affect_cancellation_rating": False,
            "cancellation_initiator": "",
        },
        "customer": {
            "customer_id": p.customer["customer_id"],
            "name": p.customer["name"],
            "phone": p.customer["phone"],
            "customer_email": "",
            "address": {
                "address_tail": addr["address_tail"],
                "city": addr["city"],
                "region": addr["region"],
                "district": addr["district"],
                "zip_code": addr["zip_code"],
                "country": "Россия",
                "comment": "",
                "latitude": addr["latitude"],
                "longitude": addr["longitude"],
                "provider_pvz_code": "",
                "pvz_code": 0,
            },
        }
        if rfbs
        else None,
        "addressee": {"name": p.customer["name"], "phone": p.customer["phone"]} if rfbs else None,
        "products": products,
        "barcodes": {"upper_barcode": f"%1{p.order_id}%", "lower_barcode": f"2{p.order_id}"}
        if with_.get("barcodes")
        else None,
        "analytics_data": {
            "city": addr["city"],
            "region": addr["region"],
            "delivery_type": "Courier" if rfbs else "PVZ",
            "is_premium": False,
            "is_legal": False,
            "payment_type_group_name": "Карты оплаты",
            "warehouse_id": p.warehouse_id,
            "warehouse": w.name if w else "",
            "tpl_provider_id": 24,
            "tpl_provider": "Доставка Ozon",
            "delivery_date_begin": d.iso(p.shipment_date + DAY),
            "delivery_date_end": d.iso(p.shipment_date + 3 * DAY),
            "client_delivery_date_begin": d.iso(p.shipment_date + DAY),
            "client_delivery_date_end": d.iso(p.shipment_date + 3 * DAY),
        }
        if with_.get("analytics_data")
        else None,
        "financial_data": {
            "cluster_from": w.address["city"] if w else "",
            "cluster_to": addr["city"],
            "products": [
                {
                    "product_id": it["sku"],
                    "price": float(it["price"]),
                    "old_price": round(float(it["price"]) * 1.25, 2),
                    "payout": round(float(it["price"]) * 0.82, 2),
                    "quantity": it["quantity"],
                    "total_discount_value": round(float(it["price"]) * 0.25, 2),
                    "total_discount_percent": 20.0,
                    "commission_amount": round(float(it["price"]) * 0.15, 2),
                    "commission_percent": 15,
                    "currency_code": "RUB",
                    "actions": [],
                }
                for it in p.products
            ],
        }
        if with_.get("financial_data")
        else None,
        "legal_info": {"company_name": "", "inn": "", "kpp": ""}
        if with_.get("legal_info")
        else None,
        "is_express": p.is_express,
        "is_multibox": False,
        "multi_box_qty": 1,
        "is_presortable": False,
        "available_actions": _actions(p.status),
        "requirements": {
            "products_requiring_gtd": [],
            "products_requiring_country": [],
            "products_requiring_mandatory_mark": [],
            "products_requiring_jw_uin": [],
            "products_requiring_rnpt": [],
            "products_requiring_weight": [],
            "products_requiring_imei": [],
            "products_requiring_change_country": [],
        },
        "optional": {"products_with_possible_mandatory_mark": []},
        "require_blr_traceable_attrs": False,
        "related_postings": {"related_posting_numbers": []},
        "product_exemplars": None,
    }
    return answer


def _actions(status: str) -> list[str]:
    return {
        "awaiting_packaging": ["arbitration", "awaiting_delivery", "cancel", "ship"],
        "awaiting_deliver": ["cancel", "package_label", "set_timeslot"],
        "delivering": ["package_label"],
    }.get(status, [])


def _posting_filter(call: Call, unfulfilled: bool) -> list[Posting]:
    f = call.filter()
    statuses = set(_ids(f.get("statuses"))) | set(_ids(f.get("status")))
    if unfulfilled and not statuses:
        statuses = set(UNFULFILLED)
    since, to = d.parse_time(f.get("since")), d.parse_time(f.get("to"))
    if since is not None and to is not None and since > to:
        raise invalid("filter.since must be earlier than filter.to")
    warehouses = set(_ids(f.get("warehouse_ids"))) | set(_ids(f.get("warehouse_id")))
    methods = set(_ids(f.get("delivery_method_ids"))) | set(_ids(f.get("delivery_method_id")))
    orders = set(_ids(f.get("order_numbers")))
    order_id = str(f.get("order_id") or "")
    changed = d.as_dict(f.get("last_changed_status_date"))
    ch_from, ch_to = d.parse_time(changed.get("from")), d.parse_time(changed.get("to"))
    cut_from = d.parse_time(f.get("cutoff_from"))
    cut_to = d.parse_time(f.get("cutoff_to"))
    out = []
    for p in call.state.postings.values():
        if statuses and p.status not in statuses:
            continue
        if since is not None and p.in_process_at < since:
            continue
        if to is not None and p.in_process_at > to:
            continue
        if warehouses and str(p.warehouse_id) not in warehouses:
            continue
        if methods and str(p.delivery_method_id) not in methods:
            continue
        if orders and p.order_number not in orders:
            continue
        if order_id and order_id != "0" and str(p.order_id) != order_id:
            continue
        if ch_from is not None and p.status_changed_at < ch_from:
            continue
        if ch_to is not None and p.status_changed_at > ch_to:
            continue
        if cut_from is not None and p.shipment_date < cut_from:
            continue
        if cut_to is not None and p.shipment_date > cut_to:
            continue
        out.append(p)
    desc = str(call.body.get("sort_dir") or call.body.get("dir") or "ASC").upper() == "DESC"
    out.sort(key=lambda p: (p.in_process_at, p.posting_number), reverse=desc)
    return out


def _posting_list(call: Call, items_path: str, unfulfilled: bool) -> Any:
    postings = _posting_filter(call, unfulfilled)
    # Only the page is rendered: a filter can match thousands of postings.
    return call.sb.paginate(
        call.spec_op,
        call.body,
        postings,
        {},
        render=lambda p: call.entity(
            _posting_dict(call, p), items_path, f"posting:{p.posting_number}"
        ),
    )


@handles("POST /v4/posting/fbs/list")
def posting_list_v4(call: Call) -> Any:
    return _posting_list(call, "postings", False)


@handles("POST /v4/posting/fbs/unfulfilled/list")
def posting_unfulfilled_v4(call: Call) -> Any:
    return _posting_list(call, "postings", True)


@handles("POST /v3/posting/fbs/list")
def posting_list_v3(call: Call) -> Any:
    return _posting_list(call, "result.postings", False)


@handles("POST /v3/posting/fbs/unfulfilled/list")
def posting_unfulfilled_v3(call: Call) -> Any:
    return _posting_list(call, "result.postings", True)


def _posting(call: Call, number: Any) -> Posting:
    p = call.state.postings.get(str(number or ""))
    if p is None:
        raise not_found(f"posting {number} not found")
    return p


@handles("POST /v3/posting/fbs/get")
def posting_get(call: Call) -> Any:
    p = _posting(call, call.body.get("posting_number"))
    return {"result": call.entity(_posting_dict(call, p), "result", f"posting:{p.posting_number}")}


def _move(call: Call, p: Posting, status: str) -> None:
    p.status = status
    p.substatus = substatus(status)
    p.status_changed_at = call.now
    if status == "delivered":
        p.delivering_date = call.now
    if status in ("delivering", "sent_by_seller") and not p.tracking_number:
        p.tracking_number = f"{random.Random(p.posting_number).randint(10**11, 10**12 - 1)}"
    if status != "cancelled" and call.sb.pusher is not None:  # (a cancellation has its own)
        from ozon_async.testing import _push

        call.sb.push(_push.state_changed(call.sb, p, call.now))


def _wrong_status(p: Posting, action: str, allowed: Iterable[str]) -> SandboxError:
    return invalid(
        f"INVALID_POSTING_STATUS: cannot {action} posting {p.posting_number} in status {p.status} "
        f"(allowed: {', '.join(allowed)})"
    )


def _split_number(state: ShopState, p: Posting) -> str:
    head, _ = p.posting_number.rsplit("-", 1)
    n = 2
    while f"{head}-{n}" in state.postings:
        n += 1
    return f"{head}-{n}"


def _take(p: Posting, wanted: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The posting's items a package names (by SKU or product id), with quantities checked."""
    taken = []
    for w in wanted:
        ref = str(w.get("product_id") or w.get("sku") or "")
        item = next(
            (it for it in p.products if ref in (str(it["sku"]), str(it["product_id"]))), None
        )
        if item is None:
            raise invalid(
                f"PRODUCT_NOT_IN_POSTING: product {ref} is not in posting {p.posting_number}"
            )
        qty = int(w.get("quantity") or 0)
        if qty <= 0 or qty > item["quantity"]:
            raise invalid(
                f"INVALID_QUANTITY: posting {p.posting_number} has {item['quantity']} of product {ref}, not {qty}"
            )
        taken.append({**item, "quantity": qty})
    return taken


def _split(call: Call, p: Posting, taken: list[dict[str, Any]]) -> Posting:
    """Move ``taken`` out of ``p`` into a new posting of the same order (awaiting delivery)."""
    state = call.state
    for t in taken:
        item = next(it for it in p.products if it["sku"] == t["sku"])
        item["quantity"] -= t["quantity"]
    p.products = [it for it in p.products if it["quantity"] > 0]
    new = Posting(
        **{
            **p.__dict__,
            "posting_number": _split_number(state, p),
            "products": taken,
            "packages": [],
        }
    )
    state.postings[new.posting_number] = new
    _move(call, new, "awaiting_deliver")
    return new


@handles("POST /v4/posting/fbs/ship", needs={"posting_number": "posting:awaiting_packaging"})
def posting_ship(call: Call) -> Any:
    p = _posting(call, call.body.get("posting_number"))
    if p.status != "awaiting_packaging":
        raise _wrong_status(p, "ship", ["awaiting_packaging"])
    packages = [pk.get("products") or [] for pk in call.body.get("packages") or []]
    if not packages:
        raise invalid("packages: at least one package is required")
    taken = [_take(p, pk) for pk in packages]
    for it in p.products:
        packed = sum(t["quantity"] for pk in taken for t in pk if t["sku"] == it["sku"])
        if packed != it["quantity"]:
            raise invalid(
                f"INVALID_QUANTITY: the packages hold {packed} of product {it['sku']}, posting {p.posting_number} has {it['quantity']}"
            )
    numbers = [p.posting_number]
    for pk in taken[1:]:
        numbers.append(_split(call, p, pk).posting_number)
    _move(call, p, "awaiting_deliver")
    p.packages = taken[:1]
    additional = []
    if isinstance(call.body.get("with"), dict) and call.body["with"].get("additional_data"):
        for number in numbers:
            q = call.state.postings[number]
            additional.append(
                {
                    "posting_number": number,
                    "products": [
                        {
                            "sku": it["sku"],
                            "offer_id": it["offer_id"],
                            "name": it["name"],
                            "price": it["price"],
                            "quantity": it["quantity"],
                            "currency_code": "RUB",
                            "mandatory_mark": [],
                        }
                        for it in q.products
                    ],
                }
            )
    return {"result": numbers, "additional_data": additional}


@handles(
    "POST /v4/posting/fbs/ship/package", needs={"posting_number": "posting:awaiting_packaging"}
)
def posting_ship_package(call: Call) -> Any:
    p = _posting(call, call.body.get("posting_number"))
    if p.status != "awaiting_packaging":
        raise _wrong_status(p, "ship", ["awaiting_packaging"])
    taken = _take(p, call.body.get("products") or [])
    whole = all(
        sum(t["quantity"] for t in taken if t["sku"] == it["sku"]) == it["quantity"]
        for it in p.products
    )
    if whole:
        _move(call, p, "awaiting_deliver")
        return {"result": p.posting_number}
    return {"result": _split(call, p, taken).posting_number}


@handles("POST /v2/posting/fbs/cancel", needs={"posting_number": "posting:awaiting_packaging"})
def posting_cancel(call: Call) -> Any:
    p = _posting(call, call.body.get("posting_number"))
    if p.status not in CANCELLABLE:
        raise _wrong_status(p, "cancel", CANCELLABLE)
    reason_id = int(call.body.get("cancel_reason_id") or 0)
    reason = next((r for r in _CANCEL_REASONS if r[0] == reason_id), None)
    if reason is None:
        raise invalid(
            f"cancel_reason_id: unknown reason {reason_id} (see /v2/posting/fbs/cancel-reason/list)"
        )
    old_status = p.status
    _move(call, p, "cancelled")
    p.cancellation = {
        "cancel_reason_id": reason_id,
        "cancel_reason": reason[1],
        "cancellation_type": "seller",
        "cancellation_initiator": "Продавец",
        "cancelled_after_ship": False,
        "affect_cancellation_rating": True,
    }
    if call.sb.pusher is not None:
        from ozon_async.testing import _push

        call.sb.push(_push.posting_cancelled(call.sb, p, old_status, reason, call.now))
    return {"result": True}


_CANCEL_REASONS = [
    (352, "Товар закончился на складе продавца"),
    (400, "Остался только бракованный товар"),
    (401, "Отменён из арбитража"),
    (402, "Другое (вина продавца)"),
    (665, "Покупатель не забрал заказ"),
    (666, "Возврат из службы доставки: нет доставки в указанный регион"),
]


def _batch_move(call: Call, target: str, allowed: tuple[str, ...]) -> Any:
    results = []
    for number in _ids(call.body.get("posting_number")):
        p = call.state.postings.get(number)
        if p is None:
            results.append(
                {"posting_number": number, "result": False, "error": "POSTING_NOT_FOUND"}
            )
        elif p.status not in allowed:
            results.append(
                {
                    "posting_number": number,
                    "result": False,
                    "error": f"INVALID_POSTING_STATUS: {p.status}",
                }
            )
        else:
            _move(call, p, target)
            results.append({"posting_number": number, "result": True, "error": ""})
    return {"result": results}


@handles("POST /v2/fbs/posting/delivering", needs={"posting_number": "posting:awaiting_deliver"})
def posting_delivering(call: Call) -> Any:
    return _batch_move(call, "delivering", ("awaiting_deliver", "sent_by_seller"))


@handles("POST /v2/fbs/posting/last-mile", needs={"posting_number": "posting:delivering"})
def posting_last_mile(call: Call) -> Any:
    return _batch_move(call, "driver_pickup", ("delivering",))


@handles("POST /v2/fbs/posting/delivered", needs={"posting_number": "posting:delivering"})
def posting_delivered(call: Call) -> Any:
    return _batch_move(call, "delivered", ("delivering", "driver_pickup"))


@handles(
    "POST /v2/fbs/posting/sent-by-seller", needs={"posting_number": "posting:awaiting_deliver"}
)
def posting_sent_by_seller(call: Call) -> Any:
    return _batch_move(call, "sent_by_seller", ("awaiting_deliver",))


LABELLED = ("awaiting_deliver", "delivering", "driver_pickup", "sent_by_seller", "delivered")


def _label_page(state: ShopState, p: Posting, task_type: str = "big_label") -> list[str]:
    """The lines of a posting's label; the small label holds only what a courier scans."""
    if task_type == "small_label":
        return ["OZON", p.posting_number, f"Ship by {d.iso(p.shipment_date)[:10]}"]
    w = state.warehouses.get(p.warehouse_id)
    return [
        "OZON",
        f"Posting {p.posting_number}",
        f"Order {p.order_number}",
        f"Warehouse {w.name if w else p.warehouse_id}",
        f"Ship by {d.iso(p.shipment_date)}",
        *[f"{it['offer_id']} x {it['quantity']}" for it in p.products],
    ]


@handles("POST /v2/posting/fbs/package-label", needs={"posting_number": "posting:awaiting_deliver"})
def package_label(call: Call) -> Any:
    from ozon_async.testing._files import pdf_bytes

    pages = []
    for number in _ids(call.body.get("posting_number")):
        p = _posting(call, number)
        if p.status not in LABELLED:
            raise _wrong_status(p, "print a label for", LABELLED)
        pages.append(_label_page(call.state, p))
    return pdf_bytes(pages)


# The label flow of October 2026: one task per label size, done after the sandbox's task rules
# (``task_polls`` status checks or ``task_seconds``, like imports); the PDF is made from the
# postings as they are when the task completes and served at ``file_url``.
LABEL_SIZES = {"big_label": (283, 425), "small_label": (164, 113)}  # 75x120 mm, 58x40 mm


@handles(
    "POST /v3/posting/fbs/package-label/create",
    needs={"posting_numbers": "posting:awaiting_deliver"},
)
def package_label_create_v3(call: Call) -> Any:
    numbers = list(dict.fromkeys(_ids(call.body.get("posting_numbers"))))
    if not numbers:
        raise invalid("posting_numbers: give at least one posting number")
    tasks = []
    for task_type in LABEL_SIZES:
        task_id = call.sb.next_id("label_task", 10**12, 9 * 10**12)
        call.state.label_tasks[task_id] = LabelTask(task_id, task_type, numbers, call.now)
        tasks.append({"task_id": task_id, "task_type": task_type})
    return {"tasks": tasks}


def finish_label_task(state: ShopState, task: LabelTask, now: float) -> None:
    """Print the labels of a task: postings that exist and may have a label get a page."""
    from ozon_async.testing._files import pdf_bytes

    pages = []
    for number in task.posting_numbers:
        p = state.postings.get(number)
        if p is None:
            task.unprinted.append({"posting_number": number, "message": "posting not found"})
        elif p.status not in LABELLED:
            task.unprinted.append(
                {
                    "posting_number": number,
                    "message": f"posting is {p.status}: labels are printed from awaiting_deliver on",
                }
            )
        else:
            task.printed.append(number)
            pages.append(_label_page(state, p, task.task_type))
    task.done_at = now
    if pages:
        width, height = LABEL_SIZES[task.task_type]
        task.content = pdf_bytes(pages, width=width, height=height)


def label_task_state(sb: Sandbox, task: LabelTask, now: float) -> str:
    """``pending``, ``in_progress``, then ``completed`` (or ``error`` when no posting could get a
    label), by the sandbox's task rules."""
    if task.done_at is None:
        by_polls = sb.task_polls is not None and task.polls >= sb.task_polls
        elapsed = now - task.created_at
        by_time = sb.task_seconds is not None and elapsed >= sb.task_seconds
        if not (by_polls or by_time):
            started = task.polls >= 1 or (
                sb.task_seconds is not None and elapsed >= sb.task_seconds / 3
            )
            return "in_progress" if started else "pending"
        finish_label_task(sb.state, task, now)
    return "completed" if task.content is not None else "error"


@handles("POST /v2/posting/fbs/package-label/get", needs={"task_id": "label_task_id"})
def package_label_get_v2(call: Call) -> Any:
    task = call.state.label_tasks.get(int(call.body.get("task_id") or 0))
    if task is None:
        raise not_found(f"label task {call.body.get('task_id')} not found")
    task.polls += 1
    state = label_task_state(call.sb, task, call.now)
    done = task.done_at is not None
    error = (
        {"code": "NO_LABELS", "message": "none of the postings can get a label"}
        if state == "error"
        else {"code": "", "message": ""}
    )
    return {
        "error": error,
        "file_url": f"{call.sb.url}/__files/labels/{task.task_id}.pdf" if task.content else "",
        "status": {
            "code": state,
            "postings_count": len(task.posting_numbers),
            "printed_postings_count": len(task.printed) if done else 0,
            "unprinted_postings": task.unprinted if done else [],
        },
    }


def seed_label_tasks(sb: Sandbox, rng: random.Random) -> None:
    """Labels printed a day before the sandbox started, for the oldest posting that has them."""
    state = sb.state
    labelled = sorted(
        (p for p in state.postings.values() if p.status in LABELLED),
        key=lambda p: (p.shipment_date, p.posting_number),
    )
    if not labelled:
        return
    created = sb.anchor - DAY
    for task_type in LABEL_SIZES:
        task_id = rng.randint(10**12, 9 * 10**12)
        task = LabelTask(task_id, task_type, [labelled[0].posting_number], created)
        finish_label_task(state, task, created + 20)
        state.label_tasks[task_id] = task


def label_file(sb: Sandbox, name: str) -> bytes | None:
    """The PDF of a completed label task, by its file name (``<task_id>.pdf``)."""
    stem = name.removesuffix(".pdf")
    task = sb.state.label_tasks.get(int(stem)) if stem.isdigit() else None
    return None if task is None else task.content


# ============================================================================ returns
@handles("POST /v1/returns/list")
def returns_list(call: Call) -> Any:
    f = call.filter()
    numbers = set(_ids(f.get("posting_numbers")))
    offer = str(f.get("offer_id") or "")
    wid = str(f.get("warehouse_id") or "")
    order_id = str(f.get("order_id") or "")
    status = str(f.get("visual_status_name") or "")
    rng = d.as_dict(f.get("logistic_return_date"))
    t_from, t_to = d.parse_time(rng.get("time_from")), d.parse_time(rng.get("time_to"))
    last_id = int(call.body.get("last_id") or 0)
    rows = []
    for r in sorted(call.state.returns.values(), key=lambda r: r.id):
        if numbers and r.posting_number not in numbers:
            continue
        if offer and r.product["offer_id"] != offer:
            continue
        if wid and wid != "0" and str(r.warehouse_id) != wid:
            continue
        if order_id and order_id != "0" and str(r.order_id) != order_id:
            continue
        if status and r.status != status:
            continue
        if t_from is not None and r.created_at < t_from:
            continue
        if t_to is not None and r.created_at > t_to:
            continue
        rows.append(r)
    from ozon_async.testing._state import RETURN_STATUSES

    def render(r: Any) -> Any:
        display = dict(RETURN_STATUSES).get(r.status, r.status)
        w = call.state.warehouses.get(r.warehouse_id)
        return call.entity(
            {
                "id": r.id,
                "company_id": call.sb.company_id,
                "posting_number": r.posting_number,
                "order_id": r.order_id,
                "order_number": r.posting_number.rsplit("-", 1)[0],
                "return_reason_name": r.reason,
                "type": "FullReturn",
                "schema": r.schema,
                "product": {
                    "sku": r.product["sku"],
                    "offer_id": r.product["offer_id"],
                    "name": r.product["name"],
                    "quantity": r.product["quantity"],
                    "price": {"currency_code": "RUB", "price": float(r.product["price"])},
                },
                "visual": {
                    "status": {
                        "id": RETURN_STATUSES.index((r.status, display)) + 1,
                        "display_name": display,
                        "sys_name": r.status,
                    },
                    "change_moment": d.iso(r.created_at),
                },
                "logistic": {"return_date": d.iso(r.created_at), "barcode": f"ii{r.id}"},
                "place": {
                    "id": r.warehouse_id,
                    "name": w.name if w else "",
                    "address": w.address["address"] if w else "",
                },
                "target_place": {
                    "id": r.warehouse_id,
                    "name": w.name if w else "",
                    "address": w.address["address"] if w else "",
                },
            },
            "returns",
            f"return:{r.id}",
        )

    # last_id style keyed by the item's id: start after the id the caller sent.
    start = next((i for i, r in enumerate(rows) if r.id > last_id), len(rows))
    limit = call.limit(500)
    chunk = rows[start : start + limit]
    return {"returns": [render(r) for r in chunk], "has_next": start + limit < len(rows)}


# ============================================================================ chats
def _chat(call: Call) -> Chat:
    chat = call.state.chats.get(str(call.body.get("chat_id") or ""))
    if chat is None:
        raise not_found(f"chat {call.body.get('chat_id')} not found")
    return chat


def _chats(call: Call) -> list[Chat]:
    f = call.filter()
    status = str(f.get("chat_status") or "All").lower()
    unread_only = bool(f.get("unread_only"))
    chats = sorted(call.state.chats.values(), key=lambda c: (-c.created_at, c.chat_id))
    return [
        c
        for c in chats
        if (status in ("all", "") or c.chat_status.lower() == status)
        and (not unread_only or c.unread())
    ]


def _chat_item(c: Chat) -> dict[str, Any]:
    unread = c.unread()
    inner = {
        "chat_id": c.chat_id,
        "chat_status": c.chat_status,
        "chat_type": c.chat_type,
        "created_at": d.iso(c.created_at),
    }
    return {
        **inner,
        "chat": inner,
        "unread_count": len(unread),
        "first_unread_message_id": unread[0]["message_id"] if unread else 0,
        "last_message_id": c.messages[-1]["message_id"] if c.messages else 0,
    }


@handles("POST /v3/chat/list", "POST /v2/chat/list")
def chat_list(call: Call) -> Any:
    chats = _chats(call)
    total_unread = sum(len(c.unread()) for c in call.state.chats.values())
    items = [call.entity(_chat_item(c), "chats", f"chat:{c.chat_id}") for c in chats]
    return call.page(items, {"total_unread_count": total_unread})


@handles("POST /v3/chat/history", "POST /v2/chat/history")
def chat_history(call: Call) -> Any:
    chat = _chat(call)
    backward = str(call.body.get("direction") or "Backward").lower() == "backward"
    start = int(call.body.get("from_message_id") or 0)
    wanted = set(_ids((call.filter()).get("message_ids")))
    limit = min(call.limit(50), 1000)
    messages = sorted(chat.messages, key=lambda m: m["message_id"], reverse=backward)
    if start:
        messages = [
            m
            for m in messages
            if (m["message_id"] <= start if backward else m["message_id"] >= start)
        ]
    if wanted:
        messages = [m for m in messages if str(m["message_id"]) in wanted]
    page = messages[:limit]
    context = {}
    if chat.posting_number and chat.posting_number in call.state.postings:
        p = call.state.postings[chat.posting_number]
        context = {"order_number": p.order_number, "sku": str(p.products[0]["sku"])}
    out = [
        call.entity(
            {
                "message_id": m["message_id"],
                "messageId": m["message_id"],
                "created_at": d.iso(m["created_at"]),
                "user": m["user"],
                "data": m["data"],
                "is_image": m["is_image"],
                "is_read": m["message_id"] <= chat.read_up_to or m["user"]["type"] == "Seller",
                "moderate_image_status": "SUCCESS",
                "context": context,
            },
            "messages",
            f"message:{m['message_id']}",
        )
        for m in page
    ]
    return {"messages": out, "has_next": len(messages) > limit}


@handles("POST /v1/chat/send/message")
def chat_send_message(call: Call) -> Any:
    chat = _chat(call)
    text = str(call.body.get("text") or "")
    if not text.strip():
        raise invalid("text: the message is empty")
    if chat.chat_status.lower() == "closed":
        raise invalid(f"chat {chat.chat_id} is closed")
    call.state.add_message(chat, "Seller", [text], call.now)
    return {"result": "success"}


@handles("POST /v1/chat/send/file")
def chat_send_file(call: Call) -> Any:
    chat = _chat(call)
    name = str(call.body.get("name") or "file")
    try:
        base64.b64decode(str(call.body.get("base64_content") or ""), validate=True)
    except ValueError as exc:
        raise invalid("base64_content: not valid base64") from exc
    call.state.add_message(chat, "Seller", [f"{call.sb.url}/__files/chat/{name}"], call.now)[
        "is_image"
    ] = True
    return {"result": "success"}


@handles("POST /v1/chat/start")
def chat_start(call: Call) -> Any:
    p = _posting(call, call.body.get("posting_number"))
    for chat in call.state.chats.values():
        if chat.posting_number == p.posting_number:
            return {"result": {"chat_id": chat.chat_id}}
    chat_id = d.ozon_uuid(random.Random(f"{call.state.seed}:chat:{p.posting_number}"))
    call.state.chats[chat_id] = Chat(chat_id, "Buyer_Seller", "Opened", call.now, p.posting_number)
    return {"result": {"chat_id": chat_id}}


@handles("POST /v2/chat/read")
def chat_read(call: Call) -> Any:
    chat = _chat(call)
    upto = int(call.body.get("from_message_id") or 0) or (
        chat.messages[-1]["message_id"] if chat.messages else 0
    )
    chat.read_up_to = max(chat.read_up_to, upto)
    return {"unread_count": len(chat.unread())}


# ============================================================================ reports
REPORT_TYPES = {
    "postings": "SELLER_POSTINGS",
    "products": "SELLER_PRODUCTS",
    "warehouse": "SELLER_STOCK",
    "discounted": "SELLER_PRODUCT_DISCOUNTED",
    "returns": "SELLER_RETURNS",
    "marked-products-sales": "MARKED_PRODUCTS_SALES",
    "prices": "SELLER_PRODUCT_PRICES",
}
_REPORT_PATH = re.compile(r"^/v\d+/report/(?!info$|list$)([a-z0-9-]+)(/.*)?$")


def report_type_for(path: str) -> str | None:
    m = _REPORT_PATH.match(path)
    if not m:
        return None
    segment = m.group(1)
    return REPORT_TYPES.get(segment, "SELLER_" + segment.upper().replace("-", "_"))


def create_report(call: Call) -> Any:
    """Any ``/v*/report/.../create`` (and ``/v1/report/warehouse/stock``): a new report task."""
    rtype = report_type_for(call.path) or "SELLER_REPORT"
    rng = random.Random(f"{call.state.seed}:report:{len(call.state.reports)}:{call.now}")
    code = f"REPORT_{rtype.lower()}_{call.sb.company_id}_{int(call.now)}_{d.ozon_uuid(rng)}"
    fmt = "xlsx" if rtype == "SELLER_STOCK" else "csv"
    call.state.reports[code] = Report(
        code=code, report_type=rtype, created_at=call.now, params=dict(call.body), fmt=fmt
    )
    return {"result": {"code": code}, "code": code}


def _flat_params(body: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in body.items():
        name = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flat_params(v, name + "."))
        elif isinstance(v, list):
            out[name] = ",".join(str(x) for x in v)
        elif v is not None:
            out[name] = str(v).lower() if isinstance(v, bool) else str(v)
    return out


def report_dict(sb: Sandbox, r: Report, now: float) -> dict[str, Any]:
    status = sb.report_status(r, now)
    return {
        "code": r.code,
        "report_type": r.report_type,
        "status": status,
        "created_at": d.iso(r.created_at),
        "expires_at": d.iso(r.created_at + 3 * DAY) if status == "success" else None,
        "file": f"{sb.url}/__files/reports/{r.code}.{r.fmt}" if status == "success" else "",
        "error": "",
        "params": _flat_params(r.params),
    }


@handles("POST /v1/report/info")
def report_info(call: Call) -> Any:
    r = call.state.reports.get(str(call.body.get("code") or ""))
    if r is None:
        raise not_found(f"report {call.body.get('code')} not found")
    r.polls += 1
    return {"result": report_dict(call.sb, r, call.now)}


@handles("POST /v1/report/list")
def report_list(call: Call) -> Any:
    rtype = str(call.body.get("report_type") or "ALL")
    reports = sorted(call.state.reports.values(), key=lambda r: (-r.created_at, r.code))
    items = [
        report_dict(call.sb, r, call.now)
        for r in reports
        if rtype in ("ALL", "") or r.report_type == rtype
    ]
    return call.page(items, {"result": {}})


# ============================================================================ working requests
def _prepare_ship(sb: Sandbox, body: dict[str, Any]) -> None:
    """Ship in one package exactly what the posting holds."""
    p = sb.state.postings.get(str(body.get("posting_number")))
    if p is None:
        return
    products = [{"product_id": it["sku"], "quantity": it["quantity"]} for it in p.products]
    if "packages" in body:
        body["packages"] = [{"products": products}]
    else:
        body["products"] = products


def _prepare_cancel(sb: Sandbox, body: dict[str, Any]) -> None:
    if body.get("cancel_reason_id") not in [r[0] for r in _CANCEL_REASONS]:
        body["cancel_reason_id"] = _CANCEL_REASONS[0][0]


PREPARE["POST /v4/posting/fbs/ship"] = _prepare_ship
PREPARE["POST /v4/posting/fbs/ship/package"] = _prepare_ship
PREPARE["POST /v2/posting/fbs/cancel"] = _prepare_cancel
NEEDS["POST /v1/report/info"] = {"code": "report_code"}
NEEDS["POST /v1/chat/send/message"] = {"chat_id": "chat:open"}
NEEDS["POST /v1/chat/send/file"] = {"chat_id": "chat:open"}
