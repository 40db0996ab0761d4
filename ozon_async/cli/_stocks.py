"""``ozon stocks``: stocks at your warehouses (``ozon stocks push FILE``)."""

from __future__ import annotations

import click

from ozon_async.cli._rows import push_command
from ozon_async.cli._runner import CONTEXT

__all__ = ["stocks"]


@click.group(context_settings=CONTEXT)
def stocks() -> None:
    """Stocks at your warehouses (FBS, rFBS)."""


stocks.add_command(
    push_command(
        "POST /v2/products/stocks",
        "stocks push",
        "offer_id,warehouse_id,stock      (or product_id instead of offer_id)\n"
        "        ART-1,22254230,10",
    )
)
