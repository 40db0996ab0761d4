"""The sandbox's room for reports: created (a report type per path), their state and the list."""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any

from ozon_async.testing import _data as d
from ozon_async.testing._handlers._base import (
    Call,
    handles,
    not_found,
)
from ozon_async.testing._state import (
    DAY,
    Report,
)

if TYPE_CHECKING:
    from ozon_async.testing._shop import Shop


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


def report_dict(sb: Shop, r: Report, now: float) -> dict[str, Any]:
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
