"""The sandbox's room for returns of FBO and FBS postings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    id_list,
)

if TYPE_CHECKING:
    pass


@handles("POST /v1/returns/list")
def returns_list(call: Call) -> Any:
    f = call.filter()
    numbers = set(id_list(f.get("posting_numbers")))
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
