"""The sandbox's room for fBS postings: lists, one posting, shipping (with splits), cancelling and the delivery moves."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    NEEDS,
    PREPARE,
    Call,
    SandboxError,
    handles,
    id_list,
    invalid,
    not_found,
)
from ozon_async.testing._state import (
    DAY,
    Posting,
    ShopState,
    substatus,
)

if TYPE_CHECKING:
    from ozon_async.testing._shop import Shop


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


#: The cancellation of a posting that was not cancelled.
_NO_CANCELLATION: dict[str, Any] = {
    "cancel_reason_id": 0,
    "cancel_reason": "",
    "cancellation_type": "",
    "cancelled_after_ship": False,
    "affect_cancellation_rating": False,
    "cancellation_initiator": "",
}

#: The lists of ``requirements`` (empty: the sandbox's products need none of them).
_REQUIREMENTS = (
    "products_requiring_gtd",
    "products_requiring_country",
    "products_requiring_mandatory_mark",
    "products_requiring_jw_uin",
    "products_requiring_rnpt",
    "products_requiring_weight",
    "products_requiring_imei",
    "products_requiring_change_country",
)


def _delivery_method(p: Posting, w: Any) -> dict[str, Any]:
    return {
        "id": p.delivery_method_id,
        "name": f"Доставка Ozon самостоятельно, {w.address['city'] if w else ''}".rstrip(", "),
        "warehouse_id": p.warehouse_id,
        "warehouse": w.name if w else "",
        "tpl_provider_id": 24,
        "tpl_provider": "Доставка Ozon",
    }


def _customer(p: Posting) -> dict[str, Any]:
    addr = p.customer["address"]
    return {
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


def _analytics(p: Posting, w: Any, rfbs: bool) -> dict[str, Any]:
    addr = p.customer["address"]
    return {
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


def _financial(p: Posting, w: Any) -> dict[str, Any]:
    addr = p.customer["address"]
    return {
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


def _posting_dict(call: Call, p: Posting) -> dict[str, Any]:
    state = call.state
    w = state.warehouses.get(p.warehouse_id)
    with_ = d.as_dict(call.body.get("with"))
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
        "delivery_method": _delivery_method(p, w),
        "tracking_number": p.tracking_number,
        "tpl_integration_type": "non_integrated" if rfbs else "ozon",
        "delivery_schema": "RFBS" if rfbs else "FBS",
        "in_process_at": d.iso(p.in_process_at),
        "shipment_date": d.iso(p.shipment_date),
        "shipment_date_without_delay": d.iso(p.shipment_date),
        "delivering_date": d.iso(p.delivering_date) if p.delivering_date else None,
        "provider_status": "",
        "delivery_price": "",
        "cancellation": p.cancellation or dict(_NO_CANCELLATION),
        "customer": _customer(p) if rfbs else None,
        "addressee": {"name": p.customer["name"], "phone": p.customer["phone"]} if rfbs else None,
        "products": products,
        "barcodes": {"upper_barcode": f"%1{p.order_id}%", "lower_barcode": f"2{p.order_id}"}
        if with_.get("barcodes")
        else None,
        "analytics_data": _analytics(p, w, rfbs) if with_.get("analytics_data") else None,
        "financial_data": _financial(p, w) if with_.get("financial_data") else None,
        "legal_info": {"company_name": "", "inn": "", "kpp": ""}
        if with_.get("legal_info")
        else None,
        "is_express": p.is_express,
        "is_multibox": False,
        "multi_box_qty": 1,
        "is_presortable": False,
        "available_actions": _actions(p.status),
        "requirements": {name: [] for name in _REQUIREMENTS},
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
    statuses = set(id_list(f.get("statuses"))) | set(id_list(f.get("status")))
    if unfulfilled and not statuses:
        statuses = set(UNFULFILLED)
    since, to = d.parse_time(f.get("since")), d.parse_time(f.get("to"))
    if since is not None and to is not None and since > to:
        raise invalid("filter.since must be earlier than filter.to")
    warehouses = set(id_list(f.get("warehouse_ids"))) | set(id_list(f.get("warehouse_id")))
    methods = set(id_list(f.get("delivery_method_ids"))) | set(id_list(f.get("delivery_method_id")))
    orders = set(id_list(f.get("order_numbers")))
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


def posting_of(call: Call, number: Any) -> Posting:
    p = call.state.postings.get(str(number or ""))
    if p is None:
        raise not_found(f"posting {number} not found")
    return p


@handles("POST /v3/posting/fbs/get")
def posting_get(call: Call) -> Any:
    p = posting_of(call, call.body.get("posting_number"))
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


def wrong_status(p: Posting, action: str, allowed: Iterable[str]) -> SandboxError:
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
    p = posting_of(call, call.body.get("posting_number"))
    if p.status != "awaiting_packaging":
        raise wrong_status(p, "ship", ["awaiting_packaging"])
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
    p = posting_of(call, call.body.get("posting_number"))
    if p.status != "awaiting_packaging":
        raise wrong_status(p, "ship", ["awaiting_packaging"])
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
    p = posting_of(call, call.body.get("posting_number"))
    if p.status not in CANCELLABLE:
        raise wrong_status(p, "cancel", CANCELLABLE)
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
    for number in id_list(call.body.get("posting_number")):
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


def _prepare_ship(sb: Shop, body: dict[str, Any]) -> None:
    """Ship in one package exactly what the posting holds."""
    p = sb.state.postings.get(str(body.get("posting_number")))
    if p is None:
        return
    products = [{"product_id": it["sku"], "quantity": it["quantity"]} for it in p.products]
    if "packages" in body:
        body["packages"] = [{"products": products}]
    else:
        body["products"] = products


def _prepare_cancel(sb: Shop, body: dict[str, Any]) -> None:
    if body.get("cancel_reason_id") not in [r[0] for r in _CANCEL_REASONS]:
        body["cancel_reason_id"] = _CANCEL_REASONS[0][0]


PREPARE["POST /v4/posting/fbs/ship"] = _prepare_ship
PREPARE["POST /v4/posting/fbs/ship/package"] = _prepare_ship
PREPARE["POST /v2/posting/fbs/cancel"] = _prepare_cancel
NEEDS["POST /v1/report/info"] = {"code": "report_code"}
NEEDS["POST /v1/chat/send/message"] = {"chat_id": "chat:open"}
NEEDS["POST /v1/chat/send/file"] = {"chat_id": "chat:open"}
