"""Report files built from the sandbox shop: what ``/v1/report/info``'s ``file`` URL serves."""

from __future__ import annotations

from typing import Any

from ozon_async.testing import _data as d
from ozon_async.testing._files import csv_bytes, xlsx_bytes
from ozon_async.testing._state import Report, ShopState

POSTING_COLUMNS = [
    "Номер заказа",
    "Номер отправления",
    "Принят в обработку",
    "Дата отгрузки",
    "Статус",
    "Дата доставки",
    "Сумма отправления",
    "Код валюты отправления",
    "Наименование товара",
    "OZON id",
    "Артикул",
    "Итоговая стоимость товара",
    "Количество",
    "Склад отгрузки",
]
PRODUCT_COLUMNS = [
    "Артикул",
    "Ozon Product ID",
    "SKU",
    "Barcode",
    "Название товара",
    "Статус товара",
    "Доступно на складе, шт",
    "Зарезервировано, шт",
    "Текущая цена с учетом скидки, ₽",
    "Цена до скидки (перечеркнутая цена), ₽",
    "Архив",
]
STOCK_COLUMNS = [
    "Артикул",
    "SKU",
    "Название товара",
    "Склад",
    "Доступно, шт",
    "Зарезервировано, шт",
]


def _postings(state: ShopState, params: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    f = d.as_dict(params.get("filter"))
    since = d.parse_time(f.get("processed_at_from"))
    to = d.parse_time(f.get("processed_at_to"))
    statuses = {str(s) for s in f.get("status_alias") or []}
    warehouses = {str(w) for w in f.get("warehouse_id") or []}
    offer = str(f.get("offer_id") or "")
    skus = {str(s) for s in f.get("sku") or []}
    rows = []
    for p in sorted(state.postings.values(), key=lambda p: (p.in_process_at, p.posting_number)):
        if since is not None and p.in_process_at < since:
            continue
        if to is not None and p.in_process_at > to:
            continue
        if statuses and p.status not in statuses:
            continue
        if warehouses and str(p.warehouse_id) not in warehouses:
            continue
        if offer and all(it["offer_id"] != offer for it in p.products):
            continue
        if skus and all(str(it["sku"]) not in skus for it in p.products):
            continue
        w = state.warehouses.get(p.warehouse_id)
        for it in p.products:
            rows.append(
                [
                    p.order_number,
                    p.posting_number,
                    d.iso(p.in_process_at),
                    d.iso(p.shipment_date),
                    p.status,
                    d.iso(p.delivering_date) if p.delivering_date else "",
                    f"{p.total():.2f}",
                    "RUB",
                    it["name"],
                    it["sku"],
                    it["offer_id"],
                    f"{float(it['price']) * it['quantity']:.2f}",
                    it["quantity"],
                    w.name if w else "",
                ]
            )
    return POSTING_COLUMNS, rows


def _products(state: ShopState, params: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    offers = {str(o) for o in params.get("offer_id") or []}
    skus = {str(s) for s in params.get("sku") or []}
    visibility = str(params.get("visibility") or "ALL")
    rows = []
    for p in sorted(state.products.values(), key=lambda p: p.offer_id):
        if offers and p.offer_id not in offers:
            continue
        if skus and str(p.sku) not in skus:
            continue
        if visibility == "ARCHIVED" and not p.archived:
            continue
        if visibility == "IN_SALE" and not (p.visible and p.total_present() > 0):
            continue
        rows.append(
            [
                p.offer_id,
                p.product_id,
                p.sku,
                p.barcode,
                p.name,
                "Продаётся" if p.visible else "Не продаётся",
                p.total_present(),
                sum(p.reserved.values()),
                p.price,
                p.old_price,
                "Да" if p.archived else "Нет",
            ]
        )
    return PRODUCT_COLUMNS, rows


def _stock(state: ShopState, params: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    wanted = {str(w) for w in params.get("warehouseId") or params.get("warehouse_id") or []}
    rows = []
    for p in sorted(state.products.values(), key=lambda p: p.offer_id):
        for wid, present in sorted(p.stocks.items()):
            if wanted and str(wid) not in wanted:
                continue
            w = state.warehouses[wid]
            reserved = p.reserved.get(wid, 0)
            rows.append([p.offer_id, p.sku, p.name, w.name, present - reserved, reserved])
    return STOCK_COLUMNS, rows


def build_report(state: ShopState, report: Report) -> bytes:
    """The report's file, from the shop as it is now (the caller freezes it)."""
    if report.report_type == "SELLER_POSTINGS":
        header, rows = _postings(state, report.params)
    elif report.report_type == "SELLER_STOCK":
        header, rows = _stock(state, report.params)
    else:
        header, rows = _products(state, report.params)
    if report.fmt == "xlsx":
        return xlsx_bytes(header, rows, sheet="Отчёт")
    return csv_bytes(header, rows)
