"""The sandbox's room for warehouses: the v1 and v2 lists."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    id_list,
)
from ozon_async.testing._state import (
    DAY,
)

if TYPE_CHECKING:
    pass


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
    wanted = set(id_list(call.body.get("warehouse_ids")))
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
